/*
 * The baton: controlled interleaving. Exactly one cpu runs between scheduling points -- the one
 * named by rtctl.rt_baton. At every point the holder asks the strategy's chooser which runnable
 * cpu runs next and, if it is another, hands the baton over and waits for it to come back. A cpu
 * spinning on a token or spin lock held elsewhere is not making progress, so it hands the baton
 * to someone else; an idle cpu is not runnable. Time is logical: it moves only when no cpu can
 * run, straight to the earliest sleep deadline. Every decision and every traced event is mixed
 * into a hash, so the same seed and configuration give the same hash, event for event.
 *
 * A hand-off should cost little more than one cache line crossing between cores (the
 * Atomics.wait/notify ping-pong floor in the bench). What every decision moves (step, choices,
 * the hash, the strategy's state) travels with the baton: the holder keeps it in fields and
 * writes it back, into the baton's own cache line, in one burst just before it hands the baton
 * on (or goes idle, or stops). Waiters spin on that line; a burst of stores takes it from them
 * once, where stores spread over a decision would lose it to their reads again and again. Only
 * a waiter that gave up spinning and sleeps on its doorbell costs a futex wake.
 */
import { POINT_SYNC, type PointKind } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import type { Chooser } from "./chooser.js";
import { checkSettledLaws } from "./quiescent.js";
import type { Strategy } from "./strategy.js";

/** Per-cpu words the holder reads to see who can run. */
export interface CpuWords {
  nrun: Addr;
  nextto: Addr;
  /** 1 while the cpu waits for a lock held elsewhere: not chosen until some cpu progresses. */
  spin: Addr;
  inqHead: Addr;
  inqTail: Addr;
  /**
   * The cpu's doorbell: a cpu that waited too long for the baton sleeps on its own doorbell, and
   * the holder handing the baton over rings only the chosen cpu's. A stop rings every doorbell.
   */
  doorbell: Addr;
  /** 1 while the cpu may sleep on its doorbell: a hand-off to a cpu still spinning rings nothing. */
  idle: Addr;
}

export interface BatonWords {
  baton: Addr;
  step: Addr;
  /** Decisions with more than one runnable cpu: the only ones a strategy really takes. */
  choices: Addr;
  hash0: Addr;
  hash1: Addr;
  /** The strategy's state words (Chooser.words of them). */
  chooser: Addr;
  ticks: Addr;
  stop: Addr;
}

/**
 * Spins before a waiting cpu sleeps on its doorbell. A hand-off to a cpu that is still spinning
 * costs a store and a load; one that sleeps costs a futex wake and a reschedule (several µs). A
 * spinner also takes a core from the holder, so spin only when there are cores to spare: the
 * caller picks the count from the number of cpus against the cores (see strategies.ts).
 * 20000 loads (tens of µs): at 2000, a holder slowed by a busy machine (cold caches) often took
 * longer than the spin, its waiter slept, and every hand-off after it paid a futex wake -- the
 * bench's fastest batch was 5-18 µs a hand-off against 150 ns at 20000 (issue 13).
 */
export const SPINS_DEFAULT = 20000;

/** A run's hash as reports show it: both halves, in hex. */
export function hashText(hash0: number, hash1: number): string {
  const h = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
  return h(hash0) + h(hash1);
}

export class Baton implements Strategy {
  readonly name: string;
  /**
   * The decisions this cpu took, for the run's schedule record, as runs of
   * (first step, chosen cpu, count): a holder that keeps choosing itself extends one run.
   */
  readonly decisions: number[] = [];

  /*
   * The holder's copies of rt.step, rt.choices, rt.hash0, rt.hash1 and (in chooserState, the
   * array the chooser works on) rt.chooser. Invariant: valid only while this cpu holds the
   * baton; loaded by take(), written back by publish().
   */
  private step = 0;
  private choices = 0;
  private hash0 = 0;
  private hash1 = 0;
  /**
   * This cpu's own clock, which the chooser places decisions on: scheduling points reached
   * (atPoint calls), and decisions taken since the last one (spinning or idle). Private: only
   * this cpu advances it.
   */
  private points = 0;
  private sincePoint = 0;

  constructor(
    private readonly i32: Int32Array,
    private readonly rt: BatonWords,
    cpus: readonly CpuWords[],
    private readonly me: number,
    private readonly chooser: Chooser,
    private readonly chooserState: Int32Array,
    name: string,
    /** How many threads this cpu could run right now (its queue, plus the one running, if any). */
    private readonly runnableHere: () => number,
    /** Keep at most this many decision runs for the schedule record. */
    private readonly recordLimit = 1_000_000,
    /** Spins before sleeping in waitTurn(). */
    private readonly spins = SPINS_DEFAULT,
  ) {
    this.name = name;
    this.nc = cpus.length;
    this.spinW = Int32Array.from(cpus, (w) => w.spin);
    this.nrunW = Int32Array.from(cpus, (w) => w.nrun);
    this.nexttoW = Int32Array.from(cpus, (w) => w.nextto);
    this.headW = Int32Array.from(cpus, (w) => w.inqHead);
    this.tailW = Int32Array.from(cpus, (w) => w.inqTail);
    this.bellW = Int32Array.from(cpus, (w) => w.doorbell);
    this.idleW = Int32Array.from(cpus, (w) => w.idle);
    this.runnable = new Int32Array(cpus.length);
  }

  // Word addresses per cpu, flattened: the decision path reads them at every point.
  private readonly nc: number;
  private readonly spinW: Int32Array;
  private readonly nrunW: Int32Array;
  private readonly nexttoW: Int32Array;
  private readonly headW: Int32Array;
  private readonly tailW: Int32Array;
  private readonly bellW: Int32Array;
  private readonly idleW: Int32Array;
  /** The runnable set of the current decision: its first nRunnable entries, ascending. */
  private readonly runnable: Int32Array;
  /** What the settled-state laws reported from this cpu in this run (src/sched/quiescent.ts). */
  private readonly settledFindings = new Set<string>();
  private nRunnable = 0;

  first(): number {
    return 1;
  }

  /**
   * A point: decide, and run on only if chosen. Every point is a decision; its kind goes to the
   * chooser, which may weigh it.
   */
  atPoint(kind: PointKind): number {
    // This cpu is making progress: whatever the spinners wait for may have changed.
    const { i32, spinW, nc } = this;
    for (let c = 0; c < nc; c++) if (i32[spinW[c]] !== 0) i32[spinW[c]] = 0;
    this.points++;
    this.sincePoint = 0;
    this.decide(true, false, kind);
    return 1;
  }

  /**
   * Not progressing: let another runnable cpu run. The spinner stays out of the choice until
   * some cpu progresses -- otherwise two spinners could hand the baton to each other forever
   * while the holder, never chosen, never releases.
   */
  spinWait(_addr?: Addr): void {
    this.i32[this.spinW[this.me]] = 1;
    this.decide(false, true, POINT_SYNC);
    this.i32[this.spinW[this.me]] = 0;
  }

  /**
   * Nothing runnable here: hand the baton on; when nobody can run, wait a little and return.
   * (This decision and spinWait's are synchronization points: the cpu is blocked.)
   */
  idle(_doorbell: Addr, _seen: number, ms: number): void {
    if (this.decide(false, false, POINT_SYNC)) return;
    this.publish(); // the orchestrator reads the counters of a quiescent machine
    Atomics.wait(this.i32, this.rt.baton, this.me, Math.min(ms, 2));
  }

  /** A system call's entry on this cpu: when it holds the baton, nothing else runs now. */
  settledInstant(): void {
    if (this.holding()) checkSettledLaws(this.settledFindings, "at a system call's entry");
  }

  /** Wait until this cpu holds the baton (or the machine stops). */
  waitTurn(): void {
    const { i32, me } = this;
    const baton = this.rt.baton;
    const bell = this.bellW[me];
    for (;;) {
      const seen = Atomics.load(i32, bell); // before the last look at the baton (see below)
      let b = Atomics.load(i32, baton);
      for (let spins = this.spins; b !== me && b !== -1 && spins > 0; spins--) b = Atomics.load(i32, baton);
      if (b === me) return this.take();
      if (b === -1 || Atomics.load(i32, this.rt.stop) !== 0) return;
      // Going to sleep. Announce it, then look at the baton once more: handTo stores the baton,
      // then reads idle -- one of the two sees the other's write, so either this look finds the
      // baton or the holder rings the doorbell (and the wait returns at once).
      Atomics.store(i32, this.idleW[me], 1);
      if (Atomics.load(i32, baton) !== me) Atomics.wait(i32, bell, seen, 50);
      Atomics.store(i32, this.idleW[me], 0);
    }
  }

  /** Give the baton to `c`, publishing what travels with it if this cpu `holding`; wake `c` only if it went to sleep. */
  private handTo(c: number, holding: boolean): void {
    const { i32 } = this;
    if (holding) this.writeBack();
    Atomics.store(i32, this.rt.baton, c);
    if (Atomics.load(i32, this.idleW[c]) === 0) return;
    Atomics.add(i32, this.bellW[c], 1);
    Atomics.notify(i32, this.bellW[c], 1);
  }

  /** The baton arrived: load what travels with it. */
  private take(): void {
    const { i32, rt, chooserState } = this;
    this.step = i32[rt.step];
    this.choices = i32[rt.choices];
    this.hash0 = i32[rt.hash0];
    this.hash1 = i32[rt.hash1];
    for (let w = this.chooser.words - 1; w >= 0; w--) chooserState[w] = i32[rt.chooser + w];
  }

  /** Write what travels with the baton back to the image (before the baton leaves this cpu). */
  publish(): void {
    if (this.holding()) this.writeBack(); // else not the holder: its copies are stale
  }

  private writeBack(): void {
    const { i32, rt, chooserState } = this;
    i32[rt.step] = this.step;
    i32[rt.choices] = this.choices;
    i32[rt.hash0] = this.hash0;
    i32[rt.hash1] = this.hash1;
    for (let w = this.chooser.words - 1; w >= 0; w--) i32[rt.chooser + w] = chooserState[w];
  }

  /** The step of the decision that let the current work run (for violation records). */
  currentStep(): number {
    return this.step;
  }

  /** This cpu holds the baton: what it does now is part of the run (false for everyone once the run stopped). */
  holding(): boolean {
    return Atomics.load(this.i32, this.rt.baton) === this.me;
  }

  /** The run's hash so far, as the holder has it (for violation records). */
  currentHash(): string {
    return hashText(this.hash0, this.hash1);
  }

  /** Mix a value into the run's hash (called only by the baton holder). */
  mix(v: number): void {
    if (this.holding()) this.mixHeld(v); // else stopping: what runs now is not the run
  }

  private mixHeld(v: number): void {
    this.hash0 = Math.imul(this.hash0 ^ v, 0x01000193);
    this.hash1 = Math.imul((this.hash1 + v) ^ (this.hash1 >>> 15), 0x85ebca6b);
  }

  /**
   * Collect the cpus that can run now into `runnable`. This cpu counts when `selfCan` (it is
   * mid-thread or has queued threads) or, unless it spins, when work arrived in its inbox or a
   * sleep of its timed out.
   */
  private collectRunnable(selfCan: boolean, spinning: boolean, ticks: number): number {
    const { i32, nc, me, runnable } = this;
    let n = 0;
    for (let c = 0; c < nc; c++) {
      if (c === me) {
        if (selfCan) runnable[n++] = c;
        else if (!spinning && this.hasWork(c, ticks)) runnable[n++] = c;
      } else if (i32[this.spinW[c]] === 0 && (i32[this.nrunW[c]] > 0 || this.hasWork(c, ticks))) runnable[n++] = c;
    }
    return (this.nRunnable = n);
  }

  /** Work arrived in cpu c's inbox, or one of its sleeps timed out. */
  private hasWork(c: number, ticks: number): boolean {
    const i32 = this.i32;
    const to = i32[this.nexttoW[c]];
    return (to !== 0 && to <= ticks) || Atomics.load(i32, this.headW[c]) !== Atomics.load(i32, this.tailW[c]);
  }

  /** Nobody can run: move logical time to the earliest deadline anywhere (false if none). */
  private advanceTime(): boolean {
    const { i32, rt, nc } = this;
    const ticks = i32[rt.ticks];
    let next = 0;
    for (let c = 0; c < nc; c++) {
      const to = i32[this.nexttoW[c]];
      if (to !== 0 && (next === 0 || to < next)) next = to;
    }
    if (next <= ticks) return false;
    i32[rt.ticks] = next;
    this.mix(0x7fff0000 | (next & 0xffff));
    return true;
  }

  /**
   * Take one decision. Returns false when no cpu can run at all (not even after moving time);
   * the caller keeps the baton and looks again later.
   */
  private decide(selfRunnable: boolean, spinning: boolean, kind: PointKind): boolean {
    const { i32, rt, nc, me } = this;
    // The decision's one look at the baton, a plain read: an Atomics call is a builtin call,
    // ~6 ns on every hand-off's critical path (issue 13), and this cpu's own stop it sees at once,
    // another's (the orchestrator's: no run's) a moment later at worst. -1: stopping, everyone
    // runs free; another cpu's: this one runs free after seeing rt_stop before the -1, and
    // neither mixes nor publishes. Otherwise this cpu holds it until it hands it on, unless the
    // decision stops the run itself (below).
    const look = i32[rt.baton];
    if (look === -1) return true;
    let holding = look === me;
    // A spinning cpu still has its thread mid-run: others must see it runnable, only this
    // decision passes it over.
    const here = this.runnableHere();
    const nrun = here + (selfRunnable || spinning ? 1 : 0);
    if (i32[this.nrunW[me]] !== nrun) i32[this.nrunW[me]] = nrun; // an unchanged line stays shared
    const selfCan = !spinning && (selfRunnable || here > 0);
    let n = this.collectRunnable(selfCan, spinning, i32[rt.ticks]);
    if (n === 0 && !spinning) {
      // Only cpus marked as spinning have work: what they waited for may be gone (nobody else
      // runs to clear their marks), so let them try again.
      let any = false;
      for (let c = 0; c < nc; c++) if (c !== me && i32[this.spinW[c]] !== 0) (i32[this.spinW[c]] = 0), (any = true);
      if (any) n = this.collectRunnable(selfCan, spinning, i32[rt.ticks]);
      if (n === 0) {
        checkSettledLaws(this.settledFindings, "every cpu idle or asleep");
        holding = this.holding(); // a law broken here stops the run
      }
    }
    if (n === 0 && this.advanceTime()) n = this.collectRunnable(selfCan, spinning, i32[rt.ticks]);
    let chosen = -1;
    if (n === 0 && spinning) {
      // Only spinners are left: the one that can progress is among them. Take them in turn
      // (not by the strategy's preference, which could pick the same blocked spinner forever).
      for (let k = 1; k <= nc && chosen < 0; k++) {
        const c = (me + k) % nc;
        if (c === me || i32[this.spinW[c]] !== 0) chosen = c;
      }
    }
    if (n === 0 && chosen < 0) return false;
    const step = this.step++;
    const nth = this.sincePoint++;
    this.chooser.atDecision?.(this.runnable, n, me, kind, spinning, i32);
    if (chosen < 0) chosen = n === 1 ? this.runnable[0] : this.chooser.choose(this.runnable, n, me, step, this.choices++, kind, this.points, nth);
    if (holding) this.mixHeld((step << 6) ^ chosen);
    this.record(step, chosen);
    if (chosen !== me) {
      this.handTo(chosen, holding);
      this.waitTurn();
    }
    return true;
  }

  /** Add a decision to the schedule record, extending the last run when it continues it. */
  private record(step: number, chosen: number): void {
    const d = this.decisions;
    const k = d.length - 3;
    if (k >= 0 && d[k + 1] === chosen && d[k] + d[k + 2] === step) d[k + 2]++;
    else if (d.length < 3 * this.recordLimit) d.push(step, chosen, 1);
  }
}
