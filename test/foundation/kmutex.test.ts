/*
 * NetBSD's kmutex and condvar: a cv handshake under the mutex never loses a wake-up, cv_wait
 * gives the mutex up while waiting and owns it again when it returns, and the mutex is
 * owner-checked.
 */
import { describe, expect, it } from "vitest";
import { boot, laws, run } from "./harness.js";

describe("kmutex + condvar", () => {
  it("lab.cv: the waiter sees the signaller's change", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.cv", [1], 0],
      ["lab.cv", [0], 1],
    ], { ms: 10_000 });
    expect(o.finished).toBe(true);
    expect(lab.l.rounds).toBe(1);
    expect(laws(o)).toEqual([]);
  }, 20_000);

  it("a cv ping-pong between two cpus completes 2,000 rounds, owning the mutex after every cv_wait", async () => {
    const lab = boot(4);
    const n = 2_000;
    const o = await run(lab, [
      ["lab.cv-pingpong", [0, n], 0],
      ["lab.cv-pingpong", [1, n], 1],
    ], { ms: 30_000 });
    expect(o.finished).toBe(true);
    expect(lab.l.counter).toBe(n);
    expect(lab.res(1)).toBe(0);
    expect(laws(o)).toEqual([]);
  }, 40_000);

  it("cv_wait releases the mutex while waiting and re-enters it before returning", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.cv-reenter", [0], 0],
      ["lab.cv-reenter", [1], 1],
    ], { ms: 10_000 });
    expect(o.finished).toBe(true);
    expect(lab.res(1)).toBe(1); // the other thread entered while the waiter was in cv_wait
    expect(lab.res(0)).toBe(1); // the waiter owned it again after cv_wait
    expect(laws(o)).toEqual([]);
  }, 20_000);

  it("mutex_exit by a non-owner is reported and does not release the owner's mutex", async () => {
    const lab = boot(4);
    const o = await run(lab, [
      ["lab.mutex-nonowner", [0], 0],
      ["lab.mutex-nonowner", [1], 1],
    ], { ms: 10_000 });
    expect(o.finished).toBe(true);
    expect(laws(o)).toEqual(["mutex-not-owned"]);
    expect(o.violations[0].message).toContain("lab[0].mtx");
    expect(o.violations[0].cpu).toBe(1);
    expect(lab.res(0)).toBe(1);
  }, 20_000);
});
