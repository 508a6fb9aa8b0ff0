/*
 * What the field-level detectors (src/detect) cost: the same run -- one scenario, one seed --
 * with detectors off, the race detector alone, the stale-pointer detector alone, and both, side
 * by side in rounds (the median round is kept). Controlled mode (pct) checks every access;
 * free mode samples (src/detect/index.ts FREE_SAMPLE), so it is measured too.
 * Runs keep going past a violation, so every run does the same work whatever it reports.
 */
import type { DetectorName } from "../detect/index.js";
import { median } from "../run/hunt.js";
import { stress } from "../run/stress.js";
import { throwIfSpent } from "./budget.js";

export interface DetectorCostRow {
  mode: string;
  detectors: string;
  seconds: number;
  syscallsPerSecond: number;
  /** Controlled modes: scheduling decisions per second. */
  stepsPerSecond?: number;
  /** Time over the same run with detectors off. */
  xOff: number;
}

const SETS: readonly (readonly DetectorName[])[] = [[], ["race"], ["stale"], ["race", "stale"]];

/** The runs: DragonFly's mixed scenario on 4 cpus, pct for `ops` system calls and free for `seconds`, `rounds` of each set. */
const SCENARIO = "mixed";
export interface DetectorRuns {
  ops: number;
  seconds: number;
  rounds: number;
}
export const DETECTOR_RUNS: { quick: DetectorRuns; full: DetectorRuns } = { quick: { ops: 300, seconds: 1.5, rounds: 1 }, full: { ops: 600, seconds: 4, rounds: 3 } };

/** Every detector set on the same runs, round after round (each round its own seed); the median round per set. */
export async function detectorCost({ ops, seconds, rounds }: DetectorRuns, signal?: AbortSignal): Promise<DetectorCostRow[]> {
  const scenario = SCENARIO;
  const rows: DetectorCostRow[] = [];
  for (const mode of ["pct", "free"] as const) {
    const sets = mode === "pct" ? SETS : [SETS[0], SETS[3]];
    const times = sets.map(() => [] as number[]);
    const rates = sets.map(() => [] as number[]);
    const steps = sets.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++)
      for (const [i, detectors] of sets.entries()) {
        const length = mode === "pct" ? { ops } : { seconds, chaos: 0 };
        const { report } = await stress({ kernel: "dragonfly", scenario, cpus: 4, mode, seed: 1 + r, chaos: 0, bugs: [], keepGoing: true, detectors, signal, ...length });
        throwIfSpent(signal);
        if (report.verdict !== "clean" && report.verdict !== "violation") throw new Error(`bench: ${scenario} ${mode} with detectors [${detectors.join(",")}] ended ${report.verdict}`);
        times[i].push(report.elapsedSeconds);
        rates[i].push(report.ops.total / report.elapsedSeconds);
        steps[i].push(report.steps / report.elapsedSeconds);
      }
    const off = median(mode === "pct" ? times[0] : rates[0].map((x) => 1 / x))!;
    for (const [i, detectors] of sets.entries()) {
      const cost = mode === "pct" ? median(times[i])! : median(rates[i].map((x) => 1 / x))!;
      rows.push({
        mode,
        detectors: detectors.join("+") || "off",
        seconds: Number(median(times[i])!.toFixed(2)),
        syscallsPerSecond: Math.round(median(rates[i])!),
        ...(mode === "pct" ? { stepsPerSecond: Math.round(median(steps[i])!) } : {}),
        xOff: Number((cost / off).toFixed(2)),
      });
    }
  }
  return rows;
}
