/*
 * The other halves of fork (kern_exit.c, kern_exec.c, kern_proc.c at d9d67b59; NOTES B1, B3-B5):
 * exit1, lwp_exit, kern_wait, lwp_dispose, proc_reparent, the zombie moves, and exec's
 * end of the vfork wait.
 */
import { KKASSERT, violation } from "../../shm/hooks.js";
import { dragonflyFreedUnnamed, dragonflyLastThread, dragonflyProcChannel, dragonflyLwpDrained, dragonflyNprocsCovered, dragonflyProcDrained } from "../../invariants/inline.js";
import { THREAD } from "../../shm/core.js";
import { NULL, type Handle } from "../../shm/table.js";
import { atomic_add_int, atomic_clear_int, atomic_fetchadd_int, atomic_load_int, atomic_set_int } from "../../sync/atomic.js";
import { image, type KGen } from "../../sync/seam.js";
import { EALREADY, ECHILD } from "../../sync/errno.js";
import { LWPHOLD, LWPRELE, PHOLD, PHOLDZOMB, PRELE, PRELEZOMB, PSTALL, holdcount } from "../../sync/phold.js";
import { refcount_release } from "../../sync/refcount.js";
import { PCATCH, PINTERLOCKED, tsleep, tsleep_interlock, tsleep_signal, tsleep_threadexit, wakeup, wakeup_owed } from "../../sync/sleep.js";
import { spin_lock, spin_unlock } from "../../sync/spinlock.js";
import { lwkt_gettoken, lwkt_reltoken, lwkt_yield } from "../../sync/token.js";
import { mayblock } from "../../sync/mayblock.js";
import { data_race } from "../../sync/observe.js";
import { bug } from "../../bugs/switch.js";
import { credV, fdV, G, lwpV, pargsV, pgrpV, procglob, procV, sigactsV, vmV, type LwpV, type ProcV } from "./globals.js";
import {
  children_insert_head, children_remove, chgproccnt, crfree, curlwp, curproc, fdcopy, fdfree, kfree, kmalloc_waitok, leavepgrp,
  listRemove, lwp_rb_remove, lwps_of, plimit_free, vmspace_alloc, vmspace_rel,
} from "./kern_proc.js";
import { reaper_exit, reaper_get, reaper_drop } from "./kern_fork.js";
import { kern_kill, ksignal, lwpsignal } from "./kern_sig.js";
import {
  LWP, LWP_MP_WEXIT, LWP_MP_WSTOP, P_EXEC, P_INEXEC, P_MAYBETHREADED, P_POSTEXIT, P_PPWAIT, P_TRACED, P_WEXIT, PARGS, PROC,
  PS_CLDSIGIGN, PS_NOCLDWAIT,
  SIGACTS, SIGCHLD, SIGKILL, SIGUSR1, SZOMB, WAIT_ANY, WLINUXCLONE, WNOHANG,
} from "./structs.js";

// ---------------------------------------------------------------- zombie moves (kern_proc.c)

/**
 * proc_move_allproc_zombie (kern_proc.c 1126-1140; exit1, kern_exit.c:520): the process stays on
 * its chain's allproc and becomes SZOMB there, which hides it from pfind and allproc_scan. Holds
 * are waited out before the chain's proc_token is taken (reap1) and again with it held (reap1a):
 * a scanner PHOLDs under that token, so a held process never changes state under its scanner.
 */
export function* proc_move_allproc_zombie(p: ProcV): KGen {
  const prg = procglob(p.p_pid);
  yield* PSTALL(p.ptr("p_lock"), "reap1", 0);
  dragonflyProcDrained(p, 0, "reap1");
  yield* lwkt_gettoken(prg.ptr("proc_token"));
  yield* PSTALL(p.ptr("p_lock"), "reap1a", 0);
  dragonflyProcDrained(p, 0, "reap1a");
  p.p_stat = SZOMB;
  lwkt_reltoken(prg.ptr("proc_token"));
}

/**
 * proc_remove_zombie (kern_proc.c 1153-1170; kern_wait, q->p_token held): off its chain and off
 * the parent's children, under the chain's proc_token, holds waited out before (reap2) and with
 * the token held (reap2a).
 */
export function* proc_remove_zombie(p: ProcV): KGen {
  const prg = procglob(p.p_pid);
  yield* PSTALL(p.ptr("p_lock"), "reap2", 0);
  dragonflyProcDrained(p, 0, "reap2");
  yield* lwkt_gettoken(prg.ptr("proc_token"));
  yield* PSTALL(p.ptr("p_lock"), "reap2a", 0);
  dragonflyProcDrained(p, 0, "reap2a");
  if (!listRemove(() => prg.allproc, (h) => (prg.allproc = h), (h) => procV(h).p_list, (h, n) => (procV(h).p_list = n), p.h)) {
    violation("proc-list", `reaped pid ${p.p_pid} not on its allproc chain`);
  }
  children_remove(procV(p.p_pptr), p);
  p.p_pptr = NULL;
  lwkt_reltoken(prg.ptr("proc_token"));
}

// ---------------------------------------------------------------- proc_reparent (kern_exit.c:1237-1266)

/**
 * proc_reparent: move child under parent. A child already under parent is left alone without
 * touching a token (kern_exit.c:1242, the loop's own test): taking parent's p_token there could
 * block (an exiting parent holds it) and let that parent's exit1 move the child elsewhere, after
 * which the retry would put it back under a parent already past its children loop.
 */
export function* proc_reparent(child: ProcV, parent: ProcV): KGen {
  PHOLD(parent.ptr("p_lock"));
  let opp: ProcV;
  while ((opp = procV(child.p_pptr)).h !== parent.h) {
    PHOLD(opp.ptr("p_lock"));
    yield* lwkt_gettoken(opp.ptr("p_token"));
    yield* lwkt_gettoken(child.ptr("p_token"));
    yield* lwkt_gettoken(parent.ptr("p_token"));
    if (child.p_pptr !== opp.h) {
      lwkt_reltoken(parent.ptr("p_token"));
      lwkt_reltoken(child.ptr("p_token"));
      lwkt_reltoken(opp.ptr("p_token"));
      PRELE(opp.ptr("p_lock"));
      continue;
    }
    children_remove(opp, child);
    children_insert_head(parent, child);
    child.p_pptr = parent.h;
    lwkt_reltoken(parent.ptr("p_token"));
    lwkt_reltoken(child.ptr("p_token"));
    lwkt_reltoken(opp.ptr("p_token"));
    if (data_race(() => opp.p_children) === NULL) wakeup(opp.ptr()); // after opp's p_token went
    PRELE(opp.ptr("p_lock"));
    break;
  }
  PRELE(parent.ptr("p_lock"));
}

// ---------------------------------------------------------------- killalllwps (kern_exit.c 180-278)

/**
 * killalllwps(forexec): only one thread of a process may do the master exit (P_WEXIT; EALREADY
 * for the loser). The caller is marked stopped meanwhile (the fake stop, so a coredump it races
 * does not wait for it) and LWP_MP_WEXIT, every other lwp is sent SIGKILL, and it waits until it
 * is the only one left. For exec the caller then goes on as the process's only thread.
 * curproc's p_token held.
 */
export function* killalllwps(forexec: boolean): KGen<number> {
  const lp = curlwp();
  const p = procV(lp.lwp_proc);
  if (p.p_flags & P_WEXIT) return EALREADY;
  p.p_flags = p.p_flags | P_WEXIT;
  let fakestop = false;
  if (!(lp.lwp_mpflags & LWP_MP_WSTOP)) {
    atomic_set_int(lp.ptr("lwp_mpflags"), LWP_MP_WSTOP);
    p.p_nstopped = p.p_nstopped + 1;
    fakestop = true;
    wakeup(p.ptr("p_nstopped"));
  }
  atomic_set_int(lp.ptr("lwp_mpflags"), LWP_MP_WEXIT);
  if (p.p_nthreads > 1) yield* killlwps(lp);
  if (fakestop) {
    atomic_clear_int(lp.ptr("lwp_mpflags"), LWP_MP_WSTOP);
    p.p_nstopped = p.p_nstopped - 1;
  }
  if (forexec) {
    atomic_clear_int(lp.ptr("lwp_mpflags"), LWP_MP_WEXIT);
    p.p_flags = p.p_flags & ~P_WEXIT;
  }
  return 0;
}

/**
 * killlwps: SIGKILL every lwp not already exiting. Each is held (LWPHOLD) across its lwp_token
 * and the signal, which may block: the hold keeps it in the tree -- lwp_exit and lwp_create1's
 * failure path wait for lwp_lock to drain before they take it out -- so the walk can go on from
 * it. Then wait for the others to be gone. p_token held.
 */
function* killlwps(lp: LwpV): KGen {
  const p = procV(lp.lwp_proc);
  for (let h = p.p_lwp_tree; h !== NULL; h = lwpV(h).lwp_rbnode) {
    const tlp = lwpV(h);
    LWPHOLD(tlp.ptr("lwp_lock"));
    yield* lwkt_gettoken(tlp.ptr("lwp_token"));
    if (!(tlp.lwp_mpflags & LWP_MP_WEXIT)) {
      atomic_set_int(tlp.ptr("lwp_mpflags"), LWP_MP_WEXIT);
      yield* lwpsignal(p, tlp, SIGKILL);
    }
    lwkt_reltoken(tlp.ptr("lwp_token"));
    LWPRELE(tlp.ptr("lwp_lock"));
  }
  wakeup(p.ptr());
  while (p.p_nthreads > 1) yield* tsleep(p.ptr("p_nthreads"), 0, "killlwps", 0);
  dragonflyLastThread(p);
}

// ---------------------------------------------------------------- exit1 (kern_exit.c ~290-645)

/** exit1(rv): the process exits; the calling thread is gone when this returns. */
export function* exit1(rv: number): KGen {
  const lp = curlwp();
  const p = procV(lp.lwp_proc);
  yield* lwkt_gettoken(p.ptr("p_token"));
  if ((yield* killalllwps(false)) !== 0) {
    // Another thread is already doing the master exit: this one just leaves.
    yield* lwp_exit(false, NULL);
    return;
  }

  // A task leader kills its RFTHREAD peers and waits until every one has left the chain
  // (kern_exit.c 324-338). The walk reads q->p_peers after sys_kill, which may block.
  if (p.h === p.p_leader) {
    for (let q = p.p_peers; q !== NULL; q = procV(q).p_peers) yield* kern_kill(SIGKILL, procV(q).p_pid);
    while (p.p_peers !== NULL) yield* tsleep(p.ptr(), 0, "exit1", 0);
  }
  p.p_flags = p.p_flags | P_POSTEXIT;
  p.p_xstat = rv;
  p.p_siglist = 0; // SIGEMPTYSET, plain stores under p_token (kern_exit.c 364-365)
  lp.lwp_siglist = 0;

  yield* fdfree(p, NULL); // descriptors (and the fdtol reference); may block

  // Off the leader's peer chain, and wake the leader waiting for it (kern_exit.c 381-387).
  if (procV(p.p_leader).p_peers !== NULL) {
    let q = p.p_leader;
    while (procV(q).p_peers !== p.h) q = procV(q).p_peers;
    procV(q).p_peers = p.p_peers;
    wakeup_owed(dragonflyProcChannel(p, "p_leader")); // the leader's "exit1" test may have been before this write
    wakeup(procV(p.p_leader).ptr());
  }

  // vmspace_relexit with p_token released, so scans of p do not stall behind it (431-433). The
  // model keeps the vmspace itself until kern_wait's vmspace_exitfree.
  lwkt_reltoken(p.ptr("p_token"));
  yield* mayblock("vmspace_relexit");
  yield* lwkt_gettoken(p.ptr("p_token"));

  // PPWAIT before the zombie move, or proc_move_allproc_zombie blocks on the parent's PHOLD (B1).
  const ppwaitLate = bug("df.exit-ppwait-after-zombie"); // wrong: PSTALL in the zombie move waits on the vforker's PHOLD
  if (p.p_flags & P_PPWAIT && !ppwaitLate) {
    if (p.p_pptr !== NULL) atomic_add_int(procV(p.p_pptr).ptr("p_upmap_invfork"), -1);
    atomic_clear_int(p.ptr("p_flags"), P_PPWAIT);
    wakeup_owed(dragonflyProcChannel(p, "p_pptr")); // the vfork parent's test may have been before this clear
    if (!bug("df.exit-ppwait-no-wakeup")) wakeup(procV(p.p_pptr).ptr()); // wrong: the vforker sleeps on
  }

  yield* proc_move_allproc_zombie(p);
  if (p.p_flags & P_PPWAIT && ppwaitLate) {
    if (p.p_pptr !== NULL) atomic_add_int(procV(p.p_pptr).ptr("p_upmap_invfork"), -1);
    atomic_clear_int(p.ptr("p_flags"), P_PPWAIT);
    wakeup_owed(dragonflyProcChannel(p, "p_pptr"));
    wakeup(procV(p.p_pptr).ptr());
  }
  atomic_add_int(procV(p.p_pptr).ptr("p_waitgen"), 1);

  const reap = yield* reaper_exit(p);

  // Children go to the nearest live reaper, re-validated per child.
  let reproc: ProcV | null = null;
  if (p.p_children !== NULL) {
    reproc = yield* reaper_get(reap);
    if (reproc === null) {
      violation("reaper-none", `exit of pid ${p.p_pid}: reaper_get returned NULL`);
      reproc = procV(G().initproc);
      PHOLD(reproc.ptr("p_lock"));
    }
    yield* lwkt_gettoken(reproc.ptr("p_token"));
    let q: Handle;
    let movedZombie = false;
    if (bug("df.exit-reparent-no-recheck")) {
      // wrong: the loop before 0730ed66 -- the successor is read before the child's p_token is
      // taken (which may block, dropping p's), and neither the child nor the successor is held
      // or re-checked as still p's
      for (let nq = p.p_children; (q = nq) !== NULL; ) {
        const qv = procV(q);
        nq = qv.p_sibling;
        yield* lwkt_gettoken(qv.ptr("p_token"));
        children_remove(p, qv);
        children_insert_head(reproc, qv);
        qv.p_pptr = reproc.h;
        qv.p_sigparent = SIGCHLD;
        if (qv.p_stat === SZOMB) movedZombie = true;
        lwkt_reltoken(qv.ptr("p_token"));
      }
    }
    while ((q = p.p_children) !== NULL) {
      const qv = procV(q);
      PHOLD(qv.ptr("p_lock"));
      yield* lwkt_gettoken(qv.ptr("p_token"));
      if (q !== p.p_children) {
        lwkt_reltoken(qv.ptr("p_token"));
        PRELE(qv.ptr("p_lock"));
        continue;
      }
      children_remove(p, qv);
      children_insert_head(reproc, qv);
      qv.p_pptr = reproc.h;
      qv.p_sigparent = SIGCHLD;
      if (qv.p_stat === SZOMB) movedZombie = true;
      if (qv.p_flags & P_TRACED) {
        qv.p_flags = qv.p_flags & ~P_TRACED;
        yield* ksignal(qv, SIGKILL);
      }
      lwkt_reltoken(qv.ptr("p_token"));
      PRELE(qv.ptr("p_lock"));
    }
    lwkt_reltoken(reproc.ptr("p_token"));
    if (movedZombie) wakeup_owed(reproc.ptr()); // a reaper asleep in wait(2) now has a zombie to reap
    wakeup(reproc.ptr());
    if (movedZombie) wake_init_waiter(reproc);
  }

  // Parent ignores SIGCHLD / NOCLDWAIT: the reaper gets us instead.
  if (sigactsV(procV(p.p_pptr).p_sigacts).ps_flag & (PS_NOCLDWAIT | PS_CLDSIGIGN)) {
    if (reproc === null) reproc = yield* reaper_get(reap);
    if (reproc !== null) yield* proc_reparent(p, reproc);
  }
  if (reproc) PRELE(reproc.ptr("p_lock"));
  if (reap !== NULL) yield* reaper_drop(reap);

  // Signal the (possibly new) parent.
  const pp = procV(p.p_pptr);
  PHOLD(pp.ptr("p_lock"));
  if (p.p_sigparent && pp.h !== G().initproc) {
    let sig = p.p_sigparent;
    if (sig !== SIGUSR1 && sig !== SIGCHLD) sig = SIGCHLD;
    yield* ksignal(pp, sig);
  } else yield* ksignal(pp, SIGCHLD);
  if (pp.h === G().initproc) wake_init_waiter(pp);
  p.p_flags = p.p_flags & ~P_TRACED;
  // pp may be gone by the time lwp_exit wakes it ("a wild pointer now but still the correct
  // wakeup() target"): keep the wait channel's address, taken while pp is held, not pp.
  const waddr = pp.ptr();
  PRELE(pp.ptr("p_lock"));

  if (p.p_limit !== NULL) {
    const l = p.p_limit;
    p.p_limit = NULL;
    plimit_free(l);
  }
  yield* lwp_exit(true, waddr);
}

/**
 * The model's init is not parked in wait(2) between script calls but in its idle read; the
 * wakeup(reproc) / SIGCHLD that would end init's wait ends that idle sleep instead, and init's
 * userret reaps (see syscalls.ts). Nothing else is woken by this.
 */
function wake_init_waiter(pp: ProcV): void {
  if (pp.h !== G().initproc) return;
  for (const h of lwps_of(pp)) {
    const td = lwpV(h).lwp_thread;
    if (td !== NULL && image.table(THREAD).valid(td)) tsleep_signal(td);
  }
}

// ---------------------------------------------------------------- lwp_exit / dispose (NOTES B5)

/**
 * lwp_exit(master, waddr): p_token held on entry, released here; the thread ends after. waddr is
 * a wait channel (0: none), only ever passed to wakeup(): the parent it names holds no hold.
 */
export function* lwp_exit(master: boolean, waddr: number): KGen {
  const lp = curlwp();
  const p = procV(lp.lwp_proc);
  atomic_set_int(lp.ptr("lwp_mpflags"), LWP_MP_WEXIT);
  if (lp.lwp_ucred !== NULL) {
    const cr = lp.lwp_ucred;
    lp.lwp_ucred = NULL;
    crfree(cr);
  }
  while (lp.lwp_lock > 0) yield* tsleep(lp.ptr(), 0, "lwpexit", 1);
  dragonflyLwpDrained(lp, "lwpexit");
  PHOLD(p.ptr("p_lock")); // dropped by lwp_dispose
  let dowake = false;
  if (!master) {
    lwp_rb_remove(p, lp);
    p.p_nthreads = p.p_nthreads - 1;
    if (p.p_flags & P_MAYBETHREADED && p.p_nthreads <= 1) dowake = true;
    // Queue for lwp_dispose once the thread is gone (the per-cpu deadlwp list).
    const g = G();
    yield* lwkt_gettoken(g.ptr("deadlwp_token"));
    lp.lwp_reap_entry = g.deadlwp;
    g.deadlwp = lp.h;
    wakeup_owed(g.ptr("deadlwp")); // deadlwp_task may be on its way to an untimed sleep
    lwkt_reltoken(g.ptr("deadlwp_token"));
    wakeup(g.ptr("deadlwp"));
  } else {
    p.p_nthreads = p.p_nthreads - 1; // kern_wait removes the master lwp
    if (p.p_flags & P_MAYBETHREADED && p.p_nthreads <= 1) dowake = true;
  }
  lwkt_reltoken(p.ptr("p_token"));
  if (dowake) wakeup(p.ptr("p_nthreads"));
  if (waddr !== 0) wakeup(waddr);
}

/** lwp_wait: true once the lwp's thread has left its cpu (the runtime freed its record). */
function lwp_thread_gone(lp: LwpV): boolean {
  const td = lp.lwp_thread;
  return td === NULL || !image.table(THREAD).valid(td);
}

/** lwp_dispose: PRELE the process and free the lwp (and a never-started thread). */
export function lwp_dispose(lp: LwpV): void {
  KKASSERT(lp.lwp_lock === 0, "lwp-dispose", `lwp_dispose with lwp_lock ${lp.lwp_lock}`);
  const p = procV(lp.lwp_proc);
  const td = lp.lwp_thread;
  if (td !== NULL && image.table(THREAD).valid(td)) image.table(THREAD).free(td, "lwp_dispose");
  if (lp.lwp_ucred !== NULL) {
    crfree(lp.lwp_ucred);
    lp.lwp_ucred = NULL;
  }
  PRELE(p.ptr("p_lock"));
  kfree(LWP, lp.h, "lwp_dispose");
}

/**
 * lwp_wait (kern_exit.c 782-843): true once the lwp can be disposed of. First the thread must
 * have left its cpu for good: the thread-destruction interlock, an untimed sleep on the thread
 * that its end wakes (797-807). The model yields a few times before it: the exiting thread needs
 * only a few more steps and never blocks again, so it has usually ended by then (and controlled
 * schedules that never slept here stay as they were). Then, with the thread gone, someone may
 * still hold the lwp (LWPHOLD: killlwps, lwpsignal): sleep a tick and let the caller try again.
 * (The kernel also waits out td_refs here; the model's thread records are not reference-counted.)
 */
function* lwp_wait(lp: LwpV): KGen<boolean> {
  for (let spins = 0; !lwp_thread_gone(lp); spins++) {
    if (spins < 8) yield* lwkt_yield();
    else yield* tsleep_threadexit(lp.lwp_thread, "lwpxt");
  }
  if (lp.lwp_lock > 0) {
    yield* tsleep(lp.ptr(), 0, "lwpwait1", 1);
    return false;
  }
  return true;
}

/** reaplwp (kern_exit.c 1335-1340) */
function* reaplwp(lp: LwpV): KGen {
  while (!(yield* lwp_wait(lp)));
  lwp_dispose(lp);
}

/** The deadlwp task: disposes non-master lwps once their threads are gone (per-cpu in the kernel). */
export function* deadlwp_task(): KGen {
  const g = G();
  for (;;) {
    yield* lwkt_gettoken(g.ptr("deadlwp_token"));
    let pending = false;
    let prev = NULL;
    for (let h = g.deadlwp; h !== NULL; ) {
      const lp = lwpV(h);
      const next = lp.lwp_reap_entry;
      if (lwp_thread_gone(lp) && lp.lwp_lock === 0) {
        if (prev === NULL) g.deadlwp = next;
        else lwpV(prev).lwp_reap_entry = next;
        lwp_dispose(lp);
      } else {
        pending = true;
        prev = h;
      }
      h = next;
    }
    if (pending) {
      lwkt_reltoken(g.ptr("deadlwp_token"));
      yield* tsleep(g.ptr("deadlwp"), 0, "deadlwp", 1);
    } else {
      tsleep_interlock(g.ptr("deadlwp"), 0);
      lwkt_reltoken(g.ptr("deadlwp_token"));
      yield* tsleep(g.ptr("deadlwp"), PINTERLOCKED, "deadlwp", 0);
    }
  }
}

// ---------------------------------------------------------------- kern_wait (kern_exit.c:930-1230)

export interface WaitResult {
  error: number;
  pid: number;
  status: number;
}

export function* kern_wait(pid: number, options: number): KGen<WaitResult> {
  const q = curproc();
  const res: WaitResult = { error: 0, pid: 0, status: 0 };
  if (pid === 0) pid = -data_race(() => pgrpV(q.p_pgrp).pg_id); // q->p_pgid before q's p_token (kern_exit.c 908-909)
  yield* lwkt_gettoken(q.ptr("p_token"));
  loop: for (;;) {
    let nfound = 0;
    let waitgen = atomic_fetchadd_int(q.ptr("p_waitgen"), 0x80000000 | 0);
    for (let h = q.p_children; h !== NULL; h = procV(h).p_sibling) {
      const p = procV(h);
      // p_pgid under q's p_token only (kern_exit.c:948-949): the child changes group under its own.
      if (pid !== WAIT_ANY && p.p_pid !== pid && data_race(() => pgrpId(p)) !== -pid) continue;
      if ((p.p_sigparent !== SIGCHLD) !== ((options & WLINUXCLONE) !== 0)) continue;
      nfound++;
      if (p.p_stat !== SZOMB) continue; // racy (structs.ts): PHOLDZOMB, its token and the p_pptr re-check follow
      if (bug("df.wait-pholdzomb-no-recheck")) yield* PHOLDZOMB(p.ptr("p_lock")); // wrong: failure ignored, p may be reaped by now
      else if (yield* PHOLDZOMB(p.ptr("p_lock"))) continue loop; // p may be gone
      yield* lwkt_gettoken(p.ptr("p_token"));
      if (bug("df.wait-no-pptr-recheck")) {
        // wrong: the child may have been reparented while this thread blocked for its token
        // (its own exit hands it to the reaper when q ignores SIGCHLD)
      } else if (p.p_pptr !== q.h) {
        lwkt_reltoken(p.ptr("p_token"));
        PRELEZOMB(p.ptr("p_lock"));
        continue loop;
      }
      while (p.p_nthreads > 0) yield* tsleep(p.ptr("p_nthreads"), 0, "lwpzomb", G().hz);
      let lph: Handle;
      while ((lph = p.p_lwp_tree) !== NULL) {
        const lp = lwpV(lph);
        while (lp.lwp_lock > 0) yield* tsleep(lp.ptr(), 0, "zomblwp", 1);
        dragonflyLwpDrained(lp, "zomblwp");
        lwp_rb_remove(p, lp);
        yield* reaplwp(lp);
      }
      KKASSERT(p.p_nthreads === 0, "lwp-count", `reaped pid ${p.p_pid} with p_nthreads ${p.p_nthreads}`);
      PRELE(p.ptr("p_lock"));
      yield* PSTALL(p.ptr("p_lock"), "reap3", 0);
      dragonflyProcDrained(p, 0, "reap3");
      res.pid = p.p_pid;
      res.status = p.p_xstat;
      yield* proc_remove_zombie(p);
      lwkt_reltoken(p.ptr("p_token"));
      yield* leavepgrp(p);
      p.p_xstat = 0;
      chgproccnt(credV(p.p_ucred).cr_ruidinfo, -1, 0);
      spin_lock(p.ptr("p_spin"));
      const cr = p.p_ucred;
      p.p_ucred = NULL;
      spin_unlock(p.ptr("p_spin"));
      crfree(cr);
      const pa = p.p_args;
      p.p_args = NULL;
      if (pa !== NULL && refcount_release(pargsV(pa).ptr("ar_ref"))) {
        dragonflyFreedUnnamed("p_args", pa, "kern_wait");
        kfree(PARGS, pa, "kern_wait pargs");
      }
      const ps = p.p_sigacts;
      p.p_sigacts = NULL;
      if (ps !== NULL && refcount_release(sigactsV(ps).ptr("ps_refcnt"))) {
        dragonflyFreedUnnamed("p_sigacts", ps, "kern_wait");
        kfree(SIGACTS, ps, "kern_wait sigacts");
      }
      yield* PSTALL(p.ptr("p_lock"), "reap4", 0);
      dragonflyProcDrained(p, 0, "reap4");
      lwkt_reltoken(q.ptr("p_token"));
      // vmspace_exitfree: tears down the address space, may block
      yield* mayblock("vmspace_exitfree");
      const vm = p.p_vmspace;
      p.p_vmspace = NULL;
      if (vm !== NULL) vmspace_rel(vm);
      yield* lwkt_gettoken(q.ptr("p_token"));
      yield* PSTALL(p.ptr("p_lock"), "reap5", 0);
      dragonflyProcDrained(p, 0, "reap5");
      PHOLD(p.ptr("p_lock"));
      PRELEZOMB(p.ptr("p_lock"));
      KKASSERT(holdcount(p.ptr("p_lock")) === 0, "proc-free-held", `pid ${p.p_pid} freed with holds`);
      if (p.p_reaper !== NULL) violation("reaper-leak", `pid ${p.p_pid} freed with a p_reaper`);
      kfree(PROC, p.h, "kern_wait");
      atomic_add_int(G().ptr("nprocs"), -1);
      dragonflyNprocsCovered("kern_wait");
      lwkt_reltoken(q.ptr("p_token"));
      return res;
    }
    if (nfound === 0) {
      res.error = ECHILD;
      break;
    }
    if (options & WNOHANG) {
      res.pid = 0;
      break;
    }
    // Sleep, interlocked with p_waitgen.
    let error = 0;
    while ((waitgen & 0x7fffffff) === (atomic_load_int(q.ptr("p_waitgen")) & 0x7fffffff)) {
      tsleep_interlock(q.ptr(), PCATCH);
      waitgen = atomic_fetchadd_int(q.ptr("p_waitgen"), 0x80000000 | 0);
      if ((waitgen & 0x7fffffff) === (atomic_load_int(q.ptr("p_waitgen")) & 0x7fffffff)) {
        error = yield* tsleep(q.ptr(), PCATCH | PINTERLOCKED, "wait", 0);
        break;
      }
    }
    if (error) {
      res.error = error;
      break;
    }
  }
  lwkt_reltoken(q.ptr("p_token"));
  return res;
}
const pgrpId = (p: ProcV) => (p.p_pgrp !== NULL ? pgrpV(p.p_pgrp).pg_id : 0);

// ---------------------------------------------------------------- exec (kern_exec.c, NOTES B1)

/**
 * kern_execve as far as fork's story goes, in the kernel's order: p_token (kern_exec.c 212);
 * exec_new_vmspace (773-830): the other lwps killed (killalllwps(1)), P_INEXEC, PSTALL "exec1"
 * (tolerating the vfork parent's PHOLD), a fresh vmspace if it was shared; the file table and
 * signal actions unshared (365-392); execsigs; then P_EXEC and the P_PPWAIT clear + wakeup of
 * p_pptr (418-430); P_INEXEC cleared (510). -1 when the process cannot go on (killalllwps lost to
 * another thread's exit, or the table copy failed after the old image was gone): sys_execve then
 * exits with SIGABRT (626-629).
 */
export function* kern_exec(): KGen<number> {
  const p = curproc();
  yield* lwkt_gettoken(p.ptr("p_token"));
  if (p.p_nthreads > 1 && (yield* killalllwps(true)) !== 0) {
    lwkt_reltoken(p.ptr("p_token"));
    return -1;
  }
  p.p_flags = p.p_flags | P_INEXEC;
  const vforker = p.p_flags & P_PPWAIT ? 1 : 0; // the vfork parent's hold stays (kern_exec.c:819)
  yield* PSTALL(p.ptr("p_lock"), "exec1", vforker);
  dragonflyProcDrained(p, vforker, "exec1");
  // vmspace_exec: a shared address space (vfork, RFMEM) is replaced; an own one is cleaned in place.
  if (vmV(p.p_vmspace).vm_refcnt > 1) {
    const ovm = p.p_vmspace;
    p.p_vmspace = yield* vmspace_alloc();
    vmspace_rel(ovm);
    for (const h of lwps_of(p)) lwpV(h).lwp_vmspace = p.p_vmspace;
  }
  if (fdV(p.p_fd).fd_refcnt > 1) {
    const tmp = yield* fdcopy(p);
    if (tmp === NULL) {
      p.p_flags = p.p_flags & ~P_INEXEC;
      lwkt_reltoken(p.ptr("p_token"));
      return -1;
    }
    yield* fdfree(p, tmp);
  }
  // A shared sigacts is unshared; execsigs then sends caught signals back to the default.
  if (sigactsV(p.p_sigacts).ps_refcnt > 1) {
    const old = sigactsV(p.p_sigacts);
    const nps = sigactsV(yield* kmalloc_waitok(SIGACTS));
    nps.ps_refcnt = 1;
    nps.ps_flag = old.ps_flag;
    nps.ps_sigignore = old.ps_sigignore;
    nps.ps_sigcatch = old.ps_sigcatch;
    p.p_sigacts = nps.h;
    if (refcount_release(old.ptr("ps_refcnt"))) {
      dragonflyFreedUnnamed("p_sigacts", old.h, "exec");
      kfree(SIGACTS, old.h, "exec sigacts");
    }
  }
  const ps = sigactsV(p.p_sigacts);
  ps.ps_sigcatch = 0;
  ps.ps_sigintr = 0;
  p.p_flags = p.p_flags | P_EXEC;
  if (p.p_pptr !== NULL && p.p_flags & P_PPWAIT) {
    atomic_add_int(procV(p.p_pptr).ptr("p_upmap_invfork"), -1);
    atomic_clear_int(p.ptr("p_flags"), P_PPWAIT);
    wakeup_owed(dragonflyProcChannel(p, "p_pptr")); // the vfork parent's test may have been before this clear
    if (!bug("df.exec-ppwait-no-wakeup")) wakeup(procV(p.p_pptr).ptr()); // wrong: the vforker sleeps on
  }
  p.p_flags = p.p_flags & ~P_INEXEC;
  lwkt_reltoken(p.ptr("p_token"));
  return 0;
}
