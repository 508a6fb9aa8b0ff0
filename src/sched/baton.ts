/*
 * The baton: controlled interleaving. Exactly one cpu runs between scheduling points -- the one
 * named by rtctl.rt_baton. At every point the holder asks the strategy's chooser which runnable
 * cpu runs next and, if it is another, hands the baton over and waits for it to come back. A cpu
 * spinning on a token or spin lock held elsewhere is not making progress, so it hands the baton
 * to someone else; an idle cpu is not runnable. Time is logical: it moves only when no cpu can
 * run, straight to the earliest sleep deadline. Every decision and every traced event is mixed
 * into a hash, so the same seed and configuration give the same hash, event for event.
 */
import type { Addr } from "../shm/table.js";
import type { Chooser } from "./chooser.js";
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
   * The cpu's doorbell: a cpu waiting for the baton sleeps on its own doorbell, and the holder
   * handing the baton over rings only the chosen cpu's -- one futex wake per hand-off, instead of
   * waking every waiter on the shared baton word. A stop rings every doorbell.
   */
  doorbell: Addr;
}

export interface BatonWords {
  baton: Addr;
  step: Addr;
  /** Decisions with more than one runnable cpu: the only ones a strategy really takes. */
  choices: Addr;
  hash0: Addr;
  hash1: Addr;
  ticks: Addr;
  stop: Addr;
}

/**
 * Spins before a waiting cpu sleeps on its doorbell. A hand-off to a cpu that is still spinning
 * costs a store and a load; one that sleeps costs a futex wake and a reschedule (several µs). A
 * spinner also takes a core from the holder, so spin only when there are cores to spare: the
 * caller picks the count from the number of cpus against the cores (see strategies.ts).
 */
export const SPINS_DEFAULT = 2000;

export class Baton implements Strategy {
  readonly name: string;
  /** (step, chosen cpu) of the decisions this cpu took, for the run's schedule record. */
  readonly decisions: number[] = [];

  constructor(
    private readonly i32: Int32Array,
    private readonly rt: BatonWords,
    private readonly cpus: readonly CpuWords[],
    private readonly me: number,
    private readonly chooser: Chooser,
    name: string,
    /** How many threads this cpu could run right now (its queue, plus the one running, if any). */
    private readonly runnableHere: () => number,
    /** Keep at most this many decisions for the schedule record. */
    private readonly recordLimit = 2_000_000,
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
    this.runnable = new Array<number>(cpus.length).fill(0);
    this.runnable.length = 0;
  }

  // Word addresses per cpu, flattened (the decision path reads them at every point).
  private readonly nc: number;
  private readonly spinW: Int32Array;
  private readonly nrunW: Int32Array;
  private readonly nexttoW: Int32Array;
  private readonly headW: Int32Array;
  private readonly tailW: Int32Array;
  private readonly bellW: Int32Array;
  /** The runnable set of the current decision, reused from one decision to the next. */
  private readonly runnable: number[];

  first(): number {
    return 1;
  }

  /** A point: decide, and run on only if chosen. Every point is a decision. */
  atPoint(): number {
    // This cpu is making progress: whatever the spinners wait for may have changed.
    const { i32, spinW, nc } = this;
    for (let c = 0; c < nc; c++) if (i32[spinW[c]]) i32[spinW[c]] = 0;
    this.decide(true);
    return 1;
  }

  /**
   * Not progressing: let another runnable cpu run. The spinner stays out of the choice until
   * some cpu progresses -- otherwise two spinners could hand the baton to each other forever
   * while the holder, never chosen, never releases.
   */
  spinWait(_addr?: Addr): void {
    this.i32[this.spinW[this.me]] = 1;
    this.decide(false, true);
    this.i32[this.spinW[this.me]] = 0;
  }

  /** Nothing runnable here: hand the baton on; when nobody can run, wait a little and return. */
  idle(_doorbell: Addr, _seen: number, ms: number): void {
    if (!this.decide(false)) Atomics.wait(this.i32, this.rt.baton, this.me, Math.min(ms, 2));
  }

  /** Wait until this cpu holds the baton (or the machine stops). */
  waitTurn(): void {
    const { i32, me } = this;
    const baton = this.rt.baton;
    const bell = this.bellW[me];
    for (let spins = this.spins; spins > 0; spins--) {
      const b = Atomics.load(i32, baton);
      if (b === me || b === -1) return;
    }
    for (;;) {
      // Read the doorbell before the baton: a hand-off stores the baton and then rings, so a
      // ring between the two reads makes the wait return at once (no lost hand-off).
      const seen = Atomics.load(i32, bell);
      const b = Atomics.load(i32, baton);
      if (b === me || b === -1) return;
      if (Atomics.load(i32, this.rt.stop)) return;
      Atomics.wait(i32, bell, seen, 50);
    }
  }

  /** Give the baton to `c` and wake it (it sleeps on its doorbell, or spins on the baton). */
  private handTo(c: number): void {
    const { i32 } = this;
    Atomics.store(i32, this.rt.baton, c);
    Atomics.add(i32, this.bellW[c], 1);
    Atomics.notify(i32, this.bellW[c], 1);
  }

  /** Mix a value into the run's hash (called only by the baton holder). */
  mix(v: number): void {
    const { i32, rt } = this;
    if (Atomics.load(i32, rt.baton) !== this.me) return; // stopping: what runs now is not the run
    i32[rt.hash0] = Math.imul(i32[rt.hash0] ^ v, 0x01000193);
    i32[rt.hash1] = Math.imul((i32[rt.hash1] + v) ^ (i32[rt.hash1] >>> 15), 0x85ebca6b);
  }

  /**
   * The cpus that can run now. This cpu counts when `selfCan` (it is mid-thread or has queued
   * threads) or, unless it spins, when work arrived in its inbox or a sleep of its timed out.
   */
  private runnableCpus(selfCan: boolean, spinning: boolean, ticks: number): number[] {
    const { i32, nc } = this;
    const out = this.runnable;
    out.length = 0;
    for (let c = 0; c < nc; c++) {
      const me = c === this.me;
      if (me ? spinning && !selfCan : i32[this.spinW[c]]) continue;
      if (me ? selfCan : i32[this.nrunW[c]] > 0) {
        out.push(c);
        continue;
      }
      const to = i32[this.nexttoW[c]];
      if ((to !== 0 && to <= ticks) || Atomics.load(i32, this.headW[c]) !== Atomics.load(i32, this.tailW[c])) out.push(c);
    }
    return out;
  }

  /**
   * Take one decision. Returns false when no cpu can run at all (not even after moving time);
   * the caller keeps the baton and looks again later.
   */
  private decide(selfRunnable: boolean, spinning = false): boolean {
    const { i32, rt } = this;
    if (Atomics.load(i32, rt.baton) === -1) return true; // stopping: everyone runs free
    // A spinning cpu still has its thread mid-run: others must see it runnable, only this
    // decision passes it over.
    const here = this.runnableHere();
    i32[this.nrunW[this.me]] = here + (selfRunnable || spinning ? 1 : 0);
    let ticks = i32[rt.ticks];
    const selfCan = !spinning && (selfRunnable || here > 0);
    let runnable = this.runnableCpus(selfCan, spinning, ticks);
    if (runnable.length === 0 && !spinning) {
      // Only cpus marked as spinning have work: what they waited for may be gone (nobody else
      // runs to clear their marks), so let them try again.
      let any = false;
      for (let c = 0; c < this.cpus.length; c++) if (c !== this.me && i32[this.cpus[c].spin]) (i32[this.cpus[c].spin] = 0), (any = true);
      if (any) runnable = this.runnableCpus(selfCan, spinning, ticks);
    }
    if (runnable.length === 0) {
      // Nobody can run: move logical time to the earliest deadline anywhere.
      let next = 0;
      for (const w of this.cpus) {
        const to = i32[w.nextto];
        if (to !== 0 && (next === 0 || to < next)) next = to;
      }
      if (next > ticks) {
        i32[rt.ticks] = ticks = next;
        this.mix(0x7fff0000 | (next & 0xffff));
        runnable = this.runnableCpus(selfCan, spinning, ticks);
      }
    }
    let chosen = -1;
    if (runnable.length === 0 && spinning) {
      // Only spinners are left: the one that can progress is among them. Take them in turn
      // (not by the strategy's preference, which could pick the same blocked spinner forever).
      for (let k = 1; k <= this.cpus.length && chosen < 0; k++) {
        const c = (this.me + k) % this.cpus.length;
        if (i32[this.cpus[c].spin] || c === this.me) chosen = c;
      }
    }
    if (runnable.length === 0 && chosen < 0) return false;
    const step = i32[rt.step]++;
    if (chosen < 0) chosen = runnable.length === 1 ? runnable[0] : this.chooser.choose(runnable, this.me, step, i32[rt.choices]++);
    this.mix((step << 6) ^ chosen);
    if (this.decisions.length < this.recordLimit) this.decisions.push(step, chosen);
    if (chosen !== this.me) {
      this.handTo(chosen);
      this.waitTurn();
    }
    return true;
  }
}
