/*
 * Reports (CONTRACTS.md): the versioned JSON written atomically whatever the verdict, and the
 * merging of what every cpu handed back into one view.
 */
import { accessSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { CpuResult, ThreadDump, ViolationRecord } from "../sched/cpu.js";
import { PACKAGE_ROOT } from "../sched/machine.js";
import { mergeLockstat, type LockStat } from "../sync/lockstat.js";
import { cyclesIn } from "../sync/witness.js";
import type { SyscallCount } from "../kern/usermode.js";
import type { SchedStat } from "../sched/schedstat.js";
import type { CostModel, VirtualSummary } from "../sched/virtual.js";
import type { CoverageReport } from "../sites/coverage.js";

export const VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;

/** "violation" wins over "hang": a run that broke laws and then hung reports both, as a violation. */
export type Verdict = "clean" | "violation" | "hang" | "error" | "interrupted";

/**
 * How a hang was seen. quiescent: nothing runnable and no timed sleep pending -- nothing can ever
 * run again (found at once, not after a timeout); watchdog: no system call completed for the
 * watchdog's time; drain-timeout: the end-of-run drain did not finish in its time.
 */
export interface HangCause {
  cause: "quiescent" | "watchdog" | "drain-timeout";
  /** While the workload ran, or in the end-of-run drain (programs told to exit, init reaping). */
  during: "run" | "drain";
  /** Seconds into that phase when the hang was called. */
  afterSeconds: number;
}

export interface StressConfig {
  kernel: string;
  scenario: string;
  cpus: number;
  mode: string;
  seed: number;
  seconds?: number;
  ops?: number;
  chaos: number;
  bugs: string[];
  /** A mutant's run (forkstorm mutate): `KEY:OPERATOR` of the interlock site forgotten. */
  mutant?: string;
  keepGoing: boolean;
  /** Seconds without a completed system call before a run is called hung (absent in reports before it was kept). */
  watchdogSeconds?: number;
  /** pct only */
  depth?: number;
  stepBound?: number;
  /** virtual only: the cost model, ns (src/sched/virtual.ts); `seconds` is then virtual. */
  cost?: CostModel;
  /** schedule mode: the decisions that differ from the default, as a schedule string (src/sched/decisions.ts). */
  schedule?: string;
  /** Worker processes init keeps alive, when not the scenario's. */
  population?: number;
  /** Field-level detectors that were on (src/detect); absent in reports made before they existed: all. */
  detectors?: string[];
}

export interface StressReport {
  schema: 1;
  tool: "forkstorm";
  version: string;
  command: "stress";
  config: StressConfig;
  verdict: Verdict;
  elapsedSeconds: number;
  ops: { total: number; bySyscall: Record<string, SyscallCount> };
  /** Controlled modes only: hash of the event sequence; null in free mode. */
  eventHash: string | null;
  steps: number;
  /** Controlled modes: the decisions among them where more than one cpu could run. */
  choices?: number;
  /** pct mode: the weighted steps the run took (pct.ts), the k a following run should draw from. */
  pctSteps?: number;
  /** Controlled modes: the decisions taken, run-length encoded [cpu, count, ...] (null if too long). */
  schedule?: number[] | null;
  /**
   * Controlled modes: the decisions that differed from the default, as a schedule string
   * (`stress --schedule` runs it again); null when there were too many to keep.
   */
  decisions?: string | null;
  /** Controlled modes: system calls completed when the drain started (null: it never did). */
  drainedAtOps?: number | null;
  violations: ViolationRecord[];
  /** What the field-level detectors said besides violations (a stand-down, and why). */
  detectorNotes?: string[];
  hang: null | (HangCause & { threads: ThreadDump[] });
  lockstat: LockStat[];
  witness: { cycle: string[] }[];
  /** Virtual mode: the run's virtual length, each cpu's clock, what was charged. */
  virtual?: VirtualSummary;
  /** Free mode: where the cpus' time went, summed over cpus (src/sched/schedstat.ts). */
  schedstat?: SchedStat;
  /** Which interlock sites and kernel functions the run reached, and which sites concurrently. */
  coverage: CoverageReport;
  /** Internal error text when verdict is "error". */
  error?: string;
}

/**
 * Why `file` cannot be written, or null when it can: checked before a run, so that a run is
 * never spent only to fail at the end. Writing needs the directory (temporary file, rename).
 */
export function checkOutputPath(file: string): string | null {
  if (file === "") return "an empty file name";
  const at = statSync(file, { throwIfNoEntry: false });
  if (at?.isDirectory()) return "is a directory";
  const dir = dirname(resolve(file));
  const d = statSync(dir, { throwIfNoEntry: false });
  if (!d) return `directory ${dir} does not exist`;
  if (!d.isDirectory()) return `${dir} is not a directory`;
  try {
    accessSync(dir, constants.W_OK);
    if (at) accessSync(file, constants.W_OK);
  } catch {
    return at ? "is not writable" : `directory ${dir} is not writable`;
  }
  return null;
}

/** Write to a temporary file, then rename it over the target: never a half-written file, and no temporary file left behind. */
export function writeTextAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const jsonText = (value: unknown) => JSON.stringify(value, null, 2) + "\n";

export function writeJsonAtomic(file: string, value: unknown): void {
  writeTextAtomic(file, jsonText(value));
}

/** A file that could not be written where asked (after the up-front check passed: disk full, directory gone...). */
export interface WriteFailure {
  file: string;
  /** The system's reason (ENOSPC...). */
  error: string;
  /** Where the content went instead, or null if that failed too. */
  savedTo: string | null;
}

/**
 * Write atomically; if that fails, save it in the temporary directory instead, so that what a
 * run found is never lost to a write error. Null when written where asked.
 */
export function writeTextOrSave(file: string, text: string): WriteFailure | null {
  try {
    writeTextAtomic(file, text);
    return null;
  } catch (e) {
    const error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const fallback = join(tmpdir(), `forkstorm-${process.pid}-${basename(file)}`);
    try {
      writeTextAtomic(fallback, text);
      return { file, error, savedTo: fallback };
    } catch {
      return { file, error, savedTo: null };
    }
  }
}

export function writeJsonOrSave(file: string, value: unknown): WriteFailure | null {
  return writeTextOrSave(file, jsonText(value));
}

/** One line saying what became of a file that could not be written. */
export function describeWriteFailure(f: WriteFailure): string {
  return `could not write ${f.file} (${f.error}); ${f.savedTo ? `it is in ${f.savedTo} instead` : "nor a copy in the temporary directory"}`;
}

export function mergeSyscalls(results: readonly CpuResult[]): { total: number; bySyscall: Record<string, SyscallCount> } {
  const by: Record<string, SyscallCount> = {};
  let total = 0;
  for (const r of results) {
    const counts = (r.extras.syscalls ?? {}) as Record<string, SyscallCount>;
    for (const [name, c] of Object.entries(counts)) {
      const t = (by[name] ??= { calls: 0, ok: 0, errno: {} });
      t.calls += c.calls;
      t.ok += c.ok;
      total += c.calls;
      for (const [e, n] of Object.entries(c.errno)) t.errno[e] = (t.errno[e] ?? 0) + n;
    }
  }
  return { total, bySyscall: Object.fromEntries(Object.entries(by).sort(([a], [b]) => a.localeCompare(b))) };
}

export function mergeLocks(results: readonly CpuResult[]): { lockstat: LockStat[]; witness: { cycle: string[] }[] } {
  return { lockstat: mergeLockstat(results.map((r) => r.lockstat)), witness: cyclesIn(results.map((r) => r.witness)) };
}

/** Every cpu's threads, each waiting thread naming the threads (on any cpu) that hold what it waits for. */
export function mergeThreads(results: readonly CpuResult[]): ThreadDump[] {
  const threads = results.flatMap((r) => r.threads);
  return threads.map((t) => ({
    ...t,
    waitsForHolders: t.waitsFor === null ? [] : threads.filter((o) => o !== t && o.holds.includes(t.waitsFor!)).map((o) => ({ cpu: o.cpu, tid: o.tid, pid: o.pid })),
  }));
}

/**
 * Violations in the order they happened, each with the last events of every cpu: its own cpu's as
 * they were when it broke the law, the others' as they were when the run stopped. A controlled
 * run orders them by step -- what it replays: the wall-clock times of one schedule differ from
 * run to run, and a report with the same event hash lists the same violations in the same order
 * (one step is one cpu's; violations of one step, and the laws checked at the end, keep the order
 * they were found in). A free run has no steps: by time.
 */
export function mergeViolations(results: readonly CpuResult[], extra: readonly ViolationRecord[] = [], controlled = false): ViolationRecord[] {
  const found = [...results].sort((a, b) => a.cpu - b.cpu).flatMap((r) => r.violations);
  const all = [...found, ...extra].sort(controlled ? (a, b) => a.step - b.step : (a, b) => a.atSeconds - b.atSeconds);
  const tails = results.map((r) => ({ cpu: r.cpu, events: r.events.slice(-16) }));
  // A live law's violation has no events of its own: its cpu's are the tail, as for the others.
  const own = (v: ViolationRecord) => (v.cpu < 0 ? [] : [{ cpu: v.cpu, events: v.events.length ? v.events : (tails.find((t) => t.cpu === v.cpu)?.events ?? []) }]);
  return all.map((v) => ({ ...v, atSeconds: Math.round(v.atSeconds * 1000) / 1000, events: [...own(v), ...tails.filter((t) => t.cpu !== v.cpu)] }));
}
