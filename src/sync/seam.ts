/*
 * The one seam between src/sync and src/sched (as LWKT's token and thread code lean on each
 * other): what a primitive needs to know of the running thread, and the few scheduler services
 * it calls. The scheduler installs the implementation; the primitives never import src/sched.
 */
import type { Addr, Handle } from "../shm/table.js";
import type { Image } from "../shm/image.js";

/** What a generator yields to its cpu's scheduler. Every switch releases the thread's tokens. */
export const SWITCH_TOKEN = 1; // a token was contended: stay runnable, re-acquire all, then resume
export const SWITCH_SLEEP = 2; // tsleep: leave the run queue until woken or timed out
export const SWITCH_YIELD = 3; // lwkt_yield: let other threads of this cpu run

/** A kernel thread's stack: every function that may block is one of these, called with yield*. */
export type KGen<T = void> = Generator<number, T, number>;

/** One entry of a thread's LIFO token stack (lwkt_tokref). */
export interface TokRef {
  tok: Addr;
  shared: boolean;
  /** lockstat: a hold-stamp handle (lockstat_acquired) when sampled, 0 otherwise; negative in token.ts for a reference not holding the word. */
  since: number;
}

/** A non-token lock the thread holds (lockmgr, spin, mutex): these make witness edges. */
export interface HeldLock {
  lock: Addr;
  kind: "lockmgr" | "spin" | "mutex";
  shared: boolean;
  since: number;
}

/** The running thread, as the primitives see it. */
export interface SyncThread {
  readonly h: Handle;
  readonly cpu: number;
  /** The process it runs for (0 until the kernel says), for trace events. */
  readonly pid: number;
  readonly toks: TokRef[];
  readonly held: HeldLock[];
  /** The lock this thread is waiting for, for hang dumps (0 when none). */
  waitfor: Addr;
  /** Signal check for PCATCH sleeps: 0, EINTR or ERESTART (installed by the kernel model). */
  sigcheck: (() => number) | null;
}

export interface SchedServices {
  /** curthread */
  current(): SyncThread;
  /** lwkt_schedule: make a descheduled thread (any cpu) runnable; rings its cpu's doorbell. */
  ready(td: Handle): void;
  /** The current logical time in ticks. */
  ticks(): number;
  /** A cpu that cannot progress (spinning on a spin lock): let the strategy decide what to do. */
  spinWait(): void;
  /** Nanoseconds, for lockstat. */
  nanotime(): number;
  /** usched: the cpu a new lwp's thread starts on (src/sched/placement.ts). */
  newThreadCpu(): number;
}

export let sched: SchedServices;
export let mem: Int32Array;
export let image: Image;

export function installSync(img: Image, s: SchedServices): void {
  image = img;
  mem = img.i32;
  sched = s;
}

export const curthread = (): SyncThread => sched.current();
