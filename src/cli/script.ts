/*
 * `forkstorm script FILE|-`: a deterministic syscall script; the results as JSON on stdout.
 */
import { runScript } from "../script/runner.js";
import { readJsonFile } from "./files.js";
import { command } from "./options.js";

export const scriptCommand = command({
  name: "script",
  summary: "run a deterministic syscall script (docs/CONTRACTS.md); print the results as JSON",
  positionals: [{ name: "FILE|-", missing: "a FILE (or - for standard input) is required" }],
  options: {},
  async run(_v, [file]) {
    const out = await runScript(readJsonFile(file));
    process.stdout.write(JSON.stringify({ results: out.results, ps: out.ps, violations: out.violations, unmet: out.unmet, ...(out.auditSkipped ? { auditSkipped: out.auditSkipped } : {}) }, null, 2) + "\n");
    if (out.auditSkipped) process.stderr.write(`note: ${out.auditSkipped}\n`);
    for (const u of out.unmet) process.stderr.write(`step ${u.step}: expected ${JSON.stringify(u.expected)}, got ${JSON.stringify(u.got)}\n`);
    return out.exitCode;
  },
});
