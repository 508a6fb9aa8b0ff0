/*
 * The shadow's vector-clock pool (src/detect/shadow.ts): a clock handed out reads as zero at every
 * entry a detector can read -- those below the dtid high-water mark, then and after it rises --
 * and in its header but the lock word (a late copy may still hold it), however its last owner
 * left it.
 */
import { describe, expect, it } from "vitest";
import { LOG_N, MARKED, Shadow, VC_HDR, VC_LOCK, type ShadowSize } from "../../src/detect/shadow.js";

const SIZE: ShadowSize = { imageWords: 64, dtids: 16, threads: 16, clocks: 4 };

/** A clock's header past its lock word, and entries [0, n). */
const words = (sh: Shadow, vc: number, n: number) => [...sh.i32.subarray(sh.vcHeader(vc, VC_LOCK + 1), sh.clocks(vc) + n)];

/** Dirty everything an owner can write (header, entries below the mark), give the clock back, take it again. */
function reused(sh: Shadow, written: number): number {
  const vc = sh.allocClock();
  sh.i32.fill(7, sh.vcHeader(vc, VC_LOCK + 1), sh.clocks(vc) + written);
  sh.freeClock(vc);
  const again = sh.allocClock();
  expect(again).toBe(vc); // the free list hands back the clock just freed
  return again;
}

describe("Shadow vector-clock pool", () => {
  it("zeroes a reused clock's header and entries below the mark; entries above it stay zero as the mark rises", () => {
    const sh = new Shadow(Shadow.create(SIZE), SIZE, false);
    for (let slot = 0; slot < 5; slot++) sh.dtid(slot);
    expect(sh.hwm()).toBe(5);
    const vc = reused(sh, sh.hwm());
    expect(words(sh, vc, sh.hwm())).toEqual(new Array(VC_HDR - VC_LOCK - 1 + 5).fill(0));
    for (let slot = 5; slot < 12; slot++) sh.dtid(slot);
    expect(words(sh, vc, sh.hwm())).toEqual(new Array(VC_HDR - VC_LOCK - 1 + 12).fill(0));
  });

  it("zeroes the whole clock where another cpu may raise the mark meanwhile (free mode on several cpus)", () => {
    const sh = new Shadow(Shadow.create(SIZE), SIZE, true);
    sh.dtid(0);
    const vc = reused(sh, SIZE.dtids);
    expect(words(sh, vc, SIZE.dtids)).toEqual(new Array(VC_HDR - VC_LOCK - 1 + SIZE.dtids).fill(0));
  });
});

describe("Shadow layout", () => {
  it("starts every clock, and every other field shadow (two to a line), on a cache line (16 words), whatever the widths", () => {
    for (const size of [SIZE, { imageWords: 1001, dtids: 7, threads: 9, clocks: 5 }, { imageWords: 153_000, dtids: 256, threads: 300, clocks: 8 }]) {
      const sh = new Shadow(Shadow.create(size), size, false);
      for (let vc = 1; vc <= size.clocks; vc++) expect(sh.vcHeader(vc, VC_LOCK) % 16).toBe(0);
      for (const addr of [0, 2, (size.imageWords - 2) & ~1]) expect(sh.at(addr) % 16).toBe(0);
    }
  });
});

describe("Shadow written marks", () => {
  it("mark one word at a time: a word beside a marked one reads unmarked, and a clean unmarks only its mask", () => {
    for (const concurrent of [false, true]) {
      const sh = new Shadow(Shadow.create(SIZE), SIZE, concurrent);
      sh.wrote(17);
      sh.wrote(20);
      expect([16, 17, 18, 20].map((a) => sh.marked(a))).toEqual([false, true, false, true]);
      expect(sh.writtenIn(1)).toBe((1 << 1) | (1 << 4));
      sh.clean(1, 1 << 1);
      expect([17, 20].map((a) => sh.marked(a))).toEqual([false, true]);
    }
  });
});

describe("Shadow identity log", () => {
  it("names a tid word's entry (marked or not) while it is in the ring and at or past its epoch; the same entry again for one of the last four", () => {
    for (const concurrent of [false, true]) {
      const sh = new Shadow(Shadow.create(SIZE), SIZE, concurrent);
      const first = sh.logIdentity(3, 10, 5, 100, 7);
      expect(sh.identity(first, 10)).toEqual({ who: 5, pid: 100, sys: 7 });
      expect(sh.identity(first | MARKED, 12)).toEqual({ who: 5, pid: 100, sys: 7 });
      expect(sh.identity(first, 9)).toBeNull(); // a stamp from before the entry: an older pass of the ring
      const other = sh.logIdentity(3, 11, 5, 100, 8);
      expect(other).not.toBe(first);
      expect(sh.logIdentity(3, 12, 5, 100, 7)).toBe(first); // fork, wait, fork: no append
      expect(sh.logIdentity(4, 12, 5, 100, 7)).not.toBe(first); // another dtid's ring
      sh.logIdentity(3, 13, 5, 100, 10);
      sh.logIdentity(3, 14, 5, 100, 11);
      expect(sh.logIdentity(3, 15, 5, 100, 7)).toBe(first); // the fourth last
      for (let i = 0; i < LOG_N - 4; i++) sh.logIdentity(3, 20 + i, 6, 1000 + i, 9);
      expect(sh.identity(first, 30)).toEqual({ who: 5, pid: 100, sys: 7 });
      expect(sh.identity(other, 30)).toEqual({ who: 5, pid: 100, sys: 8 });
      sh.logIdentity(3, 400, 6, 999, 9); // the LOG_Nth append after the first
      expect(sh.identity(first, 500)).toBeNull();
      expect(sh.identity(other, 500)).toEqual({ who: 5, pid: 100, sys: 8 });
    }
  });
});
