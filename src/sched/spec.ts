/*
 * What a machine is made of, as plain data: the orchestrator builds the image from it and hands
 * it to every cpu, which rebuilds the identical layout and loads the same program modules.
 */
import { globaldataDecl, RTCOUNT, RTCTL, THREAD } from "../shm/core.js";
import type { TableSpec } from "../shm/image.js";
import type { Placement } from "./placement.js";
import { defineStruct } from "../shm/struct.js";
import type { DetectorName } from "../detect/index.js";
import type { StrategyConfig } from "./strategy.js";
import { VTIME } from "./virtual.js";
export type { StrategyConfig };

export interface MachineSpec {
  cpus: number;
  /** Capacity of the thread table. */
  maxThreads: number;
  /**
   * Kernel and test tables, after the runtime's own. They include the sleep queues (shm/core.ts
   * SLEEPQ), last, so that the size each kernel gives them moves none of its other addresses.
   */
  tables: TableSpec[];
  /** Modules (paths relative to the package root, compiled JS) that register programs. */
  modules: string[];
  strategy: StrategyConfig;
  /** wall: ticks follow real time (free runs); logical: the orchestrator advances them. */
  clock: "wall" | "logical";
  /** Ticks per second. */
  hz: number;
  stopOnViolation: boolean;
  /** Catalogued bugs injected in this run (src/bugs); empty for a clean kernel. */
  bugs?: string[];
  /** One interlock site's "forgot it" mutant (src/sites): its id in this build's manifest, and the operator. */
  mutant?: { site: number; op: string };
  /** Field-level detectors on in this run (src/detect); none when absent. */
  detectors?: readonly DetectorName[];
  /** Image words whose accesses record their kernel function (a controlled run's second pass, src/run/stress.ts). */
  siteAddrs?: readonly number[];
  /**
   * Set rt_drain once this many system calls completed. Done by the cpus themselves, so in a
   * controlled run the drain starts at the same step every time.
   */
  drainAtOps?: number;
  /** lockstat keeps the acquiring and waiting kernel functions of each lock class (sync/lockstat.ts). */
  lockSites?: boolean;
  /** Instruments switched off, to measure what they cost (forkstorm bench); default none. */
  instrumentsOff?: readonly Instrument[];
  /** Where a new lwp's thread starts (placement.ts); default spread. */
  placement?: Placement;
  /**
   * Controlled modes: where every cpu logs the decisions that differ from the default
   * (decisions.ts newDecisionLog); none when omitted.
   */
  decisionLog?: SharedArrayBuffer;
  /** Controlled modes: where the holder logs every event it mixes into the hash (eventlog.ts); none when omitted. */
  eventLog?: SharedArrayBuffer;
  /** Harness self-test: cpu 0 throws (a worker crash) once it completed this many system calls. */
  plantCrashAfterOps?: number;
}

/**
 * Interlock coverage (src/sites/runtime.ts): per object address (a lock, a counter, a wait
 * channel), hashed into one of COVER_SLOTS records: which cpus are inside a region of it
 * (cv_mask), how often regions overlapped (cv_overlap), who operated on it last and when
 * (cv_last, cv_stamp) and who last woke its sleepers (cv_wake). cv_key is the address, 0 free.
 */
export const COVER_SLOTS = 8192;
export const COVER = defineStruct("cover", { cv_key: 1, cv_mask: 1, cv_overlap: 1, cv_last: 1, cv_stamp: 1, cv_wake: 1 });

export function imageTables(spec: MachineSpec): TableSpec[] {
  return [
    { decl: RTCTL, capacity: 1 },
    { decl: globaldataDecl(spec.maxThreads), capacity: spec.cpus },
    { decl: THREAD, capacity: spec.maxThreads },
    ...(spec.strategy.name === "virtual" ? [{ decl: VTIME, capacity: 1 }] : []),
    ...spec.tables,
    // Last: the kernel's addresses (hashed into every controlled run's events) do not move.
    { decl: COVER, capacity: COVER_SLOTS },
    { decl: RTCOUNT, capacity: 1 },
  ];
}

/**
 * The instruments a run can do without, to measure their cost: lockstat's counts, witness's
 * lock-order graph, the per-cpu event ring (violations' last events, --trace). Never off in a
 * hunt: a run without witness finds no lock-order reversal, one without the ring shows no events.
 */
export const INSTRUMENTS = ["lockstat", "witness", "trace"] as const;
export type Instrument = (typeof INSTRUMENTS)[number];
