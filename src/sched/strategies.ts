/*
 * Building a cpu's strategy from the run's configuration (one place for every strategy name).
 */
import { availableParallelism } from "node:os";
import { RTCTL } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import { Baton, SPINS_DEFAULT, type CpuWords } from "./baton.js";
import { CHOOSER_WORDS, type Chooser } from "./chooser.js";
import { FreeStrategy } from "./free.js";
import { Inboxes } from "./inbox.js";
import { PctChooser } from "./pct.js";
import { RandomChooser } from "./random.js";
import { ReplayChooser } from "./replay.js";
import { subseed } from "./rng.js";
import type { MachineSpec } from "./spec.js";
import type { Strategy } from "./strategy.js";

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

/** The run's chooser, working on `state` (null in free mode). */
export function makeChooser(spec: MachineSpec, state: Int32Array): Chooser | null {
  const s = spec.strategy;
  switch (s.name) {
    case "free":
      return null;
    case "random":
      return new RandomChooser(state, s.seed);
    case "pct":
      return new PctChooser(state, s.seed, spec.cpus, s.depth, s.stepBound);
    case "replay":
      return new ReplayChooser(state, s.schedule);
  }
}

export function makeStrategy(spec: MachineSpec, img: Image, inbox: Inboxes, cpuid: number, runnableHere: () => number): Strategy {
  const s = spec.strategy;
  const chooserState = new Int32Array(CHOOSER_WORDS); // this cpu's copy: baton.ts carries it
  const chooser = makeChooser(spec, chooserState);
  const spareCores = spec.cpus <= availableParallelism();
  if (chooser === null) return new FreeStrategy(img.i32, rtWord(img, "rt_quiet"), subseed(s.seed, cpuid), s.name === "free" ? s.chaos : 0, inbox.words(cpuid).idle, spareCores);
  const cpus: CpuWords[] = Array.from({ length: spec.cpus }, (_, c) => ({ ...inbox.words(c), doorbell: inbox.doorbell(c) }));
  // Waiting cpus spin for the baton only when every cpu can have a core (overcommitted, a
  // spinner would take the core the holder needs); how long they spin never changes a decision.
  const spins = spareCores ? SPINS_DEFAULT : SPINS_OVERCOMMITTED;
  const rt = { baton: rtWord(img, "rt_baton"), step: rtWord(img, "rt_step"), choices: rtWord(img, "rt_choices"), hash0: rtWord(img, "rt_hash0"), hash1: rtWord(img, "rt_hash1"), chooser: rtWord(img, "rt_chooser"), ticks: rtWord(img, "rt_ticks"), stop: rtWord(img, "rt_stop") };
  return new Baton(img.i32, rt, cpus, cpuid, chooser, chooserState, s.name, runnableHere, undefined, spins);
}
