/*
 * The uncontended cost of every kernel primitive, next to the raw Atomics floor measured in the
 * same run (a compare-and-swap spin lock: compareExchange + store), and the controlled baton's
 * hand-off against its floor: the primitives part of `forkstorm bench` (src/bench/run.ts).
 *
 * One thread, no workers: the image is built here and the primitives are installed with a
 * fake single cpu whose current thread is a real Thread record (as Machine.attachHere does for
 * the orchestrator, but able to take tokens and locks). Blocking primitives are called with
 * `yield*` inside a generator driven to completion, exactly as kernel code calls them; they never
 * block here, so the generator never yields. Each task runs BATCH operations per sample so the
 * timer's resolution does not swamp a few nanoseconds.
 *
 * The goal (issue 13): an uncontended LWKT token get+release within 2.5x the raw CAS spin lock.
 */
import { Bench } from "tinybench";
import { floorAndHandOff } from "./baton.js";
import { median } from "../run/hunt.js";
import { THREAD } from "../shm/core.js";
import { Image } from "../shm/image.js";
import { NULL } from "../shm/table.js";
import { imageTables } from "../sched/spec.js";
import { Thread } from "../sched/thread.js";
import { LAB, labSpec } from "../selftest/lab.js";
import { atomic_add_int } from "../sync/atomic.js";
import { mutex_enter, mutex_exit } from "../sync/kmutex.js";
import { lockmgr, LK_EXCLUSIVE, LK_RELEASE } from "../sync/lockmgr.js";
import { PHOLD, PRELE } from "../sync/phold.js";
import { refcount_acquire, refcount_release } from "../sync/refcount.js";
import { installSync, type KGen } from "../sync/seam.js";
import { initSleepQueues, tsleep_interlock, wakeup } from "../sync/sleep.js";
import { spin_lock, spin_unlock } from "../sync/spinlock.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken } from "../sync/token.js";

const BATCH = 1000;
/** The token's goal against the floor (issue 13). */
export const TOKEN_GOAL = 2.5;
const ROUNDS = 7;

function setup() {
  const image = Image.create(imageTables(labSpec(1)));
  const threads = image.table(THREAD);
  const h = threads.alloc();
  if (h === NULL) throw new Error("bench: no thread record");
  const td = new Thread(h, 0, "bench", undefined as never);
  installSync(image, {
    current: () => td,
    ready: () => {
      throw new Error("bench: nothing sleeps here, so nothing is made runnable");
    },
    ticks: () => 0,
    spinWait: () => {},
    nanotime: () => performance.now() * 1e6,
    newThreadCpu: () => 0,
    alone: () => true,
  });
  initSleepQueues();
  const labs = image.table(LAB);
  const lab = labs.view(labs.alloc());
  return { image, lab };
}

/** Drive a generator that must not block to completion. */
function drive(g: KGen): void {
  for (let r = g.next(0); !r.done; r = g.next(0)) throw new Error(`bench: a primitive blocked (switch ${r.value})`);
}

export interface PrimitiveRow {
  primitive: string;
  nsPerOp: number;
  /** Over the raw CAS spin lock (the floor, the first row). */
  xFloor: number;
}

/**
 * The uncontended cost of every primitive and of the floor, in ns per operation: `rounds` rounds,
 * each task's best round's median sample (see below).
 */
export async function measurePrimitives(rounds = ROUNDS): Promise<PrimitiveRow[]> {
  const { image, lab } = setup();
  const i32 = image.i32;
  const tok = lab.ptr("tok");
  const spin = lab.ptr("spin");
  const lk = lab.ptr("lk");
  const mtx = lab.ptr("mtx");
  const refs = lab.ptr("refs");
  const counter = lab.ptr("counter");
  const p_lock = lab.ptr("p_lock");
  const flag = lab.ptr("flag");
  const raw = lab.ptr("res0"); // a word of its own for the raw floor
  Atomics.store(i32, refs, 1);

  const tasks: [name: string, fn: () => void][] = [
    [
      "raw CAS spin lock (floor)",
      () => {
        for (let i = 0; i < BATCH; i++) {
          while (Atomics.compareExchange(i32, raw, 0, 1) !== 0);
          Atomics.store(i32, raw, 0);
        }
      },
    ],
    [
      "token get+release",
      () =>
        drive(
          (function* () {
            for (let i = 0; i < BATCH; i++) {
              yield* lwkt_gettoken(tok);
              lwkt_reltoken(tok);
            }
          })(),
        ),
    ],
    [
      "token shared get+release",
      () =>
        drive(
          (function* () {
            for (let i = 0; i < BATCH; i++) {
              yield* lwkt_gettoken_shared(tok);
              lwkt_reltoken(tok);
            }
          })(),
        ),
    ],
    [
      "spin_lock+spin_unlock",
      () => {
        for (let i = 0; i < BATCH; i++) {
          spin_lock(spin);
          spin_unlock(spin);
        }
      },
    ],
    [
      "lockmgr EXCLUSIVE+RELEASE",
      () =>
        drive(
          (function* () {
            for (let i = 0; i < BATCH; i++) {
              yield* lockmgr(lk, LK_EXCLUSIVE);
              yield* lockmgr(lk, LK_RELEASE);
            }
          })(),
        ),
    ],
    [
      "mutex_enter+mutex_exit",
      () =>
        drive(
          (function* () {
            for (let i = 0; i < BATCH; i++) {
              yield* mutex_enter(mtx);
              mutex_exit(mtx);
            }
          })(),
        ),
    ],
    [
      "refcount acquire+release",
      () => {
        for (let i = 0; i < BATCH; i++) {
          refcount_acquire(refs);
          refcount_release(refs);
        }
      },
    ],
    [
      "atomic_add_int",
      () => {
        for (let i = 0; i < BATCH; i++) atomic_add_int(counter, 1);
      },
    ],
    [
      "PHOLD+PRELE",
      () => {
        for (let i = 0; i < BATCH; i++) {
          PHOLD(p_lock);
          PRELE(p_lock);
        }
      },
    ],
    [
      "tsleep_interlock+wakeup",
      () => {
        for (let i = 0; i < BATCH; i++) {
          tsleep_interlock(flag, 0);
          wakeup(flag);
        }
      },
    ],
  ];

  // The machine may be shared (CI runners, parallel jobs): each round runs every task once, in
  // turn, and a task's figure is its best round's median sample -- interference only ever adds
  // time, so the least-disturbed round is the truest one, and floor and primitives get the same
  // chances at a quiet moment.
  const nsPerOp = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ name: "forkstorm primitives, uncontended", time: 80, warmupTime: round === 0 ? 100 : 20 });
    for (const [n, fn] of tasks) bench.add(n, fn);
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state !== "completed") throw new Error(`bench: ${t.name} ${r.state}${r.state === "errored" ? `: ${r.error.message}` : ""}`);
      const ns = (r.latency.p50 * 1e6) / BATCH;
      nsPerOp.set(t.name, Math.min(nsPerOp.get(t.name) ?? Infinity, ns));
    }
  }
  // Sanity: every lock is free again and the counts are back where they started.
  if (Atomics.load(i32, tok) !== 0 || Atomics.load(i32, lk) !== 0 || Atomics.load(i32, mtx) !== 0 || Atomics.load(i32, refs) !== 1 || Atomics.load(i32, p_lock) !== 0) {
    throw new Error("bench: a primitive left state behind");
  }
  const floor = nsPerOp.get(tasks[0][0])!;
  return [...nsPerOp].map(([primitive, ns]) => ({ primitive, nsPerOp: Math.round(ns * 10) / 10, xFloor: Math.round((ns / floor) * 100) / 100 }));
}

export interface BatonCost {
  /** Ping-pong floor and baton hand-off, ns per hand-off (each pair's fastest batch; medians of the pairs). */
  floorNs: number;
  batonNs: number;
  /** Baton over floor: the median of the pairs' ratios, and their spread. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  /** Floor and hand-off pairs timed. */
  pairs: number;
  handoffs: number;
}

/** Floor and hand-off pairs per round. */
export const BATON_PAIRS = 5;

/**
 * Rounds of floor and baton side by side, alternating (baton.ts floorAndHandOff: the floor is
 * bimodal by the host's placement of the two threads, so each hand-off is compared with a floor
 * taken just before it), each timed by its fastest batch; the pairs' ratios give the median and
 * the spread.
 */
export async function measureBaton(rounds = 3, signal?: AbortSignal): Promise<BatonCost> {
  const { rounds: pairs, handoffs } = await floorAndHandOff(rounds * BATON_PAIRS, signal);
  const ratios = pairs.map((p) => p.batonNs / p.floorNs);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    floorNs: Math.round(median(pairs.map((p) => p.floorNs))!), batonNs: Math.round(median(pairs.map((p) => p.batonNs))!),
    ratio: r2(median(ratios)!), ratioMin: r2(Math.min(...ratios)), ratioMax: r2(Math.max(...ratios)), pairs: pairs.length, handoffs,
  };
}
