/*
 * `forkstorm replay REPORT`: re-run a controlled-mode run from its report and confirm the same
 * outcome -- the same first violation at the same step with the same event hash, or for a run
 * that broke nothing, the same verdict and hash at its end.
 *
 * A controlled run is a function of its seed, its configuration and the system call at which its
 * drain started (the report's drainedAtOps), whatever bounded it: an --ops run drains at its
 * bound, a --seconds run where the clock ran out, and a run stopped at a violation or by ^C
 * before any drain is the same as any run longer than its first violation. So a replay runs to
 * the first violation and stops there, bounded by the drain the original had or, if it had none,
 * just past the system calls it made. Refused at once: a free-mode run (real parallelism;
 * `forkstorm reproduce` turns it into a controlled one), a run stopped by ^C before it broke any
 * law (nothing to reach), one that ended on an internal error, and one that injects a bug the
 * catalogue no longer has.
 *
 * --follow-schedule follows the recorded decisions one by one (the replay strategy) instead of
 * re-deriving them from the seed.
 */
import { CATALOG } from "../bugs/catalog.js";
import { DETECTORS, type DetectorName } from "../detect/index.js";
import { UsageError } from "../kern/kernel.js";
import { stressCommand } from "../report/command.js";
import type { StressReport } from "../report/report.js";
import { parseSchedule } from "../sched/decisions.js";
import type { LoggedEvent } from "../sched/eventlog.js";
import { CpuPool } from "../sched/machine.js";
import { stress, type StressOptions } from "./stress.js";

export interface RunPoint {
  verdict: string;
  law: string | null;
  step: number | null;
  /** The hash as of the first violation, or at the end of a run that broke nothing. */
  eventHash: string | null;
}

export interface ReplayOutcome {
  reproduced: boolean;
  original: RunPoint;
  replayed: RunPoint;
  report: StressReport;
}

/** Where a run got to: its first violation, or its end. */
export function pointOf(r: StressReport): RunPoint {
  const v = r.violations[0];
  if (!v) return { verdict: r.verdict, law: null, step: null, eventHash: r.eventHash };
  return { verdict: "violation", law: v.law, step: v.step, eventHash: v.eventHash ?? null };
}

/** The same first violation at the same step (with the same hash, where both have one), or the same end. */
export function samePoint(a: RunPoint, b: RunPoint): boolean {
  return a.verdict === b.verdict && a.law === b.law && a.step === b.step && (a.eventHash === null || a.eventHash === b.eventHash);
}

function refuse(why: string): never {
  throw new UsageError(why);
}

/** The report's detectors all exist in this version; else a UsageError saying `consequence`. */
export function checkDetectors(detectors: readonly string[] | undefined, consequence: string): void {
  for (const d of detectors ?? []) if (!(DETECTORS as readonly string[]).includes(d)) refuse(`the report ran detector "${d}", which this version does not have: ${consequence}`);
}

/** Check that a parsed report describes a run that can be replayed; throws UsageError (one line) if not. */
export function checkReplayable(raw: unknown): StressReport {
  const r = raw as Partial<StressReport>;
  if (typeof raw !== "object" || raw === null || r.schema !== 1 || r.command !== "stress" || typeof r.config !== "object" || !Array.isArray(r.violations)) refuse("not a forkstorm stress report (schema 1)");
  const c = r.config;
  if (c.mode === "free") refuse("a free-mode run cannot be replayed (real parallelism is not reproducible); `forkstorm reproduce REPORT` turns its find into a controlled run that can be");
  if (!["pct", "random", "replay", "schedule"].includes(c.mode)) refuse(`unknown mode "${String(c.mode)}" in the report`);
  for (const id of c.bugs ?? []) {
    const b = CATALOG.find((x) => x.id === id);
    if (!b || b.kernel !== c.kernel) refuse(`the report injects bug "${id}", which the catalogue no longer has for ${c.kernel}: the run cannot be replayed`);
  }
  checkDetectors(c.detectors, "the run cannot be replayed");
  if (typeof r.eventHash !== "string") refuse("the report has no event hash to compare with");
  if (r.verdict === "error") refuse("the run ended on an internal error, not on a law: there is no point of the run to replay to");
  if (r.violations.length === 0 && r.verdict === "interrupted") refuse("the run was interrupted (^C) before it broke any law: there is no violation to replay to");
  if (r.violations.length === 0 && c.ops === undefined && r.drainedAtOps == null) refuse("this run broke no law and its report does not say where its drain started (an older forkstorm wrote it): its end cannot be reached again");
  if (c.mode === "replay" && !r.schedule) refuse("the report follows a recorded schedule it did not keep");
  if (c.mode === "schedule" && typeof c.schedule !== "string") refuse("the report runs a schedule it does not give");
  return r as StressReport;
}

/**
 * The options that run a report's run again up to its first violation (or to its end, if it
 * broke nothing), stopping there.
 */
export function rerunOptions(r: StressReport): StressOptions {
  const c = r.config;
  const first = r.violations[0];
  const kernel = c.kernel as "dragonfly" | "netbsd";
  // Drain where the original did; a run that stopped before draining, just past its calls.
  const ops = r.drainedAtOps ?? c.ops ?? r.ops.total + 1;
  return {
    kernel,
    scenario: c.scenario,
    cpus: c.cpus,
    ops,
    mode: c.mode as StressOptions["mode"],
    seed: c.seed,
    chaos: 0,
    depth: c.depth,
    stepBound: c.stepBound,
    bugs: c.bugs,
    population: c.population,
    keepGoing: first ? false : c.keepGoing,
    detectors: c.detectors as DetectorName[] | undefined,
    ...(c.mode === "replay" ? { schedule: r.schedule! } : {}),
    ...(c.mode === "schedule" ? { decisions: parseSchedule(c.schedule!, c.cpus) } : {}),
  };
}

/** `signal`: aborting stops the replay (its report says "interrupted", at the step it reached). */
export async function replay(raw: unknown, followSchedule = false, signal?: AbortSignal): Promise<ReplayOutcome> {
  const orig = checkReplayable(raw);
  if (followSchedule && !orig.schedule) refuse("the report kept no schedule (the run was too long); replay it from its seed instead");
  const o = { ...rerunOptions(orig), signal };
  const { report } = await stress(followSchedule ? { ...o, mode: "replay", schedule: orig.schedule! } : o);
  const a = pointOf(orig);
  const b = pointOf(report);
  return { reproduced: samePoint(a, b), original: a, replayed: b, report };
}

/** Where a run first differed from the reference run: the reference's item there, and its own. */
export interface Divergence {
  run: number;
  point: RunPoint;
  reference: string;
  diverged: string;
}

export interface DeterminismOutcome {
  /** Runs that finished (fewer than asked when interrupted). */
  runs: number;
  original: RunPoint;
  /** Run 1, the reference the others are compared with, event by event. */
  reference: RunPoint;
  /** Every run reached the report's point, with its hash. */
  deterministic: boolean;
  divergences: Divergence[];
}

export interface LoggedRun {
  point: RunPoint;
  schedule: readonly number[] | null;
  events: readonly LoggedEvent[];
  describe: (e: LoggedEvent) => string;
}

/**
 * `replay REPORT --check-determinism N`: run the report's run N times with the whole event
 * sequence logged; every run must reach the report's point with its hash. A run whose hash differs
 * from run 1's is compared with it decision by decision and event by event, and the first place
 * they part is reported, as each run had it.
 */
export async function checkDeterminism(raw: unknown, n: number, onRun?: (i: number, p: RunPoint) => void, signal?: AbortSignal): Promise<DeterminismOutcome> {
  const orig = checkReplayable(raw);
  const o = rerunOptions(orig);
  const pool = new CpuPool(o.cpus);
  const divergences: Divergence[] = [];
  let reference: LoggedRun | null = null;
  let agree = 0;
  let runs = 0; // that finished: an interrupted check is of those
  try {
    for (let i = 1; i <= n; i++) {
      const out = await stress({ ...o, eventLog: true, pool, signal });
      if (out.report.verdict === "interrupted") break;
      runs = i;
      const run: LoggedRun = { point: pointOf(out.report), schedule: out.report.schedule ?? null, events: out.eventLog!.events, describe: out.eventLog!.describe };
      onRun?.(i, run.point);
      if (samePoint(pointOf(orig), run.point)) agree++;
      if (!reference) reference = run;
      else if (!samePoint(reference.point, run.point)) divergences.push({ run: i, point: run.point, ...(firstDifference(reference, run) ?? unseen) });
    }
  } finally {
    await pool.discard();
  }
  return { runs, original: pointOf(orig), reference: reference?.point ?? pointOf(orig), deterministic: runs > 0 && agree === runs, divergences };
}

/** Two runs with different hashes and no difference in their logs: the difference came after what the logs kept. */
const unseen = { reference: "(no difference in the logged events: past the log's end)", diverged: "(no difference in the logged events: past the log's end)" };

/** The cpu chosen at each step of a run-length encoded schedule. */
function* chosenCpus(schedule: readonly number[]): Generator<number> {
  for (let i = 0; i < schedule.length; i += 2) for (let k = 0; k < schedule[i + 1]; k++) yield schedule[i];
}

/** The first step at which two schedules chose differently (null: none, as far as both go). */
function firstScheduleDifference(a: readonly number[] | null, b: readonly number[] | null): { step: number; a: number | null; b: number | null } | null {
  if (!a || !b) return null;
  const ia = chosenCpus(a);
  const ib = chosenCpus(b);
  for (let step = 0; ; step++) {
    const x = ia.next();
    const y = ib.next();
    if (x.done && y.done) return null;
    if (x.done || y.done || x.value !== y.value) return { step, a: x.done ? null : x.value, b: y.done ? null : y.value };
  }
}

/** Where two logged runs first part (null: they do not), as each had it. */
export function firstDifference(ref: LoggedRun, run: LoggedRun): { reference: string; diverged: string } | null {
  const d = firstScheduleDifference(ref.schedule, run.schedule);
  const same = (x: LoggedEvent, y: LoggedEvent) => x.step === y.step && x.cpu === y.cpu && x.type === y.type && x.tid === y.tid && x.a === y.a && x.b === y.b;
  let i = 0;
  while (i < ref.events.length && i < run.events.length && same(ref.events[i], run.events[i])) i++;
  if (!d && i === ref.events.length && i === run.events.length) return null;
  const e = (r: LoggedRun) => (i < r.events.length ? r.events[i] : null);
  const eventStep = Math.min(e(ref)?.step ?? Infinity, e(run)?.step ?? Infinity);
  // Decision s is taken before the events of step s + 1 (an event's step counts the decisions before it).
  if (d && d.step < eventStep) {
    const chose = (c: number | null) => (c === null ? `step ${d.step}: the run had ended` : `step ${d.step}: cpu ${c} chosen to run`);
    return { reference: chose(d.a), diverged: chose(d.b) };
  }
  const show = (r: LoggedRun) => {
    const x = e(r);
    return x ? r.describe(x) : `the run ended after ${r.events.length} events`;
  };
  return { reference: show(ref), diverged: show(run) };
}

/**
 * What to paste to get this report's find again: for a controlled run, the stress command that
 * replays it to its first violation (bounded as a replay is); for a free-mode run, `forkstorm
 * reproduce` on its report file, when it was written. Null for a run that found nothing, or whose
 * schedule does not fit a line (a recorded one, followed decision by decision).
 */
export function reproductionLine(r: StressReport, reportFile?: string): string | null {
  if (r.violations.length === 0 && r.verdict !== "hang") return null;
  if (r.config.mode === "free") return reportFile ? `forkstorm reproduce ${reportFile}` : null;
  if (r.config.mode === "replay") return null;
  const o = rerunOptions(r);
  return stressCommand({ ...r.config, ops: o.ops, seconds: undefined, keepGoing: false });
}

/**
 * The line that runs this report's run again, for a failure message (JUnit, the vitest matchers):
 * its reproduction line when it has one, else the command as it was given.
 */
export function rerunCommand(r: StressReport): string {
  return reproductionLine(r) ?? stressCommand(r.config);
}
