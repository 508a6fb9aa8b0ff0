/*
 * `forkstorm replay REPORT`: re-run a controlled-mode run from its report and confirm the same
 * outcome -- the same first violation at the same step, and the same event hash. A controlled
 * run is a function of its seed and configuration, so re-running the strategy from its seed is
 * a complete reproduction; --follow-schedule instead follows the recorded decisions one by one
 * (the replay strategy), which also works for a schedule edited by hand to shrink it.
 */
import { CATALOG } from "../bugs/catalog.js";
import { UsageError } from "../kern/kernel.js";
import type { StressReport } from "../report/report.js";
import { stress } from "./stress.js";

export interface ReplayOutcome {
  reproduced: boolean;
  original: { verdict: string; law: string | null; step: number | null; eventHash: string | null };
  replayed: { verdict: string; law: string | null; step: number | null; eventHash: string | null };
  report: StressReport;
}

function firstOf(r: StressReport) {
  const v = r.violations[0];
  return { verdict: r.verdict, law: v?.law ?? null, step: v ? v.step : null, eventHash: r.eventHash };
}

/** Check that a parsed report describes a run that can be replayed; throws UsageError if not. */
export function checkReplayable(raw: unknown): StressReport {
  const r = raw as Partial<StressReport>;
  if (typeof raw !== "object" || raw === null || r.schema !== 1 || r.command !== "stress" || typeof r.config !== "object") {
    throw new UsageError("not a forkstorm stress report (schema 1)");
  }
  const c = r.config;
  if (c.mode === "free") throw new UsageError("a free-mode run cannot be replayed (real parallelism is not reproducible); rerun it with --mode pct or --mode random");
  if (c.mode !== "pct" && c.mode !== "random") throw new UsageError(`unknown mode "${String(c.mode)}" in the report`);
  if (c.ops === undefined) throw new UsageError("this run was bounded by wall-clock seconds, so where it stopped is not reproducible; controlled runs replay exactly with --ops");
  for (const id of c.bugs ?? []) {
    const b = CATALOG.find((x) => x.id === id);
    if (!b || b.kernel !== c.kernel) throw new UsageError(`the report injects bug "${id}", which the catalogue no longer has for ${c.kernel}: the run cannot be replayed`);
  }
  if (typeof r.eventHash !== "string") throw new UsageError("the report has no event hash to compare with");
  return r as StressReport;
}

export async function replay(raw: unknown, followSchedule = false): Promise<ReplayOutcome> {
  const orig = checkReplayable(raw);
  const c = orig.config;
  if (followSchedule && !orig.schedule) throw new UsageError("the report kept no schedule (the run was too long); replay it from its seed instead");
  const { report } = await stress({
    kernel: c.kernel as "dragonfly" | "netbsd",
    scenario: c.scenario,
    cpus: c.cpus,
    ops: c.ops,
    mode: followSchedule ? "replay" : (c.mode as "pct" | "random"),
    seed: c.seed,
    chaos: 0,
    depth: c.depth,
    stepBound: c.stepBound,
    bugs: c.bugs,
    keepGoing: c.keepGoing,
    schedule: followSchedule ? orig.schedule! : undefined,
  });
  const a = firstOf(orig);
  const b = firstOf(report);
  // The hash covers every decision and event, whichever strategy made the same decisions.
  const reproduced = a.verdict === b.verdict && a.law === b.law && a.step === b.step && a.eventHash === b.eventHash;
  return { reproduced, original: a, replayed: b, report };
}
