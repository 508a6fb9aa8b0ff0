/*
 * The controlled modes' baton hand-off against its floor, measured side by side in one run.
 *
 * Floor: two worker threads passing a turn word back and forth with Atomics.store + notify and
 * Atomics.wait, spinning as long as a baton waiter does before it sleeps -- the least a
 * cross-thread hand-off can cost under the same policy. Baton: a real 2-cpu machine running
 * scheduling points only, handing the baton over at every decision (alternatingRun below).
 *
 * For the baton's ratio both are timed in batches of BATCH round trips and give their fastest
 * batch: a hand-off is two threads spinning on two cores, and on a shared machine one of them is
 * often descheduled (whole runs swung from 1.7x to 4.2x the floor, issue 13); interference only
 * ever adds time, so the fastest batch is the hand-off's own cost.
 *
 * And they alternate (floorAndHandOff): the floor itself is bimodal -- ~30 ns or ~50-160 ns a
 * hand-off, by where the host puts the two vCPUs' threads (one core's SMT siblings, or two
 * cores) -- and a floor taken once, before the hand-off, was often taken under the other
 * placement: the ratio swung from 0.95x to 5.2x between runs while the hand-off stayed within
 * 1%. A floor and a hand-off timed back to back see the same placement far more often, and the
 * median of many such pairs is the figure.
 */
import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { SPINS_DEFAULT } from "../sched/baton.js";
import { CpuPool, Machine } from "../sched/machine.js";
import { LAB, labSpec } from "../selftest/lab.js";
import { BudgetSpent, throwIfSpent } from "./budget.js";

const ROUND_TRIPS = 200_000;
/** Round trips of the floor, and points per cpu of the hand-off, in one round of floorAndHandOff. */
const ROUND_TRIPS_ALTERNATING = 40_000;
/** Round trips per timed batch (a round trip is two hand-offs). */
export const BATCH = 2_000;
/**
 * How long a hand-off run may take: about a second on a quiet machine, but every hand-off waits
 * for the host to run the other worker, and at load 60 on 2 cores 400,000 of them took over two
 * minutes (the run was cut off and reported as a schedule that did not alternate). The bound is
 * there only so that a broken schedule cannot hang the bench.
 */
const HANDOFF_RUN_MS = 600_000;

/**
 * ns per one-way hand-off of the Atomics.wait/notify ping-pong between two threads: over the
 * whole run, or with `batch`, the fastest batch of that many round trips. A waiter spins
 * `spins` times before it sleeps (0: a futex wait at nearly every hand-off).
 */
export function pingPongFloor(batch?: number, signal?: AbortSignal, spins = SPINS_DEFAULT, roundTrips = ROUND_TRIPS): Promise<number> {
  return turnTaking(
    `for (let spins = 0; Atomics.load(turn, 0) !== me; spins++) if (spins > workerData.spins) Atomics.wait(turn, 0, 1 - me);
     Atomics.store(turn, 0, 1 - me);
     Atomics.notify(turn, 0);`,
    roundTrips,
    { spins },
    batch,
    signal,
  );
}

/**
 * Two worker threads taking `n` turns each, released together: ns per one-way hand-off, over the
 * whole run, or with `batch`, in the fastest batch of that many turns (each worker times its
 * own). `body` is one turn, with `turn` (word 0: whose turn, 0 or 1), `me` and `workerData` in
 * scope. `signal` ends it early (the workers terminated) with BudgetSpent.
 */
export async function turnTaking(body: string, n: number, data: Record<string, unknown> = {}, batch = n, signal?: AbortSignal): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const turn = new Int32Array(sab);
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    const turn = new Int32Array(workerData.sab);
    const me = workerData.me, batch = workerData.batch;
    parentPort.postMessage("ready");
    while (Atomics.load(turn, 1) === 0) Atomics.wait(turn, 1, 0);
    let fastest = Infinity, t0 = performance.now();
    for (let i = 1; i <= workerData.n; i++) {
      ${body}
      if (i % batch !== 0) continue;
      const t = performance.now();
      fastest = Math.min(fastest, t - t0);
      t0 = t;
    }
    parentPort.postMessage(fastest);`;
  const workers = [0, 1].map((me) => new Worker(code, { eval: true, workerData: { ...data, sab, me, n, batch } }));
  const messages = () => untilSpent(Promise.all(workers.map((w) => new Promise<number>((r) => w.once("message", r)))), signal);
  try {
    await messages();
    Atomics.store(turn, 1, 1);
    Atomics.notify(turn, 1);
    const fastest = await messages();
    return (Math.min(...fastest) * 1e6) / (2 * batch);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** `p`, or BudgetSpent as soon as `signal` fires. */
function untilSpent<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const spent = () => reject(new BudgetSpent());
    if (signal.aborted) spent();
    signal.addEventListener("abort", spent, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", spent));
  });
}

/** One round of floorAndHandOff: ns per hand-off of the floor and of the baton, timed back to back. */
export interface BatonRound {
  floorNs: number;
  batonNs: number;
}

/**
 * `rounds` floors and baton hand-offs, alternating, each the fastest batch of BATCH round trips
 * (the baton's machine warmed up once, its cpus' workers kept between rounds); also how many
 * hand-offs a round's machine made.
 */
export async function floorAndHandOff(rounds: number, signal?: AbortSignal): Promise<{ rounds: BatonRound[]; handoffs: number }> {
  const pool = new CpuPool(2);
  try {
    await alternatingRun(pool, 20_000, signal);
    const out: BatonRound[] = [];
    let handoffs = 0;
    for (let r = 0; r < rounds; r++) {
      const floorNs = await pingPongFloor(BATCH, signal, SPINS_DEFAULT, ROUND_TRIPS_ALTERNATING);
      const b = await alternatingRun(pool, ROUND_TRIPS_ALTERNATING, signal);
      out.push({ floorNs, batonNs: b.ns });
      handoffs = b.handoffs;
    }
    return { rounds: out, handoffs };
  } finally {
    await pool.discard();
  }
}

/**
 * ns per baton hand-off in a real 2-cpu machine (fastest batch): the replay strategy follows a
 * schedule that alternates between the cpus, so every decision hands the baton over, and each
 * point of a cpu is two hand-offs (over and back). A hand-off is charged with its whole decision
 * and the thread's way back to its next point, so it is an upper bound.
 */
async function alternatingRun(pool: CpuPool, perCpu: number, signal: AbortSignal | undefined): Promise<{ ns: number; handoffs: number }> {
  // Alternate for twice as long as needed: past its end, replay always picks cpu 0, and a batch
  // with no hand-off in it would be the fastest.
  const schedule: number[] = [];
  for (let i = 0; i < 4 * perCpu; i++) schedule.push(i & 1, 1);
  const m = new Machine(labSpec(2, { strategy: { name: "replay", seed: 1, schedule }, clock: "logical" }), pool);
  const labs = m.image.table(LAB);
  const lab = labs.view(labs.alloc());
  for (let cpu = 0; cpu < 2; cpu++) m.spawn("lab.timedPoints", [perCpu, BATCH, cpu], cpu);
  await m.start();
  const done = await m.until(() => lab.done === 2 || signal?.aborted === true, HANDOFF_RUN_MS);
  const results = await m.stop();
  throwIfSpent(signal);
  if (!done) throw new Error(`bench: the baton hand-off run did not end in ${HANDOFF_RUN_MS / 1000} s (at load ${loadavg()[0].toFixed(0)} each hand-off waits for the host to run the other worker)`);
  let handoffs = 0;
  for (const r of results) for (let i = 0; i < r.decisions.length; i += 3) if (r.decisions[i + 1] !== r.cpu) handoffs += r.decisions[i + 2];
  if (handoffs < 2 * perCpu) throw new Error(`bench: ${handoffs} baton hand-offs for ${2 * perCpu} points: the schedule did not alternate`);
  const fastest = Math.min(Atomics.load(m.image.i32, lab.ptr("res0")), Atomics.load(m.image.i32, lab.ptr("res1")));
  return { ns: fastest / (2 * BATCH), handoffs };
}
