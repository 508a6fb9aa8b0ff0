/*
 * What a controlled strategy decides: at each scheduling point, which of the runnable cpus runs
 * next. The baton (baton.ts) asks; the strategy files answer:
 *   pct.ts     Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010)
 *   random.ts  a uniform choice at every point
 *   replay.ts  a recorded schedule, followed decision by decision; or the default choice with
 *              listed exceptions (a schedule string, what shrink produces)
 *   virtual.ts the cpu with the earliest virtual clock (throughput past the host's cores)
 * Decisions are taken by whichever cpu holds the baton, so a strategy's mutable state travels
 * with the baton: each cpu's instance works on `state`, a private copy the baton loads from the
 * image (rtctl.rt_chooser) when it arrives and writes back when it leaves. What is fixed by the
 * seed may be kept per instance.
 */
import type { PointKind } from "../shm/hooks.js";

export interface Chooser {
  /** Words of `state` the strategy uses (the baton copies only these). */
  readonly words: number;
  /** Write the initial state (once, by the orchestrator, before any cpu runs). */
  initState(): void;
  /**
   * Choose among the first `n` entries of `runnable` (cpu ids, ascending, at least two).
   * `current` is the cpu deciding (it may or may not be runnable); `step` counts every decision
   * from 0, `choice` only those with more than one runnable cpu (the ones that reach a strategy).
   * `kind`: what the point is at (hooks.ts). `point` and `nth` place the decision on the deciding
   * cpu's own clock: it is taken at the cpu's `point`-th scheduling point (counted from 1), and is
   * the `nth` decision it took there (0 at the point itself, then 1, 2... while it spins or idles).
   * A place on one cpu's clock survives changes to what other cpus did before it; a global step
   * does not (see decisions.ts).
   */
  choose(runnable: Int32Array, n: number, current: number, step: number, choice: number, kind: PointKind, point: number, nth: number): number;
  /**
   * Told of every decision taken, before the choice (one runnable cpu or several; virtual.ts
   * keeps its clocks here). `spinning`: the deciding cpu waits for a lock held elsewhere.
   */
  atDecision?(runnable: Int32Array, n: number, current: number, kind: PointKind, spinning: boolean, i32: Int32Array): void;
}

/**
 * The default choice, against which a decision counts as one a strategy made: the deciding cpu
 * runs on if it can, otherwise the lowest-numbered runnable cpu runs. A run of default choices
 * only is the plainest interleaving: each cpu runs until it blocks.
 */
export function defaultChoice(runnable: Int32Array, n: number, current: number): number {
  for (let i = 0; i < n; i++) if (runnable[i] === current) return current;
  return runnable[0];
}

/** Words of shared state a chooser may use. */
export const CHOOSER_WORDS = 68;

/** mulberry32 on a state word: one random stream, drawn by whichever cpu decides. */
export function stateRandom(state: Int32Array, at: number): number {
  let t = (state[at] = (state[at] + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
