/*
 * Fork rate against a full process table (issue 11 item 12: 60,000 live processes keep >= 0.8
 * of the fork rate at 100). The fork-hold scenario (stress/scenarios) makes its held processes
 * first, then starts its shells; the rate is taken over a window that opens once every held
 * process exists, from the run's progress reports, and the run is stopped when the window is
 * long enough (setting up 60,000 processes takes minutes, and its length is not known before).
 */
import { stress } from "../run/stress.js";
import { processCpuUs } from "./overhead.js";

export interface HoldRun {
  kernel: "dragonfly" | "netbsd";
  held: number;
  /** The shells' forks per second over the window. */
  forksPerSecond: number;
  /** Process cpu time (every thread) per fork over the window: less bent by a loaded host than the rate. */
  cpuUsPerFork: number;
  /** Seconds from when the cpus were up to when the window opened: the held processes' making. */
  setupSeconds: number;
  windowSeconds: number;
}

interface Mark {
  seconds: number;
  ops: number;
  cpuUs: number;
}

/** Calls before the shells run: each held fork, each holder's vfork and exec, each shell's vfork, exec and sigaction. */
const setupCalls = (held: number, cpus: number) => held + 2 * Math.ceil(Math.sqrt(held)) + 3 * cpus;

/** Forks per system call of a fork-exit-wait shell: fork, then wait (a child's exit is not counted). */
const FORKS_PER_CALL = 1 / 2;

export async function holdRun(kernel: HoldRun["kernel"], held: number, cpus: number, windowSeconds: number): Promise<HoldRun> {
  const stop = new AbortController();
  const setup = setupCalls(held, cpus);
  let from: Mark | null = null;
  let to: Mark | null = null;
  const onProgress = (p: { seconds: number; ops: number }) => {
    const mark = { seconds: p.seconds, ops: p.ops, cpuUs: processCpuUs() };
    if (from === null) from = p.ops > setup ? mark : null;
    else to = mark;
    if (from && to && to.seconds - from.seconds >= windowSeconds) stop.abort();
  };
  const { report } = await stress({
    kernel, scenario: "fork-hold", population: held, cpus, seconds: 86_400, mode: "free", seed: 1, chaos: 0, bugs: [], keepGoing: false,
    watchdogSeconds: 600, onProgress, signal: stop.signal,
  });
  const f = from as Mark | null; // set by the callback: TypeScript narrowed them to null
  const t = to as Mark | null;
  if (report.verdict !== "interrupted" || !f || !t) throw new Error(`bench: fork-hold with ${held} held on ${kernel} ended ${report.verdict} before its window`);
  const forks = (t.ops - f.ops) * FORKS_PER_CALL;
  return {
    kernel,
    held,
    forksPerSecond: Math.round(forks / (t.seconds - f.seconds)),
    cpuUsPerFork: Math.round((t.cpuUs - f.cpuUs) / Math.max(1, forks)),
    setupSeconds: Math.round(f.seconds * 10) / 10,
    windowSeconds: Math.round((t.seconds - f.seconds) * 10) / 10,
  };
}
