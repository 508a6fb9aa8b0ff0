/*
 * NetBSD structures of the fork/exit/wait path (sys/sys/proc.h, lwp.h, filedesc.h, resourcevar.h,
 * signalvar.h, uidinfo.h around kern_fork.c 1.209), declared with the kernel's field names.
 * Flag values are those of NOTES-kernel.md section D.
 *
 * Conventions (as in the DragonFly model):
 *  - Every pointer is a handle (src/shm/table.ts), 0 = NULL.
 *  - A BSD LIST is a head field holding the first element, and in each element a next field
 *    (p_list, p_sibling, p_pglist, l_sibling) and its le_prev (NAME_prev: the previous element,
 *    NULL for the first): LIST_REMOVE unlinks through le_prev without walking the list
 *    (sys/queue.h), so removing one of 60,000 processes costs what removing one of ten does.
 *  - Embedded locks/condvars take the widths of src/shm/struct.ts; code passes p.ptr("p_waitcv").
 *  - p_lock is NOT embedded: it is a handle to a kmutex object (mutex_obj_alloc), so that
 *    FORK_SHARESIGS can share one lock between two processes with mutex_obj_hold (001:332-336).
 * Audits (src/invariants) may rely on every field documented here.
 */
import { CONDVAR, defineStruct, KMUTEX } from "../../shm/struct.js";
import type { Image } from "../../shm/image.js";
import type { Handle, View } from "../../shm/table.js";
import { image } from "../../sync/seam.js";

/** struct proc. */
export const PROC = defineStruct("proc", {
  p_list: 1, // next proc on allproc or zombproc (proc_lock)
  p_list_prev: 1, // p_list's le_prev (proc_lock)
  p_pid: 1,
  p_stat: 1, // SIDL..SDEAD (p_lock; SZOMB/SDEAD transitions also under proc_lock)
  p_flag: 1, // PK_* (p_lock)
  p_sflag: 1, // PS_* (p_lock)
  p_slflag: 1, // PSL_* (proc_lock + p_lock)
  p_lflag: 1, // PL_* (proc_lock)
  p_lock: 1, // kmutexobj handle: the per-process mutex, possibly shared (FORK_SHARESIGS)
  p_waitcv: CONDVAR, // "wait": a parent waits here for its children (proc_lock)
  p_lwpcv: CONDVAR, // "lwpwait": lwp exit and exit_lwps (p_lock)
  p_pptr: 1, // parent (proc_lock)
  p_children: 1, // first child (proc_lock)
  p_sibling: 1, // next child of p_pptr (proc_lock)
  p_sibling_prev: 1, // p_sibling's le_prev (proc_lock)
  p_pglist: 1, // next member of p_pgrp (proc_lock)
  p_pglist_prev: 1, // p_pglist's le_prev (proc_lock)
  p_lwps: 1, // first lwp (p_lock)
  p_uid: 1, // kauth_cred_getuid(p_cred)
  p_sigacts: 1, // sigacts handle (sa_refcnt held)
  p_fd: 1, // filedesc handle
  p_cwdi: 1, // cwdinfo handle
  p_limit: 1, // plimit handle (copy-on-write)
  p_vmspace: 1, // vmspace handle
  p_siglist: 1, // pending signals: bit (sig - 1) (p_lock)
  p_xsig: 1, // stop or exit signal reported to wait (p_lock)
  p_xstat: 1, // exit status (wait status word)
  p_klist: 1, // knotes attached (EVFILT_PROC watchers)
  p_exitsig: 1, // signal for the parent on exit (001:475)
  p_ppid: 1, // parent pid at fork (001:393)
  p_stflag: 1, // PST_*
  p_acflag: 1, // AFORK...
  p_mqueue_cnt: 1,
  p_trace_enabled: 1,
  p_start: 1, // ticks at fork (getmicrotime, 001:541)
  p_nsigcaught: 1, // model: signals delivered to a handler (for tests)
  // [p_startzero .. p_endzero): zeroed by fork1 (001:290-291)
  p_nlwps: 1, // lwps in the process
  p_nzlwps: 1, // zombie lwps
  p_nrlwps: 1, // running lwps
  p_nlwpid: 1, // last lid handed out (p_lock)
  p_nstopchild: 1, // children stopped or zombie, not yet waited for (proc_lock)
  p_waited: 1, // the stop was reported by wait
  p_vforklwp: 1, // the lwp waiting in vfork for this child (001:385)
  p_opptr: 1, // original parent while traced (proc_lock)
  p_fpid: 1, // PTRACE_FORK: pid of the fork peer (001:489-490)
  p_vfpid: 1, // PTRACE_VFORK peer (001:493-494)
  p_vfpid_done: 1, // PTRACE_VFORK_DONE (001:604)
  p_traceflag: 1, // ktrace facilities
  p_tracep: 1, // ktrace file
  p_endzero: 1, // marker (stays 0)
  // [p_startcopy .. p_endcopy): copied from the parent by fork1 (001:292-293)
  p_nice: 1,
  p_comm: 1, // program "name": an exec generation number in the model
  p_pgrp: 1, // process group (proc_lock); copied, then linked in at 001:497
  p_endcopy: 1, // marker
}, {
  markedRacy: {
    p_stat: "read under proc_lock only (p_stat_unlocked: wait's find_stopped_child, proc_find -- kern_proc.c 612 \"p_stat might change, since unlocked\" --, proc_reparent, killpg1's scan) while exit1 moves it to SDYING under p_lock only (kern_exit.c 249-251); the states those readers act on, SZOMB and SDEAD, are set under proc_lock. Every other read holds p_lock, as every write does",
    p_slflag: "the same signal check (issignal_peek) tests PSL_TRACED without p_lock (a traced process's signal goes to its tracer); issignal acts on it under p_lock. Every write holds proc_lock and the process's p_lock (proc_changeparent takes the old parent's too); every other read holds one of them",
    p_siglist: "a sleep's signal check reads the pending set without p_lock (issignal_peek: sigispending in sleepq_block, kern_sig.c 696-712, membar_consumer then plain reads); every other read and every write holds p_lock",
  },
});

export const ZERO_FIELDS = ["p_nlwps", "p_nzlwps", "p_nrlwps", "p_nlwpid", "p_nstopchild", "p_waited", "p_vforklwp", "p_opptr", "p_fpid", "p_vfpid", "p_vfpid_done", "p_traceflag", "p_tracep", "p_endzero"] as const;
export const COPY_FIELDS = ["p_nice", "p_comm", "p_pgrp"] as const;

/** struct lwp. */
export const LWP = defineStruct("lwp", {
  l_proc: 1,
  l_thread: 1, // the simulated thread running this lwp (thread handle)
  l_sibling: 1, // next lwp of l_proc (p_lock)
  l_sibling_prev: 1, // l_sibling's le_prev (p_lock)
  l_lid: 1, // >= 1, unique in the process (++p_nlwpid under p_lock)
  l_stat: 1, // LSIDL..LSSUSPENDED
  l_flag: 1, // LW_* (p_lock)
  l_pflag: 1, // LP_* (private to the lwp itself)
  l_prflag: 1, // LPR_* (p_lock)
  l_refcnt: 1,
  l_waitcv: CONDVAR, // "vfork" (the #if 0 alternative of NOTES B6)
  l_stopcv: CONDVAR, // model: where a stopped lwp (LSSTOP) waits for setrunnable()
  l_addr: 1, // uarea handle (uvm_uarea_alloc)
  l_private: 1,
  l_sigmask: 1,
  l_startprog: 1, // model: the user program the lwp's thread runs after lwp start-up (programId)
  l_forked: 1, // model: the first lwp of a forked child: it returns through child_return
}, {
  racy: {
    l_flag: "a sleep's signal check tests LW_WEXIT (sleepq_block, kern_sleepq.c: with the lwp locked, which the model's check made from inside the sleep cannot take); exit_lwps sets it under p_lock and then wakes the lwp",
  },
});

/**
 * struct pid_table (kern_proc.c 130-134): one entry per slot, indexed by pid & pid_tbl_mask. An
 * entry in use holds its process (pt_proc, pt_pid) and/or the process group of that id (pt_pgrp:
 * an orphaned group keeps its slot, so its id is not handed out). A free entry is on the free
 * list: the kernel stores P_FREE(x) = x << 1 | 1 in pt_proc, where x is the saved use count (the
 * bits above the mask) | the next free slot (the bits below it); the model keeps pt_proc NULL
 * and x in pt_next (a handle may be odd). Slot 0 is proc0's and the free list's end; the model
 * has no proc0, so its pt_proc stays NULL. The kernel reallocates the array twice as large when
 * it fills (expand_pid_table); the model's image has room for the largest size the proc and
 * pgrp tables can reach, four entries to a record (a table holds at most 0xfffe records).
 */
export const PID_TABLE = defineStruct("pid_table", {
  pt_proc0: 1, pt_pgrp0: 1, pt_pid0: 1, pt_next0: 1,
  pt_proc1: 1, pt_pgrp1: 1, pt_pid1: 1, pt_next1: 1,
  pt_proc2: 1, pt_pgrp2: 1, pt_pid2: 1, pt_next2: 1,
  pt_proc3: 1, pt_pgrp3: 1, pt_pid3: 1, pt_next3: 1,
});
export const PT_PER_RECORD = 4;
/** PID_MAX (sys/proc.h): the largest pid until the table outgrows it. */
export const PID_MAX = 30000;
export const INITIAL_PID_TABLE_SIZE = 1 << 5;

/** A kmutex object (mutex_obj_alloc): a reference-counted mutex that processes can share. */
export const KMUTEXOBJ = defineStruct("kmutexobj", { mo_lock: KMUTEX, mo_refcnt: 1 });

export const PGRP = defineStruct("pgrp", {
  pg_id: 1,
  pg_session: 1,
  pg_members: 1, // first member (p_pglist) (proc_lock)
  pg_jobc: 1,
});

export const SESSION = defineStruct("session", {
  s_sid: 1,
  s_leader: 1,
  s_count: 1, // pgrps in the session (proc_lock)
  s_ttyvp: 1, // controlling terminal vnode (always NULL in the model)
});

export const UIDINFO = defineStruct("uidinfo", {
  ui_uid: 1,
  ui_proccnt: 1, // processes of this uid (chgproccnt, atomic)
}, {
  atomics: { ui_proccnt: "chgproccnt adds with atomic_add_long_nv (kern_resource.c): forks and reaps of one uid on every cpu, fork1's call without proc_lock" },
});

export const SIGACTS = defineStruct("sigacts", {
  sa_refcnt: 1, // shared under FORK_SHARESIGS
  sa_mutex: KMUTEX,
  sa_catch: 1, // signals with a handler: bit (sig - 1)
  sa_ignore: 1, // signals set to SIG_IGN: bit (sig - 1)
}, {
  // The kernel's ps_sigignore (every ignored signal, SIG_IGN or a default-ignored SIG_DFL) is
  // sa_ignore, and sa_catch for the default-ignored ones, in the model.
  markedRacy: {
    sa_ignore: "a sleep's signal check reads the ignored set without a lock (sigispending in sleepq_block, kern_sig.c 701-705: membar_consumer, then plain reads of ps_sigignore); every write another thread can meet holds sa_mutex and p_lock (sigactsinit fills a table no one else has yet, execve resets its own unshared one as the process's only lwp), every other read holds one of them",
    sa_catch: "the same check (issignal_peek) tells a caught default-ignored signal from an ignored one by it, where the kernel's unlocked sigispending reads ps_sigignore (kern_sig.c 705); the writes and the other reads are sa_ignore's",
  },
});

export const FILEDESC = defineStruct("filedesc", { fd_refcnt: 1, fd_nfiles: 1 });
export const CWDINFO = defineStruct("cwdinfo", { cwdi_refcnt: 1 });
export const PLIMIT = defineStruct("plimit", {
  pl_refcnt: 1,
  pl_writeable: 1, // privatised by lim_privatise: fork must copy it (001:374-379)
  pl_nproc_cur: 1, // p_rlimit[RLIMIT_NPROC]
  pl_nproc_max: 1,
});
export const VMSPACE = defineStruct("vmspace", { vm_refcnt: 1 });
/** A u-area (uvm_uarea_alloc): the table's capacity is the kernel VA available for them. */
export const UAREA = defineStruct("uarea", { ua_lwp: 1 });

/** Kernel globals (one record). */
export const GLOBALS = defineStruct("nbglobals", {
  proc_lock: KMUTEX, // the global proc_lock (NOTES A6)
  uihash_lock: KMUTEX, // uidinfo hash
  nprocs: 1, // 001:109 (atomic)
  maxproc: 1,
  allproc: 1, // first proc on allproc (proc_lock)
  zombproc: 1, // first proc on zombproc (proc_lock)
  initproc: 1,
  // The pid table's state (kern_proc.c 150-159), all under proc_lock but for the two reads
  // proc_alloc_pid and expand_pid_table make before they take it (markedRacy below).
  pid_tbl_mask: 1, // entries - 1 (a power of two less one)
  pid_alloc_lim: 1, // expand when this many slots are in use, so pids cycle through 2000+ values
  pid_alloc_cnt: 1, // slots in use: by a process, or by a process group whose leader is gone
  next_free_pt: 1, // the free list's first slot (allocate here)
  last_free_pt: 1, // its last slot (freed slots are linked after it)
  pid_max: 1, // PID_MAX (30000) until the table outgrows it, then 2 * pid_tbl_mask + 1
  forkfsleep: 1, // 001:115, ticks
  lasttfm: 1, // 001:240 ratecheck state (ticks of the last message, 0 = never)
  tablefull: 1, // "proc: table is full" messages printed
  forks: 1, // uvmexp.forks (001:508)
  forks_ppwait: 1,
  forks_sharevm: 1,
  forkhooks: 1, // hooks registered with forkhook_establish
  forkhook_calls: 1,
  knote_fork: 1, // NOTE_FORK events posted
  kauth_fork_reserve: 1, // secmodel: processes only root may use at the top of maxproc
  nproc_default: 1, // RLIMIT_NPROC of init
  hz: 1,
  ncpus: 1,
  ticks0: 1,
}, {
  atomics: { nprocs: "fork1 counts with atomic_inc_uint_nv before its checks (001:227) and undoes a refused fork with atomic_dec_uint, exit's proc_free uncounts the same way: no lock in common" },
  markedRacy: {
    pid_alloc_cnt: "proc_alloc_pid compares it with pid_alloc_lim before taking proc_lock (kern_proc.c 760-762), to expand the table first: a stale count only expands early or one allocation late, and expand_pid_table re-checks the size under proc_lock",
    pid_alloc_lim: "read with pid_alloc_cnt before proc_lock (kern_proc.c 760); expand_pid_table doubles it under proc_lock",
    pid_tbl_mask: "expand_pid_table sizes its new table from it before taking proc_lock (kern_proc.c 654-657, a may-block allocation between) and re-checks it under proc_lock: another expansion in that window makes it give up (663-668)",
  },
  unlocked: {
    lasttfm: "fork1's ratecheck state is a static of kern_fork.c updated with no lock (001:240-242): a lost update only lets one more or one fewer 'table is full' message through",
    tablefull: "the model's count of those messages, bumped beside the ratecheck with no lock (tablefull() prints; the console serialises its own output)",
  },
});

// p_stat
export const SIDL = 1;
export const SACTIVE = 2;
export const SDYING = 3;
export const SSTOP = 4;
export const SZOMB = 5;
export const SDEAD = 6;
export const STAT_NAMES: Record<number, string> = { 0: "SNONE", 1: "SIDL", 2: "SACTIVE", 3: "SDYING", 4: "SSTOP", 5: "SZOMB", 6: "SDEAD" };

// l_stat
export const LSIDL = 1;
export const LSRUN = 2;
export const LSSLEEP = 3;
export const LSSTOP = 4;
export const LSZOMB = 5;
export const LSONPROC = 7;

// PL_*
export const PL_CONTROLT = 0x2;
export const PL_PPWAIT = 0x10;
// PK_*
export const PK_SYSTEM = 0x2;
export const PK_SUGID = 0x100;
export const PK_EXEC = 0x4000;
export const PK_NOCLDWAIT = 0x20000;
export const PK_32 = 0x40000;
export const PK_CLDSIGIGN = 0x80000;
// PS_*
export const PS_NOCLDSTOP = 0x8;
export const PS_WEXIT = 0x100000;
export const PS_STOPFORK = 0x800000;
export const PS_STOPEXEC = 0x1000000;
// PSL_*
export const PSL_TRACEFORK = 0x1;
export const PSL_TRACEVFORK = 0x2;
export const PSL_TRACEVFORK_DONE = 0x4;
export const PSL_TRACED = 0x800;
export const PSL_CHTRACED = 0x400000; // a child of this process was traced away from it (p_opptr)
// LP_*, LW_*, LPR_*
export const LP_VFORKWAIT = 0x200;
export const LW_WEXIT = 0x100000;
export const LPR_DETACHED = 0x800000;
// PST_*
export const PST_PROFIL = 0x20;
export const AFORK = 0x1;

// FORK_*
export const FORK_PPWAIT = 0x1;
export const FORK_SHAREVM = 0x2;
export const FORK_SHARECWD = 0x4;
export const FORK_SHAREFILES = 0x8;
export const FORK_SHARESIGS = 0x10;
export const FORK_NOWAIT = 0x20;
export const FORK_CLEANFILES = 0x40;
export const FORK_SYSTEM = 0x80;
export const FORK_FLAGS: Record<string, number> = { FORK_PPWAIT, FORK_SHAREVM, FORK_SHARECWD, FORK_SHAREFILES, FORK_SHARESIGS, FORK_NOWAIT, FORK_CLEANFILES, FORK_SYSTEM };

// CLONE_* (sys/sched.h)
export const CLONE_CSIGNAL = 0xff;
export const CLONE_VM = 0x100;
export const CLONE_FS = 0x200;
export const CLONE_FILES = 0x400;
export const CLONE_SIGHAND = 0x800;
export const CLONE_PID = 0x1000;
export const CLONE_PTRACE = 0x2000;
export const CLONE_VFORK = 0x4000;
export const CLONE_FLAGS: Record<string, number> = { CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_PID, CLONE_PTRACE, CLONE_VFORK };

// LWP_VFORK for lwp_create (001:439)
export const LWP_VFORK = 0x1;

// Signals
export const _NSIG = 64;
export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGTRAP = 5;
export const SIGKILL = 9;
export const SIGUSR1 = 30;
export const SIGUSR2 = 31;
export const SIGTERM = 15;
export const SIGSTOP = 17;
export const SIGTSTP = 18;
export const SIGCONT = 19;
export const SIGCHLD = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGNALS: Record<string, number> = {
  SIGHUP, SIGINT, SIGQUIT, SIGILL: 4, SIGTRAP, SIGABRT: 6, SIGEMT: 7, SIGFPE: 8, SIGKILL, SIGBUS: 10, SIGSEGV: 11,
  SIGSYS: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM, SIGURG: 16, SIGSTOP, SIGTSTP, SIGCONT, SIGCHLD, SIGTTIN, SIGTTOU,
  SIGIO: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGINFO: 29, SIGUSR1, SIGUSR2,
};
export const sigmask = (sig: number): number => (sig >= 1 && sig <= 32 ? 1 << (sig - 1) : 0);
export const STOPSIGMASK = sigmask(SIGSTOP) | sigmask(SIGTSTP) | sigmask(SIGTTIN) | sigmask(SIGTTOU);
/** Signals whose default action is to be discarded. */
export const DFL_IGNORE = sigmask(SIGCHLD) | sigmask(SIGCONT) | sigmask(16) | sigmask(28) | sigmask(29);

// ptrace
export const PT_TRACE_ME = 0;
export const PT_CONTINUE = 7;
export const PT_KILL = 8;
export const PT_ATTACH = 9;
export const PT_DETACH = 10;
export const PT_SET_EVENT_MASK = 16;
export const PT_REQUESTS: Record<string, number> = { PT_TRACE_ME, PT_CONTINUE, PT_KILL, PT_ATTACH, PT_DETACH, PT_SET_EVENT_MASK };
export const PTRACE_FORK = 0x1;
export const PTRACE_VFORK = 0x2;
export const PTRACE_VFORK_DONE = 0x4;
export const PTRACE_EVENTS: Record<string, number> = { PTRACE_FORK, PTRACE_VFORK, PTRACE_VFORK_DONE };

// wait
export const WNOHANG = 0x1;
export const WUNTRACED = 0x2;
/** Wait only for children whose exit signal is not SIGCHLD (Linux __WCLONE). */
export const WALTSIG = 0x4;
/** Wait for children whatever their exit signal (Linux __WALL). */
export const WALLSIG = 0x8;
export const WAIT_OPTIONS: Record<string, number> = { WNOHANG, WUNTRACED, WALTSIG, WALLSIG };
export const WAIT_ANY = -1;
export const W_EXITCODE = (ret: number, sig: number): number => ((ret & 0xff) << 8) | sig;
export const W_STOPCODE = (sig: number): number => (sig << 8) | 0x7f;

// sigaction
export const SA_NOCLDSTOP = 0x8;
export const SA_NOCLDWAIT = 0x20;
export const SA_FLAGS: Record<string, number> = { SA_NOCLDSTOP, SA_NOCLDWAIT, SA_RESTART: 0x2, SA_SIGINFO: 0x40 };
export const SIG_DFL = 0;
export const SIG_IGN = 1;
export const SIG_CATCH = 2;

/** The uid with every privilege (kauth's secmodel_suser). */
export const ROOT = 0;

// ---- accessors --------------------------------------------------------------------------------

export const procs = () => image.table(PROC);
export const lwps = () => image.table(LWP);
export const P = (h: Handle) => image.table(PROC).view(h);
export const L = (h: Handle) => image.table(LWP).view(h);
export const PG = (h: Handle) => image.table(PGRP).view(h);
/** The globals record's view and proc_lock's address, made once per image (boot makes the record; it never moves or goes). */
let gImage: Image | null = null;
let gView: View<(typeof GLOBALS)["fields"]> | null = null;
let procLockAt = 0;
export const G = (): View<(typeof GLOBALS)["fields"]> => {
  if (gImage !== image || gView === null) {
    const t = image.table(GLOBALS);
    gView = t.view(t.handleAt(0));
    procLockAt = gView.ptr("proc_lock");
    gImage = image;
  }
  return gView;
};
export type ProcView = ReturnType<typeof P>;
export type LwpView = ReturnType<typeof L>;
export type GlobalsView = ReturnType<typeof G>;

/** pid_table[i] through the record that holds it. */
export interface PidTableEntry {
  pt_proc: Handle;
  pt_pgrp: Handle;
  pt_pid: number;
  pt_next: number;
}
/**
 * The entry classes, one per place k of an entry in its record, each naming its record's fields
 * (`pt_pid2`) outright: one class reading `v[PT_PID[k]]` was a keyed access site seeing four
 * names, which V8 leaves megamorphic -- a runtime call at every access through a view's accessor
 * (the set pt_* accessors were 2 % of a one-cpu NetBSD worker). The same accesses, in the same order.
 */
const PT_ENTRY: (new (v: Record<string, number>) => PidTableEntry)[] = Array.from({ length: PT_PER_RECORD }, (_, k) => {
  const field = (f: string) => `get ${f}() { return this.v.${f}${k}; } set ${f}(x) { this.v.${f}${k} = x; }`;
  return new Function(`return class pid_table_entry${k} { constructor(v) { this.v = v; } ${["pt_proc", "pt_pgrp", "pt_pid", "pt_next"].map(field).join(" ")} };`)();
});
/** &pid_table[i] in an image (the kernel's, or the orchestrator's while the machine is still). */
export function pidTableEntry(img: Image, i: number): PidTableEntry {
  const t = img.table(PID_TABLE);
  return new PT_ENTRY[i % PT_PER_RECORD](t.view(t.handleAt(Math.floor(i / PT_PER_RECORD))) as unknown as Record<string, number>);
}
export const pid_table = (i: number): PidTableEntry => pidTableEntry(image, i);

/**
 * The entries the table can grow to with `inUse` slots taken: expand_pid_table doubles it, and
 * pid_alloc_lim with it (kern_proc.c 719-727), until the limit is above what can be in use.
 */
export function pidTableEntriesFor(inUse: number): number {
  let size = INITIAL_PID_TABLE_SIZE, lim = size - 2;
  while (lim <= inUse) {
    size *= 2;
    if (size - 1 > PID_MAX) lim |= lim << 1;
    else lim <<= 1;
  }
  return size;
}

/** &proc_lock */
export const proc_lock = (): number => (gImage === image ? procLockAt : (G(), procLockAt));
/** p->p_lock: the address of the process's (possibly shared) mutex. */
export const p_lock = (p: ProcView): number => image.table(KMUTEXOBJ).view(p.p_lock).ptr("mo_lock");
