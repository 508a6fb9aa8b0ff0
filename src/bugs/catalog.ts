/*
 * The catalogue of injectable bugs: each a minimal wrong variant placed next to the right code in
 * a kernel model (read through bug() in switch.ts), the interlock it breaks, and the law or
 * detector expected to catch it. `forkstorm hunt` runs each and measures time to detection.
 */
import type { KernelName } from "../kern/kernel.js";

export interface BugEntry {
  readonly id: string;
  readonly kernel: KernelName;
  /** The interlock the wrong variant breaks. */
  readonly interlock: string;
  readonly description: string;
  /** Laws expected to catch it (any one counts). */
  readonly caughtBy: readonly string[];
  /** The scenario hunt runs it under. */
  readonly scenario: string;
}

export const CATALOG: readonly BugEntry[] = [];
