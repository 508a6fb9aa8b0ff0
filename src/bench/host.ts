/*
 * What the host itself gives a second busy thread, apart from anything forkstorm shares or runs
 * (issue 15: is a 2-cpu machine's ceiling the host's or our runtime's?):
 *  - privateWork: the same cpu-bound JS (allocating, a Map of objects: a worker's kind of work)
 *    in one worker thread, then in two at once, nothing shared between them: the host's own
 *    ceiling for two threads (a hypervisor's vCPUs on one physical core's siblings, a shared
 *    cache, the clock under load -- whatever it is, no runtime of ours is in it);
 *  - threadCores: where a run's cpu time went by OS thread (/proc/self/task): the simulated
 *    cpus' workers (the busiest threads) against everything else in the process -- the
 *    orchestrator and V8's compiler and GC threads, which take the same two cores.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";

/** Iterations of the private work: about 150 ms in one thread on the quiet host. */
const WORK = 4_000_000;

export interface PrivateWork {
  /** ms of one thread alone, and of each of two at once, per round. */
  oneMs: number[];
  pairMs: number[][];
  /** Median over the rounds of one's time over the pair's mean: what a second thread gets of a first. */
  efficiency: number;
}

function workers(n: number): Promise<number[]> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const t0 = performance.now();
    const m = new Map();
    let x = 0;
    for (let i = 0; i < workerData; i++) {
      m.set(i & 4095, { a: i, b: [i] });
      x = (x + (m.get((i * 7) & 4095)?.a ?? 0)) | 0;
    }
    parentPort.postMessage([performance.now() - t0, x]);`;
  return Promise.all(
    Array.from({ length: n }, () => {
      const w = new Worker(code, { eval: true, workerData: WORK });
      return new Promise<number>((resolve, reject) => {
        w.once("message", ([ms]: [number]) => void w.terminate().then(() => resolve(ms)));
        w.once("error", reject);
      });
    }),
  );
}

/** `rounds` of one thread, then two at once: the host's ceiling for a second busy thread. */
export async function privateWork(rounds: number): Promise<PrivateWork> {
  const oneMs: number[] = [];
  const pairMs: number[][] = [];
  const ratios: number[] = [];
  const r1 = (x: number) => Math.round(x * 10) / 10;
  for (let i = 0; i < rounds; i++) {
    const [one] = await workers(1);
    const pair = await workers(2);
    oneMs.push(r1(one));
    pairMs.push(pair.map(r1));
    ratios.push(one / ((pair[0] + pair[1]) / 2));
  }
  ratios.sort((a, b) => a - b);
  return { oneMs, pairMs, efficiency: Math.round(ratios[Math.floor(ratios.length / 2)] * 1000) / 1000 };
}

/** Cpu time of each of this process's OS threads, in clock ticks (utime + stime); null where /proc is not. */
export function threadTicks(): Map<string, number> | null {
  try {
    const ticks = new Map<string, number>();
    for (const tid of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks.set(tid, Number(f[11]) + Number(f[12])); // fields 14 and 15 of proc(5), after pid and comm
    }
    return ticks;
  } catch {
    return null;
  }
}

/** Cores used between two snapshots: by the `busiest` threads (the workers) and by all the others. */
export interface ThreadCores {
  workers: number;
  rest: number;
}

/** Linux's USER_HZ, the unit of /proc's tick counts on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

export function threadCores(from: Map<string, number>, to: Map<string, number>, seconds: number, busiest: number): ThreadCores {
  const used = [...to].map(([tid, t]) => t - (from.get(tid) ?? 0)).sort((a, b) => b - a);
  const cores = (ticks: number[]) => Math.round((ticks.reduce((s, t) => s + t, 0) / TICKS_PER_SECOND / seconds) * 100) / 100;
  return { workers: cores(used.slice(0, busiest)), rest: cores(used.slice(busiest)) };
}
