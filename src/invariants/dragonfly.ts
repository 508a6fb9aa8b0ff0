/*
 * DragonFly BSD's laws over a quiescent image (structures: src/kern/dragonfly/structs.ts).
 *
 * "Quiescent" (src/script/runner.ts, src/run/stress.ts): nothing runnable and no timed sleep
 * pending. Threads may still be blocked for good in an untimed sleep, and the laws allow exactly
 * the states such a sleep can leave behind:
 *  - a vfork parent in start_forked_proc's "ppwait" sleep (000:924-929): its child is SACTIVE with
 *    P_PPWAIT, holds one PHOLD from sys_vfork, and counts in the parent's upmap invfork;
 *  - a parent in kern_wait's "wait" sleep, or an exiting lwp in killalllwps' "killlwps" sleep
 *    (P_WEXIT set, its other lwps flagged LWP_MP_WEXIT but still in the tree and counted);
 *  - lwps on the deadlwp list: the disposer sleeps on a timer while one is pending, so the list is
 *    empty at quiescence in practice, but an lwp on it is accounted for (its PHOLD on the process).
 * Everything else in fork/exit/wait moves between consistent states without an untimed sleep, so
 * the laws are exact. One legitimate leftover is not in flux at all: fork1's fdcopy failure
 * (000:543-546) goes to `done` with p2 SIDL on allproc, counted in nprocs and the uid's count, with
 * no parent, no lwp, no file table and a p_pgrp copied without a reference ("abandoned"; see
 * proc-sidl). Laws about parents and process groups skip such a process; the refcount laws count
 * the references it does hold (ucred, sigacts, pargs, reaper).
 */
import { THREAD, TDF_SINTR, TDF_TSLEEPQ } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import { NULL, type Handle } from "../shm/table.js";
import { PLOCK_MASK, PLOCK_ZOMB } from "../sync/phold.js";
import {
  ALLPROC_HASH, ALLPROC_HSIZE, FDTOL, FILEDESC, KGLOBALS, LWP, LWP_MP_WEXIT, P_PPWAIT, PARGS, PGRP, PLIMIT, PROC, PROCGLOB, REAPER_STAT_OWNED, REAPER_STAT_REALINIT,
  SACTIVE, SCORE, SESSION, SIDL, SIGACTS, SSTOP, STAT_NAMES, SYSREAPER, SZOMB, UCRED, UIDINFO, VMSPACE,
} from "../kern/dragonfly/structs.js";
import { checkNprocs, PROC0, checkProcLists, Findings, rec, records, refcountLaw, runLaws, tally, walk, type AuditFinding, type Law } from "./common.js";

/**
 * What every law needs: the tables, the processes of the procglob chains (split by p_stat into
 * live and zombie: zombies stay on their chain) and names for messages.
 */
class DState {
  readonly P;
  readonly L;
  readonly g;
  readonly live: Handle[];
  readonly zomb: Handle[];
  readonly listErrors: string[] = [];
  /** Every chain's processes (one listed twice appears once). */
  readonly listed: Handle[];
  readonly onList = new Set<Handle>();

  constructor(readonly img: Image) {
    this.P = img.table(PROC);
    this.L = img.table(LWP);
    const gt = img.table(KGLOBALS);
    this.g = gt.view(gt.handleAt(0));
    const pv = (h: Handle) => this.P.view(h).p_list;
    const chained: Handle[] = [];
    eachChain(img, "allproc", (n, head) => {
      const c = walk(this.P, head, pv);
      if (c.error) this.listErrors.push(`procglob[${n}].allproc: ${c.error}`);
      for (const h of c.items) {
        const pid = this.P.view(h).p_pid;
        if (ALLPROC_HASH(pid) !== n) this.listErrors.push(`${rec("proc", h)} pid ${pid} is on chain ${n}, not on its ALLPROC_HASH chain ${ALLPROC_HASH(pid)}`);
      }
      chained.push(...c.items);
    });
    this.listed = [...new Set(chained)];
    this.live = this.listed.filter((h) => this.P.view(h).p_stat !== SZOMB);
    this.zomb = this.listed.filter((h) => this.P.view(h).p_stat === SZOMB);
    for (const h of this.listed) this.onList.add(h);
  }

  p(h: Handle) {
    return this.P.view(h);
  }
  name(h: Handle): string {
    return this.P.valid(h) ? `${rec("proc", h)} pid ${this.P.view(h).p_pid}` : `${rec("proc", h)} (not allocated)`;
  }
  isLive(h: Handle): boolean {
    return this.onList.has(h) && this.P.valid(h) && this.P.view(h).p_stat !== SZOMB && this.live.includes(h);
  }
  /** fork1's fdcopy-failure leftover (000:543-546): SIDL, no parent, no lwp, no file table. */
  abandoned(h: Handle): boolean {
    const p = this.P.view(h);
    return p.p_stat === SIDL && p.p_pptr === NULL && p.p_lwp_tree === NULL && p.p_fd === NULL;
  }
  lwpsOf(h: Handle) {
    return walk(this.L, this.P.view(h).p_lwp_tree, (l) => this.L.view(l).lwp_rbnode);
  }
  lname(h: Handle): string {
    return this.L.valid(h) ? `${rec("lwp", h)} tid ${this.L.view(h).lwp_tid}` : `${rec("lwp", h)} (not allocated)`;
  }
}

/** f(n, head) for each procglob chain's `list` head (procglob[n] is slot n, model.ts boot). */
function eachChain(img: Image, list: "allproc" | "allpgrp", f: (n: number, head: Handle) => void): void {
  const t = img.table(PROCGLOB);
  for (let n = 0; n < ALLPROC_HSIZE; n++) f(n, t.view(t.handleAt(n))[list]);
}

type Check = (s: DState, f: Findings) => void;
const law = (name: string, doc: string, check: Check): Law => ({
  name,
  doc,
  check: (img) => {
    const f = new Findings(name);
    check(new DState(img), f);
    return f.list;
  },
});

const LIVE_STATS = new Set([SIDL, SACTIVE, SSTOP, SCORE]);

// ---------------------------------------------------------------- process lists and counts

const procLists = law(
  "proc-lists",
  "every procglob chain's allproc is a well-formed list of allocated records, each on the chain its pid hashes to (ALLPROC_HASH); zombies stay there as SZOMB, the rest are SIDL/SACTIVE/SSTOP/SCORE; pids are unique; every allocated proc record is on a chain",
  (s, f) => checkProcLists(s, f, (st) => LIVE_STATS.has(st), SZOMB, (st) => `${STAT_NAMES[st] ?? st}`),
);

const nprocsLaw = law("nprocs", "nprocs equals the number of processes on the allproc chains (zombies included), plus process 0 (fork1 counts before allocating, kern_wait uncounts after freeing)", checkNprocs);

const maxprocLaw = law(
  "maxproc-overshoot",
  "nprocs stays within maxproc + ncpus: fork1's maxproc test is check-then-add (000:388-409), so concurrent forks may overshoot by at most the cpus forking at once (NOTES 'two facts'; the strict bound is maxproc - 1 + ncpus, the audit keeps one of slack)",
  (s, f) => {
    const bound = s.g.maxproc + s.g.ncpus;
    if (s.g.nprocs > bound) f.add(`nprocs ${s.g.nprocs} exceeds maxproc ${s.g.maxproc} + ncpus ${s.g.ncpus} = ${bound}`);
    const n = s.live.length + s.zomb.length + PROC0;
    if (n > bound) f.add(`${n} processes exist (with process 0), more than maxproc ${s.g.maxproc} + ncpus ${s.g.ncpus} = ${bound}`);
  },
);

const procSidl = law(
  "proc-sidl",
  "at quiescence an SIDL process is only fork1's fdcopy-failure leftover (000:543-546: SIDL on allproc with no parent, no lwp, no file table); any other SIDL process is a fork that never reached start_forked_proc",
  (s, f) => {
    for (const h of s.listed) if (s.p(h).p_stat === SIDL && !s.abandoned(h)) f.add(`${s.name(h)} is SIDL with p_pptr ${s.p(h).p_pptr}, p_lwp_tree ${s.p(h).p_lwp_tree}, p_fd ${s.p(h).p_fd}: a fork left half done`);
  },
);

// ---------------------------------------------------------------- parent / child

const parentChild = law(
  "parent-child",
  "every process but init has a live parent (a zombie's children went to a reaper in exit1) and is on its p_children exactly once; every p_children member points back; no process is on two children lists",
  (s, f) => {
    const init = s.g.initproc;
    if (!s.P.valid(init) || !s.live.includes(init)) f.add(`initproc ${rec("proc", init)} is not a live process`);
    else if (s.p(init).p_pptr !== NULL) f.add(`init ${s.name(init)} has parent ${s.name(s.p(init).p_pptr)}`);
    const appearances = new Map<Handle, Handle[]>();
    for (const x of s.listed) {
      const w = walk(s.P, s.p(x).p_children, (h) => s.p(h).p_sibling);
      if (w.error) f.add(`p_children of ${s.name(x)}: ${w.error}`);
      for (const c of w.items) {
        const l = appearances.get(c) ?? [];
        l.push(x);
        appearances.set(c, l);
        if (!s.onList.has(c)) f.add(`${s.name(c)} is a child of ${s.name(x)} but on no allproc chain`);
        if (s.p(c).p_pptr !== x) f.add(`${s.name(c)} is on the p_children of ${s.name(x)} but its p_pptr is ${s.name(s.p(c).p_pptr)}`);
      }
    }
    for (const [c, parents] of appearances) if (parents.length > 1) f.add(`${s.name(c)} is on the p_children of ${parents.map((p) => s.name(p)).join(", ")}`);
    for (const h of s.listed) {
      if (h === init || s.abandoned(h)) continue;
      const pp = s.p(h).p_pptr;
      if (pp === NULL) {
        f.add(`${s.name(h)} has no parent`);
        continue;
      }
      if (!s.P.valid(pp)) {
        f.add(`${s.name(h)} has p_pptr ${rec("proc", pp)}, which is not allocated`);
        continue;
      }
      if (!s.isLive(pp)) f.add(`${s.name(h)} has parent ${s.name(pp)}, which is not a live process`);
      const n = (appearances.get(h) ?? []).filter((x) => x === pp).length;
      if (n !== 1) f.add(`${s.name(h)} appears ${n} times on the p_children of its parent ${s.name(pp)}`);
    }
  },
);

// ---------------------------------------------------------------- process groups and sessions

function pgrpMembers(s: DState, f: Findings | null): Map<Handle, Handle[]> {
  const PG = s.img.table(PGRP);
  const members = new Map<Handle, Handle[]>();
  for (const pg of records(PG)) {
    const w = walk(s.P, PG.view(pg).pg_members, (h) => s.p(h).p_pglist);
    if (w.error && f) f.add(`pg_members of ${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id}: ${w.error}`);
    w.items.forEach((h, i) => {
      const want = i === 0 ? NULL : w.items[i - 1];
      if (f && s.p(h).p_pglist_prev !== want) f.add(`${s.name(h)} on the members of ${rec("pgrp", pg)} has p_pglist_prev ${rec("proc", s.p(h).p_pglist_prev)}, not ${want === NULL ? "NULL (first)" : rec("proc", want)}`);
    });
    members.set(pg, w.items);
  }
  return members;
}

const pgrpMembersLaw = law(
  "pgrp-members",
  "every allocated pgrp is on the allpgrp of the procglob chain its pg_id hashes to, once, with a unique pg_id; every pg_members member is a listed process whose p_pgrp is that group; every process (but fork1's abandoned SIDL) is on its p_pgrp's member list exactly once",
  (s, f) => {
    const PG = s.img.table(PGRP);
    const chained: Handle[] = [];
    eachChain(s.img, "allpgrp", (n, head) => {
      const c = walk(PG, head, (h) => PG.view(h).pg_list);
      if (c.error) f.add(`procglob[${n}].allpgrp: ${c.error}`);
      for (const h of c.items) if (ALLPROC_HASH(PG.view(h).pg_id) !== n) f.add(`${rec("pgrp", h)} pgid ${PG.view(h).pg_id} is on chain ${n}, not on its PGRP_HASH chain`);
      chained.push(...c.items);
    });
    const hashed = new Set(chained);
    for (const pg of records(PG)) if (!hashed.has(pg)) f.add(`${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id} is allocated but on no allpgrp chain`);
    for (const [id, n] of tally(chained.map((h) => PG.view(h).pg_id))) if (n > 1) f.add(`pgid ${id} is hashed ${n} times`);
    const members = pgrpMembers(s, f);
    const seen = new Map<Handle, number>();
    for (const [pg, ms] of members) {
      for (const h of ms) {
        seen.set(h, (seen.get(h) ?? 0) + 1);
        if (!s.onList.has(h)) f.add(`${s.name(h)} is a member of ${rec("pgrp", pg)} but on no allproc chain`);
        if (s.p(h).p_pgrp !== pg) f.add(`${s.name(h)} is on the members of ${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id} but its p_pgrp is ${rec("pgrp", s.p(h).p_pgrp)}`);
      }
    }
    for (const h of s.listed) {
      if (s.abandoned(h)) continue;
      const pg = s.p(h).p_pgrp;
      if (!PG.valid(pg)) {
        f.add(`${s.name(h)} has p_pgrp ${pg === NULL ? "NULL" : rec("pgrp", pg) + " (not allocated)"}`);
        continue;
      }
      const n = (members.get(pg) ?? []).filter((m) => m === h).length;
      if (n !== 1) f.add(`${s.name(h)} appears ${n} times on the members of its pgrp ${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id}`);
    }
    for (const [h, n] of seen) if (n > 1) f.add(`${s.name(h)} is on ${n} member lists`);
  },
);

const pgrpRefs = law(
  "pgrp-refs",
  "pg_refs equals the number of member processes (the membership reference; fork1's and pgfind's extra references are transient) and no pgrp outlives its last member",
  (s, f) => {
    const PG = s.img.table(PGRP);
    const holders = s.listed.filter((h) => !s.abandoned(h)).map((h) => ({ h: s.p(h).p_pgrp, who: s.name(h) }));
    refcountLaw(f, PG, (h) => PG.view(h).pg_refs, holders, "pg_refs");
  },
);

const sessionRefs = law("session-refs", "s_count equals the number of pgrps in the session", (s, f) => {
  const PG = s.img.table(PGRP);
  const S = s.img.table(SESSION);
  refcountLaw(f, S, (h) => S.view(h).s_count, records(PG).map((pg) => ({ h: PG.view(pg).pg_session, who: `${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id}` })), "s_count");
});

// ---------------------------------------------------------------- lwps

const lwpTree = law(
  "lwp-tree",
  "each process's p_lwp_tree lists its own lwps by strictly increasing tid >= 1 (unique tids); every allocated lwp is in exactly one tree or on the deadlwp list; a live process's lwps run on threads that point back at them, a zombie's remaining lwp has no thread left",
  (s, f) => {
    const T = s.img.table(THREAD);
    const where = new Map<Handle, string[]>();
    for (const h of s.listed) {
      const w = s.lwpsOf(h);
      if (w.error) f.add(`p_lwp_tree of ${s.name(h)}: ${w.error}`);
      let last = 0;
      const zombie = s.p(h).p_stat === SZOMB;
      for (const l of w.items) {
        const lp = s.L.view(l);
        where.set(l, [...(where.get(l) ?? []), s.name(h)]);
        if (lp.lwp_proc !== h) f.add(`${s.lname(l)} is in the tree of ${s.name(h)} but its lwp_proc is ${s.name(lp.lwp_proc)}`);
        if (lp.lwp_tid < 1) f.add(`${s.lname(l)} of ${s.name(h)} has tid ${lp.lwp_tid} < 1`);
        else if (lp.lwp_tid <= last) f.add(`${s.name(h)} has tid ${lp.lwp_tid} after tid ${last} in its lwp tree (${lp.lwp_tid === last ? "duplicate tid" : "out of order"})`);
        last = Math.max(last, lp.lwp_tid);
        const td = lp.lwp_thread;
        if (zombie) {
          if (td !== NULL && T.valid(td)) f.add(`${s.lname(l)} of zombie ${s.name(h)} still has a live thread ${rec("thread", td)}`);
        } else if (!T.valid(td)) f.add(`${s.lname(l)} of live ${s.name(h)} has no thread (lwp_thread ${rec("thread", td)})`);
        else if (T.view(td).td_lwp !== l || T.view(td).td_proc !== h) f.add(`${rec("thread", td)} of ${s.lname(l)} in ${s.name(h)} points at lwp ${T.view(td).td_lwp} proc ${T.view(td).td_proc}`);
      }
    }
    const dw = walk(s.L, s.g.deadlwp, (l) => s.L.view(l).lwp_reap_entry);
    if (dw.error) f.add(`deadlwp list: ${dw.error}`);
    for (const l of dw.items) {
      if (where.has(l)) f.add(`${s.lname(l)} is on the deadlwp list and still in the tree of ${where.get(l)!.join(", ")}`);
      else where.set(l, ["deadlwp"]);
      if (!(s.L.view(l).lwp_mpflags & LWP_MP_WEXIT)) f.add(`${s.lname(l)} is on the deadlwp list without LWP_MP_WEXIT`);
    }
    for (const [l, ws] of where) if (ws.length > 1) f.add(`${s.lname(l)} is in ${ws.length} places: ${ws.join(", ")}`);
    for (const l of records(s.L)) if (!where.has(l)) f.add(`${s.lname(l)} (lwp_proc ${s.name(s.L.view(l).lwp_proc)}) is allocated but in no lwp tree and not on the deadlwp list`);
  },
);

const lwpCount = law(
  "lwp-count",
  "p_nthreads of a process on allproc equals the lwps in its tree (lwp_exit removes and counts down together); a zombie has p_nthreads 0 and exactly its exiting (master) lwp left for kern_wait",
  (s, f) => {
    for (const h of s.listed) {
      const n = s.lwpsOf(h).items.length;
      const nt = s.p(h).p_nthreads;
      if (s.p(h).p_stat === SZOMB) {
        if (nt !== 0) f.add(`zombie ${s.name(h)} has p_nthreads ${nt}`);
        if (n !== 1) f.add(`zombie ${s.name(h)} has ${n} lwps in its tree (expected its master lwp only)`);
      } else if (nt !== n) f.add(`${s.name(h)} has p_nthreads ${nt} but ${n} lwps in its tree`);
    }
  },
);

// ---------------------------------------------------------------- holds

const pholdLaw = law(
  "phold-count",
  "at quiescence a process's PHOLD count is exactly the holds that can outlive a sleep: 1 for a zombie (its master lwp's, dropped by lwp_dispose in kern_wait), 1 for a child with P_PPWAIT (sys_vfork's PHOLD(p2) while the parent sleeps), 1 per lwp of it on the deadlwp list; no PLOCK_ZOMB is left set, and no lwp is LWPHOLD'd",
  (s, f) => {
    const dead = tally(walk(s.L, s.g.deadlwp, (l) => s.L.view(l).lwp_reap_entry).items.map((l) => s.L.view(l).lwp_proc));
    for (const h of s.listed) {
      const p = s.p(h);
      const want = (p.p_stat === SZOMB ? 1 : 0) + (p.p_flags & P_PPWAIT ? 1 : 0) + (dead.get(h) ?? 0);
      const got = p.p_lock & PLOCK_MASK;
      if (got !== want) f.add(`${s.name(h)} has ${got} PHOLD(s), expected ${want}${p.p_stat === SZOMB ? " (zombie)" : ""}${p.p_flags & P_PPWAIT ? " (P_PPWAIT)" : ""}`);
      if (p.p_lock & PLOCK_ZOMB) f.add(`${s.name(h)} has PLOCK_ZOMB set with no reaper running`);
    }
    for (const l of records(s.L)) if (s.L.view(l).lwp_lock !== 0) f.add(`${s.lname(l)} has lwp_lock ${s.L.view(l).lwp_lock}`);
  },
);

// ---------------------------------------------------------------- reapers

const reaperRefs = law(
  "reaper-refs",
  "a sysreaper's refs equals its holders: processes whose p_reaper it is, child reapers whose parent it is, plus one for REAPER_STAT_REALINIT (reaper_init gives init's reaper refs 2); an unreferenced reaper is freed",
  (s, f) => {
    const R = s.img.table(SYSREAPER);
    const holders: { h: Handle; who: string }[] = [];
    for (const h of records(s.P)) holders.push({ h: s.p(h).p_reaper, who: s.name(h) });
    for (const r of records(R)) {
      holders.push({ h: R.view(r).parent, who: `${rec("sysreaper", r)}.parent` });
      if (R.view(r).flags & REAPER_STAT_REALINIT) holders.push({ h: r, who: "REALINIT" });
    }
    refcountLaw(f, R, (h) => R.view(h).refs, holders, "refs");
  },
);

const reaperTopology = law(
  "reaper-topology",
  "reaper parent chains are acyclic and end at init's REALINIT reaper; an owned reaper (p != NULL) has REAPER_STAT_OWNED and a live owner whose p_reaper is it; a REALINIT reaper has no parent and belongs to init; zombies hold no p_reaper (reaper_exit cleared it)",
  (s, f) => {
    const R = s.img.table(SYSREAPER);
    const all = records(R);
    const realinit = all.filter((r) => R.view(r).flags & REAPER_STAT_REALINIT);
    if (realinit.length > 1) f.add(`${realinit.length} reapers have REAPER_STAT_REALINIT: ${realinit.map((r) => rec("sysreaper", r)).join(", ")}`);
    const init = s.g.initproc;
    // init may have released its reaper (procctl REAP_RELEASE): then there is no root to reach.
    const rootExpected = s.P.valid(init) && s.p(init).p_reaper !== NULL;
    for (const r of all) {
      const rv = R.view(r);
      const w = walk(R, rv.parent, (h) => R.view(h).parent);
      if (w.error) f.add(`parent chain of ${rec("sysreaper", r)}: ${w.error}`);
      else if (w.items.includes(r)) f.add(`${rec("sysreaper", r)} is its own ancestor`);
      else if (rootExpected) {
        const root = w.items.length ? w.items[w.items.length - 1] : r;
        if (!(R.view(root).flags & REAPER_STAT_REALINIT)) f.add(`the parent chain of ${rec("sysreaper", r)} ends at ${rec("sysreaper", root)}, which is not init's REALINIT reaper`);
      }
      if (rv.flags & REAPER_STAT_REALINIT) {
        if (rv.parent !== NULL) f.add(`REALINIT ${rec("sysreaper", r)} has parent ${rec("sysreaper", rv.parent)}`);
        if (rv.p !== NULL && rv.p !== init) f.add(`REALINIT ${rec("sysreaper", r)} is owned by ${s.name(rv.p)}, not init`);
      }
      if (rv.p !== NULL) {
        if (!(rv.flags & REAPER_STAT_OWNED)) f.add(`${rec("sysreaper", r)} has owner ${s.name(rv.p)} but no REAPER_STAT_OWNED`);
        if (!s.P.valid(rv.p) || !s.isLive(rv.p)) f.add(`${rec("sysreaper", r)} is owned by ${s.name(rv.p)}, which is not a live process`);
        else if (s.p(rv.p).p_reaper !== r) f.add(`${rec("sysreaper", r)} is owned by ${s.name(rv.p)} whose p_reaper is ${rec("sysreaper", s.p(rv.p).p_reaper)}`);
      }
    }
    for (const h of s.zomb) if (s.p(h).p_reaper !== NULL) f.add(`zombie ${s.name(h)} still holds p_reaper ${rec("sysreaper", s.p(h).p_reaper)}`);
  },
);

// ---------------------------------------------------------------- per-uid accounting

const uidProccnt = law(
  "uid-proccnt",
  "a uidinfo's ui_proccnt equals the processes (live and zombie: kern_wait uncounts) whose p_ucred's real uid is it (fork1's chgproccnt, setuid's change_ruid), process 0 counting for root (init_main.c 453)",
  (s, f) => {
    const U = s.img.table(UIDINFO);
    const C = s.img.table(UCRED);
    const count = new Map<Handle, number>();
    for (const h of s.listed) {
      const cr = s.p(h).p_ucred;
      if (!C.valid(cr)) {
        f.add(`${s.name(h)} has no valid p_ucred (${rec("ucred", cr)})`);
        continue;
      }
      const ui = C.view(cr).cr_ruidinfo;
      count.set(ui, (count.get(ui) ?? 0) + 1);
    }
    for (const ui of records(U)) {
      const want = (count.get(ui) ?? 0) + (U.view(ui).ui_uid === 0 ? PROC0 : 0);
      if (U.view(ui).ui_proccnt !== want) f.add(`${rec("uidinfo", ui)} uid ${U.view(ui).ui_uid} has ui_proccnt ${U.view(ui).ui_proccnt} but ${want} process(es) run as it`);
    }
    for (const [ui, n] of count) if (!U.valid(ui)) f.add(`${n} process(es) charge ${rec("uidinfo", ui)}, which is not allocated`);
  },
);

const uidRefs = law(
  "uid-refs",
  "ui_ref equals the ucreds whose cr_ruidinfo it is; the uid hash lists every uidinfo once with unique uids; a ucred's cr_ruidinfo is the uidinfo of its cr_ruid",
  (s, f) => {
    const U = s.img.table(UIDINFO);
    const C = s.img.table(UCRED);
    const hw = walk(U, s.g.uihead, (h) => U.view(h).ui_next);
    if (hw.error) f.add(`uid hash: ${hw.error}`);
    const hashed = new Set(hw.items);
    for (const ui of records(U)) if (!hashed.has(ui)) f.add(`${rec("uidinfo", ui)} uid ${U.view(ui).ui_uid} is allocated but not on the uid hash`);
    for (const [uid, n] of tally(hw.items.map((h) => U.view(h).ui_uid))) if (n > 1) f.add(`uid ${uid} has ${n} uidinfo records`);
    const holders = records(C).map((cr) => ({ h: C.view(cr).cr_ruidinfo, who: rec("ucred", cr) }));
    refcountLaw(f, U, (h) => U.view(h).ui_ref, holders, "ui_ref");
    for (const cr of records(C)) {
      const ui = C.view(cr).cr_ruidinfo;
      if (U.valid(ui) && U.view(ui).ui_uid !== C.view(cr).cr_ruid) f.add(`${rec("ucred", cr)} has cr_ruid ${C.view(cr).cr_ruid} but cr_ruidinfo is uid ${U.view(ui).ui_uid}`);
    }
  },
);

// ---------------------------------------------------------------- shared objects' refcounts

/** Holders of field `fld` over every allocated proc record (listed or not). */
function procHolders(s: DState, fld: "p_ucred" | "p_sigacts" | "p_fd" | "p_fdtol" | "p_args" | "p_vmspace" | "p_limit") {
  return records(s.P).map((h) => ({ h: s.p(h)[fld], who: s.name(h) }));
}

const ucredRefs = law("ucred-refs", "cr_ref equals the references held: each process's p_ucred and each lwp's td_ucred (lwp_ucred)", (s, f) => {
  const C = s.img.table(UCRED);
  const holders = [...procHolders(s, "p_ucred"), ...records(s.L).map((l) => ({ h: s.L.view(l).lwp_ucred, who: s.lname(l) }))];
  refcountLaw(f, C, (h) => C.view(h).cr_ref, holders, "cr_ref");
});

const sigactsRefs = law("sigacts-refs", "ps_refcnt equals the processes sharing the sigacts (RFSIGSHARE), zombies included until kern_wait", (s, f) => {
  const T = s.img.table(SIGACTS);
  refcountLaw(f, T, (h) => T.view(h).ps_refcnt, procHolders(s, "p_sigacts"), "ps_refcnt");
});

const filedescRefs = law("filedesc-refs", "fd_refcnt equals the processes sharing the file table (fdshare); exit1's fdfree leaves zombies without one", (s, f) => {
  const T = s.img.table(FILEDESC);
  refcountLaw(f, T, (h) => T.view(h).fd_refcnt, procHolders(s, "p_fd"), "fd_refcnt");
});

const fdtolRefs = law(
  "fdtol-refs",
  "fdl_refcount equals the processes whose p_fdtol it is (RFTHREAD shares one, 000:555-568), fdl_holdcount is 0 at rest, and the leader ring is consistent (next->prev == self)",
  (s, f) => {
    const T = s.img.table(FDTOL);
    refcountLaw(f, T, (h) => T.view(h).fdl_refcount, procHolders(s, "p_fdtol"), "fdl_refcount");
    for (const h of records(T)) {
      const t = T.view(h);
      if (t.fdl_holdcount !== 0) f.add(`${rec("filedesc_to_leader", h)} has fdl_holdcount ${t.fdl_holdcount}`);
      if (!T.valid(t.fdl_next) || !T.valid(t.fdl_prev)) f.add(`${rec("filedesc_to_leader", h)} has a dangling ring link (next ${t.fdl_next}, prev ${t.fdl_prev})`);
      else if (T.view(t.fdl_next).fdl_prev !== h || T.view(t.fdl_prev).fdl_next !== h) f.add(`${rec("filedesc_to_leader", h)} ring is broken: next->prev ${T.view(t.fdl_next).fdl_prev}, prev->next ${T.view(t.fdl_prev).fdl_next}`);
    }
  },
);

const pargsRefs = law("pargs-refs", "ar_ref equals the processes whose p_args it is (fork1 shares it, 000:506-507)", (s, f) => {
  const T = s.img.table(PARGS);
  refcountLaw(f, T, (h) => T.view(h).ar_ref, procHolders(s, "p_args"), "ar_ref");
});

const vmspaceRefs = law("vmspace-refs", "vm_refcnt equals the processes sharing the vmspace (RFMEM / vfork); zombies keep theirs until kern_wait's vmspace_exitfree", (s, f) => {
  const T = s.img.table(VMSPACE);
  refcountLaw(f, T, (h) => T.view(h).vm_refcnt, procHolders(s, "p_vmspace"), "vm_refcnt");
});

const plimitRefs = law("plimit-refs", "a plimit's p_refcnt equals the processes sharing it (plimit_fork); exit1 drops a zombie's", (s, f) => {
  const T = s.img.table(PLIMIT);
  refcountLaw(f, T, (h) => T.view(h).p_refcnt, procHolders(s, "p_limit"), "p_refcnt");
});

// ---------------------------------------------------------------- vfork

const ppwaitLaw = law(
  "ppwait",
  "P_PPWAIT is set only on a child whose vforking parent still waits: the child is not a zombie (exit1 clears it first), its parent is live and has a thread asleep in start_forked_proc's \"ppwait\" sleep (uninterruptible, on the parent's address, 000:924-929)",
  (s, f) => {
    const T = s.img.table(THREAD);
    const sleepers = new Set<Handle>();
    for (const td of records(T)) {
      const t = T.view(td);
      if (t.td_flags & TDF_TSLEEPQ && !(t.td_flags & TDF_SINTR) && s.P.valid(t.td_proc) && t.td_wchan === s.P.view(t.td_proc).ptr()) sleepers.add(t.td_proc);
    }
    for (const h of s.listed) {
      const p = s.p(h);
      if (!(p.p_flags & P_PPWAIT)) continue;
      if (p.p_stat === SZOMB) f.add(`zombie ${s.name(h)} still has P_PPWAIT`);
      const pp = p.p_pptr;
      if (!s.P.valid(pp) || !s.isLive(pp)) f.add(`${s.name(h)} has P_PPWAIT but its parent ${s.name(pp)} is gone or a zombie`);
      else if (!sleepers.has(pp)) f.add(`${s.name(h)} has P_PPWAIT but no thread of its parent ${s.name(pp)} sleeps in "ppwait"`);
    }
  },
);

const ppwaitInvfork = law(
  "ppwait-invfork",
  "a process's upmap invfork equals its children with P_PPWAIT (fork1 counts up with RFPPWAIT, exec/exit count down as they clear the flag)",
  (s, f) => {
    const n = new Map<Handle, number>();
    for (const h of s.listed) if (s.p(h).p_flags & P_PPWAIT) n.set(s.p(h).p_pptr, (n.get(s.p(h).p_pptr) ?? 0) + 1);
    for (const h of s.listed) {
      const want = n.get(h) ?? 0;
      if (s.p(h).p_upmap_invfork !== want) f.add(`${s.name(h)} has invfork ${s.p(h).p_upmap_invfork} but ${want} child(ren) with P_PPWAIT`);
    }
  },
);

/** Every DragonFly law, in report order. */
export const DRAGONFLY_LAWS: readonly Law[] = [
  procLists, nprocsLaw, maxprocLaw, procSidl, parentChild, pgrpMembersLaw, pgrpRefs, sessionRefs, lwpTree, lwpCount, pholdLaw,
  reaperRefs, reaperTopology, uidProccnt, uidRefs, ucredRefs, sigactsRefs, filedescRefs, fdtolRefs, pargsRefs, vmspaceRefs,
  plimitRefs, ppwaitLaw, ppwaitInvfork,
];

/** The DragonFly full-state audit (KernelModel.audit). */
export function auditDragonfly(img: Image): AuditFinding[] {
  return runLaws(DRAGONFLY_LAWS, img);
}
