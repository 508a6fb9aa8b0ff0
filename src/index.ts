/*
 * The library API (docs/api.md): what the command line wraps, returning the same objects the
 * JSON reports hold, so a test suite can assert on them. Every option may be left out and takes
 * the command line's default. A run's outcome is a verdict in its report; what is thrown is a
 * UsageError (bad input) or an InternalError (a fault of forkstorm), both ForkstormErrors.
 */
import { ForkstormError, InternalError, UsageError } from "./errors.js";
import { resolveHuntOptions, resolveStressOptions, type HuntOptions, type StressOptions } from "./api/options.js";
import { stress as runStress, type StressOutcome } from "./run/stress.js";
import { hunt as runHunt, type HuntReport } from "./run/hunt.js";
import { checkDeterminism as runCheckDeterminism, replay as runReplay, type DeterminismOutcome, type ReplayOutcome } from "./run/replay.js";
import { reproduce as runReproduce, REPRODUCE_SECONDS, type ReproduceOutcome } from "./run/reproduce.js";
import { shrink as runShrink, SHRINK_SECONDS, type ShrinkOutcome } from "./run/shrink.js";
import { runScript as runScriptObject, type ScriptOutput } from "./script/runner.js";
import { litmus as runLitmus, type LitmusResult, type LitmusSpec } from "./run/litmus.js";
import { mergeHunts } from "./run/merge.js";

export { ForkstormError, UsageError, InternalError } from "./errors.js";
export { STRESS_DEFAULTS, HUNT_DEFAULTS, RANGES, MODES, parseShard, type StressOptions, type HuntOptions, type Mode } from "./api/options.js";
export { stressJunit, huntJunit, scriptJunit } from "./report/junit.js";
export { stressCommand, scriptCommand } from "./report/command.js";
export { GRADES, litmusHistogram, type Grade, type LitmusSpec, type LitmusResult, type LitmusRow } from "./run/litmus.js";
export type { Shard, HuntRun, HuntCoverage } from "./run/hunt.js";
export { listCatalog, type Catalog } from "./run/list.js";
export { huntSummary, type HuntReport, type HuntBugRow } from "./run/hunt.js";
export { stressSummary } from "./report/summary.js";
export type { StressOutcome } from "./run/stress.js";
export type { ReplayOutcome, DeterminismOutcome, RunPoint, Divergence } from "./run/replay.js";
export { reproductionLine } from "./run/replay.js";
export { findingOf, type Finding } from "./run/finding.js";
export type { ReproduceOutcome } from "./run/reproduce.js";
export type { ShrinkOutcome, RunSize } from "./run/shrink.js";
export type { ScriptOutput, ScriptStepResult, ScriptViolation, PsRow } from "./script/runner.js";
export type { StressReport, StressConfig, Verdict } from "./report/report.js";
export type { ViolationRecord } from "./sched/cpu.js";
export type { KernelName } from "./kern/kernel.js";

/** Anything thrown that is not a ForkstormError is a fault of ours: say so, keep the cause. */
function rethrowTyped(e: unknown): never {
  throw e instanceof ForkstormError ? e : new InternalError(e);
}

async function typed<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    rethrowTyped(e);
  }
}

/** A stress run (`forkstorm stress`): resolves to its report and the CLI's exit code. */
export function stress(options: StressOptions = {}): Promise<StressOutcome> {
  return typed(() => runStress(resolveStressOptions(options)));
}

/** The bug catalogue against the clean kernel (`forkstorm hunt`). */
export function hunt(options: HuntOptions = {}): Promise<{ report: HuntReport; exitCode: number }> {
  return typed(() => runHunt(resolveHuntOptions(options)));
}

/** Re-run a controlled-mode run from its report (`forkstorm replay`). */
export function replay(report: unknown, followSchedule = false): Promise<ReplayOutcome> {
  return typed(() => runReplay(report, followSchedule));
}

/** Run a report's controlled run `runs` times: does every run reach its point (`forkstorm replay --check-determinism`)? */
export function checkDeterminism(report: unknown, runs: number): Promise<DeterminismOutcome> {
  return typed(async () => {
    if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`runs must be a positive integer, got ${JSON.stringify(runs)}`);
    return runCheckDeterminism(report, runs);
  });
}

/** Seconds to spend: `reproduce`'s search, `shrink`'s work (their command lines' --budget). */
export interface ReproductionOptions {
  /** Default: reproduce 60, shrink 120. */
  seconds?: number;
  /** Write the resulting run's report there. */
  report?: string;
  signal?: AbortSignal;
}

function budget(o: ReproductionOptions, dflt: number): number {
  const s = o.seconds ?? dflt;
  if (typeof s !== "number" || !(s > 0)) throw new UsageError(`seconds must be a positive number, got ${JSON.stringify(s)}`);
  return s;
}

/** A find (a free-mode one too) made into a replayable controlled run breaking the same law in the same kernel function (`forkstorm reproduce`). */
export function reproduce(report: unknown, options: ReproductionOptions = {}): Promise<ReproduceOutcome> {
  return typed(() => runReproduce(report, { ...options, seconds: budget(options, REPRODUCE_SECONDS) }));
}

/** A failing controlled run made short: fewer decisions, calls, cpus and workers, the same law in the same kernel function (`forkstorm shrink`). */
export function shrink(report: unknown, options: ReproductionOptions & { trace?: string } = {}): Promise<ShrinkOutcome> {
  return typed(() => runShrink(report, { ...options, seconds: budget(options, SHRINK_SECONDS) }));
}

/** Run a deterministic syscall script (`forkstorm script`), given as the parsed JSON object. */
export function runScript(script: unknown): Promise<ScriptOutput> {
  return typed(() => runScriptObject(script));
}

/** A litmus test: a script run many times, each run's outcome graded (ACCEPTABLE, INTERESTING, FORBIDDEN). */
export function litmus(spec: LitmusSpec): Promise<LitmusResult> {
  return typed(() => runLitmus(spec));
}

/** The hunt reports of a hunt's shards put together: the whole hunt's report (`forkstorm merge`). */
export function merge(reports: readonly unknown[]): HuntReport {
  try {
    return mergeHunts(reports);
  } catch (e) {
    rethrowTyped(e);
  }
}
