/*
 * free: every cpu runs truly in parallel on its own worker thread. With chaos > 0, a seeded
 * fraction of scheduling points stalls this cpu for a short random time, widening race windows
 * the way rr's chaos mode and jcstress's randomisation do. The countdown to the next stall is
 * drawn from the seed (geometric gaps), so a point that injects nothing is one decrement.
 * Not replayable instruction by instruction: a failing run keeps its seed and configuration.
 */
import type { PointKind } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { Rng } from "./rng.js";
import type { Strategy } from "./strategy.js";

/** Longest injected stall, in microseconds. */
const MAX_STALL_US = 50;

export class FreeStrategy implements Strategy {
  readonly name = "free";
  private readonly rng: Rng;
  private spins = 0;

  constructor(
    private readonly i32: Int32Array,
    /** A word that stays 0: stalls wait on it for their timeout. */
    private readonly quiet: Addr,
    seed: number,
    /** Probability that a point injects a stall; 0 disables chaos. */
    private readonly chaos: number,
  ) {
    this.rng = new Rng(seed);
  }

  first(): number {
    return this.rng.gap(this.chaos);
  }

  atPoint(_kind: PointKind): number {
    const us = this.rng.below(MAX_STALL_US);
    if (this.rng.below(4) === 0) {
      // Sleep-like stall: the OS may run the other cpus' threads on this core meanwhile.
      Atomics.wait(this.i32, this.quiet, 0, us / 1000);
    } else {
      const until = performance.now() + us / 1000;
      while (performance.now() < until);
    }
    return this.rng.gap(this.chaos);
  }

  spinWait(addr?: Addr): void {
    // Spin a little, then give the core away: with more cpus than cores, the holder may be
    // waiting for this very core, and a spinner that keeps it only delays the release.
    if (++this.spins & 7) return;
    if (addr === undefined) Atomics.wait(this.i32, this.quiet, 0, 0.02);
    else Atomics.wait(this.i32, addr, Atomics.load(this.i32, addr), 1);
  }

  idle(doorbell: Addr, seen: number, ms: number): void {
    Atomics.wait(this.i32, doorbell, seen, ms);
  }
}
