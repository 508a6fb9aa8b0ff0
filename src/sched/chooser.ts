/*
 * What a controlled strategy decides: at each scheduling point, which of the runnable cpus runs
 * next. The baton (baton.ts) asks; the strategy files answer:
 *   pct.ts     Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010)
 *   random.ts  a uniform choice at every point
 *   replay.ts  a recorded schedule, followed decision by decision
 * Decisions are taken by whichever cpu holds the baton, so a strategy's mutable state lives in
 * the image (`state`, words of rtctl.rt_chooser): every cpu's instance reads and moves the same
 * state, one decision at a time. What is fixed by the seed may be kept per instance.
 */
export interface Chooser {
  /** Write the initial state (once, by the orchestrator, before any cpu runs). */
  initState(): void;
  /**
   * Choose among `runnable` (cpu ids, ascending, at least two). `current` is the cpu deciding
   * (it may or may not be runnable); `step` counts every decision from 0, `choice` only those
   * with more than one runnable cpu (the ones that reach a strategy).
   */
  choose(runnable: readonly number[], current: number, step: number, choice: number): number;
}

/** Words of shared state a chooser may use. */
export const CHOOSER_WORDS = 68;

/** mulberry32 on a shared word: one random stream drawn by whoever decides. */
export function sharedRandom(state: Int32Array, at: number): number {
  let t = (state[at] = (state[at] + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
