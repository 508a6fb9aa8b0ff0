/*
 * refcount(9) (sys/sys/refcount.h, NOTES A4): an atomic count whose 1 -> 0 release tells the
 * caller to free. The kernel does not stop an acquire from zero or a release below zero; the
 * model reports both, since either means a freed object was (or will be) used.
 */
import { syncPoint, violation } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { orderedAfter, orderedBefore } from "./atomic.js";
import { AT_COUNT, AT_WRITE, syncObs } from "./observe.js";
import { image, mem } from "./seam.js";
import { words } from "../shm/words.js";

export function refcount_init(p: Addr, n: number): void {
  words.store(mem, p, n);
  if (syncObs !== null) syncObs.atomic(p, AT_WRITE | AT_COUNT);
}

export function refcount_acquire(p: Addr): void {
  syncPoint();
  const old = words.add(mem, p, 1);
  if (syncObs !== null) {
    syncObs.atomic(p, AT_WRITE | AT_COUNT); // relaxed: taking a reference orders nothing
    syncObs.hold(p, 1);
  }
  if (old <= 0) violation("refcount-acquire-from-zero", `refcount_acquire(${image.describe(p)}) from ${old}`);
}

/** True for the one caller that took the count from 1 to 0 (it frees the object). */
export function refcount_release(p: Addr): boolean {
  syncPoint();
  orderedBefore(p); // the last releaser frees: it must see what every other holder did
  const old = words.add(mem, p, -1);
  orderedAfter(p, true, true);
  if (syncObs !== null) {
    syncObs.hold(p, -1);
    if (old === 1) syncObs.own(p, true); // the last reference: the record is this thread's to free
  }
  if (old <= 0) violation("refcount-underflow", `refcount_release(${image.describe(p)}) below zero (was ${old})`);
  return old === 1;
}
