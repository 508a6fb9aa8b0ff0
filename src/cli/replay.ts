/*
 * `forkstorm replay REPORT`: re-run a controlled run from its report and say whether it came out
 * the same; with --check-determinism N, run it N times and name where runs part.
 */
import { checkDeterminism, replay, type RunPoint } from "../run/replay.js";
import { EXIT } from "./exit.js";
import { readJsonFile } from "./files.js";
import { command, flag, int, type CommandContext } from "./options.js";

export const replayCommand = command({
  name: "replay",
  summary: "re-run a controlled run from its report, to its first violation: the same law at the same step, the same hash?",
  about: `Whatever bounded the run (--ops, --seconds, ^C), the replay stops at its first violation, or
for a run that broke nothing, at its end. Refused at once: a free-mode run (forkstorm reproduce
turns its find into a controlled one), a run interrupted before it broke any law.`,
  positionals: [{ name: "REPORT", missing: "a REPORT file is required" }],
  interruptible: true,
  options: {
    "follow-schedule": flag("follow the recorded decisions one by one instead of re-deriving them from the seed"),
    "check-determinism": int("N", "run it N times with every event logged; name the first diverging event of any run that differs", 1, 100_000),
    json: flag("print the outcome as JSON"),
  },
  async run(v, [file], ctx) {
    const raw = readJsonFile(file);
    if (v["check-determinism"] !== undefined) return determinism(raw, v["check-determinism"], v.json, ctx);
    const out = await replay(raw, v["follow-schedule"], ctx.signal);
    if (out.report.verdict === "interrupted") {
      process.stdout.write(`original: ${pointLine(out.original)}\nreplayed: interrupted after ${out.report.steps} steps, before reaching it\nINTERRUPTED\n`);
      return EXIT.interrupted;
    }
    if (v.json) process.stdout.write(JSON.stringify({ reproduced: out.reproduced, original: out.original, replayed: out.replayed }, null, 2) + "\n");
    else process.stdout.write(`original: ${pointLine(out.original)}\nreplayed: ${pointLine(out.replayed)}\n${out.reproduced ? "REPRODUCED" : "DIVERGED"}\n`);
    return out.reproduced ? EXIT.clean : EXIT.violation;
  },
});

const pointLine = (x: RunPoint) => `${x.verdict}${x.law ? ` [${x.law}] at step ${x.step}` : ""}, hash ${x.eventHash}`;

async function determinism(raw: unknown, n: number, json: boolean, ctx: CommandContext): Promise<number> {
  const out = await checkDeterminism(raw, n, json ? undefined : (i, p) => i % 10 === 0 && ctx.say(`${i} of ${n} runs, last: ${pointLine(p)}`), ctx.signal);
  if (ctx.signal.aborted) {
    process.stdout.write(`INTERRUPTED after ${out.runs} of ${n} runs; ${out.divergences.length} of them diverged from run 1${out.runs ? `, run 1: ${pointLine(out.reference)}` : ""}\n`);
    return EXIT.interrupted;
  }
  if (json) process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  else {
    const lines = [`report:  ${pointLine(out.original)}`, `run 1:   ${pointLine(out.reference)}`];
    for (const d of out.divergences) lines.push(`run ${d.run} diverged from run 1 (${pointLine(d.point)}); first difference:`, `  run 1:   ${d.reference}`, `  run ${d.run}: ${d.diverged}`);
    if (out.deterministic) lines.push(`DETERMINISTIC: ${n} runs, every one the report's`);
    else if (out.divergences.length) lines.push(`NOT DETERMINISTIC: ${out.divergences.length} of ${n} runs diverged from run 1`);
    else lines.push(`DIVERGED: all ${n} runs agree with each other, not with the report (the model changed since it was written?)`);
    process.stdout.write(lines.join("\n") + "\n");
  }
  return out.deterministic ? EXIT.clean : EXIT.violation;
}
