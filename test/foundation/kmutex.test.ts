/*
 * NetBSD's kmutex and condvar: a cv handshake under the mutex never loses a wake-up, cv_wait
 * gives the mutex up while waiting and owns it again when it returns, and the mutex is
 * owner-checked. A contended mutex's waiter sleeps on the mutex's own queue (its turnstile), not
 * on the sleeptab hash.
 */
import { describe, expect, it } from "vitest";
import { THREAD } from "../../src/shm/core.js";
import { Image } from "../../src/shm/image.js";
import { imageTables } from "../../src/sched/spec.js";
import { Thread } from "../../src/sched/thread.js";
import { LAB, labSpec } from "../../src/selftest/lab.js";
import { mutex_enter, mutex_exit, mutex_owned } from "../../src/sync/kmutex.js";
import { installSync, SWITCH_SLEEP } from "../../src/sync/seam.js";
import { initSleepQueues, sleepq_park, wakeup } from "../../src/sync/sleep.js";
import type { Handle } from "../../src/shm/table.js";
import { boot, laws, run } from "./harness.js";

/** Two threads on one image, no machine: `cur` says which one runs; `readied` what was made runnable. */
function twoThreads() {
  const image = Image.create(imageTables(labSpec(1)));
  const [a, b] = [0, 1].map((i) => new Thread(image.table(THREAD).alloc(), 0, `t${i}`, undefined as never));
  const readied: Handle[] = [];
  const s = { cur: a };
  installSync(image, { current: () => s.cur, ready: (h) => readied.push(h), ticks: () => 0, spinWait: () => {}, nanotime: () => 0, newThreadCpu: () => 0, alone: () => true });
  initSleepQueues();
  const labs = image.table(LAB);
  return { a, b, s, readied, mtx: labs.view(labs.alloc()).ptr("mtx") };
}

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

  it("a contended mutex_enter sleeps on the mutex's turnstile: a sleeptab wakeup of its address misses it, mutex_exit wakes it", () => {
    const { a, b, s, readied, mtx } = twoThreads();
    expect(mutex_enter(mtx).next().done).toBe(true); // a owns it, uncontended
    s.cur = b;
    const g = mutex_enter(mtx);
    expect(g.next()).toEqual({ value: SWITCH_SLEEP, done: false }); // past the spins, asleep
    expect(sleepq_park(b.h)).toBe(true); // its cpu deschedules it
    // kern_mutex.c 682: the waiter is on the turnstile's queue, which sleeptab's walks never see
    // (on the hash, 60,000 kpause sleepers made every wake of a mutex walk ~470 of them).
    expect(wakeup(mtx)).toBe(0);
    expect(readied).toEqual([]);
    s.cur = a;
    mutex_exit(mtx);
    expect(readied).toEqual([b.h]);
    s.cur = b;
    expect(g.next(0).done).toBe(true);
    expect(mutex_owned(mtx)).toBe(true);
  });
});
