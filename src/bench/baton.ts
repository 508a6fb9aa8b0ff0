/*
 * The controlled modes' baton hand-off against its floor, measured side by side in one run.
 *
 * Floor: two worker threads passing a turn word back and forth with Atomics.store + notify and
 * Atomics.wait, spinning as long as a baton waiter does before it sleeps -- the least a
 * cross-thread hand-off can cost under the same policy. Baton: a real 2-cpu machine running
 * the lab's atomic counter, handing the baton over at every decision (batonHandOff below).
 */
import { Worker } from "node:worker_threads";
import { SPINS_DEFAULT } from "../sched/baton.js";
import { CpuPool, Machine } from "../sched/machine.js";
import { LAB, labSpec } from "../selftest/lab.js";

const ROUND_TRIPS = 200_000;

/** ns per one-way hand-off of the Atomics.wait/notify ping-pong between two threads. */
export function pingPongFloor(): Promise<number> {
  return turnTaking(
    `for (let spins = 0; Atomics.load(turn, 0) !== me; spins++) if (spins > workerData.spins) Atomics.wait(turn, 0, 1 - me);
     Atomics.store(turn, 0, 1 - me);
     Atomics.notify(turn, 0);`,
    ROUND_TRIPS,
    { spins: SPINS_DEFAULT },
  );
}

/**
 * Two worker threads taking `n` turns each, released together: ns per one-way hand-off. `body`
 * is one turn, with `turn` (word 0: whose turn, 0 or 1), `me` and `workerData` in scope.
 */
export async function turnTaking(body: string, n: number, data: Record<string, unknown> = {}): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const turn = new Int32Array(sab);
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    const turn = new Int32Array(workerData.sab);
    const me = workerData.me;
    parentPort.postMessage("ready");
    while (Atomics.load(turn, 1) === 0) Atomics.wait(turn, 1, 0);
    for (let i = 0; i < workerData.n; i++) { ${body} }
    parentPort.postMessage("done");`;
  const workers = [0, 1].map((me) => new Worker(code, { eval: true, workerData: { ...data, sab, me, n } }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const t0 = performance.now();
  Atomics.store(turn, 1, 1);
  Atomics.notify(turn, 1);
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const ns = ((performance.now() - t0) * 1e6) / (2 * n);
  await Promise.all(workers.map((w) => w.terminate()));
  return ns;
}

/**
 * ns per baton hand-off in a real 2-cpu machine: the replay strategy follows a schedule that
 * alternates between the cpus, so every decision hands the baton over. A hand-off is charged
 * with its whole decision and the thread's way back to its next point, so it is an upper bound. The
 * first run warms the workers' JIT up; the second, on the same workers, is measured.
 */
export async function batonHandOff(): Promise<{ ns: number; handoffs: number }> {
  const pool = new CpuPool(2);
  try {
    await alternatingRun(pool, 20_000);
    return await alternatingRun(pool, HANDOFF_STEPS / 2);
  } finally {
    await pool.discard();
  }
}

const HANDOFF_STEPS = 400_000;

async function alternatingRun(pool: CpuPool, perCpu: number): Promise<{ ns: number; handoffs: number }> {
  const schedule: number[] = [];
  for (let i = 0; i < 2 * perCpu; i++) schedule.push(i & 1, 1);
  const m = new Machine(labSpec(2, { strategy: { name: "replay", seed: 1, schedule }, clock: "logical" }), pool);
  const labs = m.image.table(LAB);
  const lab = labs.view(labs.alloc());
  for (let cpu = 0; cpu < 2; cpu++) m.spawn("lab.points", [perCpu], cpu);
  await m.start();
  const t0 = performance.now();
  await m.until(() => lab.done === 2, 120_000);
  const ms = performance.now() - t0;
  const results = await m.stop();
  let handoffs = 0;
  for (const r of results) for (let i = 0; i < r.decisions.length; i += 3) if (r.decisions[i + 1] !== r.cpu) handoffs += r.decisions[i + 2];
  return { ns: (ms * 1e6) / Math.max(1, handoffs), handoffs };
}
