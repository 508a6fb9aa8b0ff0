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
import { CpuPool } from "../sched/machine.js";
import { stress, type StressOptions } from "./stress.js";

/**
 * pct hunts: the depth d each execution runs with unless --depth says otherwise. A hunt does not
 * know a bug's depth. With k in the hundreds of thousands, a spare change point mostly reorders
 * unrelated work, while each one is another chance at a one-point window: at d = 3 the vfork
 * lost wakeup (df.ppwait-no-interlock) was not found in 100 executions; at d = 20 it takes a
 * median of 6, and every other catalogued bug in a median of at most 6.
 */
export const HUNT_DEPTH = 20;

export interface HuntOptions {
  kernel: KernelName | "all";
  bugs: string[] | "all";
  seeds: number;
  budget: number;
  cpus: number;
  mode: "free" | "pct" | "random";
  /** First seed; run i uses seed + i. */
  seed: number;
  chaos: number;
  /** The scenario of the clean baseline. */
  baselineScenario?: string;
  /** pct mode: the bug depth d (d-1 priority change points per execution); default HUNT_DEPTH. */
  depth?: number;
  /** Controlled modes: system calls per execution (each execution is one short run). */
  opsPerExecution?: number;
  onRun?: (what: string, i: number, outcome: { detected: boolean; seconds: number; law: string | null; executions?: number }) => void;
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
  /** Controlled modes: executions (short runs, each with its own seed) until the first detection. */
  executionsToDetect?: number[];
  medianExecutionsToDetect?: number | null;
  /**
   * Controlled modes: for each detection, the stress command that runs the detecting execution
   * again -- the same interleaving, the same violation at the same step (forkstorm replay).
   */
  reproduce?: string[];
  detectedBy: string[];
}

export interface HuntReport {
  schema: 1;
  tool: "forkstorm";
  version: string;
  command: "hunt";
  config: Omit<HuntOptions, "onRun" | "signal">;
  verdict: "pass" | "fail";
  baseline: { kernel: KernelName; runs: number; seconds: number; violations: number; laws: string[]; executions?: number }[];
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
    ...(o.mode === "pct" ? { depth: o.depth ?? HUNT_DEPTH } : {}),
    bugs: [],
    keepGoing: false,
    signal: o.signal,
  });

  const controlled = o.mode !== "free";
  const pool = new CpuPool(o.cpus);
  const rows: HuntBugRow[] = [];
  let baseline: Baseline[];
  try {
    for (const b of bugs) {
      const row: HuntBugRow = { id: b.id, kernel: b.kernel, interlock: b.interlock, description: b.description, runs: 0, detected: 0, secondsToDetect: [], medianSecondsToDetect: null, ...(controlled ? { executionsToDetect: [], reproduce: [] } : {}), detectedBy: [] };
      for (let i = 0; i < o.seeds && !o.signal?.aborted; i++) {
        const r = controlled ? await executions(o, b, o.seed + i * 100_003, pool) : await freeRun(o, b, o.seed + i, base);
        row.runs++;
        if (r.detected) {
          row.detected++;
          row.secondsToDetect.push(Math.round(r.seconds * 1000) / 1000);
          row.executionsToDetect?.push(r.executions);
          if (r.reproduce) row.reproduce?.push(r.reproduce);
          if (r.law && !row.detectedBy.includes(r.law)) row.detectedBy.push(r.law);
        }
        o.onRun?.(b.id, i, r);
      }
      row.medianSecondsToDetect = median(row.secondsToDetect);
      if (controlled) row.medianExecutionsToDetect = median(row.executionsToDetect!);
      rows.push(row);
    }

    baseline = [];
    for (const kernel of kernels) baseline.push(await cleanBaseline(o, kernel, base, controlled ? pool : null));
  } finally {
    await pool.discard();
  }

  const pass = !o.signal?.aborted && rows.every((r) => r.runs === o.seeds && r.detected === r.runs) && baseline.every((b) => b.violations === 0);
  const { onRun: _onRun, signal: _signal, ...config } = o;
  const report: HuntReport = { schema: 1, tool: "forkstorm", version: VERSION, command: "hunt", config, verdict: pass ? "pass" : "fail", baseline, bugs: rows };
  return { report, exitCode: o.signal?.aborted ? 130 : pass ? 0 : 1 };
}

type Baseline = HuntReport["baseline"][number];

/**
 * The clean kernel on the same budget: free mode, one run of the budget per seed; controlled
 * modes, short executions filling the budget, each bounded by system calls (so each replays).
 */
async function cleanBaseline(o: HuntOptions, kernel: KernelName, base: (k: KernelName, seed: number) => Omit<StressOptions, "scenario">, pool: CpuPool | null): Promise<Baseline> {
  const row: Baseline = { kernel, runs: 0, seconds: 0, violations: 0, laws: [], ...(pool ? { executions: 0 } : {}) };
  const scenario = o.baselineScenario ?? "mixed";
  for (let i = 0; i < o.seeds && !o.signal?.aborted; i++) {
    const t0 = performance.now();
    for (let e = 0; ; e++) {
      const left = o.budget - (performance.now() - t0) / 1000;
      if ((pool ? left <= 0 : e > 0) || o.signal?.aborted) break;
      const run = pool ? { ...base(kernel, o.seed + i * 100_003 + e), scenario, ops: o.opsPerExecution ?? 150 * o.cpus, seconds: left, chaos: 0, pool } : { ...base(kernel, o.seed + i), scenario };
      const { report } = await stress(run);
      if (pool) row.executions!++;
      row.violations += report.violations.length + (report.verdict === "hang" || report.verdict === "error" ? 1 : 0);
      for (const v of report.violations) if (!row.laws.includes(v.law)) row.laws.push(v.law);
      if (report.verdict === "hang" && !row.laws.includes("watchdog-hang")) row.laws.push("watchdog-hang");
    }
    row.runs++;
    const seconds = (performance.now() - t0) / 1000;
    row.seconds += seconds;
    o.onRun?.(`baseline ${kernel}`, i, { detected: row.violations > 0, seconds, law: row.laws[0] ?? null });
  }
  row.seconds = Math.round(row.seconds * 100) / 100;
  return row;
}

interface RunOutcome {
  detected: boolean;
  seconds: number;
  law: string | null;
  executions: number;
  reproduce?: string;
}

/** Free mode: one run of the whole budget; detected when it ends on a violation or a hang. */
async function freeRun(o: HuntOptions, b: BugEntry, seed: number, base: (k: KernelName, seed: number) => Omit<StressOptions, "scenario">): Promise<RunOutcome> {
  const { report } = await stress({ ...base(b.kernel, seed), scenario: b.scenario, bugs: [b.id] });
  const first = report.violations[0];
  const detected = report.verdict === "violation" || report.verdict === "hang";
  return { detected, seconds: first ? first.atSeconds : report.elapsedSeconds, law: first?.law ?? (report.verdict === "hang" ? "watchdog-hang" : null), executions: 1 };
}

/**
 * Controlled modes: short executions, each from its own seed, until one detects the bug or the
 * budget runs out. PCT's step bound k is learned from the previous execution's length.
 */
async function executions(o: HuntOptions, b: BugEntry, seed0: number, pool: CpuPool): Promise<RunOutcome> {
  const t0 = performance.now();
  let stepBound = 20_000;
  for (let e = 0; ; e++) {
    const seconds = (performance.now() - t0) / 1000;
    if (seconds >= o.budget || o.signal?.aborted) return { detected: false, seconds, law: null, executions: e };
    const run = {
      kernel: b.kernel,
      scenario: b.scenario,
      cpus: o.cpus,
      ops: o.opsPerExecution ?? 150 * o.cpus,
      mode: o.mode,
      seed: seed0 + e,
      ...(o.mode === "pct" ? { depth: o.depth ?? HUNT_DEPTH, stepBound } : {}),
      bugs: [b.id],
    };
    const { report } = await stress({
      ...run,
      seconds: o.budget - seconds,
      chaos: 0,
      keepGoing: false,
      watchdogSeconds: Math.min(5, Math.max(1, o.budget - seconds)),
      signal: o.signal,
      pool,
    });
    if (report.pctSteps) stepBound = report.pctSteps;
    if (report.verdict === "violation" || report.verdict === "hang") {
      const first = report.violations[0];
      return { detected: true, seconds: (performance.now() - t0) / 1000, law: first?.law ?? "watchdog-hang", executions: e + 1, reproduce: stressCommand(run) };
    }
  }
}

/** The command line that runs one controlled execution again. */
function stressCommand(r: { kernel: string; scenario: string; cpus: number; ops: number; mode: string; seed: number; depth?: number; stepBound?: number; bugs: string[] }): string {
  const pct = r.depth !== undefined ? ` --depth ${r.depth} --step-bound ${r.stepBound}` : "";
  return `forkstorm stress --kernel ${r.kernel} --scenario ${r.scenario} --cpus ${r.cpus} --ops ${r.ops} --mode ${r.mode} --seed ${r.seed}${pct}${r.bugs.map((id) => ` --bug ${id}`).join("")}`;
}

export function huntSummary(r: HuntReport): string {
  const lines = [`forkstorm hunt: ${r.verdict.toUpperCase()} (${r.config.seeds} seeds, ${r.config.budget} s budget, ${r.config.cpus} cpus, ${r.config.mode})`];
  const execs = r.config.mode !== "free";
  lines.push(`${"bug".padEnd(30)} ${"interlock".padEnd(22)} detected  median s${execs ? "  median execs" : ""}  law`);
  for (const b of r.bugs)
    lines.push(
      `${b.id.padEnd(30)} ${b.interlock.padEnd(22)} ${`${b.detected}/${b.runs}`.padStart(8)}  ${(b.medianSecondsToDetect?.toFixed(3) ?? "-").padStart(8)}${execs ? `  ${String(b.medianExecutionsToDetect ?? "-").padStart(12)}` : ""}  ${b.detectedBy.join(",")}`,
    );
  for (const b of r.bugs) if (b.reproduce?.length) lines.push(`reproduce ${b.id}: ${b.reproduce[0]}`);
  for (const b of r.baseline) lines.push(`baseline ${b.kernel}: ${b.runs} runs${b.executions !== undefined ? ` (${b.executions} executions)` : ""}, ${b.seconds} s, ${b.violations} violations${b.laws.length ? ` (${b.laws.join(",")})` : ""}`);
  return lines.join("\n");
}
