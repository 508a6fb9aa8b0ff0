/*
 * The one seam between src/sync and src/sched (as LWKT's token and thread code lean on each
 * other): what a primitive needs to know of the running thread, and the few scheduler services
 * it calls. The scheduler installs the implementation; the primitives never import src/sched.
 */
import type { Addr, Handle } from "../shm/table.js";
import type { Image } from "../shm/image.js";
import { runControlWords } from "../shm/core.js";

/** What a generator yields to its cpu's scheduler. Every switch releases the thread's tokens. */
export const SWITCH_TOKEN = 1; // a token was contended: stay runnable, re-acquire all, then resume
export const SWITCH_SLEEP = 2; // tsleep: leave the run queue until woken or timed out
export const SWITCH_YIELD = 3; // lwkt_yield: let other threads of this cpu run
/**
 * The value a sleeper is resumed with by a hang dump, never by a wakeup: tsleep leaves its stack
 * in `sleptAt` and goes back to sleep untouched (a suspended generator's stack cannot be read
 * from outside, and taking it at every sleep would cost more than the sleep).
 */
export const STACK_PEEK = -0x5eec;

/** A kernel thread's stack: every function that may block is one of these, called with yield*. */
export type KGen<T = void> = Generator<number, T, number>;

/*
 * A primitive that did not block has nothing to yield: it returns an iteration that is already
 * over instead of a generator, so `yield*` on its fast path makes no generator object and runs
 * no generator machinery (a generator call costs about ten plain calls, DESIGN.md). The slow
 * path, which may block, is a generator as before. `yield*` consumes the result on the spot, so
 * callers see no difference.
 */
const DONE_RESULT: IteratorReturnResult<void> = { done: true, value: undefined };

/** An already finished KGen<void>. */
export const DONE: KGen = {
  next: () => DONE_RESULT,
  return: () => DONE_RESULT,
  throw: (e: unknown) => {
    throw e;
  },
  [Symbol.iterator]() {
    return this;
  },
} as KGen;

/** An already finished KGen that returns `value`: one small object, its own iterator and result. */
class Finished<T> {
  // Assigned, not class fields: a class field is a defineProperty per object (see shm/table.ts).
  declare done: boolean;
  declare value: T;
  constructor(value: T) {
    this.done = true;
    this.value = value;
  }
  next(): this {
    return this;
  }
  return(): this {
    return this;
  }
  throw(e: unknown): never {
    throw e;
  }
  [Symbol.iterator](): this {
    return this;
  }
}

export const finished = <T>(value: T): KGen<T> => new Finished(value) as unknown as KGen<T>;

/** One reference of a thread's LIFO token stack (lwkt_tokref): the thread's for good, reused (token.ts). */
export interface TokRef {
  tok: Addr;
  shared: boolean;
  /** lockstat: a hold-stamp handle (lockstat_acquired) when sampled, 0 otherwise; negative in token.ts for a reference not holding the word. */
  since: number;
}

/** A spare token reference: a thread starts with one, and token.ts adds one when its stack outgrows them. */
export const tokRef = (): TokRef => ({ tok: 0, shared: false, since: 0 });

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
  /** Its token references (td_toks_array): toks[0..ntoks) is the token stack; those above are spare. */
  readonly toks: TokRef[];
  /** The token stack's depth (td_toks_stop). */
  ntoks: number;
  readonly held: HeldLock[];
  /** The lock this thread is waiting for, for hang dumps (0 when none). */
  waitfor: Addr;
  /** Its kernel stack where it sleeps, left by tsleep when a dump peeks (STACK_PEEK); else null. */
  sleptAt: Error | null;
  /** What it sleeps for (tsleep's wmesg) while asleep in tsleep, for hang dumps; else null. */
  sleepWmesg: string | null;
  /** The wait channel whose wakeup it owes (wakeup_owed, controlled modes), 0 when none. */
  owes: Addr;
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
  /**
   * Nothing else runs until this thread reaches a scheduling point (a controlled strategy's
   * baton holder, or the only thread there is): reads made with no point between see one
   * instant, so an in-line law may compare them exactly.
   */
  alone(): boolean;
}

export let sched: SchedServices;
export let mem: Int32Array;
export let image: Image;

export function installSync(img: Image, s: SchedServices): void {
  image = img;
  mem = img.i32;
  sched = s;
  liveWord = runControlWords(img).rt_live;
}

/** rtcount.rt_live of the installed image. */
let liveWord = 0;

export const curthread = (): SyncThread => sched.current();

/** Forget held lock i: locks are mostly released in reverse order, and pop() makes no array as splice() does. */
export function dropHeld(td: SyncThread, i: number): void {
  if (i === td.held.length - 1) td.held.pop();
  else td.held.splice(i, 1);
}

/**
 * A new thread's first scheduling: counted among the machine's live threads (the run control's
 * count, which the machine drains on), then queued. Run-time bookkeeping, not kernel state: the
 * kernels call this rather than an atomic primitive, so it is no interlock site of theirs.
 */
export function startThread(td: Handle): void {
  Atomics.add(mem, liveWord, 1);
  sched.ready(td);
}

/** Where `lock` is in the thread's held locks (the latest hold), or -1. */
export function heldIndex(td: SyncThread, lock: Addr): number {
  const held = td.held;
  for (let i = held.length - 1; i >= 0; i--) if (held[i].lock === lock) return i;
  return -1;
}
