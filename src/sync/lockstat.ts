/*
 * lockstat: per lock class (`proc.p_token`, `pgrp.pg_lock`...), acquisitions, contended
 * acquisitions, time spent waiting and time held. Counters are per cpu (no shared cache line on
 * the hot path) and merged when the run ends. Hold time is sampled on one acquisition in
 * HOLD_SAMPLE and scaled, so an uncontended token stays close to the cost of its CAS.
 */
import type { Addr } from "../shm/table.js";
import { image, sched } from "./seam.js";

export interface LockStat {
  lock: string;
  acquisitions: number;
  contended: number;
  waitNs: number;
  holdNs: number;
}

const HOLD_SAMPLE = 16;

const byAddr = new Map<Addr, LockStat>();
const byClass = new Map<string, LockStat>();
let sampleTick = 0;

function statOf(lock: Addr): LockStat {
  let s = byAddr.get(lock);
  if (s === undefined) {
    const cls = image.classOf(lock);
    s = byClass.get(cls);
    if (s === undefined) {
      s = { lock: cls, acquisitions: 0, contended: 0, waitNs: 0, holdNs: 0 };
      byClass.set(cls, s);
    }
    byAddr.set(lock, s);
  }
  return s;
}

/** Count an acquisition; returns the hold-start stamp when this one is sampled, else 0. */
export function lockstat_acquired(lock: Addr): number {
  statOf(lock).acquisitions++;
  if (++sampleTick < HOLD_SAMPLE) return 0;
  sampleTick = 0;
  return sched.nanotime();
}

export function lockstat_released(lock: Addr, since: number): void {
  if (since !== 0) statOf(lock).holdNs += (sched.nanotime() - since) * HOLD_SAMPLE;
}

/** A contended acquisition that waited `ns`. */
export function lockstat_contended(lock: Addr, ns: number): void {
  const s = statOf(lock);
  s.contended++;
  s.waitNs += ns;
}

export function lockstatSnapshot(): LockStat[] {
  return [...byClass.values()].map((s) => ({ ...s, waitNs: Math.round(s.waitNs), holdNs: Math.round(s.holdNs) }));
}

export function mergeLockstat(all: readonly LockStat[][]): LockStat[] {
  const m = new Map<string, LockStat>();
  for (const list of all)
    for (const s of list) {
      const t = m.get(s.lock);
      if (!t) m.set(s.lock, { ...s });
      else {
        t.acquisitions += s.acquisitions;
        t.contended += s.contended;
        t.waitNs += s.waitNs;
        t.holdNs += s.holdNs;
      }
    }
  return [...m.values()].sort((a, b) => b.contended - a.contended || b.acquisitions - a.acquisitions);
}

export function resetLockstat(): void {
  byAddr.clear();
  byClass.clear();
}
