/*
 * `forkstorm coverage REPORT`: the interlock coverage a stress, hunt or mutate report carries, as
 * a table per kernel: every interlock site with its hits and concurrent hits, and beside each seed
 * site (kern_fork.c of each kernel) not reached concurrently, the reason docs/coverage.md gives.
 */
import { UsageError } from "../errors.js";
import { PACKAGE_ROOT } from "../sched/machine.js";
import { coverageReasons, coverageTable, type CoverageReport } from "../sites/coverage.js";
import { EXIT } from "./exit.js";
import { readJsonFile } from "./files.js";
import { command, flag, oneOf } from "./options.js";

/** The coverage a report holds: a stress or mutate report's one, a hunt's one per kernel. */
function coverageIn(raw: unknown, file: string): CoverageReport[] {
  const r = raw as { command?: string; coverage?: CoverageReport; interlocks?: CoverageReport[] };
  if (r.command === "hunt" && Array.isArray(r.interlocks)) return r.interlocks;
  if ((r.command === "stress" || r.command === "mutate") && r.coverage?.rows) return [r.coverage];
  throw new UsageError(`${file} holds no interlock coverage (give a stress, hunt or mutate report)`);
}

export const coverageCommand = command({
  name: "coverage",
  summary: "the interlock sites a stress, hunt or mutate report reached, and which concurrently",
  about: `A site is reached concurrently when another cpu was inside code guarded by the same object
at the same time (a region of the same lock, an operation on the same word just before, a wakeup
that found a sleeper, a re-check that fired). Whatever a hunt never reaches concurrently, no
detector can find.`,
  positionals: [{ name: "REPORT", missing: "a REPORT file is required (stress, hunt or mutate --report)" }],
  options: {
    kernel: oneOf(["all", "dragonfly", "netbsd"], "the kernels to show"),
    seeds: flag("only the sites of the seeds' files (kern_fork.c), with the reason for each not reached concurrently"),
    json: flag("print the coverage as JSON"),
  },
  async run(v, [file]) {
    const all = coverageIn(readJsonFile(file), file).filter((c) => v.kernel === "all" || c.kernel === v.kernel);
    if (v.json) {
      process.stdout.write(JSON.stringify(all, null, 2) + "\n");
      return EXIT.clean;
    }
    const reasons = coverageReasons(PACKAGE_ROOT);
    process.stdout.write(all.map((c) => coverageTable(c, reasons, v.seeds)).join("\n\n") + "\n");
    return EXIT.clean;
  },
});
