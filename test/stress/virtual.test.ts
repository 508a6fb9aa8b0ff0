/*
 * Virtual time (src/sched/virtual.ts): a run is a function of its seed and cost model; time is
 * what the model charges (double every cost and the length, and one cpu does the same work in
 * twice the virtual time); and simulated cpus run in parallel in virtual time, so a workload
 * with nothing shared but the kernel's locks gets more done on two of them than on one.
 */
import { describe, expect, it } from "vitest";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { holdInflation } from "../../src/bench/run.js";
import { CalibrationRefused, LONG_WAIT_NS, offCoreOf, refuseImplausible, refuseImplausibleWork } from "../../src/bench/virtual.js";
import { HIST_BUCKETS, type LockStat } from "../../src/sync/lockstat.js";
import type { CostModel } from "../../src/sched/virtual.js";

const COST: CostModel = { field: 200, sync: 250, sleep: 400, line: 100, ipiSend: 100, ipiArrive: 2000, wakeSleeping: 20000 };

function run(cpus: number, seconds: number, cost: CostModel, scenario = "fork-exit-wait-affine") {
  const o: StressOptions = { kernel: "dragonfly", scenario, cpus, seconds, mode: "virtual", cost, seed: 5, chaos: 0, bugs: [], keepGoing: false };
  return stress(o).then((x) => x.report);
}

describe("virtual time", () => {
  it("the same seed and cost model give the same run, event for event", async () => {
    const [a, b] = [await run(2, 0.004, COST), await run(2, 0.004, COST)];
    expect(a.verdict).toBe("clean");
    expect(a.eventHash).toBe(b.eventHash);
    expect(a.virtual!.windowSyscalls).toBeGreaterThan(0);
    expect(a.virtual).toEqual(b.virtual);
  });

  it("time is what the model charges: twice the costs, twice the virtual time for the same work", async () => {
    const double = Object.fromEntries(Object.entries(COST).map(([k, v]) => [k, 2 * v])) as unknown as CostModel;
    const [a, b] = [await run(1, 0.004, COST), await run(1, 0.008, double)];
    expect(b.virtual!.windowSyscalls).toBe(a.virtual!.windowSyscalls);
    expect(b.virtual!.syscallsPerSecond).toBeCloseTo(a.virtual!.syscallsPerSecond / 2, 6);
  });

  it("two cpus with a shell each get more done per virtual second than one", async () => {
    const [one, two] = [await run(1, 0.004, COST), await run(2, 0.004, COST)];
    expect(two.virtual!.syscallsPerSecond).toBeGreaterThan(1.5 * one.virtual!.syscallsPerSecond);
  });

  it("a wake-up that finds its cpu asleep (idle past its poll) costs the futex wake", async () => {
    // Spread placement: parents and children wake each other across cpus, some after an idle
    // longer than the poll. Polled wake-ups cost the same in both runs.
    const slow = { ...COST, wakeSleeping: 1_000_000 };
    const [fast, asleep] = [await run(2, 0.004, { ...COST, wakeSleeping: 0 }, "fork-exit-wait"), await run(2, 0.004, slow, "fork-exit-wait")];
    expect(asleep.virtual!.ipis).toBeGreaterThan(0);
    expect(asleep.virtual!.syscallsPerSecond).toBeLessThan(0.8 * fast.virtual!.syscallsPerSecond);
  });
});

describe("virtual time with the host taking cpus off their cores", () => {
  it("a cpu off its core a quarter of the time does about a quarter less, where little is contended", async () => {
    const off = { ...COST, offCore: { share: 0.25, sliceNs: 100_000 } };
    const [on, offCore] = [await run(2, 0.004, COST), await run(2, 0.004, off)];
    const ratio = offCore.virtual!.syscallsPerSecond / on.virtual!.syscallsPerSecond;
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(0.85);
  });

  it("an off-core run is still a function of its seed and model: the same run twice", async () => {
    const off = { ...COST, offCore: { share: 0.25, sliceNs: 100_000 } };
    const [a, b] = [await run(2, 0.002, off), await run(2, 0.002, off)];
    expect(a.eventHash).toBe(b.eventHash);
  });
});

describe("virtual time's calibration", () => {
  const withWaits = (waits: Record<number, number>): LockStat => {
    const waitHist = new Array<number>(HIST_BUCKETS).fill(0);
    for (const [bucket, n] of Object.entries(waits)) waitHist[+bucket] = n;
    return { lock: "pgrp.pg_token", acquisitions: 1000, contended: 10, waitNs: 0, holdNs: 0, waitMinNs: 0, waitMaxNs: 0, holdSamples: 0, holdMinNs: 0, holdMaxNs: 0, waitHist, holdHist: [], sites: [] };
  };

  it("the off-core slice is twice the mean long wait, its share what the host control's worker lost", () => {
    // Short waits (bucket 12: 4 us) are the kernels'; 2 waits at 1.5 x 2^16 and 2 at 1.5 x 2^18 ns.
    const off = offCoreOf(0.75, [withWaits({ 12: 500, 16: 2 }), withWaits({ 18: 2 })]);
    expect(Math.log2(LONG_WAIT_NS)).toBe(16);
    expect(off).toEqual({ share: 0.25, sliceNs: Math.round(2 * ((2 * 1.5 * 2 ** 16 + 2 * 1.5 * 2 ** 18) / 4)) });
    expect(offCoreOf(0.75, [withWaits({ 12: 500, 15: 9 })])).toBeNull();
    expect(offCoreOf(1.05, [withWaits({ 17: 1 })])!.share).toBe(0);
  });

  it("real holds' growth from 1 cpu to 2: the 2-cpu acquisitions' hold against what they held on 1, classes timed in both", () => {
    const held = (lock: string, acquisitions: number, perHold: number, holdSamples = 10): LockStat => ({ ...withWaits({}), lock, acquisitions, holdNs: acquisitions * perHold, holdSamples });
    const one = [held("proc_lock", 1000, 1000), held("pg_token", 1000, 500), held("untimed", 10, 0, 0)];
    const two = [held("proc_lock", 3000, 3000), held("pg_token", 1000, 500), held("untimed", 10, 900), held("only-on-two", 99, 99_000)];
    expect(holdInflation(one, two)).toBe(Math.round(((3000 * 3000 + 1000 * 500) / (3000 * 1000 + 1000 * 500)) * 100) / 100);
    expect(holdInflation(one.slice(2), two)).toBeNull();
  });

  it("refuses a cross-cpu cost no host gives, naming it and the load; takes a plausible one", () => {
    expect(() => refuseImplausible({ lineNs: 40, sleepingWakeNs: 4_000 }, 1.5)).not.toThrow();
    expect(() => refuseImplausible({ lineNs: 22_900, sleepingWakeNs: 4_000 }, 75)).toThrow(CalibrationRefused);
    expect(() => refuseImplausible({ lineNs: 22_900, sleepingWakeNs: 4_000 }, 75)).toThrow(/lineNs measured 22900 ns.*load average 75\.0/);
    expect(() => refuseImplausible({ lineNs: 40, sleepingWakeNs: NaN }, 2)).toThrow(/sleepingWakeNs/);
  });

  it("refuses a fit whose work between points is past 10x a token get+release, and takes a quiet host's", () => {
    expect(() => refuseImplausibleWork("dragonfly", 74, 75, 43_000)).not.toThrow();
    expect(() => refuseImplausibleWork("dragonfly", 2_223, 70, 1_137_000)).toThrow(CalibrationRefused);
    expect(() => refuseImplausibleWork("dragonfly", 2_223, 70, 1_137_000)).toThrow(/dragonfly's one-cpu run cost 1137 us .* 2223 ns between two points/);
  });
});
