/*
 * `forkstorm reproduce REPORT`: turn a find into a run that can be replayed. A free-mode run's
 * interleaving came from real parallelism and is gone; what it found -- the law and the kernel
 * function that broke it (finding.ts) -- is not. Re-hunt the same kernel, scenario, bugs, cpus,
 * population and field-level detectors under the controlled strategies, in short ops-bounded
 * executions (each a complete reproduction, as in a controlled hunt), until one breaks the same
 * law at the same site, within a budget. The execution's report is the replayable one: `forkstorm replay` reaches its
 * violation, `forkstorm shrink` makes it short.
 */
import type { DetectorName } from "../detect/index.js";
import { UsageError } from "../kern/kernel.js";
import { writeJsonOrSave, type StressReport, type WriteFailure } from "../report/report.js";
import { CpuPool } from "../sched/machine.js";
import { subseed } from "../sched/rng.js";
import { stressCommand } from "../report/command.js";
import { describeFinding, findingOf, sameFinding, type Finding } from "./finding.js";
import { HUNT_DEPTH } from "./hunt.js";
import { checkDetectors } from "./replay.js";
import { checkBugs, stress, type StressOptions } from "./stress.js";

/** What is searched: a kernel, scenario, bugs, cpus, population and detectors, as in the find. */
export type SearchSpace = Pick<StressOptions, "kernel" | "scenario" | "cpus" | "bugs" | "population" | "detectors">;

export interface SearchBudget {
  seconds: number;
  executions?: number;
  /** System calls per execution; default 150 per cpu, as a controlled hunt's. */
  opsPerExecution?: number;
  signal?: AbortSignal;
  onExecution?: (i: number, report: StressReport) => void;
}

export interface Found {
  report: StressReport;
  /** The options that ran it (a controlled, ops-bounded run). */
  options: StressOptions;
}

export interface SearchResult {
  found: Found | null;
  executions: number;
  seconds: number;
}

/** Seconds `reproduce` (and `stress --reproduce`) search by default. */
export const REPRODUCE_SECONDS = 60;

/** One in this many executions is uniformly random rather than PCT: another shape of interleaving. */
const RANDOM_EVERY = 4;

/**
 * Controlled executions over the space, from seeds derived from `seed`, until one finds `want`
 * or the budget is spent. PCT (at a hunt's depth, its step bound learned from the execution
 * before) with a uniformly random execution now and then.
 */
export async function searchControlled(space: SearchSpace, want: Finding, seed: number, budget: SearchBudget, pool: CpuPool): Promise<SearchResult> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  let stepBound = 20_000;
  for (let e = 0; ; e++) {
    const left = budget.seconds - seconds();
    if (left <= 0 || e >= (budget.executions ?? Infinity) || budget.signal?.aborted) return { found: null, executions: e, seconds: seconds() };
    const random = e % RANDOM_EVERY === RANDOM_EVERY - 1;
    const options: StressOptions = {
      ...space,
      ops: budget.opsPerExecution ?? 150 * space.cpus,
      mode: random ? "random" : "pct",
      seed: subseed(seed, e) & 0x7fffffff,
      ...(random ? {} : { depth: HUNT_DEPTH, stepBound }),
      chaos: 0,
      keepGoing: false,
      watchdogSeconds: Math.min(5, Math.max(1, left)),
      signal: budget.signal,
      pool,
    };
    const { report } = await stress(options);
    budget.onExecution?.(e, report);
    if (report.pctSteps) stepBound = report.pctSteps;
    if (sameFinding(want, findingOf(report))) return { found: { report, options: { ...options, signal: undefined, pool: undefined } }, executions: e + 1, seconds: seconds() };
  }
}

export interface ReproduceOptions extends Omit<SearchBudget, "executions"> {
  /** Write the controlled report there. */
  report?: string;
}

export interface ReproduceOutcome {
  finding: Finding;
  reproduced: boolean;
  executions: number;
  seconds: number;
  /** The controlled run that found the same law at the same site. */
  report: StressReport | null;
  /** The stress command that runs it again. */
  command: string | null;
  /** The report could not be written where asked (and where it went instead). */
  unwritten: WriteFailure | null;
}

/** A report with something to reproduce, from a parsed file; throws UsageError (one line) if not. */
export function checkFind(raw: unknown): { report: StressReport; finding: Finding } {
  const r = raw as Partial<StressReport>;
  if (typeof raw !== "object" || raw === null || r.schema !== 1 || r.command !== "stress" || typeof r.config !== "object" || !Array.isArray(r.violations)) throw new UsageError("not a forkstorm stress report (schema 1)");
  const finding = findingOf(r as StressReport);
  if (!finding) throw new UsageError(`the run broke no law (verdict ${String(r.verdict)}): there is nothing to reproduce`);
  const c = r.config;
  if (c.kernel !== "dragonfly" && c.kernel !== "netbsd") throw new UsageError(`unknown kernel "${String(c.kernel)}" in the report`);
  try {
    checkBugs(c.kernel, c.bugs ?? []);
  } catch (e) {
    throw new UsageError(`the report injects a bug the catalogue no longer has: ${(e as Error).message}`);
  }
  checkDetectors(c.detectors, "its find cannot be searched for");
  return { report: r as StressReport, finding };
}

export async function reproduce(raw: unknown, o: ReproduceOptions): Promise<ReproduceOutcome> {
  const { report: find, finding } = checkFind(raw);
  const c = find.config;
  const space: SearchSpace = { kernel: c.kernel as "dragonfly" | "netbsd", scenario: c.scenario, cpus: c.cpus, bugs: c.bugs, population: c.population, detectors: c.detectors as DetectorName[] | undefined };
  const pool = new CpuPool(c.cpus);
  let result: SearchResult;
  try {
    result = await searchControlled(space, finding, c.seed, o, pool);
  } finally {
    await pool.discard();
  }
  const found = result.found;
  const unwritten = found && o.report ? writeJsonOrSave(o.report, found.report) : null;
  return { finding, reproduced: found !== null, executions: result.executions, seconds: result.seconds, report: found?.report ?? null, command: found ? stressCommand(found.report.config) : null, unwritten };
}

export function reproduceSummary(r: ReproduceOutcome): string {
  const what = describeFinding(r.finding);
  const spent = `${r.executions} controlled executions, ${r.seconds.toFixed(1)} s`;
  if (!r.reproduced) return `forkstorm reproduce: NOT REPRODUCED: no controlled run broke ${what} (${spent})`;
  const v = r.report!.violations[0];
  return [`forkstorm reproduce: REPRODUCED ${what} (${spent})${v ? `, at step ${v.step}` : ""}`, `reproduce: ${r.command}`].join("\n");
}
