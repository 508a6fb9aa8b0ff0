/*
 * lockmgr (sys/kern/kern_lock.c, NOTES A2): a sleeping reader/writer lock with writer
 * preference. lk_count holds the request bits and the hold count; lk_lockholder the exclusive
 * holder. Waiters sleep with tsleep_interlock + tsleep(PINTERLOCKED) on the lock's address, so
 * they drop their tokens while they wait; a release wakes them all and they race again.
 */
import { syncPoint, violation } from "../shm/hooks.js";
import { EV, evLock } from "../shm/trace.js";
import type { Addr } from "../shm/table.js";
import { EBUSY } from "./errno.js";
import { lockstat_acquired, lockstat_contended, lockstat_released } from "./lockstat.js";
import { HOW_SHARED, HOW_SLEEPS, syncObs } from "./observe.js";
import { curthread, dropHeld, finished, heldIndex, image, mem, sched, type KGen, type SyncThread } from "./seam.js";
import { PINTERLOCKED, tsleep, tsleep_interlock, wakeup } from "./sleep.js";
import { witness_order } from "./witness.js";
import { words } from "../shm/words.js";

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
  return words.compareExchange(mem, lk, o, n) === o;
}

/** Record the hold for witness, dumps and lockstat. */
function held(td: SyncThread, lk: Addr, shared: boolean): void {
  if (syncObs !== null) syncObs.acquire(td, lk, shared ? HOW_SLEEPS | HOW_SHARED : HOW_SLEEPS);
  evLock(EV.LOCK_GOT, td, lk, shared ? 1 : 0);
  td.held.push({ lock: lk, kind: "lockmgr", shared, since: lockstat_acquired(lk) });
}

function unheld(td: SyncThread, lk: Addr): boolean {
  const i = heldIndex(td, lk);
  if (i < 0) return false;
  if (syncObs !== null) syncObs.release(td, lk, td.held[i].shared ? HOW_SHARED : 0);
  evLock(EV.LOCK_REL, td, lk, 0);
  lockstat_released(lk, td.held[i].since);
  dropHeld(td, i);
  return true;
}

/** Sleep until the lock changes: set the request bit after interlocking, then sleep. */
function* waitFor(td: SyncThread, lk: Addr, seen: number, reqbit: number): KGen<boolean> {
  tsleep_interlock(lk, 0);
  if (!cas(lk, seen, seen | reqbit)) return false; // changed meanwhile: retry at once
  td.waitfor = lk;
  evLock(EV.LOCK_WAIT, td, lk, 0);
  yield* tsleep(lk, PINTERLOCKED, "lockmgr", 0);
  td.waitfor = 0;
  return true;
}

/*
 * An acquisition is a loop of passes: a scheduling point, a look at lk_count, then one of GOT
 * (the hold is ours), RETRY (a compare-and-swap lost a race), WAIT (sleep until the lock changes,
 * from the value `seen`) or EBUSY. lockmgr() makes the first pass itself, so a free lock is
 * taken with no generator (seam.ts, DONE); otherwise the generator goes on from that pass.
 */
const GOT = -1;
const RETRY = -2;
const WAIT = -3;
/** The lk_count a WAIT pass saw (the sleep's request bit goes on that value). */
let seen = 0;

/** The caller already holds lk exclusively: one more level if it may recurse, else the kernel's panic. */
function passRecursive(lk: Addr, c: number, flags: number): number {
  if (!(flags & LK_CANRECURSE)) {
    violation("lockmgr-recursion", `lockmgr: locking against myself (${image.describe(lk)})`);
    return EBUSY;
  }
  return cas(lk, c, c + 1) ? GOT : RETRY;
}

function passShared(td: SyncThread, lk: Addr, flags: number): number {
  syncPoint();
  const c = words.load(mem, lk);
  if (c & LKC_EXCL && mem[lk + HOLDER] === td.h) return passRecursive(lk, c, flags);
  if (!(c & (LKC_EXCL | LKC_EXREQ | LKC_UPREQ))) return cas(lk, c, c + 1) ? GOT : RETRY;
  if (flags & LK_NOWAIT) return EBUSY;
  seen = c;
  return WAIT;
}

function passExclusive(td: SyncThread, lk: Addr, flags: number): number {
  syncPoint();
  const c = words.load(mem, lk);
  if (c & LKC_EXCL && mem[lk + HOLDER] === td.h) return passRecursive(lk, c, flags);
  if ((c & LKC_MASK) === 0 && !(c & LKC_EXCL)) {
    if (!cas(lk, c, (c & ~(LKC_EXREQ | LKC_SHREQ)) | LKC_EXCL | 1)) return RETRY;
    mem[lk + HOLDER] = td.h;
    // We cleared the request bits; wake anyone else who asked so they re-post theirs.
    if (c & (LKC_EXREQ | LKC_SHREQ)) wakeup(lk);
    return GOT;
  }
  if (flags & LK_NOWAIT) return EBUSY;
  seen = c;
  return WAIT;
}

/** LK_SHARED or LK_EXCLUSIVE: the first pass here, the rest (if any) in acquireLoop. */
function acquire(td: SyncThread, lk: Addr, flags: number, shared: boolean): KGen<number> {
  const r = shared ? passShared(td, lk, flags) : passExclusive(td, lk, flags);
  if (r === GOT) {
    held(td, lk, shared);
    return finished(0);
  }
  if (r === EBUSY) return finished(EBUSY);
  return acquireLoop(td, lk, flags, shared, r);
}

function* acquireLoop(td: SyncThread, lk: Addr, flags: number, shared: boolean, first: number): KGen<number> {
  const t0 = sched.nanotime();
  let waited = false;
  for (let r = first; r !== GOT; r = shared ? passShared(td, lk, flags) : passExclusive(td, lk, flags)) {
    if (r === EBUSY) return EBUSY;
    if (r === WAIT) waited = (yield* waitFor(td, lk, seen, shared ? LKC_SHREQ : LKC_EXREQ)) || waited;
  }
  if (waited) lockstat_contended(lk, sched.nanotime() - t0);
  held(td, lk, shared);
  return 0;
}

function release(td: SyncThread, lk: Addr): number {
  if (!unheld(td, lk)) {
    violation("lockmgr-release-not-held", `lockmgr(LK_RELEASE) of ${image.describe(lk)} not held by this thread`);
    return EBUSY;
  }
  for (;;) {
    syncPoint();
    const c = words.load(mem, lk);
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
    const c = words.load(mem, lk);
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
        if (syncObs !== null) syncObs.acquire(td, lk, 0); // now a writer: after every reader's release
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
      return yield* acquire(td, lk, flags, false);
    }
    if (!cas(lk, c, (c - 1) | LKC_UPREQ)) continue;
    unheld(td, lk);
    // Wait for the grant: the last other sharer hands over EXCL|UPGRANT.
    const t0 = sched.nanotime();
    for (;;) {
      tsleep_interlock(lk, 0);
      const d = words.load(mem, lk);
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
  const c = words.load(mem, lk);
  if (!h || h.shared || !(c & LKC_EXCL) || mem[lk + HOLDER] !== td.h) {
    violation("lockmgr-downgrade", `LK_DOWNGRADE of ${image.describe(lk)} not held exclusively`);
    return EBUSY;
  }
  if (syncObs !== null) syncObs.release(td, lk, 0); // what it wrote, for the readers it lets in
  mem[lk + HOLDER] = 0;
  const old = words.and(mem, lk, ~(LKC_EXCL | LKC_EXREQ | LKC_SHREQ));
  h.shared = true;
  if (old & (LKC_SHREQ | LKC_EXREQ)) wakeup(lk);
  return 0;
}

/**
 * lockmgr(lkp, flags): returns 0 or an errno (EBUSY for LK_NOWAIT / LK_EXCLUPGRADE). What does
 * not sleep -- a free lock taken, a release, a downgrade -- returns no generator (seam.ts, DONE).
 */
export function lockmgr(lk: Addr, flags: number): KGen<number> {
  const td = curthread();
  switch (flags & LK_TYPE_MASK) {
    case LK_SHARED:
      witness_order(lk, td.held);
      return acquire(td, lk, flags, true);
    case LK_EXCLUSIVE:
      witness_order(lk, td.held);
      return acquire(td, lk, flags, false);
    case LK_RELEASE:
      return finished(release(td, lk));
    case LK_UPGRADE:
      return upgrade(td, lk, flags, false);
    case LK_EXCLUPGRADE:
      return upgrade(td, lk, flags, true);
    case LK_DOWNGRADE:
      return finished(downgrade(td, lk));
  }
  throw new Error(`lockmgr: bad flags ${flags}`);
}

/** lockstatus: LK_EXCLUSIVE if the current thread holds it exclusively, LK_SHARED if shared by anyone, else 0. */
export function lockstatus(lk: Addr): number {
  const c = words.load(mem, lk);
  if (c & LKC_EXCL) return mem[lk + HOLDER] === curthread().h ? LK_EXCLUSIVE : 0;
  return c & LKC_MASK ? LK_SHARED : 0;
}

/** Holders, for audits: the exclusive holder's thread handle or 0, and the hold count. */
export function lockinfo(lk: Addr): { excl: boolean; count: number; holder: number } {
  const c = words.load(mem, lk);
  return { excl: (c & LKC_EXCL) !== 0, count: c & LKC_MASK, holder: mem[lk + HOLDER] };
}
