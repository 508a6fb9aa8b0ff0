/*
 * Fork rate against a full process table (issue 11 item 12: 60,000 live processes keep >= 0.8
 * of the fork rate at 100). The fork-hold scenario (stress/scenarios) makes its held processes
 * first, then starts its shells; the rate is taken over a window that opens once every held
 * process exists, from the run's progress reports, to the end of the run: the run is bounded by
 * system calls, the setup's and `windowCalls` more, so that a loaded host (60,000 processes take
 * minutes to make there) lengthens it instead of cutting the window short.
 */
import { stress } from "../run/stress.js";
import { throwIfSpent } from "./budget.js";
import { notClean, processCpuUs } from "./overhead.js";
import { holdersOf } from "../../stress/scenarios/make.js";

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
  /** The run's: "clean" once the drain ended every held process ("hang" if it ran out of time). */
  verdict: string;
}

interface Mark {
  seconds: number;
  ops: number;
  cpuUs: number;
}

/** Calls before the shells run: each held fork, each holder's vfork and exec, each shell's vfork, exec and sigaction. */
const setupCalls = (held: number, cpus: number) => held + 2 * holdersOf(held) + 3 * cpus;

/** Forks per system call of a fork-exit-wait shell: fork, then wait (a child's exit is not counted). */
const FORKS_PER_CALL = 1 / 2;

export async function holdRun(kernel: HoldRun["kernel"], held: number, cpus: number, windowCalls: number, signal?: AbortSignal): Promise<HoldRun> {
  const setup = setupCalls(held, cpus);
  const window: Mark[] = [];
  const onProgress = (p: { seconds: number; ops: number }) => void (p.ops > setup && window.push({ seconds: p.seconds, ops: p.ops, cpuUs: processCpuUs() }));
  const { report } = await stress({
    kernel, scenario: "fork-hold", population: held, cpus, ops: setup + windowCalls, mode: "free", seed: 1, chaos: 0, bugs: [], keepGoing: false, watchdogSeconds: 600, onProgress, detectors: [], signal,
  });
  throwIfSpent(signal);
  // The first report past the setup may straddle it: the window opens at the second.
  const [f, t] = [window[1], window.at(-1)];
  if (report.violations.length || !f || t === f) throw new Error(`bench: fork-hold with ${held} held on ${kernel}: ${report.violations.length ? notClean(report) : `no window after the setup (verdict ${report.verdict})`}`);
  throwIfForksFailed(kernel, held, report.ops.bySyscall.fork?.errno ?? {});
  const forks = (t!.ops - f.ops) * FORKS_PER_CALL;
  return {
    kernel,
    held,
    forksPerSecond: Math.round(forks / (t!.seconds - f.seconds)),
    cpuUsPerFork: Math.round((t!.cpuUs - f.cpuUs) / Math.max(1, forks)),
    setupSeconds: Math.round(f.seconds * 10) / 10,
    windowSeconds: Math.round((t!.seconds - f.seconds) * 10) / 10,
    verdict: report.verdict,
  };
}

/**
 * A fork that failed (EAGAIN at a limit) is no fork of the rate: it sleeps half a second in
 * DragonFly's fork1 and returns, and a holder that met it held fewer processes than asked.
 */
function throwIfForksFailed(kernel: HoldRun["kernel"], held: number, errno: Record<string, number>): void {
  const failed = Object.entries(errno).map(([e, n]) => `${n} ${e}`);
  if (failed.length) throw new Error(`bench: fork-hold with ${held} held on ${kernel}: forks failed (${failed.join(", ")}); the scenario's limits do not hold every process`);
}
