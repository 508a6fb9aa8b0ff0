/*
 * The virtual-time mode's cost model, calibrated from this runtime's measured costs, and its
 * sweeps (src/sched/virtual.ts runs them):
 *  - a lock-line transfer: two worker threads taking turns at a compare-and-swap on one word,
 *    spinning (the cost of a line another core wrote last);
 *  - a wake-up across cpus: the Atomics.wait/notify ping-pong floor (baton.ts);
 *  - the work between two scheduling points: from a real one-cpu run of the workload (its forks
 *    per second of process cpu time, which a loaded host does not stretch as it stretches wall
 *    time) and the points a one-cpu virtual run of the same workload takes per fork, once the
 *    primitives' own measured costs (a token get+release, a tsleep_interlock+wakeup) are taken
 *    out of the sync and sleep points.
 */
import type { StressReport } from "../report/report.js";
import { stress, type StressOptions } from "../run/stress.js";
import type { CostModel } from "../sched/virtual.js";
import { turnTaking } from "./baton.js";
import { throwIfSpent } from "./budget.js";

const TURNS = 50_000;

/**
 * ns per one-way hand-off of a cache line between two threads (CAS turn-taking, spinning): the
 * best of `rounds` (a loaded host only ever adds time, descheduling a spinner).
 */
export async function lineTransferNs(rounds = 5, signal?: AbortSignal): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < rounds; i++) best = Math.min(best, await lineTransferRound(signal));
  return best;
}

function lineTransferRound(signal: AbortSignal | undefined): Promise<number> {
  return turnTaking("while (Atomics.compareExchange(turn, 0, me, 1 - me) !== me);", TURNS, {}, TURNS, signal);
}

/** What a calibration is made of, kept in the bench report. */
export interface Calibration {
  kernel: string;
  /** The real one-cpu run it was fitted to: forks per second of process cpu time. */
  fittedForksPerSecond: number;
  /** Points per fork in the one-cpu virtual run, by kind. */
  pointsPerFork: { field: number; sync: number; sleep: number };
  /** Measured: token get+release, tsleep_interlock+wakeup (per op), line transfer, wake-up. */
  measured: { tokenNs: number; sleepWakeNs: number; lineNs: number; wakeNs: number };
  cost: CostModel;
}

const forksOf = (r: StressReport): number => r.ops.bySyscall.fork?.ok ?? 0;

/** A provisional model, only to count a one-cpu run's points (one cpu: no line, no IPI). */
const COUNTING: CostModel = { field: 100, sync: 100, sleep: 100, line: 0, ipiSend: 0, ipiArrive: 0 };

export interface VirtualRun {
  kernel: "dragonfly" | "netbsd";
  scenario: string;
  cpus: number;
  /** Virtual seconds. */
  seconds: number;
}

export async function virtualRun(r: VirtualRun, cost: CostModel, lockSites = false, signal?: AbortSignal): Promise<StressReport> {
  const o: StressOptions = { kernel: r.kernel, scenario: r.scenario, cpus: r.cpus, seconds: r.seconds, mode: "virtual", cost, seed: 1, chaos: 0, bugs: [], keepGoing: false, lockSites, detectors: [], signal };
  const { report } = await stress(o);
  throwIfSpent(signal);
  if (report.verdict !== "clean") throw new Error(`bench: virtual ${r.kernel} ${r.scenario} on ${r.cpus} cpus ended ${report.verdict}${report.error ? `: ${report.error.split("\n")[0]}` : ""}`);
  return report;
}

/** Forks per virtual second. */
export const virtualForksPerSecond = (r: StressReport): number => forksOf(r) / (r.virtual?.seconds ?? Infinity);

/**
 * Fit the work between points so that a one-cpu virtual run of `scenario` matches the real
 * one-cpu throughput; the primitives' costs ride on top of it at sync and sleep points.
 */
export async function calibrate(kernel: "dragonfly" | "netbsd", scenario: string, fittedForksPerSecond: number, measured: Calibration["measured"]): Promise<Calibration> {
  const counted = await virtualRun({ kernel, scenario, cpus: 1, seconds: 0.01 }, COUNTING);
  const forks = Math.max(1, forksOf(counted));
  const p = counted.virtual!.points;
  const perFork = { field: p.field / forks, sync: p.sync / forks, sleep: p.sleep / forks };
  const syncExtra = measured.tokenNs / 2; // a get and a release: two sync points
  const sleepExtra = measured.sleepWakeNs / 2;
  const points = perFork.field + perFork.sync + perFork.sleep;
  const realNsPerFork = 1e9 / fittedForksPerSecond;
  const between = Math.max(1, (realNsPerFork - perFork.sync * syncExtra - perFork.sleep * sleepExtra) / points);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    kernel,
    fittedForksPerSecond: Math.round(fittedForksPerSecond),
    pointsPerFork: { field: round(perFork.field), sync: round(perFork.sync), sleep: round(perFork.sleep) },
    measured,
    cost: { field: round(between), sync: round(between + syncExtra), sleep: round(between + sleepExtra), line: round(measured.lineNs), ipiSend: round(measured.lineNs), ipiArrive: round(measured.wakeNs) },
  };
}
