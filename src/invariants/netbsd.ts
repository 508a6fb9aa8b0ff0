/*
 * NetBSD's laws over a quiescent image (structures: src/kern/netbsd/structs.ts), under NetBSD's
 * own names (p_nlwps, l_lid, p_nstopchild, PL_PPWAIT, kmutex objects...).
 *
 * At quiescence (nothing runnable, no timed sleep) a thread can still sit in an untimed cv_wait:
 *  - the vfork parent in fork1's `while (p2->p_lflag & PL_PPWAIT) cv_wait(&p1->p_waitcv,
 *    proc_lock)` (001:588-593): the child keeps PL_PPWAIT and p_vforklwp names the waiting lwp;
 *  - a parent in wait's cv_wait_sig, a stopped lwp on l_stopcv, an exiting lwp in exit_lwps
 *    (PS_WEXIT, its other lwps flagged LW_WEXIT but still on p_lwps and counted).
 * cv_wait releases proc_lock and p_lock before it sleeps, so no list is ever left half-edited;
 * SIDL (fork1 before 001:554) and SDYING/SDEAD (exit1 between its proc_lock sections) are passed
 * through without an untimed sleep, so none is left at quiescence and the laws are exact.
 */
import { THREAD, TDF_TSLEEPQ } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import { NULL, type Handle } from "../shm/table.js";
import {
  CWDINFO, FILEDESC, GLOBALS, KMUTEXOBJ, LSZOMB, LWP, PGRP, pidTableEntry, PL_PPWAIT, PLIMIT, PROC, SACTIVE, SDEAD, SESSION, SIGACTS, SSTOP,
  ROOT, STAT_NAMES, SZOMB, UAREA, UIDINFO, VMSPACE,
} from "../kern/netbsd/structs.js";
import { checkNprocs, PROC0, checkProcLists, Findings, rec, records, refcountLaw, runLaws, tally, walk, type AuditFinding, type Law } from "./common.js";

class NState {
  readonly P;
  readonly L;
  readonly g;
  readonly live: Handle[];
  readonly zomb: Handle[];
  readonly listErrors: string[] = [];
  readonly listed: Handle[];
  readonly onList = new Set<Handle>();
  readonly liveSet: Set<Handle>;

  constructor(readonly img: Image) {
    this.P = img.table(PROC);
    this.L = img.table(LWP);
    const gt = img.table(GLOBALS);
    this.g = gt.view(gt.handleAt(0));
    const next = (h: Handle) => this.P.view(h).p_list;
    const a = walk(this.P, this.g.allproc, next);
    const z = walk(this.P, this.g.zombproc, next);
    if (a.error) this.listErrors.push(`allproc: ${a.error}`);
    if (z.error) this.listErrors.push(`zombproc: ${z.error}`);
    this.live = a.items;
    this.zomb = z.items;
    this.listed = [...new Set([...a.items, ...z.items])];
    for (const h of this.listed) this.onList.add(h);
    this.liveSet = new Set(a.items.filter((h) => this.P.view(h).p_stat !== SZOMB));
  }
  p(h: Handle) {
    return this.P.view(h);
  }
  name(h: Handle): string {
    return this.P.valid(h) ? `${rec("proc", h)} pid ${this.P.view(h).p_pid}` : `${rec("proc", h)} (not allocated)`;
  }
  lname(h: Handle): string {
    return this.L.valid(h) ? `${rec("lwp", h)} lid ${this.L.view(h).l_lid}` : `${rec("lwp", h)} (not allocated)`;
  }
  lwpsOf(h: Handle) {
    return walk(this.L, this.P.view(h).p_lwps, (l) => this.L.view(l).l_sibling);
  }
}

type Check = (s: NState, f: Findings) => void;
const law = (name: string, doc: string, check: Check): Law => ({
  name,
  doc,
  check: (img) => {
    const f = new Findings(name);
    check(new NState(img), f);
    return f.list;
  },
});

// ---------------------------------------------------------------- process lists and counts

const procLists = law(
  "proc-lists",
  "allproc and zombproc are well-formed, disjoint lists of allocated records; allproc holds SACTIVE/SSTOP processes and zombproc SZOMB ones (SIDL, SDYING and SDEAD are only passed through); pids are unique; every allocated proc record is listed",
  (s, f) => checkProcLists(s, f, (st) => st === SACTIVE || st === SSTOP, SZOMB, (st) => `${STAT_NAMES[st] ?? st}`),
);

const nprocsLaw = law("nprocs", "nprocs equals the processes on allproc plus zombproc (fork1 counts first, proc_free_pid uncounts)", checkNprocs);

const maxprocLaw = law(
  "maxproc",
  "nprocs stays below maxproc: fork1 increments first and then tests the new value (atomic_inc_uint_nv, 001:227-237), so unlike DragonFly there is no overshoot at all",
  (s, f) => {
    if (s.g.nprocs >= s.g.maxproc) f.add(`nprocs ${s.g.nprocs} reached maxproc ${s.g.maxproc}`);
  },
);

// ---------------------------------------------------------------- parent / child

const parentChild = law(
  "parent-child",
  "every process but init has a live parent (exit1 gives a dying process's children to init) and is on its p_children exactly once; every p_children member points back; no process is on two children lists",
  (s, f) => {
    const init = s.g.initproc;
    if (!s.P.valid(init) || !s.liveSet.has(init)) f.add(`initproc ${rec("proc", init)} is not a live process`);
    else if (s.p(init).p_pptr !== NULL) f.add(`init ${s.name(init)} has parent ${s.name(s.p(init).p_pptr)}`);
    const appearances = new Map<Handle, Handle[]>();
    for (const x of s.listed) {
      const w = walk(s.P, s.p(x).p_children, (h) => s.p(h).p_sibling);
      if (w.error) f.add(`p_children of ${s.name(x)}: ${w.error}`);
      for (const c of w.items) {
        appearances.set(c, [...(appearances.get(c) ?? []), x]);
        if (!s.onList.has(c)) f.add(`${s.name(c)} is a child of ${s.name(x)} but on neither allproc nor zombproc`);
        if (s.p(c).p_pptr !== x) f.add(`${s.name(c)} is on the p_children of ${s.name(x)} but its p_pptr is ${s.name(s.p(c).p_pptr)}`);
      }
    }
    for (const [c, ps] of appearances) if (ps.length > 1) f.add(`${s.name(c)} is on the p_children of ${ps.map((p) => s.name(p)).join(", ")}`);
    for (const h of s.listed) {
      if (h === init) continue;
      const pp = s.p(h).p_pptr;
      if (pp === NULL || !s.P.valid(pp)) {
        f.add(`${s.name(h)} has p_pptr ${pp === NULL ? "NULL" : rec("proc", pp) + " (not allocated)"}`);
        continue;
      }
      if (!s.liveSet.has(pp)) f.add(`${s.name(h)} has parent ${s.name(pp)}, which is not a live process`);
      const n = (appearances.get(h) ?? []).filter((x) => x === pp).length;
      if (n !== 1) f.add(`${s.name(h)} appears ${n} times on the p_children of its parent ${s.name(pp)}`);
    }
  },
);

const nstopchild = law(
  "nstopchild",
  "p_nstopchild equals the children wait would report: zombies, and stopped children whose stop was not yet reported (p_waited 0) -- exit1, proc_stop, proc_unstop, wait and proc_reparent keep it in step under proc_lock",
  (s, f) => {
    for (const x of s.listed) {
      const kids = walk(s.P, s.p(x).p_children, (h) => s.p(h).p_sibling).items;
      const want = kids.filter((c) => {
        const st = s.p(c).p_stat;
        return st === SZOMB || st === SDEAD || (st === SSTOP && !s.p(c).p_waited);
      }).length;
      if (s.p(x).p_nstopchild !== want) f.add(`${s.name(x)} has p_nstopchild ${s.p(x).p_nstopchild} but ${want} zombie or unreported stopped child(ren)`);
    }
  },
);

// ---------------------------------------------------------------- process groups and sessions

const pgrpMembers = law(
  "pgrp-members",
  "every allocated pgrp has members (proc_leavepgrp deletes the empty one) and a unique pg_id; every member's p_pgrp is its group; every listed process is on its p_pgrp's member list exactly once",
  (s, f) => {
    const PG = s.img.table(PGRP);
    const members = new Map<Handle, Handle[]>();
    const seen = new Map<Handle, number>();
    for (const pg of records(PG)) {
      const w = walk(s.P, PG.view(pg).pg_members, (h) => s.p(h).p_pglist);
      if (w.error) f.add(`pg_members of ${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id}: ${w.error}`);
      members.set(pg, w.items);
      if (w.items.length === 0) f.add(`${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id} has no members but was not deleted`);
      for (const h of w.items) {
        seen.set(h, (seen.get(h) ?? 0) + 1);
        if (!s.onList.has(h)) f.add(`${s.name(h)} is a member of ${rec("pgrp", pg)} but on neither allproc nor zombproc`);
        if (s.p(h).p_pgrp !== pg) f.add(`${s.name(h)} is on the members of ${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id} but its p_pgrp is ${rec("pgrp", s.p(h).p_pgrp)}`);
      }
    }
    for (const [id, n] of tally(records(PG).map((h) => PG.view(h).pg_id))) if (n > 1) f.add(`pgid ${id} is used by ${n} pgrps`);
    for (const h of s.listed) {
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

const pidTable = law(
  "pid-table",
  "pid_table indexes every process and group: a listed process sits in slot pid & pid_tbl_mask with its pid, a group in its id's slot; pid_alloc_cnt counts the slots in use; every other slot but 0 (proc0's) is on the free list, which runs from next_free_pt to last_free_pt (proc_alloc_pid, proc_free_pid, pg_remove, expand_pid_table: kern_proc.c 645-823)",
  (s, f) => {
    const mask = s.g.pid_tbl_mask, size = mask + 1;
    const PG = s.img.table(PGRP);
    const used = new Set<number>();
    for (const h of s.listed) {
      const pid = s.p(h).p_pid, pt = pidTableEntry(s.img, pid & mask);
      used.add(pid & mask);
      if (pt.pt_proc !== h || pt.pt_pid !== pid) f.add(`${s.name(h)} is not in its pid_table slot ${pid & mask} (it holds ${s.name(pt.pt_proc)} with pt_pid ${pt.pt_pid})`);
    }
    for (const pg of records(PG)) {
      const id = PG.view(pg).pg_id;
      used.add(id & mask);
      if (pidTableEntry(s.img, id & mask).pt_pgrp !== pg) f.add(`${rec("pgrp", pg)} pgid ${id} is not in its pid_table slot ${id & mask}`);
    }
    if (s.g.pid_alloc_cnt !== used.size) f.add(`pid_alloc_cnt is ${s.g.pid_alloc_cnt} but ${used.size} slots are in use`);
    const free: number[] = [];
    for (let slot = s.g.next_free_pt; free.length <= size; slot = pidTableEntry(s.img, slot).pt_next & mask) {
      const pt = pidTableEntry(s.img, slot);
      if (used.has(slot) || pt.pt_proc !== NULL || pt.pt_pgrp !== NULL) f.add(`pid_table slot ${slot} is on the free list but in use`);
      free.push(slot);
      if ((pt.pt_next & mask) === 0) break;
    }
    if (free.at(-1) !== s.g.last_free_pt) f.add(`the free list ends at slot ${free.at(-1)}, not at last_free_pt ${s.g.last_free_pt}`);
    if (free.length + used.size + 1 !== size) f.add(`${free.length} free slots and ${used.size} in use of ${size} (slot 0 aside)`);
  },
);

const sessionRefs = law("session-refs", "s_count equals the pgrps in the session (pgrp_create counts up, pg_delete down)", (s, f) => {
  const PG = s.img.table(PGRP);
  const S = s.img.table(SESSION);
  refcountLaw(f, S, (h) => S.view(h).s_count, records(PG).map((pg) => ({ h: PG.view(pg).pg_session, who: `${rec("pgrp", pg)} pgid ${PG.view(pg).pg_id}` })), "s_count");
});

// ---------------------------------------------------------------- lwps

const lwpList = law(
  "lwp-list",
  "each process's p_lwps lists its own lwps with unique l_lid >= 1, none above p_nlwpid (lids are ++p_nlwpid); every allocated lwp is on exactly one list and owns one u-area that points back; a non-zombie lwp runs on a thread that points back at it",
  (s, f) => {
    const T = s.img.table(THREAD);
    const U = s.img.table(UAREA);
    const where = new Map<Handle, Handle[]>();
    for (const h of s.listed) {
      const w = s.lwpsOf(h);
      if (w.error) f.add(`p_lwps of ${s.name(h)}: ${w.error}`);
      for (const [lid, n] of tally(w.items.map((l) => s.L.view(l).l_lid))) if (n > 1) f.add(`${s.name(h)} has ${n} lwps with l_lid ${lid}`);
      for (const l of w.items) {
        const lw = s.L.view(l);
        where.set(l, [...(where.get(l) ?? []), h]);
        if (lw.l_proc !== h) f.add(`${s.lname(l)} is on the p_lwps of ${s.name(h)} but its l_proc is ${s.name(lw.l_proc)}`);
        if (lw.l_lid < 1 || lw.l_lid > s.p(h).p_nlwpid) f.add(`${s.lname(l)} of ${s.name(h)} has l_lid ${lw.l_lid} outside 1..p_nlwpid ${s.p(h).p_nlwpid}`);
        if (lw.l_stat !== LSZOMB) {
          const td = lw.l_thread;
          if (!T.valid(td)) f.add(`${s.lname(l)} of ${s.name(h)} is not a zombie lwp but has no thread (l_thread ${rec("thread", td)})`);
          else if (T.view(td).td_lwp !== l || T.view(td).td_proc !== h) f.add(`${rec("thread", td)} of ${s.lname(l)} in ${s.name(h)} points at lwp ${T.view(td).td_lwp} proc ${T.view(td).td_proc}`);
        }
      }
    }
    for (const [l, ps] of where) if (ps.length > 1) f.add(`${s.lname(l)} is on the p_lwps of ${ps.map((p) => s.name(p)).join(", ")}`);
    for (const l of records(s.L)) {
      if (!where.has(l)) f.add(`${s.lname(l)} (l_proc ${s.name(s.L.view(l).l_proc)}) is allocated but on no p_lwps`);
      const ua = s.L.view(l).l_addr;
      if (!U.valid(ua)) f.add(`${s.lname(l)} has no u-area (l_addr ${rec("uarea", ua)})`);
      else if (U.view(ua).ua_lwp !== l) f.add(`${s.lname(l)} has u-area ${rec("uarea", ua)}, which belongs to ${s.lname(U.view(ua).ua_lwp)}`);
    }
    for (const ua of records(U)) {
      const l = U.view(ua).ua_lwp;
      if (!s.L.valid(l) || s.L.view(l).l_addr !== ua) f.add(`${rec("uarea", ua)} is allocated but no lwp uses it (ua_lwp ${s.lname(l)}): leaked`);
    }
  },
);

const lwpCount = law(
  "lwp-count",
  "p_nlwps equals the lwps on p_lwps and p_nzlwps the LSZOMB ones among them; a zombie keeps exactly its one LSZOMB lwp for wait to free",
  (s, f) => {
    for (const h of s.listed) {
      const ls = s.lwpsOf(h).items;
      const nz = ls.filter((l) => s.L.view(l).l_stat === LSZOMB).length;
      const p = s.p(h);
      if (p.p_nlwps !== ls.length) f.add(`${s.name(h)} has p_nlwps ${p.p_nlwps} but ${ls.length} lwps on p_lwps`);
      if (p.p_nzlwps !== nz) f.add(`${s.name(h)} has p_nzlwps ${p.p_nzlwps} but ${nz} LSZOMB lwps`);
      if (p.p_stat === SZOMB && (ls.length !== 1 || nz !== 1)) f.add(`zombie ${s.name(h)} has ${ls.length} lwps, ${nz} of them LSZOMB (expected its one zombie lwp)`);
      if (p.p_stat !== SZOMB && nz !== 0) f.add(`live ${s.name(h)} has ${nz} LSZOMB lwps`);
    }
  },
);

// ---------------------------------------------------------------- per-uid accounting

const uidProccnt = law(
  "uid-proccnt",
  "ui_proccnt equals the processes (zombies included: proc_free uncounts) whose p_uid it is, process 0 counting for root; one uidinfo per uid",
  (s, f) => {
    const U = s.img.table(UIDINFO);
    const uis = records(U);
    for (const [uid, n] of tally(uis.map((h) => U.view(h).ui_uid))) if (n > 1) f.add(`uid ${uid} has ${n} uidinfo records`);
    const count = tally(s.listed.map((h) => s.p(h).p_uid));
    count.set(ROOT, (count.get(ROOT) ?? 0) + PROC0);
    const known = new Set<number>();
    for (const ui of uis) {
      const uid = U.view(ui).ui_uid;
      known.add(uid);
      const want = count.get(uid) ?? 0;
      if (U.view(ui).ui_proccnt !== want) f.add(`${rec("uidinfo", ui)} uid ${uid} has ui_proccnt ${U.view(ui).ui_proccnt} but ${want} process(es) have that p_uid`);
    }
    for (const [uid, n] of count) if (!known.has(uid)) f.add(`${n} process(es) run as uid ${uid}, which has no uidinfo`);
  },
);

// ---------------------------------------------------------------- shared objects' refcounts

function procHolders(s: NState, fld: "p_sigacts" | "p_fd" | "p_cwdi" | "p_lock" | "p_limit" | "p_vmspace") {
  return records(s.P).map((h) => ({ h: s.p(h)[fld], who: s.name(h) }));
}

const sigactsRefs = law("sigacts-refs", "sa_refcnt equals the processes sharing the sigacts (FORK_SHARESIGS); a zombie keeps its until proc_free", (s, f) => {
  const T = s.img.table(SIGACTS);
  refcountLaw(f, T, (h) => T.view(h).sa_refcnt, procHolders(s, "p_sigacts"), "sa_refcnt");
});
const filedescRefs = law("filedesc-refs", "fd_refcnt equals the processes sharing the file table (FORK_SHAREFILES); exit1 frees a zombie's", (s, f) => {
  const T = s.img.table(FILEDESC);
  refcountLaw(f, T, (h) => T.view(h).fd_refcnt, procHolders(s, "p_fd"), "fd_refcnt");
});
const cwdinfoRefs = law("cwdinfo-refs", "cwdi_refcnt equals the processes sharing the cwdinfo (FORK_SHARECWD)", (s, f) => {
  const T = s.img.table(CWDINFO);
  refcountLaw(f, T, (h) => T.view(h).cwdi_refcnt, procHolders(s, "p_cwdi"), "cwdi_refcnt");
});
const kmutexRefs = law("kmutexobj-refs", "a kmutex object's mo_refcnt equals the processes whose p_lock it is (FORK_SHARESIGS shares it, 001:328-336)", (s, f) => {
  const T = s.img.table(KMUTEXOBJ);
  refcountLaw(f, T, (h) => T.view(h).mo_refcnt, procHolders(s, "p_lock"), "mo_refcnt");
});
const plimitRefs = law("plimit-refs", "pl_refcnt equals the processes sharing the plimit (copy-on-write, 001:369-379)", (s, f) => {
  const T = s.img.table(PLIMIT);
  refcountLaw(f, T, (h) => T.view(h).pl_refcnt, procHolders(s, "p_limit"), "pl_refcnt");
});
const vmspaceRefs = law("vmspace-refs", "vm_refcnt equals the processes sharing the vmspace (FORK_SHAREVM); exit1 frees a zombie's", (s, f) => {
  const T = s.img.table(VMSPACE);
  refcountLaw(f, T, (h) => T.view(h).vm_refcnt, procHolders(s, "p_vmspace"), "vm_refcnt");
});

// ---------------------------------------------------------------- vfork

const ppwaitLaw = law(
  "ppwait",
  "PL_PPWAIT is set only while the vforking parent waits: the child is not a zombie (exit1 clears it first), p_vforklwp is a live lwp of a live process whose thread sleeps on that process's p_waitcv (001:588-593)",
  (s, f) => {
    const T = s.img.table(THREAD);
    for (const h of s.listed) {
      const p = s.p(h);
      if (!(p.p_lflag & PL_PPWAIT)) continue;
      if (p.p_stat === SZOMB) f.add(`zombie ${s.name(h)} still has PL_PPWAIT`);
      const vl = p.p_vforklwp;
      if (!s.L.valid(vl)) {
        f.add(`${s.name(h)} has PL_PPWAIT but its p_vforklwp ${rec("lwp", vl)} is gone`);
        continue;
      }
      const vp = s.L.view(vl).l_proc;
      if (!s.P.valid(vp) || !s.liveSet.has(vp)) {
        f.add(`${s.name(h)} has PL_PPWAIT but its vforking parent ${s.name(vp)} is gone or a zombie`);
        continue;
      }
      const td = s.L.view(vl).l_thread;
      const asleep = T.valid(td) && T.view(td).td_flags & TDF_TSLEEPQ && T.view(td).td_wchan === s.p(vp).ptr("p_waitcv");
      if (!asleep) f.add(`${s.name(h)} has PL_PPWAIT but ${s.lname(vl)} of its vforking parent ${s.name(vp)} does not sleep on p_waitcv`);
    }
  },
);

/** Every NetBSD law, in report order. */
export const NETBSD_LAWS: readonly Law[] = [
  procLists, nprocsLaw, maxprocLaw, parentChild, nstopchild, pgrpMembers, pidTable, sessionRefs, lwpList, lwpCount, uidProccnt, sigactsRefs,
  filedescRefs, cwdinfoRefs, kmutexRefs, plimitRefs, vmspaceRefs, ppwaitLaw,
];

/** The NetBSD full-state audit (KernelModel.audit). */
export function auditNetbsd(img: Image): AuditFinding[] {
  return runLaws(NETBSD_LAWS, img);
}
