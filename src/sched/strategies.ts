/*
 * Building a cpu's strategy from the run's configuration (one place for every strategy name).
 */
import { availableParallelism } from "node:os";
import { RTCTL } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import type { Addr } from "../shm/table.js";
import { Baton, SPINS_DEFAULT, type CpuWords } from "./baton.js";
import { CHOOSER_WORDS, type Chooser } from "./chooser.js";
import { FreeStrategy } from "./free.js";
import { Inboxes } from "./inbox.js";
import { PctChooser } from "./pct.js";
import { RandomChooser } from "./random.js";
import { RecordingChooser } from "./decisions.js";
import { ReplayChooser, ScheduleChooser } from "./replay.js";
import { subseed } from "./rng.js";
import type { MachineSpec } from "./spec.js";
import type { Strategy } from "./strategy.js";
import { VirtualChooser } from "./virtual.js";
import { setAcquireObserver } from "../sync/lockstat.js";

/** Spins before a waiting cpu sleeps, when there are more cpus than cores. */
const SPINS_OVERCOMMITTED = 50;

function rtWord(img: Image, field: string): number {
  const rt = img.table(RTCTL);
  return rt.recordBase(0) + rt.layout.offsets[field];
}

/** The chooser's state words in the image (rtctl.rt_chooser), where the baton carries them. */
export function chooserWords(img: Image): Int32Array {
  return new Int32Array(img.sab, rtWord(img, "rt_chooser") * 4, CHOOSER_WORDS);
}

/** Each cpu's gd_ops word. */
function opsWords(img: Image, spec: MachineSpec): Addr[] {
  const inbox = new Inboxes(img, spec.maxThreads);
  return Array.from({ length: spec.cpus }, (_, c) => inbox.opsWord(c));
}

/**
 * The run's chooser, working on `state` (null in free mode), for `cpuid` (-1: the orchestrator),
 * logging its decisions if asked.
 */
export function makeChooser(spec: MachineSpec, state: Int32Array, img: Image, cpuid: number): Chooser | null {
  const chooser = strategyChooser(spec, state, img, cpuid);
  return chooser && spec.decisionLog ? new RecordingChooser(chooser, spec.decisionLog) : chooser;
}

function strategyChooser(spec: MachineSpec, state: Int32Array, img: Image, cpuid: number): Chooser | null {
  const s = spec.strategy;
  switch (s.name) {
    case "virtual":
      return new VirtualChooser(img, spec.cpus, s.cost, s.seconds, rtWord(img, "rt_drain"), opsWords(img, spec), cpuid);
    case "free":
      return null;
    case "random":
      return new RandomChooser(state, s.seed);
    case "pct":
      return new PctChooser(state, s.seed, spec.cpus, s.depth, s.stepBound);
    case "replay":
      return new ReplayChooser(state, s.schedule);
    case "schedule":
      return new ScheduleChooser(state, s.decisions, spec.cpus);
  }
}

export function makeStrategy(spec: MachineSpec, img: Image, inbox: Inboxes, cpuid: number, runnableHere: () => number): Strategy {
  const s = spec.strategy;
  const chooserState = new Int32Array(CHOOSER_WORDS); // this cpu's copy: baton.ts carries it
  setAcquireObserver(null); // a pooled worker's last machine may have been a virtual one
  const chooser = makeChooser(spec, chooserState, img, cpuid);
  const spareCores = spec.cpus <= availableParallelism();
  if (chooser === null) return new FreeStrategy(img.i32, rtWord(img, "rt_quiet"), subseed(s.seed, cpuid), s.name === "free" ? s.chaos : 0, inbox.words(cpuid).idle, spareCores);
  const cpus: CpuWords[] = Array.from({ length: spec.cpus }, (_, c) => ({ ...inbox.words(c), doorbell: inbox.doorbell(c) }));
  // Waiting cpus spin for the baton only when every cpu can have a core (overcommitted, a
  // spinner would take the core the holder needs); how long they spin never changes a decision.
  const spins = spareCores ? SPINS_DEFAULT : SPINS_OVERCOMMITTED;
  const rt = { baton: rtWord(img, "rt_baton"), step: rtWord(img, "rt_step"), choices: rtWord(img, "rt_choices"), hash0: rtWord(img, "rt_hash0"), hash1: rtWord(img, "rt_hash1"), chooser: rtWord(img, "rt_chooser"), ticks: rtWord(img, "rt_ticks"), stop: rtWord(img, "rt_stop") };
  return new Baton(img.i32, rt, cpus, cpuid, chooser, chooserState, s.name, runnableHere, undefined, spins);
}
