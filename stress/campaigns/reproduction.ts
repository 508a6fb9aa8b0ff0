/*
 * The measurements behind issue 12 (notes/issue-12.md), as a campaign that can be run again when
 * the catalogue grows or the model changes:
 *   conversion   free-mode finds of every catalogued bug, each turned into a controlled run by
 *                `reproduce`: bug, free finds, converted, executions, seconds
 *   shrink       a PCT find of every catalogued bug, shrunk, and the shrunk run replayed: bug,
 *                decisions before/after, calls before/after, cpus, workers, executions, seconds
 *   determinism  a clean and a failing controlled run per kernel, each run N times
 *                (`replay --check-determinism N`): divergences
 * A markdown table on stdout, progress on stderr, every row as JSON with --out FILE.
 *
 *   npm run build && node dist/stress/campaigns/reproduction.js conversion [--finds 3] [--find-budget 60] [--budget 60] [--bug ID]... [--out FILE]
 *   node dist/stress/campaigns/reproduction.js shrink [--budget 120] [--bug ID]... [--out FILE]
 * (--budget: reproduce's and shrink's own defaults)
 *   node dist/stress/campaigns/reproduction.js determinism [--runs 100] [--out FILE]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CATALOG, type BugEntry } from "../../src/bugs/catalog.js";
import type { StressReport } from "../../src/report/report.js";
import { describeFinding, findingOf } from "../../src/run/finding.js";
import { HUNT_DEPTH } from "../../src/run/hunt.js";
import { checkDeterminism, replay } from "../../src/run/replay.js";
import { reproduce, REPRODUCE_SECONDS } from "../../src/run/reproduce.js";
import { shrink, SHRINK_SECONDS, type RunSize } from "../../src/run/shrink.js";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { CpuPool } from "../../src/sched/machine.js";

const CPUS = 4;
/** System calls per controlled execution, as a controlled hunt's. */
const OPS = 150 * CPUS;

const say = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function table(head: string[], rows: (string | number | null)[][]): string {
  const line = (cells: (string | number | null)[]) => `| ${cells.map((c) => (c === null ? "-" : String(c))).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function bugsOf(ids: readonly string[]): BugEntry[] {
  if (ids.length === 0) return [...CATALOG];
  return ids.map((id) => {
    const b = CATALOG.find((x) => x.id === id);
    if (!b) throw new Error(`unknown bug ${id}`);
    return b;
  });
}

/** Free-mode finds of each bug, each reproduced as a controlled run. */
async function conversion(bugs: BugEntry[], finds: number, findBudget: number, budget: number) {
  const rows = [];
  for (const b of bugs) {
    let found = 0;
    let converted = 0;
    const executions: number[] = [];
    const seconds: number[] = [];
    const what = new Set<string>();
    for (let seed = 1; seed <= finds; seed++) {
      const { report } = await stress({ kernel: b.kernel, scenario: b.scenario, cpus: CPUS, seconds: findBudget, mode: "free", seed, chaos: 0.001, bugs: [b.id], keepGoing: false });
      const f = findingOf(report);
      if (!f) {
        say(`${b.id} seed ${seed}: no free-mode find in ${findBudget} s`);
        continue;
      }
      found++;
      what.add(describeFinding(f));
      const r = await reproduce(report, { seconds: budget });
      if (r.reproduced) converted++;
      executions.push(r.executions);
      seconds.push(r.seconds);
      say(`${b.id} seed ${seed}: ${describeFinding(f)} ${r.reproduced ? "converted" : "NOT converted"} in ${r.executions} executions, ${r.seconds.toFixed(1)} s`);
    }
    rows.push({ bug: b.id, finds: found, converted, executions: median(executions), seconds: median(seconds) === null ? null : round(median(seconds)!), found: [...what] });
  }
  const total = rows.reduce((a, r) => ({ finds: a.finds + r.finds, converted: a.converted + r.converted }), { finds: 0, converted: 0 });
  const md = table(
    ["bug", "free finds", "converted", "median executions", "median seconds", "what the free runs found"],
    [...rows.map((r) => [r.bug, r.finds, r.converted, r.executions, r.seconds, r.found.join("; ")]), ["all", total.finds, total.converted, null, null, `${total.finds ? round((100 * total.converted) / total.finds, 0) : 0}% converted`]],
  );
  return { rows, total, md };
}

/** The first PCT execution (seeds 1, 2, ...) that finds something, within `seconds`. */
async function pctFind(b: BugEntry, seconds: number, pool: CpuPool): Promise<StressReport | null> {
  const t0 = performance.now();
  let stepBound = 20_000;
  for (let seed = 1; (performance.now() - t0) / 1000 < seconds; seed++) {
    const o: StressOptions = { kernel: b.kernel, scenario: b.scenario, cpus: CPUS, ops: OPS, mode: "pct", seed, depth: HUNT_DEPTH, stepBound, chaos: 0, bugs: [b.id], keepGoing: false, watchdogSeconds: 5, pool };
    const { report } = await stress(o);
    if (report.pctSteps) stepBound = report.pctSteps;
    if (findingOf(report)) return report;
  }
  return null;
}

interface ShrinkRow {
  bug: string;
  finding: string | null;
  before: RunSize | null;
  after: RunSize | null;
  executions: number | null;
  seconds: number | null;
  replays: boolean | null;
  /** At most a tenth of the decisions left. */
  tenth: boolean | null;
  note: string | null;
  command: string | null;
}

/** A PCT find of each bug, shrunk; the shrunk run replayed from its report. */
async function shrinkTable(bugs: BugEntry[], budget: number) {
  const rows: ShrinkRow[] = [];
  const pool = new CpuPool(CPUS);
  try {
    for (const b of bugs) {
      const find = await pctFind(b, 120, pool);
      if (!find) {
        say(`${b.id}: no PCT find in 120 s`);
        rows.push({ bug: b.id, finding: null, before: null, after: null, executions: null, seconds: null, replays: null, tenth: null, note: "no PCT find", command: null });
        continue;
      }
      const r = await shrink(find, { seconds: budget });
      const replays = r.report ? (await replay(r.report)).reproduced : false;
      const tenth = r.before && r.after ? r.after.decisions * 10 <= r.before.decisions : null;
      say(`${b.id}: ${describeFinding(r.finding)} ${r.before?.decisions} -> ${r.after?.decisions} decisions, ${r.executions} executions, ${r.seconds.toFixed(1)} s, replays ${replays}: ${r.command}`);
      rows.push({ bug: b.id, finding: describeFinding(r.finding), before: r.before, after: r.after, executions: r.executions, seconds: round(r.seconds), replays, tenth, note: r.note, command: r.command });
    }
  } finally {
    await pool.discard();
  }
  const pair = (r: ShrinkRow, k: keyof RunSize) => (r.before && r.after ? `${r.before[k]} -> ${r.after[k]}` : null);
  const md = table(
    ["bug", "law in function", "decisions before -> after", "calls before -> after", "cpus", "workers", "executions", "seconds", "replays", "reason if > 1/10"],
    rows.map((r) => [
      r.bug,
      r.finding,
      pair(r, "decisions"),
      pair(r, "ops"),
      pair(r, "cpus"),
      pair(r, "population"),
      r.executions,
      r.seconds,
      r.replays === null ? null : r.replays ? "yes" : "NO",
      r.tenth === false || r.tenth === null ? r.note : "",
    ]),
  );
  return { rows, md };
}

/** Per kernel, a clean and a failing controlled run, each run `runs` times. */
async function determinism(runs: number) {
  const rows = [];
  for (const kernel of ["dragonfly", "netbsd"] as const) {
    const bug = CATALOG.find((b) => b.kernel === kernel)!;
    const pool = new CpuPool(CPUS);
    const failing = await pctFind(bug, 120, pool);
    await pool.discard();
    const clean = (await stress({ kernel, scenario: "mixed", cpus: CPUS, ops: OPS, mode: "pct", seed: 1, chaos: 0, bugs: [], keepGoing: false })).report;
    for (const [what, report] of [[`clean mixed, pct seed 1, ${OPS} calls`, clean], [`${bug.id}, pct seed ${failing?.config.seed}`, failing]] as const) {
      if (!report) continue;
      const t0 = performance.now();
      const out = await checkDeterminism(report, runs);
      const seconds = round((performance.now() - t0) / 1000);
      say(`${kernel} ${what}: ${out.deterministic ? "deterministic" : `${out.divergences.length} divergences`} in ${seconds} s`);
      rows.push({ kernel, run: what, point: out.original, runs, divergences: out.divergences.length, deterministic: out.deterministic, seconds, first: out.divergences[0] ?? null });
    }
  }
  const md = table(
    ["kernel", "run", "reaches", "runs", "divergences", "seconds"],
    rows.map((r) => [r.kernel, r.run, r.point.law ? `${r.point.law} at step ${r.point.step}` : `${r.point.verdict} at its end`, r.runs, r.deterministic ? 0 : r.divergences || "all differ from the report", r.seconds]),
  );
  return { rows, md };
}

async function main(): Promise<void> {
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    options: { bug: { type: "string", multiple: true }, finds: { type: "string" }, "find-budget": { type: "string" }, budget: { type: "string" }, runs: { type: "string" }, out: { type: "string" } },
  });
  const bugs = bugsOf(v.bug ?? []);
  const t0 = performance.now();
  let result: { md: string };
  switch (positionals[0]) {
    case "conversion":
      result = await conversion(bugs, Number(v.finds ?? 3), Number(v["find-budget"] ?? 60), Number(v.budget ?? REPRODUCE_SECONDS));
      break;
    case "shrink":
      result = await shrinkTable(bugs, Number(v.budget ?? SHRINK_SECONDS));
      break;
    case "determinism":
      result = await determinism(Number(v.runs ?? 100));
      break;
    default:
      throw new Error("usage: reproduction.js conversion|shrink|determinism [options] (see the file's head)");
  }
  process.stdout.write(`${result.md}\n\n(${round((performance.now() - t0) / 1000, 0)} s)\n`);
  if (v.out) writeFileSync(v.out, JSON.stringify(result, null, 2) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
