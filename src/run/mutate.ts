/*
 * `forkstorm mutate`: how forkstorm measures its own blind spots (issue 16 item 6). Every
 * interlock site of a kernel model gets its "forgot it" mutant (src/sites/kinds.ts), which runs
 * under PCT for a bounded number of executions on the scenarios that reach its site. Per mutant:
 *   not-reached  its site never ran (in the reach phase, or in its own executions)
 *   killed       an execution ended on a violation, a hang or a panic: by which law, after how many
 *   equivalent   it survived, and docs/mutants-equivalent.md says why no run can tell it apart
 *   survived     a gap: a reach gap when no reach run put another cpu at its site, else a detection gap
 *   timeout      not killed, and an execution hit the wall-clock watchdog twice (the second time with
 *                RERUN_WATCHDOG_SECONDS): its verdict is unknown -- a livelock of the mutant and a
 *                host too loaded to move look the same -- so it is neither a kill nor a survivor
 * score = killed / (reached - equivalent - timeout); the summary gives the score with the timeouts
 * counted as survivors beside it, the bound an unloaded re-run cannot go under.
 *
 * 1. Reach phase: every scenario of the kernel, a few executions of the clean kernel, coverage kept
 *    per scenario; it says which scenarios reach each site (concurrently first).
 * 2. Mutant phase: each mutant on its site's best scenarios in turn, at most `executions` runs.
 * Both phases spread over `jobs` lanes, each a CpuPool of its own: a PCT machine keeps about one
 * core busy whatever its cpu count, so lanes = cores. `shard` k/N runs every N-th mutant (the
 * reach phase runs in full in every shard, so each shard chooses the same scenarios).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SCENARIOS } from "../../stress/scenarios/index.js";
import type { KernelName } from "../kern/kernel.js";
import { VERSION, type StressReport } from "../report/report.js";
import { CpuPool, PACKAGE_ROOT } from "../sched/machine.js";
import { coverageOf, keyedRows, mergeCoverage, type CoverageReport } from "../sites/coverage.js";
import type { Operator, SiteKind } from "../sites/kinds.js";
import { manifest, type Manifest } from "../sites/manifest.js";
import { mutantsOf, type Mutant } from "../sites/mutant.js";
import { HUNT_DEPTH, median, type Shard } from "./hunt.js";
import { stress, type StressOptions } from "./stress.js";

export const EQUIVALENTS_FILE = join("docs", "mutants-equivalent.md");

export interface MutateOptions {
  kernel: KernelName;
  /** Executions per mutant before it counts as survived. */
  executions: number;
  /** Clean executions per scenario in the reach phase. */
  reachExecutions: number;
  cpus: number;
  /** System calls per execution. */
  ops: number;
  depth?: number;
  /** First seed: execution e of a mutant runs seed + e. */
  seed: number;
  /** Lanes run at once, each on its own worker pool. */
  jobs: number;
  /** Run only mutant i with i mod count = index - 1 (1-based, as hunt's --shard). */
  shard?: Shard;
  /** Run only mutants whose name contains one of these. */
  only?: string[];
  onMutant?: (row: MutantRow, done: number, of: number) => void;
  signal?: AbortSignal;
}

export type MutantStatus = "killed" | "survived" | "equivalent" | "not-reached" | "timeout";

export interface MutantRow {
  /** `KEY:OPERATOR` (stress --mutant runs it). */
  mutant: string;
  site: string;
  line: number;
  kind: SiteKind;
  operator: Operator;
  status: MutantStatus;
  /** The law of the first violation (watchdog-hang, panic for an internal error). */
  law?: string;
  executions: number;
  /** Killed: the scenario of the killing execution. */
  scenario?: string;
  /** The scenarios its executions ran on (the site's best in the reach phase). */
  scenarios: string[];
  /**
   * Hits of its site made concurrently in the reach phase, on those scenarios (clean kernel). A
   * survivor at 0 is a reach gap: no run put another cpu beside it, so no detector could see it.
   */
  reachConcurrent: number;
  /**
   * Executions whose violation the clean kernel breaks too, the same law in the same execution
   * (scenario, seed, step bound) without the mutant: the kernel's or a false positive of ours,
   * not the mutant's doing -- never counted as a kill.
   */
  cleanAlso?: { seed: number; scenario: string; law: string }[];
  /** Executions whose verdict is unknown: the mutant's run, or its clean twin, timed out twice. */
  timeouts?: { seed: number; scenario: string }[];
  /** Killed: the stress command that runs the killing execution again. */
  reproduce?: string;
  /** Equivalent: why (docs/mutants-equivalent.md). */
  reason?: string;
  seconds: number;
}

export interface MutateReport {
  schema: 1;
  tool: "forkstorm";
  version: string;
  command: "mutate";
  config: Omit<MutateOptions, "onMutant" | "signal">;
  verdict: "pass" | "fail";
  /** killed / (reached - equivalent - timeout); null when nothing reachable, non-equivalent and judged ran. */
  score: number | null;
  /** The score with the timeouts counted as survivors: killed / (reached - equivalent). */
  scoreTimeoutsSurvived: number | null;
  counts: { mutants: number; notReached: number; reached: number; killed: number; equivalent: number; survived: number; timeout: number; reachGaps: number };
  /** By kind of site: the same counts. */
  byKind: Record<string, { mutants: number; reached: number; killed: number; equivalent: number; survived: number; timeout: number }>;
  seconds: number;
  /** Executions run (both phases). */
  executions: number;
  mutants: MutantRow[];
  /** Violations of the clean kernel in the reach phase (false positives or seed defects to look at), and its timeouts (law "timeout"). */
  cleanFailures: { scenario: string; seed: number; law: string; seedDefect?: string }[];
  /** Entries of docs/mutants-equivalent.md naming no mutant of this build (to review). */
  staleEquivalents: string[];
  /**
   * Entries of docs/mutants-equivalent.md whose quoted source is no longer at their mutant's site
   * (an earlier call of the primitive renumbered the ordinals): not applied, to review.
   */
  slidEquivalents: string[];
  /** The reach phase's coverage of the clean kernel. */
  coverage: CoverageReport;
}

/** Score below this: exit 1 (a shortfall), as the issue asks of the detectors. */
export const MIN_SCORE = 0.8;

/** Seconds without a completed system call before an execution is called hung. */
const WATCHDOG_SECONDS = 5;
/**
 * A wall-clock timeout runs again with this watchdog (same seed and step bound: the same PCT
 * schedule). A host at load 70 kept whole executions under 5 s of progress (session 5: six such
 * "kills" ran clean in 0.9-2.9 s at load 20); a mutant's livelock times out however long we wait.
 */
const RERUN_WATCHDOG_SECONDS = 30;

export interface Reach {
  /** Site key -> scenario -> [hits, concurrent]. */
  bySite: Map<string, Map<string, [number, number]>>;
  /** Scenario -> PCT steps an execution takes (the next one's step bound). */
  steps: Map<string, number>;
  coverage: CoverageReport;
  cleanFailures: MutateReport["cleanFailures"];
}

/** A reviewed row: the source it quotes from its site (see siteQuotes), and why the mutant is equivalent. */
export interface EquivalentRow {
  quote: string;
  why: string;
}

/** The equivalent mutants the repository's review kept: `KEY:OPERATOR` -> its row. */
export function equivalents(): Map<string, EquivalentRow> {
  return new Map(keyedRows(join(PACKAGE_ROOT, EQUIVALENTS_FILE), 3).map(([k, quote, why]) => [k, { quote, why }]));
}

/** Lines of a row's site its quote may come from: the call's line and the first lines of what it guards. */
const QUOTE_LINES = 4;

/**
 * Whether the row's quoted source is still at its mutant's site: in the site's line or the
 * QUOTE_LINES - 1 after it. A site key counts the function's calls of one primitive, so a call
 * added earlier in the function moves the key -- and a row keyed by it -- onto the next call.
 */
export function siteQuotes(m: Manifest, key: string, quote: string, root = PACKAGE_ROOT): boolean {
  const site = m.sites.find((x) => x.key === key.slice(0, key.lastIndexOf(":")));
  if (!site) return false;
  const lines = readFileSync(join(root, site.file), "utf8").split("\n").slice(site.line - 1, site.line - 1 + QUOTE_LINES);
  return quote !== "" && lines.join("\n").includes(quote);
}

/** The rows of `kernel` that name a mutant of this build but whose quote is not at its site. */
export function slidEquivalents(kernel: KernelName, rows: ReadonlyMap<string, EquivalentRow>, m: Manifest, names: ReadonlySet<string>): string[] {
  return [...rows].filter(([k, r]) => k.startsWith(`${kernel}/`) && names.has(k) && !siteQuotes(m, k, r.quote)).map(([k]) => k);
}

export async function mutate(o: MutateOptions): Promise<{ report: MutateReport; exitCode: number }> {
  const t0 = performance.now();
  const m = manifest(PACKAGE_ROOT);
  const all = mutantsOf(o.kernel, m);
  const chosen = all.filter((mu, i) => (!o.shard || i % o.shard.count === o.shard.index - 1) && (!o.only?.length || o.only.some((s) => mu.name.includes(s))));
  const lanes = Array.from({ length: Math.max(1, o.jobs) }, () => new CpuPool(o.cpus));
  let executions = 0;
  const run: RunFn = async (pool, scenario, seed, stepBound, mutant, watchdogSeconds = WATCHDOG_SECONDS) => {
    executions++;
    const opts: StressOptions = { kernel: o.kernel, scenario, cpus: o.cpus, ops: o.ops, seconds: 120, mode: "pct", depth: o.depth ?? HUNT_DEPTH, ...(stepBound ? { stepBound } : {}), seed, chaos: 0, bugs: [], keepGoing: false, watchdogSeconds, signal: o.signal, pool, ...(mutant ? { mutant } : {}) };
    return (await stress(opts)).report;
  };
  const rows: MutantRow[] = [];
  let reach: Reach;
  try {
    reach = await reachPhase(o, lanes, run);
    const slid = new Set(slidEquivalents(o.kernel, equivalents(), m, new Set(all.map((mu) => mu.name))));
    const eq = new Map([...equivalents()].filter(([k]) => !slid.has(k)).map(([k, r]) => [k, r.why]));
    let done = 0;
    await inLanes(lanes, chosen, async (pool, mu) => {
      const row = await runMutant(o, mu, reach, eq, pool, run);
      rows.push(row);
      o.onMutant?.(row, ++done, chosen.length);
    }, o.signal);
  } finally {
    await Promise.all(lanes.map((p) => p.discard()));
  }
  const order = new Map(chosen.map((mu, i) => [mu.name, i]));
  rows.sort((a, b) => order.get(a.mutant)! - order.get(b.mutant)!);
  const report = summarize(o, rows, reach, executions, (performance.now() - t0) / 1000, new Set(all.map((mu) => mu.name)), m);
  return { report, exitCode: o.signal?.aborted ? 130 : report.verdict === "pass" ? 0 : 1 };
}

export type RunFn = (pool: CpuPool, scenario: string, seed: number, stepBound: number | undefined, mutant?: string, watchdogSeconds?: number) => Promise<StressReport>;

/** Run `work` on every item, `lanes.length` at a time, each lane on its own pool. */
async function inLanes<T>(lanes: CpuPool[], items: readonly T[], work: (pool: CpuPool, item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  await Promise.all(
    lanes.map(async (pool) => {
      while (next < items.length && !signal?.aborted) await work(pool, items[next++]);
    }),
  );
}

async function reachPhase(o: MutateOptions, lanes: CpuPool[], run: RunFn): Promise<Reach> {
  const scenarios = SCENARIOS.filter((s) => s.kernel === o.kernel).map((s) => s.name);
  const jobs = scenarios.flatMap((scenario) => Array.from({ length: o.reachExecutions }, (_, e) => ({ scenario, e })));
  const bySite = new Map<string, Map<string, [number, number]>>();
  const steps = new Map<string, number[]>();
  let coverage: CoverageReport | null = null;
  const cleanFailures: Reach["cleanFailures"] = [];
  await inLanes(lanes, jobs, async (pool, { scenario, e }) => {
    const seed = o.seed + 1_000_003 * (e + 1);
    const { r, end } = await settled(run, pool, scenario, seed, undefined);
    if (end !== "clean") cleanFailures.push(cleanFailure(o.kernel, scenario, seed, end === "timeout" ? "timeout" : end.law));
    if (r.pctSteps && end !== "timeout") steps.set(scenario, [...(steps.get(scenario) ?? []), r.pctSteps]);
    coverage = coverage ? mergeCoverage(coverage, r.coverage) : r.coverage;
    for (const row of r.coverage.rows) {
      if (row.hits === 0) continue;
      const per = bySite.get(row.site) ?? new Map<string, [number, number]>();
      const had = per.get(scenario) ?? [0, 0];
      per.set(scenario, [had[0] + row.hits, had[1] + row.concurrent]);
      bySite.set(row.site, per);
    }
  }, o.signal);
  return {
    bySite,
    steps: new Map([...steps].map(([s, xs]) => [s, Math.round(median(xs)!)])),
    coverage: coverage ?? coverageOf(o.kernel, [], manifest(PACKAGE_ROOT)),
    cleanFailures,
  };
}

/** A clean reach execution that did not end clean, with the seed defect its scenario reaches by that law, if any. */
export function cleanFailure(kernel: KernelName, scenario: string, seed: number, law: string): Reach["cleanFailures"][number] {
  const known = SCENARIOS.find((s) => s.kernel === kernel && s.name === scenario)?.seedDefects?.find((d) => d.laws.includes(law));
  return { scenario, seed, law, ...(known ? { seedDefect: known.finding } : {}) };
}

/** The summary's line for a clean reach execution that did not end clean. */
export function cleanFailureLine(f: Reach["cleanFailures"][number]): string {
  if (f.law === "timeout") return `the clean kernel timed out twice in ${f.scenario} (seed ${f.seed}): the host, or a hang to look at`;
  const what = f.seedDefect ? `the seed's defect ${f.seedDefect} (docs/findings.md), which ${f.scenario} reaches on purpose and which breaks this law` : "a false positive or a seed defect to look at";
  return `the clean kernel broke ${f.law} in ${f.scenario} (seed ${f.seed}): ${what}`;
}

/**
 * How an execution ended: clean, a law broken first (watchdog-hang when nothing could run any
 * more, panic for an internal error), or "timeout" -- the wall-clock watchdog or drain limit
 * called it hung while threads could still run, which says nothing about the kernel.
 */
export type Ending = "clean" | "timeout" | { law: string };

export function endingOf(r: StressReport): Ending {
  if (r.verdict !== "violation" && r.verdict !== "hang" && r.verdict !== "error") return "clean";
  const law = r.violations[0]?.law;
  if (law) return { law };
  if (r.verdict === "error") return { law: "panic" };
  return r.hang?.cause === "quiescent" ? { law: "watchdog-hang" } : "timeout";
}

/** Run an execution; a timeout runs once more, same schedule, with the long watchdog. */
async function settled(run: RunFn, pool: CpuPool, scenario: string, seed: number, stepBound: number | undefined, mutant?: string): Promise<{ r: StressReport; end: Ending }> {
  const r = await run(pool, scenario, seed, stepBound, mutant);
  const end = endingOf(r);
  if (end !== "timeout") return { r, end };
  const again = await run(pool, scenario, seed, r.config.stepBound, mutant, RERUN_WATCHDOG_SECONDS);
  return { r: again, end: endingOf(again) };
}

/**
 * The scenarios a mutant runs on, among those reaching its site: the two with the most concurrent
 * hits of the site (then of its function's sites, then the most hits), and a third, the one where
 * the site's function ran most concurrently, when that is another. A site's own count says little
 * where its lock is global -- a proc_lock region is "concurrent" with any other holder, and
 * issignal's p_lock race partner is lwp-churn's sigaction, not the scenarios where issignal meets
 * other holders most -- nor where no clean execution happened to fire it (a re-check, a stall with
 * holders): every scenario then ranks 0 and the most hits won. The function's other interlocks
 * running concurrently is the nearest sign that the site's partner accesses run there. Before
 * them come the scenarios built for the site's function (`targeting`: their `targets` name it) that
 * reached the site: a race its scenario was designed for can be one no clean reach execution
 * happened to show concurrently (sys_vfork's hold on its child, reaped by another lwp in the few
 * steps before the pid is read: ps-wait). The executions are shared (scenarioOf), so a mutant
 * costs what it did.
 */
export function scenariosFor(key: string, reach: Pick<Reach, "bySite">, targeting: readonly string[] = []): string[] {
  const per = reach.bySite.get(key);
  if (!per) return [];
  const fn = functionConcurrency(key, reach);
  const f = (s: string) => fn.get(s) ?? 0;
  const [hits, conc] = [(s: string) => per.get(s)![0], (s: string) => per.get(s)![1]];
  const chosen = [...per.keys()].sort((a, b) => conc(b) - conc(a) || f(b) - f(a) || hits(b) - hits(a)).slice(0, 2);
  const byFunction = [...per.keys()].sort((a, b) => f(b) - f(a) || conc(b) - conc(a) || hits(b) - hits(a))[0];
  if (f(byFunction) > 0 && !chosen.includes(byFunction)) chosen.push(byFunction);
  const built = targeting.filter((s) => per.has(s));
  return [...built, ...chosen.filter((s) => !built.includes(s))];
}

/**
 * Execution e's scenario: round robin over `scenarios`, except that when the first `built` of them
 * were built for the site's function (and others follow), every other execution is theirs -- the
 * race they were designed to make is one a clean reach execution may not have shown.
 */
export function scenarioOf(e: number, scenarios: readonly string[], built: number): string {
  if (built === 0 || built === scenarios.length) return scenarios[e % scenarios.length];
  const half = Math.floor(e / 2);
  return e % 2 === 0 ? scenarios[half % built] : scenarios[built + (half % (scenarios.length - built))];
}

/** The scenarios of `kernel` built to drive the function of site `key`, or that one site (their `targets`). */
export function scenariosTargeting(kernel: KernelName, key: string): string[] {
  const site = key.slice(key.indexOf(":") + 1);
  const fn = site.slice(0, site.lastIndexOf(":"));
  return SCENARIOS.filter((s) => s.kernel === kernel && (s.targets?.includes(fn) || s.targets?.includes(site))).map((s) => s.name);
}

/** Scenario -> concurrent hits of every site in the function of the site `key` (its key up to the operator's part). */
function functionConcurrency(key: string, reach: Pick<Reach, "bySite">): Map<string, number> {
  const prefix = key.slice(0, key.lastIndexOf(":") + 1);
  const out = new Map<string, number>();
  for (const [k, per] of reach.bySite) {
    if (!k.startsWith(prefix)) continue;
    for (const [s, [, c]] of per) out.set(s, (out.get(s) ?? 0) + c);
  }
  return out;
}

export async function runMutant(o: Pick<MutateOptions, "kernel" | "executions" | "cpus" | "ops" | "depth" | "seed" | "signal">, mu: Mutant, reach: Reach, eq: ReadonlyMap<string, string>, pool: CpuPool, run: RunFn): Promise<MutantRow> {
  const t0 = performance.now();
  const targeting = scenariosTargeting(o.kernel, mu.site.key);
  const scenarios = scenariosFor(mu.site.key, reach, targeting);
  const built = targeting.filter((s) => scenarios.includes(s)).length;
  const reachConcurrent = scenarios.reduce((n, s) => n + (reach.bySite.get(mu.site.key)?.get(s)?.[1] ?? 0), 0);
  const row: MutantRow = { mutant: mu.name, site: mu.site.key, line: mu.site.line, kind: mu.site.kind, operator: mu.op, status: "not-reached", executions: 0, scenarios, reachConcurrent, seconds: 0 };
  let reached = false;
  for (let e = 0; e < o.executions && scenarios.length && !o.signal?.aborted; e++) {
    const scenario = scenarioOf(e, scenarios, built);
    const seed = o.seed + e;
    const { r, end } = await settled(run, pool, scenario, seed, reach.steps.get(scenario), mu.name);
    row.executions = e + 1;
    reached ||= (r.coverage.rows.find((x) => x.site === mu.site.key)?.hits ?? 0) > 0;
    if (end === "timeout") {
      (row.timeouts ??= []).push({ seed, scenario });
      continue;
    }
    if (end !== "clean") {
      const law = end.law;
      // The same execution on the clean kernel: breaking the same law there, it is no kill; if
      // it times out, whether it would is unknown, and so is the mutant's execution.
      const clean = (await settled(run, pool, scenario, seed, r.config.stepBound)).end;
      if (clean === "timeout") {
        (row.timeouts ??= []).push({ seed, scenario });
        continue;
      }
      if (clean !== "clean" && clean.law === law) {
        (row.cleanAlso ??= []).push({ seed, scenario, law });
        continue;
      }
      Object.assign(row, { status: "killed", law, scenario });
      row.reproduce = `forkstorm stress --kernel ${o.kernel} --scenario ${scenario} --cpus ${o.cpus} --ops ${o.ops} --mode pct --depth ${o.depth ?? HUNT_DEPTH} --step-bound ${r.config.stepBound} --seed ${seed} --mutant ${mu.name}`;
      reached = true;
      break;
    }
  }
  if (row.status !== "killed") judge(row, reached, eq.get(mu.name));
  row.seconds = Math.round((performance.now() - t0) / 10) / 100;
  return row;
}

/** A mutant no execution killed: equivalent (reviewed), timeout (a verdict unknown), survived, or not reached. */
function judge(row: MutantRow, reached: boolean, why: string | undefined): void {
  if (reached && why) Object.assign(row, { status: "equivalent", reason: why });
  else if (row.timeouts?.length) row.status = "timeout";
  else if (reached) row.status = "survived";
}

export function summarize(o: MutateOptions, rows: MutantRow[], reach: Reach, executions: number, seconds: number, names: ReadonlySet<string>, m: Manifest = manifest(PACKAGE_ROOT)): MutateReport {
  const count = (rs: MutantRow[]) => {
    const n = (s: MutantStatus) => rs.filter((r) => r.status === s).length;
    return { mutants: rs.length, reached: rs.length - n("not-reached"), killed: n("killed"), equivalent: n("equivalent"), survived: n("survived"), timeout: n("timeout") };
  };
  const c = count(rows);
  const byKind: MutateReport["byKind"] = {};
  for (const kind of new Set(rows.map((r) => r.kind))) byKind[kind] = count(rows.filter((r) => r.kind === kind));
  const ratio = (denom: number) => (denom > 0 ? Math.round((c.killed / denom) * 1e4) / 1e4 : null);
  const score = ratio(c.reached - c.equivalent - c.timeout);
  const { onMutant: _a, signal: _b, ...config } = o;
  return {
    schema: 1,
    tool: "forkstorm",
    version: VERSION,
    command: "mutate",
    config,
    verdict: !o.signal?.aborted && (score ?? 1) >= MIN_SCORE ? "pass" : "fail",
    score,
    scoreTimeoutsSurvived: ratio(c.reached - c.equivalent),
    counts: { mutants: c.mutants, notReached: c.mutants - c.reached, reached: c.reached, killed: c.killed, equivalent: c.equivalent, survived: c.survived, timeout: c.timeout, reachGaps: rows.filter((r) => r.status === "survived" && r.reachConcurrent === 0).length },
    byKind,
    seconds: Math.round(seconds * 10) / 10,
    executions,
    mutants: rows,
    cleanFailures: reach.cleanFailures,
    staleEquivalents: staleEquivalents(o.kernel, equivalents().keys(), names),
    slidEquivalents: slidEquivalents(o.kernel, equivalents(), m, names),
    coverage: reach.coverage,
  };
}

/**
 * The reviewed rows that name no mutant of this build, among the rows of `kernel` (a row's key
 * starts with its kernel's directory): the other kernel's rows are not this run's to judge.
 */
export function staleEquivalents(kernel: KernelName, keys: Iterable<string>, names: ReadonlySet<string>): string[] {
  return [...keys].filter((k) => k.startsWith(`${kernel}/`) && !names.has(k));
}

/** A survivor's line: where it ran, and whether its site was ever reached concurrently there; a timeout's executions. */
function survivorNote(x: MutantRow): string {
  if (x.status === "timeout") return `timed out twice: ${x.timeouts!.map((t) => `${t.scenario} seed ${t.seed}`).join(", ")} (wall clock; re-run on a quieter host)`;
  if (x.status !== "survived") return "";
  return `${x.scenarios.join(",")}: ${x.reachConcurrent ? `reached concurrently ${x.reachConcurrent}x (detection gap)` : "never reached concurrently (reach gap)"}`;
}

export function mutateSummary(r: MutateReport): string {
  const c = r.counts;
  const pct = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);
  const lines = [
    `forkstorm mutate: ${r.config.kernel}: ${r.verdict.toUpperCase()}, score ${pct(r.score)} (killed ${c.killed} / (reached ${c.reached} - equivalent ${c.equivalent} - timeout ${c.timeout})), ${c.mutants} mutants, ${c.notReached} not reached, ${c.survived} survived (${c.reachGaps} never reached concurrently); ${r.executions} executions in ${r.seconds} s`,
    ...(c.timeout ? [`${c.timeout} timed out twice on the wall clock, verdict unknown (counted as survivors: score ${pct(r.scoreTimeoutsSurvived)})`] : []),
    `${"kind".padEnd(10)} ${"mutants".padStart(7)} ${"reached".padStart(7)} ${"killed".padStart(7)} ${"equiv".padStart(6)} ${"gap".padStart(5)} ${"timeout".padStart(7)}`,
  ];
  for (const [k, v] of Object.entries(r.byKind)) lines.push(`${k.padEnd(10)} ${String(v.mutants).padStart(7)} ${String(v.reached).padStart(7)} ${String(v.killed).padStart(7)} ${String(v.equivalent).padStart(6)} ${String(v.survived).padStart(5)} ${String(v.timeout).padStart(7)}`);
  const width = Math.max(20, ...r.mutants.map((x) => x.mutant.length));
  lines.push("", `${"mutant".padEnd(width)}  ${"status".padEnd(11)} execs  law / reason`);
  for (const x of r.mutants) lines.push(`${x.mutant.padEnd(width)}  ${x.status.padEnd(11)} ${String(x.executions).padStart(5)}  ${x.law ?? x.reason ?? survivorNote(x)}`);
  for (const f of r.cleanFailures) lines.push(cleanFailureLine(f));
  const spurious = r.mutants.filter((x) => x.cleanAlso?.length).length;
  if (spurious) lines.push(`${spurious} mutants had executions whose violation the clean kernel breaks too (not counted as kills: cleanAlso in the JSON)`);
  for (const s of r.staleEquivalents) lines.push(`stale entry in ${EQUIVALENTS_FILE}: ${s} names no mutant of this build`);
  for (const s of r.slidEquivalents) lines.push(`entry in ${EQUIVALENTS_FILE} not applied: ${s} no longer has the source its row quotes (an earlier call renumbered the site?): review it`);
  return lines.join("\n");
}
