/*
 * `forkstorm script FILE|-`: a deterministic syscall script; the results as JSON on stdout.
 */
import { scriptJunit } from "../report/junit.js";
import { runScript } from "../script/runner.js";
import { readJsonFile, writeJunit } from "./files.js";
import { command, outputFile } from "./options.js";

export const scriptCommand = command({
  name: "script",
  summary: "run a deterministic syscall script (docs/CONTRACTS.md); print the results as JSON",
  positionals: [{ name: "FILE|-", missing: "a FILE (or - for standard input) is required" }],
  interruptible: true,
  options: {
    junit: outputFile("write a JUnit XML test report there (a testcase per step, one for the kernel's laws)"),
  },
  async run(v, [file], ctx) {
    const script = readJsonFile(file);
    const out = await runScript(script, null, ctx.signal);
    process.stdout.write(JSON.stringify({ results: out.results, ps: out.ps, violations: out.violations, unmet: out.unmet, ...(out.auditSkipped ? { auditSkipped: out.auditSkipped } : {}), ...(out.interrupted ? { interrupted: out.interrupted } : {}) }, null, 2) + "\n");
    if (out.interrupted) ctx.say(`interrupted after ${out.interrupted.stepsRun} of ${(script as { steps: unknown[] }).steps.length} steps: their results and the process table are above`);
    if (out.auditSkipped) process.stderr.write(`note: ${out.auditSkipped}\n`);
    for (const u of out.unmet) process.stderr.write(`step ${u.step}: expected ${JSON.stringify(u.expected)}, got ${JSON.stringify(u.got)}\n`);
    return writeJunit(v.junit, () => scriptJunit(out, file, script as { steps: unknown[] }), out.exitCode, ctx.say);
  },
});
