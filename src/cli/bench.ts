/*
 * `forkstorm bench`: lock-contention benchmarks (src/bench/run.ts): the summary on stdout, the
 * JSON (docs/bench.md) and the self-contained HTML report where asked.
 */
import { benchSummary, runBench } from "../bench/run.js";
import { benchHtml } from "../report/html.js";
import { describeWriteFailure, writeJsonOrSave, writeTextOrSave, type WriteFailure } from "../report/report.js";
import { EXIT } from "./exit.js";
import { command, flag, outputFile } from "./options.js";

export const benchCommand = command({
  name: "bench",
  summary: "lock-contention benchmarks: primitives, fork scaling (real and virtual time), lock tables",
  about: `Measures, side by side in one run: the primitives against the raw Atomics floor; fork
throughput of both kernels on 1 and 2 cpus for the fork-exit-wait scenario and its will-it-scale
style affine variant, with lock tables in lock_stat's terms; and a virtual-time sweep to 64 cpus,
its cost model calibrated from this runtime and validated against the real runs; what lockstat,
witness and the event ring cost (each off, all off); the fork rate with 1,000 (--quick) or 5,000
processes held against 100 (fork-hold). Several minutes on 2 cores; --quick in about 2 minutes
(fewer rounds, 1.5 s runs, the sweep to 8 cpus).`,
  options: {
    quick: flag("the CI-sized run"),
    report: outputFile("write the JSON bench report there (docs/bench.md)"),
    html: outputFile("write a self-contained HTML report there (plots as inline SVG)"),
    json: flag("print the JSON report on stdout instead of the summary"),
  },
  async run(v, _pos, ctx) {
    const r = await runBench({ quick: v.quick, log: v.json ? undefined : ctx.say });
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
    return failures.length ? EXIT.internal : EXIT.clean;
  },
});
