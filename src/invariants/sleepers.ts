/*
 * Sleep laws that know what the sleep waits for (issue 16, gap class G1): a thread asleep on a
 * wait channel whose condition already holds has lost its wakeup -- even when a later wakeup for
 * another reason ends the sleep, which shows no hang and which no watchdog sees.
 *
 *  - vfork-lost-wakeup: a vfork parent asleep in its wait while no child of it still has the flag
 *    it waits on (DragonFly P_PPWAIT: start_forked_proc, 000:924-929, cleared by exec and exit1
 *    with a wakeup of the parent right after; NetBSD PL_PPWAIT: fork1, 001:588-593, cleared and
 *    broadcast on the parent's p_waitcv under proc_lock by exec and exit1).
 *  - wait-lost-wakeup: a process asleep in wait(2) while a child it waits for (the call's pid and
 *    options, as the kernel filters them) is a zombie whose exit is over, or (NetBSD) a stopped
 *    child wait reports. DragonFly kern_wait (kern_exit.c:940-1200) sleeps on the parent,
 *    interlocked with p_waitgen, which exit1 bumps after the zombie move and wakes in lwp_exit
 *    (and wakeup(reproc) after a reparent); NetBSD exit1 makes the child SZOMB and broadcasts the
 *    parent's p_waitcv in one proc_lock section (kern_exit.c), proc_stop likewise for a stop.
 *
 * Only once the waker is done is the sleep wrong. A DragonFly zombie counts once its threads are
 * gone (its lwp_exit woke the parent). Free mode samples the laws with the other live laws and
 * reports what persists (src/run/stress.ts, LIVE_PERSIST samples in a row), as at a hang. A
 * controlled run checks them at instants where nothing else runs (src/sched/quiescent.ts:
 * whenever no cpu can run, and at each system call's entry), and there (`settled`) a state is
 * judged only when no waker can be half-way: NetBSD: proc_lock free (every clear-and-broadcast,
 * and the waiter's test-and-sleep, are made inside it); DragonFly, which clears and wakes with no
 * common lock: for the vfork wait, no child of the sleeper inside a system call or an exit (only
 * the child's own exec or exit clears P_PPWAIT); for wait(2), no process in the middle of an exit
 * (exit1 wakes a reaper only after moving every child to it, and may sleep meanwhile) and no
 * thread awake inside a system call (exitInFlight says why).
 *
 * The laws read the image raw (./raw.ts): the same code runs on the orchestrator and inside a
 * worker, where a view's scheduling point would change the run.
 */
import { TDF_COMMITTED, TDF_DESCHED, TDF_OWEWAKE, THREAD, wmesgId } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import { NULL, slotOf, type Handle, type Table } from "../shm/table.js";
import type { AuditFinding } from "../kern/kernel.js";
import { CALL_NAMES as DF_CALLS } from "../kern/dragonfly/calls.js";
import { KGLOBALS as DF_GLOBALS, LWP as DF_LWP, P_PPWAIT, P_WEXIT, PGRP as DF_PGRP, PROC as DF_PROC, SIGCHLD as DF_SIGCHLD, SZOMB as DF_SZOMB, WAIT_ANY, WLINUXCLONE } from "../kern/dragonfly/structs.js";
import { CALL_NAMES as NB_CALLS } from "../kern/netbsd/calls.js";
import {
  GLOBALS as NB_GLOBALS, PGRP as NB_PGRP, PL_PPWAIT, PROC as NB_PROC, PSL_TRACED, SIGCHLD as NB_SIGCHLD, SSTOP as NB_SSTOP, SZOMB as NB_SZOMB, WALLSIG, WALTSIG,
  WUNTRACED,
} from "../kern/netbsd/structs.js";
import { addrOf, listOf, peek } from "./raw.js";

/**
 * The first slot at or after `slot` whose thread is asleep on a wait channel, or -1. A plain walk
 * of the table's words with the offsets looked up once, allocating nothing: the orchestrator
 * samples these laws over 60,000 threads, and a controlled run checks them at every system call's
 * entry. Only a sleeper the laws go on to judge is read further.
 */
const nextSleeper = (threads: Table, slot: number): number => nextFlagged(threads, slot, TDF_DESCHED, true);

/** The first slot at or after `slot` whose thread has `flag` in td_flags (and, if `queued`, a wait channel), or -1. */
function nextFlagged(threads: Table, slot: number, flag: number, queued: boolean): number {
  const { i32 } = threads;
  const flagsAt = threads.layout.offsets.td_flags, wchanAt = threads.layout.offsets.td_wchan;
  for (let s = threads.nextUsed(slot); s >= 0; s = threads.nextUsed(s + 1)) {
    const b = threads.recordBase(s);
    if (i32[b + flagsAt] & flag && (!queued || i32[b + wchanAt] !== 0)) return s;
  }
  return -1;
}

/** The system call thread td is in (its number), or -1. */
const callOf = (threads: Table, td: Handle) => peek(threads, td, "td_syscall") - 1;

/** The call's first arguments (usermode.ts keeps them in the trapframe): a wait's pid, then its options. */
const argOf = (threads: Table, td: Handle, i: 0 | 1) => threads.i32[addrOf(threads, td, "tf_args") + i];

function finding(law: string, threads: Table, td: Handle, pid: number, call: string, message: string): AuditFinding {
  return { law, message, thread: { cpu: peek(threads, td, "td_gd"), tid: slotOf(td), pid, syscall: call } };
}

/**
 * A process's children, walked without a generator: childOf(p_children of p, 0), then
 * childOf(p_sibling of the last, n) -- each valid, at most the table's capacity of them -- until NULL.
 */
const childOf = (procs: Table, c: Handle, n: number): Handle => (c !== NULL && procs.valid(c) && n < procs.capacity ? c : NULL);
const firstChild = (procs: Table, p: Handle) => childOf(procs, peek(procs, p, "p_children"), 0);
const nextChild = (procs: Table, c: Handle, n: number) => childOf(procs, peek(procs, c, "p_sibling"), n);

/** Its process group's id, 0 without one. */
function pgidOf(procs: Table, pgrps: Table, p: Handle): number {
  const pg = peek(procs, p, "p_pgrp");
  return pg !== NULL && pgrps.valid(pg) ? peek(pgrps, pg, "pg_id") : 0;
}

// ---------------------------------------------------------------- DragonFly

const PPWAIT = wmesgId("ppwait");
const WAIT = wmesgId("wait");
const DF_WAIT_CALL = (DF_CALLS as readonly string[]).indexOf("wait");

/** Every lwp of p has left its cpu for good: its lwp_exit (and the wakeup it makes) is over. */
function threadsGone(img: Image, p: Handle): boolean {
  const procs = img.table(DF_PROC);
  const lwps = img.table(DF_LWP);
  const threads = img.table(THREAD);
  for (const lp of listOf(lwps, peek(procs, p, "p_lwp_tree"), "lwp_rbnode")) if (threads.valid(peek(lwps, lp, "lwp_thread"))) return false;
  return true;
}

/** p is in the middle of an exit: P_WEXIT, and a thread of it still runs. */
const exiting = (img: Image, p: Handle) => (peek(img.table(DF_PROC), p, "p_flags") & P_WEXIT) !== 0 && !threadsGone(img, p);

/**
 * Some process is in the middle of an exit, or some thread inside a system call is not asleep
 * (a baton switch can leave it between its part of a reparent and the wakeup): either may be the
 * waker. A clean pct baseline (mixed, seed 100197) met a waiter beside its finished zombie child
 * at another call's entry with no exit in flight.
 */
function exitInFlight(img: Image): boolean {
  const procs = img.table(DF_PROC);
  for (const p of procs.handles()) if (exiting(img, p)) return true;
  const threads = img.table(THREAD);
  for (const td of threads.handles()) {
    const asleep = (peek(threads, td, "td_flags") & TDF_DESCHED) !== 0 && peek(threads, td, "td_wchan") !== 0;
    if (peek(threads, td, "td_syscall") !== 0 && !asleep) return true;
  }
  return false;
}

/** A child of p is inside a system call or an exit: it may be between clearing P_PPWAIT and the wakeup. */
function childBusy(img: Image, p: Handle): boolean {
  const procs = img.table(DF_PROC);
  const lwps = img.table(DF_LWP);
  const threads = img.table(THREAD);
  for (let c = firstChild(procs, p), n = 1; c !== NULL; c = nextChild(procs, c, n++)) {
    if (exiting(img, c)) return true;
    for (const lp of listOf(lwps, peek(procs, c, "p_lwp_tree"), "lwp_rbnode")) {
      const td = peek(lwps, lp, "lwp_thread");
      if (threads.valid(td) && peek(threads, td, "td_syscall") !== 0) return true;
    }
  }
  return false;
}

/** kern_wait's filter (kern_exit.c:948-953): pid, or a group (-pgid; 0 is the waiter's own), and WLINUXCLONE. */
function dragonflyWaitsFor(img: Image, q: Handle, c: Handle, pid: number, options: number): boolean {
  const procs = img.table(DF_PROC);
  const pgrps = img.table(DF_PGRP);
  const want = pid === 0 ? -pgidOf(procs, pgrps, q) : pid;
  if (want !== WAIT_ANY && peek(procs, c, "p_pid") !== want && pgidOf(procs, pgrps, c) !== -want) return false;
  return (peek(procs, c, "p_sigparent") !== DF_SIGCHLD) === ((options & WLINUXCLONE) !== 0);
}

/** A child of p with P_PPWAIT still set: the vfork wait's condition does not hold yet. */
function dragonflyVforkPending(procs: Table, p: Handle): boolean {
  for (let c = firstChild(procs, p), n = 1; c !== NULL; c = nextChild(procs, c, n++)) if (peek(procs, c, "p_flags") & P_PPWAIT) return true;
  return false;
}

/** A child of p that wait(pid, options) would reap and whose exit is over, or NULL. */
function dragonflyReapable(img: Image, p: Handle, pid: number, options: number): Handle {
  const procs = img.table(DF_PROC);
  for (let c = firstChild(procs, p), n = 1; c !== NULL; c = nextChild(procs, c, n++)) {
    if (peek(procs, c, "p_stat") === DF_SZOMB && dragonflyWaitsFor(img, p, c, pid, options) && threadsGone(img, c)) return c;
  }
  return NULL;
}

export function dragonflySleepLaws(img: Image, settled = false): AuditFinding[] {
  const procs = img.table(DF_PROC);
  const threads = img.table(THREAD);
  const out: AuditFinding[] = [];
  let inFlight: boolean | undefined;
  for (let s = nextSleeper(threads, 0); s >= 0; s = nextSleeper(threads, s + 1)) {
    const td = threads.handleAt(s);
    const p = td === NULL ? NULL : peek(threads, td, "td_proc");
    if (!procs.valid(p) || peek(threads, td, "td_wchan") !== addrOf(procs, p)) continue;
    const wmesg = peek(threads, td, "td_wmesg");
    if (wmesg === PPWAIT) {
      if (dragonflyVforkPending(procs, p) || (settled && childBusy(img, p))) continue;
      const pid = peek(procs, p, "p_pid"), call = DF_CALLS[callOf(threads, td)] ?? "vfork";
      out.push(finding("vfork-lost-wakeup", threads, td, pid, call, `pid ${pid} sleeps in ${call}'s P_PPWAIT wait, but no child of it has P_PPWAIT any more: its wakeup was lost`));
    } else if (wmesg === WAIT && callOf(threads, td) === DF_WAIT_CALL) {
      const z = dragonflyReapable(img, p, argOf(threads, td, 0), argOf(threads, td, 1));
      if (z === NULL || (settled && (inFlight ??= exitInFlight(img)))) continue;
      const pid = peek(procs, p, "p_pid");
      out.push(finding("wait-lost-wakeup", threads, td, pid, "wait", `pid ${pid} sleeps in wait(${argOf(threads, td, 0)}) although its child pid ${peek(procs, z, "p_pid")} is a zombie it waits for and has finished exiting: its wakeup was lost`));
    }
  }
  return out;
}

/*
 * lost-wakeup (gap class G1): a wakeup that finds a thread committed to sleep on its channel but
 * not yet queued -- an untimed tsleep without PINTERLOCKED between its entry and its queueing
 * (TDF_COMMITTED, src/sync/sleep.ts) -- while the condition that sleep waits for already holds.
 * The thread tested the condition before it called tsleep and will sleep without testing it
 * again; this wakeup, the one the change it waits for was announced by, passes it by. Judged at
 * the wakeup, so a later wakeup for another reason (a child's exit, a signal) cannot hide it.
 * The sleeps whose conditions are known:
 *  - exit1: the task leader waits for its RFTHREAD peers to leave the chain, p_peers NULL
 *    (kern_exit.c 336-337); each peer unlinks itself and wakes the leader (381-387);
 *  - ppwait: the vfork parent, no child with P_PPWAIT (000:924-929; exec and exit1 clear and wake);
 *  - deadlwp: deadlwp_task's untimed sleep, taken when the list was empty; lwp_exit queues an lwp
 *    on it and wakes the task.
 * No verdict while another thread owes a wakeup (TDF_OWEWAKE: it made such a condition true and
 * has not woken yet): the sleeper may be that wakeup's, still to come.
 */
const EXIT1 = wmesgId("exit1");
const DEADLWP = wmesgId("deadlwp");

/** What thread td, committed to sleep, waits for if a wakeup of `ident` is its, and that holds now; else null. */
function dragonflyConditionMet(img: Image, td: Handle, ident: number): string | null {
  const threads = img.table(THREAD);
  const procs = img.table(DF_PROC);
  const wmesg = peek(threads, td, "td_wmesg");
  if (wmesg === DEADLWP) {
    const g = img.table(DF_GLOBALS);
    const h = g.handleAt(0);
    return ident === addrOf(g, h, "deadlwp") && peek(g, h, "deadlwp") !== NULL ? "the deadlwp list is not empty" : null;
  }
  const p = peek(threads, td, "td_proc");
  if (!procs.valid(p) || ident !== addrOf(procs, p)) return null;
  if (wmesg === EXIT1) return peek(procs, p, "p_peers") === NULL ? "its RFTHREAD peer chain is empty (p_peers NULL)" : null;
  if (wmesg === PPWAIT) return dragonflyVforkPending(procs, p) ? null : "no child of it has P_PPWAIT any more";
  if (wmesg === WAIT && callOf(threads, td) === DF_WAIT_CALL) {
    const z = dragonflyReapable(img, p, argOf(threads, td, 0), argOf(threads, td, 1));
    return z === NULL ? null : `its child pid ${peek(procs, z, "p_pid")} is a zombie it waits for`;
  }
  return null;
}

/** A thread other than `waker` owes a wakeup. */
function othersOwe(threads: Table, waker: Handle): boolean {
  for (let s = nextFlagged(threads, 0, TDF_OWEWAKE, false); s >= 0; s = nextFlagged(threads, s + 1, TDF_OWEWAKE, false)) if (threads.handleAt(s) !== waker) return true;
  return false;
}

/** A thread's pid, 0 for a kernel thread. */
function pidOf(img: Image, td: Handle): number {
  const procs = img.table(DF_PROC);
  const p = peek(img.table(THREAD), td, "td_proc");
  return procs.valid(p) ? peek(procs, p, "p_pid") : 0;
}

export function dragonflyLostWakeup(img: Image, ident: number, waker: Handle): AuditFinding[] {
  const threads = img.table(THREAD);
  const out: AuditFinding[] = [];
  for (let s = nextFlagged(threads, 0, TDF_COMMITTED, false); s >= 0; s = nextFlagged(threads, s + 1, TDF_COMMITTED, false)) {
    const td = threads.handleAt(s);
    const met = dragonflyConditionMet(img, td, ident);
    if (met === null || othersOwe(threads, waker)) continue;
    const pid = pidOf(img, td), call = DF_CALLS[callOf(threads, td)] ?? "kernel thread";
    out.push(finding("lost-wakeup", threads, td, pid, call, `wakeup of ${img.describe(ident)} by pid ${pidOf(img, waker)} found thread ${slotOf(td)} (pid ${pid}, ${call}) committed to sleep on it but not yet queued, although ${met}: the sleep was tested before the queueing with no tsleep_interlock, and this wakeup is lost`));
  }
  return out;
}

/*
 * lost-wakeup's other half (a dropped wakeup): thread `ower` made a sleeper's condition true and
 * owes the wakeup of `owed` that announces it (wakeup_owed, src/sync/sleep.ts), and is now seen
 * going on without it -- it wakes another channel, its system call ends, it exits. Each owed
 * wakeup follows its write on every path with no other wakeup between, so in a kernel that makes
 * it this is never judged. A thread asleep on `owed` (or committed to sleep on it) whose condition
 * holds has then lost its wakeup: nothing will end its sleep but a later wakeup for another reason.
 * Sleeps judged: those lost-wakeup knows (exit1, ppwait, deadlwp), and wait(2), whose zombie a
 * reparent handed to a reaper (exit1 wakes the reaper after moving a zombie to it).
 */
export function dragonflyUnpaidWakeup(img: Image, owed: number, ower: Handle, instead: string): AuditFinding[] {
  const threads = img.table(THREAD);
  if (othersOwe(threads, ower)) return [];
  const out: AuditFinding[] = [];
  for (let s = nextFlagged(threads, 0, TDF_COMMITTED | TDF_DESCHED, false); s >= 0; s = nextFlagged(threads, s + 1, TDF_COMMITTED | TDF_DESCHED, false)) {
    const td = threads.handleAt(s);
    const committed = (peek(threads, td, "td_flags") & TDF_COMMITTED) !== 0;
    if (!committed && peek(threads, td, "td_wchan") !== owed) continue;
    const met = dragonflyConditionMet(img, td, owed);
    if (met === null) continue;
    const pid = pidOf(img, td), call = DF_CALLS[callOf(threads, td)] ?? "kernel thread";
    out.push(finding("lost-wakeup", threads, td, pid, call, `pid ${pidOf(img, ower)} owed a wakeup of ${img.describe(owed)} and ${instead}, while thread ${slotOf(td)} (pid ${pid}, ${call}) ${committed ? "is committed to sleep" : "sleeps"} on it although ${met}: that wakeup is lost`));
  }
  return out;
}

// ---------------------------------------------------------------- NetBSD

const NB_VFORKS = new Set(["vfork", "__vfork14", "clone", "fork1"].map((n) => (NB_CALLS as readonly string[]).indexOf(n)).filter((i) => i >= 0));
const NB_WAIT_CALL = (NB_CALLS as readonly string[]).indexOf("wait");

/** find_stopped_child's filter (kern_exit.c; the model's `matches`): exit signal, then pid or group. */
function netbsdWaitsFor(img: Image, q: Handle, c: Handle, pid: number, options: number): boolean {
  const procs = img.table(NB_PROC);
  const pgrps = img.table(NB_PGRP);
  const exitsig = peek(procs, c, "p_exitsig");
  const reports = peek(procs, c, "p_slflag") & PSL_TRACED ? NB_SIGCHLD : exitsig;
  if (!(options & WALLSIG) && (options & WALTSIG ? exitsig === NB_SIGCHLD : reports !== NB_SIGCHLD)) return false;
  if (pid === -1) return true;
  if (pid > 0) return peek(procs, c, "p_pid") === pid;
  const pgid = pid === 0 ? (peek(procs, q, "p_pgrp") === NULL ? -1 : pgidOf(procs, pgrps, q)) : -pid;
  return pgidOf(procs, pgrps, c) === pgid;
}

/** What wait would report of child c at once: its exit, or a stop it has not reported. */
function netbsdReportable(procs: Table, c: Handle, options: number): boolean {
  const stat = peek(procs, c, "p_stat");
  if (stat === NB_SZOMB) return true;
  return stat === NB_SSTOP && peek(procs, c, "p_waited") === 0 && (peek(procs, c, "p_slflag") & PSL_TRACED || options & WUNTRACED) !== 0;
}

/** A child of p with PL_PPWAIT still set: the vfork wait's condition does not hold yet. */
function netbsdVforkPending(procs: Table, p: Handle): boolean {
  for (let c = firstChild(procs, p), n = 1; c !== NULL; c = nextChild(procs, c, n++)) if (peek(procs, c, "p_lflag") & PL_PPWAIT) return true;
  return false;
}

/** A child of p that wait(pid, options) would report at once, or NULL. */
function netbsdReportableChild(img: Image, p: Handle, pid: number, options: number): Handle {
  const procs = img.table(NB_PROC);
  for (let c = firstChild(procs, p), n = 1; c !== NULL; c = nextChild(procs, c, n++)) if (netbsdWaitsFor(img, p, c, pid, options) && netbsdReportable(procs, c, options)) return c;
  return NULL;
}

export function netbsdSleepLaws(img: Image, settled = false): AuditFinding[] {
  const procs = img.table(NB_PROC);
  const threads = img.table(THREAD);
  const g = img.table(NB_GLOBALS);
  if (settled && g.i32[addrOf(g, g.handleAt(0), "proc_lock")] !== 0) return []; // a clear-and-broadcast may be half-way
  const out: AuditFinding[] = [];
  for (let s = nextSleeper(threads, 0); s >= 0; s = nextSleeper(threads, s + 1)) {
    const td = threads.handleAt(s);
    const p = td === NULL ? NULL : peek(threads, td, "td_proc");
    if (!procs.valid(p) || peek(threads, td, "td_wchan") !== addrOf(procs, p, "p_waitcv")) continue;
    const call = callOf(threads, td);
    if (NB_VFORKS.has(call)) {
      if (netbsdVforkPending(procs, p)) continue;
      const pid = peek(procs, p, "p_pid");
      out.push(finding("vfork-lost-wakeup", threads, td, pid, NB_CALLS[call], `pid ${pid} sleeps on its p_waitcv in ${NB_CALLS[call]}, but no child of it has PL_PPWAIT any more: its wakeup was lost`));
    } else if (call === NB_WAIT_CALL) {
      const c = netbsdReportableChild(img, p, argOf(threads, td, 0), argOf(threads, td, 1));
      if (c === NULL) continue;
      const pid = peek(procs, p, "p_pid");
      out.push(finding("wait-lost-wakeup", threads, td, pid, "wait", `pid ${pid} sleeps in wait(${argOf(threads, td, 0)}) although its child pid ${peek(procs, c, "p_pid")} has ${peek(procs, c, "p_stat") === NB_SZOMB ? "exited" : "stopped"} and is one it waits for: its wakeup was lost`));
    }
  }
  return out;
}
