/*
 * tsleep / wakeup (sys/kern/kern_synch.c, NOTES A3).
 *
 * Sleep queues are hashed by wait channel (an image address, as the kernel hashes the ident's
 * address). tsleep_interlock() puts the thread on the queue *without* descheduling it, so a test
 * made after the interlock and before tsleep(PINTERLOCKED) cannot lose a wakeup: the wakeup takes
 * the thread off the queue and tsleep then returns at once.
 *
 * Who makes a sleeping thread run again is decided by one atomic word (td_flags):
 *   TDF_TSLEEPQ  on a sleep queue       -- cleared by whoever dequeues it (wakeup, timeout, signal)
 *   TDF_DESCHED  off its cpu's run queue -- set by the sleeper's scheduler after the tokens drop
 * The dequeuer that finds TDF_DESCHED set schedules the thread; a sleeper that sets TDF_DESCHED
 * and finds TDF_TSLEEPQ already clear was woken in between and does not sleep.
 *
 * A bucket's list links thread records by handle, but a record's words are found by its slot: a
 * queue operation through the handle of a thread that has ended would act on whichever thread
 * holds the slot now. So a dequeue acts only on a live handle's own entry (checked under the
 * bucket lock, which the thread's own exit must take to leave the queue), a record whose queue
 * state names a list that does not hold it is an error where that is found, and a record still
 * linked (TDF_ONSLPQ) is never freed.
 *
 * The order in which a dequeuer or waker takes a thread off (under the bucket lock):
 * TDF_TSLEEPQ cleared, then unlinked, then td_wchan = 0, last. A thread that was only interlocked
 * is running, and may queue itself again on another channel -- another bucket, another lock --
 * as soon as it reads td_wchan 0 (until then it must dequeue under this bucket's lock, and waits).
 * Were td_wchan cleared first, the dequeuer's late clear of TDF_TSLEEPQ would land on the new
 * queue's state: a thread linked but marked on no queue, which is then freed while linked.
 */
import { sleepPoint } from "../shm/hooks.js";
import { ev, EV } from "../shm/trace.js";
import { OBJQ, SLEEPQ, TDF_COMMITTED, TDF_DESCHED, TDF_EXITING, TDF_EXITWAIT, TDF_OBJQ, TDF_ONSLPQ, TDF_OWEWAKE, TDF_SINTR, TDF_TSLEEPQ, THREAD, wmesgId } from "../shm/core.js";
import { slotOf, type Addr, type Handle, type Table } from "../shm/table.js";
import { takeStack } from "../sched/kstack.js";
import { EWOULDBLOCK } from "./errno.js";
import { syncObs } from "./observe.js";
import { curthread, image, mem, sched, STACK_PEEK, SWITCH_SLEEP, type KGen, type SyncThread } from "./seam.js";

export const PCATCH = 0x100;
export const PINTERLOCKED = 0x400;

/** Thread-record offsets, fixed once the image is known. */
let T: { base: number; stride: number; flags: number; wchan: number; next: number; timeout: number; res: number; wmesg: number };
/** A hash of queues: SLEEPQ's buckets, or the wait objects' own (OBJQ, the same layout). */
interface Queues { base: number; stride: number; lock: number; head: number; buckets: number }
let SQ: Queues;
/** The wait objects' own queues; SQ itself where the image has none (DragonFly: no condvars, no turnstiles). */
let OQ: Queues;
let threads: Table;

export function initSleepQueues(): void {
  const t = (threads = image.table(THREAD));
  t.guardFree(refuseLinkedFree);
  const o = t.layout.offsets;
  T = { base: t.base, stride: t.layout.stride, flags: o.td_flags, wchan: o.td_wchan, next: o.td_slnext, timeout: o.td_timeout, res: o.td_sleepres, wmesg: o.td_wmesg };
  SQ = queues(SLEEPQ);
  OQ = image.hasTable(OBJQ.name) ? queues(OBJQ) : SQ;
}

function queues(decl: typeof SLEEPQ): Queues {
  const q = image.table(decl);
  return { base: q.base, stride: q.layout.stride, lock: q.layout.offsets.sq_lock, head: q.layout.offsets.sq_head, buckets: q.capacity };
}

const tdw = (h: Handle, off: number): number => T.base + slotOf(h) * T.stride + off;
/**
 * A channel's bucket: the whole 32-bit hash modulo the table's size, as DragonFly's LOOKUP takes
 * its hash modulo the prime slpque_tablesize (kern_synch.c 328-330). The hash's high bits folded
 * into its low ones, so a power-of-two table (NetBSD's 128) is spread too. The kernels hash their
 * own byte addresses, whose layout the model's are not: what the model keeps is the table size.
 */
function bucketOf(ident: Addr, q: Queues): number {
  const h = Math.imul(ident, 0x9e3779b1);
  return q.base + (((h ^ (h >>> 16)) >>> 0) % q.buckets) * q.stride;
}

/** The bucket thread h's record says it is queued on for `wchan`: its object's own (TDF_OBJQ) or the sleep hash's. */
const bucketOfThread = (h: Handle, wchan: Addr): number => bucketOf(wchan, Atomics.load(mem, tdw(h, T.flags)) & TDF_OBJQ ? OQ : SQ);

/** The queue locks are the runtime's own, below the kernel: not in lockstat, witness or points. */
function qlock(b: number): void {
  while (Atomics.compareExchange(mem, b + SQ.lock, 0, 1) !== 0) sched.spinWait();
}
function qunlock(b: number): void {
  Atomics.store(mem, b + SQ.lock, 0);
}

/** Put h at the head of bucket b (locked); h must be on no list (a second link would join two lists). */
function link(b: number, h: Handle): void {
  const f = Atomics.load(mem, tdw(h, T.flags));
  if (f & TDF_ONSLPQ) {
    qunlock(b);
    throw new Error(`sleep queue: thread ${slotOf(h)} (handle 0x${h.toString(16)}) queued again while still linked on a sleep queue (td_wchan ${describeWchan(Atomics.load(mem, tdw(h, T.wchan)))}; td_flags 0x${f.toString(16)})`);
  }
  mem[tdw(h, T.next)] = mem[b + SQ.head];
  mem[b + SQ.head] = h;
  Atomics.or(mem, tdw(h, T.flags), TDF_ONSLPQ);
}

/** Take cur out of bucket b (locked); prev is the entry before it, 0 when cur is the head. */
function splice(b: number, prev: Handle, cur: Handle): void {
  const next = mem[tdw(cur, T.next)];
  if (prev === 0) mem[b + SQ.head] = next;
  else mem[tdw(prev, T.next)] = next;
  mem[tdw(cur, T.next)] = 0;
  Atomics.and(mem, tdw(cur, T.flags), ~TDF_ONSLPQ);
}

/** Unlink live thread h, whose record says it is queued on `wchan`, from that bucket b (locked). */
function unlink(b: number, h: Handle, wchan: Addr): void {
  for (let prev = 0, cur = mem[b + SQ.head]; cur !== 0; prev = cur, cur = mem[tdw(cur, T.next)]) {
    if (cur !== h) continue;
    splice(b, prev, cur);
    return;
  }
  qunlock(b);
  throw new Error(`sleep queue: thread ${slotOf(h)} (handle 0x${h.toString(16)}) is marked asleep on ${image.describe(wchan)} but that queue does not hold it (td_flags 0x${Atomics.load(mem, tdw(h, T.flags)).toString(16)})`);
}

/** Table.free's guard for thread records: one still linked on a bucket is not freed. */
function refuseLinkedFree(h: Handle, base: Addr, site: string): void {
  const f = Atomics.load(mem, base + T.flags);
  if (!(f & TDF_ONSLPQ)) return;
  throw new Error(`sleep queue: thread ${slotOf(h)} (handle 0x${h.toString(16)}) freed at ${site} while still linked on a sleep queue (td_wchan ${describeWchan(Atomics.load(mem, base + T.wchan))}; td_flags 0x${f.toString(16)})`);
}

/** A linked thread's td_wchan for the errors above: 0 says its queue state was cleared without unlinking it. */
function describeWchan(wchan: Addr): string {
  return wchan !== 0 ? image.describe(wchan) : "0: its queue state was cleared without unlinking it";
}

/**
 * Take h off its queue if it is still on one; returns the td_flags it had. 0 when not queued.
 * `signal`: the current thread interrupts h's interruptible sleep (it happens before h resumes).
 */
function dequeue(h: Handle, signal: boolean): number {
  for (;;) {
    const wchan = Atomics.load(mem, tdw(h, T.wchan));
    if (wchan === 0) return 0;
    // The flag may be a newer queueing's (h requeued since the load): then td_wchan differs below.
    const b = bucketOfThread(h, wchan);
    qlock(b);
    if (Atomics.load(mem, tdw(h, T.wchan)) !== wchan) {
      qunlock(b);
      continue;
    }
    const f = Atomics.load(mem, tdw(h, T.flags));
    // A handle whose thread has ended names no queue entry: its slot's words may be another thread's.
    if (!threads.valid(h) || !(f & TDF_TSLEEPQ) || (signal && !(f & TDF_SINTR))) {
      qunlock(b);
      return 0;
    }
    if (signal && syncObs !== null) syncObs.wake(h); // before the flag h may be polling
    const old = Atomics.and(mem, tdw(h, T.flags), ~(TDF_TSLEEPQ | TDF_SINTR));
    unlink(b, h, wchan);
    Atomics.store(mem, tdw(h, T.wchan), 0); // last: see "The order" above
    qunlock(b);
    return old;
  }
}

/** The dequeuer of a descheduled thread schedules it. */
function resume(h: Handle, old: number, res: number): void {
  if (!(old & TDF_DESCHED)) return;
  mem[tdw(h, T.res)] = res;
  Atomics.and(mem, tdw(h, T.flags), ~TDF_DESCHED);
  sched.ready(h);
}

/** tsleep_interlock: queue the current thread on ident without descheduling it. */
export function tsleep_interlock(ident: Addr, flags: number): void {
  interlock(ident, flags, SQ);
}

/**
 * The queueing on a wait object's own queue (OBJQ): cv_wait's on CV_SLEEPQ(cv), a contended
 * mutex_enter's on its turnstile (NetBSD sleepq_enqueue on either).
 */
export function tsleep_interlock_obj(obj: Addr, flags: number): void {
  interlock(obj, flags, OQ);
}

function interlock(ident: Addr, flags: number, q: Queues): void {
  const h = curthread().h;
  sleepPoint();
  const cur = Atomics.load(mem, tdw(h, T.wchan));
  if (cur === ident && Atomics.load(mem, tdw(h, T.flags)) & TDF_TSLEEPQ) return;
  if (cur !== 0) dequeue(h, false);
  // Before td_wchan is published: a dequeuer that reads the new channel picks the right queue.
  if (q === OQ && OQ !== SQ) Atomics.or(mem, tdw(h, T.flags), TDF_OBJQ);
  else Atomics.and(mem, tdw(h, T.flags), ~TDF_OBJQ);
  const b = bucketOf(ident, q);
  qlock(b);
  link(b, h);
  Atomics.store(mem, tdw(h, T.wchan), ident);
  Atomics.or(mem, tdw(h, T.flags), TDF_TSLEEPQ | (flags & PCATCH ? TDF_SINTR : 0));
  qunlock(b);
}

/**
 * tsleep: sleep on ident until a wakeup, a timeout of `timo` ticks (0 = none) or, with PCATCH, a
 * signal. Returns 0, EWOULDBLOCK, or the signal's EINTR/ERESTART. Every token is released while
 * asleep and re-acquired before this returns.
 */
export function* tsleep(ident: Addr, flags: number, wmesg: string, timo: number): KGen<number> {
  const td = curthread();
  if (!(flags & PINTERLOCKED)) queueLate(td.h, ident, flags, wmesg, timo);
  if (flags & PCATCH && td.sigcheck) {
    const sig = td.sigcheck();
    if (sig !== 0) {
      dequeue(td.h, false);
      return sig;
    }
  }
  const f = Atomics.load(mem, tdw(td.h, T.flags));
  if (!(f & TDF_TSLEEPQ) || Atomics.load(mem, tdw(td.h, T.wchan)) !== ident) {
    if (syncObs !== null) syncObs.resumed();
    return 0; // woken already
  }
  mem[tdw(td.h, T.timeout)] = timo > 0 ? sched.ticks() + timo : 0;
  mem[tdw(td.h, T.res)] = 0;
  td.sleepWmesg = wmesg;
  mem[tdw(td.h, T.wmesg)] = wmesgIdOf(wmesg);
  ev(EV.SLEEP, ident);
  while ((yield SWITCH_SLEEP) === STACK_PEEK) td.sleptAt = takeStack(); // a hang dump looks, then it sleeps on
  if (syncObs !== null) syncObs.resumed();
  td.sleptAt = null;
  td.sleepWmesg = null;
  mem[tdw(td.h, T.timeout)] = 0;
  const res = mem[tdw(td.h, T.res)];
  ev(EV.WOKEN, ident, res);
  if (res === 0 && flags & PCATCH && td.sigcheck) return td.sigcheck();
  return res;
}

/**
 * The queueing of a sleep that did not interlock: its caller tested the condition before this
 * call, so a wakeup made before the thread is on the queue finds no sleeper and is lost. Where the
 * lost-wakeup law watches (installWakeupCheck), an untimed such sleep is marked committed across
 * the queueing's scheduling point, its wmesg set already (the law picks the sleep's condition by
 * it). A timed sleep is the kernel's poll (deadlwp_task's, the drains'): a lost wakeup costs it a
 * tick, not its end.
 */
function queueLate(h: Handle, ident: Addr, flags: number, wmesg: string, timo: number): void {
  const watched = wakeupCheck !== null && timo === 0;
  if (watched) {
    mem[tdw(h, T.wmesg)] = wmesgIdOf(wmesg);
    Atomics.or(mem, tdw(h, T.flags), TDF_COMMITTED);
  }
  tsleep_interlock(ident, flags);
  if (watched) Atomics.and(mem, tdw(h, T.flags), ~TDF_COMMITTED);
}

/**
 * The lost-wakeup law (src/sched/quiescent.ts), installed on each cpu of a controlled run: `made`
 * is called at every kernel wakeup with the channel and the waker, before the wakeup takes anyone
 * off; `unpaid` when a thread that owes a wakeup (wakeup_owed) goes on without making it.
 */
let wakeupCheck: {
  made(ident: Addr, waker: Handle): void;
  unpaid(owed: Addr, ower: Handle, instead: string): void;
} | null = null;

export function installWakeupCheck(check: typeof wakeupCheck): void {
  wakeupCheck = check;
}

/**
 * The current thread has just made true the condition a sleeper on `chan` waits for, and its next
 * wakeup -- of `chan` -- announces it: a model annotation (like data_race(); the kernel has no such
 * call) made right after the write, only where that wakeup follows on every path. Until it is
 * made, the lost-wakeup law gives no verdict on a sleep the condition ends; once the thread is
 * seen going on without it (wakeup_debt), the debt is judged.
 */
export function wakeup_owed(chan: Addr): void {
  if (wakeupCheck === null) return;
  const td = curthread();
  td.owes = chan;
  Atomics.or(mem, tdw(td.h, T.flags), TDF_OWEWAKE);
}

/**
 * The first moment an owed wakeup is provably not made: the owing thread wakes another channel
 * (`instead` says which), its system call ends, or it exits. The law judges whether a sleeper on
 * the owed channel is left waiting for a condition that already holds; the debt is settled either way.
 */
export function wakeup_debt(td: SyncThread, instead: string): void {
  if (wakeupCheck === null || td.owes === 0) return;
  wakeupCheck.unpaid(td.owes, td.h, instead);
  paid(td);
}

function paid(td: SyncThread): void {
  td.owes = 0;
  Atomics.and(mem, tdw(td.h, T.flags), ~TDF_OWEWAKE);
}

const wmesgIds = new Map<string, number>();
function wmesgIdOf(wmesg: string): number {
  let id = wmesgIds.get(wmesg);
  if (id === undefined) wmesgIds.set(wmesg, (id = wmesgId(wmesg)));
  return id;
}

/** Wake up to `max` threads sleeping on ident (in queues q); returns how many were woken. */
function wakeupN(ident: Addr, max: number, q: Queues): number {
  sleepPoint();
  if (wakeupCheck !== null) {
    const td = curthread();
    if (td.owes !== 0 && td.owes !== ident) wakeup_debt(td, `woke ${image.describe(ident)} instead`);
    wakeupCheck.made(ident, td.h);
    paid(td);
  }
  return wakeChannel(ident, max, q);
}

/** wakeupN without the scheduling point: the runtime's own wakeup (sleepq_exitwakeup). */
function wakeChannel(ident: Addr, max: number, q: Queues): number {
  const b = bucketOf(ident, q);
  const woken: [Handle, number][] = [];
  qlock(b);
  let prev = 0;
  for (let cur = mem[b + SQ.head]; cur !== 0 && woken.length < max; ) {
    const next = mem[tdw(cur, T.next)];
    if (Atomics.load(mem, tdw(cur, T.wchan)) === ident) {
      if (syncObs !== null) syncObs.wake(cur); // before the flags the sleeper may be polling
      woken.push([cur, Atomics.and(mem, tdw(cur, T.flags), ~(TDF_TSLEEPQ | TDF_SINTR))]);
      splice(b, prev, cur);
      Atomics.store(mem, tdw(cur, T.wchan), 0); // last: see "The order" above
    } else prev = cur;
    cur = next;
  }
  qunlock(b);
  if (woken.length) ev(EV.WAKEUP, ident, woken.length);
  for (const [h, old] of woken) resume(h, old, 0);
  return woken.length;
}

/** wakeup: every thread sleeping on ident (returns how many: interlock coverage reads it). */
export function wakeup(ident: Addr): number {
  return wakeupN(ident, Infinity, SQ);
}

/** wakeup_one: the first thread sleeping on ident (returns 1 if there was one). */
export function wakeup_one(ident: Addr): number {
  return wakeupN(ident, 1, SQ);
}

/**
 * Up to `max` threads off a wait object's own queue: cv_broadcast / cv_signal's (kern_condvar.c
 * 338-345), mutex_exit's turnstile_wakeup (kern_mutex.c 763-770).
 */
export function wakeup_obj(obj: Addr, max: number): number {
  return wakeupN(obj, max, OQ);
}

/** A signal reached a thread: end its PCATCH sleep (the sleep returns the signal's error). */
export function tsleep_signal(h: Handle): void {
  resume(h, dequeue(h, true), 0);
}

/**
 * Scheduler side of tsleep. park(): the thread's tokens are released; deschedule it unless it
 * was woken meanwhile (returns false then). timeout(): its deadline passed; true when the timeout
 * won the race and the thread is to run again with EWOULDBLOCK.
 */
export function sleepq_park(h: Handle): boolean {
  const old = Atomics.or(mem, tdw(h, T.flags), TDF_DESCHED);
  if (old & TDF_TSLEEPQ) return true;
  Atomics.and(mem, tdw(h, T.flags), ~TDF_DESCHED);
  return false;
}

export function sleepq_deadline(h: Handle): number {
  return mem[tdw(h, T.timeout)];
}

export function sleepq_timeout(h: Handle): boolean {
  const old = dequeue(h, false);
  if (!(old & TDF_DESCHED)) return false;
  mem[tdw(h, T.res)] = EWOULDBLOCK;
  Atomics.and(mem, tdw(h, T.flags), ~TDF_DESCHED);
  return true;
}

/**
 * Sleep until thread td has ended for good: the thread destruction interlock of DragonFly's
 * lwp_wait (kern_exit.c 797-807: tsleep_interlock on td, TDF_MP_EXITWAIT set by compare-and-swap
 * unless the exit was signalled, an untimed tsleep). sleepq_exitwakeup wakes it, as
 * lwkt_switch_return wakes td's waiters after td's last switch-out (lwkt_thread.c 862-880).
 * Returns at once when td has ended or its record is gone; the caller rechecks, as lwp_wait loops.
 */
export function* tsleep_threadexit(td: Handle, wmesg: string): KGen {
  const chan = tdw(td, 0);
  tsleep_interlock(chan, 0);
  if (exitwait(td)) yield* tsleep(chan, PINTERLOCKED, wmesg, 0);
}

/** Set TDF_EXITWAIT on td's record unless td has ended; false when there is nothing to wait for. */
function exitwait(td: Handle): boolean {
  const w = tdw(td, T.flags);
  for (;;) {
    const old = Atomics.load(mem, w);
    if (old & TDF_EXITING || !image.table(THREAD).valid(td)) return false;
    // The record may be freed and handed out again between the load and the swap: a swap that
    // lands on the next thread leaves it a waiter flag (one spurious wakeup at its end), and the
    // validity check after it says there is nothing to wait for.
    if (Atomics.compareExchange(mem, w, old, old | TDF_EXITWAIT) === old) return image.table(THREAD).valid(td);
  }
}

/** The runtime ends thread h for good: TDF_EXITING set; true when someone waits for that (TDF_EXITWAIT). */
export function sleepq_threadexit(h: Handle): boolean {
  return (Atomics.or(mem, tdw(h, T.flags), TDF_EXITING) & TDF_EXITWAIT) !== 0;
}

/**
 * Wake thread h's exit waiters once its record is gone, so that a woken waiter finds it gone (td
 * is invalid the instant lwkt_switch_return sets TDF_MP_EXITSIG). The runtime's own wakeup: no
 * scheduling point, and no thread of the kernel's.
 */
export function sleepq_exitwakeup(h: Handle): void {
  wakeChannel(tdw(h, 0), Infinity, SQ);
}

/** A thread that exits while still interlocked on a queue leaves it. */
export function sleepq_remove(h: Handle): void {
  dequeue(h, false);
}

/** The wait channel of a thread (0 when not on a queue), for dumps. */
export function sleepq_wchan(h: Handle): Addr {
  return Atomics.load(mem, tdw(h, T.wchan));
}
