/*
 * lockstat: per lock class (`proc.p_token`, `pgrp.pg_lock`...), in the terms of Linux's lock_stat
 * and NetBSD's lockstat(8): acquisitions, contentions, wait time and hold time (min / avg / max /
 * total, and log2 histograms). Counters are per cpu (no shared cache line on the hot path) and
 * merged when the run ends. Hold time is sampled on one acquisition in HOLD_SAMPLE and scaled,
 * so an uncontended token stays close to the cost of its CAS.
 *
 * Wait totals are summed over the waiting threads: two threads waiting 1 ms at once count 2 ms,
 * so a class's wait total can exceed the run's length (lock_stat's waittime-total does the same).
 *
 * With sites on (resetLockstat(true): benchmarks, HTML reports), each class also keeps its
 * kernel functions: the one that acquired (sampled, one acquisition in SITE_SAMPLE, scaled) and
 * the one that waited (a class's first CONTENDED_SITES_EXACT contentions, then one in
 * CONTENDED_SITE_SAMPLE, scaled) -- the first caller outside src/sync on the stack.
 */
import { callSites } from "../shm/callsites.js";
import type { Addr } from "../shm/table.js";
import { image, sched } from "./seam.js";

/** Buckets of a histogram: bucket i counts times in [2^i, 2^(i+1)) ns (the last one: and above). */
export const HIST_BUCKETS = 40;

/** One kernel function's share of a lock class. */
export interface LockSite {
  fn: string;
  /** Acquisitions made in this function (sampled and scaled: an estimate). */
  acquisitions: number;
  /** Contended acquisitions that waited in this function, and their wait (exact for a class's first CONTENDED_SITES_EXACT, then sampled and scaled). */
  contended: number;
  waitNs: number;
  waitMaxNs: number;
}

export interface LockStat {
  lock: string;
  acquisitions: number;
  contended: number;
  /** Total wait, summed over threads (see above). */
  waitNs: number;
  /** Total hold, estimated from sampled holds. */
  holdNs: number;
  waitMinNs: number;
  waitMaxNs: number;
  /** Sampled holds: their count, min and max. */
  holdSamples: number;
  holdMinNs: number;
  holdMaxNs: number;
  waitHist: number[];
  holdHist: number[];
  /** Empty unless sites were on; by contentions, then acquisitions. */
  sites: LockSite[];
}

/** One hold in 64 is timed: a timed hold reads the clock twice, and at one in 16 that was an eighth of an uncontended token's get+release. */
const HOLD_SAMPLE = 64;
const SITE_SAMPLE = 256;
/**
 * A contention names its function while its waiter holds the lock (the primitives call
 * lockstat_contended once their CAS won), and reading the stack costs ~8 us: named at every
 * contention, NetBSD's proc_lock on 2 cpus (~7 contentions a fork, holds of ~3 us) was held for
 * the stack walks, which made more contentions (bench's NetBSD 2-cpu rows at 0.3x one cpu). A
 * class's first contentions are each named (a rare one stays exact), later ones one in a sample.
 */
const CONTENDED_SITES_EXACT = 32;
const CONTENDED_SITE_SAMPLE = 16;

interface ClassStat extends Omit<LockStat, "sites"> {
  siteMap: Map<string, LockSite>;
}

const byAddr = new Map<Addr, ClassStat>();
const byClass = new Map<string, ClassStat>();
let siteTick = 0;
let sitesOn = false;
/** False: lockstat switched off (bench measures its cost); nothing is counted. */
let counting = true;
/*
 * What lockstat_acquired reads and writes at every acquisition: elements of a typed array, as a
 * module `let` read in optimized code is a hole check and a type test each (issue 13).
 * SAMPLE_TICK: acquisitions since the last sampled hold; PLAIN: 1 while counting, with no sites
 * and no acquire observer -- lockstat_acquired's common case.
 */
const enum At {
  SAMPLE_TICK,
  PLAIN,
}
const hot = new Int32Array(2);
hot[At.PLAIN] = 1;

/*
 * A direct-mapped cache in front of byAddr, on the path of every acquisition: fork takes a few
 * locks of a few records in turn, so the one entry it replaced mostly missed, and the Map's
 * hashing was much of an acquisition's cost. Indexed by a multiplicative hash of the address;
 * cachedLock[i] is -1 or an address whose class is cachedStat[i]. An entry also counts its
 * lock's acquisitions (cachedCount[i], a typed array: no object touched on the common path)
 * until it is evicted, reaches COUNT_FLUSH, or the counts are read (flushCounts). Int32, and kept
 * small: a Float64Array's element is a heap number wherever the code runs unoptimized, and that
 * made a fifth of a fork's time garbage collection.
 */
function newClass(lock: string): ClassStat {
  return {
    lock, acquisitions: 0, contended: 0, waitNs: 0, holdNs: 0, waitMinNs: Infinity, waitMaxNs: 0, holdSamples: 0, holdMinNs: Infinity, holdMaxNs: 0,
    waitHist: new Array<number>(HIST_BUCKETS).fill(0), holdHist: new Array<number>(HIST_BUCKETS).fill(0), siteMap: new Map(),
  };
}

const CACHE_BITS = 8;
const cachedLock = new Int32Array(1 << CACHE_BITS).fill(-1);
const cachedCount = new Int32Array(1 << CACHE_BITS);
const COUNT_FLUSH = 1 << 20;
/** The class of an entry no lock is in (cachedLock -1): the array stays dense, a fast one. */
const NO_CLASS = newClass("");
const cachedStat: ClassStat[] = new Array<ClassStat>(1 << CACHE_BITS).fill(NO_CLASS);

const cacheIndex = (lock: Addr): number => Math.imul(lock, 0x9e3779b1) >>> (32 - CACHE_BITS);

function statOf(lock: Addr): ClassStat {
  const i = cacheIndex(lock);
  return cachedLock[i] === lock ? cachedStat[i] : statMiss(lock, i);
}

function statMiss(lock: Addr, i: number): ClassStat {
  flushCount(i);
  let s = byAddr.get(lock);
  if (s === undefined) {
    const cls = image.classOf(lock);
    s = byClass.get(cls);
    if (s === undefined) byClass.set(cls, (s = newClass(cls)));
    byAddr.set(lock, s);
  }
  cachedLock[i] = lock;
  cachedStat[i] = s;
  return s;
}

export function histBucket(ns: number): number {
  return ns < 2 ? 0 : Math.min(HIST_BUCKETS - 1, Math.floor(Math.log2(ns)));
}

/**
 * The kernel function on the stack: the first caller outside src/sync and the site wrappers of
 * src/sites (generator resumptions, frames without a file, are skipped). Tokens a thread takes
 * back at switch-in are the scheduler's doing: they are named for the primitive that took them.
 */
function callerFn(): string {
  const frames = callSites(12, callerFn);
  let primitive = "(sync)";
  for (const f of frames) {
    const file = f.getFileName();
    if (!file) continue;
    if (/[/\\]sync[/\\]/.test(file)) primitive = f.getFunctionName() ?? primitive;
    else if (/[/\\]sites[/\\]/.test(file)) continue; // an interlock-site wrapper (src/sites/runtime.ts), not the caller
    else if (/[/\\]sched[/\\]/.test(file)) return `${primitive} (switch-in)`;
    else return f.getFunctionName() ?? `${file.slice(file.lastIndexOf("/") + 1)}:${f.getLineNumber()}`;
  }
  return primitive;
}

function siteOf(s: ClassStat, fn: string): LockSite {
  let site = s.siteMap.get(fn);
  if (site === undefined) s.siteMap.set(fn, (site = { fn, acquisitions: 0, contended: 0, waitNs: 0, waitMaxNs: 0 }));
  return site;
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

/** Told of every acquisition on this cpu (the virtual-time strategy's lock-line costs), or null. */
let acquireObserver: ((lock: Addr) => void) | null = null;

export function setAcquireObserver(fn: ((lock: Addr) => void) | null): void {
  acquireObserver = fn;
  settlePlain();
}

/** hot[At.PLAIN] from what it stands for. */
function settlePlain(): void {
  hot[At.PLAIN] = counting && !sitesOn && acquireObserver === null ? 1 : 0;
}

/**
 * Count an acquisition; returns a hold-stamp handle (> 0) when this one is sampled, else 0.
 * Every lock and token acquisition runs it: the common case (counting, no observer, no sites)
 * is kept short enough for V8 to inline into the primitive; the rest is acquiredNoted's.
 */
export function lockstat_acquired(lock: Addr): number {
  if (hot[At.PLAIN] === 0) return acquiredNoted(lock);
  const i = cacheIndex(lock);
  if (cachedLock[i] !== lock) statMiss(lock, i);
  if (++cachedCount[i] === COUNT_FLUSH) flushCount(i);
  return ++hot[At.SAMPLE_TICK] < HOLD_SAMPLE ? 0 : stampHold();
}

/** Add what cache entry i counted to its class. */
function flushCount(i: number): void {
  cachedStat[i].acquisitions += cachedCount[i];
  cachedCount[i] = 0;
}

/** Add what the cache entries counted to their classes. */
function flushCounts(): void {
  for (let i = 0; i < cachedCount.length; i++) flushCount(i);
}

/** lockstat_acquired with an acquire observer, with sites, or not counting: the same, in that order. */
function acquiredNoted(lock: Addr): number {
  if (acquireObserver !== null) acquireObserver(lock);
  if (!counting) return 0;
  const s = statOf(lock);
  s.acquisitions++;
  if (sitesOn && ++siteTick >= SITE_SAMPLE) {
    siteTick = 0;
    siteOf(s, callerFn()).acquisitions += SITE_SAMPLE;
  }
  return ++hot[At.SAMPLE_TICK] < HOLD_SAMPLE ? 0 : stampHold();
}

/** Start timing a sampled hold: a ring entry for its start, and the handle naming it. */
function stampHold(): number {
  hot[At.SAMPLE_TICK] = 0;
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
  const ns = sched.nanotime() - stamps[slot];
  const s = statOf(lock);
  s.holdNs += ns * HOLD_SAMPLE;
  s.holdSamples++;
  if (ns < s.holdMinNs) s.holdMinNs = ns;
  if (ns > s.holdMaxNs) s.holdMaxNs = ns;
  s.holdHist[histBucket(ns)]++;
}

/** A contended acquisition that waited `ns`. */
export function lockstat_contended(lock: Addr, ns: number): void {
  if (!counting) return;
  const s = statOf(lock);
  s.contended++;
  s.waitNs += ns;
  if (ns < s.waitMinNs) s.waitMinNs = ns;
  if (ns > s.waitMaxNs) s.waitMaxNs = ns;
  s.waitHist[histBucket(ns)]++;
  if (!sitesOn) return;
  const weight = s.contended <= CONTENDED_SITES_EXACT ? 1 : s.contended % CONTENDED_SITE_SAMPLE === 0 ? CONTENDED_SITE_SAMPLE : 0;
  if (weight === 0) return;
  const site = siteOf(s, callerFn());
  site.contended += weight;
  site.waitNs += ns * weight;
  if (ns > site.waitMaxNs) site.waitMaxNs = ns;
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x) : 0);

function sortSites(sites: LockSite[]): LockSite[] {
  return sites.sort((a, b) => b.contended - a.contended || b.acquisitions - a.acquisitions || a.fn.localeCompare(b.fn));
}

export function lockstatSnapshot(): LockStat[] {
  flushCounts();
  return [...byClass.values()].map(({ siteMap, ...s }) => ({
    ...s,
    waitNs: round(s.waitNs), holdNs: round(s.holdNs), waitMinNs: round(s.waitMinNs), waitMaxNs: round(s.waitMaxNs), holdMinNs: round(s.holdMinNs), holdMaxNs: round(s.holdMaxNs),
    waitHist: [...s.waitHist], holdHist: [...s.holdHist],
    sites: sortSites([...siteMap.values()].map((x) => ({ ...x, waitNs: round(x.waitNs), waitMaxNs: round(x.waitMaxNs) }))),
  }));
}

/** Min of two recorded minimums, where 0 with no samples means "none". */
const minOf = (a: number, na: number, b: number, nb: number) => (na === 0 ? b : nb === 0 ? a : Math.min(a, b));

export function mergeLockstat(all: readonly LockStat[][]): LockStat[] {
  const m = new Map<string, LockStat>();
  for (const list of all)
    for (const s of list) {
      const t = m.get(s.lock);
      if (!t) {
        m.set(s.lock, { ...s, waitHist: [...s.waitHist], holdHist: [...s.holdHist], sites: s.sites.map((x) => ({ ...x })) });
        continue;
      }
      t.waitMinNs = minOf(t.waitMinNs, t.contended, s.waitMinNs, s.contended);
      t.holdMinNs = minOf(t.holdMinNs, t.holdSamples, s.holdMinNs, s.holdSamples);
      t.acquisitions += s.acquisitions;
      t.contended += s.contended;
      t.waitNs += s.waitNs;
      t.holdNs += s.holdNs;
      t.holdSamples += s.holdSamples;
      t.waitMaxNs = Math.max(t.waitMaxNs, s.waitMaxNs);
      t.holdMaxNs = Math.max(t.holdMaxNs, s.holdMaxNs);
      for (let i = 0; i < HIST_BUCKETS; i++) {
        t.waitHist[i] += s.waitHist[i];
        t.holdHist[i] += s.holdHist[i];
      }
      for (const x of s.sites) {
        const y = t.sites.find((z) => z.fn === x.fn);
        if (!y) t.sites.push({ ...x });
        else {
          y.acquisitions += x.acquisitions;
          y.contended += x.contended;
          y.waitNs += x.waitNs;
          y.waitMaxNs = Math.max(y.waitMaxNs, x.waitMaxNs);
        }
      }
    }
  for (const s of m.values()) sortSites(s.sites);
  return [...m.values()].sort((a, b) => b.contended - a.contended || b.acquisitions - a.acquisitions);
}

/** Start afresh (a pooled worker runs one machine after another); `sites`: keep kernel functions; `on`: count at all. */
export function resetLockstat(sites = false, on = true): void {
  counting = on;
  cachedLock.fill(-1);
  cachedCount.fill(0);
  cachedStat.fill(NO_CLASS);
  byAddr.clear();
  byClass.clear();
  sitesOn = sites;
  siteTick = 0;
  settlePlain();
}
