/*
 * The interleaving strategy: what a cpu does at a scheduling point, when it spins on a lock held
 * elsewhere, and when it has nothing to run. One interface, one small file per strategy:
 *   free.ts    real parallelism with seeded chaos delays (rr's chaos mode, jcstress's noise)
 * A controlled strategy (a baton in the image that exactly one cpu holds between points) fits
 * the same three calls: atPoint() hands the baton on, spinWait() gives it up, idle() leaves the
 * set of runnable cpus.
 */
import type { Addr } from "../shm/table.js";

export interface StrategyConfig {
  name: "free";
  seed: number;
  /** Fraction of scheduling points that inject a delay (free mode). */
  chaos: number;
}

export interface Strategy {
  readonly name: string;
  /** Points to let pass before the first atPoint(). */
  first(): number;
  /** Act at a point; return how many points to let pass before the next action. */
  atPoint(): number;
  /** This cpu cannot progress until another cpu releases something. */
  spinWait(): void;
  /** Nothing runnable here: wait until the doorbell moves off `seen`, or `ms` pass. */
  idle(doorbell: Addr, seen: number, ms: number): void;
}
