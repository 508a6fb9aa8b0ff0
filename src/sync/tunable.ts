/*
 * Boot settings the kernel reads as plain globals (a loader tunable, or a sysctl nobody writes
 * while the run goes, e.g. kern.randompid): boot writes them before any cpu runs, so a read can
 * meet no other cpu's write. No scheduling point and nothing for the detectors: a run that leaves
 * a setting at its default schedules exactly as it did before the kernel read it.
 */
import type { Addr } from "../shm/table.js";
import { mem } from "./seam.js";

export function tunable(p: Addr): number {
  return mem[p];
}
