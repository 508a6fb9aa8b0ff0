/*
 * The runtime's own tables in the image, shared by both kernels: threads, per-CPU globaldata,
 * the hashed sleep queues and the machine's run control. Kernel structures (proc, lwp, pgrp...)
 * are declared by each kernel model in src/kern.
 */
import type { Image } from "./image.js";
import { defineStruct, LINE_PAD, SPINLOCK, type StructDecl } from "./struct.js";
import type { Addr } from "./table.js";

/** The simulated kernel thread (struct thread). */
export const THREAD = defineStruct("thread", {
  td_gd: 1, // cpu the thread belongs to; threads do not migrate inside a syscall
  td_flags: 1, // TDF_*; TDF_TSLEEPQ/TDF_SINTR change only atomically
  td_wchan: 1, // wait channel (an Addr) while on a sleep queue, else 0
  td_slnext: 1, // next thread handle on the same sleep-queue bucket
  td_timeout: 1, // tick at which a timed tsleep gives up, 0 = none
  td_sleepres: 1, // why the last sleep ended: 0 woken, EWOULDBLOCK, EINTR
  td_lwp: 1, // the lwp this thread runs (kernel-level handle)
  td_proc: 1,
  td_prog: 1, // program to start: hashed name (see sched/programs.ts)
  td_wmesg: 1, // what the thread last slept for: wmesgId() of tsleep's wmesg (live laws read it)
  td_syscall: 1, // the system call in progress: its number + 1, 0 in user mode (live laws read it)
  td_arg0: 1,
  td_arg1: 1,
  td_arg2: 1,
  td_arg3: 1,
  // The trapframe a scripted user thread takes its next system call from (src/kern/usermode.ts).
  tf_state: 1, // TF_IDLE, TF_CALL (a call is posted), TF_DONE (its result is in)
  tf_call: 1,
  tf_args: 6,
  tf_ret: 1,
  tf_errno: 1,
  tf_out: 4,
  // Where a child made by this thread's next fork/vfork/rfork/lwp_create returns to user mode:
  // a program and its arguments (0: the parent's own program and arguments, as for scripts).
  tf_cprog: 1,
  tf_cargs: 4,
}, {
  handles: { td_proc: "proc", td_lwp: "lwp" }, // the kernel's tables, when the image has them
});

export const TF_IDLE = 0;
export const TF_CALL = 1;
export const TF_DONE = 2;

/** TDF_ flags the runtime owns. */
export const TDF_TSLEEPQ = 0x1; // on a sleep queue (tsleep_interlock or tsleep)
export const TDF_DESCHED = 0x2; // descheduled by tsleep: only a wakeup or timeout makes it run
export const TDF_SINTR = 0x4; // sleeping interruptibly (PCATCH): a signal may wake it
export const TDF_EXITING = 0x8; // the thread has ended for good (its last switch-out); set once, by the runtime
export const TDF_EXITWAIT = 0x10; // someone sleeps on the record until TDF_EXITING (DragonFly TDF_MP_EXITWAIT)
/**
 * Controlled modes only, for the lost-wakeup law (src/sync/sleep.ts): TDF_COMMITTED while an
 * untimed tsleep without PINTERLOCKED is between its entry (the caller has tested its condition)
 * and its queueing -- a wakeup then finds no sleeper; TDF_OWEWAKE from a kernel write that makes
 * a sleeper's condition true (wakeup_owed) until the thread's next wakeup.
 */
export const TDF_COMMITTED = 0x20;
export const TDF_OWEWAKE = 0x40;
/**
 * Linked on a sleep-queue bucket's list: set and cleared only by the list operations themselves,
 * beside the pointer writes, under the bucket lock. A record freed with it set is still on a list
 * (the next walk of that bucket reads the poisoned record): sleep.ts refuses that free.
 */
export const TDF_ONSLPQ = 0x100;
/**
 * Queued on its wait object's own queue (OBJQ: a condvar's, a mutex's turnstile), not on the
 * sleep-queue hash (SLEEPQ): set or cleared by the thread itself before it publishes td_wchan, so
 * a dequeuer that reads td_wchan finds the queue it names (sync/sleep.ts).
 */
export const TDF_OBJQ = 0x200;

/**
 * A sleep-queue hash bucket (DragonFly's slpque, NetBSD's sleeptab): the threads asleep on every
 * wait channel that hashes here, which each tsleep, wakeup and dequeue of such a channel walks
 * (sync/sleep.ts). The kernel model declares the table, sized as its kernel sizes it (its
 * tables()): how many sleepers a walk passes is the kernel's, not ours.
 */
export const SLEEPQ = defineStruct("sleepq", { sq_lock: SPINLOCK, sq_head: 1 });

/**
 * NetBSD's wait objects each have a sleep queue of their own, never the sleeptab hash that tsleep
 * and wakeup share: a condition variable's is CV_SLEEPQ(cv) (kern_condvar.c 62), which cv_broadcast
 * alone looks at (338-345); an adaptive mutex's waiters block on the turnstile of that mutex
 * (kern_mutex.c 682, turnstile_block's sleepq_enqueue on ts_sleepq, kern_turnstile.c 412-420),
 * which mutex_exit wakes (kern_mutex.c 763-770) after a lookup that passes only the turnstiles of
 * locks contended now (kern_turnstile.c 164-175). The model keeps these queues in a table of their
 * own, hashed by the object's address and sized for about one object a bucket, with SLEEPQ's
 * layout; a kernel without such objects has none.
 */
export const OBJQ = defineStruct("objq", { sq_lock: SPINLOCK, sq_head: 1 });

/** Per-CPU globaldata: doorbell (the model's IPI) and the inbox of threads made runnable here. */
export function globaldataDecl(maxThreads: number) {
  return defineStruct("globaldata", {
    gd_cpuid: 1,
    gd_doorbell: 1, // bumped and notified whenever something is queued for this cpu
    gd_idle: 1, // 1 while the cpu waits on its doorbell
    // Controlled modes: what the baton holder reads to choose the next cpu (src/sched/baton.ts).
    gd_nrun: 1, // threads on this cpu's run queue (the inbox is counted from its ring)
    gd_nextto: 1, // earliest timed-sleep deadline on this cpu, 0 = none
    gd_spin: 1, // 1 while this cpu cannot progress until another one runs
    gd_inq_lock: 1,
    gd_inq_head: 1,
    gd_inq_tail: 1,
    gd_inq: maxThreads + 1, // ring of thread handles
    // Progress: system calls completed on this cpu, written by it at each one. Last, away from the
    // doorbell and inbox words other cpus write at each wake-up sent here (the ring between them;
    // the next cpu's record starts with words written once).
    gd_ops: 1,
  });
}

/** rtctl.rt_drain: the drain was asked for, and no system call has completed since. */
export const DRAIN_ASKED = -1;

/**
 * The machine's run control (one record): words written once or rarely, which every cpu reads
 * -- rt_stop at each turn of its loop, rt_drain at each system call. The counters every cpu
 * writes at every sleep and wakeup are in RTCOUNT, away from them: on one line with rt_stop they
 * took that line from every reader at each write (false sharing between free-running cpus).
 */
export const RTCTL = defineStruct("rtctl", {
  rt_stop: 1, // set once: every cpu leaves its loop
  rt_go: 1, // released by the orchestrator once every cpu attached
  // The end of a stress run: user programs exit, init reaps them all. 0 running; DRAIN_ASKED once
  // asked for; > 0 draining, since that many system calls had completed (set by the cpu
  // completing the call: a controlled run drains at the same step every time).
  rt_drain: 1,
  rt_ticks: 1, // logical clock (controlled and script modes)
  rt_epoch_hi: 1, // wall clock start, ms (free mode ticks)
  rt_epoch_lo: 1,
  rt_quiet: 1, // always 0: a word to wait on for a pure timeout
  rt_violations: 1,
  rt_started: 1, // start barrier: cpus that have attached
  // The record keeps its size and rt_baton its place (every kernel table after it keeps its
  // addresses, which controlled runs hash).
  rt_pad0: 19,
  // Controlled modes. What travels with the baton (baton.ts) shares the baton word's line:
  // waiting cpus spin on that line and the holder writes it only in one burst as it hands the
  // baton on, so the receiver gets the baton and all it carries in one line transfer. On a line
  // of their own they were a second transfer on every hand-off's critical path (issue 13).
  rt_baton: 1, // the one cpu allowed to run; -1 = every cpu (stopping)
  rt_step: 1, // scheduling decisions taken so far (written back at hand-offs: baton.ts)
  rt_choices: 1, // decisions where more than one cpu could run (PCT's steps)
  rt_hash0: 1, // hash of the decision and event sequence (two 32-bit halves)
  rt_hash1: 1,
  rt_chooser: 68, // the strategy's state, shared so every cpu decides alike
  rt_pad1: 30,
});

/**
 * The machine's run counters (one record), which every cpu writes at every sleep, wakeup, thread
 * start and exit: true sharing, one line that moves between the cpus, and nothing else on it.
 * LINE_PAD words on either side keep any other word off that line (and off its neighbour, which
 * the adjacent-line prefetcher pulls along) wherever the image happens to start -- a
 * SharedArrayBuffer is only 16-byte aligned for sure. The image's last table (spec.ts), so it
 * moves no kernel address.
 */
export const RTCOUNT = defineStruct("rtcount", {
  rt_lead: LINE_PAD,
  rt_runnable: 1, // threads runnable or running anywhere (quiescence)
  rt_timed: 1, // threads in a timed sleep (they will run again by themselves)
  rt_live: 1, // threads not yet exited
  rt_nextcpu: 1, // round-robin placement of new threads
  rt_trail: LINE_PAD,
});

/** Every run-control word (RTCTL's and RTCOUNT's) by name, as an image address. */
export function runControlWords(img: Image): Readonly<Record<string, Addr>> {
  const words: Record<string, Addr> = {};
  for (const decl of [RTCTL, RTCOUNT] as StructDecl[]) {
    const t = img.table(decl);
    for (const n of t.layout.names) words[n] = t.recordBase(0) + t.layout.offsets[n];
  }
  return words;
}

/** A wait message as the image stores it (td_wmesg): a hash of the string. */
export function wmesgId(wmesg: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < wmesg.length; i++) h = Math.imul(h ^ wmesg.charCodeAt(i), 0x01000193);
  return h | 1;
}
