/*
 * Interrupted work keeps what was done: a script stopped midway gives the results of the steps
 * that ran; a hunt stopped midway says "interrupted" (not "fail") and does not count the run it
 * cut short as a miss. (SIGINT and SIGTERM on the command line: test/stress/command.test.ts.)
 * And a hunt's budget is the bug's time: no detection is counted past it.
 */
import { describe, expect, it } from "vitest";
import { hunt } from "../../src/run/hunt.js";
import { checkDeterminism, replay } from "../../src/run/replay.js";
import { stress } from "../../src/run/stress.js";
import { runScript } from "../../src/script/runner.js";

describe("interrupted", () => {
  it("a script gives the steps that ran, the process table, and exit 130", async () => {
    const steps = Array.from({ length: 3000 }, () => ({ as: "init", call: "getpid" }));
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 1500);
    const out = await runScript({ kernel: "dragonfly", steps }, null, stop.signal);
    expect(out.exitCode).toBe(130);
    expect(out.interrupted!.stepsRun).toBeLessThan(steps.length);
    expect(out.results).toHaveLength(out.interrupted!.stepsRun);
    for (const r of out.results) expect(r).toMatchObject({ ret: 1, errno: null });
    expect(out.ps.map((p) => p.name)).toContain("init");
  });

  it("a hunt says so, and the run it cut short counts neither way", async () => {
    const stop = new AbortController();
    const { report, exitCode } = await hunt({
      kernel: "dragonfly",
      bugs: ["df.exec-ppwait-no-wakeup"],
      seeds: 1,
      budget: 20,
      cpus: 2,
      mode: "free",
      seed: 1,
      chaos: 0.001,
      // The bug's run ends on its lost wakeup; the clean baseline's 20 s run is then cut short.
      onRun: () => setTimeout(() => stop.abort(), 500),
      signal: stop.signal,
    });
    expect(exitCode).toBe(130);
    expect(report.verdict).toBe("interrupted");
    expect(report.bugs[0]).toMatchObject({ runs: 1, detected: 1 });
    expect(report.baseline[0]).toMatchObject({ runs: 0, violations: 0 });
    expect(report.coverage.cut).toBe(1);
  });

  it("a replay stops where it is and says so; a determinism check counts only the runs that finished", async () => {
    const { report } = await stress({ kernel: "dragonfly", scenario: "mixed", cpus: 2, ops: 200, mode: "pct", seed: 3, chaos: 0, bugs: [], keepGoing: false });
    const stopped = AbortSignal.abort();
    const out = await replay(report, false, stopped);
    expect(out.report.verdict).toBe("interrupted");
    expect(out.replayed.verdict).toBe("interrupted");
    expect(out.reproduced).toBe(false);
    const check = await checkDeterminism(report, 3, undefined, stopped);
    expect(check).toMatchObject({ runs: 0, deterministic: false, divergences: [] });
  });
});

describe("a hunt's budget", () => {
  it("times detections from the cpus up, not the workers' start, and counts none past the budget", async () => {
    const { report } = await hunt({ kernel: "netbsd", bugs: ["nb.sharesigs-no-hold", "nb.exit-ppwait-unlocked"], seeds: 2, budget: 0.5, cpus: 2, mode: "pct", seed: 1, chaos: 0 });
    // Both are found in their first execution, a fraction of a second in (the workers' start-up,
    // counted before, took longer than the budget on a loaded machine).
    expect(report.bugs.reduce((n, b) => n + b.detected, 0)).toBeGreaterThan(0);
    for (const b of report.bugs) for (const s of b.secondsToDetect) expect(s, b.id).toBeLessThanOrEqual(0.5);
  });
});
