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
import { CpuPool } from "../sched/machine.js";
import type { SchedStat } from "../sched/schedstat.js";
import type { LockStat } from "../sync/lockstat.js";
import { measureBaton, measurePrimitives, TOKEN_GOAL, type BatonCost, type PrimitiveRow } from "./index.js";
import { budgetLines, runSections, type BudgetCut, type BudgetReport, type BudgetSection, type SectionFailure } from "./budget.js";
import { DETECTOR_RUNS, detectorCost, type DetectorCostRow, type DetectorRuns } from "./detect.js";
import { holdRun, type HoldRun } from "./hold.js";
import { privateWork, threadCores, threadTicks, type PrivateWork, type ThreadCores } from "./host.js";
import { measureOverhead, notClean, OVERHEAD_CONFIGS, processCpuUs, type OverheadRow } from "./overhead.js";
import { calibrate, CalibrationRefused, LONG_WAIT_NS, measureCrossCpu, offCoreOf, virtualForksPerSecond, virtualRun, type Calibration } from "./virtual.js";
import type { CostModel, OffCore } from "../sched/virtual.js";

export const KERNELS = ["dragonfly", "netbsd"] as const;
export type Kernel = (typeof KERNELS)[number];
/** The workloads: the scenario as it is, and will-it-scale's. */
export const WORKLOADS = ["fork-exit-wait", "fork-exit-wait-affine"] as const;
const AFFINE = "fork-exit-wait-affine";

export interface BenchOptions {
  quick: boolean;
  /** Seconds for the whole bench (the process's start-up and `afterSeconds` included): the sections are fitted to it (src/bench/budget.ts). */
  timeBudget?: number;
  /** Quiet-machine seconds the caller needs once the bench is done (rendering the HTML report), kept out of the budget. */
  afterSeconds?: number;
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
  /** Over the measured window, after the warm-up (`warmSeconds`): the median of the rounds (`rounds`). */
  forksPerSecond: number;
  /** Each round's forks per second, in the order they ran. */
  rounds: number[];
  /** Each round's warm-up: seconds before its window, until V8 had compiled its code (settled) or SHAPES' warm.most. */
  warmSeconds: number[];
  /**
   * Over the same kernel and workload on one cpu: the median of each round's ratio to the 1-cpu run
   * made right before it (1 on one cpu).
   */
  ratio: number;
  /** The least and greatest of those rounds' ratios. */
  ratioSpread: [number, number];
  syscallsPerSecond: number;
  /**
   * Process cpu time per fork (every thread, the orchestrator's too) over the measured window
   * (start-up, warm-up and drain left out): what a fork costs, load or not. This and the fields
   * below are the median round's (by forks per second).
   */
  cpuUsPerFork: number;
  /** The lock class with the most contentions, and its contended/acquisitions. */
  topLock: string;
  schedstat: SchedStat | null;
  /** Cores used over the window by the run's workers (its `cpus` busiest threads) and by the rest of the process; null where /proc is not. */
  threads: ThreadCores | null;
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
  /** The model's machine: its cpus do not slow each other down. */
  virtualForksPerSecond: number;
  /** On 2 cpus, the model with each cpu taken off its core as this host does (BenchReport.offCore); virtualForksPerSecond when not measured, and on 1 cpu. */
  onHostForksPerSecond: number;
  /** The off-core run's length in OffCore periods (0: no off-core run). */
  offCorePeriods: number;
  /**
   * On 2 cpus, the real runs' holds on 2 cpus over their holds on 1 (holdInflation): what a
   * critical section costs more when its data was last written by the other cpu, or its holder
   * was off its core -- the model charges the second, not the first. Null on 1 cpu.
   */
  realHoldInflation: number | null;
  /** (onHost - real) / real, in percent: the model's error on this host. */
  errorPercent: number;
  /** (virtual - real) / real, in percent: with the host's own loss counted as the model's. */
  idealErrorPercent: number;
}

/**
 * What this host gives a second worker when nothing is shared: two independent one-cpu machines
 * at once in this process, against one alone (the same kernel and workload). Each worker also
 * shares the host's two cores with the process's other threads (the orchestrators, V8's compiler
 * and GC) and the cache and memory with the other: efficiency = pair's forks/s / (2 x one's).
 */
export interface HostControl {
  kernel: Kernel;
  workload: string;
  oneForksPerSecond: number;
  pairForksPerSecond: number[];
  efficiency: number;
  /** Why the efficiency is not used (the validation then takes the model as it is), or null. */
  refused: string | null;
  /** Cores used over the pair's window by its two workers and by the rest of the process. */
  threads: ThreadCores | null;
  /** The host's own ceiling: the same private JS in one thread and two (src/bench/host.ts). */
  privateWork: PrivateWork;
}

/** An efficiency outside these is the host's noise, not its cores: a pair cannot do more than twice one. */
const PLAUSIBLE_EFFICIENCY = { least: 0.25, most: 1.1 };

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
  /** baton: null when a time budget cut it. */
  primitives: { rows: PrimitiveRow[]; tokenGoal: number; baton: BatonCost | null };
  scaling: ScalingRow[];
  /** null when the scaling section did not run it. */
  hostControl: HostControl | null;
  calibration: Calibration[];
  /** Why the calibration was refused (the virtual runs then left out), or null. */
  calibrationRefused: string | null;
  /**
   * The host's off-core time the 2-cpu validation charges (src/bench/virtual.ts offCoreOf):
   * share from the host control, slice from the long waits of `from` (a real 2-cpu run). Null
   * when the host control was refused or did not run, or that run had no long wait.
   */
  offCore: (OffCore & { from: string }) | null;
  validation: ValidationRow[];
  virtual: VirtualRow[];
  lockTables: LockTable[];
  /** The field-level detectors' cost: one run with them off and on (src/bench/detect.ts). */
  detectors: DetectorCostRow[];
  /** What lockstat, witness and the event ring cost (bench/overhead.ts), per kernel. */
  instruments: InstrumentCost[];
  /** Fork rate with many processes held asleep against 100 (bench/hold.ts), per kernel. */
  processTable: ProcessTableRow[];
  /** With --time-budget: what the bench covered in it (a section it cut leaves its fields empty). */
  budget?: BudgetReport;
  /** Sections that failed (a run ended in error or a violation): their fields are empty; the bench exits 4. */
  failed: SectionFailure[];
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

/**
 * The bench's shape without a budget: --quick's and the full one's. A time budget scales the
 * durations from there (src/bench/budget.ts).
 */
const SHAPES = {
  quick: {
    primitiveRounds: 2,
    batonRounds: 1,
    /** Seconds of a real run's measured window, once it has warmed up: 28,000-50,000 forks on a quiet 2-core host. */
    realSeconds: 1,
    /** Rounds of the real runs (realRuns): a 2-cpu run alone varies by 2x on this host. */
    realRounds: 3,
    /** A real run's warm-up, in seconds: until settled (realRun), at least `least`, at most `most`. */
    warm: { least: 0.5, most: 4 },
    /** Rounds of the host's private-work control (one thread, then two). */
    privateRounds: 3,
    /** The virtual sweep's cpu counts. */
    sweep: [1, 2, 4, 8],
    /** A virtual run's length in one-cpu fork times (virtualSeconds). */
    forkTimes: 30,
    /** An off-core validation run's length: OFF_CORE_PERIODS, up to this many one-cpu fork times. */
    offCoreForkTimes: 1000,
    detectors: DETECTOR_RUNS.quick,
    /** Instrument overhead: runs of the mixed scenario on 2 cpus, every configuration once a round. */
    overhead: { seconds: 1.5, rounds: 1 },
    /** Processes held against 100, and each fork-hold run's system calls past its setup: enough for a window of several progress reports (every 0.25 s) on a quiet machine, where 1500 calls ended before a second one. */
    hold: { held: 1000, calls: 6000 },
  },
  full: {
    primitiveRounds: 7,
    batonRounds: 3,
    realSeconds: 4,
    realRounds: 3,
    warm: { least: 0.5, most: 6 },
    privateRounds: 5,
    sweep: [1, 2, 4, 8, 16, 32, 64],
    forkTimes: 60,
    offCoreForkTimes: 2000,
    detectors: DETECTOR_RUNS.full,
    overhead: { seconds: 4, rounds: 3 },
    hold: { held: 5000, calls: 20000 },
  },
};
type Shape = typeof SHAPES.quick;

/**
 * The shortest a budget makes them: a free run's window is its progress reports (every 0.25 s)
 * from the first to the last, and the fork-hold window needs --quick's calls; a virtual run counts
 * the second half of its forks, and a pct run of the detectors' cost a few hundred calls.
 */
const LEAST = { realSeconds: 1, forkTimes: 10, pctOps: 150, holdCalls: SHAPES.quick.hold.calls };

/**
 * What the pieces cost on a quiet 2-core machine, in seconds (estimates: --quick took 62 s there in
 * all). The budget's plan starts from them and stretches them as the host turns out slower.
 */
const QUIET = {
  /** Node and the modules, before the bench's clock starts; and the JSON written after it. */
  startup: 0.5,
  report: 0.3,
  primitiveWarmup: 0.8,
  primitiveRound: 1.1,
  batonRound: 1.5,
  /** A free run's start-up and drain, beyond its seconds. */
  runStart: 0.35,
  /** A real run's warm-up on workers that ran its kernel before; and what the pools' first runs of each kernel add, compiling it (quiet, fresh workers: a 2-cpu run settles in 1.8-3 s, a 1-cpu run in 0.8 s). */
  settledWarm: 0.6,
  compile: 5,
  /** A round of the private-work control: one thread, then two, 150 ms of work each. */
  privateRound: 0.4,
  /** The virtual model's calibration (line transfer, wake-up, two counting runs). */
  calibration: 2,
  /** A virtual run: its start-up, per cpu, and per cpu and one-cpu fork time (the work grows with both). */
  virtualRun: 0.2,
  virtualCpu: 0.02,
  virtualCpuFork: 0.003,
  /** A pct system call of the detectors' runs (4 cpus, detectors on or off). */
  pctCall: 0.0017,
  /** A fork-hold run: start-up and drain, per held process (made and reaped), per call of its window. */
  holdRun: 0.6,
  holdHeld: 0.001,
  holdCall: 0.0002,
};

/** Rounds at scale s (one at least), and the remaining scale for each round's length. */
const roundsAt = (rounds: number, s: number) => Math.max(1, Math.round(rounds * s));
const lengthAt = (rounds: number, s: number) => (rounds * s) / roundsAt(rounds, s);
const round1 = (x: number) => Math.round(x * 10) / 10;
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

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

interface RealRun {
  report: StressReport;
  /** Seconds before the window: the warm-up it took. */
  warmSeconds: number;
  forksPerSecond: number;
  cpuUsPerFork: number;
  threads: (busiest: number) => ThreadCores | null;
}

/** A real run's warm-up: until settled, at least `least` seconds (init starting its shells), at most `most`. */
export interface Warm {
  least: number;
  most: number;
}

/** Cores the process's other threads may use in a settled run: V8's compiler took ~1 core while it compiled a 2-cpu run, 0-0.1 once done (quiet, DragonFly affine). */
const SETTLED_REST_CORES = 0.2;
/** A settled run's process cpu time per system call fell by less than this share over its last progress interval. */
const SETTLED_FALL = 0.1;

interface Mark {
  seconds: number;
  ops: number;
  cpuUs: number;
  ticks: Map<string, number> | null;
}

const cpuPerOp = (a: Mark, b: Mark) => (b.cpuUs - a.cpuUs) / Math.max(1, b.ops - a.ops);

/**
 * Has the run warmed up at `m`, its progress report after `prev` and `before`: its workers' code
 * is compiled once the rest of the process (V8's compiler threads, beside the orchestrator) is
 * nearly idle and the process's cpu time per system call has stopped falling. A worker isolate
 * compiles the kernel as it runs, on the platform's threads, which on 2 cpus take the cores the
 * workers need: a fresh 2-cpu DragonFly affine run took 1.8-3 s to settle on a quiet host (its
 * rate 4,000 -> 50,000 forks/s meanwhile), a 1-cpu run 0.8 s; a fixed warm-up shorter than that
 * measured the compiler. Cpu time, not the rate: on a loaded host the compiler threads get
 * little of a core and the rate is the host's, but unoptimized code still costs more a call.
 */
function settled(before: Mark | undefined, prev: Mark | undefined, m: Mark, cpus: number, warm: Warm): boolean {
  if (m.seconds >= warm.most) return true;
  if (m.seconds < warm.least || !prev || !before) return false;
  const rest = prev.ticks && m.ticks ? threadCores(prev.ticks, m.ticks, m.seconds - prev.seconds, cpus).rest : 0;
  return rest <= SETTLED_REST_CORES && cpuPerOp(prev, m) >= (1 - SETTLED_FALL) * cpuPerOp(before, prev);
}

/**
 * A real run: warmed up until settled (above), then measured over a window of `seconds`, from that
 * progress report to the first one `seconds` later (the run is then stopped): its forks per second
 * and process cpu time per fork over the window (start-up, warm-up and drain left out).
 */
async function realRun(kernel: Kernel, workload: string, cpus: number, warm: Warm, seconds: number, pool: CpuPool): Promise<RealRun> {
  const marks: Mark[] = [];
  let from: Mark | undefined;
  let to: Mark | undefined;
  const stop = new AbortController();
  const onProgress = (p: { seconds: number; ops: number }) => {
    if (to) return;
    const m = { seconds: p.seconds, ops: p.ops, cpuUs: processCpuUs(), ticks: threadTicks() };
    if (!from && settled(marks.at(-2), marks.at(-1), m, cpus, warm)) from = m;
    else if (from && m.seconds - from.seconds >= seconds) {
      to = m;
      stop.abort();
    }
    marks.push(m);
  };
  // Its length is a bound: the window's end stops it.
  const { report } = await stress({ kernel, scenario: workload, cpus, seconds: warm.most + seconds + 1, mode: "free", seed: 1, chaos: 0, bugs: [], keepGoing: false, lockSites: true, onProgress, detectors: [], pool, signal: stop.signal });
  if (report.verdict !== "clean" && !(report.verdict === "interrupted" && to)) throw new Error(`bench: ${kernel} ${workload} on ${cpus} cpus ${notClean(report)}`);
  to ??= marks.at(-1);
  if (!from || !to || to === from) throw new Error(`bench: ${kernel} ${workload} on ${cpus} cpus: fewer than two progress reports after the warm-up`);
  const [a, b] = [from, to];
  const windowForks = Math.max(1, (b.ops - a.ops) * (forks(report) / Math.max(1, report.ops.total)));
  const threads = (busiest: number) => (a.ticks && b.ticks ? threadCores(a.ticks, b.ticks, b.seconds - a.seconds, busiest) : null);
  return { report, warmSeconds: round2(a.seconds), forksPerSecond: windowForks / (b.seconds - a.seconds), cpuUsPerFork: Math.round((b.cpuUs - a.cpuUs) / windowForks), threads };
}

/** What the sections measure, filled in as they run (a section the budget cut leaves its part empty). */
type Results = Pick<BenchReport, "scaling" | "hostControl" | "calibration" | "calibrationRefused" | "offCore" | "validation" | "virtual" | "lockTables" | "detectors" | "instruments" | "processTable"> & {
  rows: PrimitiveRow[];
  baton: BatonCost | null;
  /** Forks per second of the real runs, by kernel/workload/cpus; the one-cpu affine runs' cpu time per fork (the calibration's). */
  real: Map<string, number>;
  cpuUsPerFork: Map<Kernel, number>;
};

/** The virtual runs of a sweep over `counts`: per kernel, the scenario on 1 and 2 cpus and the affine workload on every count. */
const virtualRuns = (counts: readonly number[]) =>
  KERNELS.flatMap((kernel) => WORKLOADS.flatMap((workload) => (workload === AFFINE ? counts : [1, 2]).map((cpus) => ({ kernel, workload, cpus }))));
const virtualCost = (cpus: number, forkTimes: number) => QUIET.virtualRun + QUIET.virtualCpu * cpus + QUIET.virtualCpuFork * cpus * Math.max(forkTimes, 4 * cpus);
/** The off-core validation runs: both kernels' both workloads on 2 cpus. */
const OFF_CORE_RUNS = KERNELS.length * WORKLOADS.length;
/** Periods of OffCore an off-core run covers (each cpu's share off its core is exact over whole periods). */
const OFF_CORE_PERIODS = 4;
const REAL_RUNS = WORKLOADS.length * 2 * KERNELS.length;
/** The host control: two machines at once, as long as one run. */
const CONTROL = { kernel: "dragonfly" as Kernel, workload: AFFINE, runs: 1 };

/** The bench's sections, in the order they run: the core (primitives, real runs) first, the instruments' time-bounded runs last. */
function sections(shape: Shape, sweep: number[], r: Results, log: (line: string) => void): BudgetSection[] {
  return [
    {
      name: "primitives",
      minScale: 1 / shape.primitiveRounds,
      cost: (s) => QUIET.primitiveWarmup + roundsAt(shape.primitiveRounds, s) * QUIET.primitiveRound,
      async run(s) {
        const rounds = roundsAt(shape.primitiveRounds, s);
        log("primitives against the raw CAS floor...");
        r.rows = await measurePrimitives(rounds);
        return plural(rounds, "round");
      },
    },
    {
      name: "scaling",
      minScale: LEAST.realSeconds / shape.realSeconds / shape.realRounds,
      cost: (s) => {
        const run = QUIET.runStart + QUIET.settledWarm + shape.realSeconds * lengthAt(shape.realRounds, s);
        return QUIET.compile + (REAL_RUNS * roundsAt(shape.realRounds, s) + CONTROL.runs) * run + shape.privateRounds * QUIET.privateRound;
      },
      async run(s) {
        const rounds = roundsAt(shape.realRounds, s);
        const seconds = round1(shape.realSeconds * lengthAt(shape.realRounds, s));
        const pools = { one: [new CpuPool(1), new CpuPool(1)] as const, two: new CpuPool(2) };
        try {
          await realRuns(shape.warm, seconds, rounds, pools, r, log);
          await hostControl(shape.warm, seconds, shape.privateRounds, pools.one, r, log);
        } finally {
          await Promise.all([...pools.one, pools.two].map((p) => p.discard()));
        }
        return `${plural(rounds, "round")} of ${REAL_RUNS} runs and the host control of ${seconds} s, each after its warm-up (${shape.warm.least} to ${shape.warm.most} s)`;
      },
    },
    {
      name: "virtual",
      minScale: LEAST.forkTimes / shape.forkTimes,
      cost: (s) => QUIET.calibration + virtualRuns(sweep).reduce((t, v) => t + virtualCost(v.cpus, shape.forkTimes * s), 0) + OFF_CORE_RUNS * virtualCost(2, shape.offCoreForkTimes * s),
      async run(s, signal) {
        const forkTimes = Math.round(shape.forkTimes * s);
        await virtualSweep(sweep, { forkTimes, offCoreForkTimes: Math.round(shape.offCoreForkTimes * s) }, r, log, signal);
        return `calibration, then runs of ${forkTimes} one-cpu fork times on ${sweep.join(", ")} cpus`;
      },
    },
    {
      name: "baton",
      minScale: 1 / shape.batonRounds,
      cost: (s) => roundsAt(shape.batonRounds, s) * QUIET.batonRound,
      async run(s, signal) {
        const rounds = roundsAt(shape.batonRounds, s);
        log("baton hand-off against its floor...");
        r.baton = await measureBaton(rounds, signal);
        return plural(rounds, "round");
      },
    },
    {
      name: "detectors",
      minScale: Math.max(LEAST.pctOps / shape.detectors.ops, LEAST.realSeconds / shape.detectors.seconds) / shape.detectors.rounds,
      cost: (s) => {
        const { ops, seconds, rounds } = detectorRuns(shape.detectors, s);
        return rounds * (4 * (QUIET.runStart + QUIET.pctCall * ops) + 2 * (QUIET.runStart + seconds));
      },
      async run(s, signal) {
        const runs = detectorRuns(shape.detectors, s);
        log("the field-level detectors' cost (pct and free, off and on)...");
        r.detectors = await detectorCost(runs, signal);
        return `${plural(runs.rounds, "round")}: pct runs of ${runs.ops} calls, free runs of ${runs.seconds} s`;
      },
    },
    {
      name: "processTable",
      minScale: LEAST.holdCalls / shape.hold.calls,
      cost: (s) => KERNELS.length * [100, shape.hold.held].reduce((t, held) => t + QUIET.holdRun + QUIET.holdHeld * held + QUIET.holdCall * shape.hold.calls * s, 0),
      async run(s, signal) {
        const calls = Math.round(shape.hold.calls * s);
        await holdRuns(shape.hold.held, calls, r, log, signal);
        return `100 and ${shape.hold.held} held, ${calls} calls past the setup`;
      },
    },
    {
      name: "instruments",
      minScale: LEAST.realSeconds / shape.overhead.seconds / shape.overhead.rounds,
      cost: (s) => KERNELS.length * OVERHEAD_CONFIGS * roundsAt(shape.overhead.rounds, s) * (QUIET.runStart + shape.overhead.seconds * lengthAt(shape.overhead.rounds, s)),
      async run(s, signal) {
        const rounds = roundsAt(shape.overhead.rounds, s);
        const seconds = round1(shape.overhead.seconds * lengthAt(shape.overhead.rounds, s));
        for (const kernel of KERNELS) r.instruments.push({ kernel, scenario: "mixed", cpus: 2, seconds, rounds, rows: await measureOverhead(kernel, "mixed", 2, seconds, rounds, log, signal) });
        return `${plural(rounds, "round")} of ${seconds} s runs`;
      },
    },
  ];
}

/** The detectors' runs at scale s: rounds first, then their lengths. */
function detectorRuns(full: DetectorRuns, s: number): DetectorRuns {
  const length = lengthAt(full.rounds, s);
  return { rounds: roundsAt(full.rounds, s), ops: Math.round(full.ops * length), seconds: round1(full.seconds * length) };
}

/**
 * What a budget cuts first, in order: the virtual runs on 16, 32 and 64 cpus (slow: 64 cpus is
 * most of the full sweep's time), then whole sections, the virtual sweep's wider runs and the
 * sweep itself last. The primitives and the real runs are never cut: they are the least a bench
 * says.
 */
function cuts(sweep: number[]): BudgetCut[] {
  const narrowAbove = (widest: number) => () => (sweep.at(-1)! > widest ? `the virtual runs on ${sweep.pop()} cpus` : null);
  return [
    { section: "virtual", part: narrowAbove(8) },
    { section: "processTable" },
    { section: "instruments" },
    { section: "detectors" },
    { section: "baton" },
    { section: "virtual", part: narrowAbove(2) },
    { section: "virtual" },
  ];
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);
  const quick = o.quick;
  const shape = quick ? SHAPES.quick : SHAPES.full;
  const sweep = [...shape.sweep]; // a budget may narrow it
  const r: Results = { rows: [], baton: null, scaling: [], hostControl: null, calibration: [], calibrationRefused: null, offCore: null, validation: [], virtual: [], lockTables: [], detectors: [], instruments: [], processTable: [], real: new Map(), cpuUsPerFork: new Map() };
  const reserved = QUIET.startup + QUIET.report + (o.afterSeconds ?? 0);
  const { budget, failed } = await runSections(sections(shape, sweep, r, log), cuts(sweep), o.timeBudget === undefined ? undefined : { seconds: o.timeBudget, reserved });
  return {
    schema: 1,
    tool: "forkstorm",
    version: VERSION,
    command: "bench",
    quick,
    startedAt,
    host: { node: process.version, cores: availableParallelism(), cpuModel: hostCpus()[0]?.model ?? "?", loadAverage },
    reproduce: `forkstorm bench${quick ? " --quick" : ""}${o.timeBudget === undefined ? "" : ` --time-budget ${o.timeBudget}`} --report bench.json --html bench.html`,
    primitives: { rows: r.rows, tokenGoal: TOKEN_GOAL, baton: r.baton },
    scaling: r.scaling,
    hostControl: r.hostControl,
    calibration: r.calibration,
    calibrationRefused: r.calibrationRefused,
    offCore: r.offCore,
    validation: r.validation,
    virtual: r.virtual,
    lockTables: r.lockTables,
    detectors: r.detectors,
    instruments: r.instruments,
    processTable: r.processTable,
    ...(budget ? { budget } : {}),
    failed,
    wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** The real runs' worker threads, kept from run to run: two one-cpu pools (the host control's pair) and a two-cpu one. */
interface RealPools {
  one: readonly [CpuPool, CpuPool];
  two: CpuPool;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The real-parallel runs (both kernels x both workloads x 1 and 2 cpus) in `rounds` rounds, each
 * kernel and workload's 1-cpu run right before its 2-cpu run: a 2-cpu run varies from one run to
 * the next on this host (33k-74k calls in 4 s for one build on a quiet machine, the coordinator's
 * session 6), so a row of one run made two benches' ratios incomparable. A row is its median
 * round; the 2-cpu ratio is the median of each round's 2-cpu run over the 1-cpu run beside it,
 * kept with the least and greatest of them.
 *
 * The runs keep their workers (`pools`): a fresh worker's isolate compiles the kernel as it runs,
 * on V8's compiler threads, and on 2 cpus those took the cores the workers needed (the
 * coordinator's quiet session-6 bench: the DragonFly affine 2-cpu run's workers 0.93 cores, the
 * rest of the process 1.03; 0.04 on 1 cpu). A kept worker has that code compiled, so each run's
 * warm-up (realRun) is long on a pool's first run of a kernel and short after it. The 1-cpu runs
 * alternate between the two one-cpu pools so that each has run both kernels in the first round
 * (the host control then runs both at once, warm).
 */
async function realRuns(warm: Warm, seconds: number, rounds: number, pools: RealPools, r: Results, log: (line: string) => void): Promise<void> {
  const runs = new Map<string, RealRun[]>();
  const ratios = new Map<string, number[]>();
  const add = <T>(m: Map<string, T[]>, key: string, x: T) => m.set(key, [...(m.get(key) ?? []), x]);
  for (let round = 0; round < rounds; round++)
    for (const [w, workload] of WORKLOADS.entries())
      for (const [k, kernel] of KERNELS.entries()) {
        const [one, two] = [1, 2].map((cpus) => `${kernel}/${workload}/${cpus}`);
        const onePool = pools.one[(round + w + k) % 2];
        for (const cpus of [1, 2]) {
          log(`real, round ${round + 1} of ${rounds}: ${kernel} ${workload} on ${cpus} cpu${cpus > 1 ? "s" : ""} for ${seconds} s after its warm-up...`);
          add(runs, cpus === 1 ? one : two, await realRun(kernel, workload, cpus, warm, seconds, cpus === 1 ? onePool : pools.two));
        }
        add(ratios, two, runs.get(two)!.at(-1)!.forksPerSecond / runs.get(one)!.at(-1)!.forksPerSecond);
      }
  for (const workload of WORKLOADS)
    for (const cpus of [1, 2])
      for (const kernel of KERNELS) {
        const key = `${kernel}/${workload}/${cpus}`;
        const all = runs.get(key)!;
        const fps = all.map((x) => x.forksPerSecond);
        const { report, cpuUsPerFork: cpuUs, threads } = all.find((x) => x.forksPerSecond === median(fps))!;
        const rs = ratios.get(key) ?? [1];
        r.real.set(key, median(fps));
        if (workload === AFFINE && cpus === 1) r.cpuUsPerFork.set(kernel, cpuUs);
        r.scaling.push({
          kernel, workload, cpus, forksPerSecond: Math.round(median(fps)), rounds: fps.map(Math.round), warmSeconds: all.map((x) => x.warmSeconds), ratio: round2(median(rs)), ratioSpread: [round2(Math.min(...rs)), round2(Math.max(...rs))],
          syscallsPerSecond: Math.round(report.ops.total / report.elapsedSeconds), cpuUsPerFork: cpuUs, topLock: topLock(report.lockstat).name, schedstat: report.schedstat ?? null, threads: threads(cpus), elapsedSeconds: report.elapsedSeconds,
        });
        r.lockTables.push({ kernel, workload, cpus, mode: "free", locks: report.lockstat.slice(0, TABLE_LOCKS) });
      }
}

/** Two independent one-cpu machines at once, against the one-cpu run of the same kernel and workload; and the host's private-work ceiling. */
async function hostControl(warm: Warm, seconds: number, privateRounds: number, pools: RealPools["one"], r: Results, log: (line: string) => void): Promise<void> {
  const { kernel, workload } = CONTROL;
  log(`host control: two ${kernel} ${workload} machines of 1 cpu at once for ${seconds} s after their warm-up...`);
  const pair = await Promise.all(pools.map((pool) => realRun(kernel, workload, 1, warm, seconds, pool)));
  const one = r.real.get(`${kernel}/${workload}/1`)!;
  const both = pair.map((p) => Math.round(p.forksPerSecond));
  const efficiency = Math.round(((both[0] + both[1]) / (2 * one)) * 1000) / 1000;
  const plausible = efficiency >= PLAUSIBLE_EFFICIENCY.least && efficiency <= PLAUSIBLE_EFFICIENCY.most;
  const refused = plausible ? null : `host control refused: efficiency ${efficiency} is outside ${PLAUSIBLE_EFFICIENCY.least}..${PLAUSIBLE_EFFICIENCY.most} (load average ${loadavg()[0].toFixed(1)}: the runs were disturbed); the 2-cpu validation takes the model as it is`;
  if (refused) log(refused);
  log(`host control: the same private JS in one thread, then two at once, ${plural(privateRounds, "round")}...`);
  const host = await privateWork(privateRounds);
  r.hostControl = { kernel, workload, oneForksPerSecond: Math.round(one), pairForksPerSecond: both, efficiency, refused, threads: pair[0].threads(2), privateWork: host };
}

/** The virtual model calibrated from the real runs, validated against them at 1 and 2 cpus and swept over `counts`. */
async function virtualSweep(counts: readonly number[], length: { forkTimes: number; offCoreForkTimes: number }, r: Results, log: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  const { forkTimes } = length;
  log("calibrating the virtual-time cost model...");
  const nsOf = (name: string) => r.rows.find((p) => p.primitive === name)?.nsPerOp ?? 0;
  try {
    const measured = await measureCrossCpu(signal);
    for (const kernel of KERNELS)
      r.calibration.push(await calibrate(kernel, AFFINE, 1e6 / r.cpuUsPerFork.get(kernel)!, { tokenNs: nsOf("token get+release"), sleepWakeNs: nsOf("tsleep_interlock+wakeup"), ...measured }));
  } catch (e) {
    if (!(e instanceof CalibrationRefused)) throw e;
    r.calibrationRefused = e.message;
    log(e.message);
    return;
  }
  r.offCore = measuredOffCore(r);
  let one = 0;
  for (const { kernel, workload, cpus } of virtualRuns(counts)) {
    const { cost, fittedForksPerSecond } = r.calibration.find((c) => c.kernel === kernel)!;
    log(`virtual: ${kernel} ${workload} on ${cpus} cpu${cpus > 1 ? "s" : ""}...`);
    const w0 = performance.now();
    const report = await virtualRun({ kernel, scenario: workload, cpus, seconds: virtualSeconds(cpus, fittedForksPerSecond, forkTimes) }, cost, true, signal);
    const fps = virtualForksPerSecond(report);
    if (cpus === 1) one = fps;
    const top = topLock(report.lockstat);
    r.virtual.push({
      kernel, workload, cpus, seconds: report.virtual!.seconds, forksPerSecond: Math.round(fps), ratio: Math.round((fps / one) * 100) / 100,
      topLock: top.name, topLockContention: Math.round(top.share * 1000) / 1000, wallSeconds: Math.round((performance.now() - w0) / 100) / 10,
    });
    if (cpus === 2 || cpus === counts.at(-1)) r.lockTables.push({ kernel, workload, cpus, mode: "virtual", locks: report.lockstat.slice(0, TABLE_LOCKS) });
    const realFps = r.real.get(`${kernel}/${workload}/${cpus}`);
    if (realFps === undefined) continue;
    const onHost = cpus === 2 && r.offCore ? await offCoreRun(kernel, workload, cost, r.offCore, fittedForksPerSecond, length.offCoreForkTimes, log, signal) : { fps, periods: 0 };
    const realLocks = (n: number) => r.lockTables.find((t) => t.mode === "free" && t.kernel === kernel && t.workload === workload && t.cpus === n)?.locks;
    const [one1, two1] = [realLocks(1), realLocks(2)];
    r.validation.push({ ...validationRow(kernel, workload, cpus, realFps, fps, onHost), realHoldInflation: cpus === 2 && one1 && two1 ? holdInflation(one1, two1) : null });
  }
}

/** The host's off-core time, from the host control and its kernel's 2-cpu affine run; null if either is missing or refused. */
function measuredOffCore(r: Results): BenchReport["offCore"] {
  const h = r.hostControl;
  const run = r.lockTables.find((t) => t.mode === "free" && t.kernel === CONTROL.kernel && t.workload === CONTROL.workload && t.cpus === 2);
  const off = h && !h.refused && run ? offCoreOf(h.efficiency, run.locks) : null;
  return off && { ...off, from: `${run!.kernel} ${run!.workload} on 2 cpus` };
}

/** The 2-cpu model with each cpu off its core as the host takes it: OFF_CORE_PERIODS periods, up to `maxForkTimes` one-cpu fork times. */
async function offCoreRun(kernel: Kernel, workload: string, cost: CostModel, offCore: OffCore, oneCpuForksPerSecond: number, maxForkTimes: number, log: (line: string) => void, signal: AbortSignal | undefined): Promise<{ fps: number; periods: number }> {
  log(`virtual: ${kernel} ${workload} on 2 cpus, off their cores ${Math.round(offCore.share * 100)}% of the time in ${Math.round(offCore.sliceNs / 1000)} us slices...`);
  const period = offCore.sliceNs / offCore.share / 1e9;
  const seconds = Math.max(virtualSeconds(2, oneCpuForksPerSecond, 0), Math.min(OFF_CORE_PERIODS * period, maxForkTimes / oneCpuForksPerSecond));
  const report = await virtualRun({ kernel, scenario: workload, cpus: 2, seconds }, { ...cost, offCore: { share: offCore.share, sliceNs: offCore.sliceNs } }, false, signal);
  return { fps: virtualForksPerSecond(report), periods: Math.round((report.virtual!.seconds / period) * 10) / 10 };
}

/**
 * The 2-cpu ceilings side by side, as ratios to one cpu: the host's (two threads of private JS),
 * the runtime's (two machines sharing nothing), the DragonFly affine machine's own -- and where
 * each run's cores went (the workers against the rest of the process).
 */
export function ceilingLines(scaling: readonly ScalingRow[], h: HostControl): string[] {
  const cores = (t: ThreadCores | null) => (t ? `workers ${t.workers} + rest ${t.rest} cores` : "threads not measured");
  const run = (cpus: number) => scaling.find((s) => s.kernel === h.kernel && s.workload === h.workload && s.cpus === cpus);
  const two = run(2);
  const p = h.privateWork;
  return [
    `host control: two ${h.kernel} ${h.workload} machines of 1 cpu at once: ${h.pairForksPerSecond.join(" + ")} forks/s against ${h.oneForksPerSecond} alone: efficiency ${h.efficiency} (${cores(h.threads)})`,
    ...(h.refused ? [h.refused] : []),
    `the host alone: private JS in one thread ${p.oneMs.join(", ")} ms, two at once ${p.pairMs.map((x) => x.join(" + ")).join(", ")} ms: efficiency ${p.efficiency}`,
    `2-cpu ceilings, x one cpu: the host ${(2 * p.efficiency).toFixed(2)}, two machines sharing nothing ${(2 * h.efficiency).toFixed(2)}, the ${h.kernel} ${h.workload} machine ${two ? `${two.ratio} (${cores(two.threads)}; on 1 cpu ${cores(run(1)?.threads ?? null)})` : "not run"}`,
  ];
}

/** What the validation's 2-cpu model charged for the host, in one line (the HTML says the same). */
export function offCoreNote(r: Pick<BenchReport, "offCore" | "hostControl">): string {
  const o = r.offCore;
  if (!o) return `off-core time not measured (${!r.hostControl ? "no host control ran" : r.hostControl.refused ? "the host control was refused" : "no long wait in the control's 2-cpu run"}): on 2 cpus "on host" is the model as it is`;
  return `off-core time: each cpu off its core ${(o.share * 100).toFixed(1)}% of the time (1 - the host control's efficiency), in slices of ${Math.round(o.sliceNs / 1000)} us (twice the mean wait past ${(LONG_WAIT_NS / 1000).toFixed(1)} us in ${o.from}), the cpus' slices staggered`;
}

/**
 * The mean hold on 2 cpus over the mean hold on 1, each class weighted by its acquisitions on 2
 * cpus (the classes timed in both tables); null if none was.
 */
export function holdInflation(one: readonly LockStat[], two: readonly LockStat[]): number | null {
  let held2 = 0;
  let held1 = 0;
  for (const l of two) {
    const o = one.find((x) => x.lock === l.lock);
    if (!o || !o.holdSamples || !l.holdSamples) continue;
    held2 += l.holdNs;
    held1 += (o.holdNs / o.acquisitions) * l.acquisitions;
  }
  return held1 > 0 ? Math.round((held2 / held1) * 100) / 100 : null;
}

function validationRow(kernel: Kernel, workload: string, cpus: number, real: number, virtual: number, onHost: { fps: number; periods: number }): Omit<ValidationRow, "realHoldInflation"> {
  const errorOf = (x: number) => Math.round(((x - real) / real) * 1000) / 10;
  return { kernel, workload, cpus, realForksPerSecond: Math.round(real), virtualForksPerSecond: Math.round(virtual), onHostForksPerSecond: Math.round(onHost.fps), offCorePeriods: onHost.periods, errorPercent: errorOf(onHost.fps), idealErrorPercent: errorOf(virtual) };
}

/** The fork rate with `held` processes asleep against 100, per kernel. */
async function holdRuns(held: number, calls: number, r: Results, log: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  for (const kernel of KERNELS) {
    log(`fork-hold: ${kernel}, 100 and ${held} processes held...`);
    const base = await holdRun(kernel, 100, 2, calls, signal);
    for (const h of [base, await holdRun(kernel, held, 2, calls, signal)])
      r.processTable.push({ ...h, rateRatio: Math.round((h.forksPerSecond / base.forksPerSecond) * 100) / 100, cpuRatio: Math.round((h.cpuUsPerFork / base.cpuUsPerFork) * 100) / 100 });
  }
}

/** The least and greatest of a 2-cpu row's per-round ratios ("-" on one cpu). */
export const ratioSpread = (s: ScalingRow): string => (s.cpus === 1 ? "-" : `${s.ratioSpread[0]}..${s.ratioSpread[1]}`);

/** The terminal's view of a bench report. */
export function benchSummary(r: BenchReport): string {
  const lines: string[] = [];
  const table = (rows: Record<string, unknown>[]) => {
    if (!rows.length) return void lines.push("(not run: see the time budget below)");
    const cols = Object.keys(rows[0]);
    const w = cols.map((c) => Math.max(c.length, ...rows.map((x) => String(x[c]).length)));
    lines.push(cols.map((c, i) => c.padEnd(w[i])).join("  "));
    for (const x of rows) lines.push(cols.map((c, i) => String(x[c]).padEnd(w[i])).join("  "));
  };
  lines.push(`forkstorm bench${r.quick ? " --quick" : ""}: node ${r.host.node}, ${r.host.cores} cores, load average ${r.host.loadAverage.join(" ")} at the start (a loaded host makes the real figures noisy; the virtual ones are not timed)`);
  lines.push("", "primitives, uncontended (ns/op; x the raw CAS spin lock):");
  table(r.primitives.rows.map((p) => ({ primitive: p.primitive, "ns/op": p.nsPerOp, "x floor": p.xFloor })));
  const b = r.primitives.baton;
  lines.push(b ? `baton hand-off ${b.batonNs} ns = ${b.ratio}x the ping-pong floor (${b.floorNs} ns); ${b.pairs} floor and hand-off pairs, alternating: ${b.ratioMin}x to ${b.ratioMax}x; goal <= 2x` : "baton hand-off: not run (see the time budget below)");
  lines.push("", "real-parallel scaling (free, no chaos, side by side in this run; medians of the rounds, each 2-cpu run over the 1-cpu run beside it):");
  table(r.scaling.map((s) => ({ kernel: s.kernel, workload: s.workload, cpus: s.cpus, "forks/s": s.forksPerSecond, ratio: s.ratio, "ratio spread": ratioSpread(s), rounds: s.rounds.join(" "), "warm-up s": s.warmSeconds.join(" "), "cpu us/fork": s.cpuUsPerFork, "top lock": s.topLock })));
  const h = r.hostControl;
  if (h) lines.push("", ...ceilingLines(r.scaling, h));
  lines.push("", "virtual time, validated against the real runs (on host: on 2 cpus, the model with its cpus off their cores as this host takes them):");
  if (r.calibrationRefused) lines.push(r.calibrationRefused);
  lines.push(offCoreNote(r));
  table(r.validation.map((v) => ({ kernel: v.kernel, workload: v.workload, cpus: v.cpus, "real forks/s": v.realForksPerSecond, "virtual forks/s": v.virtualForksPerSecond, "on host": v.onHostForksPerSecond, "error %": v.errorPercent, "ideal error %": v.idealErrorPercent, "real holds 2/1 cpu": v.realHoldInflation ?? "-" })));
  lines.push("", "virtual-time sweep (forks per virtual second):");
  table(r.virtual.filter((v) => v.workload === AFFINE).map((v) => ({ kernel: v.kernel, cpus: v.cpus, "forks/s": v.forksPerSecond, ratio: v.ratio, "limiting lock": v.topLock })));
  lines.push("", "field-level detectors' cost (DragonFly mixed, 4 cpus, one seed per round; x off: time per run, free mode per system call):");
  table(r.detectors.map((d) => ({ mode: d.mode, detectors: d.detectors, "s/run": d.seconds, "syscalls/s": d.syscallsPerSecond, "x off": d.xOff })));
  lines.push("", "instruments: process cpu time per system call, medians of the rounds (mixed, 2 cpus); over all off:");
  table(r.instruments.flatMap((c) => c.rows.map((x) => ({ kernel: c.kernel, config: x.config, "cpu us/call": x.cpuUsPerCall, "calls/s": x.callsPerSecond, "over all off": `${Math.round(x.overOff * 100)}%`, "rounds' range": `${Math.round(x.overOffMin * 100)}..${Math.round(x.overOffMax * 100)}%` }))));
  lines.push("", "fork rate against a full process table (fork-hold, 2 cpus; ratios over 100 held):");
  table(r.processTable.map((h) => ({ kernel: h.kernel, held: h.held, "forks/s": h.forksPerSecond, ratio: h.rateRatio, "cpu us/fork": h.cpuUsPerFork, "cpu ratio": h.cpuRatio, "setup s": h.setupSeconds })));
  lines.push("", `${r.wallSeconds} s in all`);
  if (r.budget) lines.push(...budgetLines(r.budget));
  for (const f of r.failed) lines.push(`failed: ${f.section}: ${f.error}`);
  return lines.join("\n") + "\n";
}
