/*
 * The virtual-time mode's cost model, calibrated from this runtime's measured costs, and its
 * sweeps (src/sched/virtual.ts runs them):
 *  - what crosses cpus, between two worker threads taking turns on one word: a lock-line
 *    transfer (compare-and-swap, spinning) -- also what a wake-up costs to reach a cpu that
 *    polls its doorbell: that word's line moving to it -- and a wake-up that finds its receiver
 *    asleep (the Atomics.wait/notify ping-pong, never spinning: a futex wake each time). Each
 *    is the fastest of many short batches: a loaded host only ever adds time (a descheduled
 *    thread), and with batches of a few microseconds to a millisecond some batch runs with both
 *    threads on a core even at load -- timing whole runs made the model degenerate at load
 *    (22.9 us line transfers at load 75). A value no host could give is refused
 *    (CalibrationRefused), not used. (A spinning ping-pong, timed for the polled wake-up,
 *    settled at load into futex waits in every batch: its own line transfer is the honest cost.)
 *  - the work between two scheduling points: from a real one-cpu run of the workload (its forks
 *    per second of process cpu time, which a loaded host does not stretch as it stretches wall
 *    time) and the points a one-cpu virtual run of the same workload takes per fork, once the
 *    primitives' own measured costs (a token get+release, a tsleep_interlock+wakeup) are taken
 *    out of the sync and sleep points.
 *  - the host taking a cpu off its core (OffCore, for the 2-cpu validation only): the share of
 *    its time from the host control (two one-cpu machines at once, sharing nothing but the host:
 *    what each loses), the slice from the long waits of a real 2-cpu run (offCoreOf).
 */
import { loadavg } from "node:os";
import type { StressReport } from "../report/report.js";
import { stress, type StressOptions } from "../run/stress.js";
import type { CostModel, OffCore } from "../sched/virtual.js";
import type { LockStat } from "../sync/lockstat.js";
import { pingPongFloor, turnTaking } from "./baton.js";
import { throwIfSpent } from "./budget.js";

/** What crosses cpus, measured between two worker threads (ns). */
export interface CrossCpu {
  /** A lock-line transfer: one compare-and-swap turn (and a wake-up reaching a polling cpu). */
  lineNs: number;
  /** A wake-up that finds its receiver asleep on a futex. */
  sleepingWakeNs: number;
}

/**
 * The most each can plausibly cost on any host running both threads at once: a line transfer
 * is tens to hundreds of ns, a futex wake-up microseconds to tens of
 * them. Past these the host did not run the two threads together in any batch.
 */
export const PLAUSIBLE: CrossCpu = { lineNs: 1_000, sleepingWakeNs: 500_000 };

/** The calibration measured something no host could give: the virtual runs would model the load. */
export class CalibrationRefused extends Error {}

/**
 * Rounds of each, each giving its fastest batch: batches of a few microseconds (spinning) to
 * about a millisecond (futex waits), and few of them -- at load every hand-off can wait for the
 * host to run the other thread, and 200,000 of them took minutes.
 */
const ROUNDS = 3;
const MEASURE: Record<keyof CrossCpu, (signal: AbortSignal | undefined) => Promise<number>> = {
  lineNs: (signal) => turnTaking("while (Atomics.compareExchange(turn, 0, me, 1 - me) !== me);", 4_000, {}, 100, signal),
  sleepingWakeNs: (signal) => pingPongFloor(10, signal, 0, 200),
};

async function fastest(kind: keyof CrossCpu, signal: AbortSignal | undefined): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) best = Math.min(best, await MEASURE[kind](signal));
  return best;
}

/** The cross-cpu costs, each the fastest batch; CalibrationRefused if any is past PLAUSIBLE. */
export async function measureCrossCpu(signal?: AbortSignal): Promise<CrossCpu> {
  const m: CrossCpu = { lineNs: await fastest("lineNs", signal), sleepingWakeNs: await fastest("sleepingWakeNs", signal) };
  refuseImplausible(m, loadavg()[0]);
  return m;
}

/** Throws CalibrationRefused naming the first cost past its bound, with the load it was measured at. */
export function refuseImplausible(m: CrossCpu, load: number): void {
  for (const k of Object.keys(PLAUSIBLE) as (keyof CrossCpu)[])
    if (!(m[k] <= PLAUSIBLE[k]))
      throw new CalibrationRefused(`calibration refused: ${k} measured ${Math.round(m[k])} ns, more than any host gives (${PLAUSIBLE[k]} ns): the two threads never ran at once in a batch (load average ${load.toFixed(1)}); the virtual runs would model the load, not the machine`);
}

/**
 * The work between two points, past this many times a token get+release (both measured on one
 * thread, the primitive by its best round): about 1x on a quiet host (74-89 ns against 75).
 */
export const PLAUSIBLE_WORK_X_TOKEN = 10;

/**
 * Throws CalibrationRefused when the fitted work between points is past PLAUSIBLE_WORK_X_TOKEN:
 * the one-cpu run's cpu time per fork was then mostly not the kernel's (the orchestrator's, V8's
 * compiler on cold code) -- at load 28, 1,137 us a fork against 43 quiet -- and a model fitted
 * to it would make every cross-cpu cost look free.
 */
export function refuseImplausibleWork(kernel: string, betweenNs: number, tokenNs: number, nsPerFork: number): void {
  if (betweenNs <= PLAUSIBLE_WORK_X_TOKEN * tokenNs) return;
  throw new CalibrationRefused(`calibration refused: ${kernel}'s one-cpu run cost ${Math.round(nsPerFork / 1000)} us of cpu time a fork, ${Math.round(betweenNs)} ns between two points, more than ${PLAUSIBLE_WORK_X_TOKEN}x a token get+release (${tokenNs} ns): most of that cpu time was not the kernel's (load average ${loadavg()[0].toFixed(1)}); the virtual runs would model the load, not the machine`);
}

/** What a calibration is made of, kept in the bench report. */
export interface Calibration {
  kernel: string;
  /** The real one-cpu run it was fitted to: forks per second of process cpu time. */
  fittedForksPerSecond: number;
  /** Points per fork in the one-cpu virtual run, by kind. */
  pointsPerFork: { field: number; sync: number; sleep: number };
  /** Measured: token get+release, tsleep_interlock+wakeup (per op), and what crosses cpus. */
  measured: { tokenNs: number; sleepWakeNs: number } & CrossCpu;
  cost: CostModel;
}

const forksOf = (r: StressReport): number => r.ops.bySyscall.fork?.ok ?? 0;

/** A provisional model, only to count a one-cpu run's points (one cpu: no line, no IPI). */
const COUNTING: CostModel = { field: 100, sync: 100, sleep: 100, line: 0, ipiSend: 0, ipiArrive: 0, wakeSleeping: 0 };

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
  refuseImplausibleWork(kernel, between, measured.tokenNs, realNsPerFork);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    kernel,
    fittedForksPerSecond: Math.round(fittedForksPerSecond),
    pointsPerFork: { field: round(perFork.field), sync: round(perFork.sync), sleep: round(perFork.sleep) },
    measured,
    cost: { field: round(between), sync: round(between + syncExtra), sleep: round(between + sleepExtra), line: round(measured.lineNs), ipiSend: round(measured.lineNs), ipiArrive: round(measured.lineNs), wakeSleeping: round(measured.sleepingWakeNs) },
  };
}

/**
 * A wait this long (a log2 bucket's lower bound, 65.5 us) is the host's, not the kernels': holds
 * are 1-5 us on average in the quiet runs, and a waiting cpu polls 50 us before it sleeps.
 */
export const LONG_WAIT_NS = 2 ** 16;
const LONG_WAIT_BUCKET = Math.log2(LONG_WAIT_NS);

/**
 * The host's off-core time as the validation's 2-cpu model charges it: each cpu off its core for
 * what a worker of the host control lost (1 - efficiency), in slices twice the mean of the long
 * waits in `locks` (a real 2-cpu run's table: a waiter comes at a random moment of its holder's
 * slice off the core, half of it on average; bucket i counted at 1.5 x 2^i ns). Null when the
 * run had no long wait: the slice is then not measured.
 */
export function offCoreOf(efficiency: number, locks: readonly LockStat[]): OffCore | null {
  let n = 0;
  let ns = 0;
  for (const l of locks)
    for (let i = LONG_WAIT_BUCKET; i < l.waitHist.length; i++) {
      n += l.waitHist[i];
      ns += l.waitHist[i] * 1.5 * 2 ** i;
    }
  if (n === 0) return null;
  return { share: Math.round(Math.max(0, 1 - efficiency) * 1000) / 1000, sliceNs: Math.round((2 * ns) / n) };
}

