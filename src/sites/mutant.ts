/*
 * Mutants: one per interlock site and operator (kinds.ts), named `KEY:OPERATOR`
 * (`dragonfly/kern_exit.ts:proc_reparent:lwkt_gettoken#2:skip-lock`). A machine runs at most one;
 * its spec carries the site's id in this build's manifest (runtime.ts switches on it).
 */
import { UsageError } from "../errors.js";
import type { KernelName } from "../kern/kernel.js";
import { PACKAGE_ROOT } from "../sched/machine.js";
import { OPERATORS, type Operator } from "./kinds.js";
import { manifest, type Manifest, type SiteEntry } from "./manifest.js";

export interface Mutant {
  site: SiteEntry;
  op: Operator;
  /** `KEY:OPERATOR` */
  name: string;
}

/** Every mutant of a kernel, in source order. */
export function mutantsOf(kernel: KernelName, m: Manifest): Mutant[] {
  return m.sites.filter((s) => s.kernel === kernel).flatMap((site) => site.operators.map((op) => ({ site, op, name: `${site.key}:${op}` })));
}

/** `KEY:OPERATOR` -> what the machine spec carries; a usage error names what is wrong. */
export function resolveMutant(kernel: KernelName, name: string): { site: number; op: Operator } {
  const cut = name.lastIndexOf(":");
  const key = name.slice(0, cut), op = name.slice(cut + 1) as Operator;
  if (cut < 0 || !OPERATORS.includes(op)) throw new UsageError(`mutant "${name}" must be KEY:OPERATOR, the operator one of ${OPERATORS.join(", ")} (forkstorm mutate --list shows them)`);
  const site = manifest(PACKAGE_ROOT).sites.find((s) => s.key === key);
  if (!site) throw new UsageError(`no interlock site "${key}" in this build (forkstorm mutate --list shows them)`);
  if (site.kernel !== kernel) throw new UsageError(`site "${key}" is in the ${site.kernel} model, not ${kernel}`);
  if (!site.operators.includes(op)) throw new UsageError(`site "${key}" has no ${op} mutant (it has: ${site.operators.join(", ") || "none"})`);
  return { site: site.id, op };
}
