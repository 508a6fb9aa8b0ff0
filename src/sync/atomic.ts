/*
 * The C atomics (machine/atomic.h) on image addresses. Kernel code uses these exactly where the
 * C uses atomic_*; everywhere else it reads and writes plain fields, so a missing lock can lose
 * an update for real. Each is a scheduling point.
 */
import { syncPoint } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { mem } from "./seam.js";

export function atomic_load_int(p: Addr): number {
  syncPoint();
  return Atomics.load(mem, p);
}

export function atomic_store_int(p: Addr, v: number): void {
  syncPoint();
  Atomics.store(mem, p, v);
}

export function atomic_add_int(p: Addr, v: number): void {
  syncPoint();
  Atomics.add(mem, p, v);
}

/** Returns the value before the add. */
export function atomic_fetchadd_int(p: Addr, v: number): number {
  syncPoint();
  return Atomics.add(mem, p, v);
}

export function atomic_set_int(p: Addr, bits: number): void {
  syncPoint();
  Atomics.or(mem, p, bits);
}

export function atomic_clear_int(p: Addr, bits: number): void {
  syncPoint();
  Atomics.and(mem, p, ~bits);
}

/** atomic_cmpset_int: true when *p was `old` and is now `v`. */
export function atomic_cmpset_int(p: Addr, old: number, v: number): boolean {
  syncPoint();
  return Atomics.compareExchange(mem, p, old, v) === old;
}

export function atomic_swap_int(p: Addr, v: number): number {
  syncPoint();
  return Atomics.exchange(mem, p, v);
}
