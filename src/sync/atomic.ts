/*
 * The C atomics (machine/atomic.h) on image addresses. Kernel code uses these exactly where the
 * C uses atomic_*; everywhere else it reads and writes plain fields, so a missing lock can lose
 * an update for real. Each is a scheduling point.
 *
 * Ordering, for the happens-before detector (observe.ts), as the Linux kernel memory model has
 * it: an atomic that returns what it found (fetchadd, cmpset, swap) is fully ordered -- it
 * publishes before it operates and observes after; one that returns nothing (add, set, clear,
 * a load, a store) is relaxed: a marked access, atomic but ordering nothing.
 */
import { syncPoint } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { AT_ACQUIRE, AT_COUNT, AT_WRITE, HOW_ATOMIC, syncObs } from "./observe.js";
import { curthread, mem } from "./seam.js";
import { words } from "../shm/words.js";

/**
 * A relaxed atomic access is made (a write when `write`): reported before it operates, while the
 * thread still has its right to the word (a decrement may be what lets another cpu free it).
 */
function relaxed(p: Addr, write: boolean): void {
  if (syncObs !== null) syncObs.atomic(p, write ? AT_WRITE : 0);
}

/** A fully ordered atomic is about to operate: what this thread did so far is published at p. */
export function orderedBefore(p: Addr): void {
  if (syncObs !== null) syncObs.release(curthread(), p, HOW_ATOMIC);
}

/** ... and has operated: it observes what was published at p (and wrote the word when `write`; p is a count when `count`, AT_COUNT). */
export function orderedAfter(p: Addr, write: boolean, count = false): void {
  if (syncObs !== null) syncObs.atomic(p, (write ? AT_WRITE | AT_ACQUIRE : AT_ACQUIRE) | (count ? AT_COUNT : 0));
}

export function atomic_load_int(p: Addr): number {
  syncPoint();
  const v = words.load(mem, p);
  relaxed(p, false);
  return v;
}

export function atomic_store_int(p: Addr, v: number): void {
  syncPoint();
  relaxed(p, true);
  words.store(mem, p, v);
}

export function atomic_add_int(p: Addr, v: number): void {
  syncPoint();
  relaxed(p, true);
  words.add(mem, p, v);
}

/** Returns the value before the add. */
export function atomic_fetchadd_int(p: Addr, v: number): number {
  syncPoint();
  orderedBefore(p);
  const old = words.add(mem, p, v);
  orderedAfter(p, true);
  return old;
}

export function atomic_set_int(p: Addr, bits: number): void {
  syncPoint();
  relaxed(p, true);
  words.or(mem, p, bits);
}

export function atomic_clear_int(p: Addr, bits: number): void {
  syncPoint();
  relaxed(p, true);
  words.and(mem, p, ~bits);
}

/** atomic_cmpset_int: true when *p was `old` and is now `v`. */
export function atomic_cmpset_int(p: Addr, old: number, v: number): boolean {
  syncPoint();
  orderedBefore(p);
  const ok = words.compareExchange(mem, p, old, v) === old;
  orderedAfter(p, ok && old !== v); // cmpset(f, f) only tests: it never changes the word
  return ok;
}

export function atomic_swap_int(p: Addr, v: number): number {
  syncPoint();
  orderedBefore(p);
  const old = words.exchange(mem, p, v);
  orderedAfter(p, true);
  return old;
}
