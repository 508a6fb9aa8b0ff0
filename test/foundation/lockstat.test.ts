/*
 * lockstat's per-function split of contentions (src/sync/lockstat.ts): naming the waiting function
 * reads the stack while the lock is held, so a class's first contentions are each named and later
 * ones one in a sample, scaled; the class's own counts and waits stay exact.
 */
import { describe, expect, it } from "vitest";
import { installSync, type SchedServices } from "../../src/sync/seam.js";
import { lockstat_contended, lockstatSnapshot, resetLockstat } from "../../src/sync/lockstat.js";
import { boot } from "./harness.js";

function contend(times: number): ReturnType<typeof lockstatSnapshot>[number] {
  const lab = boot(1);
  installSync(lab.m.image, {} as SchedServices); // classOf only: lockstat asks the image for the class
  resetLockstat(true);
  for (let i = 0; i < times; i++) lockstat_contended(lab.l.ptr("tok"), 1000);
  const [cls] = lockstatSnapshot();
  return cls;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe("lockstat's waiting functions", () => {
  it("a class's first 32 contentions are each named", () => {
    const cls = contend(20);
    expect(cls.contended).toBe(20);
    expect(sum(cls.sites.map((s) => s.contended))).toBe(20);
    expect(sum(cls.sites.map((s) => s.waitNs))).toBe(20_000);
  });

  it("past 32, one in 16 is named and counts 16: the split is an estimate, the class's counts and wait exact", () => {
    const cls = contend(100);
    expect(cls.contended).toBe(100);
    expect(cls.waitNs).toBe(100_000);
    expect(cls.waitHist.reduce((a, b) => a + b, 0)).toBe(100);
    // 32 named one by one, then the 48th, 64th, 80th and 96th for 16 each.
    expect(sum(cls.sites.map((s) => s.contended))).toBe(32 + 4 * 16);
    expect(sum(cls.sites.map((s) => s.waitNs))).toBe((32 + 4 * 16) * 1000);
  });
});
