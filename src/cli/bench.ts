/*
 * `forkstorm bench`: lock-contention benchmarks (src/bench/run.ts): the summary on stdout, the
 * JSON (docs/bench.md) and the self-contained HTML report where asked.
 */
import { benchSummary, runBench } from "../bench/run.js";
import { benchHtml } from "../report/html.js";
import { describeWriteFailure, writeJsonOrSave, writeTextOrSave, type WriteFailure } from "../report/report.js";
import { EXIT } from "./exit.js";
import { command, flag, num, outputFile } from "./options.js";
import { RANGES } from "../api/options.js";

/** Rendering the HTML report's plots on a quiet machine, kept out of a time budget. */
const HTML_SECONDS = 1.5;

export const benchCommand = command({
  name: "bench",
  summary: "lock-contention benchmarks: primitives, fork scaling (real and virtual time), lock tables",
  about: `Measures, side by side in one run: the primitives against the raw Atomics floor; fork
throughput of both kernels on 1 and 2 cpus for the fork-exit-wait scenario and its will-it-scale
style affine variant, with lock tables in lock_stat's terms; and a virtual-time sweep to 64 cpus,
its cost model calibrated from this runtime and validated against the real runs; what lockstat,
witness and the event ring cost (each off, all off); the fork rate with 1,000 (--quick) or 5,000
processes held against 100 (fork-hold). Several minutes on 2 cores; --quick in under two
minutes on a quiet machine (1-s windows after each run's warm-up, the sweep to 8 cpus).

--time-budget S fits the bench (full or --quick) to S seconds: the sections' durations are
planned from the budget and planned again as they run (a loaded host stretches them); what does
not fit is left out -- the virtual runs on 16, 32 and 64 cpus first, then the process-table,
instrument, detector and baton sections, then the wider virtual runs -- and the section in flight
at the end is cut short. The primitives and the real-parallel runs always run, at their
shortest if need be: what they need is the least budget (less is a usage error). The summary and
the report's "budget" say what ran, for how long, and what was left out and why.`,
  options: {
    quick: flag("the CI-sized run"),
    "time-budget": num("S", "seconds for the whole bench: its sections are fitted to them and it ends within them", RANGES.timeBudget.min, RANGES.timeBudget.max),
    report: outputFile("write the JSON bench report there (docs/bench.md)"),
    html: outputFile("write a self-contained HTML report there (plots as inline SVG)"),
    json: flag("print the JSON report on stdout instead of the summary"),
  },
  async run(v, _pos, ctx) {
    const r = await runBench({ quick: v.quick, timeBudget: v["time-budget"], afterSeconds: v.html ? HTML_SECONDS : 0, log: v.json ? undefined : ctx.say });
    const failures: WriteFailure[] = [];
    if (v.report) {
      const f = writeJsonOrSave(v.report, r);
      if (f) failures.push(f);
    }
    if (v.html) {
      const f = writeTextOrSave(v.html, await benchHtml(r));
      if (f) failures.push(f);
    }
    process.stdout.write(v.json ? JSON.stringify(r, null, 2) + "\n" : benchSummary(r));
    for (const f of failures) ctx.say(describeWriteFailure(f));
    // A failed section is a bug of the model or of forkstorm: the figures that ran are kept above.
    for (const f of r.failed) ctx.say(`the ${f.section} section failed, its figures are missing: ${f.error}`);
    return failures.length || r.failed.length ? EXIT.internal : EXIT.clean;
  },
});
