/*
 * `forkstorm list`: the kernels, scenarios and bugs, with one-line descriptions. Descriptions
 * cite the kernel sources they are about -- (000:632-634), (NOTES B1) -- which mean something
 * only with the legend: the plain listing leaves them out, the verbose one keeps them and
 * explains them (REFERENCE_LEGEND).
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

/** A parenthesis citing a kernel source line (000:L, 001:L) or a point of the kernel notes (NOTES Xn). */
const REFERENCE = /\s*\([^()]*\b(?:00[01]:\d|NOTES [A-Z]\d)[^()]*\)/g;

/** A description without its source references, for the plain listing. */
export function withoutReferences(description: string): string {
  return description.replace(REFERENCE, "");
}

/** What the references in descriptions point at. */
export const REFERENCE_LEGEND = [
  "000:L      line L of DragonFly BSD sys/kern/kern_fork.c at revision d9d67b59",
  "           (https://gitweb.dragonflybsd.org/dragonfly.git/blob/d9d67b59:/sys/kern/kern_fork.c)",
  "001:L      line L of NetBSD sys/kern/kern_fork.c revision 1.209",
  "           (https://cvsweb.netbsd.org/bsdweb.cgi/src/sys/kern/kern_fork.c?rev=1.209)",
  "NOTES Xn   a point of the kernel-semantics notes the model was written from: the other halves of",
  "           the fork path at those revisions (kern_exit.c, kern_proc.c, kern_synch.c, lwkt_token.c...)",
  "findings   docs/findings.md: defects of the seed kernels the detectors found",
];
