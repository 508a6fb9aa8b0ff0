/*
 * The remaining system calls a script makes on NetBSD: ptrace (the tracing flags fork1 reads),
 * setpgid, setuid, setrlimit(RLIMIT_NPROC), _lwp_create, getppid, the sysctl knobs fork1 reads
 * (proc.curproc.stopfork/stopexec, kern.forkfsleep) and a kevent(EVFILT_PROC) watcher.
 */
import { NULL } from "../../shm/table.js";
import { EBUSY, EINVAL, ENOMEM, EPERM, ESRCH } from "../../sync/errno.js";
import { mutex_enter, mutex_exit } from "../../sync/kmutex.js";
import { image, type KGen } from "../../sync/seam.js";
import { proc_changeparent } from "./kern_fork.js";
import { SYSCTL_FORKFSLEEP, SYSCTL_MAXPROC, SYSCTL_STOPFORK, SYSCTL_STOPEXEC } from "./sysctl_names.js";
import {
  chgproccnt, lim_privatise, lwp_create, lwp_start_thread, p_lock, pgrp_create, pgrp_find, pgrp_join, plimit, proc_find, proc_leavepgrp,
  proc_reparent, uvm_uarea_alloc,
} from "./kern_proc.js";
import { proc_unstop, psignal } from "./kern_sig.js";
import {
  G, LSRUN, LW_WEXIT, P, PG, PK_SUGID, proc_lock, PS_STOPEXEC, PS_STOPFORK, PS_WEXIT, PSL_TRACED, PSL_TRACEFORK, PSL_TRACEVFORK, PSL_TRACEVFORK_DONE,
  PT_ATTACH, PT_CONTINUE, PT_DETACH, PT_KILL, PT_SET_EVENT_MASK, PT_TRACE_ME, PTRACE_FORK, PTRACE_VFORK, PTRACE_VFORK_DONE, ROOT, SESSION, SIGKILL,
  SIGSTOP, SSTOP,
  type LwpView, type ProcView,
} from "./structs.js";

const PSL_TRACEMASK = PSL_TRACEFORK | PSL_TRACEVFORK | PSL_TRACEVFORK_DONE;

/** sys_ptrace (sys_ptrace_common.c) for the requests the fork path cares about. */
export function* sys_ptrace(p: ProcView, req: number, pid: number, data: number): KGen<number> {
  yield* mutex_enter(proc_lock());
  if (req === PT_TRACE_ME) {
    if (p.p_slflag & PSL_TRACED) return unlock(EBUSY);
    const lock = p_lock(p);
    yield* mutex_enter(lock);
    p.p_slflag |= PSL_TRACED;
    p.p_opptr = p.p_pptr;
    mutex_exit(lock);
    return unlock(0);
  }
  const th = proc_find(pid);
  if (th === NULL) return unlock(ESRCH);
  const t = P(th);
  const tlock = p_lock(t);
  if (req === PT_ATTACH) {
    if (t.h === p.h) return unlock(EINVAL); // can't trace yourself
    if (t.p_slflag & PSL_TRACED) return unlock(EBUSY);
    if (t.h === G().initproc) return unlock(EPERM); // securelevel: never init
    if (p.p_uid !== ROOT && p.p_uid !== t.p_uid) return unlock(EPERM);
    // p_sflag is p_lock's (exit1 sets PS_WEXIT under it alone): tested under the target's p_lock,
    // which sys_process.c takes as soon as it has found the target.
    yield* mutex_enter(tlock);
    if (t.p_sflag & PS_WEXIT) {
      mutex_exit(tlock);
      return unlock(ESRCH);
    }
    yield* proc_changeparent(t, p.h);
    mutex_exit(tlock);
    yield* psignal(t, SIGSTOP);
    return unlock(0);
  }
  // Every other request needs t traced by us.
  if (!(t.p_slflag & PSL_TRACED) || t.p_pptr !== p.h) return unlock(EBUSY);
  switch (req) {
    case PT_SET_EVENT_MASK: {
      yield* mutex_enter(tlock);
      let f = t.p_slflag & ~PSL_TRACEMASK;
      if (data & PTRACE_FORK) f |= PSL_TRACEFORK;
      if (data & PTRACE_VFORK) f |= PSL_TRACEVFORK;
      if (data & PTRACE_VFORK_DONE) f |= PSL_TRACEVFORK_DONE;
      t.p_slflag = f;
      mutex_exit(tlock);
      return unlock(0);
    }
    case PT_DETACH: {
      yield* mutex_enter(tlock);
      t.p_slflag &= ~(PSL_TRACED | PSL_TRACEMASK);
      mutex_exit(tlock);
      // Give the child back to its original parent, init when exit1 forgot it (sys_process.c PT_DETACH).
      if (t.p_opptr !== t.p_pptr) proc_reparent(t, t.p_opptr !== NULL ? t.p_opptr : G().initproc);
      t.p_opptr = NULL;
      yield* mutex_enter(tlock);
      if (t.p_stat === SSTOP) proc_unstop(t);
      mutex_exit(tlock);
      return unlock(0);
    }
    case PT_CONTINUE: {
      yield* mutex_enter(tlock);
      if (t.p_stat === SSTOP) proc_unstop(t);
      mutex_exit(tlock);
      return unlock(0);
    }
    case PT_KILL:
      yield* psignal(t, SIGKILL);
      return unlock(0);
  }
  return unlock(EINVAL);
}

function unlock(e: number): number {
  mutex_exit(proc_lock());
  return e;
}


/** sys_setpgid: a process may move itself or a child into a group of its own session. */
export function* sys_setpgid(cur: ProcView, pid: number, pgid: number): KGen<number> {
  if (pgid < 0) return EINVAL;
  yield* mutex_enter(proc_lock());
  let t = cur;
  if (pid !== 0 && pid !== cur.p_pid) {
    const th = proc_find(pid);
    if (th === NULL || P(th).p_pptr !== cur.h) return unlock(ESRCH);
    t = P(th);
    if (PG(t.p_pgrp).pg_session !== PG(cur.p_pgrp).pg_session) return unlock(EPERM);
  }
  const session = PG(t.p_pgrp).pg_session;
  if (image.table(SESSION).view(session).s_leader === t.h) return unlock(EPERM);
  if (pgid === 0) pgid = t.p_pid;
  if (PG(t.p_pgrp).pg_id === pgid) return unlock(0);
  let pg = pgrp_find(pgid);
  if (pg === NULL) {
    if (pgid !== t.p_pid) return unlock(EPERM);
    pg = pgrp_create(t, false, session);
    if (pg === NULL) return unlock(ENOMEM);
  } else if (PG(pg).pg_session !== session) return unlock(EPERM);
  proc_leavepgrp(t);
  pgrp_join(t, pg);
  return unlock(0);
}

/** do_setresuid for setuid(2): root may become anyone; the per-uid process counts move. */
export function* sys_setuid(p: ProcView, uid: number): KGen<number> {
  if (uid < 0) return EINVAL;
  if (p.p_uid !== ROOT && uid !== p.p_uid) return EPERM;
  if (uid === p.p_uid) return 0;
  const old = p.p_uid;
  yield* chgproccnt(old, -1);
  yield* chgproccnt(uid, 1);
  const lock = p_lock(p);
  yield* mutex_enter(lock);
  p.p_uid = uid;
  p.p_flag |= PK_SUGID;
  mutex_exit(lock);
  return 0;
}

/** dosetrlimit(RLIMIT_NPROC): privatise the copy-on-write limits, then write them. */
export function* sys_setrlimit_nproc(p: ProcView, request: number): KGen<number> {
  if (request < 0) return EINVAL;
  const cur = plimit(p.p_limit);
  if (request > cur.pl_nproc_max && p.p_uid !== ROOT) return EPERM;
  const value = Math.min(request, G().maxproc); // dosetrlimit (kern_resource.c 437-442)
  const lim = plimit(yield* lim_privatise(p));
  lim.pl_nproc_cur = value;
  if (value > lim.pl_nproc_max) lim.pl_nproc_max = value;
  return 0;
}

/**
 * sys__lwp_create (do_lwp_create, sys_lwp.c): a new lwp in the calling process; returns its lid.
 * The process may start exiting after the PS_WEXIT test: exit_lwps flags every lwp it finds with
 * LW_WEXIT and looks again after each lwp leaves, so one created after its pass is found at the next.
 */
export function* sys__lwp_create(p: ProcView, l1: LwpView): KGen<{ error: number; lid: number }> {
  // The model refuses an lwp to an exiting process (the kernel starts it suspended instead,
  // testing the creator's LW_WEXIT in do_lwp_create, sys_lwp.c): PS_WEXIT read under p_lock,
  // which exit1 holds to set it.
  const lock = p_lock(p);
  yield* mutex_enter(lock);
  const exiting = (p.p_sflag & PS_WEXIT) !== 0;
  mutex_exit(lock);
  if (exiting) return { error: EINVAL, lid: 0 };
  const uaddr = uvm_uarea_alloc();
  if (uaddr === NULL) return { error: ENOMEM, lid: 0 };
  const l2 = yield* lwp_create(p, uaddr);
  l2.l_sigmask = l1.l_sigmask;
  yield* mutex_enter(lock);
  // Read the lid before the lwp may run: it can exit and be freed before we return.
  const lid = l2.l_lid;
  // A caller already told to exit makes its lwp LSSUSPENDED (sys_lwp.c:104-120), and exit_lwps
  // sets that running with LW_WEXIT: the model starts it so flagged, to the same end.
  if (l1.l_flag & LW_WEXIT) l2.l_flag |= LW_WEXIT;
  l2.l_stat = LSRUN;
  lwp_start_thread(l2, false);
  mutex_exit(lock);
  return { error: 0, lid };
}

/** getppid */
export function* sys_getppid(p: ProcView): KGen<number> {
  yield* mutex_enter(proc_lock());
  // Under proc_lock, as p_pptr's writers: init's parent is proc0 (pid 0), which the model has no record for.
  const pp = p.p_pptr === NULL ? 0 : P(p.p_pptr).p_pid;
  mutex_exit(proc_lock());
  return pp;
}

/** sysctl writes: the per-process stop flags (kern_proc.c sysctl_proc_stop) and fork knobs. */
export function* sys_sysctl(p: ProcView, name: number, value: number): KGen<number> {
  const g = G();
  switch (name) {
    case SYSCTL_STOPFORK:
    case SYSCTL_STOPEXEC: {
      const bit = name === SYSCTL_STOPFORK ? PS_STOPFORK : PS_STOPEXEC;
      const lock = p_lock(p);
      yield* mutex_enter(lock);
      p.p_sflag = value ? p.p_sflag | bit : p.p_sflag & ~bit;
      mutex_exit(lock);
      return 0;
    }
    case SYSCTL_FORKFSLEEP: // milliseconds, stored in ticks
      if (p.p_uid !== ROOT) return EPERM;
      if (value < 0 || value > 20000) return EINVAL;
      g.forkfsleep = Math.ceil((value * g.hz) / 1000);
      return 0;
    case SYSCTL_MAXPROC:
      if (p.p_uid !== ROOT) return EPERM;
      if (value < 1) return EINVAL;
      g.maxproc = value;
      return 0;
  }
  return EINVAL;
}

/** kevent(EVFILT_PROC, NOTE_FORK) on pid: a knote on its p_klist. */
export function* sys_kevent_proc(p: ProcView, pid: number): KGen<number> {
  yield* mutex_enter(proc_lock());
  const th = proc_find(pid);
  if (th === NULL) return unlock(ESRCH);
  const t = P(th);
  if (p.p_uid !== ROOT && p.p_uid !== t.p_uid) return unlock(EPERM);
  const lock = p_lock(t);
  yield* mutex_enter(lock);
  t.p_klist = t.p_klist + 1;
  mutex_exit(lock);
  return unlock(0);
}
