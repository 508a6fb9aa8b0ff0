/*
 * The DragonFly bug catalogue: every df.* fail point, injected into its scenario for a short
 * free-running stress, ends in a violation of one of its caughtBy laws (or a hang, for the
 * lost-wakeup bugs). A few seeds are tried each, within a small budget. The scenarios whose
 * in-line detectors this catalogue added run clean without a bug.
 */
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../dist/src/bugs/catalog.js";
import { stress } from "../../dist/src/run/stress.js";

const DF = CATALOG.filter((b) => b.kernel === "dragonfly");
const SECONDS = 3;
const SEEDS = [1, 2, 3, 4];

/**
 * df.ppwait-no-interlock (and df.ppwait-no-cmpset) lose a wakeup only when the child's clear +
 * wakeup lands between the parent's test of P_PPWAIT and its sleep (its interlock), a window of a
 * few scheduling points: they get more seeds, and chaos stalls (interrupt-like delays at the
 * parent's points) ten times as often.
 */
const WIDER: Record<string, { seeds: number[]; chaos: number }> = {
  "df.ppwait-no-interlock": { seeds: [1, 2, 3, 4, 5, 6], chaos: 0.01 },
  "df.ppwait-no-cmpset": { seeds: [1, 2, 3, 4, 5, 6], chaos: 0.01 },
};

/**
 * df.pid-before-token breaks proc_makepid only where two forks meet on one allproc chain: with
 * sequential pids only the fork after a wrap does, so its scenario runs with kern.randompid
 * (fork-exit-wait-randompid), where free runs meet it within seconds on a quiet machine but a
 * 3-s run on a loaded one may not. The test runs its pct reproduction, bounded by calls.
 */
const CONTROLLED: Record<string, { depth: number; ops: number }> = {
  "df.pid-before-token": { depth: 20, ops: 600 },
};

async function run(scenario: string, bugs: string[], seed: number, chaos = 0.001) {
  const pct = CONTROLLED[bugs[0]];
  const timing = pct ? { mode: "pct" as const, ...pct, chaos: 0 } : { mode: "free" as const, seconds: SECONDS, chaos };
  const { report } = await stress({ kernel: "dragonfly", scenario, cpus: 4, seed, bugs, keepGoing: false, ...timing });
  return report;
}

describe("dragonfly bug catalogue", () => {
  it("has at least 12 df.* entries, each with a scenario and laws", () => {
    expect(DF.length).toBeGreaterThanOrEqual(12);
    for (const b of DF) {
      expect(b.id.startsWith("df.")).toBe(true);
      expect(b.caughtBy.length).toBeGreaterThan(0);
      expect(b.scenario.length).toBeGreaterThan(0);
    }
  });

  for (const b of DF) {
    it(`${b.id} is caught by ${b.caughtBy.join(" | ")}`, async () => {
      const seen: string[] = [];
      const { seeds, chaos } = WIDER[b.id] ?? { seeds: SEEDS, chaos: 0.001 };
      for (const seed of seeds) {
        const r = await run(b.scenario, [b.id], seed, chaos);
        const law = r.violations[0]?.law ?? (r.verdict === "hang" ? "watchdog-hang" : null);
        seen.push(`${seed}:${r.verdict}:${law}`);
        if ((r.verdict === "violation" || r.verdict === "hang") && law && b.caughtBy.includes(law)) return;
      }
      throw new Error(`${b.id} not caught by ${b.caughtBy.join("|")} in seeds ${seeds.join(",")}: ${seen.join(" ")}`);
    });
  }

  for (const scenario of ["pgsignal-vs-fork", "maxproc-pressure", "vfork-exec"]) {
    it(`${scenario} without a bug has no violation`, async () => {
      const r = await run(scenario, [], 1);
      expect(r.violations.map((v) => `${v.law}: ${v.message}`)).toEqual([]);
      expect(r.verdict).toBe("clean");
    });
  }
});
