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

/** One-entry cache in front of byAddr: a hot loop on one lock skips the map. */
let lastLock: Addr = -1;
let lastStat: LockStat | undefined;

function statOf(lock: Addr): LockStat {
  if (lock === lastLock) return lastStat!;
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
  lastLock = lock;
  lastStat = s;
  return s;
}

/*
 * Hold-start times of sampled acquisitions live in a ring here; the holder keeps only a small
 * integer naming its ring entry (slot and generation). A time itself (a double) in the holder's
 * record would make V8 box that field, an allocation on every acquisition; the integer stays a
 * Smi. A hold that outlives STAMPS later samples finds its entry reused and is not counted.
 */
const STAMPS = 1024;
const stamps = new Float64Array(STAMPS);
const stampGen = new Int32Array(STAMPS);
let stampNext = 0;
let stampEpoch = 1;

/** Count an acquisition; returns a hold-stamp handle (> 0) when this one is sampled, else 0. */
export function lockstat_acquired(lock: Addr): number {
  statOf(lock).acquisitions++;
  if (++sampleTick < HOLD_SAMPLE) return 0;
  sampleTick = 0;
  const slot = stampNext;
  if ((stampNext = slot + 1) === STAMPS) {
    stampNext = 0;
    stampEpoch = (stampEpoch + 1) & 0x7ffff || 1; // handles stay below 2^30 (a Smi)
  }
  stamps[slot] = sched.nanotime();
  stampGen[slot] = stampEpoch;
  return stampEpoch * STAMPS + slot + 1;
}

export function lockstat_released(lock: Addr, since: number): void {
  if (since <= 0) return;
  const slot = (since - 1) % STAMPS;
  if (stampGen[slot] !== ((since - 1 - slot) / STAMPS)) return; // its entry was reused
  statOf(lock).holdNs += (sched.nanotime() - stamps[slot]) * HOLD_SAMPLE;
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
  lastLock = -1;
  lastStat = undefined;
  byAddr.clear();
  byClass.clear();
}
