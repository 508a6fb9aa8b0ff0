/*
 * `forkstorm stress`: a scenario on N simulated cpus, free-running with seeded chaos, detectors
 * live; at the end user programs drain, init reaps everything, and the conservation audit checks
 * that every table and count is back where boot left it. A watchdog calls a run hung when no
 * system call completes for a while; the report then holds every thread's state.
 */
import { resolve } from "node:path";
import { Mutex } from "async-mutex";
import { CATALOG } from "../bugs/catalog.js";
import { DETECTORS, type DetectorName } from "../detect/index.js";
import type { DetectorSummary } from "../detect/detector.js";
import { UsageError, type AuditFinding, type KernelModel, type Limits } from "../kern/kernel.js";
import { loadKernel } from "../kern/registry.js";
import type { CpuResult, ThreadDump, ViolationRecord } from "../sched/cpu.js";
import { Machine, PACKAGE_ROOT, type CpuPool } from "../sched/machine.js";
import { PctChooser } from "../sched/pct.js";
import { mergeSchedstat, type SchedStat } from "../sched/schedstat.js";
import { isControlled } from "../sched/strategy.js";
import { VirtualClocks, virtualSummary, type CostModel, type VirtualSummary } from "../sched/virtual.js";
import type { Instrument, MachineSpec } from "../sched/spec.js";
import { formatSchedule, newDecisionLog, readDecisionLog, type Decision } from "../sched/decisions.js";
import { newEventLog, readEventLog, type LoggedEvent } from "../sched/eventlog.js";
import { chromeTrace, describeEvent } from "../report/trace.js";
import { stressCommand } from "../report/command.js";
import { stressHtml, timelineOf } from "../report/html.js";
import { checkOutputPath, mergeLocks, mergeThreads, mergeSyscalls, mergeViolations, VERSION, writeJsonOrSave, writeTextOrSave, type HangCause, type StressConfig, type StressReport, type Verdict, type WriteFailure } from "../report/report.js";
import { coverageOf } from "../sites/coverage.js";
import { resolveMutant } from "../sites/mutant.js";
import { manifest } from "../sites/manifest.js";
import { findScenario } from "../../stress/scenarios/index.js";
import type { Scenario } from "../../stress/scenarios/types.js";

export interface StressOptions {
  kernel: "dragonfly" | "netbsd";
  scenario: string;
  cpus: number;
  /** Wall seconds; in virtual mode, virtual seconds. */
  seconds?: number;
  ops?: number;
  mode: "free" | "pct" | "random" | "replay" | "schedule" | "virtual";
  /** virtual: the cost model (src/sched/virtual.ts; src/bench/virtual.ts calibrates one). */
  cost?: CostModel;
  seed: number;
  chaos: number;
  /** pct: the bug depth d (d-1 priority change points); default 3. */
  depth?: number;
  /** pct: the step bound k change points are drawn from (learned from earlier runs); default 20000. */
  stepBound?: number;
  /** replay: the recorded schedule to follow (run-length encoded decisions). */
  schedule?: number[];
  /** schedule: the decisions that differ from the default (src/sched/decisions.ts). */
  decisions?: Decision[];
  /** Worker processes init keeps alive; default: the scenario's. */
  population?: number;
  /** Controlled modes: keep the whole event sequence (replay --check-determinism). */
  eventLog?: boolean;
  bugs: string[];
  keepGoing: boolean;
  /** Seconds without a completed system call before the run is called hung; default DEFAULT_WATCHDOG_SECONDS. */
  watchdogSeconds?: number;
  report?: string;
  trace?: string;
  /** Write a self-contained HTML report there (report/html.ts). */
  html?: string;
  /** Called about every 250 ms while running. */
  onProgress?: (p: { seconds: number; ops: number; violations: number }) => void;
  /** Aborting stops the run; the report is still written (verdict "interrupted"). */
  signal?: AbortSignal;
  /** Harness self-test: make cpu 0's worker throw after this many of its system calls. */
  plantCrashAfterOps?: number;
  /** lockstat keeps each lock class's acquiring and waiting kernel functions (a little slower). */
  lockSites?: boolean;
  /** Instruments switched off, to measure what they cost (forkstorm bench; sched/spec.ts). */
  instrumentsOff?: readonly Instrument[];
  /** Worker threads to run on (a hunt's executions share one pool); default: a pool of its own. */
  pool?: CpuPool;
  /** One interlock site's "forgot it" mutant, `KEY:OPERATOR` (forkstorm mutate; src/sites). */
  mutant?: string;
  /** Field-level detectors (src/detect); default: every one. */
  detectors?: readonly DetectorName[];
  /**
   * Controlled modes: image words whose accesses record their kernel function. stress() sets it
   * itself, for a second run of the same execution when the first reported races whose earlier
   * access it did not name (recording every access's function would cost more than the check).
   */
  siteAddrs?: readonly number[];
}

export interface StressOutcome {
  report: StressReport;
  exitCode: number;
  /** Report or trace files that could not be written where asked (and where they went instead). */
  unwritten: WriteFailure[];
  /** With `eventLog`: every event the run's hash mixed, and how to name one. */
  eventLog?: { events: LoggedEvent[]; complete: boolean; describe: (e: LoggedEvent) => string };
}

const VERDICT_EXIT: Record<Verdict, number> = { clean: 0, violation: 1, hang: 3, error: 4, interrupted: 130 };
/** A drain ends every thread: 20 s, and 5 ms more per thread live when it starts (fork-hold's 60,000). */
const DRAIN_SECONDS = 20;
const DRAIN_SECONDS_PER_THREAD = 0.005;
export const DEFAULT_WATCHDOG_SECONDS = 10;
const TICK_MS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One writer for report files, whatever finishes when (a ^C during a write waits for it). */
const reportWriter = new Mutex();

function limitsFor(model: KernelModel, sc: Scenario, population: number | undefined): Limits {
  const l = model.defaultLimits();
  const s = population !== undefined && sc.limitsFor ? sc.limitsFor(population) : sc.limits;
  return { ...l, ...s, tables: { ...l.tables, ...(s.tables ?? {}) } };
}

export function checkBugs(kernel: string, bugs: readonly string[]): void {
  for (const id of bugs) {
    const b = CATALOG.find((e) => e.id === id);
    if (!b) throw new UsageError(`unknown bug "${id}" (forkstorm list shows the catalogue)`);
    if (b.kernel !== kernel) throw new UsageError(`bug "${id}" is a ${b.kernel} bug, not ${kernel}`);
  }
}

/** The report and trace files must be writable, and distinct, before a run is spent on them. */
function checkOutputs(o: StressOptions): void {
  const outputs = [["report", o.report], ["trace", o.trace], ["html", o.html]] as const;
  for (const [what, file] of outputs) {
    const problem = file === undefined ? null : checkOutputPath(file);
    if (problem) throw new UsageError(`${what} ${file}: ${problem}`);
  }
  for (const [i, [a, fa]] of outputs.entries())
    for (const [b, fb] of outputs.slice(i + 1))
      if (fa !== undefined && fb !== undefined && resolve(fa) === resolve(fb)) throw new UsageError(`the ${a} and the ${b} both name ${fa}: give each its own file`);
}

export async function stress(o: StressOptions): Promise<StressOutcome> {
  const sc = findScenario(o.kernel, o.scenario);
  checkBugs(o.kernel, o.bugs);
  const mutant = o.mutant === undefined ? undefined : resolveMutant(o.kernel, o.mutant);
  checkOutputs(o);
  const model = await loadKernel(o.kernel);
  const limits = limitsFor(model, sc, o.population);
  const controlled = o.mode !== "free";
  // Runs that replay log their decisions (a virtual run measures throughput: it has nothing to replay).
  const decisionLog = controlled && o.mode !== "virtual" ? newDecisionLog() : undefined;
  const eventLog = controlled && o.eventLog ? newEventLog() : undefined;
  const m = new Machine({
    cpus: o.cpus,
    maxThreads: limits.tables.thread ?? 512,
    tables: model.tables(limits),
    modules: [model.module, sc.module],
    strategy: strategyOf(o),
    clock: controlled ? "logical" : "wall",
    hz: 100,
    stopOnViolation: !o.keepGoing,
    bugs: o.bugs,
    ...(mutant ? { mutant } : {}),
    detectors: o.detectors ?? DETECTORS,
    siteAddrs: o.siteAddrs,
    drainAtOps: o.ops,
    placement: sc.placement,
    lockSites: o.lockSites,
    instrumentsOff: o.instrumentsOff,
    decisionLog,
    eventLog,
    plantCrashAfterOps: o.plantCrashAfterOps,
  }, o.pool ?? null);
  model.boot(m, limits, { program: sc.init, args: initArgs(sc, o.population) });
  const baseline = new Map(m.image.allTables().map((t) => [t.name, t.inUse()]));
  const bootThreads = m.live();
  const config: StressConfig = {
    kernel: o.kernel,
    scenario: sc.name,
    cpus: o.cpus,
    mode: o.mode,
    seed: o.seed,
    chaos: controlled ? 0 : o.chaos,
    bugs: o.bugs,
    ...(o.mutant !== undefined ? { mutant: o.mutant } : {}),
    keepGoing: o.keepGoing,
    watchdogSeconds: o.watchdogSeconds ?? DEFAULT_WATCHDOG_SECONDS,
    ...(o.ops !== undefined ? { ops: o.ops } : { seconds: o.seconds ?? 10 }),
    ...(o.mode === "pct" ? { depth: o.depth ?? 3, stepBound: o.stepBound ?? 20000 } : {}),
    ...(o.mode === "virtual" ? { cost: costOf(o) } : {}),
    ...(o.mode === "schedule" ? { schedule: formatSchedule(o.decisions ?? []) } : {}),
    ...(o.population !== undefined ? { population: o.population } : {}),
    detectors: [...(o.detectors ?? DETECTORS)],
  };
  let hashAtEnd = "";
  let stepsAtEnd = 0;
  let choicesAtEnd = 0;
  let pctStepsAtEnd = 0;
  let virtualAtEnd: VirtualSummary | undefined;
  let drainedAtOps: number | null = null;

  // The run's clock starts when every cpu is up: starting 64 workers must not eat a --seconds run.
  let t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  let cpusUpAfter = 0;
  let verdict: Verdict = "clean";
  let hang: HangCause | null = null;
  let error: string | undefined;
  const extra: ViolationRecord[] = [];
  let results: CpuResult[] = [];
  try {
    await m.start();
    t0 = performance.now();
    cpusUpAfter = (Date.now() - m.epochMs()) / 1000;
    const ending = await watch(m, model, o, elapsed, extra);
    if (typeof ending === "object") hang = ending;
    else verdict = ending;
    if (!hang && (verdict === "clean" || (verdict === "violation" && o.keepGoing))) {
      hang = await drain(m, o, bootThreads);
      // Controlled modes read the live laws only at rest (see LiveLaws), and a drained machine is at
      // rest: what a free-mode run would have seen while running (a lost count stays lost) comes
      // first, under its own law, then the audits.
      if (!hang) extra.push(...(controlled ? liveNow(model, m, elapsed(), "at rest after the drain") : []), ...audits(m, model, baseline, elapsed()));
    }
    // Once nothing can run (and in controlled modes at any hang) the live laws' findings are final (see LiveLaws).
    if (hang && (controlled || hang.cause === "quiescent")) extra.push(...liveNow(model, m, elapsed(), "nothing can run any more"));
    drainedAtOps = m.drainedAtOps();
    hashAtEnd = m.eventHash();
    stepsAtEnd = m.steps();
    choicesAtEnd = m.choices();
    if (o.mode === "pct") pctStepsAtEnd = PctChooser.stepsTaken(m.chooserState(), o.cpus);
    if (o.mode === "virtual") virtualAtEnd = virtualSummary(new VirtualClocks(m.image, o.cpus), o.seconds ?? VIRTUAL_SECONDS);
  } catch (e) {
    verdict = "error";
    error = (e as Error).stack ?? String(e);
  } finally {
    const stopped = await m.stopCollecting();
    results = stopped.results;
    if (stopped.crash) {
      verdict = "error";
      error ??= stopped.crash.stack ?? String(stopped.crash);
    }
  }
  const threads = mergeThreads(results);
  const merged = withSleepStacks(mergeViolations(sinceCpusUp(results, cpusUpAfter), extra, controlled), threads);
  const sites = controlled && o.siteAddrs === undefined ? detectorSummaries(results).flatMap((d) => d.sitesWanted) : [];
  const violations = sites.length ? await withFunctions(o, merged, sites) : merged;
  const detectorNotes = detectorSummaries(results).flatMap((d) => d.notes);
  // What broke comes first: a hang after violations (--keep-going) is reported, the verdict is the violations'.
  if (verdict === "clean" || verdict === "violation") verdict = violations.length ? "violation" : hang ? "hang" : "clean";
  const report: StressReport = {
    schema: 1,
    tool: "forkstorm",
    version: VERSION,
    command: "stress",
    config,
    verdict,
    elapsedSeconds: Math.round(elapsed() * 1000) / 1000,
    ops: mergeSyscalls(results),
    eventHash: controlled ? hashAtEnd : null,
    steps: stepsAtEnd,
    ...(controlled ? { choices: choicesAtEnd } : {}),
    ...(o.mode === "pct" ? { pctSteps: pctStepsAtEnd } : {}),
    ...(controlled ? { schedule: scheduleOf(results), drainedAtOps } : {}),
    ...(decisionLog ? { decisions: decisionsOf(decisionLog) } : {}),
    ...(virtualAtEnd ? { virtual: virtualAtEnd } : {}),
    violations,
    ...(detectorNotes.length ? { detectorNotes } : {}),
    hang: hang && verdict !== "interrupted" && verdict !== "error" ? { ...hang, threads } : null,
    ...mergeLocks(results),
    ...(controlled ? {} : { schedstat: mergeSchedstat(results.map((r) => r.extras.schedstat as SchedStat)) }),
    coverage: coverageOf(o.kernel, results, manifest(PACKAGE_ROOT)),
    ...(error ? { error } : {}),
  };
  const callName = (n: number) => Object.keys(model.calls)[n] ?? `call#${n}`;
  const unwritten: WriteFailure[] = [];
  const trace = () => chromeTrace(results, (a) => m.image.describe(a), callName);
  const html = o.html ? await stressHtml(report, stressCommand(config), timelineOf(trace()), results.flatMap((r) => r.threads), { describe: (a) => m.image.describe(a), callName }) : "";
  await reportWriter.runExclusive(() => {
    const note = (f: WriteFailure | null) => f && unwritten.push(f);
    if (o.report) note(writeJsonOrSave(o.report, report));
    if (o.trace) note(writeJsonOrSave(o.trace, trace()));
    if (o.html) note(writeTextOrSave(o.html, html));
  });
  const describe = (e: LoggedEvent) => describeEvent(e, (a) => m.image.describe(a), callName);
  return { report, exitCode: VERDICT_EXIT[verdict], unwritten, ...(eventLog ? { eventLog: { ...readEventLog(eventLog), describe } } : {}) };
}

/** A virtual run's default length, in virtual seconds. */
const VIRTUAL_SECONDS = 0.05;

function costOf(o: StressOptions): CostModel {
  if (!o.cost) throw new UsageError("virtual mode needs a cost model (forkstorm bench calibrates one)");
  return o.cost;
}

/** A live law's finding names its thread; the stack is the one that thread went to sleep with, if it still sleeps. */
function withSleepStacks(violations: ViolationRecord[], threads: readonly ThreadDump[]): ViolationRecord[] {
  return violations.map((v) => (v.stack || v.tid < 0 ? v : { ...v, stack: threads.find((t) => t.tid === v.tid && t.pid === v.pid)?.stack ?? "" }));
}

/** The cpus time their violations from the machine's epoch; the report, from when the cpus were up. */
function sinceCpusUp(results: CpuResult[], cpusUpAfter: number): CpuResult[] {
  return results.map((r) => ({ ...r, violations: r.violations.map((v) => ({ ...v, atSeconds: Math.max(0, v.atSeconds - cpusUpAfter) })) }));
}

function detectorSummaries(results: readonly CpuResult[]): DetectorSummary[] {
  return results.flatMap((r) => (r.extras.detectors ? [r.extras.detectors as DetectorSummary] : []));
}

/**
 * A controlled run is a function of its seed: run it again recording the kernel function of
 * every access to the fields its races were reported on, and take those reports from the second
 * run (the same violations at the same steps, now naming both functions).
 */
async function withFunctions(o: StressOptions, first: ViolationRecord[], siteAddrs: readonly number[]): Promise<ViolationRecord[]> {
  const { report } = await stress({ ...o, siteAddrs, report: undefined, trace: undefined, html: undefined, onProgress: undefined });
  const again = report.violations;
  const same = again.length === first.length && again.every((v, i) => v.law === first[i].law && v.step === first[i].step && v.cpu === first[i].cpu);
  return same ? first.map((v, i) => ({ ...v, message: again[i].message })) : first;
}

function strategyOf(o: StressOptions): MachineSpec["strategy"] {
  switch (o.mode) {
    case "free":
      return { name: "free", seed: o.seed, chaos: o.chaos };
    case "random":
      return { name: "random", seed: o.seed };
    case "pct":
      return { name: "pct", seed: o.seed, depth: o.depth ?? 3, stepBound: o.stepBound ?? 20000 };
    case "virtual":
      return { name: "virtual", seed: o.seed, seconds: o.seconds ?? VIRTUAL_SECONDS, cost: costOf(o) };
    case "replay":
      if (!o.schedule) throw new UsageError("replay mode needs a recorded schedule");
      return { name: "replay", seed: o.seed, schedule: o.schedule };
    case "schedule":
      return { name: "schedule", seed: o.seed, decisions: o.decisions ?? [] };
  }
}

/** The scenario's init arguments, with another population of worker processes if asked. */
function initArgs(sc: Scenario, population: number | undefined): readonly number[] {
  return population === undefined ? sc.initArgs : [population, ...sc.initArgs.slice(1)];
}

/** The run's decisions against the default, as a schedule string (null: too many to keep). */
function decisionsOf(log: SharedArrayBuffer): string | null {
  const ds = readDecisionLog(log);
  return ds && formatSchedule(ds);
}

/**
 * The run's decisions, in step order, run-length encoded; null when too long to keep, or when a
 * cpu's record was cut short (the runs would not meet end to end).
 */
function scheduleOf(results: readonly CpuResult[]): number[] | null {
  const runs: [number, number, number][] = [];
  for (const r of results) for (let i = 0; i < r.decisions.length; i += 3) runs.push([r.decisions[i], r.decisions[i + 1], r.decisions[i + 2]]);
  runs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let step = 0;
  for (const [first, cpu, count] of runs) {
    if (first !== step) return null;
    step += count;
    const n = out.length;
    if (n && out[n - 2] === cpu) out[n - 1] += count;
    else out.push(cpu, count);
  }
  return out.length <= 400_000 ? out : null;
}

/** Run until the length is reached, a violation stops the machine, a hang is seen (which kind) or ^C. */
async function watch(m: Machine, model: KernelModel, o: StressOptions, elapsed: () => number, found: ViolationRecord[]): Promise<Verdict | HangCause> {
  const watchdog = o.watchdogSeconds ?? DEFAULT_WATCHDOG_SECONDS;
  const live = new LiveLaws(model, m);
  let lastOps = -1;
  let lastMove = elapsed();
  let lastReport = 0;
  for (;;) {
    await sleep(TICK_MS);
    if (m.crashed()) throw m.crashed();
    const ops = m.progress();
    const t = elapsed();
    if (o.onProgress && t - lastReport >= 0.25) {
      lastReport = t;
      o.onProgress({ seconds: t, ops, violations: m.violations() });
    }
    if (o.signal?.aborted) return "interrupted";
    if (m.stopped()) return m.violations() ? "violation" : "clean";
    const lasting = live.sample(t);
    if (lasting.length) {
      found.push(...lasting);
      if (!o.keepGoing) {
        m.requestStop();
        return "violation";
      }
    }
    if (ops !== lastOps) {
      lastOps = ops;
      lastMove = t;
    } else if (t - lastMove > watchdog) return { cause: "watchdog", during: "run", afterSeconds: round3(t) };
    // Every thread asleep and no timed sleep pending: nothing can ever run again.
    if (!m.draining() && m.runnable() === 0 && m.timed() === 0 && (await m.quiesce(20)) && !m.draining()) return { cause: "quiescent", during: "run", afterSeconds: round3(elapsed()) };
    // Virtual mode: the run's length is virtual time, and the cpus drain once they reach it.
    if (o.ops !== undefined || o.mode === "virtual" ? m.draining() : t >= (o.seconds ?? 10)) return m.violations() ? "violation" : "clean";
  }
}

/**
 * The kernel's live laws, sampled every LIVE_SAMPLE_MS while the cpus run. A finding is reported
 * once it has been seen in LIVE_PERSIST samples in a row -- a state in flux (a wakeup on its way)
 * passes, a lost one stays -- and only once. A sample counts only when every cpu moved since the
 * last one that counted (allCpusMoved): a worker the host left off its core for a while (load 40
 * on 2 cores) may be the one whose wakeup is on its way, and wall time alone would call it lost.
 *
 * A sample walks every thread and process: a few microseconds with a few dozen, about 30 ms
 * with fork-hold's 60,000 (0.5 us a thread) -- ten a second would take most of the
 * orchestrator's core from the cpus. So samples are spaced by the threads alive, 25 us each
 * (liveSampleGapMs): the walks take about a fiftieth of the orchestrator's time whatever the
 * population, and below 4,000 threads the pace is every 100 ms as before. The live count, not
 * the sample's measured time: a loaded host stretches wall time, and a short run must not sample
 * less because its orchestrator was kept off the core. Each sample still checks every law on
 * every record; with many processes a lasting finding takes longer to be seen LIVE_PERSIST times.
 */
const LIVE_SAMPLE_MS = 100;
const LIVE_PERSIST = 3;
const LIVE_SAMPLE_MS_PER_THREAD = 0.025;

/** Milliseconds between live-law samples with `threads` alive. */
export const liveSampleGapMs = (threads: number): number => Math.max(LIVE_SAMPLE_MS, LIVE_SAMPLE_MS_PER_THREAD * threads);

class LiveLaws {
  /** Each finding seen in the samples in a row so far: how many, and when first. */
  private readonly streak = new Map<string, { n: number; since: number }>();
  private readonly reported = new Set<string>();
  private last = -Infinity;
  /** Each cpu's system calls at the last sample that counted. */
  private counted: number[] = [];

  constructor(
    private readonly model: KernelModel,
    private readonly m: Machine,
  ) {}

  sample(t: number): ViolationRecord[] {
    // Controlled modes: persistence in wall time means nothing -- the strategy may pass over the
    // cpu whose wakeup is in flight for any number of steps (PCT does, by design) -- so the live
    // laws are read only once nothing can run any more (liveNow: on a hang, and after the drain).
    if (!this.model.liveLaws || isControlled(this.m.spec.strategy) || (t - this.last) * 1000 < liveSampleGapMs(this.m.live())) return [];
    this.last = t;
    const seen = new Map(this.model.liveLaws(this.m.image).map((f) => [`${f.law}\0${f.message}`, f]));
    for (const k of this.streak.keys()) if (!seen.has(k)) this.streak.delete(k);
    const now = this.m.cpuProgress();
    if (!allCpusMoved(this.counted, now)) return [];
    this.counted = now.map((c) => c.ops);
    const out: ViolationRecord[] = [];
    for (const [k, f] of seen) {
      const s = this.streak.get(k) ?? { n: 0, since: t };
      this.streak.set(k, { n: s.n + 1, since: s.since });
      if (s.n + 1 >= LIVE_PERSIST && !this.reported.has(k)) {
        this.reported.add(k);
        out.push(liveViolation(f, `seen for ${round3(t - s.since)} s`, t, { step: this.m.steps() }));
      }
    }
    return out;
  }
}

/**
 * Did every cpu complete a system call since `before` (each cpu's count then; [] at the first
 * sample), or sit idle now? A cpu that did neither has a thread mid-call that the host has not
 * let run: whatever it was about to do (a wakeup) is still on its way.
 */
export function allCpusMoved(before: readonly number[], now: readonly { ops: number; idle: boolean }[]): boolean {
  return now.every((c, i) => c.idle || before[i] === undefined || c.ops !== before[i]);
}

/** Once nothing can run (a hang, or the end of a controlled run's drain): the live laws' findings are final. */
function liveNow(model: KernelModel, m: Machine, at: number, why: string): ViolationRecord[] {
  return (model.liveLaws?.(m.image) ?? []).map((f) => liveViolation(f, why, at, quiescentStep(m)));
}

/** Where a violation found on a machine at rest happened: its last step (and hash, if controlled). */
function quiescentStep(m: Machine): { step: number; eventHash?: string } {
  return isControlled(m.spec.strategy) ? { step: m.steps(), eventHash: m.eventHash() } : { step: m.steps() };
}

/** A live law's finding as a violation, located at the thread it is about (its stack comes from the final dump). */
function liveViolation(f: AuditFinding, why: string, at: number, when: { step: number; eventHash?: string }): ViolationRecord {
  const where = f.thread ?? { cpu: -1, tid: -1, pid: 0, syscall: "" };
  return { law: f.law, message: `${f.message} (${why})`, ...where, atSeconds: at, ...when, stack: "", events: [] };
}

/**
 * End of run: programs exit, init reaps; done (null) when only the threads boot made are left and
 * all is quiet, else the kind of hang that kept it from finishing.
 */
async function drain(m: Machine, o: StressOptions, bootThreads: number): Promise<HangCause | null> {
  m.drain();
  const t0 = performance.now();
  const seconds = () => round3((performance.now() - t0) / 1000);
  const limit = DRAIN_SECONDS + DRAIN_SECONDS_PER_THREAD * m.live();
  let dead = 0;
  while (seconds() < limit) {
    if (m.crashed()) throw m.crashed();
    if (o.signal?.aborted || m.stopped()) return null;
    if (m.live() <= bootThreads && (await m.quiesce(200))) return null;
    // Threads left but nothing runnable and no timed sleep pending, twice in a row: nothing can
    // ever wake them (a stress run posts no calls from outside), so the drain is hung already.
    if (m.live() > bootThreads && (await m.quiesce(200))) {
      if (++dead >= 2) return { cause: "quiescent", during: "drain", afterSeconds: seconds() };
    } else dead = 0;
    await sleep(TICK_MS);
  }
  return { cause: "drain-timeout", during: "drain", afterSeconds: seconds() };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The conservation audit: after the drain, every table back to its boot count; then the kernel's own audits. */
function audits(m: Machine, model: KernelModel, baseline: ReadonlyMap<string, number>, at: number): ViolationRecord[] {
  const found = model.audit(m.image).map((f) => ({ law: f.law, message: f.message }));
  for (const t of m.image.allTables()) {
    if (model.persistentTables?.includes(t.name)) continue;
    const was = baseline.get(t.name)!;
    if (t.inUse() !== was) found.push({ law: "conservation", message: `table ${t.name}: ${t.inUse()} records in use after the drain, ${was} at boot` });
  }
  return found.map((f) => ({ ...f, cpu: -1, tid: -1, pid: 0, syscall: "", atSeconds: at, ...quiescentStep(m), stack: "", events: [] }));
}
