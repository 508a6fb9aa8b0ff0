/*
 * Litmus tests over scripts, in the style of jcstress (OpenJDK's concurrency stress harness): a
 * small concurrent scenario -- a script whose racing calls are marked async -- run many times,
 * free-running (real parallelism with seeded chaos) or over the interleavings PCT reaches (one
 * seed per run), each run's outcome read off chosen steps' results and graded ACCEPTABLE,
 * INTERESTING (allowed, but worth knowing it happens) or FORBIDDEN. The histogram of outcomes is
 * the result; a FORBIDDEN outcome or a broken law fails it.
 */
import { UsageError } from "../errors.js";
import { scriptCommand } from "../report/command.js";
import type { CpuPool } from "../sched/machine.js";
import { runScript, type ScriptOutput, type ScriptStepResult } from "../script/runner.js";

export const GRADES = ["ACCEPTABLE", "INTERESTING", "FORBIDDEN"] as const;
export type Grade = (typeof GRADES)[number];

export interface LitmusSpec {
  /** What the test shows, for messages. */
  name?: string;
  /** The script (forkstorm script's format): kernel, cpus, limits, steps -- the racing calls async. */
  script: { kernel: string; steps: unknown[]; [field: string]: unknown };
  /**
   * The outcome of a run: the listed steps' results, each as its errno, "ok", "pending" or
   * "exited", joined with ", " ("ok, EAGAIN"); or a function of the run's output.
   */
  observe: number[] | ((out: ScriptOutput) => string);
  /** Each outcome's grade; an outcome not listed is graded `otherwise`. */
  outcomes: Record<string, Grade>;
  /** Default FORBIDDEN: an outcome nobody thought of is a finding. */
  otherwise?: Grade;
  /** Default 100. */
  runs?: number;
  /** free (default): real parallelism; pct or random: a controlled interleaving per run. */
  mode?: "free" | "pct" | "random";
  /** Run i uses seed + i; default 1. */
  seed?: number;
  /** Free mode: fraction of scheduling points that stall, widening race windows; default 0.05. */
  chaos?: number;
  /** pct: the bug depth d; default 3. */
  depth?: number;
  /** Catalogued bugs to inject. */
  bugs?: string[];
}

export interface LitmusRow {
  outcome: string;
  grade: Grade;
  count: number;
  /** The seed of the first run that came out so. */
  firstSeed: number;
}

export interface LitmusResult {
  kind: "litmus";
  name: string;
  mode: "free" | "pct" | "random";
  runs: number;
  /** Outcomes by how often they came, most frequent first. */
  histogram: LitmusRow[];
  forbidden: number;
  interesting: number;
  /** Laws the kernel's detectors saw broken, with the run's seed. */
  violations: { seed: number; law: string; message: string }[];
  /** "clean": no FORBIDDEN outcome and no law broken. */
  verdict: "clean" | "forbidden";
  /** The first run with a FORBIDDEN outcome or a broken law: its script, with its seed, as run. */
  witness: { seed: number; outcome: string; script: Record<string, unknown> } | null;
  /** The command that runs the witness again (null without one). */
  reproduce: string | null;
}

/** A step's part of an outcome. */
function stepOutcome(r: ScriptStepResult | undefined): string {
  if (!r) return "missing";
  if (r.pending) return "pending";
  if (r.exited) return "exited";
  return r.errno ?? "ok";
}

function check(spec: LitmusSpec): void {
  if (typeof spec !== "object" || spec === null || typeof spec.script !== "object" || spec.script === null) throw new UsageError("litmus: give { script, observe, outcomes }");
  for (const [outcome, grade] of Object.entries(spec.outcomes ?? {})) if (!GRADES.includes(grade)) throw new UsageError(`litmus: outcome "${outcome}" is graded ${JSON.stringify(grade)}: ACCEPTABLE, INTERESTING or FORBIDDEN`);
  if (spec.otherwise !== undefined && !GRADES.includes(spec.otherwise)) throw new UsageError(`litmus: "otherwise" must be ACCEPTABLE, INTERESTING or FORBIDDEN`);
  const steps = spec.script.steps;
  if (Array.isArray(spec.observe)) for (const i of spec.observe) if (!Number.isInteger(i) || !Array.isArray(steps) || i < 0 || i >= steps.length) throw new UsageError(`litmus: observe names step ${i}, which the script does not have`);
  if (spec.runs !== undefined && !(Number.isInteger(spec.runs) && spec.runs >= 1 && spec.runs <= 1_000_000)) throw new UsageError("litmus: runs must be an integer 1..1000000");
}

/** Run a litmus test; `pool`: worker threads to run on (a test fixture's). */
export async function litmus(spec: LitmusSpec, pool: CpuPool | null = null): Promise<LitmusResult> {
  check(spec);
  const mode = spec.mode ?? "free";
  const runs = spec.runs ?? 100;
  const seed0 = spec.seed ?? 1;
  const observe = spec.observe;
  const outcomeOf = typeof observe === "function" ? observe : (out: ScriptOutput) => observe.map((i) => stepOutcome(out.results[i])).join(", ");
  const gradeOf = (o: string): Grade => spec.outcomes[o] ?? spec.otherwise ?? "FORBIDDEN";
  const rows = new Map<string, LitmusRow>();
  const violations: LitmusResult["violations"] = [];
  let witness: LitmusResult["witness"] = null;
  let stepBound: number | undefined; // pct: learned from the run before
  for (let i = 0; i < runs; i++) {
    const seed = seed0 + i;
    const script = { ...spec.script, mode, seed, ...(spec.bugs ? { bugs: spec.bugs } : {}), ...(mode === "free" ? { chaos: spec.chaos ?? 0.05 } : {}), ...(mode === "pct" ? { depth: spec.depth ?? 3, ...(stepBound ? { stepBound } : {}) } : {}) };
    const out = await runScript(script, pool);
    if (out.pctSteps) stepBound = out.pctSteps;
    const outcome = outcomeOf(out);
    const row = rows.get(outcome) ?? { outcome, grade: gradeOf(outcome), count: 0, firstSeed: seed };
    row.count++;
    rows.set(outcome, row);
    for (const v of out.violations) violations.push({ seed, law: v.law, message: v.message });
    if (!witness && (row.grade === "FORBIDDEN" || out.violations.length)) witness = { seed, outcome, script };
  }
  const histogram = [...rows.values()].sort((a, b) => b.count - a.count);
  const count = (g: Grade) => histogram.filter((r) => r.grade === g).reduce((n, r) => n + r.count, 0);
  const forbidden = count("FORBIDDEN");
  return { kind: "litmus", name: spec.name ?? "litmus", mode, runs, histogram, forbidden, interesting: count("INTERESTING"), violations, verdict: forbidden || violations.length ? "forbidden" : "clean", witness, reproduce: witness && scriptCommand(witness.script) };
}

/** The histogram as jcstress prints it: outcome, count, grade. */
export function litmusHistogram(r: LitmusResult): string[] {
  const width = Math.max(7, ...r.histogram.map((h) => h.outcome.length));
  return [`  ${"outcome".padEnd(width)}  ${"runs".padStart(6)}  grade`, ...r.histogram.map((h) => `  ${h.outcome.padEnd(width)}  ${String(h.count).padStart(6)}  ${h.grade}`)];
}
