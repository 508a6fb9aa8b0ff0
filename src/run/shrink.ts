/*
 * `forkstorm shrink REPORT`: reduce a failing controlled run to a short one that breaks the same
 * law in the same kernel function (finding.ts) -- fewer scheduling decisions, fewer system calls,
 * fewer cpus and worker processes -- and write it as a replayable report whose schedule string
 * is the race's story in a few switches.
 *
 * A run is its configuration plus the decisions it took against the default (decisions.ts: the
 * deciding cpu runs on if it can, else the lowest-numbered runnable cpu). Every candidate is a
 * valid run: a decision that no longer applies falls back to the default. A candidate is kept
 * when it breaks the same law at the same site; what it keeps is what it applied (its own log),
 * so a list never carries decisions that did nothing. In order:
 *   1. the report's run again, with its decisions logged; then the default schedule alone;
 *   2. fewer cpus, then fewer worker processes: the current decisions if they still find it,
 *      else a short controlled search in the smaller configuration (reproduce.ts) -- a run with
 *      two cpus and one worker has a few dozen decisions where the original had thousands;
 *   3. delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing
 *      Input", TSE 2002) over the decisions;
 *   4. fewer system calls: the drain starts at the smallest bound that still finds it (programs
 *      stop starting work, so the calls after it are dropped).
 * Within a time budget; what was reached when it runs out is the result.
 */
import { UsageError } from "../kern/kernel.js";
import type { StressReport, WriteFailure } from "../report/report.js";
import { findScenario } from "../../stress/scenarios/index.js";
import { formatSchedule, parseSchedule, type Decision } from "../sched/decisions.js";
import { CpuPool } from "../sched/machine.js";
import { stressCommand } from "../report/command.js";
import { describeFinding, findingOf, sameFinding, type Finding } from "./finding.js";
import { checkReplayable, rerunOptions } from "./replay.js";
import { searchControlled } from "./reproduce.js";
import { stress, type StressOptions } from "./stress.js";

/** Seconds `shrink` spends by default. */
export const SHRINK_SECONDS = 120;

export interface ShrinkOptions {
  /** Seconds to spend; what was reached by then is the result. */
  seconds: number;
  report?: string;
  trace?: string;
  signal?: AbortSignal;
  /** A line for each thing tried that worked. */
  onProgress?: (line: string) => void;
}

export interface RunSize {
  /** Decisions against the default scheduler. */
  decisions: number;
  /** System calls made before the run stopped. */
  ops: number;
  cpus: number;
  /** Worker processes init keeps alive. */
  population: number;
  /** Scheduling decisions taken up to the violation. */
  steps: number;
}

export interface ShrinkOutcome {
  finding: Finding;
  /** The output run breaks the same law at the same site. */
  shrunk: boolean;
  before: RunSize | null;
  after: RunSize | null;
  executions: number;
  seconds: number;
  /** The shrunk run's report (written to `report`). */
  report: StressReport | null;
  /** The stress command that runs it again. */
  command: string | null;
  /** Why more than a tenth of the decisions are left, or why nothing came out. */
  note: string | null;
  /** Report or trace files that could not be written where asked (and where they went instead). */
  unwritten: WriteFailure[];
}

/** The budget ran out: stop where we are. */
class BudgetSpent extends Error {}

/** One candidate run: a configuration and its decisions. */
interface Candidate {
  cpus: number;
  population: number;
  seed: number;
  ops: number;
  decisions: Decision[];
}

/** Candidate runs with the same configuration, and what they found. */
class Trials {
  executions = 0;
  /** Seconds left for searches in smaller configurations: a share of the budget, so delta debugging keeps the rest. */
  searchSeconds: number;
  private readonly pools = new Map<number, CpuPool>();
  private readonly seen = new Map<string, Decision[] | null>();
  private readonly deadline: number;

  constructor(
    private readonly base: StressOptions,
    readonly want: Finding,
    readonly o: ShrinkOptions,
  ) {
    this.deadline = performance.now() + o.seconds * 1000;
    this.searchSeconds = o.seconds * SEARCH_SHARE;
  }

  secondsLeft(): number {
    return (this.deadline - performance.now()) / 1000;
  }

  pool(cpus: number): CpuPool {
    let p = this.pools.get(cpus);
    if (!p) this.pools.set(cpus, (p = new CpuPool(cpus)));
    return p;
  }

  options(c: Candidate): StressOptions {
    return { ...this.base, cpus: c.cpus, population: c.population, seed: c.seed, ops: c.ops, mode: "schedule", decisions: c.decisions, depth: undefined, stepBound: undefined, schedule: undefined };
  }

  async run(o: StressOptions): Promise<StressReport> {
    if (this.secondsLeft() <= 0 || this.o.signal?.aborted) throw new BudgetSpent();
    this.executions++;
    return (await stress({ ...o, keepGoing: false, signal: this.o.signal, pool: this.pool(o.cpus) })).report;
  }

  /** Does the candidate find it? Then the decisions it applied (a subset of its own); else null. */
  async finds(c: Candidate): Promise<Decision[] | null> {
    const key = `${c.cpus}/${c.population}/${c.seed}/${c.ops}/${formatSchedule(c.decisions)}`;
    if (this.seen.has(key)) return this.seen.get(key)!;
    const r = await this.run(this.options(c));
    const applied = sameFinding(this.want, findingOf(r)) ? decisionsOf(r, c.cpus) : null;
    this.seen.set(key, applied);
    return applied;
  }

  async close(): Promise<void> {
    for (const p of this.pools.values()) await p.discard();
  }
}

function decisionsOf(r: StressReport, cpus: number): Decision[] | null {
  return r.decisions == null ? null : parseSchedule(r.decisions, cpus);
}

/**
 * ddmin: a 1-minimal sublist of `ds` for which the candidate still finds it (each remaining
 * decision is needed, as far as the budget let it look). `minimal` is false if it stopped early.
 */
async function ddmin(t: Trials, c: Candidate): Promise<{ decisions: Decision[]; minimal: boolean }> {
  let ds = c.decisions;
  let n = 2;
  const finds = (sub: Decision[]) => t.finds({ ...c, decisions: sub });
  try {
    while (ds.length > 1) {
      const chunks = split(ds, Math.min(n, ds.length));
      let next: Decision[] | null = null;
      for (const chunk of chunks) if ((next = await finds(chunk))) break;
      if (next) n = 2;
      else if (chunks.length > 2) {
        for (let i = 0; i < chunks.length && !next; i++) next = await finds(chunks.filter((_, j) => j !== i).flat());
        if (next) n = Math.max(n - 1, 2);
      }
      if (next) {
        ds = next;
        continue;
      }
      if (n >= ds.length) break;
      n = Math.min(2 * n, ds.length);
    }
    if (ds.length === 1) ds = (await finds([])) ?? ds;
    return { decisions: ds, minimal: true };
  } catch (e) {
    if (e instanceof BudgetSpent) return { decisions: ds, minimal: false };
    throw e;
  }
}

function split<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < n; i++) out.push(xs.slice(Math.floor((i * xs.length) / n), Math.floor(((i + 1) * xs.length) / n)));
  return out;
}

/** The smallest ops bound (by bisection) at which the candidate still finds it; the drain starts there. */
async function fewerOps(t: Trials, c: Candidate): Promise<Candidate> {
  let best = c;
  let lo = 1;
  let hi = c.ops - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const d = await t.finds({ ...best, ops: mid });
    if (d) {
      best = { ...best, ops: mid, decisions: d };
      hi = mid - 1;
    } else lo = mid + 1;
  }
  return best;
}

/**
 * A smaller configuration that finds it: the current decisions (those that still name its cpus)
 * or the default schedule, else a short controlled search in it (then shrunk like the rest).
 */
async function smaller(t: Trials, c: Candidate, cpus: number, population: number, space: Omit<StressOptions, "cpus" | "population">, say: (line: string) => void): Promise<Candidate | null> {
  const at = { ...c, cpus, population };
  for (const decisions of [c.decisions.filter((d) => d.cpu < cpus && d.to < cpus), []]) {
    const d = await t.finds({ ...at, decisions });
    if (d) return { ...at, decisions: d };
  }
  const seconds = Math.min(t.searchSeconds, t.secondsLeft(), SEARCH_SECONDS);
  if (seconds <= 0) return null;
  const search = await searchControlled({ kernel: space.kernel, scenario: space.scenario, bugs: space.bugs, detectors: space.detectors, cpus, population }, t.want, c.seed, { seconds, executions: SEARCH_EXECUTIONS, signal: t.o.signal }, t.pool(cpus));
  t.executions += search.executions;
  t.searchSeconds -= search.seconds;
  const found = search.found;
  if (!found) return null;
  say(`found again with ${cpus} cpu${cpus > 1 ? "s" : ""}, ${population} worker${population > 1 ? "s" : ""} by a controlled search (seed ${found.options.seed})`);
  // The run found, as a schedule: its own decisions under the default scheduler.
  const again = { ...at, seed: found.options.seed, ops: boundAt(found.report, found.options.ops!), decisions: decisionsOf(found.report, cpus) ?? [] };
  const decisions = await t.finds(again);
  return decisions && { ...again, decisions };
}

/**
 * The ops bound a run that found it needs: where its drain started, if it did (what it found may
 * have needed the drain: an audit after it), else just past the calls it made -- it stopped
 * before draining (at a violation, or at rest with nothing left to run).
 */
function boundAt(r: StressReport, ops: number): number {
  return r.drainedAtOps ?? Math.min(ops, r.ops.total + 1);
}

/** Executions and seconds a search in one smaller configuration may take, and the share of the budget all of them may. */
const SEARCH_EXECUTIONS = 30;
const SEARCH_SECONDS = 10;
const SEARCH_SHARE = 1 / 3;

function sizeOf(r: StressReport, decisions: number, population: number): RunSize {
  return { decisions, ops: r.ops.total, cpus: r.config.cpus, population, steps: r.violations[0]?.step ?? r.steps };
}

/** A controlled report with a find, from a parsed file; throws UsageError (one line) if not. */
export function checkShrinkable(raw: unknown): StressReport {
  if ((raw as StressReport | null)?.config?.mode === "free") throw new UsageError("a free-mode run has no schedule to shrink: `forkstorm reproduce REPORT --report OUT` makes a controlled run of its find, then shrink OUT");
  const r = checkReplayable(raw);
  if (!findingOf(r)) throw new UsageError(`the run broke no law (verdict ${r.verdict}): there is nothing to shrink`);
  return r;
}

export async function shrink(raw: unknown, o: ShrinkOptions): Promise<ShrinkOutcome> {
  const t0 = performance.now();
  const orig = checkShrinkable(raw);
  const finding = findingOf(orig)!;
  const base = rerunOptions(orig);
  const t = new Trials(base, finding, o);
  const say = (line: string) => o.onProgress?.(line);
  const outcome = (part: Partial<ShrinkOutcome>): ShrinkOutcome => ({ finding, shrunk: false, before: null, after: null, executions: t.executions, seconds: (performance.now() - t0) / 1000, report: null, command: null, note: null, unwritten: [], ...part });
  try {
    const r0 = await t.run(base);
    if (!sameFinding(finding, findingOf(r0))) return outcome({ note: `the report's run, run again, did not break ${describeFinding(finding)}: the model changed since it was written?` });
    const d0 = decisionsOf(r0, base.cpus);
    if (!d0) return outcome({ note: "the run took too many decisions against the default to keep them all: shrink a shorter run (fewer --ops)" });
    const population = base.population ?? findScenario(base.kernel, base.scenario).initArgs[0];
    const before = sizeOf(r0, d0.length, population);
    say(`${describeFinding(finding)}: ${d0.length} decisions, ${r0.ops.total} system calls, ${base.cpus} cpus, ${population} workers`);
    const { best, minimal } = await reduce(t, { cpus: base.cpus, population, seed: base.seed, ops: boundAt(r0, base.ops!), decisions: d0 }, base, say);
    const { report, unwritten } = await stress({ ...t.options(best), keepGoing: false, report: o.report, trace: o.trace, pool: t.pool(best.cpus) });
    t.executions++;
    const shrunk = sameFinding(finding, findingOf(report));
    const after = sizeOf(report, best.decisions.length, best.population);
    const note = !shrunk ? "the shrunk run, run again, did not break it: a bug of ours (shrinking is deterministic)" : decisionsNote(before.decisions, after.decisions, minimal, describeFinding(finding));
    return outcome({ shrunk, before, after, report, command: stressCommand(report.config), note, unwritten });
  } finally {
    await t.close();
  }
}

/** The reductions in order, each kept if it still finds it; stops where the budget runs out. */
async function reduce(t: Trials, start: Candidate, space: StressOptions, say: (line: string) => void): Promise<{ best: Candidate; minimal: boolean }> {
  let best = start;
  let minimal = false;
  try {
    best = { ...best, decisions: (await t.finds(best)) ?? best.decisions };
    const none = await t.finds({ ...best, decisions: [] });
    if (none) {
      best = { ...best, decisions: none };
      say("the default schedule alone breaks it");
    }
    for (let cpus = 1; cpus < best.cpus; cpus++) {
      const s = await smaller(t, best, cpus, best.population, space, say);
      if (s && s.decisions.length <= best.decisions.length) {
        best = s;
        say(`${cpus} cpu${cpus > 1 ? "s" : ""}: ${s.decisions.length} decisions`);
        break;
      }
    }
    for (let population = 1; population < best.population; population *= 2) {
      const s = await smaller(t, best, best.cpus, population, space, say);
      if (s && s.decisions.length <= best.decisions.length) {
        best = s;
        say(`${population} worker${population > 1 ? "s" : ""}: ${s.decisions.length} decisions`);
        break;
      }
    }
    const dd = await ddmin(t, best);
    best = { ...best, decisions: dd.decisions };
    say(`delta debugging: ${dd.decisions.length} decisions${dd.minimal && dd.decisions.length ? " (each one needed)" : ""}`);
    if (!dd.minimal) return { best, minimal };
    minimal = true;
    best = await fewerOps(t, best);
    say(`system calls: drain at ${best.ops}`);
  } catch (e) {
    if (!(e instanceof BudgetSpent)) throw e;
    say("the budget ran out");
  }
  return { best, minimal };
}

function decisionsNote(before: number, after: number, minimal: boolean, what: string): string | null {
  if (after * 10 <= before) return null;
  if (minimal) return `each of the ${after} decisions left is needed: without any one of them the run no longer breaks ${what} (1-minimal)`;
  return "the budget ran out before delta debugging finished: a larger --budget may shrink it further";
}

export function shrinkSummary(r: ShrinkOutcome): string {
  const lines = [`forkstorm shrink: ${r.shrunk ? "SHRUNK" : "NOT SHRUNK"} ${describeFinding(r.finding)} (${r.executions} executions, ${r.seconds.toFixed(1)} s)`];
  const row = (name: string, f: (s: RunSize) => number) => lines.push(`  ${name.padEnd(10)} ${String(r.before ? f(r.before) : "-").padStart(8)} -> ${String(r.after ? f(r.after) : "-")}`);
  if (r.before) {
    row("decisions", (s) => s.decisions);
    row("syscalls", (s) => s.ops);
    row("cpus", (s) => s.cpus);
    row("workers", (s) => s.population);
    row("steps", (s) => s.steps);
  }
  if (r.note) lines.push(`  note: ${r.note}`);
  if (r.command) lines.push(`reproduce: ${r.command}`);
  return lines.join("\n");
}
