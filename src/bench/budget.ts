/*
 * `forkstorm bench --time-budget S` (issue 14 item 4): the bench's sections fitted to S seconds.
 *
 * Each section states what it costs on a quiet machine as a function of a scale of its durations
 * (1: the bench without a budget; its runs' seconds, rounds, calls or virtual lengths scale with
 * it), and the least scale its figures still mean something at. Before each section the plan is
 * made again from the time left: one scale for every section still to run (each held to its own
 * least), the estimates stretched by how much slower than estimated the sections so far ran (a
 * loaded host). What does not fit even at its least is cut, in the bench's order of cuts; at the
 * budget's end the section in flight is cut short (BudgetSpent). The sections no cut names (the
 * core) always run, without that signal: the budget's minimum is what they need.
 *
 * A section that fails (a run that ended in error or a violation: a bug of the model or of
 * forkstorm, not of the host) is recorded and the bench goes on: the sections that ran are kept.
 */
import { UsageError } from "../kern/kernel.js";

/** A section of the bench, as the plan sees it. */
export interface BudgetSection {
  /** Its key in the bench report ("scaling", "virtual"...). */
  readonly name: string;
  /** Estimated seconds on a quiet 2-core machine at scale `s` (non-decreasing in s). */
  cost(s: number): number;
  /** The least scale whose figures still mean something. */
  readonly minScale: number;
  /** Runs it at scale `s` (stopping early with BudgetSpent once `signal` fires); says what it ran. */
  run(s: number, signal: AbortSignal | undefined): Promise<string>;
}

/**
 * What the plan gives up to fit the budget, in order: a whole section, or with `part`, a piece of
 * one (the section's cost then drops); `part` says what it dropped, or null when nothing is left.
 */
export interface BudgetCut {
  readonly section: string;
  readonly part?: () => string | null;
}

/** A section that failed, in the bench report: its key and the first line of its error. */
export interface SectionFailure {
  section: string;
  error: string;
}

/** What runSections did: with a budget, what it covered; and the sections that failed. */
export interface SectionsRun {
  budget: BudgetReport | undefined;
  failed: SectionFailure[];
}

/** What a budgeted bench covered, in the bench report. */
export interface BudgetReport {
  requestedSeconds: number;
  /** From the bench's start to its report (the process's start-up comes before it). */
  elapsedSeconds: number;
  /** Quiet-machine seconds kept out of the plan: the process's start-up and writing the reports. */
  reservedSeconds: number;
  /** How much slower than their quiet-machine estimates the sections ran, in all (1: as estimated). */
  slowdown: number;
  /** The sections that ran, in order: the scale of their durations, what they ran, their seconds. */
  sections: { section: string; scale: number; ran: string; seconds: number }[];
  /** Sections, runs and cpu counts left out, and why. */
  skipped: { what: string; why: string }[];
}

/** What a budget covered, in words: the summary's closing lines and the HTML report's. */
export function budgetLines(b: BudgetReport): string[] {
  const ran = b.sections.map((s) => `${s.section} (${s.ran}; ${s.seconds} s)`).join(", ");
  const lines = [
    `time budget ${b.requestedSeconds} s: the sections took ${b.elapsedSeconds} s (${b.reservedSeconds} s kept for start-up and the reports), ${b.slowdown}x their quiet-machine estimates`,
    `covered: ${ran || "nothing"}`,
  ];
  for (const s of b.skipped) lines.push(`not covered: ${s.what}: ${s.why}`);
  return lines;
}

/** Thrown by a measurement that the budget's end cut short. */
export class BudgetSpent extends Error {
  constructor() {
    super("the time budget ran out");
  }
}

export function throwIfSpent(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BudgetSpent();
}

/**
 * The plan aims this far before the budget's end: the cut at the end is for an estimate badly off
 * (a loaded host), not for the last section of a plan that came out a little long.
 */
const margin = (seconds: number) => Math.max(0.5, 0.05 * seconds);
/** How far past a plain bench a budget stretches the durations. */
const MAX_SCALE = 10;
/** The slowdown is kept within these: one odd section must not make the plan absurd. */
const SLOWDOWN = { min: 0.5, max: 20 };
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** The least budget: the reserve and the core sections at their least. */
export function minimumBudget(sections: readonly BudgetSection[], cuts: readonly BudgetCut[], reserved: number): number {
  return Math.ceil(reserved + sections.filter((s) => !cuts.some((c) => c.section === s.name)).reduce((t, s) => t + s.cost(s.minScale), 0));
}

/**
 * Runs the sections in order: without a budget each at scale 1; with one, as the head comment
 * says. `reserved` (quiet-machine seconds) is kept for what comes before and after the sections.
 */
export async function runSections(sections: readonly BudgetSection[], cuts: readonly BudgetCut[], budget: { seconds: number; reserved: number } | undefined): Promise<SectionsRun> {
  const failed: SectionFailure[] = [];
  /** Runs one section; false when it failed (recorded): the bench goes on without its figures. */
  const attempt = async (section: BudgetSection, run: () => Promise<void>): Promise<boolean> => {
    try {
      await run();
      return true;
    } catch (e) {
      if (e instanceof BudgetSpent) throw e;
      failed.push({ section: section.name, error: (e instanceof Error ? e.message : String(e)).split("\n")[0] });
      return false;
    }
  };
  if (!budget) {
    for (const s of sections) await attempt(s, async () => void (await s.run(1, undefined)));
    return { budget: undefined, failed };
  }
  const least = minimumBudget(sections, cuts, budget.reserved);
  if (budget.seconds < least) throw new UsageError(`--time-budget ${budget.seconds}: the bench needs at least ${least} s (its primitives and real-parallel runs at their shortest)`);
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), (budget.seconds - budget.reserved) * 1000);
  const pending = [...sections];
  const cutsLeft = [...cuts];
  const report: BudgetReport = { requestedSeconds: budget.seconds, elapsedSeconds: 0, reservedSeconds: budget.reserved, slowdown: 1, sections: [], skipped: [] };
  let estimated = 0;
  let actual = 0;
  const slowdown = () => (estimated > 0 ? Math.min(SLOWDOWN.max, Math.max(SLOWDOWN.min, actual / estimated)) : 1);
  const core = (s: BudgetSection) => !cuts.some((c) => c.section === s.name);
  try {
    while (pending.length) {
      const scale = fit(pending, cutsLeft, Math.max(0, budget.seconds - budget.reserved - margin(budget.seconds) - elapsed()), slowdown(), report.skipped);
      const section = pending.shift();
      if (!section) break; // the cuts took every section left
      const s = Math.max(scale, section.minScale);
      const t = performance.now();
      const took = () => r1((performance.now() - t) / 1000);
      try {
        let ran = "";
        if (await attempt(section, async () => void (ran = await section.run(s, core(section) ? undefined : deadline.signal))))
          report.sections.push({ section: section.name, scale: r2(s), ran, seconds: took() });
        else report.skipped.push({ what: section.name, why: `failed after ${took()} s: ${failed.at(-1)!.error}` });
      } catch (e) {
        if (!(e instanceof BudgetSpent)) throw e;
        report.skipped.push({ what: `the rest of ${section.name}`, why: `cut short at the budget's end, ${took()} s in: only the runs it had finished are in the report` });
      }
      estimated += section.cost(s);
      actual += (performance.now() - t) / 1000;
    }
  } finally {
    clearTimeout(timer);
  }
  return { budget: { ...report, elapsedSeconds: r1(elapsed()), slowdown: r2(slowdown()) }, failed };
}

/**
 * The one scale at which the pending sections' estimates fill the time left (each held to its own
 * least, none past MAX_SCALE), after the cuts needed for their least to fit; it removes what it
 * cuts from `pending` and `cuts`, and says so in `skipped`.
 */
function fit(pending: BudgetSection[], cuts: BudgetCut[], seconds: number, slowdown: number, skipped: BudgetReport["skipped"]): number {
  const left = seconds / slowdown; // in quiet-machine seconds
  const total = (s: number) => pending.reduce((t, x) => t + x.cost(Math.max(s, x.minScale)), 0);
  const why = () =>
    `did not fit: ${r1(seconds)} s left${slowdown === 1 ? "" : ` (at this run's pace, ${slowdown.toFixed(2)}x the quiet-machine estimates)`}; the sections still to run needed ~${r1(total(0) * slowdown)} s at their shortest`;
  while (total(0) > left && cuts.length) {
    const cut = cuts[0];
    const i = pending.findIndex((x) => x.name === cut.section);
    const reason = why();
    const part = i >= 0 && cut.part ? cut.part() : null;
    if (part !== null) skipped.push({ what: part, why: reason });
    else {
      cuts.shift();
      if (i >= 0 && !cut.part) skipped.push({ what: pending.splice(i, 1)[0].name, why: reason });
    }
  }
  if (total(MAX_SCALE) <= left) return MAX_SCALE;
  let [lo, hi] = [0, MAX_SCALE];
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (total(mid) <= left) lo = mid;
    else hi = mid;
  }
  return lo;
}
