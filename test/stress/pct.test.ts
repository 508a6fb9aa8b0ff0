/*
 * PCT's weighted steps (src/sched/pct.ts): a change point falls on the step whose weight covers
 * it, so a sleep point stands for SLEEP_WEIGHT field accesses; and a race whose window is a
 * single sleep point (the vfork test-then-sleep without tsleep_interlock) is found by a pct hunt,
 * whose report says how to run the detecting execution again.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";
import { hunt } from "../../src/run/hunt.js";
import { POINT_FIELD, POINT_SLEEP, POINT_SYNC, type PointKind } from "../../src/shm/hooks.js";
import { PctChooser, SLEEP_WEIGHT, SYNC_WEIGHT } from "../../src/sched/pct.js";

/** Feed a fresh 2-cpu, depth-2 chooser points of one kind, cpu 0 deciding; the choice at which cpu 1 first wins. */
function firstSwitch(kind: PointKind, seed: number, stepBound: number): number {
  const state = new Int32Array(8);
  const pct = new PctChooser(state, seed, 2, 2, stepBound);
  pct.initState();
  const both = Int32Array.of(0, 1);
  // Start where cpu 0 has the higher priority, so the one change point (lowering cpu 0) shows.
  if (pct.choose(both, 2, 0, 0, 0, POINT_FIELD) !== 0) return -1;
  for (let choice = 1; choice < stepBound + 1; choice++) if (pct.choose(both, 2, 0, choice, choice, kind) === 1) return choice;
  return Infinity;
}

describe("pct weighs its steps by the kind of point", () => {
  it("a change point lands SLEEP_WEIGHT times sooner on sleep points, SYNC_WEIGHT times on sync points", () => {
    let compared = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const field = firstSwitch(POINT_FIELD, seed, 10_000);
      if (field < 0) continue; // cpu 1 started on top: no switch to observe
      expect(field).toBeLessThanOrEqual(10_000);
      // Field steps end at weighted step choice + 1, so the change point sits at `field`. The
      // first step (a field step) ends at 1; choice j of weight W ends at 1 + j*W, and takes the
      // change point once that passes it.
      expect(firstSwitch(POINT_SLEEP, seed, 10_000)).toBe(Math.floor((field - 1) / SLEEP_WEIGHT) + 1);
      expect(firstSwitch(POINT_SYNC, seed, 10_000)).toBe(Math.floor((field - 1) / SYNC_WEIGHT) + 1);
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
  });

  it("reports the weighted steps a run took, for the next run's bound", () => {
    const state = new Int32Array(8);
    const pct = new PctChooser(state, 3, 2, 3, 1000);
    pct.initState();
    const both = Int32Array.of(0, 1);
    pct.choose(both, 2, 0, 0, 0, POINT_FIELD);
    pct.choose(both, 2, 0, 1, 1, POINT_SYNC);
    pct.choose(both, 2, 0, 2, 2, POINT_SLEEP);
    expect(PctChooser.stepsTaken(state, 2)).toBe(1 + SYNC_WEIGHT + SLEEP_WEIGHT);
  });
});

describe("a pct hunt", () => {
  it("finds a lost wakeup whose window is one sleep point (df.ppwait-no-interlock)", async () => {
    // The field-level detectors cannot see a lost wakeup: off, each execution is cheaper (src/detect).
    // Executions are deterministic by seed: from seed 2 the two runs (seeds 2 and 100005) detect in
    // their 3rd and 2nd executions, a few seconds each, so a 25-s budget leaves room for a loaded
    // machine while the baseline, which always fills its budget, stays short.
    const { report } = await hunt({ kernel: "dragonfly", bugs: ["df.ppwait-no-interlock"], seeds: 2, budget: 25, cpus: 4, mode: "pct", seed: 2, chaos: 0, detectors: [] });
    const row = report.bugs[0];
    expect(row.detected).toBe(2);
    // lost-wakeup reports the loss at the child's wakeup, before the parent's sleep can be judged.
    expect(row.detectedBy.every((law) => ["lost-wakeup", "vfork-lost-wakeup", "watchdog-hang"].includes(law))).toBe(true);
    expect(row.executionsToDetect).toEqual([3, 2]);
    expect(report.baseline[0].violations).toBe(0);

    // The detecting execution, run again from the printed command, breaks the same law; its
    // report replays to the same step and hash.
    expect(row.reproduce).toHaveLength(2);
    const [cmd, ...args] = row.reproduce![0].split(" ");
    expect(cmd).toBe("forkstorm");
    const cli = join(PACKAGE_ROOT, "dist", "src", "cli.js");
    const file = join(mkdtempSync(join(tmpdir(), "forkstorm-pct-")), "r.json");
    const again = spawnSync(process.execPath, [cli, ...args, "--report", file], { encoding: "utf8", timeout: 120_000 });
    expect([1, 3]).toContain(again.status);
    const rerun = JSON.parse(readFileSync(file, "utf8"));
    expect(row.detectedBy).toContain(rerun.violations[0].law);
    const replayed = spawnSync(process.execPath, [cli, "replay", file], { encoding: "utf8", timeout: 120_000 });
    expect(replayed.stdout).toMatch(/^REPRODUCED$/m);
    expect(replayed.status).toBe(0);
  }, 300_000);
});
