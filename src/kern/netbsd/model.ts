/*
 * The NetBSD kernel model, orchestrator side: its tables, how it boots (init, pid 1, uid 0, in a
 * session and process group of its own), its script calls and its process listing.
 */
import { MAYBLOCK_TABLE } from "../../sync/mayblock.js";
import { NETBSD_MAYBLOCK_SITES } from "./kern_proc.js";
import { OBJQ, SLEEPQ, THREAD } from "../../shm/core.js";
import type { Image, TableSpec } from "../../shm/image.js";
import { KernelPanic } from "../../shm/hooks.js";
import { NULL } from "../../shm/table.js";
import type { Machine } from "../../sched/machine.js";
import { programId } from "../../sched/programs.js";
import type { AuditFinding, KernelModel, Limits, PsEntry } from "../kernel.js";
import { CALLS } from "./calls.js";
import {
  CWDINFO, FILEDESC, GLOBALS, INITIAL_PID_TABLE_SIZE, KMUTEXOBJ, LSONPROC, LWP, PGRP, PID_MAX, PID_TABLE, pidTableEntriesFor, pidTableEntry, PLIMIT, PROC, PT_PER_RECORD, SACTIVE, SESSION, SIGACTS,
  STAT_NAMES, UAREA, UIDINFO, VMSPACE,
} from "./structs.js";
import { globals, lwpsOf, procRecords } from "./walk.js";
import { auditNetbsd } from "../../invariants/netbsd.js";
import { netbsdLiveLaws } from "../../invariants/live.js";

const MODULE = "src/kern/netbsd/entry.js";

function defaultLimits(): Limits {
  return {
    maxproc: 64,
    nproc: 32,
    // Per-process pools roomier than any scenario's maxproc (160): NetBSD's pools grow, so running
    // out of records before maxproc would be a hang of ours (forks asleep in pool_get), not the kernel's.
    tables: {
      thread: 512,
      proc: 224,
      lwp: 512,
      uarea: 512,
      pgrp: 224,
      session: 128,
      uidinfo: 32,
      sigacts: 224,
      filedesc: 224,
      cwdinfo: 224,
      plimit: 224,
      vmspace: 224,
      kmutexobj: 224,
    },
  };
}

function tables(limits: Limits): TableSpec[] {
  const t = { ...defaultLimits().tables, ...limits.tables };
  return [
    { decl: GLOBALS, capacity: 1 },
    { decl: PROC, capacity: t.proc },
    { decl: LWP, capacity: t.lwp },
    { decl: UAREA, capacity: t.uarea },
    { decl: KMUTEXOBJ, capacity: t.kmutexobj },
    { decl: PGRP, capacity: t.pgrp },
    { decl: SESSION, capacity: t.session },
    { decl: UIDINFO, capacity: t.uidinfo },
    { decl: SIGACTS, capacity: t.sigacts },
    { decl: FILEDESC, capacity: t.filedesc },
    { decl: CWDINFO, capacity: t.cwdinfo },
    { decl: PLIMIT, capacity: t.plimit },
    { decl: VMSPACE, capacity: t.vmspace },
    // Room for the largest pid table the processes and orphaned groups can make it grow to.
    { decl: PID_TABLE, capacity: pidTableEntriesFor(t.proc + t.pgrp) / PT_PER_RECORD },
    MAYBLOCK_TABLE,
    { decl: SLEEPQ, capacity: SLEEPTAB_HASH_SIZE },
    // The condvars' and mutexes' own queues (core.ts OBJQ): a bucket a process, far more than
    // objects with waiters.
    { decl: OBJQ, capacity: t.proc },
  ];
}

/**
 * NetBSD's sleep table has a fixed 128 buckets whatever maxproc is (sys/sleepq.h 46-49:
 * SLEEPTAB_HASH_SHIFT 7; kern_sleepq.c 68, 76-85 at krytarowski/netbsd-current-src-sys a5dbcfbb),
 * so with thousands of sleepers each wakeup walks a long bucket (sleepq_wake checks every lwp on
 * it for its wchan, kern_sleepq.c 311-321). The model keeps that size, small as it is: it is
 * never safer, nor faster, than the kernel in ways that matter, and a walk's length is one.
 */
const SLEEPTAB_HASH_SIZE = 1 << 7;

function must(h: number, what: string): number {
  if (h === NULL) throw new Error(`netbsd boot: no room for ${what}`);
  return h;
}

/** Counted objects start with one reference (refcount_init on the orchestrator). */
function boot(m: Machine, limits: Limits, init?: { program: string; args: readonly number[] }): void {
  const img = m.image;
  const tb = <T extends Parameters<Image["table"]>[0]>(d: T) => img.table(d);
  const g = tb(GLOBALS).view(must(tb(GLOBALS).alloc(), "globals"));
  g.maxproc = limits.maxproc;
  g.nprocs = 2; // 001:109 counts process 0, and init is forked on top of it (the model has no proc0)
  g.forkfsleep = 0;
  g.kauth_fork_reserve = 5; // secmodel: the last five slots are root's
  g.forkhooks = 1;
  g.nproc_default = limits.nproc;
  g.hz = m.spec.hz;
  g.ncpus = m.spec.cpus;

  const ph = must(tb(PROC).alloc(), "init");
  const p = tb(PROC).view(ph);
  p.p_pid = 1;
  p.p_stat = SACTIVE;
  p.p_uid = 0;
  p.p_pptr = NULL; // proc0 is not modelled: init has no parent
  const mo = tb(KMUTEXOBJ).view(must(tb(KMUTEXOBJ).alloc(), "init p_lock"));
  mo.mo_refcnt = 1;
  p.p_lock = mo.h;
  const sa = tb(SIGACTS).view(must(tb(SIGACTS).alloc(), "init sigacts"));
  sa.sa_refcnt = 1;
  p.p_sigacts = sa.h;
  const fd = tb(FILEDESC).view(must(tb(FILEDESC).alloc(), "init filedesc"));
  fd.fd_refcnt = 1;
  fd.fd_nfiles = 3;
  p.p_fd = fd.h;
  const cw = tb(CWDINFO).view(must(tb(CWDINFO).alloc(), "init cwdinfo"));
  cw.cwdi_refcnt = 1;
  p.p_cwdi = cw.h;
  const pl = tb(PLIMIT).view(must(tb(PLIMIT).alloc(), "init plimit"));
  pl.pl_refcnt = 1;
  pl.pl_nproc_cur = limits.nproc;
  pl.pl_nproc_max = Math.max(limits.nproc, limits.maxproc);
  p.p_limit = pl.h;
  const vm = tb(VMSPACE).view(must(tb(VMSPACE).alloc(), "init vmspace"));
  vm.vm_refcnt = 1;
  p.p_vmspace = vm.h;

  const ss = tb(SESSION).view(must(tb(SESSION).alloc(), "init session"));
  ss.s_sid = 1;
  ss.s_leader = ph;
  ss.s_count = 1;
  const pg = tb(PGRP).view(must(tb(PGRP).alloc(), "init pgrp"));
  pg.pg_id = 1;
  pg.pg_session = ss.h;
  pg.pg_members = ph;
  p.p_pgrp = pg.h;

  const ui = tb(UIDINFO).view(must(tb(UIDINFO).alloc(), "uidinfo 0"));
  ui.ui_uid = 0;
  ui.ui_proccnt = 2; // process 0 (init_main.c chgproccnt(0, 1)) and init

  const l = tb(LWP).view(must(tb(LWP).alloc(), "init lwp"));
  const ua = must(tb(UAREA).alloc(), "init uarea");
  tb(UAREA).view(ua).ua_lwp = l.h;
  l.l_proc = ph;
  l.l_lid = 1;
  l.l_stat = LSONPROC;
  l.l_refcnt = 1;
  l.l_addr = ua;
  l.l_startprog = programId(init?.program ?? "netbsd.script");
  p.p_lwps = l.h;
  p.p_nlwps = 1;
  p.p_nrlwps = 1;
  p.p_nlwpid = 1;

  g.allproc = ph;
  g.initproc = ph;
  procinit(img, limits.lastpid);
  const initSlot = pidTableEntry(img, 1); // init took slot 1 (pid 1), its group the same slot
  initSlot.pt_proc = ph;
  initSlot.pt_pid = 1;
  initSlot.pt_pgrp = pg.h;

  const td = must(m.spawn("netbsd.lwpstart", init?.args ?? []), "init thread");
  const tv = img.table(THREAD).view(td);
  tv.td_lwp = l.h;
  tv.td_proc = ph;
  l.l_thread = td;
}

/**
 * procinit's pid table (kern_proc.c 313-342) with init's slot taken: 32 entries on the free list
 * from slot 2 (slot 0 is proc0's and the list's end), each with a saved use count above PID_MAX,
 * so that every slot's first pid wraps to the slot number -- unless `lastpid` says the system
 * has been up a while: then the use counts are lastpid's (rounded down to the table size), the
 * first pids come just above it, and they wrap past pid_max soon after (stress scenarios'
 * NEAR_WRAP).
 */
function procinit(img: Image, lastpid: number | undefined): void {
  const g = globals(img);
  const size = INITIAL_PID_TABLE_SIZE, mask = size - 1;
  for (let r = 0; r < img.table(PID_TABLE).capacity; r++) must(img.table(PID_TABLE).alloc(), "pid table");
  const use = lastpid === undefined ? (PID_MAX + size) & ~mask : lastpid & ~mask;
  for (let i = 2; i <= mask; i++) pidTableEntry(img, i).pt_next = use + (i === mask ? 0 : i + 1);
  g.pid_tbl_mask = mask;
  g.pid_max = PID_MAX;
  g.next_free_pt = 2;
  g.last_free_pt = mask;
  g.pid_alloc_lim = mask - 1; // grow before the table is full, to avoid reusing pids too often
  g.pid_alloc_cnt = 1; // init
}

function ps(img: Image): PsEntry[] {
  const out: PsEntry[] = [];
  for (const h of procRecords(img)) {
    try {
      const e = psEntry(img, h);
      if (e) out.push(e);
    } catch (e) {
      // A record freed under us (the machine is not quiescent): it is gone, leave it out.
      if (!(e instanceof KernelPanic)) throw e;
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

function psEntry(img: Image, h: number): PsEntry | null {
  const procs = img.table(PROC);
  const lt = img.table(LWP);
  const threads = img.table(THREAD);
  const pgt = img.table(PGRP);
  {
    const p = procs.view(h);
    if (p.p_pid === 0) return null; // being set up by proc_alloc
    const pending: number[] = [];
    for (let s = 1; s <= 32; s++) if (p.p_siglist & (1 << (s - 1))) pending.push(s);
    const thr: { tid: number; td: number }[] = [];
    for (const lh of lwpsOf(img, h)) {
      const l = lt.view(lh);
      if (l.l_thread !== NULL && threads.valid(l.l_thread)) thr.push({ tid: l.l_lid, td: l.l_thread });
    }
    return {
      pid: p.p_pid,
      ppid: p.p_pptr !== NULL && procs.valid(p.p_pptr) ? procs.view(p.p_pptr).p_pid : 0,
      stat: STAT_NAMES[p.p_stat] ?? `S${p.p_stat}`,
      flags: p.p_flag,
      pgid: p.p_pgrp !== NULL && pgt.valid(p.p_pgrp) ? pgt.view(p.p_pgrp).pg_id : 0,
      uid: p.p_uid,
      nthreads: p.p_nlwps - p.p_nzlwps,
      pendingSignals: pending,
      reaper: false,
      threads: thr,
    };
  }
}

function audit(img: Image): AuditFinding[] {
  return auditNetbsd(img);
}

export const netbsd: KernelModel = {
  name: "netbsd",
  module: MODULE,
  calls: CALLS,
  mayBlockSites: NETBSD_MAYBLOCK_SITES,
  defaultLimits,
  tables,
  boot,
  ps,
  audit,
  liveLaws: netbsdLiveLaws,
  persistentTables: ["uidinfo"], // uid_find creates, nothing frees (kern_uidinfo.c); law uid-proccnt checks the counts
};

export { globals };
