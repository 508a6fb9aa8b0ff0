/*
 * `forkstorm stress`: its options, and the run as the command line shows it (progress on
 * stderr, the summary or the JSON report on stdout).
 */
import { availableParallelism } from "node:os";
import { findScenario, SCENARIOS } from "../../stress/scenarios/index.js";
import { UsageError } from "../kern/kernel.js";
import { describeWriteFailure, type StressReport } from "../report/report.js";
import { reproductionLine } from "../run/replay.js";
import { findingOf } from "../run/finding.js";
import { reproduce, REPRODUCE_SECONDS, reproduceSummary, type ReproduceOutcome } from "../run/reproduce.js";
import { stressSummary } from "../report/summary.js";
import { checkBugs, DEFAULT_WATCHDOG_SECONDS, stress, type StressOptions } from "../run/stress.js";
import { MAX_POPULATION, MODES, STRESS_DEFAULTS } from "../api/options.js";
import { resolveMutant } from "../sites/mutant.js";
import { parseSchedule } from "../sched/decisions.js";
import { MAX_DEPTH } from "../sched/pct.js";
import { SEED_MAX } from "../sched/strategy.js";
import { stressJunit } from "../report/junit.js";
import { EXIT } from "./exit.js";
import { writeJunit } from "./files.js";
import { DETECTORS } from "../detect/index.js";
import { command, flag, hidden, int, num, oneOf, outputFile, subsetOf, text, texts, type CommandContext, type Option } from "./options.js";
import { executionProgress } from "./reproduce.js";
import { progressReporter } from "./progress.js";

/** The library's defaults are the command line's. */
export const DEFAULT_CHAOS = STRESS_DEFAULTS.chaos;

/** More simulated cpus than cores is allowed, but the user should know what it costs. */
export function warnIfOversubscribed(cpus: number, mode: string, ctx: CommandContext): void {
  const cores = availableParallelism();
  if (cpus <= cores) return;
  ctx.say(`warning: ${cpus} cpus on ${cores} cores: the workers take turns on the cores${mode === "free" ? ", so fewer of them truly race" : ""}, and starting them takes a while (the run's clock starts once they are up)`);
}

export const stressCommand = command({
  name: "stress",
  summary: "a stress run: a scenario on N simulated cpus with the detectors live",
  about: `Free mode runs the cpus truly in parallel (chaos widens the race windows); pct and random
run one cpu at a time, reproducibly: with --ops N a run is a function of its seed (forkstorm replay).`,
  interruptible: true,
  options: {
    kernel: oneOf(["dragonfly", "netbsd"], "the kernel model"),
    scenario: text("NAME", `the workload ("list" lists the kernel's scenarios)`, "mixed"),
    cpus: int("N", "simulated cpus = worker threads", 1, 64, 4),
    seconds: { ...num("S", "run length in seconds, from when the cpus are up", 0.1, 86400), defaultText: "10 (unless --ops)" },
    ops: int("N", "run length in system calls (controlled modes: reproducible)", 1, Number.MAX_SAFE_INTEGER),
    mode: oneOf(MODES, "interleaving strategy"),
    seed: { ...int("N", "the strategy's seed, printed and kept in the report", 0, SEED_MAX), defaultText: "random" },
    chaos: { ...num("P", "free mode: fraction of scheduling points that inject a delay", 0, 1), defaultText: String(DEFAULT_CHAOS) },
    bug: texts("ID", "inject a catalogued bug (forkstorm list)"),
    mutant: text("KEY:OP", "run one interlock site's \"forgot it\" mutant (forkstorm mutate --list)"),
    "keep-going": flag("count violations instead of stopping at the first"),
    report: outputFile("write the JSON report there (atomically, whatever the verdict)"),
    trace: outputFile("write a Chrome trace-event JSON (Perfetto) of the last events per cpu"),
    junit: outputFile("write a JUnit XML test report there (one testcase: the scenario)"),
    html: outputFile("write a self-contained HTML report there: verdict, violations, per-cpu timeline, lock table"),
    json: flag("print the JSON report on stdout instead of the human summary"),
    depth: int("D", "pct: the bug depth d (d-1 priority change points)", 1, MAX_DEPTH, 3),
    "step-bound": int("K", "pct: the steps change points are drawn from", 1, 1e9, 20000),
    watchdog: num("S", "seconds without a completed system call before the run is called hung", 0.5, 3600, DEFAULT_WATCHDOG_SECONDS),
    schedule: scheduleText(`controlled: the default scheduler (each cpu runs on until it blocks) with S's decisions, e.g. "2@1534>0" (at its point 1534 cpu 2 lets cpu 0 run), as shrink prints them`),
    population: { ...int("N", "worker processes init keeps alive (fork-hold: processes held asleep)", 1, MAX_POPULATION), defaultText: "the scenario's" },
    reproduce: flag("after a free-mode find, search a controlled run breaking the same law in the same function (its report: NAME.controlled.json beside --report)"),
    "reproduce-budget": num("S", "seconds --reproduce searches", 0.5, 86400, REPRODUCE_SECONDS),
    detectors: subsetOf(DETECTORS, "field-level detectors: race (happens-before data races, non-atomic updates), stale (pointers kept across a block)"),
    "plant-crash": hidden(int("N", "harness self-test: cpu 0 throws after N system calls", 1, 1e9)),
  },
  async run(v, _pos, ctx) {
    if (v.scenario === "list") {
      for (const s of SCENARIOS.filter((x) => x.kernel === v.kernel)) process.stdout.write(`${s.name.padEnd(18)} ${s.description}\n`);
      return EXIT.clean;
    }
    if (v.seconds !== undefined && v.ops !== undefined) throw new UsageError("give --seconds or --ops, not both");
    if (v.schedule !== undefined && v.mode !== "free") throw new UsageError("--schedule runs the default scheduler with its decisions: give no --mode");
    const mode: StressOptions["mode"] = v.schedule !== undefined ? "schedule" : v.mode;
    if (v.chaos !== undefined && mode !== "free") throw new UsageError(`--chaos applies to free mode only: ${mode} mode decides every interleaving itself`);
    const seed = v.seed ?? Math.floor(Math.random() * 2 ** 31);
    const seconds = v.seconds ?? (v.ops === undefined ? 10 : undefined);
    const opts = {
      kernel: v.kernel,
      scenario: v.scenario ?? "mixed",
      cpus: v.cpus,
      seconds,
      ops: v.ops,
      mode,
      decisions: v.schedule === undefined ? undefined : parseSchedule(v.schedule, v.cpus),
      population: v.population,
      seed,
      chaos: v.chaos ?? DEFAULT_CHAOS,
      bugs: v.bug,
      mutant: v.mutant,
      keepGoing: v["keep-going"],
      watchdogSeconds: v.watchdog,
      depth: v.depth,
      stepBound: v["step-bound"],
      plantCrashAfterOps: v["plant-crash"],
      detectors: v.detectors,
      report: v.report,
      trace: v.trace,
      html: v.html,
      lockSites: v.html !== undefined, // the HTML's lock table names the kernel functions
    };
    findScenario(opts.kernel, opts.scenario); // bad names are told before the seed line
    checkBugs(opts.kernel, opts.bugs);
    if (opts.mutant !== undefined) resolveMutant(opts.kernel, opts.mutant);
    warnIfOversubscribed(v.cpus, v.mode, ctx);
    if (!v.json) ctx.say(`seed ${seed}`);
    const progress = v.json ? null : progressReporter(v.ops ?? seconds!, v.ops !== undefined ? "ops" : "s");
    try {
      const out = await stress({ ...opts, signal: ctx.signal, onProgress: progress?.update });
      progress?.stop();
      const again = v.reproduce ? await reproduceFind(out.report, v.report, v["reproduce-budget"], v.json, ctx) : null;
      if (v.json) {
        const reproduction = again && { reproduced: again.reproduced, executions: again.executions, seconds: again.seconds, command: again.command };
        process.stdout.write(JSON.stringify(again ? { ...out.report, reproduction } : out.report, null, 2) + "\n");
      } else {
        const line = again ? null : reproductionLine(out.report, v.report);
        process.stdout.write([stressSummary(out.report, { report: v.report, trace: v.trace, unwritten: out.unwritten }), ...(again ? [reproduceSummary(again)] : []), ...(line ? [`reproduce: ${line}`] : [])].join("\n") + "\n");
      }
      if (v.json) for (const f of out.unwritten) ctx.say(describeWriteFailure(f)); // the summary says it otherwise
      if (again?.unwritten) ctx.say(describeWriteFailure(again.unwritten));
      const exit = out.unwritten.length && out.exitCode === EXIT.clean ? EXIT.internal : out.exitCode;
      return writeJunit(v.junit, () => stressJunit(out.report), exit, ctx.say);
    } finally {
      progress?.stop();
    }
  },
});

/** A schedule string: may be empty (the default scheduler alone). */
function scheduleText(help: string): Option<string | undefined> {
  return { arg: "S", help, absent: undefined, read: (t) => t };
}

/** stress --reproduce: a free-mode find, searched for as a controlled run (null: nothing to search for). */
async function reproduceFind(r: StressReport, reportFile: string | undefined, seconds: number, json: boolean, ctx: CommandContext): Promise<ReproduceOutcome | null> {
  if (r.config.mode !== "free" || !findingOf(r) || ctx.signal.aborted) return null;
  const report = reportFile?.replace(/(\.json)?$/, ".controlled.json");
  return reproduce(r, { seconds, report, signal: ctx.signal, onExecution: json ? undefined : executionProgress(ctx.say) });
}
