/*
 * What the kernel models' interlock sites call once the build has instrumented them
 * (instrument.ts): one wrapper per src/sync primitive, taking the site's id first, plus the
 * re-check wrappers and the function-entry counter. Each wrapper
 *  - counts the site (per cpu; handed to the orchestrator through registerCollector),
 *  - keeps interlock coverage: was the site reached *concurrently* -- another cpu inside code
 *    guarded by the same object at the same time (see COVER in src/sched/spec.ts),
 *  - and, when the machine's spec names this site's mutant, does the wrong variant; otherwise it
 *    calls the real primitive, with the same arguments, adding no scheduling point and no event
 *    (a clean run's event hash is the same instrumented or not).
 * On the orchestrator's thread (boot, audits) there is no cpu: the wrappers only forward.
 *
 * Regions: a lock acquisition opens a region on the lock's address that its paired release (the
 * same thread's last open region on that address) closes. A region is concurrent when another
 * cpu had one open on the same object at some moment during it: checked when it opens (the
 * object's cpu mask) and when it closes (the object's overlap count moved meanwhile). Tokens
 * dropped at a blocking point do not close the region: that window is the one re-checks are for.
 * Holds and atomics are single operations: concurrent when the last operation on the same word
 * came from another cpu a short while before (WINDOW_STEPS baton steps; WINDOW_US in free mode).
 * In free mode the wall clock is read afresh for that comparison, while the stamp of an operation
 * that compares nothing (this cpu was the word's last user, or it was new) may be the clock of up
 * to STAMP_READS operations before, or of this cpu's last wait's end if it waited since: a
 * clock read costs more than the rest of the operation, and an early stamp can only make a
 * later comparison see the operation as older, by the time of a few operations (microseconds,
 * against a 500 us window).
 *
 * One cpu (solo): no region or operation can overlap another cpu's, so there is no concurrency
 * of that kind to find -- no COVER record is read or written, no clock read -- and without a
 * mutant there is no skipped acquisition to pair either: no region is kept at all. Per machine,
 * at attach; the counts (hits, and the concurrency a re-check or a wakeup shows) are the same.
 */
import { syncPoint } from "../shm/hooks.js";
import { RTCTL } from "../shm/core.js";
import { NULL, type Addr } from "../shm/table.js";
import { Baton } from "../sched/baton.js";
import { Cpu } from "../sched/cpu.js";
import { registerCollector } from "../sched/programs.js";
import { schedstat } from "../sched/schedstat.js";
import { COVER, COVER_SLOTS } from "../sched/spec.js";
import type { Thread } from "../sched/thread.js";
import * as atomic from "../sync/atomic.js";
import * as condvar from "../sync/condvar.js";
import * as kmutex from "../sync/kmutex.js";
import * as lockmgrs from "../sync/lockmgr.js";
import * as holds from "../sync/phold.js";
import * as refcount from "../sync/refcount.js";
import { DONE, finished, mem, type KGen } from "../sync/seam.js";
import * as sleep from "../sync/sleep.js";
import * as spinlock from "../sync/spinlock.js";
import * as token from "../sync/token.js";
import { MAX_FUNCTIONS, MAX_SITES, type Operator } from "./kinds.js";

/** Concurrency window of a single operation, controlled modes: baton steps (a fork is hundreds). */
const WINDOW_STEPS = 2000;
/** ... and free mode: microseconds. */
const WINDOW_US = 500;
/** Free mode: single operations that may stamp with the clock of an earlier one (see above). */
const STAMP_READS = 8;

// Words of a COVER record, from its record's base (set at attach from the table's layout).
let C_KEY = 0; // the object's address; 0 = free slot
let C_MASK = 0; // bit (cpu & 31) set while that cpu has a region open on the object
let C_OVERLAP = 0; // bumped whenever a region opens while another cpu has one open
let C_LAST = 0; // cpu + 1 of the last single operation on the object
let C_STAMP = 0; // ... and when (clock(), or stampClock())
let C_WAKE = 0; // cpu + 1 of the last wakeup that woke a sleeper on the object
let coverStride = 0;
const PROBES = 16;

// ---- per-cpu state (a worker runs one machine after another) -------------------------------

const hits = new Int32Array(MAX_SITES);
const concurrent = new Int32Array(MAX_SITES);
const calls = new Int32Array(MAX_FUNCTIONS);
let machine: Cpu | null = null;
let cpuTag = 0; // cpu + 1
let cpuBit = 0;
let coverBase = -1;
let mutantSite = -1;
let mutantOp: Operator | null = null;
/** Controlled modes: the baton whose steps are the clock (null in free mode: the wall clock). */
let stepClock: Baton | null = null;
/** Free mode: the wall clock's origin against the run's epoch (ms), its last reading (us), stamps made with that reading, and this cpu's waits when it was read. */
let originMs = 0;
let read = 0;
let stampsSince = 0;
let waitsThen = -1;
let windowTicks = WINDOW_STEPS;
/** One cpu (see above): no COVER record is used. */
let solo = false;
/** Regions are kept: false when solo without a mutant (nothing to cover, nothing skipped to pair). */
let keepRegions = true;
/** Regions this cpu has open, per COVER record (by index): the cpu's bit in C_MASK stays set while any is. */
const openHere = new Int32Array(COVER_SLOTS);

registerCollector("sites", collectCounts, resetCounts);

function resetCounts(): void {
  hits.fill(0);
  concurrent.fill(0);
  calls.fill(0);
  openHere.fill(0);
  machine = null;
}

/** The counts, sparse: [site, hits, concurrent, ...] and [function, calls, ...]. */
function collectCounts(): { sites: number[]; functions: number[] } {
  const sites: number[] = [];
  for (let i = 0; i < MAX_SITES; i++) if (hits[i]) sites.push(i, hits[i], concurrent[i]);
  const functions: number[] = [];
  for (let i = 0; i < MAX_FUNCTIONS; i++) if (calls[i]) functions.push(i, calls[i]);
  return { sites, functions };
}

/** True on a cpu (attached to its machine); false on the orchestrator's thread. */
function onCpu(): boolean {
  const c = Cpu.current();
  if (c !== machine) attach(c);
  return c !== null;
}

function attach(c: Cpu | null): void {
  machine = c;
  if (c === null) return;
  cpuTag = c.cpuid + 1;
  cpuBit = 1 << (c.cpuid & 31);
  const cover = c.image.table(COVER);
  const o = cover.layout.offsets;
  [coverBase, coverStride] = [cover.recordBase(0), cover.layout.stride];
  [C_KEY, C_MASK, C_OVERLAP, C_LAST, C_STAMP, C_WAKE] = [o.cv_key, o.cv_mask, o.cv_overlap, o.cv_last, o.cv_stamp, o.cv_wake];
  mutantSite = c.spec.mutant?.site ?? -1;
  mutantOp = (c.spec.mutant?.op as Operator | undefined) ?? null;
  solo = c.spec.cpus === 1;
  keepRegions = !solo || mutantSite >= 0;
  [read, stampsSince, waitsThen] = [0, 0, -1];
  if (c.strategy instanceof Baton) {
    stepClock = c.strategy;
    windowTicks = WINDOW_STEPS;
  } else {
    stepClock = null;
    const rt = c.image.table(RTCTL);
    const at = rt.recordBase(0);
    const epochMs = c.image.i32[at + rt.layout.offsets.rt_epoch_hi] * 2 ** 31 + c.image.i32[at + rt.layout.offsets.rt_epoch_lo];
    // performance.timeOrigin is a getter: read once, not at every operation.
    originMs = performance.timeOrigin - epochMs;
    windowTicks = WINDOW_US;
  }
}

/*
 * The clocks are module functions over module state set by attach, not closures made per
 * machine: a pooled worker attaches machine after machine, and a new closure was a new call
 * target at every inlined single operation, deoptimizing them each run ("wrong call target").
 */
function clock(): number {
  if (stepClock !== null) return stepClock.currentStep();
  stampsSince = 0;
  waitsThen = waitsSoFar();
  return (read = Math.floor((originMs + performance.now()) * 1000) | 0);
}

/** The clock for a stamp that compares nothing: clock itself, or in free mode a recent reading of it. */
function stampClock(): number {
  if (stepClock !== null) return stepClock.currentStep();
  return ++stampsSince < STAMP_READS && waitsSoFar() === waitsThen ? read : clock();
}

const mutated = (site: number, op: Operator): boolean => site === mutantSite && op === mutantOp;

/**
 * The index of an object's COVER record (claimed on first use); -1 when the table is full around
 * it. A key is written once (0 to the address) and never cleared, so a plain load that finds the
 * address is as good as an atomic one, and an object's record never moves during a run.
 */
function coverIndex(addr: Addr): number {
  const i32 = mem;
  let i = Math.imul(addr, 0x9e3779b1) >>> 19;
  for (let n = 0; n < PROBES; n++, i = (i + 1) & (COVER_SLOTS - 1)) {
    const key = coverBase + i * coverStride + C_KEY;
    if (i32[key] === addr) return i;
    const k = Atomics.load(i32, key);
    if (k === addr) return i;
    if (k === 0) {
      const seen = Atomics.compareExchange(i32, key, 0, addr);
      if (seen === 0 || seen === addr) return i;
    }
  }
  return -1;
}

const coverAt = (i: number): number => coverBase + i * coverStride;

/** The base of an object's COVER record, or -1 (see coverIndex). */
function slotOf(addr: Addr): number {
  const i = coverIndex(addr);
  return i < 0 ? -1 : coverAt(i);
}

// ---- per-thread state: open regions, a skipped interlock --------------------------------------

/*
 * A thread's open regions, oldest first, REGION numbers each (no object per lock acquisition):
 *   [R_OBJ]   the object's address;
 *   [R_SITE]  the acquiring site;
 *   [R_SEQ]   the object's C_OVERLAP when the region opened; OVERLAPPED if counted concurrent
 *             then; UNTRACKED: no COVER record (or a hold nested under a skipped one); SKIPPED:
 *             the mutant skipped this acquisition (or hold), and its paired release is skipped too;
 *   [R_COVER] the object's COVER record index, -1 unless R_SEQ is a count or OVERLAPPED.
 */
const REGION = 4;
const R_OBJ = 0;
const R_SITE = 1;
const R_SEQ = 2;
const R_COVER = 3;
const UNTRACKED = -1;
const OVERLAPPED = -2;
const SKIPPED = -3;

class ThreadSites {
  readonly regions: number[] = [];
  /** The last tsleep_interlock: its site and ident, until the sleep that follows. */
  ilkSite = -1;
  ilkIdent: Addr = 0;
  /** skip-interlock: the ident whose next PINTERLOCKED sleep must queue itself late. */
  lateIdent: Addr = 0;
}

function threadSites(): ThreadSites {
  const td = Cpu.curthread() as Thread;
  return (td.sites ??= new ThreadSites()) as ThreadSites;
}

function pushRegion(obj: Addr, site: number, seq: number, cover: number): void {
  threadSites().regions.push(obj, site, seq, cover);
}

function hasSkipped(obj: Addr): boolean {
  const rs = threadSites().regions;
  for (let r = 0; r < rs.length; r += REGION) if (rs[r + R_OBJ] === obj && rs[r + R_SEQ] === SKIPPED) return true;
  return false;
}

/** A lock acquisition at `site`: open a region (or record the skip when the mutant is on). */
function openRegion(site: number, obj: Addr, skipped: boolean): void {
  if (skipped) return pushRegion(obj, site, SKIPPED, -1);
  const i = solo ? -1 : coverIndex(obj);
  if (i < 0) return pushRegion(obj, site, UNTRACKED, -1);
  const at = coverAt(i);
  const mine = openHere[i]++;
  const before = mine === 0 ? Atomics.or(mem, at + C_MASK, cpuBit) : Atomics.load(mem, at + C_MASK);
  if (before & ~cpuBit) {
    concurrent[site]++;
    Atomics.add(mem, at + C_OVERLAP, 1);
    pushRegion(obj, site, OVERLAPPED, i);
  } else pushRegion(obj, site, Atomics.load(mem, at + C_OVERLAP), i);
}

/** The paired release of the thread's last open region on obj (LIFO): true when it must be skipped (its acquisition was). */
function closeRegion(obj: Addr): boolean {
  const rs = threadSites().regions;
  let r = rs.length - REGION;
  while (r >= 0 && rs[r + R_OBJ] !== obj) r -= REGION;
  if (r < 0) return false;
  const site = rs[r + R_SITE];
  const seq = rs[r + R_SEQ];
  const i = rs[r + R_COVER];
  if (r === rs.length - REGION) for (let n = 0; n < REGION; n++) rs.pop(); // not `length = r`: a runtime call
  else rs.splice(r, REGION);
  if (seq === SKIPPED) return true;
  if (i >= 0) {
    const at = coverAt(i);
    if (seq !== OVERLAPPED && Atomics.load(mem, at + C_OVERLAP) !== seq) concurrent[site]++;
    if (openHere[i] > 1) openHere[i]--;
    else {
      openHere[i] = 0;
      Atomics.and(mem, at + C_MASK, ~cpuBit);
    }
  }
  return false;
}

/** This free cpu's waits so far (idle, for a lock, chaos stalls): a stamp read before one is stale. */
const waitsSoFar = (): number => schedstat.idleWaits + schedstat.spinWaits + schedstat.stalls;

/** A single operation on a word: concurrent when another cpu operated on it within the window. */
function touch(site: number, addr: Addr): void {
  if (solo) return;
  const at = slotOf(addr);
  if (at < 0) return;
  const last = mem[at + C_LAST];
  let now: number;
  if (last !== 0 && last !== cpuTag) {
    now = clock();
    if (((now - mem[at + C_STAMP]) | 0) < windowTicks) concurrent[site]++;
  } else now = stampClock();
  // Stores only of what changed: a store takes the line from every other cpu that reads it,
  // even one that writes back the value it holds (a cpu repeating operations on a shared word).
  if (last !== cpuTag) mem[at + C_LAST] = cpuTag;
  if (mem[at + C_STAMP] !== now) mem[at + C_STAMP] = now;
}

/**
 * split-atomic: the word is read and written back as the kernel's own plain `x = x + 1` would:
 * through the field accessors of its record (a scheduling point before each access, and what
 * field-level detectors observe), then the primitive makes its update from the stale value it
 * finds -- load / point / store, with the primitive's own checks and wakeups kept. An update
 * another cpu made in the window is lost, as it would be.
 */
function split<T>(p: Addr, update: () => T): T {
  const at = machine!.image.locate(p);
  const h = at && at.field !== "&" ? at.table.handleAt(at.slot) : NULL;
  if (at && h !== NULL) {
    const view = at.table.view(h) as unknown as Record<string, number>;
    const before = view[at.field];
    view[at.field] = before;
  } else {
    const before = mem[p];
    syncPoint();
    mem[p] = before;
  }
  return update();
}

/** What a skipped blocking acquisition hands back: an iteration already over (lockmgr's returns 0). */
const zero = (): KGen<number> => finished(0);

// ---- locks -----------------------------------------------------------------------------------
// Written out one by one, without closures: these run at every lock operation of a free run.

/** An acquisition at `site`: false when the mutant skips it (the region records the skip). */
function acquires(site: number, obj: Addr): boolean {
  hits[site]++;
  if (!keepRegions) return true;
  const skipped = mutated(site, "skip-lock");
  openRegion(site, obj, skipped);
  return !skipped;
}

/** A release: false when its acquisition was skipped (so is it). */
function releases(site: number, obj: Addr): boolean {
  hits[site]++;
  return !keepRegions || !closeRegion(obj);
}

export function lwkt_gettoken(s: number, tok: Addr): KGen {
  return !onCpu() || acquires(s, tok) ? token.lwkt_gettoken(tok) : DONE;
}
export function lwkt_gettoken_shared(s: number, tok: Addr): KGen {
  return !onCpu() || acquires(s, tok) ? token.lwkt_gettoken_shared(tok) : DONE;
}
export function lwkt_reltoken(s: number, tok: Addr): void {
  if (!onCpu() || releases(s, tok)) token.lwkt_reltoken(tok);
}
export function spin_lock(s: number, spin: Addr): void {
  if (!onCpu() || acquires(s, spin)) spinlock.spin_lock(spin);
}
export function spin_unlock(s: number, spin: Addr): void {
  if (!onCpu() || releases(s, spin)) spinlock.spin_unlock(spin);
}
export function mutex_enter(s: number, mtx: Addr): KGen {
  return !onCpu() || acquires(s, mtx) ? kmutex.mutex_enter(mtx) : DONE;
}
export function mutex_exit(s: number, mtx: Addr): void {
  if (!onCpu() || releases(s, mtx)) kmutex.mutex_exit(mtx);
}

/** lockmgr: an acquisition or a release by its flags; an upgrade or downgrade of a skipped lock is a no-op. */
export function lockmgr(s: number, lk: Addr, flags: number): KGen<number> {
  if (onCpu()) {
    switch (flags & lockmgrs.LK_TYPE_MASK) {
      case lockmgrs.LK_SHARED:
      case lockmgrs.LK_EXCLUSIVE:
        if (!acquires(s, lk)) return zero();
        break;
      case lockmgrs.LK_RELEASE:
        if (!releases(s, lk)) return zero();
        break;
      default:
        hits[s]++;
        if (hasSkipped(lk)) return zero();
    }
  }
  return lockmgrs.lockmgr(lk, flags);
}

// ---- holds, refcounts, atomics ----------------------------------------------------------------

/** Count and cover a single operation on a word; false on the orchestrator's thread. */
function op(site: number, p: Addr): boolean {
  if (!onCpu()) return false;
  hits[site]++;
  touch(site, p);
  return true;
}

/**
 * A hold (PHOLD, LWPHOLD, refcount_acquire) to take for real: false when skip-hold skips it.
 * A skipped PHOLD or LWPHOLD is a path's hold, given back by the same path: its paired release is
 * skipped too (`paired`), so that the kill is the missing protection, not the count's underflow.
 * A refcount_acquire takes the reference an object keeps (a child's vmspace, sigacts, limits, a
 * group's or credential's holder), given back when that object goes, by whichever thread that
 * is: its release is made, and the count is one short -- the C that forgot the acquire. Paired
 * with the same thread's next release of the word, vm_fork's skipped reference for a vfork child
 * met the parent's release of it when reaping the child, and the count balanced (FOLLOWUPS,
 * detect s8).
 */
function takesHold(site: number, w: Addr, paired: boolean): boolean {
  if (!op(site, w)) return true;
  if (mutated(site, "skip-hold")) {
    if (paired) pushRegion(w, site, SKIPPED, -1);
    return false;
  }
  // Nested under a skipped hold of the same word: remember it, so that releases pair LIFO.
  if (keepRegions && hasSkipped(w)) pushRegion(w, site, UNTRACKED, -1);
  return true;
}

/** A release of a hold to make for real: false when it pairs with a skipped hold. */
function dropsHold(site: number, w: Addr): boolean {
  return !op(site, w) || !keepRegions || threadSites().regions.length === 0 || !closeRegion(w);
}

const splits = (site: number): boolean => mutated(site, "split-atomic");

export function PHOLD(s: number, w: Addr): void {
  if (takesHold(s, w, true)) splits(s) ? split(w, () => holds.PHOLD(w)) : holds.PHOLD(w);
}
export function LWPHOLD(s: number, w: Addr): void {
  if (takesHold(s, w, true)) splits(s) ? split(w, () => holds.LWPHOLD(w)) : holds.LWPHOLD(w);
}
export function refcount_acquire(s: number, p: Addr): void {
  if (takesHold(s, p, false)) splits(s) ? split(p, () => refcount.refcount_acquire(p)) : refcount.refcount_acquire(p);
}
export function PRELE(s: number, w: Addr): void {
  if (dropsHold(s, w)) splits(s) ? split(w, () => holds.PRELE(w)) : holds.PRELE(w);
}
export function LWPRELE(s: number, w: Addr): void {
  if (dropsHold(s, w)) splits(s) ? split(w, () => holds.LWPRELE(w)) : holds.LWPRELE(w);
}
/** A skipped release of a reference is not the last one: nobody frees. */
export function refcount_release(s: number, p: Addr): boolean {
  if (!dropsHold(s, p)) return false;
  return splits(s) ? split(p, () => refcount.refcount_release(p)) : refcount.refcount_release(p);
}
export function PHOLDZOMB(s: number, w: Addr): KGen<number> {
  op(s, w);
  return holds.PHOLDZOMB(w);
}
export function PRELEZOMB(s: number, w: Addr): void {
  op(s, w);
  holds.PRELEZOMB(w);
}

/** PSTALL: skip-wait does not wait for the holders; concurrent when there were holders to wait for. */
export function PSTALL(s: number, w: Addr, wmesg: string, n: number): KGen {
  if (onCpu()) {
    hits[s]++;
    if ((mem[w] & holds.PLOCK_MASK) > n) concurrent[s]++; // a plain load: coverage, not the stall's own (an Atomics call costs tens of these)
    if (mutated(s, "skip-wait")) return DONE;
  }
  return holds.PSTALL(w, wmesg, n);
}

export function atomic_add_int(s: number, p: Addr, v: number): void {
  op(s, p) && splits(s) ? split(p, () => atomic.atomic_add_int(p, v)) : atomic.atomic_add_int(p, v);
}
export function atomic_fetchadd_int(s: number, p: Addr, v: number): number {
  return op(s, p) && splits(s) ? split(p, () => atomic.atomic_fetchadd_int(p, v)) : atomic.atomic_fetchadd_int(p, v);
}
export function atomic_set_int(s: number, p: Addr, bits: number): void {
  op(s, p) && splits(s) ? split(p, () => atomic.atomic_set_int(p, bits)) : atomic.atomic_set_int(p, bits);
}
export function atomic_clear_int(s: number, p: Addr, bits: number): void {
  op(s, p) && splits(s) ? split(p, () => atomic.atomic_clear_int(p, bits)) : atomic.atomic_clear_int(p, bits);
}
export function atomic_cmpset_int(s: number, p: Addr, old: number, v: number): boolean {
  return op(s, p) && splits(s) ? split(p, () => atomic.atomic_cmpset_int(p, old, v)) : atomic.atomic_cmpset_int(p, old, v);
}
export function atomic_swap_int(s: number, p: Addr, v: number): number {
  return op(s, p) && splits(s) ? split(p, () => atomic.atomic_swap_int(p, v)) : atomic.atomic_swap_int(p, v);
}

// ---- sleeps and wakeups -----------------------------------------------------------------------

export function tsleep_interlock(s: number, ident: Addr, flags: number): void {
  if (onCpu()) {
    hits[s]++;
    const st = threadSites();
    st.ilkSite = s;
    st.ilkIdent = ident;
    if (mutated(s, "skip-interlock")) {
      st.lateIdent = ident;
      return;
    }
  }
  sleep.tsleep_interlock(ident, flags);
}

/**
 * tsleep: under skip-interlock, the sleep that the skipped interlock was for queues itself late
 * (PINTERLOCKED dropped). The interlock before it was reached concurrently when this sleep ended
 * by another cpu's wakeup -- before it began (the window the interlock closes) or during it.
 */
export function tsleep(s: number, ident: Addr, flags: number, wmesg: string, timo: number): KGen<number> {
  if (!onCpu()) return sleep.tsleep(ident, flags, wmesg, timo);
  hits[s]++;
  const st = threadSites();
  if (st.lateIdent === ident) {
    st.lateIdent = 0;
    flags &= ~sleep.PINTERLOCKED;
  }
  if (solo || st.ilkIdent !== ident || st.ilkSite < 0) return sleep.tsleep(ident, flags, wmesg, timo);
  const ilk = st.ilkSite;
  st.ilkSite = -1;
  return observedSleep(ilk, ident, sleep.tsleep(ident, flags, wmesg, timo));
}

function* observedSleep(ilk: number, ident: Addr, sleeping: KGen<number>): KGen<number> {
  const r = yield* sleeping;
  const at = r === 0 ? slotOf(ident) : -1;
  if (at >= 0 && mem[at + C_WAKE] !== 0 && mem[at + C_WAKE] !== cpuTag) concurrent[ilk]++;
  return r;
}

/** A wakeup to issue: false when drop-wakeup drops it. Its waker is noted for the sleepers' interlocks. */
function wakes(site: number, ident: Addr): boolean {
  if (!onCpu()) return true;
  hits[site]++;
  if (mutated(site, "drop-wakeup")) return false;
  if (solo) return true;
  const at = slotOf(ident);
  if (at >= 0) mem[at + C_WAKE] = cpuTag;
  return true;
}

/** After a wakeup: concurrent when it woke a sleeper. */
function woke(site: number, n: number): number {
  if (n > 0 && machine !== null) concurrent[site]++;
  return n;
}

export function wakeup(s: number, ident: Addr): number {
  return wakes(s, ident) ? woke(s, sleep.wakeup(ident)) : 0;
}
export function wakeup_one(s: number, ident: Addr): number {
  return wakes(s, ident) ? woke(s, sleep.wakeup_one(ident)) : 0;
}
export function cv_broadcast(s: number, cv: Addr): number {
  return wakes(s, cv) ? woke(s, condvar.cv_broadcast(cv)) : 0;
}
export function cv_signal(s: number, cv: Addr): number {
  return wakes(s, cv) ? woke(s, condvar.cv_signal(cv)) : 0;
}

// ---- re-checks --------------------------------------------------------------------------------

/** `if (changed) retry`: concurrent when it fired; skip-recheck reads "nothing changed". */
export function recheck<T>(s: number, changed: T): T | false {
  if (!onCpu()) return changed;
  hits[s]++;
  if (changed) concurrent[s]++;
  return mutated(s, "skip-recheck") ? false : changed;
}

/** `if (still as before) act`: concurrent when the state had moved; skip-recheck reads "still as before". */
export function revalidate<T>(s: number, still: T): T | true {
  if (!onCpu()) return still;
  hits[s]++;
  if (!still) concurrent[s]++;
  return mutated(s, "skip-recheck") ? true : still;
}

/**
 * A sleep loop's predicate, tested for the n-th time: concurrent when it still held after a
 * wakeup (the re-test kept the thread asleep); skip-recheck leaves after the first sleep.
 */
export function retest<T>(s: number, n: number, still: T): T | false {
  if (!onCpu()) return still;
  hits[s]++;
  if (n > 0 && still) concurrent[s]++;
  return n > 0 && mutated(s, "skip-recheck") ? false : still;
}

/** Entry of a kernel function. */
export function fn(id: number): void {
  calls[id]++;
}
