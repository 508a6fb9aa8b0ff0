/*
 * `forkstorm bench`: lock-contention benchmarks, in one run so every figure is measured side by
 * side with the others (docs/bench.md documents the JSON):
 *  1. the primitives' uncontended costs against the raw Atomics floor, and the baton hand-off;
 *  2. real-parallel scaling: both kernels x both workloads (the fork-exit-wait scenario as it is,
 *     and the will-it-scale style fork-exit-wait-affine) x 1 and 2 cpus, free-running without
 *     chaos, with where the cpus' time went (schedstat) and lock tables in lock_stat's terms;
 *  3. virtual time (src/sched/virtual.ts): a cost model calibrated from this runtime's costs,
 *     validated against the real runs at 1 and 2 cpus, then swept to 64 cpus for both kernels;
 *  4. the field-level detectors' cost, the same run with them off and on (src/bench/detect.ts);
 *  5. lockstat's, witness's and the event ring's cost, each off and all off (src/bench/overhead.ts);
 *  6. the fork rate with many processes held asleep against 100 (src/bench/hold.ts).
 * The throughput runs (2, 3, 5, 6) run with the detectors off: they measure the kernels.
 */
import { availableParallelism, cpus as hostCpus, loadavg } from "node:os";
import type { StressReport } from "../report/report.js";
import { VERSION } from "../report/report.js";
import { stress } from "../run/stress.js";
import type { SchedStat } from "../sched/schedstat.js";
import type { LockStat } from "../sync/lockstat.js";
import { measureBaton, measurePrimitives, TOKEN_GOAL, type BatonCost, type PrimitiveRow } from "./index.js";
import { detectorCost, type DetectorCostRow } from "./detect.js";
import { pingPongFloor } from "./baton.js";
import { holdRun, type HoldRun } from "./hold.js";
import { measureOverhead, processCpuUs, type OverheadRow } from "./overhead.js";
import { calibrate, lineTransferNs, virtualForksPerSecond, virtualRun, type Calibration } from "./virtual.js";

export const KERNELS = ["dragonfly", "netbsd"] as const;
export type Kernel = (typeof KERNELS)[number];
/** The workloads: the scenario as it is, and will-it-scale's. */
export const WORKLOADS = ["fork-exit-wait", "fork-exit-wait-affine"] as const;
const AFFINE = "fork-exit-wait-affine";

export interface BenchOptions {
  quick: boolean;
  /** One line per step, for the terminal. */
  log?: (line: string) => void;
}

/** A lock class in a table: lockstat's entry, kept to the classes that matter. */
export interface LockTable {
  kernel: Kernel;
  workload: string;
  cpus: number;
  mode: "free" | "virtual";
  locks: LockStat[];
}

export interface ScalingRow {
  kernel: Kernel;
  workload: string;
  cpus: number;
  forksPerSecond: number;
  /** Over the same kernel and workload on one cpu. */
  ratio: number;
  syscallsPerSecond: number;
  /**
   * Process cpu time per fork (every thread, the orchestrator's too) between the run's first and
   * last progress reports (start-up and drain left out): what a fork costs, load or not.
   */
  cpuUsPerFork: number;
  /** The lock class with the most contentions, and its contended/acquisitions. */
  topLock: string;
  schedstat: SchedStat | null;
  elapsedSeconds: number;
}

export interface VirtualRow {
  kernel: Kernel;
  workload: string;
  cpus: number;
  /** Virtual seconds run; throughput is counted over the second half. */
  seconds: number;
  forksPerSecond: number;
  ratio: number;
  topLock: string;
  /** Contended share of the top lock's acquisitions. */
  topLockContention: number;
  wallSeconds: number;
}

export interface ValidationRow {
  kernel: Kernel;
  workload: string;
  cpus: number;
  realForksPerSecond: number;
  virtualForksPerSecond: number;
  /** (virtual - real) / real, in percent. */
  errorPercent: number;
}

export interface BenchReport {
  schema: 1;
  tool: "forkstorm";
  version: string;
  command: "bench";
  quick: boolean;
  startedAt: string;
  host: { node: string; cores: number; cpuModel: string; loadAverage: number[] };
  /** How to measure it again. */
  reproduce: string;
  primitives: { rows: PrimitiveRow[]; tokenGoal: number; baton: BatonCost };
  scaling: ScalingRow[];
  calibration: Calibration[];
  validation: ValidationRow[];
  virtual: VirtualRow[];
  lockTables: LockTable[];
  /** The field-level detectors' cost: one run with them off and on (src/bench/detect.ts). */
  detectors: DetectorCostRow[];
  /** What lockstat, witness and the event ring cost (bench/overhead.ts), per kernel. */
  instruments: InstrumentCost[];
  /** Fork rate with many processes held asleep against 100 (bench/hold.ts), per kernel. */
  processTable: ProcessTableRow[];
  wallSeconds: number;
}

export interface InstrumentCost {
  kernel: Kernel;
  scenario: string;
  cpus: number;
  seconds: number;
  rounds: number;
  rows: OverheadRow[];
}

export interface ProcessTableRow extends HoldRun {
  /** forksPerSecond and cpuUsPerFork against the same kernel's run with 100 held. */
  rateRatio: number;
  cpuRatio: number;
}

/** Seconds per real run: long enough to average a few scheduler quanta of a loaded host. */
const REAL_SECONDS = { quick: 1.5, full: 4 };
/** The virtual sweep's cpu counts. */
const SWEEP = { quick: [1, 2, 4, 8], full: [1, 2, 4, 8, 16, 32, 64] };
/** Instrument overhead: runs of the mixed scenario on 2 cpus, every configuration once a round. */
const OVERHEAD = { quick: { seconds: 1.5, rounds: 1 }, full: { seconds: 4, rounds: 3 } };
/** Processes held against 100, and each fork-hold run's system calls past its setup: enough for a window of several progress reports (every 0.25 s) on a quiet machine, where 1500 calls ended before a second one. */
const HOLD = { quick: { held: 1000, calls: 6000 }, full: { held: 5000, calls: 20000 } };
/** Lock classes kept per table. */
const TABLE_LOCKS = 8;

/**
 * A virtual run's length, from the calibrated one-cpu throughput: `forkTimes` one-cpu fork times
 * (60; 30 for --quick), and 4 per cpu past that, so that init (one fork after another) has
 * started every worker well before the counted second half.
 */
export const virtualSeconds = (cpus: number, oneCpuForksPerSecond: number, forkTimes: number): number => Math.max(forkTimes, 4 * cpus) / oneCpuForksPerSecond;

const forks = (r: StressReport): number => r.ops.bySyscall.fork?.ok ?? 0;

function topLock(locks: readonly LockStat[]): { name: string; share: number } {
  const top = locks[0];
  return top ? { name: `${top.lock} (${top.contended}/${top.acquisitions} contended)`, share: top.acquisitions ? top.contended / top.acquisitions : 0 } : { name: "-", share: 0 };
}

/**
 * A real run, and its process cpu time per fork over the run proper: from its first progress
 * report to its last, so that the workers' start-up and the drain are not charged to the forks.
 */
async function realRun(kernel: Kernel, workload: string, cpus: number, seconds: number): Promise<{ report: StressReport; cpuUsPerFork: number }> {
  const marks = [{ cpuUs: processCpuUs(), ops: 0 }]; // the whole run, if no progress report comes
  const onProgress = (p: { ops: number }) => void marks.push({ cpuUs: processCpuUs(), ops: p.ops });
  const { report } = await stress({ kernel, scenario: workload, cpus, seconds, mode: "free", seed: 1, chaos: 0, bugs: [], keepGoing: false, lockSites: true, onProgress, detectors: [] });
  if (report.verdict !== "clean") throw new Error(`bench: ${kernel} ${workload} on ${cpus} cpus ended ${report.verdict}`);
  const forksPerOp = forks(report) / Math.max(1, report.ops.total);
  const window = marks.length >= 3 ? { from: marks[1], to: marks[marks.length - 1] } : { from: marks[0], to: { cpuUs: processCpuUs(), ops: report.ops.total } };
  const windowForks = Math.max(1, (window.to.ops - window.from.ops) * forksPerOp);
  return { report, cpuUsPerFork: Math.round((window.to.cpuUs - window.from.cpuUs) / windowForks) };
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);
  const quick = o.quick;

  log("primitives against the raw CAS floor...");
  const rows = await measurePrimitives(quick ? 2 : 7);
  log("baton hand-off against its floor...");
  const baton = await measureBaton(quick ? 1 : 3);

  const seconds = quick ? REAL_SECONDS.quick : REAL_SECONDS.full;
  const scaling: ScalingRow[] = [];
  const lockTables: LockTable[] = [];
  const real = new Map<string, number>();
  /** The one-cpu affine runs' process cpu time per fork: what calibrates the virtual model. */
  const cpuUsPerFork = new Map<Kernel, number>();
  for (const workload of WORKLOADS)
    for (const cpus of [1, 2])
      for (const kernel of KERNELS) {
        log(`real: ${kernel} ${workload} on ${cpus} cpu${cpus > 1 ? "s" : ""} for ${seconds} s...`);
        const { report, cpuUsPerFork: cpuUs } = await realRun(kernel, workload, cpus, seconds);
        const fps = forks(report) / report.elapsedSeconds;
        real.set(`${kernel}/${workload}/${cpus}`, fps);
        if (workload === AFFINE && cpus === 1) cpuUsPerFork.set(kernel, cpuUs);
        const one = real.get(`${kernel}/${workload}/1`) ?? fps;
        scaling.push({
          kernel, workload, cpus, forksPerSecond: Math.round(fps), ratio: Math.round((fps / one) * 100) / 100, syscallsPerSecond: Math.round(report.ops.total / report.elapsedSeconds),
          cpuUsPerFork: cpuUs, topLock: topLock(report.lockstat).name, schedstat: report.schedstat ?? null, elapsedSeconds: report.elapsedSeconds,
        });
        if (cpus > 1) lockTables.push({ kernel, workload, cpus, mode: "free", locks: report.lockstat.slice(0, TABLE_LOCKS) });
      }

  log("calibrating the virtual-time cost model...");
  const wakes: number[] = [];
  for (let i = 0; i < 3; i++) wakes.push(await pingPongFloor());
  const measured = { lineNs: await lineTransferNs(), wakeNs: Math.min(...wakes) }; // the least disturbed rounds
  const nsOf = (name: string) => rows.find((r) => r.primitive === name)?.nsPerOp ?? 0;
  const calibration: Calibration[] = [];
  for (const kernel of KERNELS)
    calibration.push(await calibrate(kernel, AFFINE, 1e6 / cpuUsPerFork.get(kernel)!, { tokenNs: nsOf("token get+release"), sleepWakeNs: nsOf("tsleep_interlock+wakeup"), ...measured }));

  const virtual: VirtualRow[] = [];
  const validation: ValidationRow[] = [];
  const sweep = quick ? SWEEP.quick : SWEEP.full;
  for (const kernel of KERNELS) {
    const { cost, fittedForksPerSecond } = calibration.find((c) => c.kernel === kernel)!;
    for (const workload of WORKLOADS) {
      const counts = workload === AFFINE ? sweep : [1, 2];
      let one = 0;
      for (const cpus of counts) {
        log(`virtual: ${kernel} ${workload} on ${cpus} cpu${cpus > 1 ? "s" : ""}...`);
        const w0 = performance.now();
        const report = await virtualRun({ kernel, scenario: workload, cpus, seconds: virtualSeconds(cpus, fittedForksPerSecond, quick ? 30 : 60) }, cost, true);
        const fps = virtualForksPerSecond(report);
        if (cpus === 1) one = fps;
        const top = topLock(report.lockstat);
        virtual.push({
          kernel, workload, cpus, seconds: report.virtual!.seconds, forksPerSecond: Math.round(fps), ratio: Math.round((fps / one) * 100) / 100,
          topLock: top.name, topLockContention: Math.round(top.share * 1000) / 1000, wallSeconds: Math.round((performance.now() - w0) / 100) / 10,
        });
        if (cpus === 2 || cpus === sweep.at(-1)) lockTables.push({ kernel, workload, cpus, mode: "virtual", locks: report.lockstat.slice(0, TABLE_LOCKS) });
        const realFps = real.get(`${kernel}/${workload}/${cpus}`);
        if (realFps !== undefined)
          validation.push({ kernel, workload, cpus, realForksPerSecond: Math.round(realFps), virtualForksPerSecond: Math.round(fps), errorPercent: Math.round(((fps - realFps) / realFps) * 1000) / 10 });
      }
    }
  }
  log("the field-level detectors' cost (pct and free, off and on)...");
  const detectors = await detectorCost(quick);
  const instruments: InstrumentCost[] = [];
  const ov = quick ? OVERHEAD.quick : OVERHEAD.full;
  for (const kernel of KERNELS) instruments.push({ kernel, scenario: "mixed", cpus: 2, ...ov, rows: await measureOverhead(kernel, "mixed", 2, ov.seconds, ov.rounds, log) });

  const processTable: ProcessTableRow[] = [];
  const hold = quick ? HOLD.quick : HOLD.full;
  for (const kernel of KERNELS) {
    log(`fork-hold: ${kernel}, 100 and ${hold.held} processes held...`);
    const base = await holdRun(kernel, 100, 2, hold.calls);
    for (const r of [base, await holdRun(kernel, hold.held, 2, hold.calls)])
      processTable.push({ ...r, rateRatio: Math.round((r.forksPerSecond / base.forksPerSecond) * 100) / 100, cpuRatio: Math.round((r.cpuUsPerFork / base.cpuUsPerFork) * 100) / 100 });
  }
  return {
    schema: 1,
    tool: "forkstorm",
    version: VERSION,
    command: "bench",
    quick,
    startedAt,
    host: { node: process.version, cores: availableParallelism(), cpuModel: hostCpus()[0]?.model ?? "?", loadAverage },
    reproduce: `forkstorm bench${quick ? " --quick" : ""} --report bench.json --html bench.html`,
    primitives: { rows, tokenGoal: TOKEN_GOAL, baton },
    scaling,
    calibration,
    validation,
    virtual,
    lockTables,
    detectors,
    instruments,
    processTable,
    wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** The terminal's view of a bench report. */
export function benchSummary(r: BenchReport): string {
  const lines: string[] = [];
  const table = (rows: Record<string, unknown>[]) => {
    const cols = Object.keys(rows[0] ?? {});
    const w = cols.map((c) => Math.max(c.length, ...rows.map((x) => String(x[c]).length)));
    lines.push(cols.map((c, i) => c.padEnd(w[i])).join("  "));
    for (const x of rows) lines.push(cols.map((c, i) => String(x[c]).padEnd(w[i])).join("  "));
  };
  lines.push(`forkstorm bench${r.quick ? " --quick" : ""}: node ${r.host.node}, ${r.host.cores} cores, load average ${r.host.loadAverage.join(" ")} at the start (a loaded host makes the real figures noisy; the virtual ones are not timed)`);
  lines.push("", "primitives, uncontended (ns/op; x the raw CAS spin lock):");
  table(r.primitives.rows.map((p) => ({ primitive: p.primitive, "ns/op": p.nsPerOp, "x floor": p.xFloor })));
  const b = r.primitives.baton;
  lines.push(`baton hand-off ${b.batonNs} ns = ${b.ratio}x the ping-pong floor (${b.floorNs} ns); rounds ${b.ratioMin}x to ${b.ratioMax}x; goal <= 2x`);
  lines.push("", "real-parallel scaling (free, no chaos, side by side in this run):");
  table(r.scaling.map((s) => ({ kernel: s.kernel, workload: s.workload, cpus: s.cpus, "forks/s": s.forksPerSecond, ratio: s.ratio, "cpu us/fork": s.cpuUsPerFork, "top lock": s.topLock })));
  lines.push("", "virtual time, validated against the real runs:");
  table(r.validation.map((v) => ({ kernel: v.kernel, workload: v.workload, cpus: v.cpus, "real forks/s": v.realForksPerSecond, "virtual forks/s": v.virtualForksPerSecond, "error %": v.errorPercent })));
  lines.push("", "virtual-time sweep (forks per virtual second):");
  table(r.virtual.filter((v) => v.workload === AFFINE).map((v) => ({ kernel: v.kernel, cpus: v.cpus, "forks/s": v.forksPerSecond, ratio: v.ratio, "limiting lock": v.topLock })));
  lines.push("", "field-level detectors' cost (DragonFly mixed, 4 cpus, one seed per round; x off: time per run, free mode per system call):");
  table(r.detectors.map((d) => ({ mode: d.mode, detectors: d.detectors, "s/run": d.seconds, "syscalls/s": d.syscallsPerSecond, "x off": d.xOff })));
  lines.push("", "instruments: process cpu time per system call, medians of the rounds (mixed, 2 cpus); over all off:");
  table(r.instruments.flatMap((c) => c.rows.map((x) => ({ kernel: c.kernel, config: x.config, "cpu us/call": x.cpuUsPerCall, "calls/s": x.callsPerSecond, "over all off": `${Math.round(x.overOff * 100)}%` }))));
  lines.push("", "fork rate against a full process table (fork-hold, 2 cpus; ratios over 100 held):");
  table(r.processTable.map((h) => ({ kernel: h.kernel, held: h.held, "forks/s": h.forksPerSecond, ratio: h.rateRatio, "cpu us/fork": h.cpuUsPerFork, "cpu ratio": h.cpuRatio, "setup s": h.setupSeconds })));
  lines.push("", `${r.wallSeconds} s in all`);
  return lines.join("\n") + "\n";
}
