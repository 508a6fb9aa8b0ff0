/*
 * NetBSD process bookkeeping the fork path calls into (kern_proc.c, kern_resource.c, kern_uidinfo.c,
 * kern_descrip.c, vfs_cwd.c, uvm): lists under proc_lock, pid/pgrp lookup, process groups,
 * chgproccnt, the shared sub-structures (mutex objects, sigacts, file table, cwd, limits, vmspace),
 * u-areas, lwp creation with its thread.
 */
import { THREAD } from "../../shm/core.js";
import { violation, KKASSERT } from "../../shm/hooks.js";
import { NULL, type Handle, type Table } from "../../shm/table.js";
import { zalloc_waitok, zfree } from "../../sync/kmem.js";
import { programId } from "../../sched/programs.js";
import { forkReturn } from "../usermode.js";
import { atomic_add_int, atomic_fetchadd_int } from "../../sync/atomic.js";
import { data_race } from "../../sync/observe.js";
import { mutex_enter, mutex_exit, mutex_owned } from "../../sync/kmutex.js";
import { refcount_acquire, refcount_init, refcount_release } from "../../sync/refcount.js";
import { curthread, image, sched, startThread, type KGen } from "../../sync/seam.js";
import { tsleep } from "../../sync/sleep.js";
import {
  CWDINFO, FILEDESC, G, KMUTEXOBJ, L, LSIDL, LWP, P, PGRP, PLIMIT, PROC, proc_lock, p_lock, SDEAD, SESSION, SIDL, SIGACTS, SIGCHLD, SSTOP, SZOMB, UAREA, UIDINFO, VMSPACE,
  type LwpView, type ProcView,
} from "./structs.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyView = any;

// ---- BSD LIST macros over handles -------------------------------------------------------------

export function LIST_INSERT_HEAD(owner: AnyView, head: string, h: Handle, view: (h: Handle) => AnyView, next: string): void {
  view(h)[next] = owner[head];
  owner[head] = h;
}

export function LIST_INSERT_AFTER(after: Handle, h: Handle, view: (h: Handle) => AnyView, next: string): void {
  const a = view(after);
  view(h)[next] = a[next];
  a[next] = h;
}

/** LIST_REMOVE: false when h was not on the list (a corrupted list; reported by the caller). */
export function LIST_REMOVE(owner: AnyView, head: string, h: Handle, view: (h: Handle) => AnyView, next: string): boolean {
  let cur: Handle = owner[head];
  if (cur === h) {
    owner[head] = view(h)[next];
    view(h)[next] = NULL;
    return true;
  }
  while (cur !== NULL) {
    const v = view(cur);
    const nx: Handle = v[next];
    if (nx === h) {
      v[next] = view(h)[next];
      view(h)[next] = NULL;
      return true;
    }
    cur = nx;
  }
  return false;
}

export function* LIST_ITER(first: Handle, view: (h: Handle) => AnyView, next: string): Generator<Handle> {
  for (let h = first; h !== NULL; ) {
    const nx = view(h)[next];
    yield h;
    h = nx;
  }
}

const pgrpv = (h: Handle) => image.table(PGRP).view(h);

// ---- lookups (proc_lock held) -----------------------------------------------------------------

/**
 * p_stat read under proc_lock alone: exit1 may be moving it to SDYING under p_lock alone (kern_exit.c
 * 249-251) -- a race the kernel accepts (kern_proc.c 612: "p_stat might change, since unlocked"),
 * since the states these readers act on (SZOMB, SDEAD) are set under proc_lock.
 */
export const p_stat_unlocked = (p: ProcView): number => data_race(() => p.p_stat);

/** proc_find: a live process by pid (not SIDL, not a zombie). proc_lock held. */
export function proc_find(pid: number): Handle {
  KKASSERT(mutex_owned(proc_lock()), "proc-lock-not-held", "proc_find without proc_lock");
  for (const h of LIST_ITER(G().allproc, P, "p_list")) {
    const p = P(h);
    if (p.p_pid === pid) {
      const st = p_stat_unlocked(p);
      return st === SIDL || st === SZOMB || st === SDEAD ? NULL : h;
    }
  }
  return NULL;
}

/** proc_find_raw: any process by pid, zombies included. */
export function proc_find_raw(pid: number): Handle {
  for (const list of [G().allproc, G().zombproc]) for (const h of LIST_ITER(list, P, "p_list")) if (P(h).p_pid === pid) return h;
  return NULL;
}

/** pgrp_find. proc_lock held. */
export function pgrp_find(pgid: number): Handle {
  const t = image.table(PGRP);
  for (let s = 0; s < t.capacity; s++) {
    const h = t.handleAt(s);
    if (h !== NULL && t.view(h).pg_id === pgid) return h;
  }
  return NULL;
}

// ---- process groups (proc_lock held) ----------------------------------------------------------

/** Join pgrp (p_pgrp/p_pglist links and the member list). */
export function pgrp_join(p: ProcView, pg: Handle): void {
  p.p_pgrp = pg;
  LIST_INSERT_HEAD(pgrpv(pg), "pg_members", p.h, P, "p_pglist");
}

/** proc_leavepgrp: leave the process group; the last member frees it (pg_delete). */
export function proc_leavepgrp(p: ProcView): void {
  const pgh = p.p_pgrp;
  if (pgh === NULL) return;
  const pg = pgrpv(pgh);
  if (!LIST_REMOVE(pg, "pg_members", p.h, P, "p_pglist")) violation("pgrp-list", `pid ${p.p_pid} missing from its pgrp ${pg.pg_id}`);
  p.p_pgrp = NULL;
  if (pg.pg_members === NULL) pg_delete(pgh);
}

function pg_delete(pgh: Handle): void {
  const pg = pgrpv(pgh);
  const sh = pg.pg_session;
  pool_put(image.table(PGRP), pgh, "pg_delete");
  const s = image.table(SESSION).view(sh);
  if (--s.s_count === 0) pool_put(image.table(SESSION), sh, "pg_delete session");
}

/** A new session and process group led by p (init at boot; setsid). */
export function pgrp_create(p: ProcView, newsession: boolean, session: Handle): Handle {
  const pgh = image.table(PGRP).alloc();
  if (pgh === NULL) return NULL;
  let sh = session;
  if (newsession) {
    sh = image.table(SESSION).alloc();
    if (sh === NULL) {
      pool_put(image.table(PGRP), pgh, "pgrp_create");
      return NULL;
    }
    const s = image.table(SESSION).view(sh);
    s.s_sid = p.p_pid;
    s.s_leader = p.h;
  }
  image.table(SESSION).view(sh).s_count++;
  const pg = pgrpv(pgh);
  pg.pg_id = p.p_pid;
  pg.pg_session = sh;
  return pgh;
}

// ---- allocation -------------------------------------------------------------------------------

/** kpause: sleep `ticks` (at least 1) with no wakeup expected. */
export function* kpause(wmesg: string, ticks: number): KGen {
  yield* tsleep(G().ptr("ticks0"), 0, wmesg, Math.max(1, ticks));
}

/**
 * pool_get(PR_WAITOK) from a table (src/sync/kmem.ts): may sleep, never fails; with the pool
 * empty it sleeps until a record is put back (pool_put: every free here goes through zfree).
 * `site`, the allocating function, names the may-block point for scripts' blockAt.
 */
export function pool_get(table: Table, site: string): KGen<Handle> {
  return zalloc_waitok(table, site);
}

/** NetBSD's may-block points, by site name (every pool_get below). */
export const NETBSD_MAYBLOCK_SITES = ["proc_alloc", "mutex_obj_alloc", "sigactsinit", "fd_new", "cwdinit", "lim_copy", "uvmspace_alloc", "lwp_create"] as const;

/** pool_put: back to the pool, waking a pool_get asleep on it. */
export function pool_put(table: Table, h: Handle, site: string): void {
  zfree(table, h, site);
}

/** proc_alloc: a new proc in SIDL with a fresh pid (kern_proc.c). */
export function* proc_alloc(): KGen<Handle> {
  const h = yield* pool_get(image.table(PROC), "proc_alloc");
  const p = P(h);
  p.p_stat = SIDL;
  p.p_pid = atomic_fetchadd_int(G().ptr("nextpid"), 1) + 1;
  return h;
}

/** uvm_uarea_alloc: 0 when kernel VA for a u-area is exhausted (001:270). */
export function uvm_uarea_alloc(): Handle {
  return image.table(UAREA).alloc();
}

export function uvm_uarea_free(ua: Handle): void {
  if (ua !== NULL) pool_put(image.table(UAREA), ua, "uvm_uarea_free");
}

// ---- uidinfo ----------------------------------------------------------------------------------

/** uid_find: the uidinfo of uid, created on first use (never freed, as in NetBSD). */
export function* uid_find(uid: number): KGen<Handle> {
  const t = image.table(UIDINFO);
  const lock = G().ptr("uihash_lock");
  yield* mutex_enter(lock);
  let found = NULL;
  for (let s = 0; s < t.capacity && found === NULL; s++) {
    const h = t.handleAt(s);
    if (h !== NULL && t.view(h).ui_uid === uid) found = h;
  }
  if (found === NULL) {
    found = t.alloc();
    if (found === NULL) {
      mutex_exit(lock);
      throw new Error("uidinfo table full: raise limits.tables.uidinfo");
    }
    t.view(found).ui_uid = uid;
  }
  mutex_exit(lock);
  return found;
}

/** chgproccnt: add diff to uid's process count; returns the new count. */
export function* chgproccnt(uid: number, diff: number): KGen<number> {
  const ui = image.table(UIDINFO).view(yield* uid_find(uid));
  const n = atomic_fetchadd_int(ui.ptr("ui_proccnt"), diff) + diff;
  KKASSERT(n >= 0, "uidinfo-underflow", `chgproccnt(uid ${uid}, ${diff}) went to ${n}`);
  return n;
}

// ---- shared sub-structures --------------------------------------------------------------------

export function* mutex_obj_alloc(): KGen<Handle> {
  const h = yield* pool_get(image.table(KMUTEXOBJ), "mutex_obj_alloc");
  refcount_init(image.table(KMUTEXOBJ).view(h).ptr("mo_refcnt"), 1);
  return h;
}
export function mutex_obj_hold(h: Handle): void {
  refcount_acquire(image.table(KMUTEXOBJ).view(h).ptr("mo_refcnt"));
}
export function mutex_obj_free(h: Handle): void {
  const t = image.table(KMUTEXOBJ);
  if (refcount_release(t.view(h).ptr("mo_refcnt"))) pool_put(t, h, "mutex_obj_free");
}

/** sigactsinit: share the parent's sigacts, or copy it (kern_sig.c). */
export function* sigactsinit(p1: ProcView | null, share: boolean): KGen<Handle> {
  const t = image.table(SIGACTS);
  if (p1 !== null && share) {
    refcount_acquire(t.view(p1.p_sigacts).ptr("sa_refcnt"));
    return p1.p_sigacts;
  }
  const h = yield* pool_get(t, "sigactsinit");
  const ps = t.view(h);
  refcount_init(ps.ptr("sa_refcnt"), 1);
  if (p1 !== null) {
    const ps1 = t.view(p1.p_sigacts);
    yield* mutex_enter(ps1.ptr("sa_mutex"));
    ps.sa_catch = ps1.sa_catch;
    ps.sa_ignore = ps1.sa_ignore;
    mutex_exit(ps1.ptr("sa_mutex"));
  }
  return h;
}
export function sigactsfree(h: Handle): void {
  const t = image.table(SIGACTS);
  if (refcount_release(t.view(h).ptr("sa_refcnt"))) pool_put(t, h, "sigactsfree");
}

/** fd_share (001:354-355): the child uses the parent's table. */
export function fd_share(p1: ProcView, p2: ProcView): void {
  refcount_acquire(image.table(FILEDESC).view(p1.p_fd).ptr("fd_refcnt"));
  p2.p_fd = p1.p_fd;
}
/** fd_init(NULL) / fd_copy(): a new table, clean or a copy of p1's. */
export function* fd_new(copyFrom: ProcView | null): KGen<Handle> {
  const t = image.table(FILEDESC);
  const h = yield* pool_get(t, "fd_new");
  refcount_init(t.view(h).ptr("fd_refcnt"), 1);
  t.view(h).fd_nfiles = copyFrom ? t.view(copyFrom.p_fd).fd_nfiles : 3;
  return h;
}
export function fd_free(h: Handle): void {
  const t = image.table(FILEDESC);
  if (refcount_release(t.view(h).ptr("fd_refcnt"))) pool_put(t, h, "fd_free");
}

export function cwdshare(p1: ProcView, p2: ProcView): void {
  refcount_acquire(image.table(CWDINFO).view(p1.p_cwdi).ptr("cwdi_refcnt"));
  p2.p_cwdi = p1.p_cwdi;
}
export function* cwdinit(): KGen<Handle> {
  const t = image.table(CWDINFO);
  const h = yield* pool_get(t, "cwdinit");
  refcount_init(t.view(h).ptr("cwdi_refcnt"), 1);
  return h;
}
export function cwdfree(h: Handle): void {
  const t = image.table(CWDINFO);
  if (refcount_release(t.view(h).ptr("cwdi_refcnt"))) pool_put(t, h, "cwdfree");
}

export const plimit = (h: Handle) => image.table(PLIMIT).view(h);
export function lim_addref(h: Handle): void {
  refcount_acquire(plimit(h).ptr("pl_refcnt"));
}
/** lim_copy: a private, not-yet-writeable copy. */
export function* lim_copy(h: Handle): KGen<Handle> {
  const n = yield* pool_get(image.table(PLIMIT), "lim_copy");
  const o = plimit(h);
  const c = plimit(n);
  refcount_init(c.ptr("pl_refcnt"), 1);
  c.pl_nproc_cur = o.pl_nproc_cur;
  c.pl_nproc_max = o.pl_nproc_max;
  return n;
}
export function lim_free(h: Handle): void {
  if (refcount_release(plimit(h).ptr("pl_refcnt"))) pool_put(image.table(PLIMIT), h, "lim_free");
}
/** lim_privatise: give p a limit structure of its own before writing it (p_lock not needed here). */
export function* lim_privatise(p: ProcView): KGen<Handle> {
  const cur = p.p_limit;
  if (plimit(cur).pl_writeable) return cur;
  const n = yield* lim_copy(cur);
  plimit(n).pl_writeable = 1;
  p.p_limit = n;
  lim_free(cur);
  return n;
}

/** uvm_proc_fork (001:433): share the parent's vmspace or fork a new one. */
export function* uvm_proc_fork(p1: ProcView, p2: ProcView, shared: boolean): KGen {
  const t = image.table(VMSPACE);
  if (shared) {
    refcount_acquire(t.view(p1.p_vmspace).ptr("vm_refcnt"));
    p2.p_vmspace = p1.p_vmspace;
    return;
  }
  p2.p_vmspace = yield* uvmspace_alloc();
}
export function* uvmspace_alloc(): KGen<Handle> {
  const t = image.table(VMSPACE);
  const h = yield* pool_get(t, "uvmspace_alloc");
  refcount_init(t.view(h).ptr("vm_refcnt"), 1);
  return h;
}
export function uvmspace_free(h: Handle): void {
  const t = image.table(VMSPACE);
  if (refcount_release(t.view(h).ptr("vm_refcnt"))) pool_put(t, h, "uvmspace_free");
}

// ---- lwps -------------------------------------------------------------------------------------

/**
 * lwp_create: a new lwp in p2 with the given u-area. lid = ++p_nlwpid under p2's p_lock
 * (NOTES B6); the lwp starts LSIDL, its thread is started by setrunnable/lwp_start.
 */
export function* lwp_create(p2: ProcView, uaddr: Handle): KGen<LwpView> {
  const lh = yield* pool_get(image.table(LWP), "lwp_create");
  const l2 = L(lh);
  l2.l_proc = p2.h;
  l2.l_stat = LSIDL;
  l2.l_addr = uaddr;
  l2.l_refcnt = 1;
  image.table(UAREA).view(uaddr).ua_lwp = lh;
  const lock = p_lock(p2);
  yield* mutex_enter(lock);
  l2.l_lid = ++p2.p_nlwpid;
  p2.p_nlwps++;
  p2.p_nrlwps++;
  LIST_INSERT_HEAD(p2, "p_lwps", lh, L, "l_sibling");
  mutex_exit(lock);
  return l2;
}

/** lwp_free: the lwp record and its u-area go back (its thread has ended). */
export function lwp_free(l: LwpView): void {
  uvm_uarea_free(l.l_addr);
  pool_put(image.table(LWP), l.h, "lwp_free");
}

/**
 * Start the simulated thread that runs an lwp's user side, on the cpu the scheduler places it
 * (src/sched/placement.ts: by default the next in turn, so a forked child starts elsewhere). It runs where its creator said (forkReturn: setForkReturn's program,
 * or the creator's own); the thread first passes through the "netbsd.lwpstart" trampoline
 * (entry.ts), which does the kernel's start-up of the lwp (child_return for a forked child).
 */
export function lwp_start_thread(l: LwpView, forked: boolean): void {
  const threads = image.table(THREAD);
  const h = threads.alloc();
  if (h === NULL) {
    violation("thread-table-full", `no thread record left for lwp ${l.l_lid} of proc ${P(l.l_proc).p_pid}: raise limits.tables.thread`);
    return;
  }
  const td = threads.view(h);
  td.td_gd = sched.newThreadCpu();
  forkReturn(h);
  // "As its creator": the creator's own program, not the trampoline it started in.
  l.l_startprog = td.td_prog === programId(LWPSTART) ? curlwp().l_startprog : td.td_prog;
  l.l_forked = forked ? 1 : 0;
  td.td_prog = programId(LWPSTART);
  td.td_lwp = l.h;
  td.td_proc = l.l_proc;
  l.l_thread = h;
  startThread(h);
}


/** The trampoline every lwp thread starts in (registered by entry.ts). */
export const LWPSTART = "netbsd.lwpstart";

/** curlwp: the lwp the current thread runs. */
export function curlwp(): LwpView {
  return L(image.table(THREAD).view(curthread().h).td_lwp);
}

// ---- reparenting (proc_lock held) -------------------------------------------------------------

/** proc_reparent: make `parent` the parent of child (kern_exit.c). */
export function proc_reparent(child: ProcView, parent: Handle): void {
  KKASSERT(mutex_owned(proc_lock()), "proc-lock-not-held", "proc_reparent without proc_lock");
  const old = child.p_pptr;
  if (old === parent) return;
  const op = P(old);
  const st = p_stat_unlocked(child);
  // A zombie or an unreported stop counts in the parent's p_nstopchild (kern_exit.c 954-975). Not
  // SDEAD: exit1 counts its dying process in the old parent before it reparents it (findings N4).
  if (st === SZOMB || (st === SSTOP && !child.p_waited)) {
    op.p_nstopchild--;
    P(parent).p_nstopchild++;
  }
  // A child of init reports with SIGCHLD, whatever exit signal its creator chose.
  if (parent === G().initproc) child.p_exitsig = SIGCHLD;
  if (!LIST_REMOVE(op, "p_children", child.h, P, "p_sibling")) violation("child-list", `pid ${child.p_pid} missing from its parent's p_children`);
  LIST_INSERT_HEAD(P(parent), "p_children", child.h, P, "p_sibling");
  child.p_pptr = parent;
  child.p_ppid = P(parent).p_pid;
}

export { p_lock };
