/*
 * virtual: deterministic virtual time on the controlled baton, to scale past the host's cores.
 *
 * Each simulated cpu has a clock, advanced by a cost model of what it executes between two
 * scheduling points: the work between points (a field access, a synchronization operation, a
 * sleep or wakeup: per kind of point); a lock whose cache line another cpu wrote last (a line
 * transfer); the wake-up of a thread on another cpu (the IPI: its sender pays for sending, an
 * idle receiver starts only once it arrives -- its doorbell's line, or after POLL_NS of idling
 * a futex wake). Waiting costs what it costs: a cpu spinning on a lock held elsewhere pays a
 * line transfer per look (so a bounded spin, a NetBSD mutex's, ends in about the real time and
 * sleeps), and a cpu idle or spinning is not runnable; when it can run again its clock has
 * followed the cpu that let it (the releaser's or the waker's clock). The baton always runs the
 * runnable cpu with the earliest clock -- give or take QUANTUM_NS, so that the holder keeps the
 * baton for a few points rather than handing it over at every one (the clocks may drift apart
 * by that much; the same seed and model give the same run). Throughput is work per virtual
 * second, counted in system calls over the run's second half (the first builds the process tree:
 * init starts its workers one fork after another); the run drains once every runnable cpu's
 * clock is past the run's length.
 *
 * The costs are calibrated from this runtime's own measured costs (src/bench/virtual.ts): what
 * the model's code costs between points on one real cpu, what a line transfer and a futex
 * wake-up between two worker threads cost. The model is a discrete-event approximation: it charges the
 * average cost of a kind of point, and line transfers only for lock words.
 *
 * The clocks and the lines' last owners live in the image (the VTIME record), read and written
 * only by the baton holder: the baton orders every access, so the run is a function of its seed,
 * its configuration and its cost model.
 */
import { defineStruct } from "../shm/struct.js";
import type { Image } from "../shm/image.js";
import { POINT_FIELD, POINT_SLEEP, POINT_SYNC, type PointKind } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { setAcquireObserver } from "../sync/lockstat.js";
import type { Chooser } from "./chooser.js";
import type { MachineSpec } from "./spec.js";
import { IDLE_POLL_US } from "./free.js";
import { schedstat } from "./schedstat.js";

/** What each thing a cpu executes costs, in nanoseconds of virtual time. */
export interface CostModel {
  /** The work from one scheduling point to the next, by the kind of the point. */
  field: number;
  sync: number;
  sleep: number;
  /** A lock whose cache line another cpu wrote last. */
  line: number;
  /** Sending a wake-up to another cpu, and its arrival there while that cpu polls. */
  ipiSend: number;
  ipiArrive: number;
  /** The arrival of a wake-up at a cpu that idled past its poll and sleeps (a futex wake). */
  wakeSleeping: number;
  /** The host taking each cpu off its core now and then; absent: the cpus never leave their cores. */
  offCore?: OffCore;
}

/**
 * A host with as many cores as cpus still runs other threads on them (the orchestrator, V8's
 * compiler and GC): each cpu is off its core for `share` of the time, in slices of `sliceNs`,
 * the cpus' slices staggered (one core is taken at a time). A lock holder taken off its core
 * keeps its lock for the slice: what makes a 2-core host's contended runs slower than two cpus
 * that merely run at `1 - share` of the speed.
 */
export interface OffCore {
  /** 0 <= share < 1. */
  share: number;
  sliceNs: number;
}

/** The baton stays with the holder while its clock is within this much of the earliest other. */
export const QUANTUM_NS = 2000;
/** An idle cpu polls its doorbell this long before it sleeps on it (free.ts, with a core per cpu). */
export const POLL_NS = IDLE_POLL_US * 1000;
/** Lock lines tracked (by address hash; a collision only costs or saves one transfer). */
const LINES = 4096;
const MAX_CPUS = 64;

/**
 * The virtual-time record. Clocks are float64 nanoseconds, in vt_clock (one spare pair of words
 * aligns them to 8 bytes). vt_waiting[c]: 1 when cpu c could not run at the last decision.
 * vt_line[h]: 1 + the cpu that last took a lock hashing to h, 0 if none. vt_points: decisions
 * by kind of point (field, sync, sleep).
 */
export const VTIME = defineStruct("vtime", {
  vt_clock: 2 * MAX_CPUS + 2,
  vt_waiting: MAX_CPUS,
  vt_line: LINES,
  vt_points: 3,
  vt_ipis: 1,
  vt_transfers: 1,
  vt_ops_half: 1, // system calls completed when every runnable clock passed half the length (-1: not yet)
  vt_ops_end: 1, // ... and the whole length
});

/** The VTIME record's words, as the chooser and the orchestrator see them. */
export class VirtualClocks {
  readonly clock: Float64Array;
  readonly waiting: Int32Array;
  readonly line: Int32Array;
  /** vt_points (3), vt_ipis, vt_transfers, vt_ops_half, vt_ops_end. */
  readonly counters: Int32Array;

  constructor(img: Image, cpus: number) {
    const t = img.table(VTIME);
    const o = t.layout.offsets;
    const base = t.recordBase(0);
    const at = (field: string) => (base + o[field]) * 4;
    const clockByte = at("vt_clock");
    this.clock = new Float64Array(img.sab, clockByte + (clockByte % 8), cpus);
    this.waiting = new Int32Array(img.sab, at("vt_waiting"), cpus);
    this.line = new Int32Array(img.sab, at("vt_line"), LINES);
    this.counters = new Int32Array(img.sab, at("vt_points"), 7);
  }

  /** Virtual time reached: the latest clock. */
  now(): number {
    let t = 0;
    for (const c of this.clock) if (c > t) t = c;
    return t;
  }
}

/**
 * In a virtual run, a cpu's time is its clock: lockstat's waits and holds are then virtual
 * nanoseconds, as the throughput is. The cpus' clocks (indexed by cpu id), or null for any
 * other strategy (wall time).
 */
export function virtualNanoclocks(spec: MachineSpec, img: Image): Float64Array | null {
  return spec.strategy.name === "virtual" ? new VirtualClocks(img, spec.cpus).clock : null;
}

export interface VirtualSummary {
  /** The run's virtual length (its drain point) and each cpu's clock at the end, in seconds. */
  seconds: number;
  clocks: number[];
  /** Decisions by kind of point, wake-ups sent across cpus, lock-line transfers. */
  points: { field: number; sync: number; sleep: number };
  ipis: number;
  transfers: number;
  /** System calls completed over the run's second half, and per virtual second there. */
  windowSyscalls: number;
  syscallsPerSecond: number;
}

export function virtualSummary(v: VirtualClocks, seconds: number): VirtualSummary {
  const n = v.counters;
  const windowSyscalls = n[5] >= 0 && n[6] >= n[5] ? n[6] - n[5] : 0;
  return { seconds, clocks: Array.from(v.clock, (c) => c / 1e9), points: { field: n[0], sync: n[1], sleep: n[2] }, ipis: n[3], transfers: n[4], windowSyscalls, syscallsPerSecond: windowSyscalls / (seconds / 2) };
}

export class VirtualChooser implements Chooser {
  /** Nothing travels with the baton: the state is the VTIME record itself. */
  readonly words = 0;
  private readonly v: VirtualClocks;
  private readonly endNs: number;
  private readonly kindCost: Float64Array;
  /** schedstat.readyRemote as of the last decision on this cpu. */
  private remoteSeen = 0;
  /** Costs charged to this cpu since its last decision (lock-line transfers). */
  private pending = 0;
  /** OffCore's period (a slice off and the time on between two), 0 when the cpus never leave their cores. */
  private readonly period: number;

  constructor(
    img: Image,
    private readonly cpus: number,
    private readonly cost: CostModel,
    seconds: number,
    /** rtctl.rt_drain: set once the run's virtual length is reached. */
    private readonly drainWord: Addr,
    /** Each cpu's gd_ops (system calls completed): the throughput window's counts. */
    private readonly opsWords: readonly Addr[],
    /** This worker's cpu, -1 on the orchestrator. */
    private readonly me: number,
  ) {
    this.v = new VirtualClocks(img, cpus);
    this.endNs = seconds * 1e9;
    this.kindCost = new Float64Array(3);
    this.kindCost[POINT_FIELD] = cost.field;
    this.kindCost[POINT_SYNC] = cost.sync;
    this.kindCost[POINT_SLEEP] = cost.sleep;
    if (me >= 0) setAcquireObserver((lock) => this.acquired(lock));
    this.remoteSeen = schedstat.readyRemote;
    this.period = cost.offCore && cost.offCore.share > 0 ? cost.offCore.sliceNs / cost.offCore.share : 0;
  }

  /**
   * When cpu c, from time t, has done the work that ends at `done` on a cpu that never leaves
   * its core (the caller's sum, so that a model without offCore gives the very same clocks):
   * each period ends with its slice off the core (cpu c's periods start c/cpus of a period after
   * cpu 0's). A cpu let go while off its core (no work) runs when the slice ends.
   */
  private onCore(c: number, t: number, done: number): number {
    const period = this.period;
    if (period === 0) return done;
    let work = done - t;
    const on = period - this.cost.offCore!.sliceNs;
    const phase = t - (c * period) / this.cpus;
    let pos = phase - Math.floor(phase / period) * period;
    if (pos >= on) {
      t += period - pos;
      pos = 0;
    }
    while (work > on - pos) {
      work -= on - pos;
      t += period - pos;
      pos = 0;
    }
    return t + work;
  }

  initState(): void {
    this.v.clock.fill(0);
    this.v.waiting.fill(0);
    this.v.line.fill(0);
    this.v.counters.fill(0);
    this.v.counters[5] = this.v.counters[6] = -1;
  }

  private opsNow(i32: Int32Array): number {
    let n = 0;
    for (const w of this.opsWords) n += Atomics.load(i32, w);
    return n;
  }

  /** lockstat saw this cpu take a lock: a transfer if another cpu took its line last. */
  private acquired(lock: Addr): void {
    const h = Math.imul(lock, 0x9e3779b1) >>> 20; // 12 bits: LINES
    const line = this.v.line;
    if (line[h] === this.me + 1) return;
    if (line[h] !== 0) {
      this.pending += this.cost.line;
      this.v.counters[4]++;
    }
    line[h] = this.me + 1;
  }

  /**
   * Every decision, before the choice: charge the segment that just ran to this cpu, bring
   * the clocks of cpus that were waiting and can run now up to the time they were let go, and
   * end the run when its length is reached.
   */
  atDecision(runnable: Int32Array, n: number, me: number, kind: PointKind, spinning: boolean, i32: Int32Array): void {
    const { clock, waiting, counters } = this.v;
    const sent = schedstat.readyRemote - this.remoteSeen;
    this.remoteSeen = schedstat.readyRemote;
    counters[kind]++;
    counters[3] += sent;
    let t = this.onCore(me, clock[me], clock[me] + this.kindCost[kind] + this.pending + sent * this.cost.ipiSend);
    this.pending = 0;
    clock[me] = t;
    let earliest = Infinity;
    for (let i = 0, c = 0; c < this.cpus; c++) {
      const can = i < n && runnable[i] === c;
      if (can) i++;
      if (c === me) {
        waiting[c] = can ? 0 : 1;
        continue;
      }
      if (!can) {
        waiting[c] = 1;
        continue;
      }
      if (waiting[c]) {
        waiting[c] = 0;
        const at = t + this.letGo(sent > 0, t - clock[c]);
        if (clock[c] < at) clock[c] = this.onCore(c, at, at);
      }
      if (clock[c] < earliest) earliest = clock[c];
    }
    // A spinner looks at the lock again: a read of the line its holder owns.
    if (spinning) clock[me] = t = this.onCore(me, t, t + this.cost.line);
    if (earliest === Infinity) earliest = t;
    const reached = Math.min(earliest, t);
    if (counters[5] < 0 && reached >= this.endNs / 2) counters[5] = this.opsNow(i32);
    if (counters[6] < 0 && reached >= this.endNs) {
      counters[6] = this.opsNow(i32);
      Atomics.store(i32, this.drainWord, Math.max(1, counters[6])); // draining, since that many calls (rtctl.rt_drain)
    }
  }

  /**
   * How long after this cpu's segment a waiting cpu it let go runs, having waited `waited`: a
   * released lock is seen at once (its line moves), a wake-up arrives after its IPI -- and
   * after a futex wake if the receiver idled past its poll and sleeps.
   */
  private letGo(woken: boolean, waited: number): number {
    if (!woken) return this.cost.line;
    return waited > POLL_NS ? this.cost.wakeSleeping : this.cost.ipiArrive;
  }

  /** The runnable cpu with the earliest clock; the holder keeps running within QUANTUM_NS of it. */
  choose(runnable: Int32Array, n: number, current: number): number {
    const clock = this.v.clock;
    let best = runnable[0];
    let mine = -1;
    for (let i = 0; i < n; i++) {
      const c = runnable[i];
      if (c === current) mine = c;
      if (clock[c] < clock[best]) best = c;
    }
    return mine >= 0 && clock[mine] <= clock[best] + QUANTUM_NS ? mine : best;
  }
}
