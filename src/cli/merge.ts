/*
 * `forkstorm merge A.json B.json ...`: the hunt reports of a hunt's shards (hunt --shard K/N,
 * one per CI job or machine) put together into the report of the whole hunt (run/merge.ts).
 */
import { huntJunit } from "../report/junit.js";
import { describeWriteFailure, writeJsonOrSave } from "../report/report.js";
import { huntSummary } from "../run/hunt.js";
import { mergeHunts } from "../run/merge.js";
import { EXIT } from "./exit.js";
import { readJsonFile, writeJunit } from "./files.js";
import { command, flag, outputFile } from "./options.js";

export const mergeCommand = command({
  name: "merge",
  summary: "put the reports of a hunt's shards together: the report of the whole hunt",
  about: `Give every shard's report (hunt --shard K/N --report FILE), each once. The merged report
has the hunt report's schema and equals the unsharded hunt's, timings aside; the exit code is
the whole hunt's (0 pass, 1 fail).`,
  positionals: [{ name: "REPORT...", missing: "give the shards' hunt reports (hunt --shard K/N --report FILE)", rest: true }],
  options: {
    report: outputFile("write the merged JSON hunt report there"),
    junit: outputFile("write a JUnit XML test report of the whole hunt there"),
    json: flag("print the merged JSON report on stdout instead of the summary"),
  },
  async run(v, files, ctx) {
    const merged = mergeHunts(
      files.map((f) => readJsonFile(f)),
      files,
    );
    const failure = v.report ? writeJsonOrSave(v.report, merged) : null;
    process.stdout.write((v.json ? JSON.stringify(merged, null, 2) : huntSummary(merged)) + "\n");
    if (failure) ctx.say(describeWriteFailure(failure));
    const exit = merged.verdict === "pass" ? EXIT.clean : EXIT.violation;
    return writeJunit(v.junit, () => huntJunit(merged), failure && exit === EXIT.clean ? EXIT.internal : exit, ctx.say);
  },
});
