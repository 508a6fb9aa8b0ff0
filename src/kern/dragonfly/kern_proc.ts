/*
 * Process bookkeeping the fork path leans on (kern_proc.c, kern_resource.c, kern_descrip.c,
 * kern_plimit.c, kern_prot.c, vm_fork): lists, pids, pfind, process groups, per-uid counts,
 * credentials, file tables, limits, vmspace, and the LWKT thread a new lwp runs on.
 * Where the seed leaves a function to another file, it is modelled as far as the interlocks need.
 */
import { KernelPanic, KKASSERT, violation } from "../../shm/hooks.js";
import { dragonflyFreedUnnamed, dragonflyPidGiven } from "../../invariants/inline.js";
import { bug } from "../../bugs/switch.js";
import { zalloc_waitok, zfree } from "../../sync/kmem.js";
import { mayblock } from "../../sync/mayblock.js";
import { THREAD } from "../../shm/core.js";
import { NULL, type Handle } from "../../shm/table.js";
import { programId } from "../../sched/programs.js";
import { atomic_add_int, atomic_fetchadd_int, atomic_load_int } from "../../sync/atomic.js";
import { curthread, image, sched, startThread, type KGen } from "../../sync/seam.js";
import { LWPHOLD, LWPRELE, PHOLD, PRELE } from "../../sync/phold.js";
import { data_race } from "../../sync/observe.js";
import { refcount_acquire, refcount_release } from "../../sync/refcount.js";
import { spin_lock, spin_unlock } from "../../sync/spinlock.js";
import { tunable } from "../../sync/tunable.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken, lwkt_token_held_excl } from "../../sync/token.js";
import {
  credV, fdtolV, fdV, G, lwpV, pgrpV, plimitV, procglob, procV, sessV, tbl, uiV, vmV,
  type LwpV, type PrgV, type ProcV,
} from "./globals.js";
import {
  ALLPROC_HSIZE, FDTOL, FILEDESC, LWP, PGRP, PID_MAX, PID_WRAP_TO, PLIMIT, PROC, RLIMIT_NPROC, SESSION, SIDL, SZOMB, UCRED, UIDINFO, VMSPACE,
} from "./structs.js";

// ---------------------------------------------------------------- curthread / allocation

export const threadV = (h: Handle) => image.table(THREAD).view(h);
/** curthread->td_lwp */
export function curlwp(): LwpV {
  return lwpV(threadV(curthread().h).td_lwp);
}
/** curproc */
export function curproc(): ProcV {
  return procV(threadV(curthread().h).td_proc);
}

/**
 * kmalloc(M_WAITOK) from a table (src/sync/kmem.ts): a may-block point -- every token of the
 * caller may be dropped and re-taken across it (NOTES A1) -- that never fails; with the zone
 * empty it sleeps until a record is freed. `site` names the point for scripts' blockAt.
 */
export function kmalloc_waitok(decl: Parameters<typeof tbl>[0], site = `kmalloc:${decl.name}`): KGen<Handle> {
  return zalloc_waitok(tbl(decl), site);
}

/**
 * DragonFly's may-block points, by site name: every kmalloc(M_WAITOK) (named by its malloc type,
 * e.g. kmalloc:proc for fork1's 000:438, kmalloc:sigacts 000:517, kmalloc:lwp 000:735,
 * kmalloc:sysreaper 000:950, kmalloc:plimit for plimit_fork / plimit_lwp_fork / setrlimit,
 * kmalloc:vmspace for vm_fork's copy and exec), and the functions that may sleep on their own.
 */
export const DRAGONFLY_MAYBLOCK_SITES = [
  "kmalloc:proc", "kmalloc:sigacts", "kmalloc:lwp", "kmalloc:sysreaper", "kmalloc:plimit", "kmalloc:vmspace", "kmalloc:pgrp",
  "kmalloc:uidinfo", "kmalloc:ucred", "kmalloc:forklist", "fdinit", "fdcopy", "fdfree", "filedesc_to_leader_alloc", "vm_fork",
  "lwkt_alloc_thread", "vmspace_relexit", "vmspace_exitfree", "copyout",
] as const;

/** kfree: back to the zone, waking a kmalloc asleep on it. */
export function kfree(decl: Parameters<typeof tbl>[0], h: Handle, site: string): void {
  zfree(tbl(decl), h, site);
}

// ---------------------------------------------------------------- LIST helpers (walks)

/** LIST_REMOVE from a singly linked list: head is `holder.headField`, links are `link`. */
export function listRemove(head: () => Handle, setHead: (h: Handle) => void, next: (h: Handle) => Handle, setNext: (h: Handle, n: Handle) => void, h: Handle): boolean {
  let prev = NULL;
  for (let cur = head(); cur !== NULL; prev = cur, cur = next(cur)) {
    if (cur !== h) continue;
    if (prev === NULL) setHead(next(cur));
    else setNext(prev, next(cur));
    setNext(h, NULL);
    return true;
  }
  return false;
}

/** p_children / p_sibling: LIST_INSERT_HEAD (caller holds pptr->p_token). */
export function children_insert_head(pptr: ProcV, p: ProcV): void {
  KKASSERT(lwkt_token_held_excl(pptr.ptr("p_token")), "token-not-held", `LIST_INSERT_HEAD on p_children of pid ${pptr.p_pid} without its p_token`);
  p.p_sibling = pptr.p_children;
  pptr.p_children = p.h;
}
/** LIST_REMOVE(p, p_sibling) (caller holds pptr->p_token). */
export function children_remove(pptr: ProcV, p: ProcV): void {
  KKASSERT(lwkt_token_held_excl(pptr.ptr("p_token")), "token-not-held", `LIST_REMOVE from p_children of pid ${pptr.p_pid} without its p_token`);
  if (!listRemove(() => pptr.p_children, (h) => (pptr.p_children = h), (h) => procV(h).p_sibling, (h, n) => (procV(h).p_sibling = n), p.h)) {
    violation("proc-list", `pid ${p.p_pid} not on the children list of pid ${pptr.p_pid}`);
  }
}

/** pg_members / p_pglist: LIST_INSERT_AFTER(p1, p2) (caller holds pg_token). */
export function pglist_insert_after(p1: ProcV, p2: ProcV): void {
  const next = p1.p_pglist;
  p2.p_pglist = next;
  p2.p_pglist_prev = p1.h;
  if (next !== NULL) procV(next).p_pglist_prev = p2.h;
  p1.p_pglist = p2.h;
}
export function pglist_insert_head(pg: ReturnType<typeof pgrpV>, p: ProcV): void {
  const first = pg.pg_members;
  p.p_pglist = first;
  p.p_pglist_prev = NULL;
  if (first !== NULL) procV(first).p_pglist_prev = p.h;
  pg.pg_members = p.h;
}
/**
 * LIST_REMOVE(p, p_pglist): through le_prev, without walking the group (sys/queue.h 430-441 at
 * d9d67b59; caller holds pg_token). p's own links are cleared, as listRemove clears them.
 */
export function pglist_remove(pg: ReturnType<typeof pgrpV>, p: ProcV): void {
  const prev = p.p_pglist_prev, next = p.p_pglist;
  if ((prev === NULL ? pg.pg_members : procV(prev).p_pglist) !== p.h) {
    violation("pgrp-list", `pid ${p.p_pid} not on the member list of pgrp ${pg.pg_id}`);
    return;
  }
  if (prev === NULL) pg.pg_members = next;
  else procV(prev).p_pglist = next;
  if (next !== NULL) procV(next).p_pglist_prev = prev;
  p.p_pglist = NULL;
  p.p_pglist_prev = NULL;
}

// ---------------------------------------------------------------- lwp tree (keyed by lwp_tid)

/** lwp_rb_tree_RB_INSERT: NULL when inserted, else the lwp already holding that tid. */
export function lwp_rb_insert(p: ProcV, lp: LwpV): Handle {
  const tid = lp.lwp_tid;
  let prev = NULL;
  for (let cur = p.p_lwp_tree; cur !== NULL; prev = cur, cur = lwpV(cur).lwp_rbnode) {
    const ct = lwpV(cur).lwp_tid;
    if (ct === tid) return cur;
    if (ct > tid) break;
  }
  if (prev === NULL) {
    lp.lwp_rbnode = p.p_lwp_tree;
    p.p_lwp_tree = lp.h;
  } else {
    const pv = lwpV(prev);
    lp.lwp_rbnode = pv.lwp_rbnode;
    pv.lwp_rbnode = lp.h;
  }
  return NULL;
}
export function lwp_rb_remove(p: ProcV, lp: LwpV): void {
  if (!listRemove(() => p.p_lwp_tree, (h) => (p.p_lwp_tree = h), (h) => lwpV(h).lwp_rbnode, (h, n) => (lwpV(h).lwp_rbnode = n), lp.h)) {
    violation("lwp-tree", `tid ${lp.lwp_tid} not in the lwp tree of pid ${p.p_pid}`);
  }
}
/** RB_FOREACH snapshot. */
export function lwps_of(p: ProcV): Handle[] {
  const out: Handle[] = [];
  for (let cur = p.p_lwp_tree; cur !== NULL; cur = lwpV(cur).lwp_rbnode) out.push(cur);
  return out;
}

// ---------------------------------------------------------------- procglob: pids, pfind, scans

/**
 * proc_add_allproc (kern_proc.c 990-1000): p gets a pid and goes on its chain's allproc. With
 * kern.randompid set, the base is offset by a random number below it, so forks in flight draw
 * bases on any chain, not on consecutive ones.
 */
export function* proc_add_allproc(p: ProcV): KGen {
  const randompid = tunable(G().ptr("randompid"));
  yield* proc_makepid(p, randompid === 0 ? 0 : (read_random(p) & 0x7fffffff) % randompid);
}

/**
 * read_random, for proc_add_allproc's offset only: the model has no entropy pool, so it mixes
 * the new record's handle (slot and generation) with the forking thread's. That spreads the
 * bases over the modulus as the kernel's offset does, and a controlled run draws the same
 * values again, so it replays.
 */
function read_random(p: ProcV): number {
  let x = Math.imul(p.h ^ Math.imul(curthread().h, 0x9e3779b1), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/**
 * proc_makepid (kern_proc.c 1012-1114): a base from nextpid (an atomic fetchadd; the wrap resets
 * nextpid with a plain store, so the fork after the wrapping one draws the same base) plus the
 * random offset, then, holding only the base's chain token, the first pid from base in steps of
 * ALLPROC_HSIZE (the same chain) that no process or group on the chain uses, inserted under the
 * same hold: the chain token is what keeps two forks' pids apart (000:483). Left out: pid_doms,
 * which skips the domains of pids reaped in the last 10 s (1041-1058) -- without it pids come
 * back sooner, never later, than in the kernel -- and the "makepid" tsleep only pid_doms makes
 * reachable (1050).
 */
function* proc_makepid(p: ProcV, random_offset: number): KGen {
  const g = G();
  for (;;) {
    let base = atomic_fetchadd_int(g.ptr("nextpid"), 1) + random_offset;
    if (base <= 0 || base >= PID_MAX) {
      base = base % PID_MAX;
      if (base < 0) base = PID_WRAP_TO;
      if (base < PID_WRAP_TO) base += PID_WRAP_TO;
      g.nextpid = base; // reset (SMP race ok)
    }
    const prg = procglob(base);
    if (!bug("df.pid-before-token")) yield* lwkt_gettoken(prg.ptr("proc_token"));
    const pid = chain_free_pid(prg, base);
    if (pid >= PID_MAX) {
      if (!bug("df.pid-before-token")) lwkt_reltoken(prg.ptr("proc_token"));
      continue; // the chain is full from base up: a new base (1078-1080)
    }
    // wrong: the chain was searched before its proc_token was taken, and the take may block: a
    // fork on the same chain meanwhile (one that drew the same base, as the one after a wrap
    // does, or with kern.randompid any base on the chain) inserts or reaps under the search
    if (bug("df.pid-before-token")) yield* lwkt_gettoken(prg.ptr("proc_token"));
    p.p_pid = pid;
    p.p_list = prg.allproc;
    prg.allproc = p.h;
    dragonflyPidGiven(pid);
    lwkt_reltoken(prg.ptr("proc_token"));
    return;
  }
}

/**
 * restart1 (kern_proc.c 1073-1108): base, or the first pid after it in steps of ALLPROC_HSIZE,
 * that no process (zombies included) and no group on prg has; PID_MAX or more when none is left.
 */
function chain_free_pid(prg: PrgV, base: number): number {
  while (idOnChain(prg, base)) {
    base += ALLPROC_HSIZE;
    if (base >= PID_MAX) return base;
  }
  return base;
}

/**
 * restart1's LIST_FOREACHes: whether a process or a group on prg has `id`. Each element is read
 * as the kernel reads it -- its id, then its link only when the id differs (a match restarts from
 * the head) -- through one view: with 60,000 processes a fork walks ~234 of them, and a second
 * view per element was half the walk's cost. Sessions are made at boot only (sid 1, init's pid),
 * so there is no allsess to search.
 */
function idOnChain(prg: PrgV, id: number): boolean {
  for (let h = prg.allproc; h !== NULL; ) {
    const ps = procV(h);
    if (ps.p_pid === id) return true;
    h = ps.p_list;
  }
  for (let h = prg.allpgrp; h !== NULL; ) {
    const pg = pgrpV(h);
    if (pg.pg_id === id) return true;
    h = pg.pg_list;
  }
  return false;
}

/** The proc of the calling thread, or NULL for a kernel thread (the kernel's `curproc`, which may be NULL). */
function curproc_or_null(): Handle {
  return threadV(curthread().h).td_proc;
}

/**
 * pfind (kern_proc.c 461-497) and zpfind (545-580): the process with that pid, PHOLD'd, among
 * the live ones (pfind) or the zombies (zpfind); NULL when none. The caller's own process is
 * answered without the chain; otherwise only its chain's token is taken, shared.
 */
function* pfind_stat(pid: number, zombie: boolean): KGen<ProcV | null> {
  const cp = curproc_or_null();
  if (cp !== NULL && procV(cp).p_pid === pid) {
    PHOLD(procV(cp).ptr("p_lock"));
    return procV(cp);
  }
  const prg = procglob(pid);
  yield* lwkt_gettoken_shared(prg.ptr("proc_token"));
  for (let cur = prg.allproc; cur !== NULL; cur = procV(cur).p_list) {
    const p = procV(cur);
    if ((p.p_stat === SZOMB) !== zombie || p.p_pid !== pid) continue;
    PHOLD(p.ptr("p_lock"));
    lwkt_reltoken(prg.ptr("proc_token"));
    return p;
  }
  lwkt_reltoken(prg.ptr("proc_token"));
  return null;
}
export const pfind = (pid: number): KGen<ProcV | null> => pfind_stat(pid, false);
export const zpfind = (pid: number): KGen<ProcV | null> => pfind_stat(pid, true);

/**
 * allproc_scan (kern_proc.c 1271-1318, not segmented): every chain in turn, each under its own
 * proc_token taken exclusively (an empty chain is skipped by a look without it); cb on every
 * process that is not a zombie, PHOLD'd while cb runs (cb may block, which drops the token until
 * it resumes). The hold keeps the process on its chain (proc_remove_zombie PSTALLs with the
 * token held, reap2a), so p_list is still this chain's link once cb returns. cb returning < 0
 * ends the scan, as does visiting more than nprocs + ncpus processes (processes forked faster
 * than the scan walks).
 */
export function* allproc_scan(cb: (p: ProcV) => KGen<number>): KGen {
  const g = G();
  let limit = g.nprocs + g.ncpus;
  for (let n = 0; n < ALLPROC_HSIZE; n++) {
    const prg = procglob(n);
    if (prg.allproc === NULL) continue;
    yield* lwkt_gettoken(prg.ptr("proc_token"));
    let stopped = false;
    for (let h = prg.allproc; h !== NULL; ) {
      const p = procV(h);
      if (p.p_stat === SZOMB) {
        h = p.p_list;
        continue;
      }
      PHOLD(p.ptr("p_lock"));
      const r = yield* cb(p);
      h = p.p_list;
      PRELE(p.ptr("p_lock"));
      stopped = r < 0 || --limit < 0;
      if (stopped) break;
    }
    lwkt_reltoken(prg.ptr("proc_token"));
    if (stopped) return;
  }
}

// ---------------------------------------------------------------- sysctl kern.proc (ps, top)

/**
 * pcredcache (kern_proc.c 145-156): the scan's cached credential, changed for p's when they
 * differ. The first look is unlocked (a cache test); the credential is re-read and crhold'd under
 * p_spin, which every replacer takes around the store (cratom_proc, kern_prot.c 1114-1116;
 * kern_wait, kern_exit.c 1077-1083) before it crfrees the old one. Both reads are marked racy
 * (structs.ts, PROC p_ucred): fork1 sets a SIDL child's p_ucred after putting it on allproc
 * (000:483, 000:501) under locks no scanner takes, and the scan skips SIDL by an unlocked p_stat
 * test, relying on x86's store order for the credential behind it.
 */
function pcredcache(cr: Handle, p: ProcV): Handle {
  if (cr === data_race(() => p.p_ucred)) return cr;
  if (cr !== NULL) crfree(cr);
  spin_lock(p.ptr("p_spin"));
  const ncr = data_race(() => p.p_ucred);
  if (ncr !== NULL) crhold(ncr);
  spin_unlock(p.ptr("p_spin"));
  return ncr;
}

/**
 * sysctl_out_proc (kern_proc.c 1464-1497): fill_kinfo_proc under p's token shared, then one
 * record per lwp -- each LWPHOLD'd while fill_kinfo_lwp reads it and SYSCTL_OUT copies the record
 * out, which may fault and sleep (every token dropped: the hold is what keeps the lwp in the tree,
 * kern_wait's "zomblwp" wait) -- or only the first lwp's without KERN_PROC_FLAG_LWP. The next
 * lwp is read before the LWPRELE: the same link the kernel's RB_NEXT reads after it, p_token
 * being held again by then. p_stat and p_flags are read as fill_kinfo_proc reads them, racily
 * (structs.ts). Returns the records copied out.
 */
function* sysctl_out_proc(p: ProcV, lwps: boolean): KGen<number> {
  let records = 0;
  yield* lwkt_gettoken_shared(p.ptr("p_token"));
  const ki = [p.p_pid, p.p_nthreads, p.p_stat, p.p_flags];
  if (p.p_vmspace !== NULL) ki.push(vmV(p.p_vmspace).vm_dsize + vmV(p.p_vmspace).vm_ssize);
  for (let h = p.p_lwp_tree; h !== NULL; ) {
    const lp = lwpV(h);
    LWPHOLD(lp.ptr("lwp_lock"));
    ki.push(lp.lwp_tid);
    yield* mayblock("copyout");
    records++;
    h = lp.lwp_rbnode;
    LWPRELE(lp.ptr("lwp_lock"));
    if (!lwps) break;
  }
  lwkt_reltoken(p.ptr("p_token"));
  if (records > 0) return records;
  yield* mayblock("copyout"); // a process without lwps is still output
  return 1;
}

/**
 * sysctl kern.proc (sysctl_kern_proc, kern_proc.c 1515-1640) as ps(1) and top(1) read it, with the
 * default ps_showallprocs = 1 and no jail (PRISON_CHECK passes): KERN_PROC_PID through pfind
 * (live processes only), or KERN_PROC_ALL -- every chain under its proc_token shared, SIDL
 * processes skipped, zombies included: each PHOLD'd while sysctl_out_proc copies it out, so a
 * zombie's reaper waits for the scan in proc_remove_zombie's PSTALLs (reap2, reap2a) and an
 * exiting process's in proc_move_allproc_zombie's (reap1, reap1a). The next process is read before
 * the PRELE, as allproc_scan does (the token is held again by then). Returns the records copied.
 */
export function* sysctl_kern_proc(pid: number, lwps: boolean): KGen<number> {
  let crcache: Handle = NULL;
  let records = 0;
  if (pid > 0) {
    const p = yield* pfind(pid);
    if (p !== null) {
      crcache = pcredcache(crcache, p);
      records += yield* sysctl_out_proc(p, lwps);
      PRELE(p.ptr("p_lock"));
    }
  } else {
    for (let n = 0; n < ALLPROC_HSIZE; n++) {
      const prg = procglob(n);
      if (prg.allproc === NULL) continue;
      yield* lwkt_gettoken_shared(prg.ptr("proc_token"));
      for (let h = prg.allproc; h !== NULL; ) {
        const p = procV(h);
        if (p.p_stat === SIDL) {
          h = p.p_list;
          continue;
        }
        crcache = pcredcache(crcache, p);
        PHOLD(p.ptr("p_lock"));
        records += yield* sysctl_out_proc(p, lwps);
        h = p.p_list;
        PRELE(p.ptr("p_lock"));
      }
      lwkt_reltoken(prg.ptr("proc_token"));
    }
  }
  if (crcache !== NULL) crfree(crcache);
  return records;
}

// ---------------------------------------------------------------- process groups

export function pgref(pg: Handle): void {
  refcount_acquire(pgrpV(pg).ptr("pg_refs"));
}

/**
 * pgrel (kern_proc.c 585-633): the 1 -> 0 release is made holding the group's chain token
 * (exclusive, so it may block) and unhashes the group from the chain's allpgrp under that hold.
 */
export function* pgrel(pg: Handle): KGen {
  const v = pgrpV(pg);
  const prg = procglob(v.pg_id);
  for (;;) {
    const c = atomic_load_int(v.ptr("pg_refs"));
    if (c > 1) {
      if (atomicCas(v.ptr("pg_refs"), c, c - 1)) return;
      continue;
    }
    yield* lwkt_gettoken(prg.ptr("proc_token"));
    if (atomicCas(v.ptr("pg_refs"), 1, 0)) break;
    lwkt_reltoken(prg.ptr("proc_token"));
  }
  listRemove(() => prg.allpgrp, (h) => (prg.allpgrp = h), (h) => pgrpV(h).pg_list, (h, n) => (pgrpV(h).pg_list = n), pg);
  lwkt_reltoken(prg.ptr("proc_token"));
  const sess = v.pg_session;
  sessrele(sess);
  kfree(PGRP, pg, "pgrel");
}

import { atomic_cmpset_int as atomicCas } from "../../sync/atomic.js";

function sessrele(sess: Handle): void {
  if (refcount_release(sessV(sess).ptr("s_count"))) kfree(SESSION, sess, "sessrele");
}

/** pgfind (kern_proc.c 642-665): the group with that id, referenced (pgref), or NULL; its chain's token shared. */
export function* pgfind(pgid: number): KGen<Handle> {
  const prg = procglob(pgid);
  yield* lwkt_gettoken_shared(prg.ptr("proc_token"));
  for (let pg = prg.allpgrp; pg !== NULL; pg = pgrpV(pg).pg_list) {
    if (pgrpV(pg).pg_id !== pgid) continue;
    pgref(pg);
    lwkt_reltoken(prg.ptr("proc_token"));
    return pg;
  }
  lwkt_reltoken(prg.ptr("proc_token"));
  return NULL;
}

/**
 * A new process group (one ref, the caller's) in session sess (a session ref is taken), on its
 * chain's allpgrp under the chain token (kern_proc.c 686-747). enterpgrp allocates after its
 * pgfind missed and hashes the group without looking again: a concurrent setpgid to the same new
 * pgid can hash a second one meanwhile. (The kernel's pfindn re-check of p before the insert,
 * 709-714, is not modelled: the model's setpgid makes a group only for a live caller or child.)
 */
export function* pgrp_alloc(pgid: number, sess: Handle): KGen<Handle> {
  const pg = yield* kmalloc_waitok(PGRP);
  const v = pgrpV(pg);
  v.pg_id = pgid;
  v.pg_session = sess;
  v.pg_refs = 1;
  refcount_acquire(sessV(sess).ptr("s_count"));
  const prg = procglob(pgid);
  yield* lwkt_gettoken(prg.ptr("proc_token"));
  v.pg_list = prg.allpgrp;
  prg.allpgrp = pg;
  lwkt_reltoken(prg.ptr("proc_token"));
  return pg;
}

/**
 * enterpgrp (kern_proc.c): move p into pgrp pgid, creating it (in p's session) if needed.
 * pg_token + p_token with a re-check loop, never pg_lock (NOTES B2). As in the kernel, p_pgrp
 * goes straight from the old group to the new one while the new group's pg_token, p_token and
 * the old group's pg_token are all held: p_pgrp is never NULL for a live process, so fork1,
 * setpgid, kern_wait and CANSIGNAL may read it under p_token alone.
 */
export function* enterpgrp(p: ProcV, pgid: number): KGen<number> {
  let npg = yield* pgfind(pgid); // referenced
  if (npg === NULL) {
    npg = yield* pgrp_alloc(pgid, pgrpV(p.p_pgrp).pg_session);
  } else if (npg === p.p_pgrp) {
    yield* pgrel(npg); // already there: drop the lookup ref
    return 0;
  }
  yield* lwkt_gettoken(pgrpV(npg).ptr("pg_token"));
  yield* lwkt_gettoken(p.ptr("p_token"));
  // Replace p->p_pgrp, handling races: every gettoken may block and drop the others.
  let opg: Handle;
  while ((opg = p.p_pgrp) !== NULL) {
    pgref(opg);
    yield* lwkt_gettoken(pgrpV(opg).ptr("pg_token"));
    if (opg !== p.p_pgrp) {
      lwkt_reltoken(pgrpV(opg).ptr("pg_token"));
      yield* pgrel(opg);
      continue;
    }
    pglist_remove(pgrpV(opg), p);
    break;
  }
  p.p_pgrp = npg; // the lookup ref becomes the membership ref
  pglist_insert_head(pgrpV(npg), p);
  if (opg !== NULL) {
    lwkt_reltoken(pgrpV(opg).ptr("pg_token"));
    yield* pgrel(opg); // our temporary ref
    yield* pgrel(opg); // the old membership ref
  }
  lwkt_reltoken(p.ptr("p_token"));
  lwkt_reltoken(pgrpV(npg).ptr("pg_token"));
  return 0;
}

/** leavepgrp (kern_proc.c): take p off its group with the re-check loop; drops the membership ref. */
export function* leavepgrp(p: ProcV): KGen {
  let pg: Handle;
  while ((pg = p.p_pgrp) !== NULL) {
    pgref(pg);
    yield* lwkt_gettoken(pgrpV(pg).ptr("pg_token"));
    yield* lwkt_gettoken(p.ptr("p_token"));
    if (p.p_pgrp !== pg) {
      lwkt_reltoken(p.ptr("p_token"));
      lwkt_reltoken(pgrpV(pg).ptr("pg_token"));
      yield* pgrel(pg);
      continue;
    }
    pglist_remove(pgrpV(pg), p);
    p.p_pgrp = NULL;
    lwkt_reltoken(p.ptr("p_token"));
    lwkt_reltoken(pgrpV(pg).ptr("pg_token"));
    yield* pgrel(pg);
    yield* pgrel(pg);
  }
}

// ---------------------------------------------------------------- uidinfo, chgproccnt, ucred

/** uilookup + uihold under uihash_spin: the uidinfo of uid referenced, or NULL. */
function uilookup_hold(uid: number): Handle {
  const g = G();
  spin_lock(g.ptr("uihash_spin"));
  let ui = g.uihead;
  while (ui !== NULL && uiV(ui).ui_uid !== uid) ui = uiV(ui).ui_next;
  if (ui !== NULL) atomic_add_int(uiV(ui).ptr("ui_ref"), 1);
  spin_unlock(g.ptr("uihash_spin"));
  return ui;
}

/** uifind (kern_resource.c 984-998): the uidinfo of uid, referenced (created on first use). */
export function* uifind(uid: number): KGen<Handle> {
  const ui = uilookup_hold(uid);
  return ui !== NULL ? ui : yield* uicreate(uid);
}

/**
 * uicreate (kern_resource.c 942-978): allocate (may block), then look again under the hash lock:
 * another thread may have created the uid's record meanwhile, and then ours goes back.
 */
function* uicreate(uid: number): KGen<Handle> {
  const ui = yield* kmalloc_waitok(UIDINFO);
  const v = uiV(ui);
  v.ui_uid = uid;
  v.ui_ref = 1;
  const g = G();
  spin_lock(g.ptr("uihash_spin"));
  let tmp = g.uihead;
  while (tmp !== NULL && uiV(tmp).ui_uid !== uid) tmp = uiV(tmp).ui_next;
  if (tmp !== NULL) {
    atomic_add_int(uiV(tmp).ptr("ui_ref"), 1);
    spin_unlock(g.ptr("uihash_spin"));
    kfree(UIDINFO, ui, "uicreate race");
    return tmp;
  }
  v.ui_next = g.uihead;
  g.uihead = ui;
  spin_unlock(g.ptr("uihash_spin"));
  return ui;
}

/** uidrop: the last reference unhashes and frees it. */
export function uidrop(ui: Handle): void {
  const g = G();
  spin_lock(g.ptr("uihash_spin"));
  if (atomic_fetchadd_int(uiV(ui).ptr("ui_ref"), -1) === 1) {
    if (uiV(ui).ui_proccnt !== 0) violation("uidinfo-proccnt", `uidinfo uid ${uiV(ui).ui_uid} freed with ui_proccnt ${uiV(ui).ui_proccnt}`);
    listRemove(() => g.uihead, (h) => (g.uihead = h), (h) => uiV(h).ui_next, (h, n) => (uiV(h).ui_next = n), ui);
    kfree(UIDINFO, ui, "uidrop");
  }
  spin_unlock(g.ptr("uihash_spin"));
}

/**
 * chgproccnt (kern_resource.c): check-then-add, so concurrent forks may overshoot max by the
 * number of cpus forking at once (by design, NOTES "two facts"). max 0 means no limit.
 */
export function chgproccnt(ui: Handle, diff: number, max: number): boolean {
  const v = uiV(ui);
  if (diff > 0 && v.ui_proccnt + diff > max && max !== 0) return false;
  if (bug("df.nprocs-nonatomic")) v.ui_proccnt = v.ui_proccnt + diff; // wrong: a plain read-modify-write
  else atomic_add_int(v.ptr("ui_proccnt"), diff);
  if (v.ui_proccnt < 0) kprintf(0);
  return true;
}

export function crhold(cr: Handle): Handle {
  refcount_acquire(credV(cr).ptr("cr_ref"));
  return cr;
}
export function crfree(cr: Handle): void {
  if (refcount_release(credV(cr).ptr("cr_ref"))) {
    const ui = credV(cr).cr_ruidinfo;
    kfree(UCRED, cr, "crfree");
    uidrop(ui);
  }
}
/** A fresh credential for uid (cr_ref 1). */
export function* cralloc(uid: number): KGen<Handle> {
  const cr = yield* kmalloc_waitok(UCRED);
  const v = credV(cr);
  v.cr_ref = 1;
  v.cr_uid = uid;
  v.cr_ruid = uid;
  v.cr_ruidinfo = yield* uifind(uid);
  return cr;
}

// ---------------------------------------------------------------- file tables

/** fdinit (kern_descrip.c 1788-1825): a fresh table; its kmalloc may block. */
export function* fdinit(): KGen<Handle> {
  const fd = yield* kmalloc_waitok(FILEDESC, "fdinit");
  fdV(fd).fd_refcnt = 1;
  fdV(fd).fd_nfiles = 3;
  return fd;
}
/**
 * fdcopy (kern_descrip.c 1847-1965): a private copy of p1's table. fdp is read before the
 * allocation, which may block (M_WAITOK|M_NULLOK) and then gives NULL when memory is short:
 * ENOMEM for fork1 (000:543-546).
 */
export function* fdcopy(p1: ProcV): KGen<Handle> {
  const fdp = p1.p_fd;
  yield* mayblock("fdcopy");
  const fd = tbl(FILEDESC).alloc();
  if (fd === NULL) return NULL;
  fdV(fd).fd_refcnt = 1;
  fdV(fd).fd_nfiles = fdV(fdp).fd_nfiles;
  return fd;
}
export function fdshare(p1: ProcV): Handle {
  atomic_add_int(fdV(p1.p_fd).ptr("fd_refcnt"), 1);
  return p1.p_fd;
}
/**
 * fdfree(p, repl) (kern_descrip.c 1973-2130): drop p's reference to its table (and its fdtol),
 * install repl. The last reference closes every descriptor first (closef may block).
 */
export function* fdfree(p: ProcV, repl: Handle): KGen {
  const fd = p.p_fd;
  if (fd === NULL) {
    p.p_fd = repl; // "certain daemons might not have file descriptors"
    return;
  }
  const fdtol = p.p_fdtol;
  if (fdtol !== NULL) {
    // filedesc_to_leader: drop this leader's reference under the shared table's fd_spin (as
    // kern_descrip.c fdfree does); the last one unlinks it from the ring and frees it after.
    spin_lock(fdV(fd).ptr("fd_spin"));
    const t = fdtolV(fdtol);
    t.fdl_refcount = t.fdl_refcount - 1;
    const last = t.fdl_refcount === 0 && t.fdl_holdcount === 0;
    if (last) {
      const prev = t.fdl_prev, next = t.fdl_next;
      fdtolV(next).fdl_prev = prev;
      fdtolV(prev).fdl_next = next;
    }
    p.p_fdtol = NULL;
    spin_unlock(fdV(fd).ptr("fd_spin"));
    if (last) kfree(FDTOL, fdtol, "fdfree fdtol");
  }
  if (!refcount_release(fdV(fd).ptr("fd_refcnt"))) {
    p.p_fd = repl;
    return;
  }
  yield* mayblock("fdfree"); // closef of every open descriptor (kern_descrip.c 2084-2095)
  p.p_fd = repl;
  kfree(FILEDESC, fd, "fdfree");
}
/**
 * filedesc_to_leader_alloc(old, leader) (kern_descrip.c 2695-2716): a new ring element after old
 * (or a new ring). `old` is the caller's, taken before the allocation, which may block.
 */
export function* filedesc_to_leader_alloc(old: Handle, leader: Handle): KGen<Handle> {
  const h = yield* kmalloc_waitok(FDTOL, "filedesc_to_leader_alloc");
  const t = fdtolV(h);
  t.fdl_refcount = 1;
  t.fdl_leader = leader;
  if (old !== NULL) {
    const o = fdtolV(old);
    t.fdl_next = o.fdl_next;
    t.fdl_prev = old;
    fdtolV(o.fdl_next).fdl_prev = h;
    o.fdl_next = h;
  } else {
    t.fdl_next = h;
    t.fdl_prev = h;
  }
  return h;
}

// ---------------------------------------------------------------- limits

export function* plimit_alloc(nproc: number): KGen<Handle> {
  const h = yield* kmalloc_waitok(PLIMIT);
  const v = plimitV(h);
  v.p_refcnt = 1;
  v.pl_nproc_cur = nproc;
  v.pl_nproc_max = nproc;
  return h;
}
/**
 * plimit_fork (kern_plimit.c 121-144): share the parent's limits. Exclusive ones (made so for a
 * threaded process) go back to shared when p1 is their only user and single-threaded again;
 * otherwise the child gets a copy -- the kmalloc may block. (The kernel also keeps the reference
 * it took on the original in that case, a leak the model leaves out: see docs/findings.md.)
 */
export function* plimit_fork(p1: ProcV): KGen<Handle> {
  const lim = p1.p_limit;
  const v = plimitV(lim);
  if (v.p_exclusive && v.p_refcnt === 1 && p1.p_nthreads === 1) v.p_exclusive = 0;
  if (v.p_exclusive) {
    const h = yield* plimit_alloc(v.pl_nproc_cur);
    plimitV(h).pl_nproc_max = v.pl_nproc_max;
    return h;
  }
  refcount_acquire(v.ptr("p_refcnt"));
  return lim;
}
export function plimit_free(lim: Handle): void {
  if (refcount_release(plimitV(lim).ptr("p_refcnt"))) kfree(PLIMIT, lim, "plimit_free");
}
/** plimit_lwp_fork (kern_plimit.c 154-173): a threaded process gets an exclusive copy of its limits. */
export function* plimit_lwp_fork(p: ProcV): KGen {
  const old = p.p_limit;
  const v = plimitV(old);
  if (v.p_refcnt === 1) {
    v.p_exclusive = 1;
    return;
  }
  const h = yield* plimit_alloc(v.pl_nproc_cur);
  plimitV(h).pl_nproc_max = v.pl_nproc_max;
  plimitV(h).p_exclusive = 1;
  p.p_limit = h;
  plimit_free(old);
}
/** plimit_getadjvalue(RLIMIT_NPROC) of curproc: scaled down by fork depth (kern_plimit.c). */
export function plimit_getadjvalue(which: number): number {
  if (which !== RLIMIT_NPROC) return 0;
  const p = curproc();
  const v = plimitV(p.p_limit).pl_nproc_cur;
  const depth = Math.min(p.p_depth, 32 * 5);
  return v - Math.floor((v * depth) / 320);
}
/** setrlimit(RLIMIT_NPROC): copy-on-write of the shared limits (p_token held). */
export function* plimit_modify_nproc(p: ProcV, value: number): KGen {
  const old = p.p_limit;
  const ov = plimitV(old);
  if (ov.p_refcnt > 1) {
    const h = yield* plimit_alloc(value);
    plimitV(h).pl_nproc_max = Math.max(value, ov.pl_nproc_max);
    plimitV(h).p_exclusive = ov.p_exclusive;
    p.p_limit = h;
    plimit_free(old);
  } else {
    ov.pl_nproc_cur = value;
    if (value > ov.pl_nproc_max) ov.pl_nproc_max = value;
  }
}

// ---------------------------------------------------------------- vmspace

export function* vmspace_alloc(): KGen<Handle> {
  const h = yield* kmalloc_waitok(VMSPACE);
  const v = vmV(h);
  v.vm_refcnt = 1;
  v.vm_dsize = 4;
  v.vm_ssize = 2;
  return h;
}
/**
 * vm_fork(p1, p2, flags) (vm_glue.c): RFMEM shares p1's vmspace, otherwise a copy (p2 NULL: p1
 * unshares). It locks and copies maps: it may block, shared or not.
 */
export function* vm_fork(p1: ProcV, p2: ProcV | null, flags: number, RFMEM: number): KGen {
  yield* mayblock("vm_fork");
  if (p2 === null) {
    if (flags & RFMEM) return;
    if (vmV(p1.p_vmspace).vm_refcnt > 1) {
      // vmspace_unshare (vm_map.c 4017-4033): the new vmspace replaces the old in p1
      // (pmap_replacevm) before the old one is released, so p1 never names a freed vmspace.
      const nv = yield* vmspace_alloc();
      const ov = p1.p_vmspace;
      p1.p_vmspace = nv;
      vmspace_rel(ov);
    }
    return;
  }
  if (flags & RFMEM) {
    refcount_acquire(vmV(p1.p_vmspace).ptr("vm_refcnt"));
    p2.p_vmspace = p1.p_vmspace;
  } else {
    const nv = yield* vmspace_alloc();
    vmV(nv).vm_dsize = vmV(p1.p_vmspace).vm_dsize;
    vmV(nv).vm_ssize = vmV(p1.p_vmspace).vm_ssize;
    p2.p_vmspace = nv;
  }
}
export function vmspace_rel(vm: Handle): void {
  if (!refcount_release(vmV(vm).ptr("vm_refcnt"))) return;
  dragonflyFreedUnnamed("p_vmspace", vm, "vmspace_rel");
  kfree(VMSPACE, vm, "vmspace_rel");
}

// ---------------------------------------------------------------- messages

/** kprintf: the model counts messages (and remembers the last one's id). */
export function kprintf(id: number): void {
  const g = G();
  atomic_add_int(g.ptr("kprintf_count"), 1);
  g.kprintf_last = id;
}

/** ppsratecheck(&lastfail, &curfail, maxpps): at most maxpps events per second of ticks. */
export function ppsratecheck(maxpps: number): boolean {
  const g = G();
  const now = sched.ticks();
  if (now - g.lastfail >= g.hz || g.lastfail === 0) {
    g.lastfail = now || 1;
    g.curfail = 1;
    return true;
  }
  if (g.curfail < maxpps) {
    g.curfail = g.curfail + 1;
    return true;
  }
  g.curfail = g.curfail + 1;
  return false;
}

// ---------------------------------------------------------------- LWKT threads for lwps

/**
 * lwkt_alloc_thread: a thread record that will run `program` once scheduled; it is not
 * runnable until lwkt_schedule_new (the model's setrunqueue of a fresh lwp). Allocating the
 * thread and its stack may block. The thread table is the runtime's: running out is fatal.
 */
export function* lwkt_alloc_thread(program: string, cpu: number): KGen<Handle> {
  yield* mayblock("lwkt_alloc_thread");
  const threads = image.table(THREAD);
  const td = threads.alloc();
  if (td === NULL) {
    violation("table-exhausted", "lwkt_alloc_thread: thread table full");
    throw new KernelPanic("table-exhausted", "thread table full");
  }
  const v = threads.view(td);
  v.td_gd = cpu;
  v.td_prog = programId(program);
  return td;
}
/** First scheduling of a freshly forked thread: counted live, queued on its cpu. */
export function lwkt_schedule_new(td: Handle): void {
  startThread(td);
}
/** A thread record never started (lwp_create1 failure): give it back. */
export function lwkt_free_unstarted(td: Handle): void {
  image.table(THREAD).free(td, "lwkt_free_thread");
}
/** The first cpu of a mask, or where the scheduler places a new thread (usched). */
export function pick_cpu(mask: number): number {
  const ncpus = G().ncpus;
  if (mask) for (let c = 0; c < ncpus; c++) if (mask & (1 << c)) return c;
  return sched.newThreadCpu();
}


export { SZOMB, PROC, LWP };
