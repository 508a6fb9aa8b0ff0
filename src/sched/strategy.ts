/*
 * The interleaving strategy: what a cpu does at a scheduling point, when it spins on a lock held
 * elsewhere, and when it has nothing to run. One interface, one small file per strategy:
 *   free.ts    real parallelism with seeded chaos delays (rr's chaos mode, jcstress's noise)
 *   baton.ts   controlled: one cpu runs between points, chosen by pct.ts, random.ts, replay.ts
 *              (replay and schedule) or virtual.ts
 * The baton fits the same three calls: atPoint() hands the baton on, spinWait() gives it up,
 * idle() leaves the set of runnable cpus.
 */
import type { PointKind } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import type { CostModel } from "./virtual.js";
import type { Decision } from "./decisions.js";

export type StrategyConfig =
  | {
      name: "free";
      seed: number;
      /** Fraction of scheduling points that inject a delay. */
      chaos: number;
    }
  | { name: "random"; seed: number }
  | {
      name: "pct";
      seed: number;
      /** The bug depth d: d-1 priority change points. */
      depth: number;
      /** k: the step bound change points are drawn from (learned from earlier runs). */
      stepBound: number;
    }
  | {
      name: "virtual";
      seed: number;
      /** The run's length in virtual seconds. */
      seconds: number;
      cost: CostModel;
    }
  | {
      name: "replay";
      seed: number;
      /** Run-length encoded decisions [cpu, count, ...] (replay.ts). */
      schedule: number[];
    }
  | {
      name: "schedule";
      seed: number;
      /** The decisions that differ from the default (decisions.ts). */
      decisions: Decision[];
    };

export const isControlled = (s: StrategyConfig): boolean => s.name !== "free";

/** Seeds are 31-bit: the strategies' generators take them as non-negative int32. */
export const SEED_MAX = 2 ** 31 - 1;

export interface Strategy {
  readonly name: string;
  /** Points to let pass before the first atPoint(). */
  first(): number;
  /** Act at a point of this kind (hooks.ts); return how many points to let pass before the next action. */
  atPoint(kind: PointKind): number;
  /**
   * This cpu cannot progress until another cpu releases something -- the word at `addr`, when
   * known (a contended token: its releaser notifies the word).
   */
  spinWait(addr?: Addr): void;
  /** Nothing runnable here: wait until the doorbell moves off `seen`, or `ms` pass. */
  idle(doorbell: Addr, seen: number, ms: number): void;
  /** An instant where nothing else runs (controlled: the baton holder): check the settled-state laws (quiescent.ts). */
  settledInstant?(): void;
}
