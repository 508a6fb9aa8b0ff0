/*
 * `forkstorm hunt`: every chosen bug of the catalogue, injected into its scenario for `seeds`
 * runs of at most `budget` seconds each, and the clean kernel on the same budget. A bug counts as
 * detected in a run when the run ends on a violation or a hang; the law that caught it is kept.
 * The hunt passes when every bug is detected in every run and the baseline shows no violation.
 */
import { CATALOG, type BugEntry } from "../bugs/catalog.js";
import { UsageError, type KernelName } from "../kern/kernel.js";
import { KERNELS } from "../kern/registry.js";
import { VERSION } from "../report/report.js";
import { stress, type StressOptions } from "./stress.js";

export interface HuntOptions {
  kernel: KernelName | "all";
  bugs: string[] | "all";
  seeds: number;
  budget: number;
  cpus: number;
  mode: "free";
  /** First seed; run i uses seed + i. */
  seed: number;
  chaos: number;
  /** The scenario of the clean baseline. */
  baselineScenario?: string;
  onRun?: (what: string, i: number, outcome: { detected: boolean; seconds: number; law: string | null }) => void;
  signal?: AbortSignal;
}

export interface HuntBugRow {
  id: string;
  kernel: KernelName;
  interlock: string;
  description: string;
  runs: number;
  detected: number;
  secondsToDetect: number[];
  medianSecondsToDetect: number | null;
  detectedBy: string[];
}

export interface HuntReport {
  schema: 1;
  tool: "forkstorm";
  version: string;
  command: "hunt";
  config: Omit<HuntOptions, "onRun" | "signal">;
  verdict: "pass" | "fail";
  baseline: { kernel: KernelName; runs: number; seconds: number; violations: number; laws: string[] }[];
  bugs: HuntBugRow[];
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function chooseBugs(kernel: KernelName | "all", ids: string[] | "all"): BugEntry[] {
  const pool = CATALOG.filter((b) => kernel === "all" || b.kernel === kernel);
  if (ids === "all") return pool;
  return ids.map((id) => {
    const b = pool.find((x) => x.id === id);
    if (!b) throw new UsageError(`unknown bug "${id}"${kernel === "all" ? "" : ` for ${kernel}`} (forkstorm list shows the catalogue)`);
    return b;
  });
}

export async function hunt(o: HuntOptions): Promise<{ report: HuntReport; exitCode: number }> {
  const bugs = chooseBugs(o.kernel, o.bugs);
  const kernels = o.kernel === "all" ? [...KERNELS] : [o.kernel];
  const base = (kernel: KernelName, seed: number): Omit<StressOptions, "scenario"> => ({
    kernel,
    cpus: o.cpus,
    seconds: o.budget,
    mode: o.mode,
    seed,
    chaos: o.chaos,
    bugs: [],
    keepGoing: false,
    signal: o.signal,
  });

  const rows: HuntBugRow[] = [];
  for (const b of bugs) {
    const row: HuntBugRow = { id: b.id, kernel: b.kernel, interlock: b.interlock, description: b.description, runs: 0, detected: 0, secondsToDetect: [], medianSecondsToDetect: null, detectedBy: [] };
    for (let i = 0; i < o.seeds && !o.signal?.aborted; i++) {
      const { report } = await stress({ ...base(b.kernel, o.seed + i), scenario: b.scenario, bugs: [b.id] });
      row.runs++;
      const first = report.violations[0];
      const detected = report.verdict === "violation" || report.verdict === "hang";
      const seconds = first ? first.atSeconds : report.elapsedSeconds;
      const law = first?.law ?? (report.verdict === "hang" ? "watchdog-hang" : null);
      if (detected) {
        row.detected++;
        row.secondsToDetect.push(Math.round(seconds * 1000) / 1000);
        if (law && !row.detectedBy.includes(law)) row.detectedBy.push(law);
      }
      o.onRun?.(b.id, i, { detected, seconds, law });
    }
    row.medianSecondsToDetect = median(row.secondsToDetect);
    rows.push(row);
  }

  const baseline: HuntReport["baseline"] = [];
  for (const kernel of kernels) {
    const row = { kernel, runs: 0, seconds: 0, violations: 0, laws: [] as string[] };
    for (let i = 0; i < o.seeds && !o.signal?.aborted; i++) {
      const { report } = await stress({ ...base(kernel, o.seed + i), scenario: o.baselineScenario ?? "mixed" });
      row.runs++;
      row.seconds += report.elapsedSeconds;
      row.violations += report.violations.length + (report.verdict === "hang" || report.verdict === "error" ? 1 : 0);
      for (const v of report.violations) if (!row.laws.includes(v.law)) row.laws.push(v.law);
      if (report.verdict === "hang" && !row.laws.includes("watchdog-hang")) row.laws.push("watchdog-hang");
      o.onRun?.(`baseline ${kernel}`, i, { detected: report.verdict !== "clean", seconds: report.elapsedSeconds, law: report.violations[0]?.law ?? null });
    }
    row.seconds = Math.round(row.seconds * 100) / 100;
    baseline.push(row);
  }

  const pass = !o.signal?.aborted && rows.every((r) => r.runs === o.seeds && r.detected === r.runs) && baseline.every((b) => b.violations === 0);
  const { onRun: _onRun, signal: _signal, ...config } = o;
  const report: HuntReport = { schema: 1, tool: "forkstorm", version: VERSION, command: "hunt", config, verdict: pass ? "pass" : "fail", baseline, bugs: rows };
  return { report, exitCode: o.signal?.aborted ? 130 : pass ? 0 : 1 };
}

export function huntSummary(r: HuntReport): string {
  const lines = [`forkstorm hunt: ${r.verdict.toUpperCase()} (${r.config.seeds} seeds, ${r.config.budget} s budget, ${r.config.cpus} cpus, ${r.config.mode})`];
  lines.push(`${"bug".padEnd(30)} ${"interlock".padEnd(22)} detected  median s  law`);
  for (const b of r.bugs) lines.push(`${b.id.padEnd(30)} ${b.interlock.padEnd(22)} ${`${b.detected}/${b.runs}`.padStart(8)}  ${(b.medianSecondsToDetect?.toFixed(3) ?? "-").padStart(8)}  ${b.detectedBy.join(",")}`);
  for (const b of r.baseline) lines.push(`baseline ${b.kernel}: ${b.runs} runs, ${b.seconds} s, ${b.violations} violations${b.laws.length ? ` (${b.laws.join(",")})` : ""}`);
  return lines.join("\n");
}
