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
import { TDF_DESCHED, THREAD, wmesgId } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import { NULL, slotOf, type Handle, type Table } from "../shm/table.js";
import type { AuditFinding } from "../kern/kernel.js";
import { CALL_NAMES as DF_CALLS } from "../kern/dragonfly/calls.js";
import { LWP as DF_LWP, P_PPWAIT, P_WEXIT, PGRP as DF_PGRP, PROC as DF_PROC, SIGCHLD as DF_SIGCHLD, SZOMB as DF_SZOMB, WAIT_ANY, WLINUXCLONE } from "../kern/dragonfly/structs.js";
import { CALL_NAMES as NB_CALLS } from "../kern/netbsd/calls.js";
import {
  GLOBALS as NB_GLOBALS, PGRP as NB_PGRP, PL_PPWAIT, PROC as NB_PROC, PSL_TRACED, SIGCHLD as NB_SIGCHLD, SSTOP as NB_SSTOP, SZOMB as NB_SZOMB, WALLSIG, WALTSIG,
  WUNTRACED,
} from "../kern/netbsd/structs.js";
import { addrOf, listOf, peek } from "./raw.js";

/** A thread asleep on a wait channel, with what the laws need of it. */
interface Sleeper {
  td: Handle;
  cpu: number;
  proc: Handle;
  wchan: number;
  wmesg: number;
  /** The system call in progress (its number), or -1. */
  call: number;
  /** The call's first arguments (usermode.ts keeps them in the trapframe). */
  args: [number, number];
}

function sleepers(img: Image): Sleeper[] {
  const threads = img.table(THREAD);
  const out: Sleeper[] = [];
  for (const td of threads.handles()) {
    const f = (name: string) => peek(threads, td, name);
    if (!(f("td_flags") & TDF_DESCHED) || f("td_wchan") === 0) continue;
    const a = addrOf(threads, td, "tf_args");
    out.push({ td, cpu: f("td_gd"), proc: f("td_proc"), wchan: f("td_wchan"), wmesg: f("td_wmesg"), call: f("td_syscall") - 1, args: [threads.i32[a], threads.i32[a + 1]] });
  }
  return out;
}

function finding(law: string, s: Sleeper, pid: number, call: string, message: string): AuditFinding {
  return { law, message, thread: { cpu: s.cpu, tid: slotOf(s.td), pid, syscall: call } };
}

/** A process's children (p_children, then p_sibling), as far as they are valid. */
const childrenOf = (procs: Table, p: Handle) => listOf(procs, peek(procs, p, "p_children"), "p_sibling");

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
  for (const c of childrenOf(procs, p)) {
    if (exiting(img, c)) return true;
    for (const lp of listOf(lwps, peek(procs, c, "p_lwp_tree"), "lwp_rbnode")) {
      const td = peek(lwps, lp, "lwp_thread");
      if (threads.valid(td) && peek(threads, td, "td_syscall") !== 0) return true;
    }
  }
  return false;
}

/** kern_wait's filter (kern_exit.c:948-953): pid, or a group (-pgid; 0 is the waiter's own), and WLINUXCLONE. */
function dragonflyWaitsFor(img: Image, q: Handle, c: Handle, [pid, options]: [number, number]): boolean {
  const procs = img.table(DF_PROC);
  const pgrps = img.table(DF_PGRP);
  const want = pid === 0 ? -pgidOf(procs, pgrps, q) : pid;
  if (want !== WAIT_ANY && peek(procs, c, "p_pid") !== want && pgidOf(procs, pgrps, c) !== -want) return false;
  return (peek(procs, c, "p_sigparent") !== DF_SIGCHLD) === ((options & WLINUXCLONE) !== 0);
}

export function dragonflySleepLaws(img: Image, settled = false): AuditFinding[] {
  const procs = img.table(DF_PROC);
  const out: AuditFinding[] = [];
  let inFlight: boolean | undefined;
  for (const s of sleepers(img)) {
    if (!procs.valid(s.proc) || s.wchan !== addrOf(procs, s.proc)) continue;
    const pid = peek(procs, s.proc, "p_pid");
    const call = DF_CALLS[s.call] ?? "vfork";
    if (s.wmesg === PPWAIT) {
      if ([...childrenOf(procs, s.proc)].some((c) => peek(procs, c, "p_flags") & P_PPWAIT) || (settled && childBusy(img, s.proc))) continue;
      out.push(finding("vfork-lost-wakeup", s, pid, call, `pid ${pid} sleeps in ${call}'s P_PPWAIT wait, but no child of it has P_PPWAIT any more: its wakeup was lost`));
    } else if (s.wmesg === WAIT && s.call === DF_WAIT_CALL) {
      const z = [...childrenOf(procs, s.proc)].find((c) => peek(procs, c, "p_stat") === DF_SZOMB && dragonflyWaitsFor(img, s.proc, c, s.args) && threadsGone(img, c));
      if (z === undefined || (settled && (inFlight ??= exitInFlight(img)))) continue;
      out.push(finding("wait-lost-wakeup", s, pid, call, `pid ${pid} sleeps in wait(${s.args[0]}) although its child pid ${peek(procs, z, "p_pid")} is a zombie it waits for and has finished exiting: its wakeup was lost`));
    }
  }
  return out;
}

// ---------------------------------------------------------------- NetBSD

const NB_VFORKS = new Set(["vfork", "__vfork14", "clone", "fork1"].map((n) => (NB_CALLS as readonly string[]).indexOf(n)).filter((i) => i >= 0));
const NB_WAIT_CALL = (NB_CALLS as readonly string[]).indexOf("wait");

/** find_stopped_child's filter (kern_exit.c; the model's `matches`): exit signal, then pid or group. */
function netbsdWaitsFor(img: Image, q: Handle, c: Handle, [pid, options]: [number, number]): boolean {
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

export function netbsdSleepLaws(img: Image, settled = false): AuditFinding[] {
  const procs = img.table(NB_PROC);
  const g = img.table(NB_GLOBALS);
  if (settled && g.i32[addrOf(g, g.handleAt(0), "proc_lock")] !== 0) return []; // a clear-and-broadcast may be half-way
  const out: AuditFinding[] = [];
  for (const s of sleepers(img)) {
    if (!procs.valid(s.proc) || s.wchan !== addrOf(procs, s.proc, "p_waitcv")) continue;
    const pid = peek(procs, s.proc, "p_pid");
    const call = NB_CALLS[s.call] ?? "";
    if (NB_VFORKS.has(s.call)) {
      if ([...childrenOf(procs, s.proc)].some((c) => peek(procs, c, "p_lflag") & PL_PPWAIT)) continue;
      out.push(finding("vfork-lost-wakeup", s, pid, call, `pid ${pid} sleeps on its p_waitcv in ${call}, but no child of it has PL_PPWAIT any more: its wakeup was lost`));
    } else if (s.call === NB_WAIT_CALL) {
      const c = [...childrenOf(procs, s.proc)].find((c) => netbsdWaitsFor(img, s.proc, c, s.args) && netbsdReportable(procs, c, s.args[1]));
      if (c === undefined) continue;
      out.push(finding("wait-lost-wakeup", s, pid, call, `pid ${pid} sleeps in wait(${s.args[0]}) although its child pid ${peek(procs, c, "p_pid")} has ${peek(procs, c, "p_stat") === NB_SZOMB ? "exited" : "stopped"} and is one it waits for: its wakeup was lost`));
    }
  }
  return out;
}
