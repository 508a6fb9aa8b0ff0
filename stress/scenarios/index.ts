/*
 * Every scenario, by kernel and name (`forkstorm list` prints them). A scenario is a workload mix
 * run by a population of worker processes that init keeps replacing, under the scenario's limits.
 */
import { UsageError, type KernelName } from "../../src/kern/kernel.js";
import { MIX, mixIndex } from "../programs/mixes.js";
import { AT_THE_EDGE, D6, D8, D9, D12, holdLimits, ROOMY, scenario } from "./make.js";
import { REACH_SCENARIOS } from "./reach.js";
import type { Scenario } from "./types.js";

/**
 * will-it-scale's fork test: one shell per cpu that forks and reaps for the whole run, each
 * child starting and exiting on its shell's cpu. Only the kernel's shared state crosses cpus.
 */
function affine(kernel: KernelName): Scenario {
  const description = "will-it-scale style: one persistent shell per cpu forking children that exit at once, each child on its shell's cpu";
  return { ...scenario(kernel, "fork-exit-wait-affine", description, MIX.forkExitWait, 0), initArgs: [0, mixIndex(MIX.forkExitWait), 1], placement: "affine" };
}

/**
 * Fork rate against a full process table: `population` processes held asleep (100 unless
 * --population says), then one fork-exit-wait shell pinned on each cpu, its children spread
 * (issue 11: 60,000 held keep >= 0.8 of the rate at 100).
 */
function forkHold(kernel: KernelName): Scenario {
  const description = "--population processes (default 100) held asleep, then a fork-exit-wait shell on each cpu: fork rate against a full process table";
  const held = 100;
  const limitsFor = (population: number) => holdLimits(kernel, population);
  return { ...scenario(kernel, "fork-hold", description, MIX.forkExitWait, held, limitsFor(held)), limitsFor, init: `${kernel}.holdinit`, initArgs: [held, mixIndex(MIX.forkExitWait)], placement: "spread-shells" };
}

export const SCENARIOS: readonly Scenario[] = [
  scenario("dragonfly", "fork-exit-wait", "shells forking children that exit at once, and reaping them", MIX.forkExitWait, 8),
  affine("dragonfly"),
  scenario("dragonfly", "fork-exit-wait-randompid", "32 fork-exit-wait shells with kern.randompid 100 (the least the sysctl takes): pid bases drawn at random, so forks and reaps in flight meet on one allproc chain (about one pair in 100)", MIX.forkExitWait, 32, { ...ROOMY, randompid: 100 }),
  scenario("dragonfly", "vfork-exec", "vfork parents asleep on P_PPWAIT until the child execs or exits", MIX.vforkExec, 8),
  // RFNOWAIT gives the child to the reaper, and fork1 links it there under the reaper's p_token
  // (000:618-631): the one fork whose new parent is not the forker, whose token fork1 already holds.
  scenario("dragonfly", "rfork-flags", "rfork with every flag combination, valid and invalid, with and without RFPROC", MIX.rforkFlags, 8, ROOMY, ["fork1:lwkt_gettoken#4"]),
  scenario("dragonfly", "lwp-storm", "threaded processes creating lwps that exit on their own, and exiting under them", MIX.lwpStorm, 6),
  { ...scenario("dragonfly", "reaper-churn", "nested procctl reapers acquiring, releasing and exiting; orphans reparenting; RFNOWAIT (nested reapers exiting reach the seed's defect D8, docs/findings.md)", MIX.reaperChurn, 6), seedDefects: [D8] },
  scenario("dragonfly", "pgsignal-vs-fork", "killpg racing forks inside the signalled group (pg_lock interlock, ERESTART)", MIX.pgsignalVsFork, 6),
  scenario("dragonfly", "maxproc-pressure", "forks at maxproc and RLIMIT_NPROC: EAGAIN paths, root's last ten slots", MIX.maxprocPressure, 8, { maxproc: 40, nproc: 12, tables: { thread: 512 } }),
  scenario("dragonfly", "wait-race", "several lwps of one process waiting at once while its children exit", MIX.waitRace, 6),
  { ...scenario("dragonfly", "wait-race-ignored", "wait-race with SIGCHLD ignored: exiting children hand themselves to the reaper while being reaped (reaches the seed's defect D6, docs/findings.md)", MIX.waitRaceIgnored, 6), seedDefects: [D6] },
  scenario("dragonfly", "mixed", "everything at once: every syscall, every interlock, near maxproc", MIX.dragonflyMixed, 8, AT_THE_EDGE),
  forkHold("dragonfly"),
  { ...scenario("dragonfly", "rfork-peers", "an RFTHREAD task leader exiting while its grandchild peer exits: the leader's un-interlocked wait for its peer chain (reaches the seed's defect D12, and D9 when the drain ends a peer, docs/findings.md)", MIX.rforkPeers, 6), seedDefects: [D12, D9] },
  scenario("netbsd", "fork-exit-wait", "shells forking children that exit at once, and reaping them", MIX.forkExitWait, 8),
  affine("netbsd"),
  scenario("netbsd", "vfork-exec", "vfork and __vfork14 parents in cv_wait on p_waitcv until the child execs or exits", MIX.vforkExec, 8),
  scenario("netbsd", "clone-flags", "__clone with every flag combination, valid and invalid", MIX.cloneFlags, 8),
  scenario("netbsd", "pgsignal-vs-fork", "killpg racing forks inside the signalled group", MIX.pgsignalVsFork, 6),
  scenario("netbsd", "maxproc-pressure", "forks at maxproc and RLIMIT_NPROC: EAGAIN paths, root's bypass", MIX.maxprocPressure, 8, { maxproc: 40, nproc: 12, tables: { thread: 512 } }),
  scenario("netbsd", "traced-forks", "forks and vforks of traced processes: PTRACE_VFORK_DONE stops, SIGTRAP (PTRACE_FORK: findings N3, PTRACE_VFORK: N1)", MIX.tracedFork, 6),
  scenario("netbsd", "traced-threads", "traced-forks with tracees forking from several lwps: a stop stops and wakes the other lwps (proc_stop, lwp_stopwait) while the debugger continues them (proc_unstop)", MIX.tracedThreads, 6, ROOMY, ["proc_stop", "lwp_stopwait", "proc_unstop"]),
  scenario("netbsd", "mixed", "everything at once under the one proc_lock, near maxproc", MIX.netbsdMixed, 8, AT_THE_EDGE),
  forkHold("netbsd"),
  ...REACH_SCENARIOS,
];

export function findScenario(kernel: KernelName, name: string): Scenario {
  const s = SCENARIOS.find((x) => x.kernel === kernel && x.name === name);
  if (!s) {
    const names = SCENARIOS.filter((x) => x.kernel === kernel).map((x) => x.name);
    throw new UsageError(`no scenario "${name}" for ${kernel}${names.length ? ` (${names.join(", ")})` : ""}`);
  }
  return s;
}
