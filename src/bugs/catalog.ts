/*
 * The catalogue of injectable bugs: each a minimal wrong variant placed next to the right code in
 * a kernel model (read through bug() in switch.ts), the interlock it breaks, and the law or
 * detector expected to catch it. `forkstorm hunt` runs each and measures time to detection.
 */
import type { KernelName } from "../kern/kernel.js";

export interface BugEntry {
  readonly id: string;
  readonly kernel: KernelName;
  /** The interlock the wrong variant breaks. */
  readonly interlock: string;
  readonly description: string;
  /** Laws expected to catch it (any one counts). */
  readonly caughtBy: readonly string[];
  /** The scenario hunt runs it under. */
  readonly scenario: string;
}

export const CATALOG: readonly BugEntry[] = [
  ...DRAGONFLY_BUGS(),
  ...NETBSD_BUGS(),
];

/** DragonFly (kern_fork.c d9d67b59 and its other halves). */
function DRAGONFLY_BUGS(): BugEntry[] {
  const df = (id: string, interlock: string, scenario: string, caughtBy: string[], description: string): BugEntry => ({ id: `df.${id}`, kernel: "dragonfly", interlock, description, caughtBy, scenario });
  return [
    df("fork-children-no-ptoken", "p_token", "rfork-flags", ["token-not-held", "proc-list", "use-after-free"],
      "fork1 with RFNOWAIT links the child into the reaper's p_children without the reaper's p_token (000:632-634)"),
    df("wait-pholdzomb-no-recheck", "p_token", "wait-race", ["use-after-free", "double-free", "phold-underflow", "proc-list", "null-deref"],
      "kern_wait ignores PHOLDZOMB's failure: it slept while another waiter held the zombie, which may be reaped and freed"),
    df("fork-no-pglock", "pg_lock", "pgsignal-vs-fork", ["pgsignal-missed-by-fork", "data-race", "stale-pointer"],
      "fork1 skips the RFPGLOCK interlock (pg_lock SHARED + CURSIG_NOBLOCK): a killpg can complete before the child joins the group"),
    df("fork-no-cursig-recheck", "pg_lock", "pgsignal-vs-fork", ["pgsignal-missed-by-fork"],
      "fork1 takes pg_lock SHARED but drops the CURSIG_NOBLOCK re-check: a killpg delivered just before is not seen (000:382-385)"),
    df("reaper-exit-no-hold", "reap->lock", "reaper-churn", ["refcount-underflow", "use-after-free", "refcount-acquire-from-zero", "reaper-refs", "reaper-free-owned", "double-free"],
      "reaper_exit hands p_reaper to the parent reaper under reap->lock without reaper_hold: exit1's reaper_drop then drops a reference it never took"),
    df("ppwait-no-interlock", "P_PPWAIT", "vfork-exec", ["lost-wakeup", "vfork-lost-wakeup", "watchdog-hang"],
      "start_forked_proc tests P_PPWAIT and then tsleeps without tsleep_interlock: the child's clear + wakeup can fall in between"),
    df("fork-sigshare-no-ref", "sigacts refcount", "rfork-flags", ["freed-while-named", "refcount-underflow", "use-after-free", "double-free", "refcount-acquire-from-zero"],
      "fork1 with RFSIGSHARE shares p1's sigacts without refcount_acquire (000:513-516): the last exit frees it under the other sharer"),
    df("exec-ppwait-no-wakeup", "P_PPWAIT", "vfork-exec", ["lost-wakeup", "vfork-lost-wakeup", "watchdog-hang"],
      "exec clears P_PPWAIT without wakeup(p->p_pptr): the vfork parent sleeps forever (and the child's exit PSTALLs on its PHOLD)"),
    df("exit-ppwait-no-wakeup", "P_PPWAIT", "vfork-exec", ["lost-wakeup", "vfork-lost-wakeup", "watchdog-hang"],
      "exit1 clears P_PPWAIT without wakeup(p->p_pptr): the vfork parent never wakes, and the child's zombie move PSTALLs on its PHOLD"),
    df("exit-ppwait-after-zombie", "P_PPWAIT", "vfork-exec", ["vfork-lost-wakeup", "watchdog-hang"],
      "exit1 handles P_PPWAIT after proc_move_allproc_zombie: the move PSTALLs on the vforker's PHOLD, which waits for P_PPWAIT (NOTES B1)"),
    df("nprocs-after-block", "atomic nprocs", "maxproc-pressure", ["nprocs-undercount", "maxproc-overshoot", "nprocs", "conservation"],
      "fork1 counts nprocs after proc_add_allproc (which may block on proc_token) instead of before blocking can occur (000:405-409), leaving the RLIMIT_NPROC undo unbalanced"),
    df("lwp-tid-no-ptoken", "p_token", "lwp-storm", ["lwp-tree", "use-after-free", "lwp-count", "conservation", "data-race", "non-atomic-update"],
      "lwp_create1 picks the tid and inserts into p_lwp_tree without p_token (000:232), racing exiting lwps"),
    // Issue 16: the variants once dropped because nothing caught them, each a re-check the kernel makes.
    df("exit-reparent-no-recheck", "p_token re-check", "reaper-churn", ["stale-pointer", "proc-list", "token-not-held", "parent-child", "use-after-free"],
      "exit1's reparent loop as before DragonFly 0730ed66: it reads the successor before taking each child's p_token (which may block, dropping p's) and follows it with no PHOLD and no re-check that it is still p's child"),
    df("wait-no-pptr-recheck", "p_token re-check", "wait-race-ignored", ["token-not-held", "proc-list", "parent-child", "stale-pointer"],
      "kern_wait reaps the zombie after PHOLDZOMB and its p_token without re-checking p_pptr == q: the child may have been reparented while the waiter blocked"),
    df("reaper-collapse-no-recheck", "reap->lock re-check", "reaper-churn", ["missed-recheck", "reaper-none", "refcount-underflow", "use-after-free", "reaper-refs", "double-free", "refcount-acquire-from-zero", "reaper-topology"],
      "reaper_get collapses a dead reaper node after letting reap->lock go and taking it exclusively, without re-checking refs == 2, parent == next and p == NULL (000:1151-1172): two collapses drop the node twice"),
    df("ppwait-no-cmpset", "P_PPWAIT", "vfork-exec", ["vfork-lost-wakeup", "watchdog-hang"],
      "start_forked_proc interlocks, then sleeps on a P_PPWAIT test made before the interlock, without the atomic_cmpset_int re-check (000:924-929): a clear and wakeup in between is lost"),
    df("nprocs-nonatomic", "atomic nprocs", "maxproc-pressure", ["plain-count-write", "data-race", "non-atomic-update", "nprocs-undercount", "nprocs", "uid-proccnt", "conservation"],
      "fork1 counts nprocs, and chgproccnt ui_proccnt, with plain read-modify-writes instead of atomic_add_int (000:405-409, kern_resource.c): concurrent forks and exits lose counts"),
    df("pid-before-token", "procglob.proc_token", "fork-exit-wait-randompid", ["pid-duplicate", "data-race", "use-after-free", "stale-pointer", "proc-list"],
      "proc_makepid searches its chain for a free pid before it takes the chain's proc_token (000:483, kern_proc.c 1069-1113), and the take may block: a fork or reap on the same chain meanwhile changes it under the search. Forks share a chain only when their bases are 256 apart or equal (the fork after a wrap draws its predecessor's): with sequential pids that is one window a run, so it runs with kern.randompid 100 (fork-exit-wait-randompid), where two forks in flight draw one base about one pair in 100"),
  ];
}

/** NetBSD (kern_fork.c 1.209 and its other halves in src/kern/netbsd). */
function NETBSD_BUGS(): BugEntry[] {
  const nb = (id: string, interlock: string, scenario: string, caughtBy: string[], description: string): BugEntry => ({ id: `nb.${id}`, kernel: "netbsd", interlock, description, caughtBy, scenario });
  return [
    nb("allproc-unlocked", "proc_lock", "fork-exit-wait", ["allproc-list", "proc-lists", "nprocs", "use-after-free", "conservation", "data-race", "non-atomic-update"],
      "fork1 links the child into allproc after dropping proc_lock (001:498 moved past 001:569): concurrent LIST_INSERT_HEADs and exits lose entries"),
    nb("exit-ppwait-unlocked", "proc_lock", "vfork-exec", ["proc-lock-not-held", "ppwait"],
      "exit1 clears the child's PL_PPWAIT and broadcasts p_waitcv before taking proc_lock: p_lflag changes outside its lock, the vfork parent's test-and-sleep is not interlocked"),
    nb("ppwait-wrong-cv", "p_waitcv", "vfork-exec", ["watchdog-hang"],
      "fork1's vfork wait sleeps on the child's p_waitcv instead of the parent's (001:592): exec and exit broadcast the parent's, the vfork parent never wakes"),
    nb("nprocs-nonatomic", "atomic nprocs", "maxproc-pressure", ["plain-count-write", "nprocs-drift", "nprocs", "maxproc", "data-race", "non-atomic-update"],
      "fork1 counts nprocs with a plain read at the limit check and a write-back after chgproccnt, instead of atomic_inc_uint_nv (001:227): forks counted in between are lost"),
    nb("maxproc-no-undo", "nprocs undo", "maxproc-pressure", ["nprocs-drift", "nprocs"],
      "fork1's maxproc failure path forgets atomic_dec_uint(&nprocs) (001:239-247): every refused fork leaks a count until all forks fail"),
    nb("nproc-no-undo", "ui_proccnt undo", "maxproc-pressure", ["uid-proccnt-leak", "uid-proccnt"],
      "fork1's RLIMIT_NPROC failure path forgets chgproccnt(uid, -1) (001:252-256): the uid's count leaks upward on every refused fork"),
    nb("sharesigs-no-hold", "p_lock sharing", "clone-flags", ["use-after-free", "refcount-underflow", "kmutexobj-refs", "double-free"],
      "FORK_SHARESIGS shares p1's p_lock without mutex_obj_hold (001:332-333): the first of the two processes reaped frees the mutex under the other"),
  ];
}
