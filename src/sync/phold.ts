/*
 * DragonFly process and lwp holds (kern_proc.c, NOTES A7). p_lock counts holders in its low bits;
 * PLOCK_WAITING asks the last PRELE to wake the staller, PLOCK_ZOMB marks a zombie being reaped.
 * They take `&p->p_lock` / `&lp->lwp_lock`, so both kernels' structs can use them.
 */
import { syncPoint, violation } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { DONE, image, mem, type KGen } from "./seam.js";
import { orderedAfter, orderedBefore } from "./atomic.js";
import { AT_ACQUIRE, AT_COUNT, AT_WRITE, syncObs } from "./observe.js";
import { PINTERLOCKED, tsleep, tsleep_interlock, wakeup } from "./sleep.js";
import { words } from "../shm/words.js";

export const PLOCK_WAITING = 0x40000000;
export const PLOCK_ZOMB = 0x20000000;
export const PLOCK_MASK = 0x1fffffff;

export function PHOLD(p_lock: Addr): void {
  syncPoint();
  words.add(mem, p_lock, 1);
  relaxedHold(p_lock, 1);
}

/** A hold taken or dropped with a relaxed atomic (observe.ts). */
function relaxedHold(p: Addr, delta: number): void {
  if (syncObs === null) return;
  syncObs.atomic(p, AT_WRITE | AT_COUNT);
  syncObs.hold(p, delta);
}

export function PRELE(p_lock: Addr): void {
  orderedBefore(p_lock); // a staller that sees the hold gone sees what the holder did
  for (;;) {
    syncPoint();
    const o = words.load(mem, p_lock);
    if ((o & PLOCK_MASK) === 0) {
      violation("phold-underflow", `PRELE(${image.describe(p_lock)}) with no hold`);
      return;
    }
    // Any release wakes a staller (PSTALL waits for "at most n", not only for zero).
    if (words.compareExchange(mem, p_lock, o, (o - 1) & ~PLOCK_WAITING) === o) {
      orderedAfter(p_lock, true, true);
      if (syncObs !== null) syncObs.hold(p_lock, -1);
      if (o & PLOCK_WAITING) wakeup(p_lock);
      return;
    }
  }
}

/** PSTALL: wait until at most n holds remain. No generator when there is nothing to wait for (seam.ts, DONE). */
export function PSTALL(p_lock: Addr, wmesg: string, n: number): KGen {
  syncPoint();
  const o = words.load(mem, p_lock);
  if ((o & PLOCK_MASK) > n) return stall(p_lock, wmesg, n, o);
  stalled(p_lock);
  return DONE;
}

/** The stall is over: the staller comes after the releases it waited for. */
function stalled(p_lock: Addr): void {
  if (syncObs !== null) syncObs.atomic(p_lock, AT_ACQUIRE);
}

function* stall(p_lock: Addr, wmesg: string, n: number, seen: number): KGen {
  for (let o = seen; (o & PLOCK_MASK) > n; o = words.load(mem, p_lock)) {
    tsleep_interlock(p_lock, 0);
    if (words.compareExchange(mem, p_lock, o, o | PLOCK_WAITING) === o) yield* tsleep(p_lock, PINTERLOCKED, wmesg, 0);
    syncPoint();
  }
  stalled(p_lock);
}

/**
 * PHOLDZOMB: take the zombie-reaper hold. 0 on success; 1 when another reaper has it -- this
 * thread then slept, the process may be gone, and the caller must restart its scan.
 */
export function* PHOLDZOMB(p_lock: Addr): KGen<number> {
  for (;;) {
    syncPoint();
    const o = words.load(mem, p_lock);
    if (!(o & PLOCK_ZOMB)) {
      if (words.compareExchange(mem, p_lock, o, (o + 1) | PLOCK_ZOMB) === o) {
        orderedAfter(p_lock, true, true); // the zombie reaper comes after the last one's PRELEZOMB
        if (syncObs !== null) syncObs.own(p_lock, true);
        return 0;
      }
      continue;
    }
    tsleep_interlock(p_lock, 0);
    if (words.compareExchange(mem, p_lock, o, o | PLOCK_WAITING) === o) {
      yield* tsleep(p_lock, PINTERLOCKED, "phldz", 0);
      return 1;
    }
  }
}

export function PRELEZOMB(p_lock: Addr): void {
  orderedBefore(p_lock);
  for (;;) {
    syncPoint();
    const o = words.load(mem, p_lock);
    if (!(o & PLOCK_ZOMB) || (o & PLOCK_MASK) === 0) {
      violation("phold-underflow", `PRELEZOMB(${image.describe(p_lock)}) without the zombie hold`);
      return;
    }
    if (words.compareExchange(mem, p_lock, o, (o - 1) & ~(PLOCK_ZOMB | PLOCK_WAITING)) === o) {
      orderedAfter(p_lock, true, true);
      if (syncObs !== null) syncObs.own(p_lock, false);
      if (o & PLOCK_WAITING) wakeup(p_lock);
      return;
    }
  }
}

/** LWPHOLD / LWPRELE: an atomic count that keeps an lwp in its tree while an iterator blocks. */
export function LWPHOLD(lwp_lock: Addr): void {
  syncPoint();
  words.add(mem, lwp_lock, 1);
  relaxedHold(lwp_lock, 1);
}

/** Ordered: lwp_exit and kern_wait poll lwp_lock down to 0 before the lwp goes away. */
export function LWPRELE(lwp_lock: Addr): void {
  syncPoint();
  orderedBefore(lwp_lock);
  const old = words.add(mem, lwp_lock, -1);
  orderedAfter(lwp_lock, true, true);
  if (syncObs !== null) syncObs.hold(lwp_lock, -1);
  if (old <= 0) violation("lwphold-underflow", `LWPRELE(${image.describe(lwp_lock)}) with no hold`);
}

/** The hold count, for assertions (`p->p_lock & PLOCK_MASK`). */
export function holdcount(p_lock: Addr): number {
  return words.load(mem, p_lock) & PLOCK_MASK;
}
