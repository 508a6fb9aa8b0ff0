/*
 * How `forkstorm mutate` judges a mutant from its executions' endings (src/run/mutate.ts), with
 * the executions stubbed: a wall-clock timeout is neither a kill nor a survivor -- it runs once
 * more with the long watchdog, and a second timeout leaves the verdict unknown ("timeout"),
 * outside the score's denominator; a hang where nothing can run any more is a kill.
 */
import { describe, expect, it } from "vitest";
import type { StressReport } from "../../src/report/report.js";
import { cleanFailure, cleanFailureLine, endingOf, runMutant, summarize, type Reach, type RunFn } from "../../src/run/mutate.js";
import { PACKAGE_ROOT, type CpuPool } from "../../src/sched/machine.js";
import { coverageOf } from "../../src/sites/coverage.js";
import { manifest } from "../../src/sites/manifest.js";
import { mutantsOf } from "../../src/sites/mutant.js";

const m = manifest(PACKAGE_ROOT);
const mu = mutantsOf("netbsd", m)[0];
const SCENARIO = "mixed";
const reach: Reach = { bySite: new Map([[mu.site.key, new Map([[SCENARIO, [3, 1] as [number, number]]])]]), steps: new Map([[SCENARIO, 500]]), coverage: coverageOf("netbsd", [], m), cleanFailures: [] };
const options = { kernel: "netbsd" as const, executions: 4, cpus: 2, ops: 200, seed: 1 };

type End = "clean" | "watchdog" | "quiescent" | string;

/** A stress report that ended as `end` (a law's name: a violation) and reached the mutant's site. */
function report(end: End): StressReport {
  const hang = end === "watchdog" || end === "quiescent" ? { cause: end, during: "run", afterSeconds: 5, threads: [] } : null;
  const verdict = end === "clean" ? "clean" : hang ? "hang" : "violation";
  return { verdict, violations: hang || end === "clean" ? [] : [{ law: end }], hang, config: { stepBound: 500 }, coverage: { rows: [{ site: mu.site.key, hits: 1, concurrent: 0 }] } } as unknown as StressReport;
}

/** Executions stubbed: `mutant(watchdog)` and `clean(watchdog)` say how the mutant's and the clean kernel's runs end. */
function stub(mutant: (watchdog: number | undefined) => End, clean: (watchdog: number | undefined) => End): { run: RunFn; calls: number[] } {
  const calls: number[] = [];
  const run: RunFn = async (_pool, _scenario, _seed, _bound, name, watchdog) => {
    calls.push(watchdog ?? 0);
    return report(name ? mutant(watchdog) : clean(watchdog));
  };
  return { run, calls };
}

const judge = (s: ReturnType<typeof stub>) => runMutant(options, mu, reach, new Map(), null as unknown as CpuPool, s.run);

describe("mutate: an execution's ending", () => {
  it("a wall-clock watchdog is a timeout, a quiescent hang the watchdog-hang law, a violation its law", () => {
    expect(endingOf(report("watchdog"))).toBe("timeout");
    expect(endingOf(report("quiescent"))).toEqual({ law: "watchdog-hang" });
    expect(endingOf(report("data-race"))).toEqual({ law: "data-race" });
    expect(endingOf(report("clean"))).toBe("clean");
  });

  it("a timeout that runs clean with the long watchdog is a clean execution: the mutant survives, not killed", async () => {
    const s = stub((w) => (w ? "clean" : "watchdog"), () => "clean");
    const row = await judge(s);
    expect(row.status).toBe("survived");
    expect(row.timeouts).toBeUndefined();
    expect(s.calls.filter((w) => w === 30)).toHaveLength(options.executions);
  });

  it("timing out twice leaves the verdict unknown: status timeout, not killed, every such execution listed", async () => {
    const row = await judge(stub(() => "watchdog", () => "clean"));
    expect(row.status).toBe("timeout");
    expect(row.law).toBeUndefined();
    expect(row.timeouts).toHaveLength(options.executions);
  });

  it("a quiescent hang the clean kernel does not share is a kill; one whose clean twin times out twice is unknown", async () => {
    const killed = await judge(stub(() => "quiescent", () => "clean"));
    expect(killed).toMatchObject({ status: "killed", law: "watchdog-hang", executions: 1 });
    const unknown = await judge(stub(() => "data-race", () => "watchdog"));
    expect(unknown.status).toBe("timeout");
  });

  it("the score leaves timeouts out of its denominator, and says what it would be with them as survivors", async () => {
    const rows = [await judge(stub(() => "data-race", () => "clean")), await judge(stub(() => "clean", () => "clean")), await judge(stub(() => "watchdog", () => "clean"))];
    expect(rows.map((r) => r.status)).toEqual(["killed", "survived", "timeout"]);
    const r = summarize({ ...options, reachExecutions: 1, jobs: 1 }, rows, reach, 0, 0, new Set());
    expect(r.counts).toMatchObject({ reached: 3, killed: 1, survived: 1, timeout: 1 });
    expect(r.score).toBe(0.5);
    expect(r.scoreTimeoutsSurvived).toBe(0.3333);
  });

  it("a clean kernel's violation is named as the seed defect its scenario reaches by that law, and only then", () => {
    const d6 = cleanFailure("dragonfly", "wait-race-ignored", 2000007, "token-not-held");
    expect(d6).toEqual({ scenario: "wait-race-ignored", seed: 2000007, law: "token-not-held", seedDefect: "D6" });
    expect(cleanFailureLine(d6)).toContain("the seed's defect D6 (docs/findings.md)");
    for (const other of [cleanFailure("dragonfly", "wait-race-ignored", 1, "data-race"), cleanFailure("dragonfly", "wait-race", 1, "token-not-held"), cleanFailure("netbsd", "wait-race-ignored", 1, "token-not-held")]) {
      expect(other.seedDefect).toBeUndefined();
      expect(cleanFailureLine(other)).toContain("a false positive or a seed defect to look at");
    }
  });
});
