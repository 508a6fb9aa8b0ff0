/*
 * sys/kern/kern_fork.c at d9d67b59 (seed 000), function by function. Comments cite seed lines
 * as (000:NNN). Blocking functions are generators (yield*); every one of them may drop all LWKT
 * tokens held, exactly where the C may.
 */
import { KKASSERT, violation } from "../../shm/hooks.js";
import { dragonflyNprocsCovered, dragonflyTidGiven, vforkWaited } from "../../invariants/inline.js";
import { THREAD } from "../../shm/core.js";
import { forkReturn } from "../usermode.js";
import { NULL, regionCopier, type Handle } from "../../shm/table.js";
import { atomic_add_int, atomic_cmpset_int, atomic_set_int } from "../../sync/atomic.js";
import { image, type KGen } from "../../sync/seam.js";
import { mayblock } from "../../sync/mayblock.js";
import { EAGAIN, EALREADY, EFAULT, EINVAL, ENOMEM, ENOTCONN, ERESTART } from "../../sync/errno.js";
import { lockmgr, LK_EXCLUSIVE, LK_RELEASE, LK_SHARED } from "../../sync/lockmgr.js";
import { PHOLD, PRELE } from "../../sync/phold.js";
import { refcount_acquire, refcount_init, refcount_release } from "../../sync/refcount.js";
import { PINTERLOCKED, tsleep, tsleep_interlock } from "../../sync/sleep.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken } from "../../sync/token.js";
import { data_race } from "../../sync/observe.js";
import { TDF_EXITING } from "../../shm/core.js";
import { bug } from "../../bugs/switch.js";
import { forklistV, G, lwpV, pargsV, procV, reapV, sessV, pgrpV, sigactsV, tbl, vmV, type LwpV, type ProcV } from "./globals.js";
import {
  chgproccnt, children_insert_head, crhold, curlwp, curproc, fdcopy, fdfree, fdinit, fdshare, filedesc_to_leader_alloc,
  kfree, kmalloc_waitok, kprintf, lwkt_alloc_thread, lwkt_schedule_new, lwp_rb_insert, lwp_rb_remove, lwps_of, pgref, pgrel,
  pick_cpu, plimit_fork, plimit_getadjvalue, plimit_lwp_fork, ppsratecheck, proc_add_allproc, pglist_insert_after, vm_fork,
} from "./kern_proc.js";
import { lwp_dispose } from "./kern_exit.js";
import { CURSIG_NOBLOCK, pgsignal_fork_check } from "./kern_sig.js";
import {
  AFORK, FORKLIST, KPRINTF_MAXPROC, KPRINTF_NPROC, LSRUN, LWP, LWP_ALTSTACK, LWP_MP_WEXIT, NOTE_FORK, P_CONTROLT,
  P_JAILED, P_MAYBETHREADED, P_PPWAIT, P_PROFIL, P_SUGID, PROC, PROC_COPIED, PROC_REAP_ACQUIRE, PROC_REAP_RELEASE,
  PROC_REAP_STATUS, REAPER_STAT_OWNED, REAPER_STAT_REALINIT, RFCFDG, RFFDG, RFKERNELONLY, RFLINUXTHPN, RFMEM, RFNOWAIT,
  RFPGLOCK, RFPPWAIT, RFPROC, RFSIGSHARE, RFTHREAD, RLIMIT_NPROC, SACTIVE, SIDL, SIGACTS, SIGCHLD, SIGUSR1,
  SS_DISABLE, SYSREAPER,
} from "./structs.js";

/** What a fork-type syscall hands back: errno and sysmsg_fds[0]. */
export interface ForkResult {
  error: number;
  pid: number;
}

/** The program every user lwp runs (src/kern/usermode.ts). */
export const USER_PROGRAM = "dragonfly.script";

// ---------------------------------------------------------------- wake_umtx_threads (000:116-129)

/**
 * wake_umtx_threads: wake lwps of p1 blocked on a umtx (their memory may go COW). The model has
 * no umtx sleeps (PDOMAIN_UMTX), so the walk finds none; kept for structure. p1->p_token held.
 */
export function wake_umtx_threads(p1: ProcV): void {
  for (const lp of lwps_of(p1)) void lpThread(lp);
}
const lpThread = (lp: Handle) => lwpV(lp).lwp_thread;

// ---------------------------------------------------------------- sys_fork / vfork / rfork

/** sys_fork (000:134-150) */
export function* sys_fork(): KGen<ForkResult> {
  const lp = curlwp();
  const r = yield* fork1(lp, RFFDG | RFPROC | RFPGLOCK);
  if (r.error === 0 && r.p2) {
    const p2 = r.p2;
    PHOLD(p2.ptr("p_lock"));
    yield* start_forked_proc(lp, p2);
    const pid = p2.p_pid;
    PRELE(p2.ptr("p_lock"));
    return { error: 0, pid };
  }
  return { error: r.error, pid: 0 };
}

/** sys_vfork (000:155-170): the parent sleeps in start_forked_proc until the child execs or exits. */
export function* sys_vfork(): KGen<ForkResult> {
  const lp = curlwp();
  const r = yield* fork1(lp, RFFDG | RFPROC | RFPPWAIT | RFMEM | RFPGLOCK);
  if (r.error === 0 && r.p2) {
    const p2 = r.p2;
    PHOLD(p2.ptr("p_lock"));
    yield* start_forked_proc(lp, p2);
    const pid = p2.p_pid;
    PRELE(p2.ptr("p_lock"));
    return { error: 0, pid };
  }
  return { error: r.error, pid: 0 };
}

/** sys_rfork (000:185-208): RFKERNELONLY from userland is EINVAL. */
export function* sys_rfork(flags: number): KGen<ForkResult> {
  const lp = curlwp();
  if ((flags & RFKERNELONLY) !== 0) return { error: EINVAL, pid: 0 }; // 000:191-192
  const r = yield* fork1(lp, flags | RFPGLOCK);
  if (r.error === 0) {
    if (r.p2) {
      const p2 = r.p2;
      PHOLD(p2.ptr("p_lock"));
      yield* start_forked_proc(lp, p2);
      const pid = p2.p_pid;
      PRELE(p2.ptr("p_lock"));
      return { error: 0, pid };
    }
    return { error: 0, pid: 0 }; // 000:203-204
  }
  return { error: r.error, pid: 0 };
}

// ---------------------------------------------------------------- lwp_create1 (000:210-278)

export interface LwpParams {
  /** copyout of the tid to params.lwp_tid1 faults (the model's bad user pointer). */
  fault: boolean;
}

/** lwp_create1: a new lwp in curproc. Returns errno and the new tid (what lwp_tid1 receives). */
export function* lwp_create1(params: LwpParams, umask: number | null): KGen<{ error: number; tid: number }> {
  const p = curproc();
  let mask: number | null = null;
  if (umask !== null) {
    // CPUMASK_ANDMASK(mask0, smp_active_mask): only a non-empty result is used (000:223-230).
    const active = (1 << G().ncpus) - 1;
    const m0 = umask & active;
    if (m0 !== 0) mask = m0;
  }
  // wrong (df.lwp-tid-no-ptoken): the tid pick and tree insert without p_token
  const tok = !bug("df.lwp-tid-no-ptoken");
  if (tok) yield* lwkt_gettoken(p.ptr("p_token")); // 000:232
  yield* plimit_lwp_fork(p); // 000:233
  const lp = yield* lwp_fork(curlwp(), p, RFPROC | RFMEM, mask); // 000:234
  let error = 0; // cpu_prepare_lwp: always succeeds in the model (000:235)
  yield* mayblock("copyout"); // copyout(&lp->lwp_tid, params.lwp_tid1) may fault a page in (000:238-240)
  if (params.fault) error = EFAULT;
  if (error) {
    // fail: (000:257-275) wait for LWPHOLDers before leaving the tree.
    while (lp.lwp_lock > 0) yield* tsleep(lp.ptr(), 0, "lwpfail", 1);
    lwp_rb_remove(p, lp);
    p.p_nthreads = p.p_nthreads - 1;
    atomic_set_int(lp.ptr("lwp_mpflags"), LWP_MP_WEXIT);
    const tdv = image.table(THREAD).view(lp.lwp_thread);
    tdv.td_flags = tdv.td_flags | TDF_EXITING;
    PHOLD(p.ptr("p_lock")); // lwp_dispose expects a held proc
    lwp_dispose(lp);
    if (tok) lwkt_reltoken(p.ptr("p_token"));
    return { error, tid: 0 };
  }
  const tid = lp.lwp_tid;
  lp.lwp_stat = LSRUN; // 000:250-251
  lwkt_schedule_new(lp.lwp_thread);
  if (tok) lwkt_reltoken(p.ptr("p_token")); // 000:253
  return { error: 0, tid };
}

export const sys_lwp_create = (params: LwpParams) => lwp_create1(params, null); // 000:284-288
export const sys_lwp_create2 = (params: LwpParams, mask: number) => lwp_create1(params, mask); // 000:291-295

// ---------------------------------------------------------------- fork1 (000:299-725)

export function* fork1(lp1: LwpV, flags: number): KGen<{ error: number; p2: ProcV | null }> {
  const p1 = procV(lp1.lwp_proc);
  const g = G();
  let p2: ProcV | null = null;
  let plkgrp: Handle = NULL;
  let error = 0;

  if ((flags & (RFFDG | RFCFDG)) === (RFFDG | RFCFDG)) return { error: EINVAL, p2: null }; // 000:315-316

  yield* lwkt_gettoken(p1.ptr("p_token")); // 000:318

  body: {
    if ((flags & RFPROC) === 0) {
      // Divorce parts of the current process (000:326-366).
      if (p1.p_nthreads !== 1) {
        error = EINVAL;
        break body;
      }
      yield* vm_fork(p1, null, flags, RFMEM); // 000:336
      if ((flags & RFMEM) === 0) wake_umtx_threads(p1);
      if (flags & RFCFDG) yield* fdfree(p1, yield* fdinit()); // 000:343-347
      if (flags & RFFDG) {
        const fd = p1.p_fd;
        if (fdRefcnt(fd) > 1) {
          const newfd = yield* fdcopy(p1);
          if (newfd === NULL) {
            error = ENOMEM;
            break body;
          }
          yield* fdfree(p1, newfd);
        }
      }
      error = 0;
      break body;
    }

    // Interlock against process group signal delivery (000:368-386).
    const p1grp = p1.p_pgrp;
    if (bug("df.fork-no-pglock")) {
      // wrong: no pg_lock interlock at all; a killpg can finish between here and the pglist insert
    } else if (flags & RFPGLOCK && (plkgrp = p1.p_pgrp) !== NULL) {
      pgref(plkgrp);
      yield* lockmgr(pgrpV(plkgrp).ptr("pg_lock"), LK_SHARED);
      if (bug("df.fork-no-cursig-recheck")) {
        // wrong: a killpg delivered before the shared lock was taken goes unnoticed
      } else if (CURSIG_NOBLOCK(lp1)) {
        error = ERESTART;
        break body;
      }
    }
    // Detector (pgsignal-missed-by-fork): the group-signal generation from here to the pglist insert.
    const pgsigseq = flags & RFPGLOCK ? pgrpV(p1grp).pg_sigseq : 0;

    // maxproc, with the last ten slots kept for root (000:388-403).
    const cred = lwpV(lp1.h).lwp_ucred; // lp1->lwp_thread->td_ucred
    const uid = credRuid(cred);
    if ((g.nprocs >= g.maxproc - 10 && uid !== 0) || g.nprocs >= g.maxproc) {
      if (ppsratecheck(1)) kprintf(KPRINTF_MAXPROC); // 000:397-399
      yield* tsleep(g.ptr("forksleep"), 0, "fork", Math.floor(g.hz / 2)); // 000:400
      error = EAGAIN;
      break body;
    }

    // Count before blocking can occur (000:405-409).
    if (bug("df.nprocs-nonatomic")) g.nprocs = g.nprocs + 1; // wrong: a plain read-modify-write, forks counting at once lose counts
    else if (!bug("df.nprocs-after-block")) atomic_add_int(g.ptr("nprocs"), 1);
    dragonflyNprocsCovered("fork1");

    // RLIMIT_NPROC per uid, root included (000:411-433).
    const ok = chgproccnt(credRuidinfo(cred), 1, plimit_getadjvalue(RLIMIT_NPROC));
    if (!ok) {
      atomic_add_int(g.ptr("nprocs"), -1);
      dragonflyNprocsCovered("fork1");
      if (ppsratecheck(1)) kprintf(KPRINTF_NPROC);
      yield* tsleep(g.ptr("forksleep"), 0, "fork", Math.floor(g.hz / 2));
      error = EAGAIN;
      break body;
    }

    // Allocate and zero (000:438).
    p2 = procV(yield* kmalloc_waitok(PROC)); // may block: p1's p_token is dropped and re-taken
    dragonflyNprocsCovered("fork1");
    // Detector (maxproc-overshoot): check-then-add may overshoot maxproc by at most one fork per
    // cpu (NOTES "two facts"); every allocated proc is counted in nprocs before it is allocated.
    KKASSERT(tbl(PROC).inUse() <= g.maxproc + g.ncpus, "maxproc-overshoot", `${tbl(PROC).inUse()} procs allocated, maxproc ${g.maxproc} + ${g.ncpus} cpus`);

    g.gd_forkid = g.gd_forkid + g.ncpus; // 000:449-450 (one shared counter in the model)
    p2.p_forkid = g.gd_forkid;
    p2.p_lasttid = 0; // first tid will be 1 (000:451)
    p2.p_stat = SIDL; // 000:452

    // Reaper inheritance (000:458-463).
    const reap = p1.p_reaper;
    if (reap !== NULL) {
      reaper_hold(reap);
      p2.p_reaper = reap;
    } else p2.p_reaper = NULL;

    p2.p_lwp_tree = NULL; // RB_INIT (000:465)
    yield* lwkt_gettoken(p2.ptr("p_token")); // 000:468

    // RFTHREAD peers (000:476-483).
    if (flags & RFTHREAD) {
      p2.p_peers = p1.p_peers;
      p1.p_peers = p2.h;
      p2.p_leader = p1.p_leader;
    } else p2.p_leader = p2.h;
    yield* proc_add_allproc(p2); // addressable from here on (000:483)
    if (bug("df.nprocs-after-block")) atomic_add_int(g.ptr("nprocs"), 1); // wrong: counted after proc_token may have blocked
    dragonflyNprocsCovered("fork1");

    // The copied region (000:488-489).
    copyStartcopy(p2, p1);

    if (p1.p_flags & P_PROFIL) p2.p_flags = p2.p_flags | P_PROFIL; // startprofclock
    p2.p_ucred = crhold(cred); // 000:501
    if (credPrison(p2.p_ucred)) p2.p_flags = p2.p_flags | P_JAILED;
    if (p2.p_args !== NULL) refcount_acquire(pargsV(p2.p_args).ptr("ar_ref")); // 000:506-507
    p2.p_usched = p1.p_usched;

    // Signal actions (000:513-526).
    if (flags & RFSIGSHARE) {
      p2.p_sigacts = p1.p_sigacts;
      // wrong (df.fork-sigshare-no-ref): the shared sigacts is not counted for the child
      if (!bug("df.fork-sigshare-no-ref")) refcount_acquire(sigactsV(p2.p_sigacts).ptr("ps_refcnt"));
    } else {
      p2.p_sigacts = yield* kmalloc_waitok(SIGACTS);
      const src = sigactsV(p1.p_sigacts), dst = sigactsV(p2.p_sigacts);
      dst.ps_flag = src.ps_flag;
      dst.ps_sigignore = src.ps_sigignore;
      dst.ps_sigcatch = src.ps_sigcatch;
      dst.ps_sigintr = src.ps_sigintr;
      refcount_init(dst.ptr("ps_refcnt"), 1);
    }
    p2.p_sigparent = flags & RFLINUXTHPN ? SIGUSR1 : SIGCHLD;
    p2.p_textvp = p1.p_textvp;

    // File descriptors (000:539-570).
    let fdtol: Handle;
    if (flags & RFCFDG) {
      p2.p_fd = yield* fdinit();
      fdtol = NULL;
    } else if (flags & RFFDG) {
      const fd = yield* fdcopy(p1);
      if (fd === NULL) {
        error = ENOMEM; // 000:544-546: p2 stays SIDL on allproc, nothing undone (seed defect D1, docs/findings.md)
        break body;
      }
      p2.p_fd = fd;
      fdtol = NULL;
    } else {
      p2.p_fd = fdshare(p1);
      // 000:551-554: tested, then set after an allocation that may block, with no second look.
      if (p1.p_fdtol === NULL) p1.p_fdtol = yield* filedesc_to_leader_alloc(NULL, p1.p_leader);
      if (flags & RFTHREAD) {
        fdtol = p1.p_fdtol; // shared table, shared leaders
        fdtolRef(fdtol);
      } else {
        fdtol = yield* filedesc_to_leader_alloc(p1.p_fdtol, p2.h); // different leaders
      }
    }
    p2.p_fdtol = fdtol;
    p2.p_limit = yield* plimit_fork(p1); // 000:571

    if ((p2.p_depth & 31) !== 31) p2.p_depth = p2.p_depth + 1; // 000:576-577

    p2.p_flags = p2.p_flags | (p1.p_flags & P_SUGID); // 000:583
    const sess = pgrpV(p1.p_pgrp).pg_session;
    if (sessV(sess).s_ttyvp !== NULL && p1.p_flags & P_CONTROLT) p2.p_flags = p2.p_flags | P_CONTROLT;
    if (flags & RFPPWAIT) {
      p2.p_flags = p2.p_flags | P_PPWAIT; // 000:586-590
      atomic_add_int(p1.ptr("p_upmap_invfork"), 1);
    }

    // On the pglist from here: signals can reach p2 (000:599-607).
    pgref(p1grp);
    yield* lwkt_gettoken(pgrpV(p1grp).ptr("pg_token"));
    pglist_insert_after(p1, p2);
    lwkt_reltoken(pgrpV(p1grp).ptr("pg_token"));
    if (flags & RFPGLOCK) pgsignal_fork_check(p1, lp1, p1grp, pgsigseq);

    // Attach to the parent, or to the reaper with RFNOWAIT (000:618-635).
    let pptr: ProcV;
    if (flags & RFNOWAIT) {
      const r = yield* reaper_get(reap);
      if (r === null) {
        pptr = procV(g.initproc);
        PHOLD(pptr.ptr("p_lock"));
      } else pptr = r;
    } else pptr = p1;
    p2.p_pptr = pptr.h;
    p2.p_children = NULL; // LIST_INIT
    if (bug("df.fork-children-no-ptoken") && pptr.h !== p1.h) {
      children_insert_head(pptr, p2); // wrong: the reaper's p_children without its p_token
    } else {
      yield* lwkt_gettoken(pptr.ptr("p_token"));
      children_insert_head(pptr, p2);
      lwkt_reltoken(pptr.ptr("p_token"));
    }
    if (flags & RFNOWAIT) PRELE(pptr.ptr("p_lock"));

    PHOLD(p1.ptr("p_lock")); // PRELE'd in start_forked_proc (000:658)

    yield* vm_fork(p1, p2, flags, RFMEM); // 000:660
    if ((flags & RFMEM) === 0) wake_umtx_threads(p1);

    yield* lwp_fork(lp1, p2, flags, null); // 000:670

    // Statistics per fork kind (000:672-688). The model has no proc0, so v_kthreads stays 0.
    const pages = vmV(p2.p_vmspace).vm_dsize + vmV(p2.p_vmspace).vm_ssize;
    if (flags === (RFFDG | RFPROC | RFPGLOCK)) {
      atomic_add_int(g.ptr("v_forks"), 1);
      atomic_add_int(g.ptr("v_forkpages"), pages);
    } else if (flags === (RFFDG | RFPROC | RFPPWAIT | RFMEM | RFPGLOCK)) {
      atomic_add_int(g.ptr("v_vforks"), 1);
      atomic_add_int(g.ptr("v_vforkpages"), pages);
    } else if (p1.p_pid === 0) {
      atomic_add_int(g.ptr("v_kthreads"), 1);
      atomic_add_int(g.ptr("v_kthreadpages"), pages);
    } else {
      atomic_add_int(g.ptr("v_rforks"), 1);
      atomic_add_int(g.ptr("v_rforkpages"), pages);
    }

    // Fork callouts, in list order (000:695-697).
    for (let ep = g.fork_list; ep !== NULL; ep = forklistV(ep).next) run_fork_callout(forklistV(ep).function, p1, p2, flags);

    p2.p_start = 1; // microtime
    p2.p_acflag = AFORK;
    // KNOTE(&p1->p_klist, NOTE_FORK | p2->p_pid) (000:709)
    p1.p_klist = p1.p_klist + 1;
    atomic_add_int(g.ptr("knote_fork"), 1);
    void NOTE_FORK;
    error = 0;
  }
  // done: (000:716-724)
  if (p2) lwkt_reltoken(p2.ptr("p_token"));
  lwkt_reltoken(p1.ptr("p_token"));
  if (plkgrp !== NULL) {
    yield* lockmgr(pgrpV(plkgrp).ptr("pg_lock"), LK_RELEASE);
    yield* pgrel(plkgrp);
  }
  return { error, p2: error === 0 && flags & RFPROC ? p2 : null };
}

import { credV, fdV, fdtolV } from "./globals.js";
const credRuid = (cr: Handle) => credV(cr).cr_ruid;
const credRuidinfo = (cr: Handle) => credV(cr).cr_ruidinfo;
const credPrison = (cr: Handle) => credV(cr).cr_prison;
const fdRefcnt = (fd: Handle) => fdV(fd).fd_refcnt;
/** fdtol->fdl_refcount++ (000:561): a plain increment, as in the C. */
function fdtolRef(fdtol: Handle): number {
  const t = fdtolV(fdtol);
  t.fdl_refcount = t.fdl_refcount + 1;
  return t.fdl_refcount;
}

// ---------------------------------------------------------------- lwp_fork (000:727-830)

export function* lwp_fork(origlp: LwpV, destproc: ProcV, flags: number, mask: number | null): KGen<LwpV> {
  const lp = lwpV(yield* kmalloc_waitok(LWP)); // 000:735
  lp.lwp_proc = destproc.h;
  lp.lwp_vmspace = destproc.p_vmspace;
  lp.lwp_stat = LSRUN;
  // bcopy of [lwp_startcopy, lwp_endcopy) (000:740-742)
  lp.lwp_cpumask = origlp.lwp_cpumask;
  lp.lwp_siglist = origlp.lwp_siglist;
  lp.lwp_oldsigmask = origlp.lwp_oldsigmask;
  lp.lwp_sigmask = origlp.lwp_sigmask;
  lp.lwp_sigstk = origlp.lwp_sigstk;
  lp.lwp_rtprio = origlp.lwp_rtprio;
  if (mask !== null) lp.lwp_cpumask = mask;

  // sigaltstack reset when memory is shared (000:750-757).
  if (flags & RFMEM) {
    lp.lwp_sigstk = SS_DISABLE;
    lp.lwp_flags = lp.lwp_flags & ~LWP_ALTSTACK;
  } else lp.lwp_flags = lp.lwp_flags | (origlp.lwp_flags & LWP_ALTSTACK);

  // The thread, on a cpu of its mask (000:778-789); not runnable until setrunqueue.
  const td = yield* lwkt_alloc_thread(USER_PROGRAM, pick_cpu(mask ?? 0));
  forkReturn(td); // where the new lwp returns to user mode: its creator's choice (usermode.ts)
  lp.lwp_thread = td;
  lp.lwp_ucred = crhold(destproc.p_ucred); // td->td_ucred
  const tdv = image.table(THREAD).view(td);
  tdv.td_proc = destproc.h;
  tdv.td_lwp = lp.h;

  // Tid: vfork takes the vforker's tid, else one past p_lasttid; wrap to 1 (000:809-821).
  lp.lwp_tid = flags & RFPPWAIT ? origlp.lwp_tid - 1 : destproc.p_lasttid;
  do {
    lp.lwp_tid = (lp.lwp_tid + 1) | 0;
    if (lp.lwp_tid <= 0) lp.lwp_tid = 1;
  } while (lwp_rb_insert(destproc, lp) !== NULL);
  dragonflyTidGiven(destproc.h, lp.h, lp.lwp_tid);
  destproc.p_lasttid = lp.lwp_tid;
  destproc.p_nthreads = destproc.p_nthreads + 1;
  destproc.p_flags = destproc.p_flags | P_MAYBETHREADED; // 000:827
  return lp;
}

// ---------------------------------------------------------------- at_fork / rm_at_fork (000:841-876)

/** The built-in callouts: each logs (function id << 16 | child pid) in the globals' callout log. */
function run_fork_callout(fn: number, _p1: ProcV, p2: ProcV, _flags: number): void {
  const g = G();
  const seq = g.callout_seq;
  g.callout_seq = seq + 1;
  const entry = (fn << 16) | (p2.p_pid & 0xffff);
  const slot = seq & 3;
  if (slot === 0) g.callout_log0 = entry;
  else if (slot === 1) g.callout_log1 = entry;
  else if (slot === 2) g.callout_log2 = entry;
  else g.callout_log3 = entry;
}

/** at_fork: append fn to the callout list; under INVARIANTS a duplicate is removed first and warned about. */
export function* at_fork(fn: number): KGen<number> {
  if (rm_at_fork(fn)) kprintf(3); // "WARNING: fork callout entry already present" (000:848-851)
  const ep = forklistV(yield* kmalloc_waitok(FORKLIST)); // 000:853
  ep.function = fn;
  const g = G();
  // TAILQ_INSERT_TAIL (000:855)
  if (g.fork_list === NULL) g.fork_list = ep.h;
  else {
    let cur = g.fork_list;
    while (forklistV(cur).next !== NULL) cur = forklistV(cur).next;
    forklistV(cur).next = ep.h;
  }
  return 0;
}

/** rm_at_fork: remove fn; returns 1 if it was there (000:864-876). */
export function rm_at_fork(fn: number): number {
  const g = G();
  let prev = NULL;
  for (let ep = g.fork_list; ep !== NULL; prev = ep, ep = forklistV(ep).next) {
    if (forklistV(ep).function !== fn) continue;
    if (prev === NULL) g.fork_list = forklistV(ep).next;
    else forklistV(prev).next = forklistV(ep).next;
    kfree(FORKLIST, ep, "rm_at_fork");
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------- start_forked_proc (000:884-930)

export function* start_forked_proc(lp1: LwpV, p2: ProcV): KGen {
  const lp2 = lwpV(p2.p_lwp_tree); // ONLY_LWP_IN_PROC
  KKASSERT(p2.p_stat === SIDL, "fork-start-sidl", `cannot start forked process, bad status ${p2.p_stat} (pid ${p2.p_pid})`);
  p2.p_stat = SACTIVE; // 000:903
  lp2.lwp_stat = LSRUN;
  lwkt_schedule_new(lp2.lwp_thread); // setrunqueue (000:905)

  PRELE(procV(lp1.lwp_proc).ptr("p_lock")); // 000:911

  // vfork: wait until the child clears P_PPWAIT (000:924-929).
  const p1 = procV(lp1.lwp_proc);
  let pflags: number;
  // The parent reads the child's p_flags without the child's p_token, which its writers hold:
  // racy on purpose, "to avoid unnecessary p_token conflicts" (000:918-923), the cmpset too.
  const ppwait = () => data_race(() => p2.p_flags & P_PPWAIT);
  if (bug("df.ppwait-no-interlock")) {
    // wrong: test, then sleep; a clear + wakeup between the two is lost
    while (ppwait()) yield* tsleep(p1.ptr(), 0, "ppwait", 0);
    return;
  }
  while ((pflags = data_race(() => p2.p_flags)) & P_PPWAIT) {
    tsleep_interlock(p1.ptr(), 0);
    // wrong (df.ppwait-no-cmpset): interlocked, but on a test made before the interlock -- a
    // clear and wakeup between the two reads and the sleep never ends
    if (bug("df.ppwait-no-cmpset")) yield* tsleep(p1.ptr(), PINTERLOCKED, "ppwait", 0);
    else if (data_race(() => atomic_cmpset_int(p2.ptr("p_flags"), pflags, pflags))) yield* tsleep(p1.ptr(), PINTERLOCKED, "ppwait", 0);
  }
  vforkWaited(p2, "dragonfly");
}

// ---------------------------------------------------------------- sys_procctl (000:935-1008)

export interface ReaperStatus {
  flags: number;
  refs: number;
  pid_head: number;
}

export function* sys_procctl(id: number, cmd: number): KGen<{ error: number; status: ReaperStatus | null }> {
  const p = curproc();
  if (id !== p.p_pid) return { error: EINVAL, status: null }; // idtype P_PID only (000:944-945)
  let error = 0;
  switch (cmd) {
    case PROC_REAP_ACQUIRE: {
      yield* lwkt_gettoken(p.ptr("p_token"));
      // 000:950-957: the allocation may block; whether p became a reaper meanwhile is decided after it.
      const reap = reapV(yield* kmalloc_waitok(SYSREAPER));
      if (p.p_reaper === NULL || reapV(p.p_reaper).p !== p.h) {
        reaper_init(p, reap.h);
        error = 0;
      } else {
        kfree(SYSREAPER, reap.h, "procctl REAP_ACQUIRE");
        error = EALREADY;
      }
      lwkt_reltoken(p.ptr("p_token"));
      return { error, status: null };
    }
    case PROC_REAP_RELEASE: {
      yield* lwkt_gettoken(p.ptr("p_token"));
      for (;;) {
        // release_again: (000:962)
        const reap = p.p_reaper;
        KKASSERT(reap !== NULL, "reaper", "REAP_RELEASE with no p_reaper");
        const rv = reapV(reap);
        if (rv.p === p.h) {
          reaper_hold(reap); // in case of thread race
          yield* lockmgr(rv.ptr("lock"), LK_EXCLUSIVE);
          if (rv.p !== p.h) {
            yield* lockmgr(rv.ptr("lock"), LK_RELEASE);
            yield* reaper_drop(reap);
            continue;
          }
          rv.p = NULL;
          p.p_reaper = rv.parent;
          if (p.p_reaper !== NULL) reaper_hold(p.p_reaper);
          yield* lockmgr(rv.ptr("lock"), LK_RELEASE);
          yield* reaper_drop(reap); // our ref
          yield* reaper_drop(reap); // old p_reaper ref
          error = 0;
        } else error = ENOTCONN;
        break;
      }
      lwkt_reltoken(p.ptr("p_token"));
      return { error, status: null };
    }
    case PROC_REAP_STATUS: {
      const st: ReaperStatus = { flags: 0, refs: 0, pid_head: -1 };
      yield* lwkt_gettoken_shared(p.ptr("p_token"));
      const reap = p.p_reaper;
      if (reap !== NULL && reapV(reap).p === p.h) {
        st.flags = reapV(reap).flags;
        st.refs = reapV(reap).refs - 1; // minus ours (000:991)
      }
      const p2 = p.p_children;
      st.pid_head = p2 !== NULL ? procV(p2).p_pid : -1;
      lwkt_reltoken(p.ptr("p_token"));
      return { error: 0, status: st };
    }
    default:
      return { error: EINVAL, status: null };
  }
}

// ---------------------------------------------------------------- reapers (000:1014-1216)

/** reaper_hold (000:1014-1019) */
export function reaper_hold(reap: Handle): void {
  KKASSERT(reapV(reap).refs > 0, "reaper-refs", `reaper_hold on a reaper with refs ${reapV(reap).refs}`);
  refcount_acquire(reapV(reap).ptr("refs"));
}

/** reaper_drop: free on 1 -> 0 under reaper_lock, then drop the parent (000:1025-1042). */
export function* reaper_drop(next: Handle): KGen {
  let reap: Handle;
  const g = G();
  while ((reap = next) !== NULL) {
    const rv = reapV(reap);
    if (refcount_release(rv.ptr("refs"))) {
      next = rv.parent;
      KKASSERT(rv.p === NULL, "reaper-free-owned", `reaper freed while owned by ${rv.p}`);
      yield* lockmgr(g.ptr("reaper_lock"), LK_EXCLUSIVE);
      rv.parent = NULL;
      kfree(SYSREAPER, reap, "reaper_drop");
      yield* lockmgr(g.ptr("reaper_lock"), LK_RELEASE);
    } else next = NULL;
  }
}

/** reaper_init (000:1047-1062): init's reaper starts with refs 2 and REALINIT. */
export function reaper_init(p: ProcV, reap: Handle): void {
  const rv = reapV(reap);
  rv.parent = p.p_reaper;
  rv.p = p.h;
  if (p.h === G().initproc) {
    rv.flags = REAPER_STAT_OWNED | REAPER_STAT_REALINIT;
    rv.refs = 2;
  } else {
    rv.flags = REAPER_STAT_OWNED;
    rv.refs = 1;
  }
  // lockinit: the zeroed lock words are an unlocked lockmgr.
  p.p_reaper = reap;
}

/** reaper_exit: release an owned reaper; return and clear p_reaper (caller drops it) (000:1071-1097). */
export function* reaper_exit(p: ProcV): KGen<Handle> {
  let reap = p.p_reaper;
  if (reap !== NULL && reapV(reap).p === p.h) {
    const rv = reapV(reap);
    yield* lockmgr(rv.ptr("lock"), LK_EXCLUSIVE);
    p.p_reaper = rv.parent;
    // wrong (df.reaper-exit-no-hold): p_reaper now points at the parent reaper without a reference
    if (p.p_reaper !== NULL && !bug("df.reaper-exit-no-hold")) reaper_hold(p.p_reaper);
    rv.p = NULL;
    yield* lockmgr(rv.ptr("lock"), LK_RELEASE);
    yield* reaper_drop(reap);
  }
  if ((reap = p.p_reaper) !== NULL) p.p_reaper = NULL;
  return reap;
}

/** reaper_get: the PHOLD'd live reaper process above reap, pruning dead nodes (000:1109-1178). */
export function* reaper_get(reap: Handle): KGen<ProcV | null> {
  if (reap === NULL) return null;
  reaper_hold(reap); // extra hold for the loop
  while (reap !== NULL) {
    const rv = reapV(reap);
    yield* lockmgr(rv.ptr("lock"), LK_SHARED);
    if (rv.p !== NULL) {
      if (rv.p !== NULL) {
        const reproc = procV(rv.p);
        PHOLD(reproc.ptr("p_lock"));
        yield* lockmgr(rv.ptr("lock"), LK_RELEASE);
        yield* reaper_drop(reap);
        return reproc;
      }
      yield* lockmgr(rv.ptr("lock"), LK_RELEASE); // raced, try again (000:1140-1141)
      continue;
    }
    // Upwards, destroying dead internal nodes (000:1151-1172).
    let next = rv.parent;
    while (next !== NULL) {
      reaper_hold(next);
      const nv = reapV(next);
      if (nv.refs === 2 && nv.p === NULL) {
        yield* lockmgr(rv.ptr("lock"), LK_RELEASE);
        yield* lockmgr(rv.ptr("lock"), LK_EXCLUSIVE);
        if (bug("df.reaper-collapse-no-recheck")) {
          // wrong: the lock was let go, another thread may have collapsed next already (or
          // taken a reference, or made it a live reaper again)
          rv.parent = nv.parent;
          nv.parent = NULL;
          yield* reaper_drop(next);
          yield* reaper_drop(next);
          next = rv.parent;
          continue;
        }
        if (nv.refs === 2 && rv.parent === next && nv.p === NULL) {
          rv.parent = nv.parent; // reap->parent inherits next's ref on its parent
          nv.parent = NULL;
          yield* reaper_drop(next); // ours
          yield* reaper_drop(next); // old parent link
          next = rv.parent;
          continue;
        }
      }
      break;
    }
    yield* lockmgr(rv.ptr("lock"), LK_RELEASE);
    yield* reaper_drop(reap);
    reap = next;
  }
  return null;
}

/** reaper_sigtest: may sender signal target within the reaper topology (000:1188-1216). */
export function* reaper_sigtest(sender: ProcV, target: ProcV, reaper_ok: boolean): KGen<boolean> {
  const sreap = sender.p_reaper;
  if (sreap === NULL) return true;
  if (sreap === target.p_reaper) {
    if (reapV(sreap).p === target.h && reapV(sreap).p !== sender.h && !reaper_ok) return false;
    return true;
  }
  const g = G();
  yield* lockmgr(g.ptr("reaper_lock"), LK_SHARED);
  let r = false;
  for (let reap = target.p_reaper; reap !== NULL; reap = reapV(reap).parent) {
    if (sreap === reap) {
      if (reapV(sreap).p !== target.h || reaper_ok) r = true;
      break;
    }
  }
  yield* lockmgr(g.ptr("reaper_lock"), LK_RELEASE);
  return r;
}

export { violation };

/** bcopy of the region between p_startcopy and p_endcopy (000:488-489). */
const copyStartcopy = regionCopier(PROC_COPIED);
