/*
 * NetBSD kern_fork.c 1.209 (seed 001), function by function: sys_fork, sys_vfork, sys___vfork14,
 * sys___clone, fork1, child_return. Comments cite the seed's own line numbers (001:NNN).
 */
import { bug } from "../../bugs/switch.js";
import { KKASSERT } from "../../shm/hooks.js";
import { vforkWaited } from "../../invariants/inline.js";
import { NULL, regionCopier, regionZeroer } from "../../shm/table.js";
import { THREAD } from "../../shm/core.js";
import { atomic_add_int, atomic_fetchadd_int, atomic_load_int } from "../../sync/atomic.js";
import { cv_wait } from "../../sync/condvar.js";
import { EAGAIN, EINVAL, ENOMEM } from "../../sync/errno.js";
import { mutex_enter, mutex_exit, mutex_tryenter } from "../../sync/kmutex.js";
import { data_race } from "../../sync/observe.js";
import { image, sched, type KGen } from "../../sync/seam.js";
import {
  chgproccnt, cwdinit, cwdshare, fd_new, fd_share, kpause, lim_addref, lim_copy, LIST_INSERT_AFTER, LIST_INSERT_HEAD, lwp_create, lwp_start_thread,
  mutex_obj_alloc, mutex_obj_hold, p_lock, plimit, proc_alloc, proc_reparent, sigactsinit, uvm_proc_fork, uvm_uarea_alloc, uvm_uarea_free,
} from "./kern_proc.js";
import { sigswitch } from "./kern_sig.js";
import {
  AFORK, CLONE_CSIGNAL, CLONE_FILES, CLONE_FS, CLONE_PID, CLONE_PTRACE, CLONE_SIGHAND, CLONE_VFORK, CLONE_VM, COPY_FIELDS, FORK_CLEANFILES, FORK_NOWAIT,
  FORK_PPWAIT, FORK_SHARECWD, FORK_SHAREFILES, FORK_SHARESIGS, FORK_SHAREVM, FORK_SYSTEM, G, L, LP_VFORKWAIT, LSRUN, LSSTOP, P, PK_32, PK_CLDSIGIGN,
  PK_NOCLDWAIT, PK_SUGID, PK_SYSTEM, PL_CONTROLT, PL_PPWAIT, proc_lock, PS_NOCLDSTOP, PS_STOPEXEC, PS_STOPFORK, PSL_CHTRACED, PSL_TRACED, PSL_TRACEFORK,
  PSL_TRACEVFORK, PSL_TRACEVFORK_DONE, PG, PROC, ROOT, SACTIVE, SESSION, SIGCHLD, SIGTRAP, SSTOP, ZERO_FIELDS, _NSIG,
  type LwpView, type ProcView,
} from "./structs.js";

export interface ForkResult {
  error: number;
  /** retval[0]: the child's pid (001:567). */
  pid: number;
}

/** 001:117-122 */
export function sys_fork(l: LwpView): KGen<ForkResult> {
  return fork1(l, 0, SIGCHLD);
}

/** 001:124-134: 4.4BSD vfork: address space not shared, the parent waits for exec or exit. */
export function sys_vfork(l: LwpView): KGen<ForkResult> {
  return fork1(l, FORK_PPWAIT, SIGCHLD);
}

/** 001:136-146: 3BSD vfork: address space shared, the parent waits. */
export function sys___vfork14(l: LwpView): KGen<ForkResult> {
  return fork1(l, FORK_PPWAIT | FORK_SHAREVM, SIGCHLD);
}

/** 001:148-199: Linux-compatible __clone. */
export function* sys___clone(l: LwpView, uflags: number): KGen<ForkResult> {
  // We don't support CLONE_PID or CLONE_PTRACE (001:161-165).
  if (uflags & (CLONE_PID | CLONE_PTRACE)) return { error: EINVAL, pid: 0 };
  // Linux enforces CLONE_VM with CLONE_SIGHAND (001:167-172).
  if (uflags & CLONE_SIGHAND && (uflags & CLONE_VM) === 0) return { error: EINVAL, pid: 0 };
  let flags = 0; // 001:174-185
  if (uflags & CLONE_VM) flags |= FORK_SHAREVM;
  if (uflags & CLONE_FS) flags |= FORK_SHARECWD;
  if (uflags & CLONE_FILES) flags |= FORK_SHAREFILES;
  if (uflags & CLONE_SIGHAND) flags |= FORK_SHARESIGS;
  if (uflags & CLONE_VFORK) flags |= FORK_PPWAIT;
  const sig = uflags & CLONE_CSIGNAL; // 001:187-189
  if (sig < 0 || sig >= _NSIG) return { error: EINVAL, pid: 0 };
  return yield* fork1(l, flags, sig);
}

/** 001:204: the "table full" message at most once per 10 seconds (ratecheck). */
function ratecheck(): boolean {
  const g = G();
  const now = sched.ticks();
  const last = g.lasttfm;
  if (last !== 0 && now - last < 10 * g.hz) return false;
  g.lasttfm = now || 1;
  return true;
}

/** kauth_authorize_process(KAUTH_PROCESS_FORK): secmodel keeps the last few slots for root. */
function kauth_authorize_process_fork(p1: ProcView, tnprocs: number): number {
  if (p1.p_uid === ROOT) return 0;
  const g = G();
  return tnprocs >= g.maxproc - g.kauth_fork_reserve ? EAGAIN : 0;
}

/** kauth KAUTH_PROCESS_RLIMIT / KAUTH_REQ_PROCESS_RLIMIT_BYPASS: root only. */
function kauth_authorize_rlimit_bypass(p1: ProcView): number {
  return p1.p_uid === ROOT ? 0 : EAGAIN;
}

/**
 * fork1 (001:206-613). Another lwp of the process may exec or exit meanwhile: neither completes
 * until every lwp has left (exit_lwps), so it is safe to go on (001:207-209).
 */
export function* fork1(l1: LwpView, flags: number, exitsig: number): KGen<ForkResult> {
  const p1 = P(l1.l_proc);
  const uid = p1.p_uid; // 001:226
  const g = G();
  let tnprocs: number;
  const nonatomic = bug("nb.nprocs-nonatomic");
  if (nonatomic) tnprocs = g.nprocs + 1; // a plain read, written back after chgproccnt below
  else tnprocs = atomic_fetchadd_int(g.ptr("nprocs"), 1) + 1; // atomic_inc_uint_nv (001:227)
  nprocs_check("fork1");

  // A global limit on the number of processes (001:229-237).
  let error: number;
  if (tnprocs >= g.maxproc) error = -1;
  else error = kauth_authorize_process_fork(p1, tnprocs);

  if (error) {
    // 001:239-247
    if (bug("nb.maxproc-no-undo") || nonatomic) {
      // forgets atomic_dec_uint(&nprocs): every refused fork leaks one count
      // (nb.nprocs-nonatomic: nothing was written yet, nothing to undo)
    } else atomic_add_int(g.ptr("nprocs"), -1);
    if (ratecheck()) g.tablefull = g.tablefull + 1; // tablefull("proc", "increase kern.maxproc or NPROC")
    const fs = g.forkfsleep;
    if (fs) yield* kpause("forkmx", fs);
    return { error: EAGAIN, pid: 0 };
  }

  // Enforce limits (001:249-263).
  const count = yield* chgproccnt(uid, 1);
  if (nonatomic) g.nprocs = tnprocs; // lost update: forks that counted meanwhile are overwritten
  if (count > plimit(p1.p_limit).pl_nproc_cur) {
    if (kauth_authorize_rlimit_bypass(p1) !== 0) {
      if (bug("nb.nproc-no-undo")) {
        // forgets chgproccnt(uid, -1): the uid keeps a count for a process it never got
      } else yield* chgproccnt(uid, -1);
      atomic_add_int(g.ptr("nprocs"), -1);
      const fs = g.forkfsleep;
      if (fs) yield* kpause("forkulim", fs);
      return { error: EAGAIN, pid: 0 };
    }
  }

  // The u-area, while it is still easy to abort (001:265-275).
  const uaddr = uvm_uarea_alloc();
  if (uaddr === NULL) {
    yield* chgproccnt(uid, -1);
    atomic_add_int(g.ptr("nprocs"), -1);
    return { error: ENOMEM, pid: 0 };
  }

  // Committed: from here on we may block, but allocation may not fail (001:277-280).
  const p2 = P(yield* proc_alloc()); // 001:283

  // Zero the zeroed section, copy the copied one (001:285-293).
  zeroStartzero(p2);
  copyStartcopy(p2, p1);
  p2.p_lwps = NULL; // LIST_INIT (001:297)
  p2.p_siglist = 0; // TAILQ_INIT(&p2->p_sigpend.sp_info)

  // Inherit the flags we keep: SIGCHLD handling, 32-bit (001:300-311).
  p2.p_flag = p1.p_flag & (PK_SUGID | PK_NOCLDWAIT | PK_CLDSIGIGN | PK_32);
  if (flags & FORK_SYSTEM) {
    // A system process; children go to init when they exit (001:313-320).
    p2.p_flag |= PK_SYSTEM | PK_NOCLDWAIT;
  }
  // 001:322-326: p_stmutex, p_auxlock, p_reflock, p_waitcv, p_lwpcv start zeroed (initialised).

  // Share the lock if the processes share signal state (001:328-336).
  if (flags & FORK_SHARESIGS) {
    p2.p_lock = p1.p_lock;
    if (bug("nb.sharesigs-no-hold")) {
      // shares the mutex object without mutex_obj_hold: the first proc_free frees it under the other
    } else mutex_obj_hold(p1.p_lock);
  } else p2.p_lock = yield* mutex_obj_alloc();

  p2.p_uid = p1.p_uid; // kauth_proc_fork (001:338)

  // Files: shared, clean or copied (001:354-359).
  if (flags & FORK_SHAREFILES) fd_share(p1, p2);
  else if (flags & FORK_CLEANFILES) p2.p_fd = yield* fd_new(null);
  else p2.p_fd = yield* fd_new(p1);

  /* XXX racy */
  p2.p_mqueue_cnt = p1.p_mqueue_cnt; // 001:361-362

  if (flags & FORK_SHARECWD) cwdshare(p1, p2); // 001:364-367
  else p2.p_cwdi = yield* cwdinit();

  // p_limit is copy-on-write (001:369-379).
  const p1_lim = p1.p_limit;
  if (!plimit(p1_lim).pl_writeable) {
    lim_addref(p1_lim);
    p2.p_limit = p1_lim;
  } else p2.p_limit = yield* lim_copy(p1_lim);

  if (flags & FORK_PPWAIT) {
    // Mark ourselves as waiting for a child (001:381-385).
    l1.l_pflag |= LP_VFORKWAIT;
    p2.p_lflag = PL_PPWAIT;
    p2.p_vforklwp = l1.h;
  } else p2.p_lflag = 0;
  p2.p_sflag = 0; // 001:389-390
  p2.p_slflag = 0;
  const parent = P(flags & FORK_NOWAIT ? g.initproc : p1.h); // 001:391
  p2.p_pptr = parent.h;
  p2.p_ppid = parent.p_pid;
  p2.p_children = NULL;

  // KTRACE: inherit the trace facility (001:398-410); the model has no KTRFAC_INHERIT user.
  p2.p_traceflag = 0;

  // Signal actions for the child (001:412-420).
  p2.p_sigacts = yield* sigactsinit(p1, (flags & FORK_SHARESIGS) !== 0);
  const p1lock = p_lock(p1);
  yield* mutex_enter(p1lock);
  p2.p_sflag |= p1.p_sflag & (PS_STOPFORK | PS_STOPEXEC | PS_NOCLDSTOP);
  mutex_exit(p1lock); // sched_proc_fork: nothing to model

  p2.p_stflag = p1.p_stflag; // 001:422

  // The new address space (001:430-433).
  yield* uvm_proc_fork(p1, p2, (flags & FORK_SHAREVM) !== 0);

  // The child's lwp; it returns through child_return (001:435-441).
  const l2 = yield* lwp_create(p2, uaddr);
  l2.l_sigmask = l1.l_sigmask;
  l2.l_private = l1.l_private; // 001:443-449

  // e_proc_fork: the native emulation has none (001:451-455). The fork hooks (001:457-461).
  atomic_add_int(g.ptr("forkhook_calls"), g.forkhooks);

  // Now the scheduler and other processes may see the child (001:465-469).
  yield* mutex_enter(proc_lock());

  if (image.table(SESSION).view(PG(p1.p_pgrp).pg_session).s_ttyvp !== NULL && p1.p_lflag & PL_CONTROLT) p2.p_lflag |= PL_CONTROLT; // 001:471-472

  LIST_INSERT_HEAD(parent, "p_children", p2.h, P, "p_sibling"); // 001:474
  p2.p_exitsig = exitsig; // 001:475

  // Trace fork(2) and vfork(2)-like events on demand in a debugger (001:477-495).
  const sl = p1.p_slflag;
  const tracefork = (sl & (PSL_TRACEFORK | PSL_TRACED)) === (PSL_TRACEFORK | PSL_TRACED) && (flags & FORK_PPWAIT) === 0;
  const tracevfork = (sl & (PSL_TRACEVFORK | PSL_TRACED)) === (PSL_TRACEVFORK | PSL_TRACED) && (flags & FORK_PPWAIT) !== 0;
  const tracevforkdone = (sl & (PSL_TRACEVFORK_DONE | PSL_TRACED)) === (PSL_TRACEVFORK_DONE | PSL_TRACED) && (flags & FORK_PPWAIT) !== 0;
  if (tracefork || tracevfork) {
    // The seed calls it holding proc_lock (001:486-487); proc_changeparent's lock dance starts
    // from t's p_lock held, so p2's is taken around the call (p2 is not on allproc yet).
    const p2lock = p_lock(p2);
    yield* mutex_enter(p2lock);
    yield* proc_changeparent(p2, p1.p_pptr);
    mutex_exit(p2lock);
  }
  if (tracefork) {
    p1.p_fpid = p2.p_pid;
    p2.p_fpid = p1.p_pid;
  }
  if (tracevfork) {
    p1.p_vfpid = p2.p_pid;
    p2.p_vfpid = p1.p_pid;
  }

  LIST_INSERT_AFTER(p1.h, p2.h, P, "p_pglist"); // 001:497 (p2->p_pgrp was copied from p1)
  if (bug("nb.allproc-unlocked")) {
    // links the child into allproc after dropping proc_lock (below), racing every other fork and exit
  } else LIST_INSERT_HEAD(g, "allproc", p2.h, P, "p_list"); // 001:498

  p2.p_trace_enabled = 0; // trace_is_enabled (001:500)

  // Statistics now that the fork succeeded (001:505-512).
  g.forks = g.forks + 1;
  if (flags & FORK_PPWAIT) g.forks_ppwait = g.forks_ppwait + 1;
  if (flags & FORK_SHAREVM) g.forks_sharevm = g.forks_sharevm + 1;

  // Notify interested parties about the new process (001:517-524).
  if (p1.p_klist !== 0) {
    mutex_exit(proc_lock());
    atomic_add_int(g.ptr("knote_fork"), p1.p_klist); // KNOTE(&p1->p_klist, NOTE_FORK | p2->p_pid)
    yield* mutex_enter(proc_lock());
  }

  // Make the child runnable, unless the parent asked for it to start stopped (001:526-560).
  const p2lock = p_lock(p2);
  yield* mutex_enter(p2lock);
  // startprofclock when PST_PROFIL (001:535-539): no profiling in the model.
  p2.p_start = sched.ticks(); // 001:541
  p2.p_acflag = AFORK;
  KKASSERT(p2.p_nrlwps === 1, "kassert", `fork1: p2->p_nrlwps == ${p2.p_nrlwps}, not 1 (001:544)`);
  if (p2.p_sflag & PS_STOPFORK) {
    p2.p_nrlwps = 0; // 001:545-553
    p2.p_stat = SSTOP;
    p2.p_waited = 0;
    p1.p_nstopchild++;
    l2.l_stat = LSSTOP;
    lwp_start_thread(l2, true); // its thread waits in LSSTOP until continued
  } else {
    p2.p_nrlwps = 1; // 001:554-560
    p2.p_stat = SACTIVE;
    l2.l_stat = LSRUN;
    lwp_start_thread(l2, true); // sched_enqueue
  }

  // Return the child's pid to the parent (001:562-569).
  const retval = p2.p_pid;
  mutex_exit(p2lock);
  if (bug("nb.allproc-unlocked")) {
    mutex_exit(proc_lock());
    LIST_INSERT_HEAD(g, "allproc", p2.h, P, "p_list");
    yield* mutex_enter(proc_lock());
  }

  // Let the parent know that we are tracing its child (001:573-586).
  if (tracefork || tracevfork) {
    yield* mutex_enter(p1lock);
    p1.p_xsig = SIGTRAP;
    // ps_faked = true; // XXX ; ps_info._signo/_code = TRAP_CHLD (001:579-581)
    yield* sigswitch(p1, l1, SIGTRAP); // returns with p_lock held, proc_lock released
    // XXX ktrpoint(KTR_PSIG) (001:583)
    mutex_exit(p1lock);
    yield* mutex_enter(proc_lock());
  }

  // Preserve vfork's synchronisation: sleep until the child execs or exits (001:588-593).
  while (p2.p_lflag & PL_PPWAIT) {
    // XXX: p2 can go invalid
    if (bug("nb.ppwait-wrong-cv")) yield* cv_wait(p2.ptr("p_waitcv"), proc_lock()); // the child's condvar: nobody broadcasts it
    else yield* cv_wait(p1.ptr("p_waitcv"), proc_lock());
  }
  vforkWaited(p2, "netbsd");

  // 001:595-610
  if (tracevforkdone) {
    yield* mutex_enter(p1lock);
    p1.p_xsig = SIGTRAP;
    p1.p_vfpid_done = retval; // 001:604
    yield* sigswitch(p1, l1, SIGTRAP);
    mutex_exit(p1lock);
    // proc_lock unlocked (001:608)
  } else mutex_exit(proc_lock());

  return { error: 0, pid: retval };
}


/**
 * nprocs against the proc records (an in-line law, O(1)): fork1 counts before proc_alloc and
 * proc_free uncounts before the record goes, so the two differ by at most the threads inside
 * those windows. A drift beyond the live threads is a lost or leaked count.
 */
export function nprocs_check(where: string): void {
  const n = atomic_load_int(G().ptr("nprocs"));
  const records = image.table(PROC).inUse();
  const threads = image.table(THREAD).inUse();
  // Slack: the threads that may be inside either window, plus one per cpu for the three reads
  // not being taken at the same instant.
  const slack = threads + G().ncpus;
  KKASSERT(Math.abs(n - records) <= slack, "nprocs-drift", `${where}: nprocs ${n} but ${records} proc records (${threads} threads)`);
}

/**
 * proc_changeparent (sys_ptrace_common.c; PT_ATTACH in the 2015 sys_process.c 758-775): t becomes
 * traced by p, remembering its parent in p_opptr; a parent that loses a child to a tracer is
 * marked PSL_CHTRACED, so its exit1 forgets itself as that child's p_opptr. proc_lock and t's
 * p_lock held. p_slflag is written under both locks of its process, so the old parent's p_lock is
 * taken too, in address order: a parent's lock below t's is only tried, and if that fails t's is
 * dropped, the parent's taken, then t's again (sys_process.c 762-769) -- a window in which t's
 * p_lock is free. A lock they share (FORK_SHARESIGS) is held already.
 */
export function* proc_changeparent(t: ProcView, p: number): KGen {
  t.p_slflag |= PSL_TRACED;
  t.p_opptr = t.p_pptr;
  if (t.p_pptr === p) return;
  const parent = P(t.p_pptr);
  const plock = p_lock(parent), tlock = p_lock(t);
  if (plock < tlock) {
    if (!mutex_tryenter(plock)) {
      mutex_exit(tlock);
      yield* mutex_enter(plock);
      yield* mutex_enter(tlock);
    }
  } else if (plock > tlock) yield* mutex_enter(plock);
  parent.p_slflag |= PSL_CHTRACED;
  proc_reparent(t, p);
  if (plock !== tlock) mutex_exit(plock);
}

/**
 * child_return (001:615-648): the child's first return to user mode. A traced child stops with
 * SIGTRAP for its tracer first.
 */
export function* child_return(l: LwpView): KGen {
  const p = P(l.l_proc);
  // Read with no lock, then again under proc_lock (the "paranoid check", 001:621-627): the
  // tracer may detach or exit meanwhile.
  if (data_race(() => p.p_slflag & PSL_TRACED)) {
    yield* mutex_enter(proc_lock());
    if (!(p.p_slflag & PSL_TRACED)) {
      mutex_exit(proc_lock());
      return; // my_tracer_is_gone
    }
    const lock = p_lock(p);
    yield* mutex_enter(lock);
    p.p_xsig = SIGTRAP; // 001:630-634
    yield* sigswitch(p, l, SIGTRAP);
    // XXX ktrpoint(KTR_PSIG) (001:635)
    mutex_exit(lock);
  }
  // my_tracer_is_gone: md_child_return; ktrsysret(SYS_fork) (001:639-647).
}

/** memset of p_startzero..p_endzero and memcpy of p_startcopy..p_endcopy (001:285-293). */
const zeroStartzero = regionZeroer(ZERO_FIELDS);
const copyStartcopy = regionCopier(COPY_FIELDS);
