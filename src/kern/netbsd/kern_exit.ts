/*
 * The other halves of fork under proc_lock (NOTES B6): exit1 with exit_lwps, lwp_exit, wait
 * (find_stopped_child + proc_free) and exec's end of the vfork wait.
 */
import { bug } from "../../bugs/switch.js";
import { violation, KKASSERT } from "../../shm/hooks.js";
import { nprocs_check } from "./kern_fork.js";
import { NULL } from "../../shm/table.js";
import { atomic_add_int } from "../../sync/atomic.js";
import { cv_broadcast, cv_wait, cv_wait_sig } from "../../sync/condvar.js";
import { ECHILD } from "../../sync/errno.js";
import { mutex_enter, mutex_exit, mutex_owned } from "../../sync/kmutex.js";
import { image, type KGen } from "../../sync/seam.js";
import { tsleep_signal } from "../../sync/sleep.js";
import { THREAD } from "../../shm/core.js";
import {
  chgproccnt, cwdfree, fd_free, pool_put, lim_free, LIST_INSERT_HEAD, LIST_ITER, LIST_REMOVE, lwp_free, mutex_obj_free, p_lock, p_stat_unlocked, proc_free_pid, proc_leavepgrp, proc_reparent,
  sigactsfree, sigactsinit, uvmspace_alloc, uvmspace_free,
} from "./kern_proc.js";
import { lwp_stopwait, proc_stop, psignal, sigacts } from "./kern_sig.js";
import {
  G, L, LSZOMB, PG, PROC, LW_WEXIT, P, PK_CLDSIGIGN, PK_EXEC, PK_NOCLDWAIT, PL_PPWAIT, proc_lock, PS_STOPEXEC, PS_WEXIT, PSL_TRACED, PSL_TRACEFORK, PSL_TRACEVFORK,
  PSL_CHTRACED, PSL_TRACEVFORK_DONE, SDEAD, SDYING, SIGACTS, SIGCHLD, SIGKILL, SIGSTOP, SSTOP, SZOMB, W_STOPCODE, WALLSIG, WALTSIG, WNOHANG, WUNTRACED,
  type LwpView, type ProcView,
} from "./structs.js";

/**
 * exit_lwps: every other lwp of p is told to exit (LW_WEXIT, interruptible sleeps aborted, stopped
 * ones released) and this lwp waits on p_lwpcv until it is the last. p_lock held. As the kernel's
 * `retry:`, it looks again each time an lwp leaves: an lwp still running when it looked may have
 * created another meanwhile, which must be told too.
 */
function* exit_lwps(p: ProcView, l: LwpView): KGen {
  const lock = p_lock(p);
  tell_lwps_to_exit(p, l);
  while (p.p_nlwps - p.p_nzlwps > 1) {
    yield* cv_wait(p.ptr("p_lwpcv"), lock);
    tell_lwps_to_exit(p, l);
  }
}

/** Flag each lwp of p but l that is not flagged yet with LW_WEXIT, and wake it to see it. */
function tell_lwps_to_exit(p: ProcView, l: LwpView): void {
  const threads = image.table(THREAD);
  for (const lh of LIST_ITER(p.p_lwps, L, "l_sibling")) {
    const l2 = L(lh);
    if (lh === l.h || l2.l_flag & LW_WEXIT) continue;
    l2.l_flag |= LW_WEXIT;
    cv_broadcast(l2.ptr("l_stopcv"));
    if (threads.valid(l2.l_thread)) tsleep_signal(l2.l_thread);
  }
}

/**
 * lwp_exit: an lwp leaves its process and is freed. The last live lwp of a process that is not
 * exiting already leaves nothing: lwp_exit tests for it under p_lock, in the same hold as the
 * leaving (kern_lwp.c), and returns false -- its caller exits the process (exit1), which no other
 * lwp can race once this one is the last.
 */
export function* lwp_exit(p: ProcView, l: LwpView): KGen<boolean> {
  const lock = p_lock(p);
  yield* mutex_enter(lock);
  if (p.p_nlwps - p.p_nzlwps <= 1 && !(p.p_sflag & PS_WEXIT)) {
    mutex_exit(lock);
    return false;
  }
  if (!LIST_REMOVE(p, "p_lwps", l.h, L, "l_sibling")) violation("lwp-list", `lwp ${l.l_lid} missing from pid ${p.p_pid}'s p_lwps`);
  p.p_nlwps--;
  p.p_nrlwps--;
  cv_broadcast(p.ptr("p_lwpcv"));
  mutex_exit(lock);
  lwp_free(l);
  return true;
}

/** Ending the vfork wait, as exec and exit do it under proc_lock (NOTES B6). */
function vfork_release(p: ProcView): void {
  // p_lflag is proc_lock's, and the parent tests PL_PPWAIT and sleeps under it (001:591-592).
  KKASSERT(mutex_owned(proc_lock()), "proc-lock-not-held", `vfork_release of pid ${p.p_pid} without proc_lock`);
  if (p.p_lflag & PL_PPWAIT) {
    p.p_lflag &= ~PL_PPWAIT;
    cv_broadcast(P(p.p_pptr).ptr("p_waitcv"));
  }
}

/**
 * exit1: the calling lwp ends the process with wait status `status`. The caller's thread ends
 * afterwards (the lwp stays as the zombie's until wait frees it). Returns false when another lwp
 * was already exiting the process (this one just leaves).
 */
export function* exit1(p: ProcView, l: LwpView, status: number): KGen<boolean> {
  const lock = p_lock(p);
  yield* mutex_enter(lock);
  if (p.p_sflag & PS_WEXIT) {
    mutex_exit(lock);
    yield* lwp_exit(p, l);
    return false;
  }
  p.p_sflag |= PS_WEXIT;
  yield* exit_lwps(p, l);
  p.p_stat = SDYING;
  mutex_exit(lock);

  // Release what the process no longer needs (fd_free, cwdfree, uvm_proc_exit).
  fd_free(p.p_fd);
  p.p_fd = NULL;
  cwdfree(p.p_cwdi);
  p.p_cwdi = NULL;
  uvmspace_free(p.p_vmspace);
  p.p_vmspace = NULL;

  if (bug("nb.exit-ppwait-unlocked")) {
    vfork_release(p); // clears PL_PPWAIT and broadcasts before taking proc_lock
    yield* mutex_enter(proc_lock());
  } else {
    yield* mutex_enter(proc_lock());
    vfork_release(p);
  }

  // Forget p as the original parent of processes traced away from it, if it ever lost one
  // (PSL_CHTRACED) -- on allproc only: "eventual former children on zombproc list won't reference
  // p_opptr anymore" (kern_exit.c 434-447). A traced zombie still does (findings N3).
  if (p.p_slflag & PSL_CHTRACED) for (const h of LIST_ITER(G().allproc, P, "p_list")) if (P(h).p_opptr === p.h) P(h).p_opptr = NULL;

  // Give orphaned children to init; traced ones go back to their original parent and die (449-478).
  const initproc = G().initproc;
  let wakeinit = p.p_children !== NULL;
  for (const qh of LIST_ITER(p.p_children, P, "p_sibling")) {
    const q = P(qh);
    if (q.p_slflag & PSL_TRACED) {
      const ql = p_lock(q);
      yield* mutex_enter(ql);
      q.p_slflag &= ~(PSL_TRACED | PSL_TRACEFORK | PSL_TRACEVFORK | PSL_TRACEVFORK_DONE);
      mutex_exit(ql);
      if (q.p_opptr !== q.p_pptr) {
        const t = q.p_opptr;
        proc_reparent(q, t !== NULL ? t : initproc);
        q.p_opptr = NULL;
      } else proc_reparent(q, initproc);
      yield* psignal(q, SIGKILL); // killproc(q, "orphaned traced process")
    } else proc_reparent(q, initproc);
  }

  // Move from allproc to zombproc: nearly ready to be collected by the parent.
  if (!LIST_REMOVE(G(), "allproc", p.h, P, "p_list")) violation("allproc-list", `pid ${p.p_pid} missing from allproc at exit`);
  LIST_INSERT_HEAD(G(), "zombproc", p.h, P, "p_list");
  p.p_stat = SDEAD;
  const old_parent = P(p.p_pptr);
  old_parent.p_nstopchild++;
  // To the front of the parent's children, where wait finds it first (kern_exit.c 497-501).
  if (old_parent.p_children !== p.h) {
    LIST_REMOVE(old_parent, "p_children", p.h, P, "p_sibling");
    LIST_INSERT_HEAD(old_parent, "p_children", p.h, P, "p_sibling");
  }

  // Parent with PK_NOCLDWAIT or PK_CLDSIGIGN: init collects us instead.
  if (old_parent.p_flag & (PK_NOCLDWAIT | PK_CLDSIGIGN)) {
    proc_reparent(p, initproc);
    wakeinit = true;
    if (old_parent.p_children === NULL) cv_broadcast(old_parent.ptr("p_waitcv"));
  }
  const new_parent = P(p.p_pptr);
  if (p.p_exitsig !== 0) yield* psignal(new_parent, p.p_exitsig);
  if (wakeinit) {
    cv_broadcast(P(initproc).ptr("p_waitcv"));
    // Model: init is not asleep in wait(2); SIGCHLD makes its thread reap (userret).
    if (new_parent.h !== initproc) yield* psignal(P(initproc), SIGCHLD);
  }

  yield* mutex_enter(lock);
  p.p_xstat = status;
  p.p_stat = SZOMB;
  l.l_stat = LSZOMB;
  p.p_nzlwps++;
  p.p_nrlwps--;
  mutex_exit(lock);
  // Wake up the parent so it can get the exit status.
  cv_broadcast(P(p.p_pptr).ptr("p_waitcv"));
  mutex_exit(proc_lock());
  return true;
}

export interface WaitResult {
  error: number;
  pid: number;
  status: number;
}

/** P_EXITSIG: a traced child reports to its tracer with SIGCHLD whatever its own exit signal. */
const P_EXITSIG = (p: ProcView): number => (p.p_slflag & PSL_TRACED ? SIGCHLD : p.p_exitsig);

function matches(child: ProcView, parent: ProcView, pid: number, options: number): boolean {
  // find_stopped_child: without WALLSIG, wait(2) sees only SIGCHLD children, WALTSIG only the others.
  if (!(options & WALLSIG) && (options & WALTSIG ? child.p_exitsig === SIGCHLD : P_EXITSIG(child) !== SIGCHLD)) return false;
  if (pid === -1) return true;
  if (pid > 0) return child.p_pid === pid;
  const pgid = pid === 0 ? (parent.p_pgrp === NULL ? -1 : pgidOf(parent)) : -pid;
  return pgidOf(child) === pgid;
}
const pgidOf = (p: ProcView): number => (p.p_pgrp === NULL ? 0 : PG(p.p_pgrp).pg_id);

/**
 * wait4 (do_sys_wait + find_stopped_child, kern_exit.c 710-815): reap a zombie child or report a
 * stopped one, else sleep on p_waitcv under proc_lock (cv_wait_sig), or return 0 for WNOHANG,
 * ECHILD for none. The scan stops at the first child that is neither when the parent counts no
 * stopped or zombie child (p_nstopchild == 0), or at the one pid asked for; a child caught in
 * SDEAD (between exit1's two proc_lock sections) is waited for even with WNOHANG.
 */
export function* sys_wait(parent: ProcView, pid: number, options: number): KGen<WaitResult> {
  yield* mutex_enter(proc_lock());
  for (;;) {
    let found = false;
    let dead = false;
    for (const ch of LIST_ITER(parent.p_children, P, "p_sibling")) {
      const child = P(ch);
      if (!matches(child, parent, pid, options)) continue;
      found = true;
      if (p_stat_unlocked(child) === SZOMB) {
        const r = { error: 0, pid: child.p_pid, status: child.p_xstat };
        yield* proc_free(child, parent); // drops proc_lock
        return r;
      }
      if (p_stat_unlocked(child) === SDEAD) dead = true;
      if (p_stat_unlocked(child) === SSTOP && !child.p_waited && (child.p_slflag & PSL_TRACED || options & WUNTRACED)) {
        child.p_waited = 1;
        parent.p_nstopchild--;
        const r = { error: 0, pid: child.p_pid, status: W_STOPCODE(child.p_xsig) };
        mutex_exit(proc_lock());
        return r;
      }
      if (parent.p_nstopchild === 0 || child.p_pid === pid) break;
    }
    if (!found) {
      mutex_exit(proc_lock());
      return { error: ECHILD, pid: 0, status: 0 };
    }
    if (options & WNOHANG && !dead) {
      mutex_exit(proc_lock());
      return { error: 0, pid: 0, status: 0 };
    }
    const error = yield* cv_wait_sig(parent.ptr("p_waitcv"), proc_lock());
    if (error) {
      mutex_exit(proc_lock());
      return { error, pid: 0, status: 0 };
    }
  }
}

/**
 * proc_free: the zombie's last resources. proc_lock held on entry, released on return. A child
 * the parent only had through ptrace is given back to its original parent instead (and signalled).
 */
function* proc_free(p: ProcView, parent: ProcView): KGen {
  if (p.p_slflag & PSL_TRACED && p.p_opptr !== parent.h) {
    const lock = p_lock(p);
    yield* mutex_enter(lock);
    p.p_slflag &= ~(PSL_TRACED | PSL_TRACEFORK | PSL_TRACEVFORK | PSL_TRACEVFORK_DONE);
    mutex_exit(lock);
    const np = p.p_opptr === NULL ? G().initproc : p.p_opptr; // kern_exit.c 845-853
    proc_reparent(p, np);
    p.p_opptr = NULL;
    if (p.p_exitsig !== 0) yield* psignal(P(np), p.p_exitsig);
    cv_broadcast(P(np).ptr("p_waitcv"));
    mutex_exit(proc_lock());
    return;
  }
  parent.p_nstopchild--;
  if (!LIST_REMOVE(G(), "zombproc", p.h, P, "p_list")) violation("zombproc-list", `pid ${p.p_pid} missing from zombproc when reaped`);
  if (!LIST_REMOVE(parent, "p_children", p.h, P, "p_sibling")) violation("child-list", `pid ${p.p_pid} missing from its parent's p_children when reaped`);
  p.p_pptr = NULL;
  p.p_stat = SDEAD;
  proc_free_pid(p.p_pid); // let the pid be reallocated (kern_exit.c 889-892), before the group goes
  proc_leavepgrp(p);
  mutex_exit(proc_lock());

  yield* chgproccnt(p.p_uid, -1);
  for (const lh of LIST_ITER(p.p_lwps, L, "l_sibling")) lwp_free(L(lh));
  p.p_lwps = NULL;
  mutex_obj_free(p.p_lock);
  sigactsfree(p.p_sigacts);
  lim_free(p.p_limit);
  if (p.p_vmspace !== NULL) uvmspace_free(p.p_vmspace);
  // proc_free_pid's uncount (above, the pid went back).
  atomic_add_int(G().ptr("nprocs"), -1);
  nprocs_check("proc_free");
  pool_put(image.table(PROC), p.h, "proc_free");
}

/**
 * execve's part in the fork story: a new vmspace, caught signals reset, then under proc_lock the
 * vfork parent is released (NOTES B6); PS_STOPEXEC stops the process afterwards.
 */
export function* sys_execve(p: ProcView, l: LwpView): KGen<number> {
  const lock = p_lock(p);
  yield* mutex_enter(lock);
  if (p.p_sflag & PS_WEXIT) {
    mutex_exit(lock);
    return 0;
  }
  yield* exit_lwps(p, l);
  mutex_exit(lock);
  const old = p.p_vmspace;
  p.p_vmspace = yield* uvmspace_alloc();
  uvmspace_free(old);
  // sigactsunshare + reset caught signals to their default.
  const ps = sigacts(p);
  if (ps.sa_refcnt > 1) {
    const n = yield* sigactsinit(p, false);
    const oh = p.p_sigacts;
    p.p_sigacts = n;
    sigactsfree(oh);
  }
  image.table(SIGACTS).view(p.p_sigacts).sa_catch = 0;
  p.p_comm = p.p_comm + 1;
  yield* mutex_enter(proc_lock());
  yield* mutex_enter(lock);
  p.p_flag |= PK_EXEC;
  mutex_exit(lock);
  vfork_release(p);
  if (p.p_sflag & PS_STOPEXEC) {
    yield* mutex_enter(lock);
    yield* proc_stop(p, SIGSTOP);
    mutex_exit(proc_lock());
    yield* mutex_enter(lock);
    yield* lwp_stopwait(p, l);
    mutex_exit(lock);
    return 0;
  }
  mutex_exit(proc_lock());
  return 0;
}

/** The lwps that are to leave at their next return to user mode. */
export function lwp_must_exit(l: LwpView): boolean {
  return (l.l_flag & LW_WEXIT) !== 0;
}

