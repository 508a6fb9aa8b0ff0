/*
 * lockmgr (sys/kern/kern_lock.c, NOTES A2): a sleeping reader/writer lock with writer
 * preference. lk_count holds the request bits and the hold count; lk_lockholder the exclusive
 * holder. Waiters sleep with tsleep_interlock + tsleep(PINTERLOCKED) on the lock's address, so
 * they drop their tokens while they wait; a release wakes them all and they race again.
 */
import { syncPoint, violation } from "../shm/hooks.js";
import { ev, EV } from "../shm/trace.js";
import type { Addr } from "../shm/table.js";
import { EBUSY } from "./errno.js";
import { lockstat_acquired, lockstat_contended, lockstat_released } from "./lockstat.js";
import { curthread, image, mem, sched, type KGen, type SyncThread } from "./seam.js";
import { PINTERLOCKED, tsleep, tsleep_interlock, wakeup } from "./sleep.js";
import { witness_order } from "./witness.js";

export const LKC_EXREQ = 0x80000000 | 0;
export const LKC_SHREQ = 0x40000000;
export const LKC_UPREQ = 0x20000000;
export const LKC_EXCL = 0x10000000;
export const LKC_UPGRANT = 0x08000000;
export const LKC_CANCEL = 0x04000000;
export const LKC_MASK = 0x03ffffff;

export const LK_SHARED = 0x1;
export const LK_EXCLUSIVE = 0x2;
export const LK_UPGRADE = 0x3;
export const LK_EXCLUPGRADE = 0x4;
export const LK_DOWNGRADE = 0x5;
export const LK_RELEASE = 0x6;
export const LK_TYPE_MASK = 0xf;
export const LK_NOWAIT = 0x10;
export const LK_CANRECURSE = 0x40;

const HOLDER = 1; // lk_lockholder word, after lk_count

function cas(lk: Addr, o: number, n: number): boolean {
  return Atomics.compareExchange(mem, lk, o, n) === o;
}

/** Record the hold for witness, dumps and lockstat. */
function held(td: SyncThread, lk: Addr, shared: boolean): void {
  ev(EV.LOCK_GOT, lk, shared ? 1 : 0);
  td.held.push({ lock: lk, kind: "lockmgr", shared, since: lockstat_acquired(lk) });
}

function unheld(td: SyncThread, lk: Addr): boolean {
  const i = td.held.findLastIndex((l) => l.lock === lk);
  if (i < 0) return false;
  ev(EV.LOCK_REL, lk);
  lockstat_released(lk, td.held[i].since);
  td.held.splice(i, 1);
  return true;
}

/** Sleep until the lock changes: set the request bit after interlocking, then sleep. */
function* waitFor(td: SyncThread, lk: Addr, seen: number, reqbit: number): KGen<boolean> {
  tsleep_interlock(lk, 0);
  if (!cas(lk, seen, seen | reqbit)) return false; // changed meanwhile: retry at once
  td.waitfor = lk;
  ev(EV.LOCK_WAIT, lk);
  yield* tsleep(lk, PINTERLOCKED, "lockmgr", 0);
  td.waitfor = 0;
  return true;
}

function* lockShared(td: SyncThread, lk: Addr, flags: number): KGen<number> {
  const t0 = sched.nanotime();
  let waited = false;
  for (;;) {
    syncPoint();
    const c = Atomics.load(mem, lk);
    if (c & LKC_EXCL && mem[lk + HOLDER] === td.h) {
      if (!(flags & LK_CANRECURSE)) {
        violation("lockmgr-recursion", `lockmgr: locking against myself (${image.describe(lk)})`);
        return EBUSY;
      }
      if (cas(lk, c, c + 1)) break;
      continue;
    }
    if (!(c & (LKC_EXCL | LKC_EXREQ | LKC_UPREQ))) {
      if (cas(lk, c, c + 1)) break;
      continue;
    }
    if (flags & LK_NOWAIT) return EBUSY;
    waited = (yield* waitFor(td, lk, c, LKC_SHREQ)) || waited;
  }
  if (waited) lockstat_contended(lk, sched.nanotime() - t0);
  held(td, lk, true);
  return 0;
}

function* lockExclusive(td: SyncThread, lk: Addr, flags: number): KGen<number> {
  const t0 = sched.nanotime();
  let waited = false;
  for (;;) {
    syncPoint();
    const c = Atomics.load(mem, lk);
    if (c & LKC_EXCL && mem[lk + HOLDER] === td.h) {
      if (!(flags & LK_CANRECURSE)) {
        violation("lockmgr-recursion", `lockmgr: locking against myself (${image.describe(lk)})`);
        return EBUSY;
      }
      if (cas(lk, c, c + 1)) break;
      continue;
    }
    if ((c & LKC_MASK) === 0 && !(c & LKC_EXCL)) {
      if (cas(lk, c, (c & ~(LKC_EXREQ | LKC_SHREQ)) | LKC_EXCL | 1)) {
        mem[lk + HOLDER] = td.h;
        // We cleared the request bits; wake anyone else who asked so they re-post theirs.
        if (c & (LKC_EXREQ | LKC_SHREQ)) wakeup(lk);
        break;
      }
      continue;
    }
    if (flags & LK_NOWAIT) return EBUSY;
    waited = (yield* waitFor(td, lk, c, LKC_EXREQ)) || waited;
  }
  if (waited) lockstat_contended(lk, sched.nanotime() - t0);
  held(td, lk, false);
  return 0;
}

function release(td: SyncThread, lk: Addr): number {
  if (!unheld(td, lk)) {
    violation("lockmgr-release-not-held", `lockmgr(LK_RELEASE) of ${image.describe(lk)} not held by this thread`);
    return EBUSY;
  }
  for (;;) {
    syncPoint();
    const c = Atomics.load(mem, lk);
    const count = c & LKC_MASK;
    if (count === 0) {
      violation("lockmgr-underflow", `lockmgr: release of unheld ${image.describe(lk)}`);
      return EBUSY;
    }
    if (count === 1 && c & LKC_UPREQ && !(c & LKC_EXCL)) {
      // The last other sharer goes: the upgrader's remaining hold becomes exclusive.
      if (cas(lk, c, (c & ~LKC_UPREQ) | LKC_EXCL | LKC_UPGRANT)) {
        wakeup(lk);
        return 0;
      }
      continue;
    }
    if (count > 1) {
      if (cas(lk, c, c - 1)) return 0;
      continue;
    }
    if (c & LKC_EXCL) mem[lk + HOLDER] = 0;
    if (cas(lk, c, 0)) {
      if (c & (LKC_EXREQ | LKC_SHREQ | LKC_UPREQ)) wakeup(lk);
      return 0;
    }
    if (c & LKC_EXCL) mem[lk + HOLDER] = td.h;
  }
}

/**
 * LK_UPGRADE: a sole sharer becomes exclusive at once. Otherwise the share is given up and the
 * thread waits for exclusive -- others may get in between, so the caller must re-check.
 * LK_EXCLUPGRADE fails with EBUSY instead of waiting when another upgrade is already pending.
 */
function* upgrade(td: SyncThread, lk: Addr, flags: number, excl: boolean): KGen<number> {
  for (;;) {
    syncPoint();
    const c = Atomics.load(mem, lk);
    if (excl && c & LKC_UPREQ) {
      // Another upgrade is ahead of us: fail rather than let an exclusive holder in between; the
      // share is released on failure (kern_lock.c lockmgr_upgrade, LK_EXCLUPGRADE).
      release(td, lk);
      return EBUSY;
    }
    if ((c & (LKC_UPREQ | LKC_EXCL | LKC_MASK)) === 1) {
      // Sole sharer and no upgrade pending (with UPREQ set, the count would be the pending
      // upgrader's to take: it gets granted below instead).
      if (cas(lk, c, c | LKC_EXCL)) {
        mem[lk + HOLDER] = td.h;
        const h = td.held.findLast((l) => l.lock === lk)!;
        h.shared = false;
        return 0;
      }
      continue;
    }
    if (c & LKC_EXCL) {
      if (mem[lk + HOLDER] === td.h) return 0; // already exclusive: a no-op
      violation("lockmgr-upgrade-unowned", `lockmgr: upgrade of ${image.describe(lk)} held exclusively by another thread`);
      return EBUSY;
    }
    if (flags & LK_NOWAIT) {
      release(td, lk); // cannot upgrade without blocking: an error leaves no lock held
      return EBUSY;
    }
    if (c & LKC_UPREQ) {
      release(td, lk);
      return yield* lockExclusive(td, lk, flags);
    }
    if (!cas(lk, c, (c - 1) | LKC_UPREQ)) continue;
    unheld(td, lk);
    // Wait for the grant: the last other sharer hands over EXCL|UPGRANT.
    const t0 = sched.nanotime();
    for (;;) {
      tsleep_interlock(lk, 0);
      const d = Atomics.load(mem, lk);
      if (d & LKC_UPGRANT) {
        if (cas(lk, d, d & ~LKC_UPGRANT)) break;
        continue;
      }
      td.waitfor = lk;
      yield* tsleep(lk, PINTERLOCKED, "lkupgrd", 0);
      td.waitfor = 0;
    }
    mem[lk + HOLDER] = td.h;
    lockstat_contended(lk, sched.nanotime() - t0);
    held(td, lk, false);
    return 0;
  }
}

function downgrade(td: SyncThread, lk: Addr): number {
  const h = td.held.findLast((l) => l.lock === lk);
  const c = Atomics.load(mem, lk);
  if (!h || h.shared || !(c & LKC_EXCL) || mem[lk + HOLDER] !== td.h) {
    violation("lockmgr-downgrade", `LK_DOWNGRADE of ${image.describe(lk)} not held exclusively`);
    return EBUSY;
  }
  mem[lk + HOLDER] = 0;
  const old = Atomics.and(mem, lk, ~(LKC_EXCL | LKC_EXREQ | LKC_SHREQ));
  h.shared = true;
  if (old & (LKC_SHREQ | LKC_EXREQ)) wakeup(lk);
  return 0;
}

/** lockmgr(lkp, flags): returns 0 or an errno (EBUSY for LK_NOWAIT / LK_EXCLUPGRADE). */
export function* lockmgr(lk: Addr, flags: number): KGen<number> {
  const td = curthread();
  switch (flags & LK_TYPE_MASK) {
    case LK_SHARED:
      witness_order(lk, td.held);
      return yield* lockShared(td, lk, flags);
    case LK_EXCLUSIVE:
      witness_order(lk, td.held);
      return yield* lockExclusive(td, lk, flags);
    case LK_RELEASE:
      return release(td, lk);
    case LK_UPGRADE:
      return yield* upgrade(td, lk, flags, false);
    case LK_EXCLUPGRADE:
      return yield* upgrade(td, lk, flags, true);
    case LK_DOWNGRADE:
      return downgrade(td, lk);
  }
  throw new Error(`lockmgr: bad flags ${flags}`);
}

/** lockstatus: LK_EXCLUSIVE if the current thread holds it exclusively, LK_SHARED if shared by anyone, else 0. */
export function lockstatus(lk: Addr): number {
  const c = Atomics.load(mem, lk);
  if (c & LKC_EXCL) return mem[lk + HOLDER] === curthread().h ? LK_EXCLUSIVE : 0;
  return c & LKC_MASK ? LK_SHARED : 0;
}

/** Holders, for audits: the exclusive holder's thread handle or 0, and the hold count. */
export function lockinfo(lk: Addr): { excl: boolean; count: number; holder: number } {
  const c = Atomics.load(mem, lk);
  return { excl: (c & LKC_EXCL) !== 0, count: c & LKC_MASK, holder: mem[lk + HOLDER] };
}
