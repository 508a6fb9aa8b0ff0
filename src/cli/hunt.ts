/*
 * `forkstorm hunt`: its options, progress per run on stderr, the summary or the JSON report.
 */
import { HUNT_DEFAULTS, MODES, parseShard, RANGES, resolveHuntOptions } from "../api/options.js";
import type { Shard } from "../run/hunt.js";
import { UsageError } from "../kern/kernel.js";
import { huntHtml } from "../report/html.js";
import { huntJunit } from "../report/junit.js";
import { describeWriteFailure, writeJsonOrSave, writeTextOrSave } from "../report/report.js";
import { hunt, HUNT_DEPTH, huntSummary } from "../run/hunt.js";
import { MAX_DEPTH } from "../sched/pct.js";
import { SEED_MAX } from "../sched/strategy.js";
import { DEFAULT_CHAOS, warnIfOversubscribed } from "./stress.js";
import { DETECTORS } from "../detect/index.js";
import { command, flag, int, num, oneOf, outputFile, subsetOf, texts, type Option } from "./options.js";
import { EXIT } from "./exit.js";
import { writeJunit } from "./files.js";

const shardOption: Option<Shard | undefined> = {
  arg: "K/N",
  help: "run the K-th of N shards of the hunt's runs (merge their reports with forkstorm merge)",
  absent: undefined,
  read: (t, f) => parseShard(t, f),
};

export const huntCommand = command({
  name: "hunt",
  summary: "run the bug catalogue and the clean baseline: is every bug detected, and nothing else?",
  about: `Each bug runs --seeds times in its scenario; in free mode one run of --budget seconds each,
in pct/random mode short executions until one detects it or the budget is spent. The clean
kernel runs on the same budget and must show no violation. Runs go round by round (every bug's
first run, then every bug's second...): --time-budget shares its seconds out along them and
ends the hunt within it; --shard K/N runs every N-th of them, the same under pct as unsharded.`,
  interruptible: true,
  options: {
    kernel: oneOf(["all", "dragonfly", "netbsd"], "the kernels whose bugs run"),
    bug: texts("ID", "a catalogued bug, or all", "all"),
    seeds: { ...int("N", "runs per bug", RANGES.seeds.min, RANGES.seeds.max), defaultText: `${HUNT_DEFAULTS.seeds} (with --time-budget: rounds while time lasts)` },
    budget: num("S", `seconds per run before it counts as "not detected"`, RANGES.budget.min, RANGES.budget.max, HUNT_DEFAULTS.budget),
    "time-budget": num("S", "seconds for the whole hunt: the runs share them and the hunt ends within them", RANGES.timeBudget.min, RANGES.timeBudget.max),
    shard: shardOption,
    mode: oneOf(MODES, "interleaving strategy"),
    cpus: int("N", "simulated cpus = worker threads", 1, 64, 4),
    seed: int("N", "the first run's seed", 0, SEED_MAX, 1),
    chaos: { ...num("P", "free mode: fraction of scheduling points that inject a delay", 0, 1), defaultText: String(DEFAULT_CHAOS) },
    depth: { ...int("D", "pct: the bug depth d (a hunt does not know a bug's depth)", 1, MAX_DEPTH), defaultText: String(HUNT_DEPTH) },
    detectors: subsetOf(DETECTORS, "field-level detectors on in every run (stress --detectors)"),
    report: outputFile("write the JSON hunt report there"),
    junit: outputFile("write a JUnit XML test report there (a testcase per bug and per baseline)"),
    html: outputFile("write a self-contained HTML report there: verdict, baseline, detection table"),
    json: flag("print the JSON report on stdout instead of the summary"),
  },
  async run(v, _pos, ctx) {
    if (v.chaos !== undefined && v.mode !== "free") throw new UsageError(`--chaos applies to free mode only: ${v.mode} mode decides every interleaving itself`);
    warnIfOversubscribed(v.cpus, v.mode, ctx);
    const out = await hunt(
      resolveHuntOptions({
        kernel: v.kernel,
        bugs: v.bug.length === 0 ? "all" : v.bug,
        seeds: v.seeds,
        budget: v.budget,
        timeBudget: v["time-budget"],
        shard: v.shard,
        cpus: v.cpus,
        mode: v.mode,
        seed: v.seed,
        chaos: v.chaos,
        depth: v.depth,
        detectors: v.detectors,
        signal: ctx.signal,
        onRun: v.json ? undefined : (what, i, r) => ctx.say(`${what} run ${i + 1}: ${r.detected ? `detected in ${r.seconds.toFixed(3)} s by ${r.law}` : "not detected"}`),
      }),
    );
    const failures = [
      v.report ? writeJsonOrSave(v.report, out.report) : null,
      v.html ? writeTextOrSave(v.html, await huntHtml(out.report, `forkstorm hunt ${process.argv.slice(3).join(" ")}`)) : null,
    ].filter((f) => f !== null);
    process.stdout.write((v.json ? JSON.stringify(out.report, null, 2) : huntSummary(out.report)) + "\n");
    for (const f of failures) ctx.say(describeWriteFailure(f));
    const exit = failures.length && out.exitCode === EXIT.clean ? EXIT.internal : out.exitCode;
    return writeJunit(v.junit, () => huntJunit(out.report), exit, ctx.say);
  },
});
