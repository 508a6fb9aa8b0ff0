/*
 * `forkstorm hunt`: its options, progress per run on stderr, the summary or the JSON report.
 */
import { UsageError } from "../kern/kernel.js";
import { describeWriteFailure, writeJsonOrSave } from "../report/report.js";
import { hunt, HUNT_DEPTH, huntSummary } from "../run/hunt.js";
import { MAX_DEPTH } from "../sched/pct.js";
import { DEFAULT_CHAOS, MODES, SEED_MAX } from "./stress.js";
import { command, flag, int, num, oneOf, outputFile, texts } from "./options.js";
import { EXIT } from "./exit.js";

export const huntCommand = command({
  name: "hunt",
  summary: "run the bug catalogue and the clean baseline: is every bug detected, and nothing else?",
  about: `Each bug runs --seeds times in its scenario; in free mode one run of --budget seconds each,
in pct/random mode short executions until one detects it or the budget is spent. The clean
kernel runs on the same budget and must show no violation.`,
  interruptible: true,
  options: {
    kernel: oneOf(["all", "dragonfly", "netbsd"], "the kernels whose bugs run"),
    bug: texts("ID", "a catalogued bug, or all", "all"),
    seeds: int("N", "runs per bug", 1, 1000, 5),
    budget: num("S", `seconds per run before it counts as "not detected"`, 0.5, 3600, 30),
    mode: oneOf(MODES, "interleaving strategy"),
    cpus: int("N", "simulated cpus = worker threads", 1, 64, 4),
    seed: int("N", "the first run's seed", 0, SEED_MAX, 1),
    chaos: { ...num("P", "free mode: fraction of scheduling points that inject a delay", 0, 1), defaultText: String(DEFAULT_CHAOS) },
    depth: { ...int("D", "pct: the bug depth d (a hunt does not know a bug's depth)", 1, MAX_DEPTH), defaultText: String(HUNT_DEPTH) },
    report: outputFile("write the JSON hunt report there"),
    json: flag("print the JSON report on stdout instead of the summary"),
  },
  async run(v, _pos, ctx) {
    if (v.chaos !== undefined && v.mode !== "free") throw new UsageError(`--chaos applies to free mode only: ${v.mode} mode decides every interleaving itself`);
    const out = await hunt({
      kernel: v.kernel,
      bugs: v.bug.length === 0 || v.bug.includes("all") ? "all" : v.bug,
      seeds: v.seeds,
      budget: v.budget,
      cpus: v.cpus,
      mode: v.mode,
      seed: v.seed,
      chaos: v.chaos ?? DEFAULT_CHAOS,
      depth: v.depth,
      signal: ctx.signal,
      onRun: v.json ? undefined : (what, i, r) => ctx.say(`${what} run ${i + 1}: ${r.detected ? `detected in ${r.seconds.toFixed(3)} s by ${r.law}` : "not detected"}`),
    });
    const failure = v.report ? writeJsonOrSave(v.report, out.report) : null;
    process.stdout.write((v.json ? JSON.stringify(out.report, null, 2) : huntSummary(out.report)) + "\n");
    if (failure) ctx.say(describeWriteFailure(failure));
    return failure && out.exitCode === EXIT.clean ? EXIT.internal : out.exitCode;
  },
});
