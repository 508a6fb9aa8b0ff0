/*
 * The `forkstorm` test fixture: stress runs, hunts, scripts and litmus tests from inside a vitest
 * test, on worker threads that a worker-scoped fixture owns (started once per vitest worker,
 * reused test after test, stopped when the worker ends). Each run's report (and a stress run's
 * trace) is written to the temporary directory and attached to the test through vitest's
 * annotations; the result carries the one-line command that reproduces it, for the matchers.
 *
 * Environment: FORKSTORM_SEED=N fills in the seed of every run the test leaves unseeded (a
 * nightly job can vary them); FORKSTORM_REPLAY=REPORT makes the stress run (or hunt) of the
 * same kernel, scenario and bugs run the report's configuration and seed instead -- a controlled
 * run then replays exactly.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "vitest";
import { resolveHuntOptions, resolveStressOptions, type HuntOptions, type StressOptions } from "../api/options.js";
import { UsageError } from "../errors.js";
import { scriptCommand } from "../report/command.js";
import { rerunCommand } from "../run/replay.js";
import { writeJsonAtomic, type StressReport } from "../report/report.js";
import { hunt, type HuntReport, type HuntOptions as HuntRun } from "../run/hunt.js";
import { litmus, type LitmusResult, type LitmusSpec } from "../run/litmus.js";
import { stress, type StressOutcome, type StressOptions as StressRun } from "../run/stress.js";
import { CpuPool } from "../sched/machine.js";
import { SEED_MAX } from "../sched/strategy.js";
import { runScript, type ScriptOutput } from "../script/runner.js";
import type { RunFiles } from "./matchers.js";

/** The worker's cpu pools, one per cpu count (a pool runs machines of exactly its size). */
export class CpuPools {
  private readonly pools = new Map<number, CpuPool>();

  of(cpus: number): CpuPool {
    let p = this.pools.get(cpus);
    if (!p) this.pools.set(cpus, (p = new CpuPool(cpus)));
    return p;
  }

  async discard(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.discard()));
    this.pools.clear();
  }
}

export type StressResult = StressOutcome & Required<Pick<RunFiles, "reproduce" | "reportFile" | "traceFile">>;
export type HuntResult = { report: HuntReport; exitCode: number } & Required<Pick<RunFiles, "reportFile">>;
export type ScriptResult = ScriptOutput & Required<Pick<RunFiles, "reproduce" | "reportFile">>;

/** A script for `script()`: the object, or the path of its JSON file. */
export type ScriptInput = string | { kernel: string; steps: unknown[]; [field: string]: unknown };

/** The seed FORKSTORM_SEED pins, if any. */
function pinnedSeed(): number | undefined {
  const text = process.env.FORKSTORM_SEED;
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > SEED_MAX) throw new UsageError(`FORKSTORM_SEED must be an integer 0..${SEED_MAX}, got "${text}"`);
  return n;
}

/** The report FORKSTORM_REPLAY names, if any. */
function replayReport(): StressReport | HuntReport | undefined {
  const file = process.env.FORKSTORM_REPLAY;
  if (!file) return undefined;
  let r: Partial<StressReport | HuntReport>;
  try {
    r = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`FORKSTORM_REPLAY=${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (r.schema !== 1 || (r.command !== "stress" && r.command !== "hunt") || typeof r.config !== "object") throw new UsageError(`FORKSTORM_REPLAY=${file} is not a forkstorm stress or hunt report`);
  return r as StressReport | HuntReport;
}

const sameBugs = (a: readonly string[] | "all", b: readonly string[] | "all") => JSON.stringify(a === "all" ? a : [...a].sort()) === JSON.stringify(b === "all" ? b : [...b].sort());

/** A stress run's options with FORKSTORM_SEED and FORKSTORM_REPLAY applied. */
function stressFromEnvironment(o: StressOptions): StressOptions {
  const r = replayReport();
  if (r?.command === "stress" && r.config.kernel === (o.kernel ?? "dragonfly") && r.config.scenario === (o.scenario ?? "mixed") && sameBugs(r.config.bugs, o.bugs ?? [])) {
    const c = r.config;
    const length = c.ops !== undefined ? { ops: c.ops } : { seconds: c.seconds };
    const chaos = c.mode === "free" ? { chaos: c.chaos } : {};
    const pct = c.mode === "pct" ? { depth: c.depth, stepBound: c.stepBound } : {};
    const { seconds: _s, ops: _o, chaos: _c, depth: _d, stepBound: _k, ...rest } = o;
    return { ...rest, ...length, ...chaos, ...pct, cpus: c.cpus, mode: c.mode as StressOptions["mode"], seed: c.seed, keepGoing: c.keepGoing };
  }
  return { ...o, seed: o.seed ?? pinnedSeed() };
}

/** A hunt's options with FORKSTORM_SEED and FORKSTORM_REPLAY applied. */
function huntFromEnvironment(o: HuntOptions): HuntOptions {
  const r = replayReport();
  if (r?.command === "hunt" && r.config.kernel === (o.kernel ?? "all") && sameBugs(r.config.bugs, o.bugs ?? "all")) {
    const { kernel, bugs, seeds, budget, cpus, mode, seed, depth, timeBudget } = r.config;
    return { ...o, kernel, bugs, ...(seeds !== null ? { seeds } : {}), budget, cpus, mode, seed, depth, timeBudget, ...(mode === "free" ? { chaos: r.config.chaos } : {}) };
  }
  return { ...o, seed: o.seed ?? pinnedSeed() };
}

/** What a test gets as `forkstorm`. */
export class Forkstorm {
  private runs = 0;
  private readonly dir: string;

  constructor(
    private readonly pools: CpuPools,
    private readonly context: Pick<TestContext, "annotate" | "task" | "signal">,
  ) {
    const slug = `${context.task.file?.name ?? "test"}-${context.task.name}`.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80);
    this.dir = join(tmpdir(), "forkstorm-vitest", `${process.pid}`, slug);
  }

  /** A file for this test's next run's report (or trace). */
  private file(kind: string): string {
    mkdirSync(this.dir, { recursive: true });
    return join(this.dir, `${this.runs}.${kind}.json`);
  }

  private async attach(what: string, file: string): Promise<void> {
    await this.context.annotate(what, "forkstorm", { path: file, contentType: "application/json" });
  }

  /** A stress run (options and defaults as forkstorm's `stress()`). */
  async stress(options: StressOptions = {}): Promise<StressResult> {
    this.runs++;
    const o: StressRun = resolveStressOptions({ signal: this.context.signal, ...stressFromEnvironment(options) });
    const reportFile = o.report ?? this.file("report");
    const traceFile = o.trace ?? this.file("trace");
    const out = await stress({ ...o, report: reportFile, trace: traceFile, pool: this.pools.of(o.cpus) });
    const c = out.report.config;
    await this.attach(`forkstorm stress ${c.kernel}/${c.scenario} ${c.mode} seed ${c.seed}: ${out.report.verdict} (report)`, reportFile);
    await this.attach(`forkstorm stress ${c.kernel}/${c.scenario}: trace (open in Perfetto)`, traceFile);
    return { ...out, reproduce: rerunCommand(out.report), reportFile, traceFile };
  }

  /** A hunt (options and defaults as forkstorm's `hunt()`). */
  async hunt(options: HuntOptions = {}): Promise<HuntResult> {
    this.runs++;
    const o: HuntRun = resolveHuntOptions({ signal: this.context.signal, ...huntFromEnvironment(options) });
    const out = await hunt({ ...o, pool: this.pools.of(o.cpus) });
    const reportFile = this.file("hunt");
    writeJsonAtomic(reportFile, out.report);
    await this.attach(`forkstorm hunt ${o.kernel} ${o.mode} seed ${o.seed}: ${out.report.verdict} (report)`, reportFile);
    return { ...out, reportFile };
  }

  /** A script: the object, or the path of its JSON file (forkstorm script's format). */
  async script(script: ScriptInput): Promise<ScriptResult> {
    this.runs++;
    const raw = typeof script === "string" ? readScript(script) : script;
    const out = await runScript(raw, this.pools.of(cpusOf(raw)));
    const reportFile = this.file("script");
    writeJsonAtomic(reportFile, { results: out.results, ps: out.ps, violations: out.violations, unmet: out.unmet });
    await this.attach(`forkstorm script: ${out.exitCode === 0 ? "clean" : `${out.violations.length} violations, ${out.unmet.length} unmet`} (results)`, reportFile);
    return { ...out, reproduce: typeof script === "string" ? `forkstorm script ${script}` : scriptCommand(script), reportFile };
  }

  /** A litmus test: the script run many times, its outcomes graded (see LitmusSpec). */
  async litmus(spec: LitmusSpec): Promise<LitmusResult & Pick<RunFiles, "reportFile">> {
    this.runs++;
    const out = await litmus({ ...spec, seed: spec.seed ?? pinnedSeed() }, this.pools.of(cpusOf(spec.script)));
    const reportFile = this.file("litmus");
    writeJsonAtomic(reportFile, out);
    await this.attach(`forkstorm litmus "${out.name}": ${out.forbidden} FORBIDDEN of ${out.runs} runs (histogram)`, reportFile);
    return { ...out, reportFile };
  }
}

/** A script's cpus, as the runner reads them (default 2). */
const cpusOf = (script: Record<string, unknown>) => (typeof script.cpus === "number" ? script.cpus : 2);

function readScript(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`cannot read the script ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
