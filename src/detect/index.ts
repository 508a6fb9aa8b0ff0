/*
 * The field-level detectors (issue 16): which there are, how big their shadow is, and how a cpu
 * switches them on -- an access observer on every table of its image and the primitives' sync
 * observer. Off, nothing of this runs: the tables keep their plain views and the primitives see
 * a null observer.
 */
import type { Image } from "../shm/image.js";
import { installSyncObserver } from "../sync/observe.js";
import { Detector, type DetectThread } from "./detector.js";
import { DEFAULT_CLOCKS, Shadow, type ShadowSize } from "./shadow.js";

/** race: happens-before data races and non-atomic updates; stale: stale pointers after a block. */
export type DetectorName = "race" | "stale";
export const DETECTORS: readonly DetectorName[] = ["race", "stale"];

/** Detector threads alive at once the shadow makes room for (more: the race detector stands down). */
const DTIDS = 256;
/** Free mode: one block of the image in this many is watched at a time, every access to it checked (sync edges are always followed). */
export const FREE_SAMPLE = 4;

export function shadowSize(imageWords: number, maxThreads: number): ShadowSize {
  return { imageWords, threads: maxThreads, dtids: Math.min(DTIDS, maxThreads), clocks: DEFAULT_CLOCKS };
}

export interface DetectSetup {
  detectors: readonly DetectorName[];
  shadow: SharedArrayBuffer;
  cpu: number;
  maxThreads: number;
  /** Free mode: cpus run at once. */
  concurrent: boolean;
  /** Cpus of the machine: with one, free mode or not, no other cpu touches the shadow. */
  cpus: number;
  /** Image words whose accesses record their kernel function (MachineSpec.siteAddrs). */
  siteAddrs: readonly number[];
}

/**
 * Switch this cpu's detectors on for `img` (the image it just attached), or off when `setup` is
 * null: a pooled worker runs one machine after another.
 */
export function installDetectors(img: Image, setup: DetectSetup | null, current: () => DetectThread | null): Detector | null {
  if (setup === null || setup.detectors.length === 0) {
    installSyncObserver(null);
    return null;
  }
  // Free mode samples (sample below) whatever the cpus; the shadow locks only when
  // another cpu can be inside it at the same time.
  const sh = new Shadow(setup.shadow, shadowSize(img.i32.length, setup.maxThreads), setup.concurrent && setup.cpus > 1);
  const det = new Detector(img, sh, {
    race: setup.detectors.includes("race"),
    stale: setup.detectors.includes("stale"),
    sample: setup.concurrent ? FREE_SAMPLE : 1,
    siteAddrs: new Set(setup.siteAddrs),
    cpu: setup.cpu,
  }, current);
  for (const t of img.allTables()) t.observe(det);
  installSyncObserver(det);
  return det;
}

export { Shadow };
