/*
 * `forkstorm replay REPORT`: re-run a controlled run from its report and say whether it came out
 * the same.
 */
import { replay, type ReplayOutcome } from "../run/replay.js";
import { EXIT } from "./exit.js";
import { readJsonFile } from "./files.js";
import { command, flag } from "./options.js";

export const replayCommand = command({
  name: "replay",
  summary: "re-run a controlled-mode (pct/random) run from its report: the same violation at the same step?",
  positionals: [{ name: "REPORT", missing: "a REPORT file is required" }],
  options: {
    "follow-schedule": flag("follow the recorded decisions one by one instead of re-deriving them from the seed"),
    json: flag("print the outcome as JSON"),
  },
  async run(v, [file]) {
    const out = await replay(readJsonFile(file), v["follow-schedule"]);
    const line = (x: ReplayOutcome["original"]) => `${x.verdict}${x.law ? ` [${x.law}] at step ${x.step}` : ""}, hash ${x.eventHash}`;
    if (v.json) process.stdout.write(JSON.stringify({ reproduced: out.reproduced, original: out.original, replayed: out.replayed }, null, 2) + "\n");
    else process.stdout.write(`original: ${line(out.original)}\nreplayed: ${line(out.replayed)}\n${out.reproduced ? "REPRODUCED" : "DIVERGED"}\n`);
    return out.reproduced ? EXIT.clean : EXIT.violation;
  },
});
