/*
 * A stress scenario: the limits, the user programs and the init program that builds the initial
 * process tree and keeps it populated. Weights live in the init program's arguments.
 */
import type { KernelName, Limits } from "../../src/kern/kernel.js";

export interface Scenario {
  readonly name: string;
  readonly kernel: KernelName;
  readonly description: string;
  readonly limits: Partial<Omit<Limits, "tables">> & { tables?: Record<string, number> };
  /** Worker module (dist-relative) that registers the scenario's user programs. */
  readonly module: string;
  /** The program init runs instead of the scripted one, and its arguments. */
  readonly init: string;
  readonly initArgs: readonly number[];
}
