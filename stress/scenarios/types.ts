/*
 * A stress scenario: the limits, the user programs and the init program that builds the initial
 * process tree and keeps it populated. Weights live in the init program's arguments.
 */
import type { KernelName, Limits } from "../../src/kern/kernel.js";
import type { Placement } from "../../src/sched/placement.js";

export interface Scenario {
  readonly name: string;
  readonly kernel: KernelName;
  readonly description: string;
  readonly limits: ScenarioLimits;
  /** Limits that grow with the population instead (fork-hold: every held process needs its slots). */
  readonly limitsFor?: (population: number) => ScenarioLimits;
  /** Worker module (dist-relative) that registers the scenario's user programs. */
  readonly module: string;
  /** The program init runs instead of the scripted one, and its arguments (population, mix, persistent). */
  readonly init: string;
  readonly initArgs: readonly number[];
  /**
   * The kernel functions the scenario was built to drive concurrently (issue 16 item 3), or single
   * interlock sites (`function:primitive#n`, a site key without its file) whose race only it makes:
   * mutate runs the mutants of those sites here first, whatever the reach phase's counts say.
   */
  readonly targets?: readonly string[];
  /**
   * The seed defects (docs/findings.md) the scenario reaches on purpose, each with the laws it
   * breaks on the clean kernel: a clean run's violation of one of them there is most likely that
   * defect, not a false positive of ours (mutate's reach phase says so).
   */
  readonly seedDefects?: readonly SeedDefect[];
  /** Where new threads start (src/sched/placement.ts); default spread. */
  readonly placement?: Placement;
}

/** A defect of the seed kernels (docs/findings.md, e.g. "D6") and the laws it breaks. */
export interface SeedDefect {
  readonly finding: string;
  readonly laws: readonly string[];
}

export type ScenarioLimits = Partial<Omit<Limits, "tables">> & { tables?: Record<string, number> };
