/*
 * The site manifest: every interlock site and kernel function of both models, as the build found
 * them (instrument.ts writes dist/sites.json). Ids index the per-cpu counters of a build; keys are
 * what reports and docs/mutants-equivalent.md name, stable across edits elsewhere in a file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KernelName } from "../kern/kernel.js";
import type { Operator, SiteKind } from "./kinds.js";

export interface SiteEntry {
  id: number;
  /** `dragonfly/kern_exit.ts:proc_reparent:lwkt_gettoken#2`: kernel/file : function : what#ordinal */
  key: string;
  kernel: KernelName;
  /** Source file, package-relative (`src/kern/dragonfly/kern_exit.ts`). */
  file: string;
  line: number;
  fn: string;
  /** The primitive called, or recheck / revalidate / retest. */
  what: string;
  kind: SiteKind;
  operators: Operator[];
}

export interface FunctionEntry {
  id: number;
  key: string;
  kernel: KernelName;
  file: string;
  line: number;
  name: string;
}

export interface Manifest {
  sites: SiteEntry[];
  functions: FunctionEntry[];
}

export const MANIFEST_FILE = "sites.json";

/** The kernels' sources the seeds are (kern_fork.c of each): deliverable (c) is about their sites. */
export const SEED_FILES: Readonly<Record<KernelName, string>> = {
  dragonfly: "src/kern/dragonfly/kern_fork.ts",
  netbsd: "src/kern/netbsd/kern_fork.ts",
};

let loaded: Manifest | null = null;

/** The manifest of this build (dist/sites.json under the package root). */
export function manifest(root: string): Manifest {
  if (loaded) return loaded;
  const file = join(root, "dist", MANIFEST_FILE);
  try {
    loaded = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  } catch (e) {
    throw new Error(`cannot read the interlock-site manifest ${file} (npm run build writes it): ${(e as Error).message}`);
  }
  return loaded;
}

/** A site is an interlock site when something can be forgotten there (it has a mutant). */
export const isInterlock = (s: SiteEntry): boolean => s.operators.length > 0;
