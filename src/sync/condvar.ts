/*
 * NetBSD condition variables (kern_condvar.c, NOTES A6). cv_wait enqueues the thread on the cv
 * before it releases the mutex, sleeps, and re-enters the mutex after; so a waker that changes the
 * predicate and broadcasts under the same mutex cannot be missed. A broadcast made without the
 * mutex can be, as in the kernel. Wake-ups may be spurious: callers loop on their predicate.
 * Each condvar's sleepers are on its own queue, as CV_SLEEPQ(cv) is (kern_condvar.c 62), not on
 * the sleeptab hash that tsleep shares: a broadcast walks its own waiters only.
 */
import { violation } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { image, type KGen } from "./seam.js";
import { mutex_enter, mutex_exit, mutex_owned } from "./kmutex.js";
import { PCATCH, PINTERLOCKED, tsleep, tsleep_interlock_obj, wakeup_obj } from "./sleep.js";

function* wait(cv: Addr, mtx: Addr, flags: number, timo: number): KGen<number> {
  if (!mutex_owned(mtx)) {
    violation("cv-wait-unlocked", `cv_wait(${image.describe(cv)}) without holding ${image.describe(mtx)}`);
  }
  tsleep_interlock_obj(cv, flags);
  mutex_exit(mtx);
  const error = yield* tsleep(cv, flags | PINTERLOCKED, "cv", timo);
  yield* mutex_enter(mtx);
  return error;
}

export function* cv_wait(cv: Addr, mtx: Addr): KGen {
  yield* wait(cv, mtx, 0, 0);
}

/** cv_wait_sig: 0, or EINTR/ERESTART when a signal ended the wait. */
export function* cv_wait_sig(cv: Addr, mtx: Addr): KGen<number> {
  return yield* wait(cv, mtx, PCATCH, 0);
}

export function* cv_timedwait(cv: Addr, mtx: Addr, timo: number): KGen<number> {
  return yield* wait(cv, mtx, 0, timo);
}

/** Returns how many waiters were woken (0 or 1). */
export function cv_signal(cv: Addr): number {
  return wakeup_obj(cv, 1);
}

/** Returns how many waiters were woken. */
export function cv_broadcast(cv: Addr): number {
  return wakeup_obj(cv, Infinity);
}
