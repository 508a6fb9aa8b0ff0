/*
 * What the instruments cost (issue 11 item 12: lockstat, trace and witness on vs off <= 25%):
 * free-mode runs of one scenario with every instrument on, each one off, and all off, taken in
 * rounds so that every configuration sees the same host load; each run's process cpu time per
 * system call over its run proper (first to last progress report: start-up and drain left out).
 * Cpu time per call is what an instrument adds; a loaded host bends the rates far more.
 * Each round starts one configuration further along (round r runs configuration r first): in one
 * fixed order "all off" was always the round's last run, and on NetBSD at load 36-54 it came out
 * 20 % below every configuration with one instrument off (+24-27 % all on over all off), +17.5 %
 * with the order reversed -- a place in the order must not be a configuration's.
 */
import { stress } from "../run/stress.js";
import type { StressReport } from "../report/report.js";
import { throwIfSpent } from "./budget.js";
import { INSTRUMENTS, type Instrument } from "../sched/spec.js";

export interface OverheadRow {
  /** "all on", "lockstat off", ..., "all off". */
  config: string;
  /** Median over the rounds. */
  cpuUsPerCall: number;
  callsPerSecond: number;
  /** The instruments' cost against all off: (this config / all off) - 1, from the medians. */
  overOff: number;
  /** The least and the most of that ratio within one round (this config's run over the round's all off). */
  overOffMin: number;
  overOffMax: number;
}

const CONFIGS: readonly { config: string; off: readonly Instrument[] }[] = [
  { config: "all on", off: [] },
  ...INSTRUMENTS.map((i) => ({ config: `${i} off`, off: [i] })),
  { config: "all off", off: INSTRUMENTS },
];

/** The configurations each round runs. */
export const OVERHEAD_CONFIGS = CONFIGS.length;

export const processCpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

/** One run: cpu time per call and calls per second between its first and last progress reports. */
async function windowRun(kernel: "dragonfly" | "netbsd", scenario: string, cpus: number, seconds: number, off: readonly Instrument[], signal: AbortSignal | undefined) {
  const marks: { seconds: number; ops: number; cpuUs: number }[] = [];
  const onProgress = (p: { seconds: number; ops: number }) => void marks.push({ seconds: p.seconds, ops: p.ops, cpuUs: processCpuUs() });
  const { report } = await stress({ kernel, scenario, cpus, seconds, mode: "free", seed: 1, chaos: 0, bugs: [], keepGoing: false, instrumentsOff: off, onProgress, detectors: [], signal });
  throwIfSpent(signal);
  if (report.verdict !== "clean" || marks.length < 3) throw new Error(`bench: ${kernel} ${scenario} with ${off.join(", ") || "nothing"} off ${report.verdict === "clean" ? "gave too few progress reports" : notClean(report)}`);
  const [a, b] = [marks[0], marks[marks.length - 1]];
  const calls = Math.max(1, b.ops - a.ops);
  return { cpuUsPerCall: (b.cpuUs - a.cpuUs) / calls, callsPerSecond: calls / (b.seconds - a.seconds) };
}

/**
 * Why a run measures nothing: its verdict and the laws it broke (a DragonFly free run can meet a
 * defect of the seed kernel itself, docs/findings.md), the hang's cause, or the error.
 */
export function notClean(report: StressReport): string {
  const laws = [...new Set(report.violations.map((v) => v.law))];
  const why = laws.length
    ? `${laws.join(", ")}; first: ${report.violations[0]!.message}`
    : report.hang
      ? `${report.hang.cause} during the ${report.hang.during}`
      : report.error?.split("\n")[0];
  return `ended ${report.verdict}${why ? ` (${why})` : ""}`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Round r's configurations: the fixed order, rotated to start at configuration r. */
export const roundOrder = <T>(configs: readonly T[], r: number): T[] => configs.map((_, i) => configs[(r + i) % configs.length]);

export async function measureOverhead(kernel: "dragonfly" | "netbsd", scenario: string, cpus: number, seconds: number, rounds: number, log: (line: string) => void = () => {}, signal?: AbortSignal): Promise<OverheadRow[]> {
  const runs = new Map(CONFIGS.map((c) => [c.config, [] as { cpuUsPerCall: number; callsPerSecond: number }[]]));
  for (let r = 0; r < rounds; r++)
    for (const c of roundOrder(CONFIGS, r)) {
      log(`overhead: ${kernel} ${scenario}, ${c.config}, round ${r + 1} of ${rounds}...`);
      runs.get(c.config)!.push(await windowRun(kernel, scenario, cpus, seconds, c.off, signal));
    }
  const cpuOf = (config: string) => median(runs.get(config)!.map((x) => x.cpuUsPerCall));
  const off = cpuOf("all off");
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return CONFIGS.map(({ config }) => {
    const inRound = runs.get(config)!.map((x, r) => x.cpuUsPerCall / runs.get("all off")![r].cpuUsPerCall - 1);
    return {
      config,
      cpuUsPerCall: Math.round(cpuOf(config) * 10) / 10,
      callsPerSecond: Math.round(median(runs.get(config)!.map((x) => x.callsPerSecond))),
      overOff: r3(cpuOf(config) / off - 1),
      overOffMin: r3(Math.min(...inRound)),
      overOffMax: r3(Math.max(...inRound)),
    };
  });
}
