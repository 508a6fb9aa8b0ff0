/*
 * Reach (issue 16 item 3): workloads that drive each interlock concurrently the way the
 * historical reports did -- the fork-path races found in the kernels' own commit histories were
 * all about two threads in the same interlock at once:
 *  - a threaded parent waiting from several lwps while its children exit, and while it exits
 *    itself (kern_wait's p_pptr re-check, PHOLDZOMB, exit1's children loop);
 *  - setpgid joining a process group while its last member leaves (pgrp refcount resurrection
 *    through pgfind; enterpgrp/leavepgrp's re-check loops);
 *  - concurrent vforks from several lwps of one process (P_PPWAIT sleeps on one parent);
 *  - lwps created while others exit and while signals walk the lwp tree (LWPHOLD, killalllwps);
 *  - nested reapers collapsing while orphans are reparented, and proc_reparent racing exit
 *    (DragonFly: reaper_get's collapse, exit1 under a parent that ignores SIGCHLD);
 *  - NetBSD under proc_lock: shared file tables and cwd through __clone, two waiters on one
 *    zombie, children linked while the parent exits.
 * Each is an action a scenario's workers pick (stress/scenarios/reach.ts) plus the programs its
 * children and lwps run; both kernels' program modules merge them in.
 */
import { RFFDG, RFPROC } from "../../src/kern/dragonfly/structs.js";
import { CLONE_FILES, CLONE_FS, CLONE_VM } from "../../src/kern/netbsd/structs.js";
import { ESRCH } from "../../src/sync/errno.js";
import type { KGen } from "../../src/sync/seam.js";
import { gone, reap, reapAll, SIGCHLD, SIGKILL, SIGUSR1, type KernelActions, type User } from "./user.js";

type Extra = NonNullable<KernelActions["extra"]>;
type Programs = NonNullable<KernelActions["extraPrograms"]>;

/** Fork a child running `program`, then reap it (unless the fork failed). */
function* forkAndReap(u: User, program: string, args: number[]): KGen<boolean> {
  const r = yield* u.spawn("fork", {}, program, args);
  if (gone(r)) return false;
  return r.errno === 0 ? yield* reap(u, r.ret) : true;
}

/** Actions both kernels run. */
export const reachActions: Extra = {
  *waitExitThreaded(u) {
    return yield* forkAndReap(u, "threadedparent", [2 + u.rng.below(3), 1 + u.rng.below(3), u.rng.below(2)]);
  },

  /** Two children: the leader of a group that soon exits, and one that keeps joining that group. */
  *pgrpResurrect(u) {
    return yield* pgrpResurrect(u, true);
  },

  /**
   * The same, the children reaped by wait(-1) (DragonFly's mixed and reach): kern_wait for one pid
   * reads every other child's group, p_pgid, holding only the parent's token (kern_exit.c
   * 948-949), so the wait for the leader reads the joiner's group as the joiner's setpgid frees it
   * -- findings D11, which pgrp-resurrect reaches. WAIT_ANY reads no group; the leader's reap
   * still races the joiner's setpgid.
   */
  *pgrpResurrectWaitAny(u) {
    return yield* pgrpResurrect(u, false);
  },

  *vforkThreads(u) {
    return yield* forkAndReap(u, "vforkthreads", [1 + u.rng.below(3)]);
  },

  /** A process making and losing lwps, signalled meanwhile, and killed while it still does. */
  *lwpChurn(u) {
    const r = yield* u.spawn("fork", {}, "lwpchurner", [2 + u.rng.below(4)]);
    if (gone(r)) return false;
    if (r.errno !== 0) return true;
    for (let i = 0; i < 1 + u.rng.below(3); i++) if (gone(yield* u.call("kill", { pid: r.ret, sig: SIGUSR1 }))) return false;
    if (u.rng.below(2) && gone(yield* u.call("kill", { pid: r.ret, sig: SIGKILL }))) return false;
    return yield* reap(u, r.ret);
  },

  /** Three waiters -- two lwps and the main one -- on one child, which exits. */
  *waitTwo(u) {
    return yield* forkAndReap(u, "twowaiters", []);
  },

  /** A parent exiting while another of its lwps forks. */
  *forkVsExit(u) {
    return yield* forkAndReap(u, "forkexiter", [2 + u.rng.below(3)]);
  },

  /** `kill -0` polls: a family whose members test each other's existence while they fork, exec, exit and reap. */
  *killPoll(u) {
    return yield* forkAndReap(u, "pollfamily", [2 + u.rng.below(3), u.rng.below(2)]);
  },
};

/** The programs the reach actions' children and lwps run, both kernels. */
export const reachPrograms: Programs = {
  /** Children that exit soon, waiter lwps reaping them; then exit at once or after reaping. */
  *threadedparent(u, [kids, waiters, exitEarly]) {
    for (let i = 0; i < kids; i++) if (gone(yield* u.spawn("fork", {}, "linger", [u.rng.below(3)]))) return;
    for (let i = 0; i < waiters; i++) if (gone(yield* u.spawn("lwp_create", {}, "waiter"))) return;
    if (!exitEarly && !(yield* reapAll(u))) return;
    yield* u.call("exit", { status: 0 });
  },

  /** Lead a group of its own for a few calls, then exit: the group loses its last member. */
  *pgleader(u, [n]) {
    if (gone(yield* u.call("setpgid", { pid: 0, pgid: 0 }))) return;
    for (let i = 0; i < n; i++) if (gone(yield* u.call("getppid"))) return;
    yield* u.call("exit", { status: 0 });
  },

  /** Join the leader's group and leave it again (a group of its own), n times, racing its end. */
  *pgjoiner(u, [pgid, n]) {
    for (let i = 0; i < n; i++) {
      if (gone(yield* u.call("setpgid", { pid: 0, pgid }))) return;
      if (gone(yield* u.call("setpgid", { pid: 0, pgid: 0 }))) return;
    }
    yield* u.call("exit", { status: 0 });
  },

  /** n lwps each vforking, and the main lwp too; then exit (the lwps may still be in their vfork). */
  *vforkthreads(u, [n]) {
    for (let i = 0; i < n; i++) if (gone(yield* u.spawn("lwp_create", {}, "vforklwp", [u.rng.below(2)]))) return;
    const r = yield* u.spawn(vforkCall(u), {}, "vchild", [u.rng.below(2)]);
    if (gone(r)) return;
    if (r.errno === 0 && !(yield* reap(u, r.ret))) return;
    yield* u.call("exit", { status: 0 });
  },

  /** vfork a child that execs or exits; reap that child (by pid: other lwps reap theirs); lwp_exit. */
  *vforklwp(u, [execFirst]) {
    const r = yield* u.spawn(vforkCall(u), {}, "vchild", [execFirst]);
    if (gone(r)) return;
    if (r.errno === 0 && !(yield* reap(u, r.ret))) return;
    yield* u.call("lwp_exit");
  },

  /** A creator lwp and the main lwp both making lwps that exit on their own; then exit under them. */
  *lwpchurner(u, [n]) {
    if (gone(yield* u.spawn("lwp_create", {}, "lwpcreator", [n]))) return;
    for (let i = 0; i < n; i++) if (gone(yield* u.spawn("lwp_create", {}, u.rng.below(3) ? "lwp" : "siglwp", [1 + u.rng.below(2)]))) return;
    // DragonFly: a create whose copyout of the tid faults takes the new lwp out of the tree again,
    // after waiting for whoever LWPHOLDs it meanwhile (lwp_create1's fail path, 000:257-275).
    if (u.kernel === "dragonfly" && u.rng.below(2) && gone(yield* u.call("lwp_create", { fault: true }))) return;
    yield* u.call("exit", { status: 0 });
  },

  *lwpcreator(u, [n]) {
    for (let i = 0; i < n; i++) if (gone(yield* u.spawn("lwp_create", {}, "lwp", [u.rng.below(2)]))) return;
    yield* u.call("lwp_exit");
  },

  *twowaiters(u) {
    const child = yield* u.spawn("fork", {}, "linger", [u.rng.below(3)]);
    if (gone(child)) return;
    if (child.errno === 0) {
      for (let i = 0; i < 2; i++) if (gone(yield* u.spawn("lwp_create", {}, "pidwaiter", [child.ret]))) return;
      if (!(yield* reap(u, child.ret))) return;
    }
    yield* u.call("exit", { status: 0 });
  },

  /** Wait for one pid (ECHILD when another waiter reaped it first), then lwp_exit. */
  *pidwaiter(u, [pid]) {
    if (!(yield* reap(u, pid))) return;
    yield* u.call("lwp_exit");
  },

  /** One lwp forking children it never waits for, while the main lwp exits. */
  *forkexiter(u, [n]) {
    if (gone(yield* u.spawn("lwp_create", {}, "forkloop", [n]))) return;
    for (let i = 0; i < u.rng.below(3); i++) if (gone(yield* u.call("getpid"))) return;
    yield* u.call("exit", { status: 0 });
  },

  /**
   * kill(pid, 0) as a supervisor polls a child and a child its parent (a daemon's "is my parent
   * still there?"): a child polling this process while it forks again -- and after it exited,
   * once reparented -- and a poller lwp polling that child while the main lwp reaps it. DragonFly's pfind/zpfind PHOLD the target: holds
   * from another cpu on a process exiting or exec'ing (proc_move_allproc_zombie's and exec's
   * PSTALLs) and on a zombie being reaped (kern_wait's).
   */
  *pollfamily(u, [n, exitEarly]) {
    const child = yield* u.spawn("fork", {}, "pollparent", [n, u.rng.below(2)]);
    if (gone(child)) return;
    if (child.errno === 0 && gone(yield* u.spawn("lwp_create", {}, "pollchild", [child.ret, n]))) return;
    // A shell's loop of short commands, polled meanwhile by the first child.
    for (let i = 0; i < n; i++) {
      const r = yield* u.spawn(u.rng.below(3) ? "fork" : "vfork", {}, "vchild", [u.rng.below(2)]);
      if (gone(r)) return;
      if (r.errno === 0 && !(yield* reap(u, r.ret))) return;
    }
    // Exiting early orphans the polling child: its next getppid and kill see its new parent.
    if (!exitEarly && !(yield* reapAll(u))) return;
    yield* u.call("exit", { status: 0 });
  },

  /**
   * Poll the parent up to 3n times, exec'ing first or not, until it is reparented; then exit. (Not kill(-1, 0): DragonFly's
   * allproc_scan meets a child fork1 has put on allproc in SIDL before it sets p_ucred, which
   * CANSIGNAL reads -- 000:483 before 000:501, a seed race of its own; see issue-16-mutate.md.)
   */
  *pollparent(u, [n, execFirst]) {
    if (execFirst && gone(yield* u.call("exec"))) return;
    let parent = -1;
    for (let i = 0; i < 3 * n; i++) {
      const pp = yield* u.call("getppid");
      if (gone(pp) || gone(yield* u.call("kill", { pid: pp.ret, sig: 0 }))) return;
      if (parent >= 0 && pp.ret !== parent) break; // orphaned: the parent-death watch ends
      parent = pp.ret;
    }
    yield* u.call("exit", { status: 0 });
  },

  /** Poll pid until it is gone (ESRCH: reaped) or n + 4 times, then lwp_exit. */
  *pollchild(u, [pid, n]) {
    for (let i = 0; i < n + 4; i++) {
      const r = yield* u.call("kill", { pid, sig: 0 });
      if (gone(r)) return;
      if (r.errno === ESRCH) break;
    }
    yield* u.call("lwp_exit");
  },

  /** An lwp that changes dispositions while signals arrive and the other lwps take them, then lwp_exit. */
  *siglwp(u, [n]) {
    for (let i = 0; i < n; i++) {
      const [sig, handler] = u.pick([[SIGUSR1, "catch"], [SIGCHLD, "default"], [SIGCHLD, "ignore"]] as const);
      if (gone(yield* u.call("sigaction", { sig, handler }))) return;
    }
    yield* u.call("lwp_exit");
  },

  *forkloop(u, [n]) {
    for (let i = 0; i < n; i++) if (gone(yield* u.spawn("fork", {}, "linger", [u.rng.below(3)]))) return;
    yield* u.call("lwp_exit");
  },
};

/** pgrpResurrect: the leader and the joiner, reaped by pid (`byPid`) or by wait(-1). */
function* pgrpResurrect(u: User, byPid: boolean): KGen<boolean> {
  const leader = yield* u.spawn("fork", {}, "pgleader", [u.rng.below(3)]);
  if (gone(leader)) return false;
  if (leader.errno !== 0) return true;
  const joiner = yield* u.spawn("fork", {}, "pgjoiner", [leader.ret, 2 + u.rng.below(3)]);
  if (gone(joiner)) return false;
  // The parent moves the joiner into the leader's group too, racing the leader's exit (a shell's
  // job control does this for every process of a pipeline).
  if (joiner.errno === 0 && gone(yield* u.call("setpgid", { pid: joiner.ret, pgid: leader.ret }))) return false;
  if (!byPid) return yield* reapAll(u);
  if (!(yield* reap(u, leader.ret))) return false;
  return joiner.errno !== 0 || (yield* reap(u, joiner.ret));
}

const vforkCall = (u: User) => (u.kernel === "netbsd" && u.rng.below(2) ? "__vfork14" : "vfork");

/**
 * A reaper daemon under a nest of reapers: the nest's reapers exit while their orphans reparent,
 * then two lwps release the daemon's reaper at once. `race` lets a nested reaper exit while the
 * one above it exits too (findings D8: a child exiting under a reaper that is past its own exit
 * loop moves its children into it, and they are lost when it is freed); the baseline's nests
 * never do (nestreaper). Without `race` the daemon also reaps the orphans the nest left it before
 * it releases its reaper: a child of the top nest (which may ignore SIGCHLD) hands itself in exit1
 * to the reaper it finds, and were the daemon's released by then, that is init, while the daemon
 * already waits for the zombie the nest's exit moved to it -- findings D6 (kern_wait checks
 * p_pptr once), seen once in a 10-minute mixed run. With the reaper kept, the hand-over is to the
 * daemon, already the zombie's parent: proc_reparent leaves it there.
 * reaperCollapse's daemon is a process of its own (reapdaemon), made and reaped by the action:
 * nothing waits for the releasing lwp, which in the worker itself outlived the action and, once
 * the worker was a reaper again, released that reaper -- the next daemon's (D6 as above: in a
 * 2-minute reaper-collapse run 649 of about 950 daemons found their reaper gone once their nest
 * was reaped) or pgsignalVsFork's killer's in mixed (its group's orphans then go to init, which
 * reaps them under the killpg walk: findings D7). The daemon's exit takes the lwp with it.
 * `status` > 0: an lwp asks REAP_STATUS that many times meanwhile, from before the acquire.
 */
function* reaperNest(u: User, race: number, status = 0): KGen<boolean> {
  if (status && gone(yield* u.spawn("lwp_create", {}, "reapstatus", [status]))) return false;
  if (gone(yield* u.call("procctl", { cmd: "REAP_ACQUIRE" }))) return false;
  if (!(yield* forkAndReap(u, "nestreaper", [2 + u.rng.below(2), race, 0]))) return false;
  if (!race && !(yield* reapAll(u))) return false;
  // Two lwps of this process release the reaper at once: sys_procctl's release_again
  // re-check (000:962) after the lock wait; the loser gets ENOTCONN.
  if (gone(yield* u.spawn("lwp_create", {}, "reaprelease"))) return false;
  if (race && !(yield* reapAll(u))) return false;
  return !gone(yield* u.call("procctl", { cmd: "REAP_RELEASE" }));
}

/** DragonFly: nested reapers collapsing while their orphans are reparented, and proc_reparent racing exit. */
export const dragonflyReach: { extra: Extra; programs: Programs } = {
  extra: {
    *reaperCollapse(u) {
      return yield* forkAndReap(u, "reapdaemon", []);
    },
    /** reaperCollapse's daemon, with an lwp reading REAP_STATUS from before its acquire to after its release. */
    *reaperStatus(u) {
      return yield* forkAndReap(u, "statusdaemon", []);
    },
    /** The worker is the daemon: built to reach D8, it meets D6 however its lwps interleave (findings D6, D8). */
    *reaperExitRace(u) {
      return yield* reaperNest(u, 1);
    },
  },
  programs: {
    *reapdaemon(u) {
      if (yield* reaperNest(u, 0)) yield* u.call("exit", { status: 0 });
    },
    *statusdaemon(u) {
      if (yield* reaperNest(u, 0, 6 + u.rng.below(6))) yield* u.call("exit", { status: 0 });
    },
    /**
     * procctl(REAP_STATUS) n times -- the reaper's flags and refs and the first child's pid, read
     * under p_token shared (000:986-995) -- while the other lwps acquire, fork, reap and release; then lwp_exit.
     */
    *reapstatus(u, [n]) {
      for (let i = 0; i < n; i++) if (gone(yield* u.call("procctl", { cmd: "REAP_STATUS" }))) return;
      yield* u.call("lwp_exit");
    },
    *reaprelease(u) {
      if (gone(yield* u.call("procctl", { cmd: "REAP_RELEASE" }))) return;
      yield* u.call("lwp_exit");
    },
    /**
     * Become a reaper, maybe ignore SIGCHLD (then each exiting child reparents itself to the reaper
     * in exit1, racing this process's own exit), fork children and a deeper nest, and exit: the
     * reaper node dies while its orphans are being reparented through it.
     * Without `race` the nest stays clear of findings D8: a reaper outlives the nested reaper it
     * forked (waits for it), and only the top one ignores SIGCHLD -- a child that hands itself to
     * a reaper found before that reaper began to exit must not find it past its exit loop.
     */
    *nestreaper(u, [depth, race, nested]) {
      if (gone(yield* u.call("procctl", { cmd: "REAP_ACQUIRE" }))) return;
      const mayIgnore = race || !nested;
      if (mayIgnore && u.rng.below(2) && gone(yield* u.call("sigaction", { sig: SIGCHLD, handler: "ignore", flags: ["SA_NOCLDWAIT"] }))) return;
      for (let i = 0; i < 1 + u.rng.below(3); i++) if (gone(yield* u.spawn("fork", {}, "linger", [u.rng.below(3)]))) return;
      if (depth > 1) {
        const r = yield* u.spawn("fork", {}, "nestreaper", [depth - 1, race, 1]);
        if (gone(r)) return;
        if (!race && r.errno === 0 && !(yield* reap(u, r.ret))) return;
      }
      yield* u.call("exit", { status: 0 });
    },
  },
};

/**
 * DragonFly: ps against wait (sysctl kern.proc, kern_proc.c 1515-1640). A scan holds each process
 * it copies out -- zombies included -- and each of its lwps across a copyout that may sleep: the
 * long holder of a zombie a reaper must wait out (kern_wait's "zomblwp" loop, proc_remove_zombie's
 * PSTALLs, and a second waiter's failed PHOLDZOMB meanwhile), the one proc_move_allproc_zombie's
 * PSTALLs exist for, and the p_spin of pcredcache. The parent's waiter lwps reap each child as it
 * exits, while its main lwp is still in the fork, vfork or rfork that made it: sys_fork's PHOLD
 * of the child (000:136-141) is what keeps the pid it returns readable.
 */
export const dragonflyPs: { extra: Extra; programs: Programs } = {
  extra: {
    *psWait(u) {
      return yield* forkAndReap(u, "pswaitparent", [2 + u.rng.below(3), 1 + u.rng.below(2), u.rng.below(3) === 0 ? 1 : 0]);
    },
    *psSetuid(u) {
      return yield* forkAndReap(u, "pssetuidparent", [2 + u.rng.below(3)]);
    },
  },
  programs: {
    /** A ps lwp, then children made one way or another and reaped by waiter lwps; exit, early or once they are reaped. */
    *pswaitparent(u, [kids, waiters, exitEarly]) {
      const first = yield* u.spawn("fork", {}, "linger", [u.rng.below(3)]);
      if (gone(first)) return;
      for (let i = 0; i < 2; i++) if (gone(yield* u.spawn("lwp_create", {}, "pslwp", [3 * kids + 3, first.errno === 0 ? first.ret : 0]))) return;
      for (let i = 0; i < waiters; i++) if (gone(yield* u.spawn("lwp_create", {}, "waiter"))) return;
      for (let i = 0; i < kids; i++) {
        const how = u.rng.below(3);
        const r = how === 0 ? yield* u.spawn("fork", {}, "exit", [0]) : how === 1 ? yield* u.spawn("vfork", {}, "vchild", [u.rng.below(2)]) : yield* u.spawn("rfork", { flags: RFPROC | RFFDG }, "linger", [u.rng.below(2)]);
        if (gone(r)) return;
      }
      if (!exitEarly && !(yield* reapAll(u))) return;
      yield* u.call("exit", { status: 0 });
    },
    /**
     * A child changing its credential 2n times (setuid: root to a uid, then that uid again, each a
     * new credential replacing the old one) while two ps lwps scan it and a poller lwp kill -0s
     * it: pcredcache's crhold and CANSIGNAL's read of p_ucred against the replacement, and the
     * scans' LWPHOLD against a failing lwp_create.
     */
    *pssetuidparent(u, [n]) {
      const child = yield* u.spawn("fork", {}, "setuider", [1000 + u.rng.below(3), n]);
      if (gone(child)) return;
      if (child.errno === 0) {
        for (let i = 0; i < 2; i++) if (gone(yield* u.spawn("lwp_create", {}, "pslwp", [2 * n + 2, child.ret]))) return;
        if (gone(yield* u.spawn("lwp_create", {}, "pollchild", [child.ret, n]))) return;
        if (!(yield* reap(u, child.ret))) return;
      }
      yield* u.call("exit", { status: 0 });
    },
    /**
     * setuid 2n times; between two, an lwp_create whose copyout of the tid faults: the new lwp is
     * in the tree across that copyout's sleep, where a ps lwp may LWPHOLD it, and the fail path
     * waits for such holders before it takes the lwp out again (lwp_create1, 000:257-275).
     */
    *setuider(u, [uid, n]) {
      for (let i = 0; i < 2 * n; i++) {
        if (gone(yield* u.call("setuid", { uid }))) return;
        if (i % 2 && gone(yield* u.call("lwp_create", { fault: true }))) return;
      }
      yield* u.call("exit", { status: 0 });
    },
    /** ps n times: the whole table or `ps -p pid` (0: none), with every lwp or only the first; then lwp_exit. */
    *pslwp(u, [n, pid]) {
      for (let i = 0; i < n; i++) {
        const one = pid !== 0 && u.rng.below(3) === 0;
        if (gone(yield* u.call("sysctl_proc", { pid: one ? pid : 0, lwps: u.rng.below(2) === 1 }))) return;
      }
      yield* u.call("lwp_exit");
    },
  },
};

/**
 * NetBSD: __clone children sharing the file table and cwd, exiting while the parent clones on; lwps
 * forking while another changes a signal's disposition.
 */
export const netbsdReach: { extra: Extra; programs: Programs } = {
  extra: {
    /**
     * A threaded process forking from two lwps while a third changes SIGUSR1's disposition, and
     * SIGUSR1s arriving meanwhile: fork copies the parent's signal actions (sigactsinit, under its
     * lock) as sigaction writes them, and a post races sigaction's SIG_IGN flush of the pending set.
     * Half the time the main lwp then execs while the others still run (exec's exit_lwps).
     */
    *sigFork(u) {
      const r = yield* u.spawn("fork", {}, "sigforker", [2 + u.rng.below(3), u.rng.below(2)]);
      if (gone(r)) return false;
      if (r.errno !== 0) return true;
      for (let i = 0; i < 1 + u.rng.below(3); i++) if (gone(yield* u.call("kill", { pid: r.ret, sig: SIGUSR1 }))) return false;
      return yield* reap(u, r.ret);
    },

    *cloneShare(u) {
      return yield* forkAndReap(u, "cloner", [2 + u.rng.below(3)]);
    },
  },
  programs: {
    /**
     * SIGUSR1 caught first (the action's SIGUSR1s are caught or ignored, never fatal), then a
     * disposition-changing lwp and a forking lwp beside the main lwp's own forks; the children are
     * reaped by pid. Then exec (`execLast`: exit_lwps tells the other lwps to exit and waits for
     * them) or not, and exit.
     */
    *sigforker(u, [n, execLast]) {
      if (gone(yield* u.call("sigaction", { sig: SIGUSR1, handler: "catch" }))) return;
      if (gone(yield* u.spawn("lwp_create", {}, "usr1lwp", [n]))) return;
      if (gone(yield* u.spawn("lwp_create", {}, "forkreaper", [n]))) return;
      for (let i = 0; i < n; i++) if (!(yield* forkAndReap(u, "linger", [u.rng.below(2)]))) return;
      if (execLast && gone(yield* u.call("exec"))) return;
      yield* u.call("exit", { status: 0 });
    },

    /** SIGUSR1 caught or ignored, n times, then lwp_exit. */
    *usr1lwp(u, [n]) {
      for (let i = 0; i < n; i++) if (gone(yield* u.call("sigaction", { sig: SIGUSR1, handler: u.rng.below(2) ? "catch" : "ignore" }))) return;
      yield* u.call("lwp_exit");
    },

    /** Fork and reap n children, each by pid, then lwp_exit. */
    *forkreaper(u, [n]) {
      for (let i = 0; i < n; i++) if (!(yield* forkAndReap(u, "linger", [u.rng.below(2)]))) return;
      yield* u.call("lwp_exit");
    },

    *cloner(u, [n]) {
      for (let i = 0; i < n; i++) {
        const flags = CLONE_FILES | (u.rng.below(2) ? CLONE_FS : 0) | (u.rng.below(3) === 0 ? CLONE_VM : 0);
        if (gone(yield* u.spawn("clone", { flags, sig: SIGCHLD }, "linger", [u.rng.below(3)]))) return;
      }
      if (!(yield* reapAll(u))) return;
      yield* u.call("exit", { status: 0 });
    },
  },
};
