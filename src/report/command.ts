/*
 * The one-line command that runs a stress run again: pasted into a terminal, it gives the same
 * run -- event for event in the controlled modes (bounded by --ops), the same configuration and
 * seed in free mode. Hunts print it per detection; JUnit failures and vitest messages end with it.
 */
import { DETECTORS } from "../detect/index.js";
import type { StressConfig } from "./report.js";

const DETECTOR_COUNT = DETECTORS.length;

/** The free-mode chaos the command line assumes when --chaos is not given. */
const CLI_CHAOS = 0.001;

export function stressCommand(c: Omit<StressConfig, "chaos" | "keepGoing"> & { chaos?: number; keepGoing?: boolean }): string {
  const length = c.ops !== undefined ? `--ops ${c.ops}` : `--seconds ${c.seconds}`;
  const population = c.population !== undefined ? ` --population ${c.population}` : "";
  // A schedule (what shrink prints) runs the default scheduler: no --mode.
  const mode = c.mode === "schedule" ? `--schedule "${c.schedule ?? ""}"` : `--mode ${c.mode}`;
  const chaos = c.mode === "free" && c.chaos !== undefined && c.chaos !== CLI_CHAOS ? ` --chaos ${c.chaos}` : "";
  const pct = c.mode === "pct" && c.depth !== undefined ? ` --depth ${c.depth} --step-bound ${c.stepBound}` : "";
  const bugs = c.bugs.map((id) => ` --bug ${id}`).join("");
  // Absent or all of them: the default (src/detect/index.ts DETECTORS).
  const detectors = c.detectors === undefined || c.detectors.length === DETECTOR_COUNT ? "" : ` --detectors ${c.detectors.join(",") || "none"}`;
  return `forkstorm stress --kernel ${c.kernel} --scenario ${c.scenario} --cpus ${c.cpus}${population} ${length} ${mode} --seed ${c.seed}${chaos}${pct}${bugs}${detectors}${c.keepGoing ? " --keep-going" : ""}`;
}

/** The one-line command that runs a script given as an object: its JSON on standard input. */
export function scriptCommand(script: unknown): string {
  return `echo '${JSON.stringify(script).replace(/'/g, "'\\''")}' | forkstorm script -`;
}
