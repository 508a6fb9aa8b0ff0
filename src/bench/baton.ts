/*
 * The controlled modes' baton hand-off against its floor, measured side by side in one run.
 *
 * Floor: two worker threads passing a turn word back and forth with Atomics.store + notify and
 * Atomics.wait -- the least a cross-thread hand-off can cost. Baton: a real 2-cpu machine under
 * the random strategy running the lab's atomic counter; every decision that picks the other cpu
 * is a hand-off, and the run's time over its hand-offs is the cost of one (the decisions that
 * stay put and the counter work are charged to it too, so it is an upper bound).
 */
import { Worker } from "node:worker_threads";
import { Machine } from "../sched/machine.js";
import { LAB, labSpec } from "../selftest/lab.js";

const ROUND_TRIPS = 20_000;

/** ns per one-way hand-off of the Atomics.wait/notify ping-pong between two threads. */
export async function pingPongFloor(): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const turn = new Int32Array(sab);
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    const turn = new Int32Array(workerData.sab);
    const me = workerData.me, n = workerData.n;
    parentPort.postMessage("ready");
    while (Atomics.load(turn, 1) === 0) Atomics.wait(turn, 1, 0);
    for (let i = 0; i < n; i++) {
      for (let spins = 0; Atomics.load(turn, 0) !== me; spins++) if (spins > 100) Atomics.wait(turn, 0, 1 - me);
      Atomics.store(turn, 0, 1 - me);
      Atomics.notify(turn, 0);
    }
    parentPort.postMessage("done");`;
  const workers = [0, 1].map((me) => new Worker(code, { eval: true, workerData: { sab, me, n: ROUND_TRIPS } }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const t0 = performance.now();
  Atomics.store(turn, 1, 1);
  Atomics.notify(turn, 1);
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const ns = ((performance.now() - t0) * 1e6) / (2 * ROUND_TRIPS);
  await Promise.all(workers.map((w) => w.terminate()));
  return ns;
}

/** ns per baton hand-off, and the hand-offs counted, of a 2-cpu random-strategy run. */
export async function batonHandOff(): Promise<{ ns: number; handoffs: number; steps: number }> {
  const m = new Machine(labSpec(2, { strategy: { name: "random", seed: 1 }, clock: "logical" }));
  const labs = m.image.table(LAB);
  const lab = labs.view(labs.alloc());
  for (let cpu = 0; cpu < 2; cpu++) m.spawn("lab.atomic", [20_000], cpu);
  await m.start();
  const t0 = performance.now();
  await m.until(() => lab.done === 2, 120_000);
  const ms = performance.now() - t0;
  const steps = m.steps();
  const results = await m.stop();
  const decisions: [number, number][] = [];
  for (const r of results) for (let i = 0; i < r.decisions.length; i += 2) decisions.push([r.decisions[i], r.decisions[i + 1]]);
  decisions.sort((a, b) => a[0] - b[0]);
  let handoffs = 0;
  for (let i = 1; i < decisions.length; i++) if (decisions[i][1] !== decisions[i - 1][1]) handoffs++;
  return { ns: (ms * 1e6) / Math.max(1, handoffs), handoffs, steps };
}
