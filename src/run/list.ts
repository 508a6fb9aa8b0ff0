/*
 * `forkstorm list`: the kernels, scenarios and bugs, with one-line descriptions.
 */
import { CATALOG } from "../bugs/catalog.js";
import { KERNEL_DESCRIPTIONS, KERNELS } from "../kern/registry.js";
import { SCENARIOS } from "../../stress/scenarios/index.js";

export interface Catalog {
  kernels: { name: string; description: string }[];
  scenarios: { kernel: string; name: string; description: string }[];
  bugs: { id: string; kernel: string; interlock: string; description: string; caughtBy: readonly string[]; scenario: string }[];
}

export function listCatalog(): Catalog {
  return {
    kernels: KERNELS.map((name) => ({ name, description: KERNEL_DESCRIPTIONS[name] })),
    scenarios: SCENARIOS.map((s) => ({ kernel: s.kernel, name: s.name, description: s.description })),
    bugs: CATALOG.map((b) => ({ id: b.id, kernel: b.kernel, interlock: b.interlock, description: b.description, caughtBy: b.caughtBy, scenario: b.scenario })),
  };
}
