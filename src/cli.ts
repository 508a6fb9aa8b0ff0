#!/usr/bin/env node
/*
 * The forkstorm command line (CONTRACTS.md). Exit codes, for every command: 0 clean, 1 violation
 * or unmet expectation, 2 usage error (one clear line on stderr), 3 hang, 4 internal error,
 * 130 interrupted.
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./kern/kernel.js";
import cliProgress from "cli-progress";
import { findScenario, SCENARIOS } from "../stress/scenarios/index.js";
import { listCatalog } from "./run/list.js";
import { stressSummary } from "./report/summary.js";
import { hunt, huntSummary } from "./run/hunt.js";
import { MAX_DEPTH } from "./sched/pct.js";
import { writeJsonAtomic } from "./report/report.js";
import { replay, type ReplayOutcome } from "./run/replay.js";
import { checkBugs, stress } from "./run/stress.js";
import { runScript } from "./script/runner.js";
import { contentionDemo } from "./selftest/demo.js";

export const EXIT = { clean: 0, violation: 1, usage: 2, hang: 3, internal: 4, interrupted: 130 } as const;

const USAGE = `usage: forkstorm <command> [options]
  stress [options]     a stress run: --kernel dragonfly|netbsd --scenario NAME|list --cpus N
                       --seconds S | --ops N --mode free|pct|random --seed N --chaos P --bug ID
                       --keep-going --report FILE --trace FILE --json [--depth D --step-bound K
                       --watchdog S; --plant-crash N makes cpu 0 throw: a harness self-test]
  hunt [options]       run the bug catalogue and the clean baseline: --kernel dragonfly|netbsd|all
                       --bug ID|all --seeds N --budget S --mode free|pct|random --cpus N
                       --depth D --report FILE --json
  replay REPORT        re-run a controlled-mode run from its report [--follow-schedule] [--json]
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
  const { kernels, scenarios, bugs } = listCatalog();
  if (values.json) process.stdout.write(JSON.stringify({ kernels, scenarios, bugs }, null, 2) + "\n");
  else {
    process.stdout.write("kernels:\n");
    for (const k of kernels) process.stdout.write(`  ${k.name.padEnd(12)} ${k.description}\n`);
    process.stdout.write("scenarios:\n");
    for (const s of scenarios) process.stdout.write(`  ${`${s.kernel}/${s.name}`.padEnd(28)} ${s.description}\n`);
    process.stdout.write("bugs:\n");
    for (const b of bugs) process.stdout.write(`  ${b.id.padEnd(28)} [${b.interlock}] ${b.description}\n`);
  }
  return EXIT.clean;
}

async function cmdDemo(argv: string[]): Promise<number> {
  parse(argv, {});
  return contentionDemo((line) => process.stdout.write(line + "\n"));
}

function intOption(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
}

function numberOption(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || v.trim() === "" || n < min || n > max) throw new UsageError(`--${name} must be a number ${min}..${max}, got "${v}"`);
  return n;
}

function kernelOption(v: string | undefined): "dragonfly" | "netbsd" {
  if (v === undefined) return "dragonfly";
  if (v !== "dragonfly" && v !== "netbsd") throw new UsageError(`--kernel must be dragonfly or netbsd, got "${v}"`);
  return v;
}

function modeOption(v: string | undefined): "free" | "pct" | "random" {
  if (v === undefined) return "free";
  if (v === "free" || v === "pct" || v === "random") return v;
  throw new UsageError(`--mode must be free, pct or random, got "${v}"`);
}

/** Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise (CI). */
function progressReporter(total: number, unit: "s" | "ops") {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format: "stress [{bar}] {percentage}% | {ops} syscalls | {violations} violations", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { ops: 0, violations: 0 });
    return {
      update: (p: { seconds: number; ops: number; violations: number }) => bar.update(Math.min(total, unit === "s" ? p.seconds : p.ops), { ops: p.ops, violations: p.violations }),
      stop: () => bar.stop(),
    };
  }
  let next = 0;
  return {
    update: (p: { seconds: number; ops: number; violations: number }) => {
      if (p.seconds < next) return;
      next = p.seconds + 5;
      process.stderr.write(`stress: ${p.seconds.toFixed(0)} s, ${p.ops} syscalls, ${p.violations} violations\n`);
    },
    stop: () => {},
  };
}

async function cmdStress(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    kernel: { type: "string" },
    scenario: { type: "string" },
    cpus: { type: "string" },
    seconds: { type: "string" },
    ops: { type: "string" },
    mode: { type: "string" },
    seed: { type: "string" },
    chaos: { type: "string" },
    bug: { type: "string", multiple: true },
    "keep-going": { type: "boolean" },
    report: { type: "string" },
    trace: { type: "string" },
    json: { type: "boolean" },
    watchdog: { type: "string" },
    depth: { type: "string" },
    "step-bound": { type: "string" },
    "plant-crash": { type: "string" },
  });
  const kernel = kernelOption(v.kernel);
  if (v.scenario === "list") {
    for (const s of SCENARIOS.filter((x) => x.kernel === kernel)) process.stdout.write(`${s.name.padEnd(18)} ${s.description}\n`);
    return EXIT.clean;
  }
  if (v.seconds !== undefined && v.ops !== undefined) throw new UsageError("give --seconds or --ops, not both");
  const seed = intOption(v.seed, "seed", 0, 2 ** 31 - 1) ?? Math.floor(Math.random() * 2 ** 31);
  const ops = intOption(v.ops, "ops", 1, Number.MAX_SAFE_INTEGER);
  const seconds = numberOption(v.seconds, "seconds", 0.1, 86400) ?? (ops === undefined ? 10 : undefined);
  const opts = {
    kernel,
    scenario: v.scenario ?? "mixed",
    cpus: intOption(v.cpus, "cpus", 1, 64) ?? 4,
    seconds,
    ops,
    mode: modeOption(v.mode),
    seed,
    chaos: numberOption(v.chaos, "chaos", 0, 1) ?? 0.001,
    bugs: v.bug ?? [],
    keepGoing: v["keep-going"] ?? false,
    watchdogSeconds: numberOption(v.watchdog, "watchdog", 0.5, 3600),
    depth: intOption(v.depth, "depth", 1, MAX_DEPTH),
    stepBound: intOption(v["step-bound"], "step-bound", 1, 1e9),
    plantCrashAfterOps: intOption(v["plant-crash"], "plant-crash", 1, 1e9),
    report: v.report,
    trace: v.trace,
  };
  findScenario(opts.kernel, opts.scenario);
  checkBugs(opts.kernel, opts.bugs);
  if (!v.json) process.stderr.write(`forkstorm stress: seed ${seed}\n`);
  const progress = v.json ? null : progressReporter(ops ?? seconds!, ops !== undefined ? "ops" : "s");
  const abort = new AbortController();
  const onInt = () => abort.abort();
  process.once("SIGINT", onInt);
  try {
    const out = await stress({ ...opts, signal: abort.signal, onProgress: progress?.update });
    progress?.stop();
    process.stdout.write((v.json ? JSON.stringify(out.report, null, 2) : stressSummary(out.report)) + "\n");
    return out.exitCode;
  } finally {
    process.off("SIGINT", onInt);
    progress?.stop();
  }
}

async function cmdHunt(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    kernel: { type: "string" },
    bug: { type: "string", multiple: true },
    seeds: { type: "string" },
    budget: { type: "string" },
    mode: { type: "string" },
    cpus: { type: "string" },
    seed: { type: "string" },
    chaos: { type: "string" },
    depth: { type: "string" },
    report: { type: "string" },
    json: { type: "boolean" },
  });
  const kernel = v.kernel === undefined || v.kernel === "all" ? "all" : kernelOption(v.kernel);
  const bugs = !v.bug || v.bug.includes("all") ? "all" : v.bug;
  const abort = new AbortController();
  const onInt = () => abort.abort();
  process.once("SIGINT", onInt);
  try {
    const out = await hunt({
      kernel,
      bugs,
      seeds: intOption(v.seeds, "seeds", 1, 1000) ?? 5,
      budget: numberOption(v.budget, "budget", 0.5, 3600) ?? 30,
      cpus: intOption(v.cpus, "cpus", 1, 64) ?? 4,
      mode: modeOption(v.mode),
      seed: intOption(v.seed, "seed", 0, 2 ** 31 - 1) ?? 1,
      chaos: numberOption(v.chaos, "chaos", 0, 1) ?? 0.001,
      depth: intOption(v.depth, "depth", 1, MAX_DEPTH),
      signal: abort.signal,
      onRun: v.json ? undefined : (what, i, r) => process.stderr.write(`hunt: ${what} run ${i + 1}: ${r.detected ? `detected in ${r.seconds.toFixed(3)} s by ${r.law}` : "not detected"}\n`),
    });
    if (v.report) writeJsonAtomic(v.report, out.report);
    process.stdout.write((v.json ? JSON.stringify(out.report, null, 2) : huntSummary(out.report)) + "\n");
    return out.exitCode;
  } finally {
    process.off("SIGINT", onInt);
  }
}

async function cmdReplay(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, { "follow-schedule": { type: "boolean" }, json: { type: "boolean" } }, 1);
  const file = positionals[0];
  if (!file) throw new UsageError("a REPORT file is required");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code ? `cannot read ${file}: ${code}` : `${file} is not valid JSON: ${(e as Error).message}`);
  }
  const out = await replay(raw, v["follow-schedule"] ?? false);
  const line = (x: ReplayOutcome["original"]) => `${x.verdict}${x.law ? ` [${x.law}] at step ${x.step}` : ""}, hash ${x.eventHash}`;
  if (v.json) process.stdout.write(JSON.stringify({ reproduced: out.reproduced, original: out.original, replayed: out.replayed }, null, 2) + "\n");
  else process.stdout.write(`original: ${line(out.original)}\nreplayed: ${line(out.replayed)}\n${out.reproduced ? "REPRODUCED" : "DIVERGED"}\n`);
  return out.reproduced ? EXIT.clean : EXIT.violation;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { stress: cmdStress, hunt: cmdHunt, replay: cmdReplay, script: cmdScript, list: cmdList, demo: cmdDemo };

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

// A reader that went away (`forkstorm list | head`) is not an error of ours.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
