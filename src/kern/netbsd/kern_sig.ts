/*
 * NetBSD signals as far as the fork path needs them (kern_sig.c): posting (kpsignal2), stopping
 * and continuing a process (proc_stop / proc_unstop / sigswitch), the return-to-user check
 * (issignal/postsig) and kill, killpg, sigaction.
 *
 * Locking as in NetBSD: posting a signal needs proc_lock and the target's p_lock (order
 * proc_lock -> p_lock). A stopped lwp waits on its l_stopcv under p_lock (the model's stand-in
 * for LSSTOP + setrunnable()).
 *
 * Model simplifications: a stop signal does not stop an lwp inside an interruptible sleep (it
 * stops at its next return to user mode); signal handlers "run" by counting p_nsigcaught.
 */
import { KKASSERT } from "../../shm/hooks.js";
import { netbsdStopWaited } from "../../invariants/inline.js";
import { NULL, type Handle } from "../../shm/table.js";
import { cv_broadcast, cv_wait } from "../../sync/condvar.js";
import { EINTR, EINVAL, EPERM, ESRCH } from "../../sync/errno.js";
import { mutex_enter, mutex_exit, mutex_owned } from "../../sync/kmutex.js";
import { image, type KGen } from "../../sync/seam.js";
import { tsleep_signal } from "../../sync/sleep.js";
import { THREAD } from "../../shm/core.js";
import { LIST_ITER, p_lock, p_stat_unlocked, pgrp_find, proc_find } from "./kern_proc.js";
import {
  _NSIG, DFL_IGNORE, G, L, LSONPROC, LSSTOP, LW_WEXIT, P, PG, PK_CLDSIGIGN, PK_NOCLDWAIT, proc_lock, PS_NOCLDSTOP, PSL_TRACED, ROOT, SA_NOCLDSTOP,
  SA_NOCLDWAIT, SACTIVE, SIDL, SIG_CATCH, SIG_IGN, SIGACTS, SIGCHLD, SIGCONT, SIGKILL, SIGSTOP, sigmask, SSTOP, STOPSIGMASK, SZOMB, SDEAD, SDYING,
  type LwpView, type ProcView,
} from "./structs.js";

export const sigacts = (p: ProcView) => image.table(SIGACTS).view(p.p_sigacts);

/** Wake every lwp of p that sleeps interruptibly (signotify + sleepq_abort). */
function signotify(p: ProcView): void {
  const threads = image.table(THREAD);
  for (const lh of LIST_ITER(p.p_lwps, L, "l_sibling")) {
    const td = L(lh).l_thread;
    if (td !== NULL && threads.valid(td)) tsleep_signal(td);
  }
}

/**
 * kpsignal2: post sig to p. proc_lock and p's p_lock held. SIGCONT continues a stopped process,
 * SIGKILL makes a stopped one runnable so it can die; ignored signals are dropped.
 */
export function kpsignal2(p: ProcView, sig: number): void {
  KKASSERT(mutex_owned(proc_lock()), "proc-lock-not-held", "kpsignal2 without proc_lock");
  KKASSERT(mutex_owned(p_lock(p)), "p-lock-not-held", "kpsignal2 without p_lock");
  const st = p.p_stat;
  if (st === SIDL || st === SZOMB || st === SDEAD) return;
  const mask = sigmask(sig);
  const traced = (p.p_slflag & PSL_TRACED) !== 0;
  if (sig !== SIGKILL && sig !== SIGSTOP && !traced && sigacts(p).sa_ignore & mask) return;
  if (sig === SIGCONT) {
    p.p_siglist &= ~STOPSIGMASK;
    if (st === SSTOP) proc_unstop(p);
  } else if (mask & STOPSIGMASK) {
    p.p_siglist &= ~sigmask(SIGCONT);
  } else if (sig === SIGKILL && st === SSTOP) {
    proc_unstop(p);
  }
  p.p_siglist |= mask;
  signotify(p);
}

/** psignal: kpsignal2 taking the target's p_lock. proc_lock held. */
export function* psignal(p: ProcView, sig: number): KGen {
  const lock = p_lock(p);
  yield* mutex_enter(lock);
  kpsignal2(p, sig);
  mutex_exit(lock);
}

/**
 * proc_unstop: make a stopped process run again. proc_lock and p_lock held. An unreported stop
 * stops counting in the parent's p_nstopchild.
 */
export function proc_unstop(p: ProcView): void {
  if (p.p_stat !== SSTOP) return;
  p.p_stat = SACTIVE;
  if (!p.p_waited) {
    P(p.p_pptr).p_nstopchild--;
    p.p_waited = 1;
  }
  for (const lh of LIST_ITER(p.p_lwps, L, "l_sibling")) cv_broadcast(L(lh).ptr("l_stopcv"));
}

/**
 * proc_stop + proc_stop_done: stop p with signal sig and tell the parent (or tracer): it counts
 * in p_nstopchild, is woken on p_waitcv and gets SIGCHLD unless it asked for PS_NOCLDSTOP.
 * proc_lock and p's p_lock held; returns with proc_lock held and p_lock RELEASED.
 */
export function* proc_stop(p: ProcView, sig: number): KGen {
  p.p_stat = SSTOP;
  p.p_xsig = sig;
  p.p_waited = 0;
  const pp = P(p.p_pptr);
  pp.p_nstopchild++;
  mutex_exit(p_lock(p));
  if (!(pp.p_sflag & PS_NOCLDSTOP)) yield* psignal(pp, SIGCHLD);
  cv_broadcast(pp.ptr("p_waitcv"));
}

/**
 * The stopped lwp waits for setrunnable(): p_lock held on entry and on return. Returns when the
 * process is continued, SIGKILLed or the lwp is told to exit.
 */
export function* lwp_stopwait(p: ProcView, l: LwpView): KGen {
  const lock = p_lock(p);
  l.l_stat = LSSTOP;
  p.p_nrlwps--;
  while (p.p_stat === SSTOP && !(p.p_siglist & sigmask(SIGKILL)) && !(l.l_flag & LW_WEXIT)) yield* cv_wait(l.ptr("l_stopcv"), lock);
  netbsdStopWaited(p, l);
  l.l_stat = LSONPROC;
  p.p_nrlwps++;
}

/**
 * sigswitch(ppmask 0, signo, relock false) as fork1 and child_return call it (001:582, 605, 634):
 * with proc_lock and p_lock held, stop the process for its tracer with signo and switch away.
 * Returns with p_lock held and proc_lock released (001:608 "proc_lock unlocked").
 */
export function* sigswitch(p: ProcView, l: LwpView, signo: number): KGen {
  const lock = p_lock(p);
  if (p.p_stat === SACTIVE) {
    yield* proc_stop(p, signo);
    yield* mutex_enter(lock);
  }
  mutex_exit(proc_lock());
  yield* lwp_stopwait(p, l);
}

/** What a pending signal does to the lwp: 0 nothing, or the signal that ends its sleep. */
export function issignal_peek(p: ProcView, l: LwpView): number {
  if (l.l_flag & LW_WEXIT) return EINTR;
  const pending = p.p_siglist & ~l.l_sigmask;
  if (!pending) return 0;
  if (pending & sigmask(SIGKILL)) return EINTR;
  if (p.p_slflag & PSL_TRACED) return 0; // goes to the tracer as a stop
  const ps = sigacts(p);
  for (let sig = 1; sig <= 32; sig++) {
    const m = sigmask(sig);
    if (!(pending & m)) continue;
    if (ps.sa_ignore & m) continue;
    if (ps.sa_catch & m) return EINTR;
    if (m & (DFL_IGNORE | STOPSIGMASK)) continue;
    return EINTR; // default action: terminate
  }
  return 0;
}

export const ISSIG_NONE = 0;
export const ISSIG_EXIT_LWP = -1;

/**
 * issignal + postsig: act on p's pending signals at the return to user mode. Returns
 * ISSIG_NONE, ISSIG_EXIT_LWP (the process is exiting: this lwp must go), or a signal whose
 * default action terminates the process (the caller runs exit1).
 */
export function* issignal(p: ProcView, l: LwpView): KGen<number> {
  const lock = p_lock(p);
  for (;;) {
    yield* mutex_enter(proc_lock());
    yield* mutex_enter(lock);
    if (l.l_flag & LW_WEXIT) {
      mutex_exit(lock);
      mutex_exit(proc_lock());
      return ISSIG_EXIT_LWP;
    }
    if (p.p_stat === SSTOP) {
      mutex_exit(proc_lock());
      yield* lwp_stopwait(p, l);
      mutex_exit(lock);
      continue;
    }
    const pending = p.p_siglist & ~l.l_sigmask;
    if (pending === 0 || p.p_stat === SDYING) {
      mutex_exit(lock);
      mutex_exit(proc_lock());
      return ISSIG_NONE;
    }
    const sig = pending & sigmask(SIGKILL) ? SIGKILL : 31 - Math.clz32(pending & -pending) + 1;
    const m = sigmask(sig);
    p.p_siglist &= ~m;
    if (sig === SIGKILL) {
      mutex_exit(lock);
      mutex_exit(proc_lock());
      return sig;
    }
    if (p.p_slflag & PSL_TRACED) {
      // A traced process stops and lets its tracer decide (the signal is consumed).
      yield* proc_stop(p, sig);
      mutex_exit(proc_lock());
      continue;
    }
    const ps = sigacts(p);
    if (ps.sa_catch & m) {
      p.p_nsigcaught++;
    } else if (ps.sa_ignore & m || m & DFL_IGNORE) {
      // discarded
    } else if (m & STOPSIGMASK) {
      yield* proc_stop(p, sig);
      mutex_exit(proc_lock());
      continue;
    } else {
      mutex_exit(lock);
      mutex_exit(proc_lock());
      return sig;
    }
    mutex_exit(lock);
    mutex_exit(proc_lock());
  }
}

// ---- system calls -----------------------------------------------------------------------------

/** kauth KAUTH_PROCESS_SIGNAL: root, or the same uid. */
function cansignal(p1: ProcView, p2: ProcView): boolean {
  return p1.p_uid === ROOT || p1.p_uid === p2.p_uid;
}

/** sys_kill (pid > 0 only; 0 and negative pids go to killpg1). */
export function* sys_kill(p1: ProcView, pid: number, sig: number): KGen<number> {
  if (sig < 0 || sig >= _NSIG) return EINVAL;
  if (pid <= 0) return yield* killpg1(p1, pid === 0 ? P(p1.h).p_pgrp : -pid, sig, pid === 0);
  yield* mutex_enter(proc_lock());
  const h = proc_find(pid);
  if (h === NULL) {
    mutex_exit(proc_lock());
    return ESRCH;
  }
  const p = P(h);
  if (!cansignal(p1, p)) {
    mutex_exit(proc_lock());
    return EPERM;
  }
  if (sig !== 0) yield* psignal(p, sig);
  mutex_exit(proc_lock());
  return 0;
}

/** killpg1: signal every member of a process group. `pgid` is a pgid, or a pgrp handle when own. */
export function* killpg1(p1: ProcView, pgid: number, sig: number, own: boolean): KGen<number> {
  if (sig < 0 || sig >= _NSIG) return EINVAL;
  yield* mutex_enter(proc_lock());
  const pgh = own ? p1.p_pgrp : pgrp_find(pgid);
  if (pgh === NULL) {
    mutex_exit(proc_lock());
    return ESRCH;
  }
  let nfound = 0;
  let denied = false;
  for (const h of LIST_ITER(PG(pgh).pg_members, P, "p_pglist")) {
    const p = P(h);
    if (p.p_pid <= 1 || p_stat_unlocked(p) === SZOMB || p_stat_unlocked(p) === SDEAD || p_stat_unlocked(p) === SIDL) continue;
    if (!cansignal(p1, p)) {
      denied = true;
      continue;
    }
    nfound++;
    if (sig !== 0) yield* psignal(p, sig);
  }
  mutex_exit(proc_lock());
  return nfound ? 0 : denied ? EPERM : ESRCH;
}

/**
 * sys_sigaction: set sig's disposition. For SIGCHLD, SA_NOCLDSTOP sets PS_NOCLDSTOP, and
 * SA_NOCLDWAIT or SIG_IGN set PK_NOCLDWAIT / PK_CLDSIGIGN (children are not left as zombies).
 */
export function* sys_sigaction(p: ProcView, sig: number, handler: number, flags: number): KGen<number> {
  if (sig <= 0 || sig > 32 || ((sig === SIGKILL || sig === SIGSTOP) && handler !== 0)) return EINVAL;
  const ps = sigacts(p);
  const m = sigmask(sig);
  const lock = p_lock(p);
  yield* mutex_enter(ps.ptr("sa_mutex"));
  yield* mutex_enter(lock);
  ps.sa_catch = handler === SIG_CATCH ? ps.sa_catch | m : ps.sa_catch & ~m;
  ps.sa_ignore = handler === SIG_IGN ? ps.sa_ignore | m : ps.sa_ignore & ~m;
  if (sig === SIGCHLD) {
    p.p_sflag = flags & SA_NOCLDSTOP ? p.p_sflag | PS_NOCLDSTOP : p.p_sflag & ~PS_NOCLDSTOP;
    let f = p.p_flag & ~(PK_NOCLDWAIT | PK_CLDSIGIGN);
    if (flags & SA_NOCLDWAIT) f |= PK_NOCLDWAIT;
    if (handler === SIG_IGN) f |= PK_CLDSIGIGN;
    // init never gets PK_NOCLDWAIT: it is where such children go.
    if (p.h === G().initproc) f &= ~PK_NOCLDWAIT;
    p.p_flag = f;
  }
  if (handler === SIG_IGN || (handler === 0 && m & DFL_IGNORE)) p.p_siglist &= ~m;
  mutex_exit(lock);
  mutex_exit(ps.ptr("sa_mutex"));
  return 0;
}

export type { Handle };
