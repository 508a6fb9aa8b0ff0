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
 * a decision where only one cpu could run changes nothing, so counting only real choices keeps
 * k small -- often a tenth of all scheduling points -- and every change point effective.
 */
import { Rng } from "./rng.js";
import type { Chooser } from "./chooser.js";

export class PctChooser implements Chooser {
  /** Ascending steps at which the running cpu's priority drops; d-1 of them, fixed by the seed. */
  private readonly changeAt: number[];
  /** Initial priorities d .. d+n-1 in a seeded random order (distinct). */
  private readonly initial: number[];

  readonly words: number;

  /**
   * state[0]: index of the next change point; state[1 + cpu]: the cpu's current priority.
   * Invariant: priorities stay distinct (initial ones are >= d, lowered ones are 0..d-2).
   */
  constructor(
    private readonly state: Int32Array,
    seed: number,
    cpus: number,
    depth: number,
    stepBound: number,
  ) {
    this.words = 1 + cpus;
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
  }

  choose(runnable: Int32Array, n: number, current: number, _step: number, choice: number): number {
    const s = this.state;
    while (s[0] < this.changeAt.length && this.changeAt[s[0]] <= choice) {
      s[1 + current] = this.changeAt.length - 1 - s[0];
      s[0]++;
    }
    let best = runnable[0];
    for (let i = 1; i < n; i++) if (s[1 + runnable[i]] > s[1 + best]) best = runnable[i];
    return best;
  }
}
