/*
 * The DragonFly KernelModel (orchestrator side): tables, boot (init, its reaper, pgrp and
 * session, the globals), call encoding for scripts, ps and audits.
 */
import { DRAGONFLY_MAYBLOCK_SITES } from "./kern_proc.js";
import { SLEEPQ, THREAD } from "../../shm/core.js";
import type { Image, TableSpec } from "../../shm/image.js";
import { NULL, slotOf } from "../../shm/table.js";
import type { Machine } from "../../sched/machine.js";
import { UsageError, type ArgContext, type CallSpec, type KernelModel, type Limits, type PsEntry } from "../kernel.js";
import { CALL_NAMES, type CallName } from "./calls.js";
import { credV, fdV, G, lwpV, pgrpV, plimitV, procglob, procV, reapV, sessV, sigactsV, tbl, uiV, vmV } from "./globals.js";
import { allprocs, lwpsOf } from "./walk.js";
import { MAYBLOCK_TABLE } from "../../sync/mayblock.js";
import { auditDragonfly } from "../../invariants/dragonfly.js";
import { dragonflyLiveLaws } from "../../invariants/live.js";
import {
  ALLPROC_HSIZE, FDTOL, FILEDESC, FORK_CALLOUTS, FORKLIST, KGLOBALS, LWP, LSRUN, P_SYSTEM, PARGS, PGRP, PID_MAX, PLIMIT, PROC, PROC_REAP_ACQUIRE, PROCGLOB,
  PROC_REAP_RELEASE, PROC_REAP_STATUS, REAPER_STAT_OWNED, REAPER_STAT_REALINIT, RF_FLAGS, SA_FLAGS, SA_RESTART, SACTIVE,
  SESSION, SIG_NAMES, SIGACTS, SIGCHLD, sigmask, STAT_NAMES, SYSREAPER, UCRED, UIDINFO, VMSPACE, WLINUXCLONE, WNOHANG,
} from "./structs.js";

const int = (v: unknown, what: string): number => {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new UsageError(`${what} must be an integer, got ${JSON.stringify(v)}`);
  return v;
};
const obj = (args: Record<string, unknown>, allowed: string[]): void => {
  for (const k of Object.keys(args)) if (!allowed.includes(k)) throw new UsageError(`unknown argument "${k}"`);
};
function sig(v: unknown): number {
  if (typeof v === "string") {
    const n = SIG_NAMES[v];
    if (n === undefined) throw new UsageError(`unknown signal ${v}`);
    return n;
  }
  if (v === undefined) throw new UsageError("sig is required");
  return int(v, "sig");
}
function flagBits(v: unknown, table: Record<string, number>, what: string): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return int(v, what);
  if (!Array.isArray(v)) throw new UsageError(`${what} must be a list of names or a number`);
  let bits = 0;
  for (const f of v) {
    if (typeof f !== "string" || !(f in table)) throw new UsageError(`unknown ${what} flag ${JSON.stringify(f)}`);
    bits |= table[f];
  }
  return bits;
}
function pidArg(ctx: ArgContext, v: unknown, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v === "number") return int(v, what);
  return ctx.pid(v, what);
}
const CALLOUT_NAMES = Object.fromEntries(Object.entries(FORK_CALLOUTS).map(([k, v]) => [v, k]));
function callout(v: unknown): number {
  if (typeof v !== "string" || !(v in FORK_CALLOUTS)) throw new UsageError(`fn must be one of ${Object.keys(FORK_CALLOUTS).join(", ")}`);
  return FORK_CALLOUTS[v];
}

const none: CallSpec = { encode: (a) => (obj(a, []), []) };

const CALLS: Record<CallName, CallSpec> = {
  fork: { encode: (a) => (obj(a, []), []), creates: "process" },
  vfork: { encode: (a) => (obj(a, []), []), creates: "process" },
  exit: { encode: (a) => (obj(a, ["status"]), [a.status === undefined ? 0 : int(a.status, "status")]) },
  wait: {
    encode: (a, ctx) => {
      obj(a, ["pid", "options"]);
      return [pidArg(ctx, a.pid, "pid", -1), flagBits(a.options, { WNOHANG, WLINUXCLONE }, "wait option")];
    },
    decode: (r) => ({ pid: r.errno ? 0 : r.out[0], status: r.errno ? 0 : r.out[1] }),
  },
  exec: none,
  kill: {
    encode: (a, ctx) => {
      obj(a, ["pid", "sig"]);
      return [pidArg(ctx, a.pid, "pid", NaN), sig(a.sig)];
    },
  },
  killpg: {
    encode: (a, ctx) => {
      obj(a, ["pgid", "sig"]);
      return [pidArg(ctx, a.pgid, "pgid", 0), sig(a.sig)];
    },
  },
  setpgid: {
    encode: (a, ctx) => {
      obj(a, ["pid", "pgid"]);
      return [pidArg(ctx, a.pid, "pid", 0), pidArg(ctx, a.pgid, "pgid", 0)];
    },
  },
  sigaction: {
    encode: (a) => {
      obj(a, ["sig", "handler", "flags"]);
      const h = a.handler ?? "default";
      const code = ({ default: 0, ignore: 1, catch: 2 } as Record<string, number>)[String(h)];
      if (code === undefined || typeof h !== "string") throw new UsageError(`handler must be "default", "ignore" or "catch"`);
      return [sig(a.sig), code, flagBits(a.flags, SA_FLAGS, "sigaction")];
    },
  },
  setrlimit: {
    encode: (a) => {
      obj(a, ["resource", "value"]);
      if (a.resource !== "NPROC") throw new UsageError(`resource must be "NPROC"`);
      return [int(a.value, "value")];
    },
  },
  setuid: { encode: (a) => (obj(a, ["uid"]), [int(a.uid, "uid")]) },
  getpid: none,
  getppid: none,
  lwp_create: { encode: (a) => (obj(a, ["fault"]), [a.fault ? 1 : 0]), creates: "lwp" },
  lwp_exit: none,
  ps: none,
  sysctl_proc: {
    encode: (a, ctx) => {
      obj(a, ["pid", "lwps"]);
      return [pidArg(ctx, a.pid, "pid", 0), a.lwps ? 1 : 0];
    },
  },
  rfork: {
    encode: (a) => {
      obj(a, ["flags"]);
      if (a.flags === undefined) throw new UsageError("rfork needs flags");
      return [flagBits(a.flags, RF_FLAGS, "rfork")];
    },
    creates: "process",
  },
  lwp_create2: {
    encode: (a) => {
      obj(a, ["cpumask", "fault"]);
      return [a.cpumask === undefined ? 0 : int(a.cpumask, "cpumask"), a.fault ? 1 : 0];
    },
    creates: "lwp",
  },
  procctl: {
    encode: (a, ctx) => {
      obj(a, ["cmd", "pid"]);
      const names: Record<string, number> = { REAP_ACQUIRE: PROC_REAP_ACQUIRE, REAP_RELEASE: PROC_REAP_RELEASE, REAP_STATUS: PROC_REAP_STATUS };
      const cmd = typeof a.cmd === "string" ? names[a.cmd] : a.cmd === undefined ? undefined : int(a.cmd, "cmd");
      if (cmd === undefined) throw new UsageError(`cmd must be REAP_ACQUIRE, REAP_RELEASE, REAP_STATUS or a number`);
      return [cmd, pidArg(ctx, a.pid, "pid", 0)];
    },
    decode: (r) => (r.errno === 0 && r.out.length >= 3 && (r.out[0] !== 0 || r.out[1] !== 0 || r.out[2] !== 0) ? { flags: r.out[0], refs: r.out[1], pid_head: r.out[2] } : {}),
  },
  at_fork: { encode: (a) => (obj(a, ["fn"]), [callout(a.fn)]) },
  rm_at_fork: { encode: (a) => (obj(a, ["fn"]), [callout(a.fn)]) },
  vmstat: {
    encode: (a) => (obj(a, []), []),
    decode: (r) => ({ v_forks: r.out[0], v_vforks: r.out[1], v_rforks: r.out[2], v_kthreads: r.out[3] }),
  },
  forklog: {
    encode: (a) => (obj(a, []), []),
    decode: (r) => ({ callouts: r.out.slice(0, Math.min(r.ret, 4)).map((e) => ({ fn: CALLOUT_NAMES[e >>> 16] ?? e >>> 16, pid: e & 0xffff })) }),
  },
};
// REAP_STATUS always decodes (pid_head is -1 with no children, so the out words are never all 0).
CALLS.procctl.decode = (r) => (r.errno === 0 && r.out.length >= 3 && r.out[2] !== 0 ? { flags: r.out[0], refs: r.out[1], pid_head: r.out[2] } : {});

/** The calls object, in CALL_NAMES order (call numbers are positions). */
const calls: Record<string, CallSpec> = {};
for (const n of CALL_NAMES) calls[n] = CALLS[n];

/** Default capacities (for the default maxproc 64); a larger maxproc grows those left at default. */
const DEFAULT_MAXPROC = 64;
const defaultTables = (mp: number): Record<string, number> => ({
  proc: mp + 16, lwp: 2 * mp + 32, pgrp: mp + 16, session: mp + 16, sysreaper: mp + 16, uidinfo: 64, filedesc: mp + 16,
  filedesc_to_leader: mp + 16, sigacts: mp + 16, plimit: mp + 16, pargs: 16, ucred: 3 * mp + 32, vmspace: mp + 16,
  forklist: 16, thread: 3 * mp + 64,
});

function tables(limits: Limits): TableSpec[] {
  const mp = limits.maxproc;
  const base = defaultTables(DEFAULT_MAXPROC);
  const grown = defaultTables(Math.max(mp, DEFAULT_MAXPROC));
  const cap = (name: string, _d: number) => {
    const v = limits.tables[name];
    return v === undefined || v === base[name] ? grown[name] : v;
  };
  return [
    { decl: KGLOBALS, capacity: 1 },
    { decl: PROCGLOB, capacity: ALLPROC_HSIZE },
    { decl: PROC, capacity: cap("proc", mp + 16) },
    { decl: LWP, capacity: cap("lwp", 2 * mp + 32) },
    { decl: PGRP, capacity: cap("pgrp", mp + 16) },
    { decl: SESSION, capacity: cap("session", mp + 16) },
    { decl: SYSREAPER, capacity: cap("sysreaper", mp + 16) },
    { decl: UIDINFO, capacity: cap("uidinfo", 64) },
    { decl: FILEDESC, capacity: cap("filedesc", mp + 16) },
    { decl: FDTOL, capacity: cap("filedesc_to_leader", mp + 16) },
    { decl: SIGACTS, capacity: cap("sigacts", mp + 16) },
    { decl: PLIMIT, capacity: cap("plimit", mp + 16) },
    { decl: PARGS, capacity: cap("pargs", 16) },
    { decl: UCRED, capacity: cap("ucred", 3 * mp + 32) },
    { decl: VMSPACE, capacity: cap("vmspace", mp + 16) },
    { decl: FORKLIST, capacity: cap("forklist", 16) },
    MAYBLOCK_TABLE,
    { decl: SLEEPQ, capacity: slpque_tablesize(mp) },
  ];
}

/**
 * How many sleep-queue buckets DragonFly makes: sched_dyninit's slpque_tablesize (kern_synch.c
 * 1527-1563 at d9d67b59), a prime at or above maxproc so that sleepers do not pile up on a bucket
 * (its comment: a large number of sleeping processes), capped at 2000003. Its own search: odd
 * candidates from maxproc | 1, none divisible by 3 or 5, then trial division by the odd numbers
 * from 7 below (candidate / 2) | 1 -- which takes a candidate only when that bound is reached, so
 * below 13 it finds nothing and 13 is the least it gives. LOOKUP (328-330) takes the hash modulo
 * this prime: sync/sleep.ts bucketOf does the same.
 */
function slpque_tablesize(maxproc: number): number {
  for (let size = maxproc | 1; ; size += 2) {
    if (size % 3 === 0 || size % 5 === 0) continue;
    const bound = Math.floor(size / 2) | 1;
    let n = 7;
    while (n < bound && size % n !== 0) n += 2;
    if (n === bound) return Math.min(size, 2000003);
  }
}

/** The value sysctl_kern_randompid stores for a request of `pid` (kern_proc.c 163-179). */
function sysctl_kern_randompid(pid: number): number {
  if (pid < 0 || pid > PID_MAX - 100) return PID_MAX - 100; // out of range
  if (pid < 2) return 0; // NOP
  return pid < 100 ? 100 : pid; // make it reasonable
}

/**
 * boot: init (pid 1, uid 0) with its own session and pgrp, the init reaper (REALINIT, refs 2),
 * the globals, init's thread running the script program and the deadlwp kernel thread. Plain
 * stores only: the orchestrator is not a kernel thread and the cpus are not running yet.
 */
function boot(m: Machine, limits: Limits, init?: { program: string; args: readonly number[] }): void {
  const img = m.image;
  const alloc = (d: Parameters<typeof tbl>[0]) => {
    const h = tbl(d, img).alloc();
    if (h === NULL) throw new Error(`boot: table ${d.name} has no room`);
    return h;
  };
  const gh = alloc(KGLOBALS);
  void gh;
  const g = G(img);
  g.nprocs = 2; // process 0 (000:297) and init: the model has no record of proc0
  g.maxprocperuid = limits.maxproc / 4 >= 128 ? Math.floor(limits.maxproc / 4) : Math.floor(limits.maxproc / 2); // subr_param.c
  g.maxproc = limits.maxproc;
  g.hz = m.spec.hz;
  g.ncpus = m.spec.cpus;
  g.nextpid = (limits.lastpid ?? 1) + 1; // init took pid 1 (the kernel's nextpid starts at 1, kern_proc.c 1014)
  g.randompid = sysctl_kern_randompid(limits.randompid ?? 0);
  // procinit (kern_proc.c 194-221): the chains, slot n for chain n (alloc hands slots out in order).
  for (let n = 0; n < ALLPROC_HSIZE; n++) if (slotOf(alloc(PROCGLOB)) !== n) throw new Error("boot: procglob slots out of order");

  const ui = alloc(UIDINFO);
  Object.assign(uiV(ui, img), { ui_uid: 0, ui_ref: 1, ui_proccnt: 2 }); // proc0 (init_main.c 453) and init
  g.uihead = ui;
  const cr = alloc(UCRED);
  Object.assign(credV(cr, img), { cr_ref: 2, cr_uid: 0, cr_ruid: 0, cr_ruidinfo: ui }); // p_ucred + td_ucred

  const p = procV(alloc(PROC), img);
  const sess = alloc(SESSION);
  Object.assign(sessV(sess, img), { s_count: 1, s_leader: p.h, s_sid: 1 });
  const pg = alloc(PGRP);
  Object.assign(pgrpV(pg, img), { pg_id: 1, pg_session: sess, pg_refs: 1, pg_members: p.h });
  procglob(1, img).allpgrp = pg; // pgrpinsertinit (kern_proc.c 230-235)

  const fd = alloc(FILEDESC);
  Object.assign(fdV(fd, img), { fd_refcnt: 1, fd_nfiles: 3 });
  const ps = alloc(SIGACTS);
  // init's SIGCHLD stays SIG_DFL so its children do not inherit a handler (the real ones exec);
  // a SIGCHLD still ends init's idle sleep (ksignal notifies) and its userret reaps.
  Object.assign(sigactsV(ps, img), { ps_refcnt: 1 });
  void SA_RESTART;
  const lim = alloc(PLIMIT);
  Object.assign(plimitV(lim, img), { p_refcnt: 1, pl_nproc_cur: limits.nproc, pl_nproc_max: limits.nproc });
  const vm = alloc(VMSPACE);
  Object.assign(vmV(vm, img), { vm_refcnt: 1, vm_dsize: 4, vm_ssize: 2 });

  Object.assign(p, {
    p_pid: 1, p_stat: SACTIVE, p_ucred: cr, p_fd: fd, p_sigacts: ps, p_limit: lim, p_vmspace: vm, p_pgrp: pg,
    p_leader: p.h, p_sigparent: SIGCHLD, p_depth: 1, p_lasttid: limits.inittid ?? 1, p_nthreads: 1,
  });
  procglob(1, img).allproc = p.h; // procinsertinit (kern_proc.c 223-228)
  g.initproc = p.h;

  const reap = alloc(SYSREAPER);
  // reaper_init(initproc) (000:1047-1062)
  Object.assign(reapV(reap, img), { parent: NULL, p: p.h, flags: REAPER_STAT_OWNED | REAPER_STAT_REALINIT, refs: 2 });
  p.p_reaper = reap;

  const lp = lwpV(alloc(LWP), img);
  Object.assign(lp, { lwp_proc: p.h, lwp_vmspace: vm, lwp_tid: limits.inittid ?? 1, lwp_stat: LSRUN, lwp_ucred: cr });
  p.p_lwp_tree = lp.h;

  const td = m.spawn(init?.program ?? "dragonfly.script", init?.args ?? [], 0);
  if (td === NULL) throw new Error("boot: no thread for init");
  const tv = img.table(THREAD).view(td);
  tv.td_lwp = lp.h;
  tv.td_proc = p.h;
  lp.lwp_thread = td;

  const kt = m.spawn("dragonfly.deadlwp", [], 0);
  if (kt === NULL) throw new Error("boot: no thread for the deadlwp task");
  void P_SYSTEM;
}

/**
 * The process table as ps shows it. Read on the orchestrator while the cpus may run: every
 * handle is checked before it is followed (a group freed under its members, a kernel defect a
 * script may provoke, shows as pgid 0 here and is the audit's to report).
 */
function ps(img: Image): PsEntry[] {
  const P = img.table(PROC);
  const ok = <F extends Parameters<typeof tbl>[0]>(d: F, h: number) => h !== NULL && tbl(d, img).valid(h);
  const out: PsEntry[] = [];
  for (const h of allprocs(img)) {
    if (!P.valid(h)) continue;
    const p = procV(h, img);
    const pend: number[] = [];
    for (let s = 1; s < 32; s++) if (p.p_siglist & sigmask(s)) pend.push(s);
    const threads = lwpsOf(img, h).filter((l) => ok(LWP, l)).map((l) => ({ tid: lwpV(l, img).lwp_tid, td: lwpV(l, img).lwp_thread }));
    out.push({
      pid: p.p_pid,
      ppid: ok(PROC, p.p_pptr) ? procV(p.p_pptr, img).p_pid : 0,
      stat: STAT_NAMES[p.p_stat] ?? String(p.p_stat),
      flags: p.p_flags,
      pgid: ok(PGRP, p.p_pgrp) ? pgrpV(p.p_pgrp, img).pg_id : 0,
      uid: ok(UCRED, p.p_ucred) ? credV(p.p_ucred, img).cr_ruid : -1,
      nthreads: p.p_nthreads,
      pendingSignals: pend,
      reaper: ok(SYSREAPER, p.p_reaper) && reapV(p.p_reaper, img).p === h,
      threads,
    });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

export const dragonfly: KernelModel = {
  name: "dragonfly",
  module: "src/kern/dragonfly/entry.js",
  calls,
  mayBlockSites: DRAGONFLY_MAYBLOCK_SITES,
  variants: {
    "pgrp-walk-held": "pgsignal and dokillpg walk pg_members holding pg_token and a PHOLD on each member, starting over when one moved: safer than the kernel's walk (docs/findings.md D7)",
  },
  defaultLimits: () => ({ maxproc: DEFAULT_MAXPROC, nproc: 32, tables: defaultTables(DEFAULT_MAXPROC) }),
  tables,
  boot,
  ps,
  audit: auditDragonfly,
  liveLaws: dragonflyLiveLaws,
};
