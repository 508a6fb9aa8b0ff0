/*
 * Every scenario, by kernel and name (`forkstorm list` prints them).
 */
import { UsageError, type KernelName } from "../../src/kern/kernel.js";
import type { Scenario } from "./types.js";

export const SCENARIOS: readonly Scenario[] = [];

export function findScenario(kernel: KernelName, name: string): Scenario {
  const s = SCENARIOS.find((x) => x.kernel === kernel && x.name === name);
  if (!s) {
    const names = SCENARIOS.filter((x) => x.kernel === kernel).map((x) => x.name);
    throw new UsageError(`no scenario "${name}" for ${kernel}${names.length ? ` (${names.join(", ")})` : ""}`);
  }
  return s;
}
