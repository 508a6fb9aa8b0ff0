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
import { mayblock } from "../../sync/mayblock.js";
import { programId } from "../../sched/programs.js";
import { forkReturn } from "../usermode.js";
import { atomic_add_int, atomic_fetchadd_int } from "../../sync/atomic.js";
import { data_race } from "../../sync/observe.js";
import { mutex_enter, mutex_exit, mutex_owned } from "../../sync/kmutex.js";
import { refcount_acquire, refcount_init, refcount_release } from "../../sync/refcount.js";
import { curthread, image, sched, startThread, type KGen } from "../../sync/seam.js";
import { tsleep } from "../../sync/sleep.js";
import {
  CWDINFO, FILEDESC, G, KMUTEXOBJ, L, LSIDL, LWP, P, PG, PGRP, PID_MAX, PID_TABLE, pid_table, PLIMIT, PROC, proc_lock, PT_PER_RECORD, p_lock, SACTIVE, SESSION, SIDL, SIGACTS, SIGCHLD, SSTOP, SZOMB, UAREA, UIDINFO, VMSPACE,
  type GlobalsView, type LwpView, type ProcView,
} from "./structs.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyView = any;

// ---- BSD LIST macros over handles (sys/queue.h) ---------------------------------------------

/** Each LIST's le_prev field, by its next field: the previous element, NULL for the first. */
const LE_PREV: Record<string, string> = { p_list: "p_list_prev", p_sibling: "p_sibling_prev", p_pglist: "p_pglist_prev", l_sibling: "l_sibling_prev" };

/*
 * Each macro's body is made once per (head, next) pair it is used with, naming its fields outright
 * (`e["p_sibling"] = first`): written with `e[next]`, each access was one keyed site seeing every
 * list's field names, which V8 leaves megamorphic -- a runtime call at every access through a
 * view's accessor (LIST_INSERT_HEAD and LIST_REMOVE were 6 % of a one-cpu NetBSD worker). The
 * same accesses in the same order, so the same scheduling points and the same event hash.
 */
type Made<F> = Map<string, Map<string, F>>;
function made<F>(cache: Made<F>, next: string, head: string, body: (q: (f: string) => string) => string, params: string): F {
  let byHead = cache.get(next);
  if (byHead === undefined) cache.set(next, (byHead = new Map()));
  let f = byHead.get(head);
  if (f === undefined) {
    const named: Record<string, string> = { next, prev: LE_PREV[next], head };
    f = new Function(...params.split(","), body((k) => JSON.stringify(named[k]))) as F;
    byHead.set(head, f);
  }
  return f;
}

type ViewOf = (h: Handle) => AnyView;
const insertHeads: Made<(owner: AnyView, h: Handle, view: ViewOf) => void> = new Map();
const insertAfters: Made<(after: Handle, h: Handle, view: ViewOf) => void> = new Map();
const removes: Made<(owner: AnyView, h: Handle, view: ViewOf) => boolean> = new Map();
const nextOf: Made<(v: AnyView) => Handle> = new Map();

export function LIST_INSERT_HEAD(owner: AnyView, head: string, h: Handle, view: ViewOf, next: string): void {
  made(insertHeads, next, head, (q) => `const e = view(h);
    const first = owner[${q("head")}];
    e[${q("next")}] = first;
    if (first !== ${NULL}) view(first)[${q("prev")}] = h;
    owner[${q("head")}] = h;
    e[${q("prev")}] = ${NULL};`, "owner,h,view")(owner, h, view);
}

export function LIST_INSERT_AFTER(after: Handle, h: Handle, view: ViewOf, next: string): void {
  made(insertAfters, next, "", (q) => `const a = view(after);
    const e = view(h);
    const nx = a[${q("next")}];
    e[${q("next")}] = nx;
    if (nx !== ${NULL}) view(nx)[${q("prev")}] = h;
    a[${q("next")}] = h;
    e[${q("prev")}] = after;`, "after,h,view")(after, h, view);
}

/**
 * LIST_REMOVE: through le_prev, without walking the list. First QUEUEDEBUG's check that le_prev
 * leads back to h (sys/queue.h QUEUEDEBUG_LIST_OP): false when it does not -- h is not on the
 * owner's list, a corrupted list the caller reports. h's own links are cleared.
 */
export function LIST_REMOVE(owner: AnyView, head: string, h: Handle, view: ViewOf, next: string): boolean {
  return made(removes, next, head, (q) => `const e = view(h);
    const prev = e[${q("prev")}];
    if ((prev === ${NULL} ? owner[${q("head")}] : view(prev)[${q("next")}]) !== h) return false;
    const nx = e[${q("next")}];
    if (nx !== ${NULL}) view(nx)[${q("prev")}] = prev;
    if (prev === ${NULL}) owner[${q("head")}] = nx;
    else view(prev)[${q("next")}] = nx;
    e[${q("next")}] = ${NULL};
    e[${q("prev")}] = ${NULL};
    return true;`, "owner,h,view")(owner, h, view);
}

export function* LIST_ITER(first: Handle, view: ViewOf, next: string): Generator<Handle> {
  const nextIn = made(nextOf, next, "", (q) => `return v[${q("next")}];`, "v");
  for (let h = first; h !== NULL; ) {
    const nx = nextIn(view(h));
    yield h;
    h = nx;
  }
}

// ---- lookups (proc_lock held) -----------------------------------------------------------------

/**
 * p_stat read under proc_lock alone: exit1 may be moving it to SDYING under p_lock alone (kern_exit.c
 * 249-251) -- a race the kernel accepts (kern_proc.c 612: "p_stat might change, since unlocked"),
 * since the states these readers act on (SZOMB, SDEAD) are set under proc_lock.
 */
export const p_stat_unlocked = (p: ProcView): number => data_race(() => p.p_stat);

/** proc_find_raw: any process by pid, zombies and SIDL included, through pid_table (kern_proc.c 586-599). */
export function proc_find_raw(pid: number): Handle {
  KKASSERT(mutex_owned(proc_lock()), "proc-lock-not-held", "proc_find_raw without proc_lock");
  const pt = pid_table(pid & G().pid_tbl_mask);
  const p = pt.pt_proc;
  return p === NULL || pt.pt_pid !== pid ? NULL : p;
}

/** proc_find: a live process by pid, SACTIVE or SSTOP (kern_proc.c 601-620). proc_lock held. */
export function proc_find(pid: number): Handle {
  const h = proc_find_raw(pid);
  if (h === NULL) return NULL;
  const st = p_stat_unlocked(P(h));
  return st === SACTIVE || st === SSTOP ? h : NULL;
}

/**
 * pgrp_find: the group in its id's slot, unless the slot's group has another id or no members
 * (kept only by its session, kern_proc.c 627-643). proc_lock held.
 */
export function pgrp_find(pgid: number): Handle {
  KKASSERT(mutex_owned(proc_lock()), "proc-lock-not-held", "pgrp_find without proc_lock");
  const pg = pid_table(pgid & G().pid_tbl_mask).pt_pgrp;
  if (pg === NULL) return NULL;
  const v = PG(pg);
  return v.pg_id !== pgid || v.pg_members === NULL ? NULL : pg;
}

// ---- process groups (proc_lock held) ----------------------------------------------------------

/** Join pgrp (p_pgrp/p_pglist links and the member list). */
export function pgrp_join(p: ProcView, pg: Handle): void {
  p.p_pgrp = pg;
  LIST_INSERT_HEAD(PG(pg), "pg_members", p.h, P, "p_pglist");
}

/** proc_leavepgrp: leave the process group; the last member frees it (pg_delete). */
export function proc_leavepgrp(p: ProcView): void {
  const pgh = p.p_pgrp;
  if (pgh === NULL) return;
  const pg = PG(pgh);
  if (!LIST_REMOVE(pg, "pg_members", p.h, P, "p_pglist")) violation("pgrp-list", `pid ${p.p_pid} missing from its pgrp ${pg.pg_id}`);
  p.p_pgrp = NULL;
  if (pg.pg_members === NULL) pg_delete(pgh);
}

function pg_delete(pgh: Handle): void {
  const pg = PG(pgh);
  pg_remove(pg.pg_id);
  const sh = pg.pg_session;
  pool_put(image.table(PGRP), pgh, "pg_delete");
  const s = image.table(SESSION).view(sh);
  if (--s.s_count === 0) pool_put(image.table(SESSION), sh, "pg_delete session");
}

/**
 * pg_remove: the group leaves its slot; a slot whose process is gone too goes on the free list
 * (kern_proc.c 1036-1066: an orphaned group kept it from being reused).
 */
function pg_remove(pg_id: number): void {
  const g = G();
  const pt = pid_table(pg_id & g.pid_tbl_mask);
  pt.pt_pgrp = NULL;
  if (pt.pt_proc === NULL) free_slot(g, pg_id & g.pid_tbl_mask);
}

/** Link a free slot after the free list's last one (proc_free_pid 813-821, pg_remove 1058-1063). */
function free_slot(g: GlobalsView, slot: number): void {
  const last = pid_table(g.last_free_pt);
  last.pt_next = (last.pt_next & ~g.pid_tbl_mask) | slot; // P_FREE(P_NEXT(pt->pt_proc) | pid): the link bits are 0 at the end
  last.pt_pid = 0;
  g.last_free_pt = slot;
  g.pid_alloc_cnt--;
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
  const pg = PG(pgh);
  pg.pg_id = p.p_pid;
  pg.pg_session = sh;
  // proc_enterpgrp's DIAGNOSTIC check, then the group takes its id's slot (kern_proc.c 955-962).
  const pt = pid_table(p.p_pid & G().pid_tbl_mask);
  KKASSERT(pt.pt_pgrp === NULL, "kassert", `enterpgrp: pgrp table slot in use (pgid ${p.p_pid})`);
  pt.pt_pgrp = pgh;
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
export const NETBSD_MAYBLOCK_SITES = ["proc_alloc", "expand_pid_table", "mutex_obj_alloc", "sigactsinit", "fd_new", "cwdinit", "lim_copy", "uvmspace_alloc", "lwp_create"] as const;

/** pool_put: back to the pool, waking a pool_get asleep on it. */
export function pool_put(table: Table, h: Handle, site: string): void {
  zfree(table, h, site);
}

/** proc_alloc: a new proc in SIDL with a pid, findable at once by proc_find_raw (kern_proc.c 733-745). */
export function* proc_alloc(): KGen<Handle> {
  const h = yield* pool_get(image.table(PROC), "proc_alloc");
  const p = P(h);
  p.p_stat = SIDL; // protect against others
  p.p_pid = -1;
  yield* proc_alloc_pid(p);
  return h;
}

/**
 * proc_alloc_pid (kern_proc.c 753-790): take the free list's first slot. Its pid is the slot's
 * saved use count + the table size + the slot, so a slot hands out a pid larger by the table's
 * size each time round, until past pid_max it wraps to the slot number. The table expands first
 * when pid_alloc_lim slots are in use (so pids cycle through 2000+ values), or when the free list
 * is empty -- the count and the limit read before proc_lock.
 */
export function* proc_alloc_pid(p: ProcView): KGen<number> {
  const g = G();
  let slot: number, nxt: number;
  for (;; yield* expand_pid_table()) {
    if (data_race(() => g.pid_alloc_cnt) >= data_race(() => g.pid_alloc_lim)) continue;
    yield* mutex_enter(proc_lock());
    slot = g.next_free_pt;
    const pt = pid_table(slot);
    KKASSERT(pt.pt_proc === NULL && pt.pt_pgrp === NULL, "kassert", `proc_alloc: slot busy (slot ${slot})`);
    nxt = pt.pt_next;
    if (nxt & g.pid_tbl_mask) break;
    mutex_exit(proc_lock()); // table full: expand (the last entry is not used)
  }
  const mask = g.pid_tbl_mask;
  let pid = (nxt & ~mask) + mask + 1 + slot;
  if (pid > g.pid_max) pid &= mask;
  g.next_free_pt = nxt & mask;
  const pt = pid_table(slot);
  pt.pt_proc = p.h;
  KKASSERT(pt.pt_pid === 0, "kassert", `proc_alloc_pid: slot ${slot} has pt_pid ${pt.pt_pid}`);
  pt.pt_pid = pid;
  if (p.p_pid === -1) p.p_pid = pid;
  g.pid_alloc_cnt++;
  mutex_exit(proc_lock());
  return pid;
}

/**
 * expand_pid_table (kern_proc.c 645-730): twice the entries. The kernel allocates the new array
 * (kmem_alloc, KM_SLEEP: a may-block point) before it takes proc_lock, gives up if another
 * expansion came in that window, and otherwise 'unzips' each entry into the two halves under
 * proc_lock: a process to the half its pid's next bit names, a free entry (its use count raised
 * so the link stays valid) to the low half, the other half's entry onto the front of the free
 * list. The model's image already has room for the largest table, so the new array is the old
 * one, unzipped in place: the kernel walks the old table downwards and entry i only fills new
 * entries i and i + size, so each old entry is read before anything overwrites it.
 */
function* expand_pid_table(): KGen {
  const g = G();
  const pt_size = data_race(() => g.pid_tbl_mask) + 1;
  yield* mayblock("expand_pid_table");
  yield* mutex_enter(proc_lock());
  if (pt_size !== g.pid_tbl_mask + 1) {
    mutex_exit(proc_lock()); // another process beat us to it
    return;
  }
  KKASSERT(pt_size * 2 <= image.table(PID_TABLE).capacity * PT_PER_RECORD, "pid-table-room", `expand_pid_table: ${pt_size * 2} entries do not fit the image's pid table`);
  for (let i = pt_size - 1; i >= 0; i--) {
    const old = pid_table(i);
    const proc = old.pt_proc, pgrp = old.pt_pgrp;
    let link = 0, pid: number, rpid: number;
    if (proc === NULL) {
      pid = (old.pt_next + pt_size) & ~pt_size; // up the use count so that the link is valid
      rpid = 0;
      link = pid;
      if (pgrp !== NULL) pid = PG(pgrp).pg_id;
    } else {
      pid = old.pt_pid;
      rpid = pid;
    }
    const keep = pid_table(i + (pid & pt_size));
    keep.pt_proc = proc;
    keep.pt_pgrp = pgrp;
    keep.pt_pid = rpid;
    keep.pt_next = link;
    // The other half's entry goes on the front of the free list.
    const other = (pid ^ pt_size) & ~g.pid_tbl_mask;
    const freed = pid_table(i + (other & pt_size));
    freed.pt_proc = NULL;
    freed.pt_next = (other & ~pt_size) | g.next_free_pt;
    freed.pt_pgrp = NULL;
    freed.pt_pid = 0;
    g.next_free_pt = i | (other & pt_size);
  }
  g.pid_tbl_mask = pt_size * 2 - 1;
  // pid_max starts as PID_MAX; past 16384 pids in use it must grow with the table.
  if (g.pid_tbl_mask > PID_MAX) {
    g.pid_max = g.pid_tbl_mask * 2 + 1;
    g.pid_alloc_lim |= g.pid_alloc_lim << 1;
  } else g.pid_alloc_lim <<= 1;
  mutex_exit(proc_lock());
}

/**
 * proc_free_pid's part of the table (kern_proc.c 801-823): the slot saves the pid's use count,
 * and goes on the free list unless a process group of that id still holds it. proc_lock held.
 * (The kernel uncounts nprocs here too; the model does it with the record's release, proc_free,
 * where the nprocs laws expect it.)
 */
export function proc_free_pid(pid: number): void {
  KKASSERT(mutex_owned(proc_lock()), "proc-lock-not-held", "proc_free_pid without proc_lock");
  const g = G();
  const pt = pid_table(pid & g.pid_tbl_mask);
  pt.pt_proc = NULL;
  pt.pt_next = pid & ~g.pid_tbl_mask;
  KKASSERT(pt.pt_pid === pid, "kassert", `proc_free_pid: slot of pid ${pid} has pt_pid ${pt.pt_pid}`);
  pt.pt_pid = 0;
  if (pt.pt_pgrp === NULL) free_slot(g, pid & g.pid_tbl_mask);
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
