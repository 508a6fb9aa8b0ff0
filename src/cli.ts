#!/usr/bin/env node
/*
 * The forkstorm command line (docs/CONTRACTS.md). Each command is a file in src/cli/ that
 * declares its options in one table (src/cli/options.ts: parsing, precise errors, --help); this
 * file lists the commands and owns what is common to all: --version, --help, signals, exit codes.
 * A usage error is one line on stderr and exit 2; never a stack trace.
 */
import { UsageError } from "./kern/kernel.js";
import { VERSION } from "./report/report.js";
import { benchCommand } from "./cli/bench.js";
import { coverageCommand } from "./cli/coverage.js";
import { demoCommand } from "./cli/demo.js";
import { EXIT } from "./cli/exit.js";
import { huntCommand } from "./cli/hunt.js";
import { listCommand } from "./cli/list.js";
import { mergeCommand } from "./cli/merge.js";
import { mutateCommand } from "./cli/mutate.js";
import { commandHelp, parseCommand, type AnyCommand, type CommandContext } from "./cli/options.js";
import { replayCommand } from "./cli/replay.js";
import { reproduceCommand } from "./cli/reproduce.js";
import { shrinkCommand } from "./cli/shrink.js";
import { scriptCommand } from "./cli/script.js";
import { stressCommand } from "./cli/stress.js";

/** Every command, in the order `forkstorm --help` lists them. */
const COMMANDS: readonly AnyCommand[] = [stressCommand, huntCommand, mergeCommand, mutateCommand, coverageCommand, replayCommand, reproduceCommand, shrinkCommand, scriptCommand, benchCommand, listCommand, demoCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    "usage: forkstorm COMMAND [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "forkstorm COMMAND --help shows a command's options; forkstorm --version its version.",
    "Exit codes: 0 clean, 1 violation, 2 usage error, 3 hang, 4 internal error, 130 interrupted.",
  ].join("\n");
}

/**
 * SIGINT and SIGTERM (^C, timeout, CI cancellation, docker stop) both ask the command to stop:
 * it still writes its report and prints its summary, and exits 130. A second signal ends the
 * process at once; so does the first for a command that cannot stop midway.
 */
function interruption(c: AnyCommand, say: (line: string) => void): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!c.interruptible) say(`${sig}: stopped before the end; nothing was written`);
    if (abort.signal.aborted || !c.interruptible) process.exit(EXIT.interrupted);
    say(`${sig}: stopping; what was done is still written and printed (again to quit at once)`);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: abort.signal,
    release: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    process.stdout.write(usage() + "\n");
    return name === undefined ? EXIT.usage : EXIT.clean;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`forkstorm ${VERSION}\n`);
    return EXIT.clean;
  }
  const say = (line: string) => process.stderr.write(`forkstorm ${name}: ${line}\n`);
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) {
    say(`unknown command "${name}" (${COMMANDS.map((x) => x.name).join(", ")}; forkstorm --help)`);
    return EXIT.usage;
  }
  const { signal, release } = interruption(c, say);
  try {
    const parsed = parseCommand(c, rest);
    if (parsed.help) {
      process.stdout.write(commandHelp(c) + "\n");
      return EXIT.clean;
    }
    const ctx: CommandContext = { signal, say };
    const code = await c.run(parsed.values, parsed.positionals, ctx);
    return signal.aborted ? EXIT.interrupted : code;
  } catch (e) {
    if (e instanceof UsageError) {
      say(e.message);
      return EXIT.usage;
    }
    say(`internal error: ${(e as Error).stack ?? e}`);
    return EXIT.internal;
  } finally {
    release();
  }
}

// A reader that went away (`forkstorm list | head`) is not an error of ours.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
