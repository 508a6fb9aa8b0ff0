/*
 * `forkstorm reproduce REPORT`: a find (free mode too) made into a controlled run that breaks the
 * same law in the same kernel function, and replays.
 */
import { describeWriteFailure } from "../report/report.js";
import { checkFind, reproduce, REPRODUCE_SECONDS, reproduceSummary } from "../run/reproduce.js";
import { EXIT } from "./exit.js";
import { readJsonFile } from "./files.js";
import { command, flag, num, outputFile } from "./options.js";

export const reproduceCommand = command({
  name: "reproduce",
  summary: "turn a find into a replayable controlled run: the same law broken in the same kernel function",
  about: `Re-hunts the find's kernel, scenario, bugs, cpus and workers in short controlled executions
(PCT, now and then uniformly random) until one breaks the same law in the same kernel function.
Exit 0 when OUT does, 1 when the budget ran out first.`,
  interruptible: true,
  positionals: [{ name: "REPORT", missing: "a REPORT file is required" }],
  options: {
    report: outputFile("write the controlled run's report there (OUT)"),
    budget: num("S", "seconds to search", 0.5, 86400, REPRODUCE_SECONDS),
    json: flag("print the outcome as JSON"),
  },
  async run(v, [file], ctx) {
    const raw = readJsonFile(file);
    checkFind(raw);
    const out = await reproduce(raw, { seconds: v.budget, report: v.report, signal: ctx.signal, onExecution: v.json ? undefined : executionProgress(ctx.say) });
    const failure = out.unwritten;
    const { report, ...rest } = out;
    process.stdout.write((v.json ? JSON.stringify({ ...rest, eventHash: report?.eventHash ?? null }, null, 2) : reproduceSummary(out)) + "\n");
    if (failure) ctx.say(describeWriteFailure(failure));
    return !out.reproduced ? EXIT.violation : failure ? EXIT.internal : EXIT.clean;
  },
});

/** A line every 10 executions, on stderr. */
export function executionProgress(say: (line: string) => void) {
  return (i: number) => (i + 1) % 10 === 0 && say(`${i + 1} executions`);
}
