/*
 * Scenario workloads: the weight of each worker action. Workers receive a mix by its index in
 * MIXES, so the list is shared by the scenarios (orchestrator) and the programs (every cpu).
 */
export type Mix = Readonly<Record<string, number>>;

export const MIX = {
  forkExitWait: { forkExitWait: 1 },
  vforkExec: { vforkExec: 3, forkExitWait: 1 },
  rforkFlags: { rforkFlags: 1 },
  lwpStorm: { lwpStorm: 3, forkExitWait: 1 },
  reaperChurn: { reaperChurn: 3, forkExitWait: 1 },
  pgsignalVsFork: { pgsignalVsFork: 1 },
  maxprocPressure: { maxprocBurst: 3, setuidFork: 1 },
  waitRace: { waitRace: 1 },
  waitRaceIgnored: { waitRaceIgnored: 1 },
  cloneFlags: { cloneFlags: 3, forkExitWait: 1 },
  tracedFork: { tracedFork: 2, vforkExec: 1 },
  // Every hunt's baseline: the reach actions (reach.ts) too, so every hunt drives them concurrently.
  // reaperChurnFlat: the reaper daemon without nested orphaners, which meet findings D8.
  // pgrpResurrectWaitAny: a wait for one pid reads the other children's groups (findings D11).
  // No waitRace: its waiter lwps outlive it in the worker and reap the next action's children --
  // pgsignalVsFork's group under its killpg walk, findings D7 (a 30-minute soak met it; in a 2-minute
  // run a killer's leader was reaped by another lwp once). waitExitThreaded waits from several
  // lwps in a process of its own.
  dragonflyMixed: {
    forkExitWait: 2, vforkExec: 2, rforkFlags: 2, lwpStorm: 2, reaperChurnFlat: 2, pgsignalVsFork: 1, maxprocBurst: 1, setuidFork: 1,
    waitExitThreaded: 1, pgrpResurrectWaitAny: 1, vforkThreads: 1, lwpChurn: 1, reaperCollapse: 1, waitTwo: 1, forkVsExit: 1, killPoll: 1,
  },
  // No waitRace: its waiter lwps outlive it and reap the next vfork's child under the parent's
  // feet, the seed's own use-after-free at 001:592 (docs/findings.md, NetBSD).
  // The reach actions' waiters wait for their own children by pid or in processes that vfork none.
  netbsdMixed: {
    forkExitWait: 2, vforkExec: 2, cloneFlags: 2, lwpStorm: 1, pgsignalVsFork: 1, maxprocBurst: 1, setuidFork: 1, tracedFork: 1,
    waitExitThreaded: 1, pgrpResurrect: 1, vforkThreads: 1, lwpChurn: 1, cloneShare: 1, waitTwo: 1, forkVsExit: 1, killPoll: 1,
  },
  // Reach (stress/programs/reach.ts): one interlock of the historical reports each.
  waitExitThreaded: { waitExitThreaded: 1 },
  rforkPeers: { rforkPeers: 1 },
  pgrpResurrect: { pgrpResurrect: 1 },
  vforkThreads: { vforkThreads: 1 },
  lwpChurn: { lwpChurn: 1 },
  reaperCollapse: { reaperCollapse: 3, waitExitThreaded: 1 },
  // Nested reapers exiting at once: reaches findings D8, which no other mix does.
  reaperExitRace: { reaperExitRace: 1 },
  cloneShare: { cloneShare: 1 },
  waitTwo: { waitTwo: 1 },
  forkVsExit: { forkVsExit: 1 },
  killPoll: { killPoll: 3, forkExitWait: 1 },
  // pgrpResurrectWaitAny: as in dragonflyMixed (findings D11 is pgrp-resurrect's).
  dragonflyReach: { waitExitThreaded: 1, pgrpResurrectWaitAny: 1, vforkThreads: 1, lwpChurn: 1, reaperCollapse: 1, waitTwo: 1, forkVsExit: 1, killPoll: 1 },
  netbsdReach: { waitExitThreaded: 1, pgrpResurrect: 1, vforkThreads: 1, lwpChurn: 1, cloneShare: 1, waitTwo: 1, forkVsExit: 1, killPoll: 1 },
  // DragonFly: sysctl kern.proc scans holding processes and zombies while threaded parents fork and reap.
  psWait: { psWait: 1 },
  // NetBSD: traced processes forking from several lwps (proc_stop / lwp_stopwait / proc_unstop).
  tracedThreads: { tracedThreads: 2, vforkExec: 1 },
  // Both kernels: lwps forking while another changes a signal's disposition and signals arrive.
  sigFork: { sigFork: 1 },
  // DragonFly: a reaper daemon's procctl(REAP_STATUS) beside its acquire, its nest's exits and its release.
  reaperStatus: { reaperStatus: 1 },
  // DragonFly: a credential replaced (setuid) while ps scans and kill -0 polls read it.
  psSetuid: { psSetuid: 1 },
} as const satisfies Record<string, Mix>;

export const MIXES: readonly Mix[] = Object.values(MIX);

export function mixIndex(m: Mix): number {
  return MIXES.indexOf(m);
}
