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
}

export interface BatonWords {
  baton: Addr;
  step: Addr;
  hash0: Addr;
  hash1: Addr;
  ticks: Addr;
  stop: Addr;
}

/** Spins before a waiting cpu sleeps on the baton word (the next holder is often on a core). */
const SPINS = 200;

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
  ) {
    this.name = name;
  }

  first(): number {
    return 1;
  }

  /** A point: decide, and run on only if chosen. Every point is a decision. */
  atPoint(): number {
    // This cpu is making progress: whatever the spinners wait for may have changed.
    for (const w of this.cpus) if (this.i32[w.spin]) this.i32[w.spin] = 0;
    this.decide(true);
    return 1;
  }

  /**
   * Not progressing: let another runnable cpu run. The spinner stays out of the choice until
   * some cpu progresses -- otherwise two spinners could hand the baton to each other forever
   * while the holder, never chosen, never releases.
   */
  spinWait(_addr?: Addr): void {
    this.i32[this.cpus[this.me].spin] = 1;
    this.decide(false, true);
    this.i32[this.cpus[this.me].spin] = 0;
  }

  /** Nothing runnable here: hand the baton on; when nobody can run, wait a little and return. */
  idle(_doorbell: Addr, _seen: number, ms: number): void {
    if (!this.decide(false)) Atomics.wait(this.i32, this.rt.baton, this.me, Math.min(ms, 2));
  }

  /** Wait until this cpu holds the baton (or the machine stops). */
  waitTurn(): void {
    const { i32 } = this;
    for (let spins = 0; ; spins++) {
      const b = Atomics.load(i32, this.rt.baton);
      if (b === this.me || b === -1) return;
      if (Atomics.load(i32, this.rt.stop)) return;
      if (spins < SPINS) continue;
      Atomics.wait(i32, this.rt.baton, b, 50);
    }
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
    const { i32 } = this;
    const out: number[] = [];
    for (let c = 0; c < this.cpus.length; c++) {
      const w = this.cpus[c];
      const me = c === this.me;
      if (me ? spinning && !selfCan : i32[w.spin]) continue;
      const to = i32[w.nextto];
      const queued = Atomics.load(i32, w.inqHead) !== Atomics.load(i32, w.inqTail) || (to !== 0 && to <= ticks);
      if ((me ? selfCan : i32[w.nrun] > 0) || queued) out.push(c);
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
    i32[this.cpus[this.me].nrun] = this.runnableHere() + (selfRunnable || spinning ? 1 : 0);
    let ticks = i32[rt.ticks];
    const selfCan = !spinning && (selfRunnable || this.runnableHere() > 0);
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
    if (chosen < 0) chosen = runnable.length === 1 ? runnable[0] : this.chooser.choose(runnable, this.me, step);
    this.mix((step << 6) ^ chosen);
    if (this.decisions.length < this.recordLimit) this.decisions.push(step, chosen);
    if (chosen !== this.me) {
      Atomics.store(i32, rt.baton, chosen);
      Atomics.notify(i32, rt.baton);
      this.waitTurn();
    }
    return true;
  }
}
