/*
 * The library API (docs/api.md): what the command line wraps, returning the same objects the
 * JSON reports hold, so a test suite can assert on them. Every option may be left out and takes
 * the command line's default. A run's outcome is a verdict in its report; what is thrown is a
 * UsageError (bad input) or an InternalError (a fault of forkstorm), both ForkstormErrors.
 */
import { ForkstormError, InternalError } from "./errors.js";
import { resolveHuntOptions, resolveStressOptions, type HuntOptions, type StressOptions } from "./api/options.js";
import { stress as runStress, type StressOutcome } from "./run/stress.js";
import { hunt as runHunt, type HuntReport } from "./run/hunt.js";
import { replay as runReplay, type ReplayOutcome } from "./run/replay.js";
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
export type { ReplayOutcome } from "./run/replay.js";
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
