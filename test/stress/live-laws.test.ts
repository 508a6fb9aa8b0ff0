/*
 * When a live law's sample counts toward persistence: only once every cpu completed a system
 * call since the last counted sample or sits idle. A cpu the host kept off its core mid-call
 * (a loaded machine) may be the one whose wakeup is on its way: a clean NetBSD vfork-exec run
 * at load 40 reported a lost wakeup "seen for 0.2 s" that was only late.
 */
import { describe, expect, it } from "vitest";
import { allCpusMoved, liveSampleGapMs } from "../../src/run/stress.js";

const cpu = (ops: number, idle = false) => ({ ops, idle });

describe("live-law persistence", () => {
  it("counts a sample once every cpu completed a call or is idle", () => {
    expect(allCpusMoved([], [cpu(5), cpu(7)])).toBe(true); // the first sample
    expect(allCpusMoved([5, 7], [cpu(6), cpu(9)])).toBe(true);
    expect(allCpusMoved([5, 7], [cpu(6), cpu(7, true)])).toBe(true); // idle: nothing in flight there
  });
  it("does not count it while a busy cpu made no progress (its thread is off the host's core)", () => {
    expect(allCpusMoved([5, 7], [cpu(6), cpu(7)])).toBe(false);
    expect(allCpusMoved([5, 7], [cpu(5), cpu(7)])).toBe(false);
  });
});

describe("live-law sampling pace", () => {
  it("samples every 100 ms with a few thousand threads, and spaces the walks of 60,000 by their number", () => {
    expect(liveSampleGapMs(40)).toBe(100);
    expect(liveSampleGapMs(4000)).toBe(100);
    expect(liveSampleGapMs(60_000)).toBe(1500);
  });
});
