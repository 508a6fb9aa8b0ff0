/*
 * pct: Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A
 * Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
 *
 * Each cpu gets a distinct random priority; the highest-priority runnable cpu always runs. At
 * d-1 change points, drawn uniformly from the first k steps, the running cpu's priority drops
 * below every initial one (to d-1-i at the i-th point). For n cpus and k steps a bug of depth d
 * is found with probability at least 1/(n * k^(d-1)). k is learned from earlier runs (the
 * caller passes the previous run's count), since a change point past the end is wasted.
 *
 * A step here is a decision with a real choice (more than one runnable cpu): a change point on
 * a decision where only one cpu could run changes nothing. Steps are weighed by the kind of
 * point (hooks.ts): a plain field access counts 1, a lock, token, atomic or refcount operation
 * SYNC_WEIGHT, a sleep's interlock or a wakeup SLEEP_WEIGHT. The paper's step is a
 * synchronization event; the model also schedules at every field access, so that a missing lock
 * can lose an update for real. Counted alike, the common points would dilute k: in a vfork
 * cycle there are about 600 field points, 200 sync points and 10 sleep points, so a race whose
 * window is one sleep point (a test, then a sleep without the interlock) would be as rare as
 * one inside a list insertion. Weighed, a change point is about as likely to land on each class
 * as a whole -- where wakeups are lost, where interlocks are skipped, between two field
 * accesses -- and the rare points get their share.
 */
import { POINT_FIELD, POINT_SLEEP, POINT_SYNC, type PointKind } from "../shm/hooks.js";
import { Rng } from "./rng.js";
import type { Chooser } from "./chooser.js";

/** The deepest --depth accepted (d-1 change points per run). */
export const MAX_DEPTH = 64;

/** What a step counts for, by the kind of its point, against 1 for a field access. */
export const SYNC_WEIGHT = 4;
export const SLEEP_WEIGHT = 64;
const WEIGHT: Record<PointKind, number> = { [POINT_FIELD]: 1, [POINT_SYNC]: SYNC_WEIGHT, [POINT_SLEEP]: SLEEP_WEIGHT };

export class PctChooser implements Chooser {
  readonly words: number;
  /** Ascending weighted steps at which the running cpu's priority drops; d-1 of them, fixed by the seed. */
  private readonly changeAt: number[];
  /** Initial priorities d .. d+n-1 in a seeded random order (distinct). */
  private readonly initial: number[];
  /** Index of the weighted-step clock in the state. */
  private readonly clock: number;

  /**
   * state[0]: index of the next change point; state[1 + cpu]: the cpu's current priority;
   * state[1 + n]: the weighted-step clock.
   * Invariant: priorities stay distinct (initial ones are >= d, lowered ones are 0..d-2).
   */
  constructor(
    private readonly state: Int32Array,
    seed: number,
    cpus: number,
    depth: number,
    stepBound: number,
  ) {
    this.words = 2 + cpus;
    this.clock = 1 + cpus;
    const rng = new Rng(seed);
    const order = Array.from({ length: cpus }, (_, i) => i);
    for (let i = cpus - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    this.initial = new Array<number>(cpus);
    order.forEach((cpu, rank) => (this.initial[cpu] = depth + rank));
    this.changeAt = Array.from({ length: Math.max(0, depth - 1) }, () => rng.below(Math.max(1, stepBound))).sort((a, b) => a - b);
  }

  initState(): void {
    this.state[0] = 0;
    this.initial.forEach((p, cpu) => (this.state[1 + cpu] = p));
    this.state[this.clock] = 0;
  }

  choose(runnable: Int32Array, n: number, current: number, _step: number, _choice: number, kind: PointKind): number {
    const s = this.state;
    const end = s[this.clock] + WEIGHT[kind];
    s[this.clock] = end;
    // A change point anywhere in this step's weight falls on this step.
    while (s[0] < this.changeAt.length && this.changeAt[s[0]] < end) {
      s[1 + current] = this.changeAt.length - 1 - s[0];
      s[0]++;
    }
    let best = runnable[0];
    for (let i = 1; i < n; i++) if (s[1 + runnable[i]] > s[1 + best]) best = runnable[i];
    return best;
  }

  /** The weighted steps a run took (its state after the run): the next run's k. */
  static stepsTaken(state: Int32Array, cpus: number): number {
    return state[1 + cpus];
  }
}
