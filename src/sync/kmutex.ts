/*
 * NetBSD kmutex (kern_mutex.c, NOTES A6): adaptive, non-recursive, owner-checked. The owner word
 * holds the owning thread; a contended enterer spins briefly, then sleeps on the mutex's own queue
 * (its turnstile, kern_mutex.c 682: never the sleeptab hash that kpause's sleepers fill) after
 * announcing itself in the waiters word (the interlocked sleep means no lost wakeup).
 * A NetBSD mutex is held across sleeps (unlike a token), so it makes witness edges.
 */
import { syncPoint, violation } from "../shm/hooks.js";
import { EV, evLock } from "../shm/trace.js";
import type { Addr } from "../shm/table.js";
import { lockstat_acquired, lockstat_contended, lockstat_released } from "./lockstat.js";
import { HOW_MUTEX, HOW_SLEEPS, syncObs } from "./observe.js";
import { curthread, DONE, dropHeld, heldIndex, image, mem, sched, type KGen, type SyncThread } from "./seam.js";
import { PINTERLOCKED, tsleep, tsleep_interlock_obj, wakeup_obj } from "./sleep.js";
import { witness_order } from "./witness.js";
import { words } from "../shm/words.js";

const WAITERS = 1;
const SPINS = 64;

/** mutex_enter. Uncontended, it returns no generator (see DONE in seam.ts); it sleeps only contended. */
export function mutex_enter(mtx: Addr): KGen {
  const td = curthread();
  if (words.load(mem, mtx) === td.h) {
    violation("mutex-recursion", `mutex_enter(${image.describe(mtx)}): locking against myself`);
    return DONE;
  }
  witness_order(mtx, td.held);
  syncPoint();
  if (words.compareExchange(mem, mtx, 0, td.h) !== 0) return contended(td, mtx);
  entered(td, mtx);
  return DONE;
}

function* contended(td: SyncThread, mtx: Addr): KGen {
  const t0 = sched.nanotime();
  td.waitfor = mtx;
  evLock(EV.LOCK_WAIT, td, mtx, 0);
  for (let spins = 0; words.compareExchange(mem, mtx, 0, td.h) !== 0; spins++) {
    if (spins < SPINS) {
      sched.spinWait();
      continue;
    }
    tsleep_interlock_obj(mtx, 0);
    words.add(mem, mtx + WAITERS, 1);
    if (words.load(mem, mtx) !== 0) yield* tsleep(mtx, PINTERLOCKED, "mutex", 0);
    words.sub(mem, mtx + WAITERS, 1);
  }
  td.waitfor = 0;
  lockstat_contended(mtx, sched.nanotime() - t0);
  entered(td, mtx);
}

function entered(td: SyncThread, mtx: Addr): void {
  if (syncObs !== null) syncObs.acquire(td, mtx, HOW_MUTEX | HOW_SLEEPS);
  evLock(EV.LOCK_GOT, td, mtx, 0);
  td.held.push({ lock: mtx, kind: "mutex", shared: false, since: lockstat_acquired(mtx) });
}

export function mutex_tryenter(mtx: Addr): boolean {
  const td = curthread();
  syncPoint();
  if (words.compareExchange(mem, mtx, 0, td.h) !== 0) return false;
  if (syncObs !== null) syncObs.acquire(td, mtx, HOW_MUTEX);
  td.held.push({ lock: mtx, kind: "mutex", shared: false, since: lockstat_acquired(mtx) });
  return true;
}

export function mutex_exit(mtx: Addr): void {
  const td = curthread();
  if (words.load(mem, mtx) !== td.h) {
    violation("mutex-not-owned", `mutex_exit(${image.describe(mtx)}) by a thread that does not own it`);
    return;
  }
  const i = heldIndex(td, mtx);
  evLock(EV.LOCK_REL, td, mtx, 0);
  lockstat_released(mtx, td.held[i].since);
  dropHeld(td, i);
  syncPoint();
  if (syncObs !== null) syncObs.release(td, mtx, HOW_MUTEX);
  words.store(mem, mtx, 0);
  if (words.load(mem, mtx + WAITERS) > 0) wakeup_obj(mtx, Infinity);
}

/** mutex_owned: the current thread holds it. */
export function mutex_owned(mtx: Addr): boolean {
  return words.load(mem, mtx) === curthread().h;
}
