#!/usr/bin/env node
/*
 * The forkstorm command line (CONTRACTS.md). Exit codes, for every command: 0 clean, 1 violation
 * or unmet expectation, 2 usage error (one clear line on stderr), 3 hang, 4 internal error,
 * 130 interrupted.
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./kern/kernel.js";
import { KERNEL_DESCRIPTIONS, KERNELS } from "./kern/registry.js";
import { runScript } from "./script/runner.js";
import { contentionDemo } from "./selftest/demo.js";

export const EXIT = { clean: 0, violation: 1, usage: 2, hang: 3, internal: 4, interrupted: 130 } as const;

const USAGE = `usage: forkstorm <command> [options]
  stress [options]     a stress run (see --help)
  hunt [options]       run the bug catalogue and the clean baseline
  replay REPORT        re-run a controlled-mode run from its report
  script FILE|-        run a deterministic syscall script; print results as JSON
  list [--json]        kernels, scenarios and bugs
  demo                 the primitives' contention demo: a race the harness catches`;

function parse<T extends ParseArgsConfig["options"]>(argv: string[], options: T, positionals = 0) {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: positionals > 0, strict: true });
    if (r.positionals.length > positionals) throw new UsageError(`unexpected argument "${r.positionals[positionals]}"`);
    return r;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
}

async function cmdScript(argv: string[]): Promise<number> {
  const { positionals } = parse(argv, {}, 1);
  const file = positionals[0];
  if (!file) throw new UsageError("a FILE (or - for standard input) is required");
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const out = await runScript(json);
  process.stdout.write(JSON.stringify({ results: out.results, ps: out.ps, violations: out.violations, unmet: out.unmet }, null, 2) + "\n");
  for (const u of out.unmet) process.stderr.write(`step ${u.step}: expected ${JSON.stringify(u.expected)}, got ${JSON.stringify(u.got)}\n`);
  return out.exitCode;
}

async function cmdList(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: "boolean" } });
  const kernels = KERNELS.map((name) => ({ name, description: KERNEL_DESCRIPTIONS[name] }));
  if (values.json) process.stdout.write(JSON.stringify({ kernels }, null, 2) + "\n");
  else {
    process.stdout.write("kernels:\n");
    for (const k of kernels) process.stdout.write(`  ${k.name.padEnd(12)} ${k.description}\n`);
  }
  return EXIT.clean;
}

async function cmdDemo(argv: string[]): Promise<number> {
  parse(argv, {});
  return contentionDemo((line) => process.stdout.write(line + "\n"));
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { script: cmdScript, list: cmdList, demo: cmdDemo };

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h") {
    process.stdout.write(USAGE + "\n");
    return cmd === undefined ? EXIT.usage : EXIT.clean;
  }
  const run = COMMANDS[cmd];
  try {
    if (!run) throw new UsageError(`unknown command "${cmd}" (stress, hunt, replay, script, list, demo)`);
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`forkstorm ${cmd}: ${e.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`forkstorm ${cmd}: internal error: ${(e as Error).stack ?? e}\n`);
    return EXIT.internal;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
