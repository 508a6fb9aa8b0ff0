/*
 * How a scenario is made: a workload mix run by `population` workers (0: one per cpu) under the
 * scenario's limits, with the kernel's program module. index.ts lists them.
 */
import type { KernelName } from "../../src/kern/kernel.js";
import { mixIndex, type Mix } from "../programs/mixes.js";
import type { Scenario } from "./types.js";

const MODULE: Record<KernelName, string> = {
  dragonfly: "stress/programs/dragonfly.js",
  netbsd: "stress/programs/netbsd.js",
};

/** Limits roomy enough that only the maxproc scenario lives at the edge. */
export const ROOMY = { maxproc: 160, nproc: 120, tables: { thread: 768 } };

export function scenario(kernel: KernelName, name: string, description: string, mix: Mix, population: number, limits: Scenario["limits"] = ROOMY): Scenario {
  return { kernel, name, description, limits, module: MODULE[kernel], init: `${kernel}.init`, initArgs: [population, mixIndex(mix), 0] };
}
