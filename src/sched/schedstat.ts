/*
 * schedstat: where a free-running cpu's time goes, counted by the cpu itself (per worker, no
 * shared line): waits for work (idle), waits for a lock another cpu holds (spin), injected chaos
 * stalls, and the wake-ups it sent -- to its own run queue, to another cpu's, and how many of
 * those found the other cpu asleep and cost a futex wake (the model's IPI). The bench reads them
 * to say why a second cpu adds or loses throughput; they ride in each cpu's result as the
 * "schedstat" extra.
 */
import { registerCollector } from "./programs.js";

export interface SchedStat {
  /** Waits on the doorbell with nothing to run, and their total time. */
  idleWaits: number;
  idleNs: number;
  /** Waits that gave the core away while a lock was held elsewhere, and their total time. */
  spinWaits: number;
  spinNs: number;
  /** Chaos stalls and their total time. */
  stalls: number;
  stallNs: number;
  /** Threads this cpu made runnable on itself, and on other cpus. */
  readyLocal: number;
  readyRemote: number;
  /** Remote readies whose doorbell woke a sleeping cpu (Atomics.notify woke a waiter). */
  doorbellWakes: number;
}

const zero = (): SchedStat => ({ idleWaits: 0, idleNs: 0, spinWaits: 0, spinNs: 0, stalls: 0, stallNs: 0, readyLocal: 0, readyRemote: 0, doorbellWakes: 0 });

/** This worker's counters (one cpu per worker), started afresh with every machine. */
export const schedstat: SchedStat = zero();

registerCollector(
  "schedstat",
  () => ({ ...schedstat, idleNs: Math.round(schedstat.idleNs), spinNs: Math.round(schedstat.spinNs), stallNs: Math.round(schedstat.stallNs) }),
  () => Object.assign(schedstat, zero()),
);

/** The sum over cpus. */
export function mergeSchedstat(all: readonly SchedStat[]): SchedStat {
  const t = zero();
  for (const s of all) for (const k of Object.keys(t) as (keyof SchedStat)[]) t[k] += s[k] ?? 0;
  return t;
}
