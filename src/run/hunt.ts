/*
 * `forkstorm hunt`: every chosen bug of the catalogue, injected into its scenario for `seeds`
 * runs of at most `budget` seconds each, and the clean kernel on the same budget. A bug counts as
 * detected in a run when the run ends on a violation or a hang; the law that caught it is kept.
 * The hunt passes when every bug is detected in every run and the baseline shows no violation.
 *
 * The work is a plan of runs, round by round: every bug's i-th run, then every kernel's i-th
 * baseline run, then round i+1. A time budget shares the time out along the plan (so every bug
 * gets a run before any gets a second one), and a shard k/N runs the plan positions that are
 * k-1 modulo N; each run's seeds depend only on its place in the plan, so the shards' reports
 * merge (merge.ts) into the report of the whole hunt, timings aside.
 */
import { CATALOG, type BugEntry } from "../bugs/catalog.js";
import type { DetectorName } from "../detect/index.js";
import { UsageError, type KernelName } from "../kern/kernel.js";
import { KERNELS } from "../kern/registry.js";
import { stressCommand } from "../report/command.js";
import { VERSION } from "../report/report.js";
import { CpuPool } from "../sched/machine.js";
import { coverageLine as interlockLine, CoverageTally, type CoverageReport } from "../sites/coverage.js";
import { stress, type StressOptions } from "./stress.js";

/**
 * pct hunts: the depth d each execution runs with unless --depth says otherwise. A hunt does not
 * know a bug's depth. With k in the hundreds of thousands, a spare change point mostly reorders
 * unrelated work, while each one is another chance at a one-point window: at d = 3 the vfork
 * lost wakeup (df.ppwait-no-interlock) was not found in 100 executions; at d = 20 it takes a
 * median of 6, and every other catalogued bug in a median of at most 6.
 */
export const HUNT_DEPTH = 20;

/** Shard `index` of `count` (1-based, as --shard k/N writes it). */
export interface Shard {
  index: number;
  count: number;
}

export interface HuntOptions {
  kernel: KernelName | "all";
  bugs: string[] | "all";
  /** Runs per bug and baseline runs per kernel; null (with a time budget only): rounds until the time is spent. */
  seeds: number | null;
  budget: number;
  cpus: number;
  mode: "free" | "pct" | "random";
  /** First seed; run i uses seed + i (controlled modes: seed + i * 100003, one per execution on from there). */
  seed: number;
  chaos: number;
  /** The scenario of the clean baseline. */
  baselineScenario?: string;
  /** pct mode: the bug depth d (d-1 priority change points per execution); default HUNT_DEPTH. */
  depth?: number;
  /** Controlled modes: system calls per execution (each execution is one short run). */
  opsPerExecution?: number;
  /** Field-level detectors on in every run (src/detect); default: every one. */
  detectors?: readonly DetectorName[];
  /** Seconds for the whole hunt: each run gets a fair share of what is left, and the hunt ends within it. */
  timeBudget?: number;
  /** Run only this shard of the plan. */
  shard?: Shard;
  onRun?: (what: string, i: number, outcome: { detected: boolean; seconds: number; law: string | null; executions?: number }) => void;
  signal?: AbortSignal;
  /** Worker threads to run on; default: a pool of the hunt's own, discarded at the end. */
  pool?: CpuPool;
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

/** One run of the plan, as it counted. */
export interface HuntRun {
  /** Its place in the plan (round-major; see the file's head). */
  position: number;
  /** The bug injected; null for a run of the clean baseline. */
  bug: string | null;
  kernel: KernelName;
  /** Its round: the bug's (or baseline's) i-th run. */
  round: number;
  /** The run's seed (controlled modes: its first execution's). */
  seed: number;
  /** A bug run: the bug was detected. A baseline run: a law was broken (a false positive). */
  detected: boolean;
  /** Seconds to the detection, or the run's length when nothing was detected. */
  seconds: number;
  /** The law that caught the bug (a bug run); the first law broken (a baseline run). */
  law: string | null;
  /** Controlled modes: executions run (to the detection, for a bug run). */
  executions?: number;
  /** A baseline run: violations, and the laws they broke. */
  violations?: number;
  laws?: string[];
  /**
   * The stress command that runs the detecting execution again: controlled modes, a bug's
   * detection; any mode, a baseline's first violation.
   */
  reproduce?: string;
}

export interface HuntCoverage {
  /** Runs that counted, of the plan's (null: as many as the time budget allowed). */
  runs: number;
  planned: number | null;
  /** Runs a time budget or an interrupt cut short before they found anything: counted neither way. */
  cut: number;
  /** Bugs (by id) and baselines ("baseline KERNEL") of the plan that got no run at all. */
  notRun: string[];
}

export interface HuntReport {
  schema: 1;
  tool: "forkstorm";
  version: string;
  command: "hunt";
  config: Omit<HuntOptions, "onRun" | "signal" | "pool">;
  /** "interrupted": stopped by a signal; what ran is tabulated, the run in flight counted neither way. */
  verdict: "pass" | "fail" | "interrupted";
  baseline: { kernel: KernelName; runs: number; seconds: number; violations: number; laws: string[]; executions?: number }[];
  bugs: HuntBugRow[];
  coverage: HuntCoverage;
  /** Per kernel: the interlock sites and kernel functions the hunt's runs reached (src/sites). */
  interlocks: CoverageReport[];
  /** Every run that counted, in plan order: what merge.ts puts shards together from. */
  runLog: HuntRun[];
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

/** A round of the plan: its slots, the bugs then the kernels' baselines. */
interface Slot {
  bug: BugEntry | null;
  kernel: KernelName;
}

function slotsOf(o: Pick<HuntOptions, "kernel" | "bugs">): Slot[] {
  const kernels = o.kernel === "all" ? [...KERNELS] : [o.kernel];
  return [...chooseBugs(o.kernel, o.bugs).map((b) => ({ bug: b, kernel: b.kernel })), ...kernels.map((k) => ({ bug: null, kernel: k }))];
}

const slotName = (s: Slot) => s.bug?.id ?? `baseline ${s.kernel}`;

const inShard = (position: number, shard: Shard | undefined) => !shard || position % shard.count === shard.index - 1;

/**
 * The slots a shard ever runs (slot j of round r is at position r * P + j, and positions repeat
 * their residues modulo N after N rounds), and how many runs its plan holds (null: unbounded).
 */
export function shardPlan(o: Pick<HuntOptions, "kernel" | "bugs" | "seeds" | "shard">): { slots: Slot[]; planned: number | null } {
  const all = slotsOf(o);
  const p = all.length;
  const count = o.shard?.count ?? 1;
  const rounds = Math.min(o.seeds ?? count, count);
  const slots = all.filter((_, j) => Array.from({ length: rounds }, (_, r) => r * p + j).some((pos) => inShard(pos, o.shard)));
  let planned: number | null = null;
  if (o.seeds !== null) {
    planned = 0;
    for (let pos = 0; pos < p * o.seeds; pos++) if (inShard(pos, o.shard)) planned++;
  }
  return { slots, planned };
}

/** A run's outcome, or null when it was cut short before it found anything. */
type Outcome = Omit<HuntRun, "position" | "bug" | "kernel" | "round"> | null;

/** Stop starting runs with less than this left of a time budget; keep this much to stop the last one. */
const MIN_RUN_SECONDS = 0.25;
const stopReserve = (timeBudget: number) => Math.min(2, 0.05 * timeBudget);

export async function hunt(o: HuntOptions): Promise<{ report: HuntReport; exitCode: number }> {
  if (o.seeds === null && o.timeBudget === undefined) throw new UsageError("a hunt without a number of seeds needs a time budget");
  const slots = slotsOf(o);
  const t0 = performance.now();
  const left = () => (o.timeBudget === undefined ? Infinity : o.timeBudget - stopReserve(o.timeBudget) - (performance.now() - t0) / 1000);
  // The time budget's end cuts the run in flight; an interrupt (o.signal) ends the hunt.
  const deadline = new AbortController();
  const timer = o.timeBudget === undefined ? null : setTimeout(() => deadline.abort(), Math.max(0, left()) * 1000);
  const signal = o.signal ? AbortSignal.any([o.signal, deadline.signal]) : deadline.signal;
  const pool = o.pool ?? new CpuPool(o.cpus);
  const runLog: HuntRun[] = [];
  const seen = new CoverageTally();
  let cut = 0;
  /**
   * Seconds a run that finds nothing takes beyond its budget (starting the cpus, the drain, the
   * audits), averaged: a share leaves room for it.
   */
  let overhead = 0.5;
  try {
    rounds: for (let round = 0; o.seeds === null || round < o.seeds; round++) {
      const mine = slots.map((s, j) => ({ ...s, position: round * slots.length + j })).filter((u) => inShard(u.position, o.shard));
      for (let j = 0; j < mine.length; j++) {
        const u = mine[j];
        // A fair share of what is left: the runs left in this round, and in the rounds after it
        // when their number is known (so every bug's i-th run still fits).
        const runsLeft = mine.length - j + (o.seeds === null ? 0 : (o.seeds - round - 1) * mine.length);
        const share = left() / runsLeft - overhead;
        if (signal.aborted || left() < MIN_RUN_SECONDS) break rounds;
        const budget = Math.max(MIN_RUN_SECONDS, Math.min(o.budget, share));
        const t = performance.now();
        const r = u.bug ? await bugRun(o, u.bug, round, budget, signal, pool, seen) : await baselineRun(o, u.kernel, round, budget, signal, pool, seen);
        if (r === null) {
          cut++;
          continue;
        }
        if (!r.detected || !u.bug) overhead = 0.5 * overhead + 0.5 * Math.max(0, (performance.now() - t) / 1000 - budget);
        runLog.push({ position: u.position, bug: u.bug?.id ?? null, kernel: u.kernel, round, ...r });
        o.onRun?.(u.bug ? u.bug.id : `baseline ${u.kernel}`, round, r);
      }
    }
  } finally {
    if (timer) clearTimeout(timer);
    if (!o.pool) await pool.discard();
  }
  const { onRun: _onRun, signal: _signal, pool: _pool, ...config } = o;
  const interrupted = o.signal?.aborted ?? false;
  const report = { ...tabulate(config, runLog, cut, seen.reports()), ...(interrupted ? { verdict: "interrupted" as const } : {}) };
  return { report, exitCode: interrupted ? 130 : report.verdict === "pass" ? 0 : 1 };
}

/**
 * The report of a hunt from the runs that counted (a hunt's own, or its shards' put together):
 * a row per bug and per baseline kernel, what the plan covered, and the verdict.
 */
export function tabulate(config: HuntReport["config"], runs: readonly HuntRun[], cut: number, interlocks: CoverageReport[]): HuntReport {
  const log = [...runs].sort((a, b) => a.position - b.position);
  const controlled = config.mode !== "free";
  const { slots, planned } = shardPlan(config);
  const bugs: HuntBugRow[] = chooseBugs(config.kernel, config.bugs).map((b) => {
    const mine = log.filter((r) => r.bug === b.id);
    const hits = mine.filter((r) => r.detected);
    return {
      id: b.id,
      kernel: b.kernel,
      interlock: b.interlock,
      description: b.description,
      runs: mine.length,
      detected: hits.length,
      secondsToDetect: hits.map((r) => r.seconds),
      medianSecondsToDetect: median(hits.map((r) => r.seconds)),
      ...(controlled ? { executionsToDetect: hits.map((r) => r.executions!), medianExecutionsToDetect: median(hits.map((r) => r.executions!)), reproduce: hits.flatMap((r) => (r.reproduce ? [r.reproduce] : [])) } : {}),
      detectedBy: [...new Set(hits.flatMap((r) => (r.law ? [r.law] : [])))],
    };
  });
  const kernels = config.kernel === "all" ? [...KERNELS] : [config.kernel];
  const baseline = kernels.map((kernel) => {
    const mine = log.filter((r) => r.bug === null && r.kernel === kernel);
    return {
      kernel,
      runs: mine.length,
      seconds: Math.round(mine.reduce((s, r) => s + r.seconds, 0) * 100) / 100,
      violations: mine.reduce((s, r) => s + r.violations!, 0),
      laws: [...new Set(mine.flatMap((r) => r.laws!))],
      ...(controlled ? { executions: mine.reduce((s, r) => s + r.executions!, 0) } : {}),
    };
  });
  const notRun = slots.filter((s) => !log.some((r) => r.bug === (s.bug?.id ?? null) && r.kernel === s.kernel)).map(slotName);
  const complete = config.timeBudget !== undefined || log.length === planned;
  const pass = complete && notRun.length === 0 && bugs.every((r) => r.detected === r.runs) && baseline.every((b) => b.violations === 0);
  return { schema: 1, tool: "forkstorm", version: VERSION, command: "hunt", config, verdict: pass ? "pass" : "fail", baseline, bugs, coverage: { runs: log.length, planned, cut, notRun }, interlocks, runLog: log };
}

/** A run of the hunt, its interlock coverage kept. */
async function stressSeen(seen: CoverageTally, run: StressOptions): ReturnType<typeof stress> {
  const out = await stress(run);
  seen.add(out.report.coverage);
  return out;
}

/** The seed of a bug's or baseline's i-th run (controlled modes: its first execution's). */
const seedOf = (o: HuntOptions, round: number) => (o.mode === "free" ? o.seed + round : o.seed + round * 100_003);

const round3 = (s: number) => Math.round(s * 1000) / 1000;

/** A bug's run: free mode, one run of the budget; controlled modes, executions until one detects it. */
async function bugRun(o: HuntOptions, b: BugEntry, round: number, budget: number, signal: AbortSignal, pool: CpuPool, seen: CoverageTally): Promise<Outcome> {
  const seed = seedOf(o, round);
  if (o.mode !== "free") return executions(o, b, seed, budget, signal, pool, seen);
  const { report } = await stressSeen(seen, { kernel: b.kernel, scenario: b.scenario, cpus: o.cpus, seconds: budget, mode: "free", seed, chaos: o.chaos, bugs: [b.id], keepGoing: false, detectors: o.detectors, signal, pool });
  const first = report.violations[0];
  const detected = first !== undefined || report.verdict === "hang";
  if (!detected && report.verdict === "interrupted") return null;
  return { seed, detected, seconds: round3(first ? first.atSeconds : report.elapsedSeconds), law: first?.law ?? (detected ? "watchdog-hang" : null) };
}

/**
 * Controlled modes: short executions, each from its own seed, until one detects the bug or the
 * budget runs out. PCT's step bound k is learned from the previous execution's length.
 */
async function executions(o: HuntOptions, b: BugEntry, seed0: number, budget: number, signal: AbortSignal, pool: CpuPool, seen: CoverageTally): Promise<Outcome> {
  // The budget's clock: the executions' own time, from their cpus up (workers starting, machines
  // booting are not the bug's time); a detection past the budget is a miss, as in free mode.
  let used = 0;
  let stepBound = 20_000;
  for (let e = 0; ; e++) {
    if (signal.aborted) return null;
    if (used >= budget) return { seed: seed0, detected: false, seconds: round3(used), law: null, executions: e };
    const run = {
      kernel: b.kernel,
      scenario: b.scenario,
      cpus: o.cpus,
      ops: o.opsPerExecution ?? 150 * o.cpus,
      mode: o.mode,
      seed: seed0 + e,
      ...(o.mode === "pct" ? { depth: o.depth ?? HUNT_DEPTH, stepBound } : {}),
      bugs: [b.id],
      ...(o.detectors ? { detectors: [...o.detectors] } : {}),
    };
    const { report } = await stressSeen(seen, { ...run, seconds: budget - used, chaos: 0, keepGoing: false, watchdogSeconds: Math.min(5, Math.max(1, budget - used)), signal, pool });
    if (report.pctSteps) stepBound = report.pctSteps;
    const first = report.violations[0];
    const at = used + (first ? first.atSeconds : report.elapsedSeconds);
    used += report.elapsedSeconds;
    if (report.verdict !== "violation" && report.verdict !== "hang") continue;
    if (at > budget) return { seed: seed0, detected: false, seconds: round3(budget), law: null, executions: e + 1 };
    return { seed: seed0, detected: true, seconds: round3(at), law: first?.law ?? "watchdog-hang", executions: e + 1, reproduce: stressCommand(run) };
  }
}

/**
 * The clean kernel on a run's budget: free mode, one run of the budget; controlled modes, short
 * executions filling the budget, each bounded by system calls (so each replays).
 */
async function baselineRun(o: HuntOptions, kernel: KernelName, round: number, budget: number, signal: AbortSignal, pool: CpuPool, seen: CoverageTally): Promise<Outcome> {
  const controlled = o.mode !== "free";
  const scenario = o.baselineScenario ?? "mixed";
  const seed = seedOf(o, round);
  const laws: string[] = [];
  let violations = 0;
  let executions = 0;
  let reproduce: string | undefined;
  const t0 = performance.now();
  for (;;) {
    const rest = budget - (performance.now() - t0) / 1000;
    if ((controlled ? rest <= 0 : executions > 0) || signal.aborted) break;
    const common = { kernel, scenario, cpus: o.cpus, keepGoing: false, signal, pool, bugs: [], detectors: o.detectors };
    const run: StressOptions = controlled
      ? { ...common, mode: o.mode, seed: seed + executions, ops: o.opsPerExecution ?? 150 * o.cpus, seconds: rest, chaos: 0, ...(o.mode === "pct" ? { depth: o.depth ?? HUNT_DEPTH } : {}) }
      : { ...common, mode: "free", seed, seconds: budget, chaos: o.chaos };
    const { report } = await stressSeen(seen, run);
    if (report.verdict === "interrupted" && report.violations.length === 0) break;
    executions++;
    violations += report.violations.length + (report.verdict === "hang" || report.verdict === "error" ? 1 : 0);
    for (const v of report.violations) if (!laws.includes(v.law)) laws.push(v.law);
    if (report.verdict === "hang" && !laws.includes("watchdog-hang")) laws.push("watchdog-hang");
    if (laws.length) reproduce ??= stressCommand(report.config);
  }
  // Cut short: the executions that ran to their end (and their audits) count; with none, the run is cut.
  if (violations === 0 && signal.aborted && executions === 0) return null;
  const seconds = round3((performance.now() - t0) / 1000);
  return { seed, detected: violations > 0, seconds, law: laws[0] ?? null, violations, laws, ...(controlled ? { executions } : {}), ...(reproduce ? { reproduce } : {}) };
}

export function huntSummary(r: HuntReport): string {
  const c = r.config;
  const seeds = c.seeds === null ? "seeds while time lasts" : `${c.seeds} seeds`;
  const extras = [c.timeBudget !== undefined ? `time budget ${c.timeBudget} s` : "", c.shard ? `shard ${c.shard.index}/${c.shard.count}` : ""].filter(Boolean);
  const lines = [`forkstorm hunt: ${r.verdict.toUpperCase()} (${seeds}, ${c.budget} s budget, ${c.cpus} cpus, ${c.mode}${extras.map((x) => `, ${x}`).join("")})`];
  const execs = c.mode !== "free";
  lines.push(`${"bug".padEnd(30)} ${"interlock".padEnd(22)} detected  median s${execs ? "  median execs" : ""}  law`);
  for (const b of r.bugs)
    lines.push(
      `${b.id.padEnd(30)} ${b.interlock.padEnd(22)} ${`${b.detected}/${b.runs}`.padStart(8)}  ${(b.medianSecondsToDetect?.toFixed(3) ?? "-").padStart(8)}${execs ? `  ${String(b.medianExecutionsToDetect ?? "-").padStart(12)}` : ""}  ${b.detectedBy.join(",")}`,
    );
  for (const b of r.bugs) if (b.reproduce?.length) lines.push(`reproduce ${b.id}: ${b.reproduce[0]}`);
  for (const b of r.baseline) lines.push(`baseline ${b.kernel}: ${b.runs} runs${b.executions !== undefined ? ` (${b.executions} executions)` : ""}, ${b.seconds} s, ${b.violations} violations${b.laws.length ? ` (${b.laws.join(",")})` : ""}`);
  lines.push(coverageLine(r.coverage));
  lines.push(...r.interlocks.map(interlockLine));
  return lines.join("\n");
}

function coverageLine(c: HuntCoverage): string {
  const of = c.planned === null ? "" : ` of ${c.planned} planned`;
  const cut = c.cut ? `; ${c.cut} cut short by the time budget or an interrupt (not counted)` : "";
  const missing = c.notRun.length ? `; never ran: ${c.notRun.join(", ")}` : "";
  return `covered: ${c.runs} runs${of}${cut}${missing}`;
}
