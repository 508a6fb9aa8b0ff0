/*
 * Spin locks (sys/spinlock2.h, NOTES A5). Exclusive: counta 0 -> 1 by CAS; a contended cpu spins
 * and cannot run its other threads (it is in a critical section). Nothing may block while a spin
 * lock is held: the scheduler asserts gd_spinlocks == 0 at every switch.
 */
import { syncPoint, violation } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { lockstat_acquired, lockstat_contended, lockstat_released } from "./lockstat.js";
import { syncObs } from "./observe.js";
import { curthread, dropHeld, heldIndex, image, mem, sched } from "./seam.js";
import { witness_order } from "./witness.js";
import { words } from "../shm/words.js";

/** Spin locks held on this cpu (gd_spinlocks). */
export let gd_spinlocks = 0;

export function spin_lock(spin: Addr): void {
  const td = curthread();
  witness_order(spin, td.held);
  syncPoint();
  if (words.compareExchange(mem, spin, 0, 1) !== 0) {
    const t0 = sched.nanotime();
    td.waitfor = spin;
    while (words.compareExchange(mem, spin, 0, 1) !== 0) sched.spinWait();
    td.waitfor = 0;
    lockstat_contended(spin, sched.nanotime() - t0);
  }
  mem[spin + 1] = td.h;
  gd_spinlocks++;
  if (syncObs !== null) syncObs.acquire(td, spin, 0);
  td.held.push({ lock: spin, kind: "spin", shared: false, since: lockstat_acquired(spin) });
}

export function spin_trylock(spin: Addr): boolean {
  syncPoint();
  if (words.compareExchange(mem, spin, 0, 1) !== 0) return false;
  const td = curthread();
  mem[spin + 1] = td.h;
  gd_spinlocks++;
  if (syncObs !== null) syncObs.acquire(td, spin, 0);
  td.held.push({ lock: spin, kind: "spin", shared: false, since: lockstat_acquired(spin) });
  return true;
}

export function spin_unlock(spin: Addr): void {
  const td = curthread();
  const i = heldIndex(td, spin);
  if (i < 0) return violation("spin-unlock-not-held", `spin_unlock(${image.describe(spin)}) by a thread not holding it`);
  lockstat_released(spin, td.held[i].since);
  dropHeld(td, i);
  gd_spinlocks--;
  mem[spin + 1] = 0;
  syncPoint();
  if (syncObs !== null) syncObs.release(td, spin, 0);
  words.store(mem, spin, 0);
}
