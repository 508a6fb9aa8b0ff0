/*
 * Reach scenarios (issue 16 item 3; workloads in stress/programs/reach.ts): each drives one of the
 * interlocks the historical fork-path reports were about, concurrently, so that a hunt reaches it
 * with two cpus inside at once; "reach" runs them all together.
 */
import { MIX } from "../programs/mixes.js";
import { D6, D8, ROOMY, scenario } from "./make.js";
import type { Scenario } from "./types.js";

export const REACH_SCENARIOS: readonly Scenario[] = [
  scenario("dragonfly", "wait-exit-threaded", "a threaded parent waiting from several lwps while its children exit, and while it exits itself", MIX.waitExitThreaded, 6),
  scenario("dragonfly", "pgrp-resurrect", "setpgid joining a process group while its last member leaves (pgfind against the last pgrel); the parent's wait for the leader reads the joiner's group (can meet the seed's defect D11, docs/findings.md)", MIX.pgrpResurrect, 6),
  scenario("dragonfly", "vfork-threads", "concurrent vforks from several lwps of one process, which may exit meanwhile", MIX.vforkThreads, 6),
  scenario("dragonfly", "lwp-churn", "lwps created while others exit, signals walking the lwp tree (LWPHOLD), the process killed under them", MIX.lwpChurn, 6),
  // The orphans' getppid (dfly_syscall's p_pptr read under p_token shared) meets the exits that reparent them.
  scenario("dragonfly", "reaper-collapse", "nested reapers exiting while their orphans are reparented; children reparenting themselves (SIGCHLD ignored) racing exit", MIX.reaperCollapse, 6, ROOMY, ["dfly_syscall:lwkt_gettoken_shared#1"]),
  { ...scenario("dragonfly", "reaper-exit-race", "nested reapers exiting at once: a child exiting under a reaper past its exit loop moves its children into it (reaches the seed's defect D8, and D6 through nests ignoring SIGCHLD, docs/findings.md)", MIX.reaperExitRace, 6), seedDefects: [D8, D6] },
  scenario("dragonfly", "wait-two", "two waiter lwps and the main one waiting for one child as it becomes a zombie: a waiter's PHOLDZOMB held inside the reaper's PSTALL windows", MIX.waitTwo, 6),
  scenario("dragonfly", "kill-poll", "kill(pid, 0) polls holding processes (pfind, zpfind: PHOLD) while they fork, exec, exit and are reaped: holders inside sys_fork's own hold and every PSTALL window", MIX.killPoll, 6),
  // fork1:lwkt_gettoken#2: the scans read a new child under its p_token, shared, once it is on allproc
  // (000:483), while fork1 still fills it in under that token (000:468).
  scenario("dragonfly", "ps-wait", "ps (sysctl kern.proc: PHOLD, p_token shared, LWPHOLD, a copyout that sleeps) scanning zombies and live processes while threaded parents fork, vfork and rfork children their waiter lwps reap, and sometimes exit under them: holders inside every reap PSTALL, kern_wait's zomblwp wait and sys_fork's hold on its child", MIX.psWait, 6, ROOMY, ["sys_fork", "sys_vfork", "sys_rfork", "sysctl_kern_proc", "sysctl_out_proc", "kern_wait", "proc_remove_zombie", "proc_move_allproc_zombie", "fork1:lwkt_gettoken#2"]),
  scenario("dragonfly", "reaper-status", "reaper-collapse's daemon with an lwp reading procctl(REAP_STATUS) -- p_reaper, the reaper's refs, p_children, under p_token shared -- while its other lwps acquire, its nest exits into it and two lwps release it", MIX.reaperStatus, 6, ROOMY, ["sys_procctl"]),
  scenario("dragonfly", "ps-setuid", "a process replacing its credential (setuid) while ps scans it (pcredcache: p_spin) and a poller kill -0s it (CANSIGNAL under its p_token); between two setuids an lwp_create that faults, its lwp LWPHOLD'd by the scans meanwhile", MIX.psSetuid, 6, ROOMY, ["sys_setuid", "pcredcache", "lwp_create1"]),
  scenario("dragonfly", "reach", "every reach workload at once: wait, pgrp, vfork, lwp, reaper and fork-vs-exit races", MIX.dragonflyReach, 8),
  scenario("netbsd", "wait-exit-threaded", "a threaded parent waiting from several lwps while its children exit, and while it exits itself", MIX.waitExitThreaded, 6),
  scenario("netbsd", "pgrp-resurrect", "setpgid joining a process group while its last member leaves, under proc_lock", MIX.pgrpResurrect, 6),
  scenario("netbsd", "vfork-threads", "concurrent vforks and __vfork14s from several lwps of one process, which may exit meanwhile", MIX.vforkThreads, 6),
  scenario("netbsd", "lwp-churn", "lwps created while others exit, signals delivered meanwhile, the process killed under them", MIX.lwpChurn, 6),
  scenario("netbsd", "clone-share", "__clone children sharing the file table and cwd (CLONE_FILES, CLONE_FS) exiting while the parent clones on", MIX.cloneShare, 6),
  scenario("netbsd", "wait-two", "two waiter lwps and the main one waiting for one child as it becomes a zombie", MIX.waitTwo, 6),
  scenario("netbsd", "fork-vs-exit", "children linked by one lwp's fork while the parent exits", MIX.forkVsExit, 6),
  scenario("netbsd", "kill-poll", "kill(pid, 0) polls of a forking parent and of a child being reaped, under proc_lock", MIX.killPoll, 6),
  scenario("netbsd", "sig-fork", "lwps forking (sigactsinit's copy of the signal actions under sa_mutex) while another lwp catches and ignores SIGUSR1 and SIGUSR1s arrive", MIX.sigFork, 6, ROOMY, ["sigactsinit", "sys_sigaction"]),
  scenario("netbsd", "reach", "every reach workload at once under the one proc_lock", MIX.netbsdReach, 8),
];
