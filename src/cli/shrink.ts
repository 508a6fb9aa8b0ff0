/*
 * `forkstorm shrink REPORT`: a failing controlled run made short -- fewer decisions, system
 * calls, cpus and workers -- still breaking the same law in the same kernel function.
 */
import { describeWriteFailure } from "../report/report.js";
import { checkShrinkable, shrink, SHRINK_SECONDS, shrinkSummary } from "../run/shrink.js";
import { EXIT } from "./exit.js";
import { readJsonFile } from "./files.js";
import { command, flag, num, outputFile } from "./options.js";

export const shrinkCommand = command({
  name: "shrink",
  summary: "make a failing controlled run short: fewer decisions, calls, cpus and workers, the same law in the same kernel function",
  about: `Tries fewer cpus and workers, delta-debugs the decisions taken against the default scheduler
(each cpu runs on until it blocks), and drains as early as it can. Prints decisions, calls, cpus,
workers and steps before and after, and the stress command of the short run (its --schedule).
Exit 0 when OUT breaks the same law, 1 when it could not get there.`,
  interruptible: true,
  positionals: [{ name: "REPORT", missing: "a REPORT file is required" }],
  options: {
    report: outputFile("write the short run's report there (OUT)"),
    trace: outputFile("write the short run's Chrome trace there"),
    budget: num("S", "seconds to spend; what was reached by then is the result", 1, 86400, SHRINK_SECONDS),
    json: flag("print the outcome as JSON"),
  },
  async run(v, [file], ctx) {
    const raw = readJsonFile(file);
    checkShrinkable(raw);
    const out = await shrink(raw, { seconds: v.budget, report: v.report, trace: v.trace, signal: ctx.signal, onProgress: v.json ? undefined : ctx.say });
    const { report, ...rest } = out;
    process.stdout.write((v.json ? JSON.stringify({ ...rest, schedule: report?.config.schedule ?? null }, null, 2) : shrinkSummary(out)) + "\n");
    for (const f of out.unwritten) ctx.say(describeWriteFailure(f));
    return !out.shrunk ? EXIT.violation : out.unwritten.length ? EXIT.internal : EXIT.clean;
  },
});
