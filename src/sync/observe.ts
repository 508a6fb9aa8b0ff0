/*
 * The seam between the primitives and the field-level detectors (src/detect): what a
 * happens-before race detector and a stale-pointer detector need to hear of every
 * synchronization -- who took and gave back which lock, which atomics published or observed
 * what, who woke whom, when a thread switched out, started and ended.
 *
 * One call per operation, behind `if (syncObs !== null)`: with no detector installed a primitive
 * pays one load and one compare. The primitives report *where* the kernel's ordering comes from;
 * the detector decides what it means.
 */
import type { Addr, Handle } from "../shm/table.js";
import type { SyncThread } from "./seam.js";

/** acquire / release: a shared hold (reader) rather than an exclusive one. */
export const HOW_SHARED = 0x1;
/** acquire / release: an LWKT token (dropped at every switch; what the stale-pointer rule guards with). */
export const HOW_TOKEN = 0x2;
/** acquire / release: a NetBSD kmutex (cv_wait drops and retakes it). */
export const HOW_MUTEX = 0x4;
/** release: not a lock -- an ordered atomic publishing before its operation (joins, never hands over). */
export const HOW_ATOMIC = 0x8;
/** acquire: a lock whose take may sleep (lockmgr, kmutex): the thread's tokens may have gone meanwhile. */
export const HOW_SLEEPS = 0x10;

/** atomic: the operation wrote the word (an RMW or a store). */
export const AT_WRITE = 0x1;
/** atomic: the operation observes what ordered operations on the word published (acquire). */
export const AT_ACQUIRE = 0x2;
/**
 * atomic: the word is a count the kernel changes only with atomics -- a reference count
 * (refcount(9)) or a hold count (PHOLD, LWPHOLD). C gives them atomic operations only; a plain
 * store to one another thread has used loses whatever update lands between its load and store.
 */
export const AT_COUNT = 0x4;

export interface SyncObserver {
  /** Thread `td` took the lock, token, mutex or spin lock at `addr` (after the take). */
  acquire(td: SyncThread, addr: Addr, how: number): void;
  /** Thread `td` gives it back (before the word is released), or an ordered atomic publishes. */
  release(td: SyncThread, addr: Addr, how: number): void;
  /** An atomic operation on `addr` by the current thread, after it was made (AT_* flags). */
  atomic(addr: Addr, how: number): void;
  /** A hold on the record containing `addr` taken (+1) or dropped (-1) by the current thread: PHOLD, LWPHOLD, a refcount. */
  hold(addr: Addr, delta: number): void;
  /**
   * The current thread has the record containing `addr` to itself (true) or no longer (false):
   * PHOLDZOMB keeps every other reaper off a zombie (nothing else changes its lwp tree), and the
   * refcount release that took the count to 0 leaves the record to its releaser, who frees it.
   */
  own(addr: Addr, owned: boolean): void;
  /** The current thread dequeued sleeper `td` (wakeup, a signal) or scheduled a new thread. */
  wake(td: Handle): void;
  /** The current thread returns from tsleep: whoever dequeued it happened before. */
  resumed(): void;
  /**
   * A plain load or store of image word `addr` made outside the struct views (raw `mem`): what a
   * mutant that splits an atomic into load / point / store must report, so it is checked like
   * the kernel's own plain accesses.
   */
  plain(addr: Addr, write: boolean): void;
  /**
   * The current thread is at a point where the kernel may sleep (mayblock.ts: an M_WAITOK
   * allocation, a vnode lock): whether or not it does this time, its tokens may go there.
   */
  mayBlock(): void;
  /** The current thread enters the kernel for a system call, or its return-to-user path: it carries no kernel pointer in, nor a value it read. */
  kernelEntry(): void;
  /** The current thread's reads are marked racy on purpose (+1, data_race()) or no longer (-1). */
  dataRace(delta: number): void;
  /** The scheduler: a thread starts, switches out (its tokens are gone), ends. */
  threadStart(td: SyncThread): void;
  switchOut(td: SyncThread): void;
  threadExit(td: SyncThread): void;
}

export let syncObs: SyncObserver | null = null;

/**
 * KCSAN's data_race(): the reads `read` makes are racy on purpose, by the kernel's design -- the
 * field's declaration (FieldNotes.markedRacy) says why. `read` cannot block (no generator), so
 * the marking covers this thread's reads alone.
 */
export function data_race<T>(read: () => T): T {
  if (syncObs === null) return read();
  syncObs.dataRace(1);
  try {
    return read();
  } finally {
    syncObs.dataRace(-1);
  }
}

/** Install the detectors' observer on this cpu (null: none). A pooled worker installs per machine. */
export function installSyncObserver(o: SyncObserver | null): void {
  syncObs = o;
}
