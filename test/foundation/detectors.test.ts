/*
 * The detectors: use-after-free through a stale handle, witness lock-order reversals, refcount
 * and hold misuse, the allocator's one-owner rule and its exhaustion, and token misuse (exit
 * holding a token, out-of-order release). Each fires when it should and stays silent otherwise.
 */
import { describe, expect, it } from "vitest";
import { SCRATCH } from "../../src/selftest/lab.js";
import { cyclesIn } from "../../src/sync/witness.js";
import { boot, laws, run, type Spawn } from "./harness.js";

describe("use-after-free", () => {
  it("a stale handle is reported with the table, the slot and the free site", async () => {
    const lab = boot(4);
    const o = await run(lab, [["lab.uaf", [1], 0]], { until: () => lab.m.live() === 0, ms: 5_000 });
    expect(o.finished).toBe(true); // the thread is gone
    const uaf = o.violations.filter((v) => v.law === "use-after-free");
    expect(uaf).toHaveLength(1);
    expect(uaf[0].message).toContain(`scratch[${lab.res(0)}]`);
    expect(uaf[0].message).toContain("freed at lab.uaf free");
    expect(laws(o)).toEqual(["use-after-free"]);
    expect(lab.l.done).toBe(0); // the thread could not go on past it
  }, 10_000);

  it("stays silent when the handle is not used after the free", async () => {
    const lab = boot(4);
    const o = await run(lab, [["lab.uaf", [0], 0]], { ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(o.violations).toEqual([]);
  }, 10_000);
});

describe("witness", () => {
  it("reports A -> B then B -> A as a lock order reversal naming both locks", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.order", [0], 0],
      ["lab.order", [1], 0],
    ], { ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(laws(o)).toEqual(["witness-lock-order"]);
    expect(o.violations[0].message).toContain("lab.lkA");
    expect(o.violations[0].message).toContain("lab.lkB");
  }, 10_000);

  it("reports nothing when both threads take the locks in the same order", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.order", [0], 0],
      ["lab.order", [0], 0],
    ], { ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(o.violations).toEqual([]);
  }, 10_000);

  it("a reversal split across cpus shows as a cycle in the merged edges", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.order", [0], 0],
      ["lab.order", [1], 1],
    ], { ms: 5_000 });
    expect(o.finished).toBe(true);
    const cycles = cyclesIn(o.results.map((r) => r.witness));
    expect(cycles).toHaveLength(1);
    expect([...cycles[0].cycle].sort()).toEqual(["lab.lkA", "lab.lkB"]);
  }, 10_000);
});

describe("refcounts and holds", () => {
  it("a release below zero is reported", async () => {
    const lab = boot(4);
    const o = await run(lab, [["lab.refbad", [0], 0]], { ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(laws(o)).toEqual(["refcount-underflow"]);
  }, 10_000);

  it("an acquire from zero is reported", async () => {
    const lab = boot(4);
    const o = await run(lab, [["lab.refbad", [1], 0]], { ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(laws(o)).toEqual(["refcount-acquire-from-zero"]);
  }, 10_000);

  it("PSTALL waits until the last PRELE", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.pstall", [0], 0],
      ["lab.pstall", [1], 1],
    ], { ms: 10_000 });
    expect(o.finished).toBe(true);
    expect(lab.log()).toEqual([1, 2]);
    expect(lab.res(0)).toBe(0);
    expect(lab.l.p_lock).toBe(0);
    expect(laws(o)).toEqual([]);
  }, 20_000);

  it("PHOLDZOMB: a second reaper sleeps, returns 1 (rescan), and its retry takes the hold", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.pholdzomb", [0], 0],
      ["lab.pholdzomb", [1], 1],
    ], { ms: 10_000 });
    expect(o.finished).toBe(true);
    expect(lab.res(0)).toBe(0);
    expect(lab.res(1)).toBe(1);
    expect(lab.log()).toEqual([1, 2]);
    expect([lab.res(2), lab.res(3), lab.res(4)]).toEqual([0, 1, 0]);
    expect(laws(o)).toEqual([]);
  }, 20_000);

  it("PRELE without a hold and PRELEZOMB without the zombie hold are reported", async () => {
    for (const mode of [0, 1]) {
      const lab = boot(4);
      const o = await run(lab, [["lab.phold-bad", [mode], 0]], { ms: 5_000 });
      expect(o.finished).toBe(true);
      expect(laws(o)).toEqual(["phold-underflow"]);
    }
  }, 20_000);
});

describe("allocator", () => {
  it("never hands one record to two owners (4 cpus)", async () => {
    const lab = boot(4);
    const threads = [0, 1, 2, 3].map((cpu): Spawn => ["lab.alloc", [20_000, cpu + 1], cpu]);
    const o = await run(lab, threads, { ms: 30_000 });
    expect(o.finished).toBe(true);
    expect(lab.l.conflicts).toBe(0);
    expect(lab.m.image.table(SCRATCH).inUse()).toBe(0);
    expect(o.violations).toEqual([]);
  }, 40_000);

  it("an exhausted table returns NULL, and freed records come back", async () => {
    const lab = boot(4);
    const o = await run(lab, [["lab.exhaust", [], 0]], { ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(lab.l.hits).toBe(32); // labSpec's scratch capacity
    expect(lab.res(0)).toBe(1);
    expect(lab.res(1)).toBe(1);
    expect(o.violations).toEqual([]);
  }, 10_000);
});

describe("token misuse", () => {
  it("a thread that ends holding a token is reported", async () => {
    const lab = boot(4);
    const o = await run(lab, [["lab.token-misuse", [0], 0]], { until: () => lab.m.live() === 0, ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(laws(o)).toEqual(["thread-exit-holding-locks"]);
    expect(o.violations[0].message).toContain("lab[0].tok");
  }, 10_000);

  it("releasing a token that is not the top of the stack is reported", async () => {
    const lab = boot(4);
    const o = await run(lab, [["lab.token-misuse", [1], 0]], { ms: 5_000 });
    expect(o.finished).toBe(true);
    expect(laws(o)).toEqual(["token-release-order"]);
    expect(o.violations[0].message).toContain("lab[0].tok");
    expect([lab.res(0), lab.res(1)]).toEqual([1, 0]); // still released, nothing left held
  }, 10_000);
});
