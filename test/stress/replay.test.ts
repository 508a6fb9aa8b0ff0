/*
 * A failing controlled run is a complete reproduction: its report replays to the same first
 * violation, at the same step, with the same event hash -- from its seed, and by following its
 * recorded schedule decision by decision. Reports that cannot be replayed are usage errors.
 *
 * The seeds are fixed: found by exploration, each detects its planted bug in its first execution.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replay } from "../../src/run/replay.js";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";

const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "forkstorm-replay-"));

function forkstorm(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const planted: { name: string; o: StressOptions }[] = [
  {
    name: "pct, nb.allproc-unlocked",
    o: { kernel: "netbsd", scenario: "fork-exit-wait", cpus: 3, ops: 600, mode: "pct", seed: 2, chaos: 0, bugs: ["nb.allproc-unlocked"], keepGoing: false },
  },
  {
    name: "random, nb.exit-ppwait-unlocked",
    o: { kernel: "netbsd", scenario: "vfork-exec", cpus: 3, ops: 600, mode: "random", seed: 1, chaos: 0, bugs: ["nb.exit-ppwait-unlocked"], keepGoing: false },
  },
];

describe("replay of a controlled run with a planted bug", () => {
  for (const { name, o } of planted)
    it(`${name}: same law, same step, same hash, from the seed and from the schedule`, async () => {
      const file = join(dir, `${o.mode}.json`);
      const { report, exitCode } = await stress({ ...o, report: file });
      expect(exitCode).toBe(1);
      expect(report.verdict).toBe("violation");
      const first = report.violations[0];
      expect(first.step).toBeGreaterThan(0);
      // A real interleaving: more than one cpu held the baton before the violation.
      expect(report.schedule!.length).toBeGreaterThan(2);
      const raw: unknown = JSON.parse(readFileSync(file, "utf8"));
      for (const follow of [false, true]) {
        const out = await replay(raw, follow);
        expect(out.reproduced).toBe(true);
        expect(out.replayed.law).toBe(first.law);
        expect(out.replayed.step).toBe(first.step);
        expect(out.replayed.eventHash).toBe(report.eventHash);
        expect(out.report.config.mode).toBe(follow ? "replay" : o.mode);
      }
      // And through the command line, following the schedule.
      const cli = forkstorm("replay", file, "--follow-schedule");
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/REPRODUCED/);
    }, 30_000);
});

describe("reports that cannot be replayed", () => {
  it("a free-mode report: exit 2, one line", async () => {
    const file = join(dir, "free.json");
    await stress({ kernel: "netbsd", scenario: "fork-exit-wait", cpus: 2, seconds: 0.3, mode: "free", seed: 1, chaos: 0.001, bugs: [], keepGoing: false, report: file });
    const r = forkstorm("replay", file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/free-mode run cannot be replayed/);
  }, 30_000);

  it("a report injecting a bug the catalogue no longer has: exit 2, one line", async () => {
    const file = join(dir, "gone.json");
    const { report } = await stress({ ...planted[0].o, report: file });
    writeFileSync(file, JSON.stringify({ ...report, config: { ...report.config, bugs: ["nb.retired-bug"] } }));
    const r = forkstorm("replay", file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/bug "nb.retired-bug", which the catalogue no longer has/);
  }, 30_000);
});
