/*
 * DragonFly BSD structures of the fork/exit/wait path (sys/sys/proc.h, procctl.h, filedesc.h,
 * resourcevar.h, ucred.h, signalvar.h at d9d67b59), declared with the kernel's field names.
 * Flags and values are those of NOTES-kernel.md section D.
 *
 * Conventions:
 *  - Every pointer is a handle (see src/shm/table.ts), 0 = NULL.
 *  - A BSD LIST is a head field holding the first element and a `*_next` field in each element
 *    (LIST_INSERT_HEAD / LIST_INSERT_AFTER / LIST_REMOVE are done by walking, see kern_proc.ts),
 *    except p_pglist, which keeps le_prev as p_pglist_prev: a process group can hold every
 *    process, and the kernel's LIST_REMOVE never walks it.
 *  - The lwp RB tree (p_lwp_tree, keyed by lwp_tid) is kept as a list sorted by lwp_tid through
 *    lwp_rbnode: RB_INSERT's collision answer and RB_ROOT/RB_FOREACH behave the same.
 *  - Embedded locks take the widths of src/shm/struct.ts; kernel code passes p.ptr("p_token").
 * Audits (src/invariants) may rely on every field documented here.
 */
import { defineStruct, LOCKMGR, SPINLOCK, TOKEN } from "../../shm/struct.js";

/** struct proc. The copied region [p_comm .. p_ionice] is bcopy'd by fork1 (000:488-489). */
export const PROC = defineStruct("proc", {
  p_list: 1, // next proc on its procglob chain's allproc, zombies included (that chain's proc_token)
  p_ucred: 1, // ucred handle (cr_ref held)
  p_fd: 1, // filedesc handle (fd_refcnt held)
  p_fdtol: 1, // filedesc_to_leader handle or NULL
  p_limit: 1, // plimit handle
  p_waitgen: 1, // kern_wait interlock: bumped by exiting children, top bit = "waiter looked"
  p_sigacts: 1, // sigacts handle (ps_refcnt held)
  p_flags: 1, // P_*
  p_stat: 1, // SIDL..SCORE
  p_pid: 1,
  p_pglist: 1, // next member of p_pgrp->pg_members (pg_token)
  p_pglist_prev: 1, // p_pglist's le_prev: the previous member, NULL for the first (pg_token)
  p_pptr: 1, // parent proc
  p_sibling: 1, // next child of p_pptr (p_pptr->p_token)
  p_children: 1, // first child (p_token)
  p_oppid: 1, // saved parent pid (ptrace give-back)
  p_vmspace: 1, // vmspace handle
  p_sigparent: 1, // signal sent to the parent at exit (SIGCHLD, or SIGUSR1 with RFLINUXTHPN)
  p_klist: 1, // knotes attached (count of NOTE_FORK events posted here)
  p_siglist: 1, // pending signals, bit (sig-1); changed with atomic ops
  p_nsigcaught: 1, // model: caught signals delivered to a handler (for tests)
  p_usched: 1,
  p_textvp: 1,
  p_start: 1, // microtime at fork (ticks)
  p_acflag: 1, // AFORK
  // ---- copied region (p_startcopy .. p_endcopy) ----
  p_comm: 1,
  p_nice: 1,
  p_osrel: 1,
  p_pgrp: 1, // pgrp handle (a pg_refs reference held while a member)
  p_rtprio: 1,
  p_args: 1, // pargs handle (ar_ref)
  p_xstat: 1,
  p_depth: 1,
  p_ionice: 1,
  // ---- not copied ----
  p_lock: 1, // PHOLD count | PLOCK_WAITING | PLOCK_ZOMB
  p_nthreads: 1,
  p_nstopped: 1,
  p_lasttid: 1,
  p_lwp_tree: 1, // first lwp (lowest tid)
  p_peers: 1, // RFTHREAD peer chain
  p_leader: 1,
  p_spin: SPINLOCK,
  p_token: TOKEN,
  p_upmap_invfork: 1, // p_upmap->invfork (the model always has a upmap)
  p_forkid: 1,
  p_reaper: 1, // sysreaper handle (a refs reference held) or NULL
  p_pgsigpend: 1, // detector: bits of p_siglist last posted by a walk of a process group
  p_pgsiggrp: 1, // detector: the pgrp of that walk
}, {
  // Read without their lock only at the reads marked data_race() below; every other read holds
  // it, as every write does (or is an atomic), so a write that forgot the lock races those reads.
  markedRacy: {
    p_flags: "tested without the process's p_token before acting on it under the token: the vfork parent's P_PPWAIT loop and cmpset (start_forked_proc, 000:918-929: \"to avoid unnecessary p_token conflicts\"), userret and the sleep's signal check (P_WEXIT), kern_kill's P_WEXIT test on a held process (kern_sig.c 776), the group and allproc signal scans' P_SYSTEM (kern_sig.c 699, 718); ksignal re-tests under the token",
    p_siglist: "CURSIG / lwp_sigpend test pending signals without p_token (set and cleared with atomics under it), then act under the token: CURSIG_NOBLOCK, postsig_all's first look",
    p_children: "proc_reparent tests LIST_EMPTY(&opp->p_children) after it released opp's p_token, to decide whether to wake opp's waiters (kern_exit.c 1260)",
    p_pgrp: "kern_wait filters the children by p->p_pgid (p_pgrp->pg_id) under the parent's p_token only (kern_exit.c:948-949), and reads its own before taking it (908-909): a child changing group meanwhile is waited for, or not, either way -- and its old group may be freed under the read (findings D11, reported by the use-after-free check, which this note does not turn off)",
    p_ucred: "sysctl kern.proc's pcredcache (kern_proc.c 145-156) tests it unlocked against its cached credential, and re-reads it under p_spin: fork1 sets a SIDL child's p_ucred after putting it on allproc (000:483, 000:501) under locks no scanner takes, and the scan skips SIDL processes by an unlocked p_stat test, relying on x86's store order for the credential behind it. p_spin orders the re-read and its crhold before a replacer's crfree (cratom_proc, kern_prot.c 1114-1116; kern_wait). Every other read is checked",
  },
  racy: {
    p_stat: "kern_wait tests a child's p_stat == SZOMB under the parent's p_token only (kern_exit.c:967), then takes PHOLDZOMB and the child's p_token and re-checks p_pptr before it reaps; dokillpg's member scan tests SZOMB under pg_lock alone (kern_sig.c 698). Racy per field, not per read: start_forked_proc stores SACTIVE with no lock at all (000:903, in crit_enter only), so every reader of a new child's p_stat races that store -- pfind and allproc_scan under proc_token, ksignal under the child's p_token (a free-mode DragonFly mixed run, 600 s: killpg's ksignal against fork's SACTIVE) -- and each tests SZOMB alone, which that store never makes or unmakes",
    p_pglist: "the group walk of dokillpg and pgsignal follows it under pg_lock alone, not the pg_token its writers hold: the seed's defect D7, as pgrp.pg_members",
    p_reaper: "reaper_sigtest reads the sender's and the target's p_reaper with no lock (000:1180-1199, from CANSIGNAL: dokillpg holds only pg_lock, kern_kill only the target's p_token shared): the kernel assumes the sender's reaper stable and the target taken from a scan, while procctl (000:948-985) and exit1's reaper_exit change them under the owner's p_token. A thread of the sender in procctl meanwhile makes the answer the one for the reaper before the change or after it",
    p_peers: "the RFTHREAD peer chain is walked by the exiting leader and unlinked by each exiting peer holding no lock in common (kern_exit.c 324-338, 381-387): the leader re-reads it in its sleep loop until it is empty. Only reads: the writers' own race (fork1's link against an exit's unlink, two exits) loses updates, the seed's defect D9, and is reported",
  },
  // Token-guarded links: what DragonFly re-checks after anything that can block (000:962-972).
  recheck: {
    p_list: "proc", // the procglob chain's proc_token
    p_pglist: "proc", // the group's pg_token
    p_pglist_prev: "proc", // the group's pg_token
    p_pptr: "proc", // p_token (and the parent's, for its p_children)
    p_sibling: "proc", // p_pptr->p_token
    p_children: "proc", // p_token
    p_pgrp: "pgrp", // p_token + pg_token
    p_lwp_tree: "lwp", // p_token
  },
  handles: { p_reaper: "sysreaper", p_leader: "proc", p_peers: "proc" },
  atomics: {
    p_pgsigpend: "the detector's record of group-posted bits, kept with atomic_set_int / atomic_clear_int beside p_siglist's own by ksignal, postsig_all and kern_sigaction on different cpus, under no lock in common",
    p_nsigcaught: "the model's count of handlers run, bumped with atomic_add_int by each lwp's userret (postsig_all), under no lock",
    p_waitgen: "bumped by each exiting child with atomic_add_int and sampled by kern_wait with atomic_fetchadd_int (kern_exit.c): the parent's waiters and its children on every cpu change it with no lock in common",
    p_upmap_invfork: "atomic_add_int by the vforking parent (000:586-590) and atomic_add_int(-1) by its child at exec or exit, each under its own process's token only",
  },
});
/** Fields bcopy'd from parent to child by fork1 (000:488-489). */
export const PROC_COPIED = ["p_comm", "p_nice", "p_osrel", "p_pgrp", "p_rtprio", "p_args", "p_xstat", "p_depth", "p_ionice"] as const;

/** struct lwp. The copied region [lwp_cpumask .. lwp_rtprio] is bcopy'd by lwp_fork (000:740-742). */
export const LWP = defineStruct("lwp", {
  lwp_rbnode: 1, // next lwp in p_lwp_tree (sorted by lwp_tid)
  lwp_reap_entry: 1, // next lwp on the deadlwp list (the union's other half)
  lwp_proc: 1,
  lwp_vmspace: 1,
  lwp_tid: 1,
  lwp_flags: 1, // LWP_*
  lwp_mpflags: 1, // LWP_MP_* (atomic)
  lwp_stat: 1, // LSRUN/LSSTOP/LSSLEEP
  lwp_lock: 1, // LWPHOLD count
  // ---- copied region ----
  lwp_cpumask: 1,
  lwp_siglist: 1,
  lwp_oldsigmask: 1,
  lwp_sigmask: 1,
  lwp_sigstk: 1, // ss_flags (SS_DISABLE when reset)
  lwp_rtprio: 1,
  // ---- not copied ----
  lwp_thread: 1, // THREAD handle (src/shm/core.ts)
  lwp_ucred: 1, // td->td_ucred of lwp_thread (the runtime's thread record has no cred word)
  lwp_cpbase: 1,
  lwp_token: TOKEN,
  lwp_spin: SPINLOCK,
}, {
  recheck: { lwp_rbnode: "lwp", lwp_reap_entry: "lwp" }, // the process's p_token; deadlwp_token
  handles: { lwp_proc: "proc", lwp_thread: "thread" },
  racy: {
    lwp_mpflags: "userret and the lwp's own sleeps test LWP_MP_WEXIT without a lock (it is set and cleared with atomics): a late look only defers the exit to the next return to user mode",
    lwp_siglist: "lwpsignal sets it under lwp_spin, but CURSIG / lwp_sigpend read it without a lock and exit1 empties it under p_token only (kern_exit.c:364-365): a signal posted meanwhile is seen at the next check, or dropped with the exiting lwp",
  },
  atomics: {
    lwp_mpflags: "the lwp's mp-safe flags (lwp.h): LWP_MP_WEXIT and LWP_MP_WSTOP are set and cleared only with atomic_set_int / atomic_clear_int, by the lwp itself and by killalllwps / killlwps on other cpus, under no lock in common",
  },
});

export const PGRP = defineStruct("pgrp", {
  pg_list: 1, // next pgrp on its procglob chain's allpgrp (that chain's proc_token)
  pg_members: 1, // first member proc (pg_token)
  pg_session: 1,
  pg_id: 1,
  pg_jobc: 1,
  pg_refs: 1,
  pg_token: TOKEN,
  pg_lock: LOCKMGR, // "pgwt": SHARED in fork1, EXCLUSIVE in pgsignal/dokillpg
  pg_sigseq: 1, // detector: group-signal walks completed (bumped under pg_lock EXCLUSIVE)
}, {
  recheck: { pg_members: "proc", pg_list: "pgrp" }, // pg_token; the procglob chain's proc_token
  markedRacy: {
    pg_id: "set once by pgrp_alloc before the group is published and never changed: kern_wait reads it through a child's p_pgrp (p_pgid) under the parent's p_token only, and its own before taking it (kern_exit.c 908-909, 948-949), in the same marked reads as p_pgrp",
  },
  racy: {
    pg_members: "dokillpg and pgsignal walk the members under pg_lock alone while enterpgrp/leavepgrp change the list under pg_token (kern_sig.c 664-711, 871-889): the seed's defect D7 (docs/findings.md), shown by test/dragonfly/pgwalk.test.ts; declared so that baselines report new races, not this known one",
  },
});

export const SESSION = defineStruct("session", {
  s_count: 1, // references: one per pgrp
  s_leader: 1,
  s_sid: 1,
  s_ttyvp: 1, // controlling tty (always NULL in the model)
});

/** struct sysreaper (sys/sys/procctl.h). */
export const SYSREAPER = defineStruct("sysreaper", {
  lock: LOCKMGR, // "subrp"
  parent: 1, // upward link, holds a ref on the parent
  p: 1, // owning process or NULL
  flags: 1, // REAPER_STAT_*
  refs: 1,
}, {
  handles: { parent: "sysreaper", p: "proc" }, // reap->lock, held across blocks
  racy: {
    refs: "reaper_hold's KKASSERT(reap->refs > 0) reads the count plainly (000:1017): the caller holds a reference, so it cannot reach 0 under the assertion; PROC_REAP_STATUS reports it as a snapshot (000:991). reaper_get's collapse tests next->refs == 2 plainly (000:1154, 1157; the count is a volatile u_int) holding reap's lock, not next's, and then clears next->parent (000:1164), which another walker standing on next read under next's lock before its reaper_drop (000:1151, 1173-1174): what orders that read before the clear is the collapse's load seeing the drop's atomic_fetchadd (refcount_release), a locked instruction -- on x86-64, the only machine DragonFly runs on, a load that sees a locked RMW's store is ordered after it and everything its thread did before. The detector models that ordering for racy reads (src/detect racyRead), tested by lab.racy-order",
    p: "procctl REAP_RELEASE and reaper_exit test reap->p == p before taking reap->lock, then test again under it (000:962-972, 000:1071-1097); REAP_STATUS reports it as a snapshot",
  },
});

export const UIDINFO = defineStruct("uidinfo", {
  ui_next: 1, // uihash chain (uihash_spin)
  ui_uid: 1,
  ui_ref: 1,
  ui_proccnt: 1, // chgproccnt
}, {
  racy: {
    ui_proccnt: "chgproccnt is check-then-add (kern_resource.c): the limit test reads the count without a lock, so concurrent forks may overshoot RLIMIT_NPROC by the cpus forking at once (NOTES 'two facts')",
  },
  atomics: {
    ui_ref: "uihold's atomic_add_int and uidrop's atomic_fetchadd_int (kern_resource.c): holds are taken with no lock, uidrop's 1 -> 0 under uihash_spin",
    ui_proccnt: "chgproccnt adds with atomic_add_int (kern_resource.c): forks and reaps of one uid on every cpu, under no lock in common",
  },
});

export const FILEDESC = defineStruct("filedesc", {
  fd_refcnt: 1,
  fd_nfiles: 1,
  fd_spin: SPINLOCK,
}, {
  atomics: { fd_refcnt: "fdshare's atomic_add_int (kern_descrip.c) by an RFFDG-less fork, fdfree's release by an exiting sharer, under no lock in common" },
});

/** struct filedesc_to_leader: a ring of leaders sharing one filedesc. */
export const FDTOL = defineStruct("filedesc_to_leader", {
  fdl_refcount: 1,
  fdl_holdcount: 1,
  fdl_leader: 1,
  fdl_prev: 1,
  fdl_next: 1,
});

export const SIGACTS = defineStruct("sigacts", {
  ps_refcnt: 1,
  ps_flag: 1, // PS_NOCLDWAIT | PS_NOCLDSTOP | PS_CLDSIGIGN
  ps_sigignore: 1, // handler SIG_IGN, bit (sig-1)
  ps_sigcatch: 1, // handler is a user function
  ps_sigintr: 1, // caught without SA_RESTART (a PCATCH sleep returns EINTR, else ERESTART)
});

export const PLIMIT = defineStruct("plimit", {
  p_refcnt: 1,
  p_exclusive: 1,
  pl_nproc_cur: 1, // pl_rlimit[RLIMIT_NPROC].rlim_cur
  pl_nproc_max: 1,
  p_spin: SPINLOCK,
}, {
  racy: {
    p_refcnt: "plimit_lwp_fork reads p_refcnt plainly to decide whether the limits are shared (kern_plimit.c: count = olimit->p_refcnt; cpu_ccfence())",
  },
});

export const PARGS = defineStruct("pargs", { ar_ref: 1, ar_length: 1 });

export const UCRED = defineStruct("ucred", {
  cr_ref: 1,
  cr_uid: 1,
  cr_ruid: 1,
  cr_ruidinfo: 1, // uidinfo of cr_ruid (ui_ref held)
  cr_prison: 1,
});

export const VMSPACE = defineStruct("vmspace", {
  vm_refcnt: 1, // processes/lwps sharing it (RFMEM)
  vm_holdcnt: 1,
  vm_dsize: 1,
  vm_ssize: 1,
}, {
  racy: {
    vm_refcnt: "vmspace_getrefs reads the count plainly (vm_map.c: n = vm->vm_refcnt; cpu_ccfence()) to decide whether rfork without RFPROC must unshare: a concurrent release only makes the copy unneeded",
  },
});

/** struct forklist: the at_fork() callout list (000:77-83). */
export const FORKLIST = defineStruct("forklist", { function: 1, next: 1 });

/** Kernel globals of kern_fork.c, kern_proc.c, kern_resource.c and vmmeter (one record). */
export const KGLOBALS = defineStruct("dfly_globals", {
  nprocs: 1, // 000:297: process 0 counts, though the model has no record of it
  maxproc: 1,
  maxprocperuid: 1, // subr_param.c: what setrlimit(RLIMIT_NPROC) clamps to
  hz: 1,
  nextpid: 1, // proc_makepid's next base candidate (kern_proc.c 1014: "heuristic, allowed to race")
  initproc: 1,
  reaper_lock: LOCKMGR, // "reapgl" (000:89)
  forksleep: 1, // 000:91 (its address is the wait channel)
  lastfail: 1, // ppsratecheck state: tick of the current second window
  curfail: 1, // ... messages in that window (000:310-311)
  v_forks: 1, // gd_cnt statistics (000:672-688), summed over cpus
  v_vforks: 1,
  v_rforks: 1,
  v_kthreads: 1,
  v_forkpages: 1,
  v_vforkpages: 1,
  v_rforkpages: 1,
  v_kthreadpages: 1,
  knote_fork: 1, // KNOTE(NOTE_FORK) posted (000:709)
  kprintf_count: 1, // kernel messages printed
  kprintf_last: 1, // KPRINTF_* id of the last message
  fork_list: 1, // head of the at_fork callout list (000:83)
  fork_list_token: TOKEN,
  callout_seq: 1, // model: callouts run, and the last four (fn id << 16 | child pid)
  callout_log0: 1,
  callout_log1: 1,
  callout_log2: 1,
  callout_log3: 1,
  uihead: 1,
  uihash_spin: SPINLOCK,
  deadlwp: 1, // lwps exited, waiting for lwp_dispose (per-cpu in the kernel)
  deadlwp_token: TOKEN,
  gd_forkid: 1,
  ncpus: 1,
  randompid: 1, // kern.randompid (kern_proc.c 142): the random pid modulus, 0 = off; set at boot only
}, {
  racy: {
    nprocs: "fork1's maxproc test is check-then-add (000:388-409): it reads nprocs without a lock and counts with atomic_add_int after, so concurrent forks may overshoot by the cpus forking at once (NOTES 'two facts')",
  },
  atomics: {
    nprocs: "fork1 counts with atomic_add_int after its check (000:388-409) and undoes it the same way, kern_wait uncounts the same way: forks and reaps on every cpu, under no lock in common",
    kprintf_count: "the model's count of console messages, bumped with atomic_add_int by forks and reaps on every cpu, under no lock",
  },
  recheck: { deadlwp: "lwp" }, // deadlwp_token
  handles: { initproc: "proc" },
  unlocked: {
    nextpid: "proc_makepid takes a base with atomic_fetchadd_int but resets it at the wrap with a plain store (kern_proc.c 1033-1040, 'reset (SMP race ok)'): a fetchadd lost to the reset only hands two forks one base, and the chain token makes their pids differ",
    gd_forkid: "per cpu in the kernel (mycpu->gd_forkid, 000:449-450), one counter in the model: forks on two cpus at once may hand out one fork id twice, which nothing but p_forkid (a statistic here) sees",
    lastfail: "fork1's ppsratecheck state is a static of kern_fork.c updated with no lock (000:310-311, 397, 422): a lost update only lets one more or one fewer 'maxproc limit' message through",
    curfail: "as lastfail: the message rate limit's count, a static of kern_fork.c (000:310-311)",
    kprintf_last: "the model's record of the last console message (the kernel's console serialises its own output): forks printing at once leave either id",
  },
});

/**
 * struct procglob (proc.h 425-431, kern_proc.c 113-117): the process hash. A pid, pgid or sid
 * lives on chain ALLPROC_HASH(id), and that chain's proc_token ("allproc") guards its lists; no
 * lock covers two chains, so lookups, forks and exits on different chains run in parallel.
 * Zombies stay on allproc with p_stat SZOMB (proc_move_allproc_zombie, kern_proc.c 1126-1140):
 * there is no zombproc list. No allsess: sessions are made at boot only (model.ts).
 */
export const PROCGLOB = defineStruct("procglob", {
  proc_token: TOKEN,
  allproc: 1, // first proc of the chain (proc_token)
  allpgrp: 1, // first pgrp of the chain (proc_token)
}, {
  recheck: { allproc: "proc", allpgrp: "pgrp" },
  racy: {
    allproc: "allproc_scan and zombproc_scan skip an empty chain by a look without its token (kern_proc.c 1297, 1351, 1401): a process added meanwhile was not there when the scan began",
  },
});
/** kern_proc.c 62-65: the hash size and PGRP_HASH / SESS_HASH, which are the same function. */
export const ALLPROC_HSIZE = 256;
export const ALLPROC_HASH = (pid: number): number => pid & (ALLPROC_HSIZE - 1);

// ---- values (NOTES D) ----
export const SIDL = 1, SACTIVE = 2, SSTOP = 3, SZOMB = 4, SCORE = 5;
export const STAT_NAMES: Record<number, string> = { [SIDL]: "SIDL", [SACTIVE]: "SACTIVE", [SSTOP]: "SSTOP", [SZOMB]: "SZOMB", [SCORE]: "SCORE" };

export const P_ADVLOCK = 0x1, P_CONTROLT = 0x2, P_SWAPPEDOUT = 0x4, P_SYSVSEM = 0x8, P_PPWAIT = 0x10,
  P_PROFIL = 0x20, P_POSTEXIT = 0x40, P_SCMOUSE = 0x80, P_SUGID = 0x100, P_SYSTEM = 0x200,
  P_MAYBETHREADED = 0x400, P_TRACED = 0x800, P_WAITED = 0x1000, P_WEXIT = 0x2000, P_EXEC = 0x4000,
  P_CONTINUED = 0x8000, P_LOWMEMKILL = 0x10000, P_SWAPWAIT = 0x40000, P_IDLESWAP = 0x400000,
  P_JAILED = 0x1000000, P_SIGVTALRM = 0x2000000, P_SIGPROF = 0x4000000, P_INEXEC = 0x8000000,
  P_DIDCHROOT = 0x10000000, P_XCPU = 0x40000000;

export const LSRUN = 1, LSSTOP = 2, LSSLEEP = 3;
export const LWP_ALTSTACK = 0x1, LWP_OLDMASK = 0x2, LWP_SINTR = 0x8, LWP_SELECT = 0x10, LWP_PASSIVE_ACQ = 0x100, LWP_PAGING = 0x200;
export const LWP_MP_ONRUNQ = 0x1, LWP_MP_WEXIT = 0x2, LWP_MP_WSTOP = 0x4, LWP_MP_ULOAD = 0x8, LWP_MP_RRFORCE = 0x10, LWP_MP_VNLRU = 0x20;
export const SS_DISABLE = 0x4;

export const PS_NOCLDWAIT = 1, PS_NOCLDSTOP = 2, PS_CLDSIGIGN = 4;

export const REAPER_STAT_OWNED = 0x1, REAPER_STAT_REALINIT = 0x2;
export const PROC_REAP_ACQUIRE = 1, PROC_REAP_RELEASE = 2, PROC_REAP_STATUS = 3;

export const RFNAMEG = 1 << 0, RFENVG = 1 << 1, RFFDG = 1 << 2, RFNOTEG = 1 << 3, RFPROC = 1 << 4,
  RFMEM = 1 << 5, RFNOWAIT = 1 << 6, RFCNAMEG = 1 << 10, RFCENVG = 1 << 11, RFCFDG = 1 << 12,
  RFTHREAD = 1 << 13, RFSIGSHARE = 1 << 14, RFLINUXTHPN = 1 << 16, RFPGLOCK = 1 << 30, RFPPWAIT = 1 << 31;
export const RFKERNELONLY = RFPGLOCK | RFPPWAIT;
export const RF_FLAGS: Record<string, number> = {
  RFNAMEG, RFENVG, RFFDG, RFNOTEG, RFPROC, RFMEM, RFNOWAIT, RFCNAMEG, RFCENVG, RFCFDG, RFTHREAD,
  RFSIGSHARE, RFLINUXTHPN, RFPGLOCK, RFPPWAIT,
};

export const RLIMIT_NPROC = 7;
export const AFORK = 0x1;
export const NOTE_FORK = 0x40000000;
export const PID_MAX = 999999;
/** proc_makepid: on wrap, pids below 100 are not handed out again (kern_proc.c 1033-1039). */
export const PID_WRAP_TO = 100;

/** Signals (sys/signal.h). */
export const SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGABRT = 6, SIGKILL = 9, SIGTERM = 15, SIGSTOP = 17, SIGCONT = 19,
  SIGCHLD = 20, SIGURG = 16, SIGWINCH = 28, SIGINFO = 29, SIGUSR1 = 30, SIGUSR2 = 31;
export const NSIG = 32;
export const SIG_NAMES: Record<string, number> = {
  SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGKILL, SIGTERM, SIGSTOP, SIGCONT, SIGCHLD, SIGURG, SIGWINCH, SIGINFO, SIGUSR1, SIGUSR2,
};
export const sigmask = (sig: number): number => 1 << (sig - 1);
/** Signals whose default action is to ignore them (the rest terminate; stop signals are not modelled). */
export const SIG_DFL_IGNORE = sigmask(SIGCHLD) | sigmask(SIGURG) | sigmask(SIGWINCH) | sigmask(SIGINFO) | sigmask(SIGCONT);
export const SA_RESTART = 0x2, SA_NOCLDSTOP = 0x8, SA_NOCLDWAIT = 0x20;
export const SA_FLAGS: Record<string, number> = { SA_RESTART, SA_NOCLDSTOP, SA_NOCLDWAIT };

export const WNOHANG = 1, WUNTRACED = 2, WCONTINUED = 4, WLINUXCLONE = 0x80000000 | 0;
export const WAIT_ANY = -1;
export const W_EXITCODE = (ret: number, sig: number): number => (ret << 8) | sig;

/** Kernel messages (kprintf ids). */
export const KPRINTF_MAXPROC = 1, KPRINTF_NPROC = 2;

/** Built-in at_fork callouts (function ids); they log (id << 16 | child pid) in callout_log*. */
export const FORK_CALLOUTS: Record<string, number> = { A: 1, B: 2, C: 3 };
