/*
 * random: the controlled baton with a uniformly random choice among the runnable cpus at every
 * scheduling point. Simple and unbiased; it finds shallow races quickly and deep ones slowly
 * (a specific d-step ordering is hit with probability decaying geometrically in d), which is
 * what pct.ts improves on.
 */
import { stateRandom, type Chooser } from "./chooser.js";

export class RandomChooser implements Chooser {
  readonly words = 1;

  /** state[0]: the random stream's position, seeded once. */
  constructor(
    private readonly state: Int32Array,
    private readonly seed: number,
  ) {}

  initState(): void {
    this.state[0] = this.seed;
  }

  choose(runnable: Int32Array, n: number): number {
    return runnable[Math.floor(stateRandom(this.state, 0) * n)];
  }
}
