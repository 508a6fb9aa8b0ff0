/*
 * DragonFly's own stress actions (rfork with every flag combination, procctl reapers) and the
 * registration of its user programs in every cpu. Loaded as a scenario module.
 */
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import type { KGen } from "../../src/sync/seam.js";
import { RF_FLAGS, RFCFDG, RFFDG, RFLINUXTHPN, RFNOWAIT, RFPGLOCK, RFPPWAIT, RFPROC, RFTHREAD } from "../../src/kern/dragonfly/structs.js";
import { dragonflyPs, dragonflyReach, reachActions, reachPrograms } from "./reach.js";
import { gone, reap, reapAll, registerUserPrograms, SIGUSR1, type User } from "./user.js";

/** Every user-settable RF* flag (RFPGLOCK/RFPPWAIT are kernel-only: rfork must refuse them). */
const USER_RF = Object.values(RF_FLAGS).filter((f) => f !== RFPGLOCK && f !== RFPPWAIT);

/** A random flag set: mostly valid forks, sometimes the invalid combinations or a no-RFPROC call. */
function rforkFlags(u: User): number {
  let flags = 0;
  for (const f of USER_RF) if (u.rng.below(3) === 0) flags |= f;
  switch (u.rng.below(10)) {
    case 0:
      return flags | RFFDG | RFCFDG; // EINVAL
    case 1:
      return flags | (u.rng.below(2) ? RFPGLOCK : RFPPWAIT); // RFKERNELONLY: EINVAL
    case 2:
      return flags & ~RFPROC & ~(RFFDG & RFCFDG); // no new process: divorce parts of this one
    default:
      return noPeerRace(noFdtolRace(noUnreapable((flags | RFPROC) & ~(flags & RFCFDG ? RFFDG : 0))));
  }
}

/**
 * RFNOWAIT|RFLINUXTHPN makes a child of the reaper that only a WLINUXCLONE wait can reap: a real
 * defect of the seed (docs/findings.md, "unreapable RFNOWAIT|RFLINUXTHPN zombies",
 * stress/scripts/dragonfly/findings/rfnowait-linuxthpn-zombie.json). Every run that drew it
 * would end with leftover zombies and the conservation audit would report nothing else, so
 * the workload leaves RFLINUXTHPN out when RFNOWAIT is drawn.
 */
function noUnreapable(flags: number): number {
  return flags & RFNOWAIT ? flags & ~RFLINUXTHPN : flags;
}

/**
 * A child that shares the fd table and is not waited for (RFNOWAIT, or a wait a signal cut
 * short) exits while its parent goes on forking: its fdfree then races the parent's unlocked fdtol ring change in fork1
 * (000:549-569), a real defect of the seed (docs/findings.md D3), seen after 98 s of a 10-minute
 * rfork-flags run. Such a child gets its own table; shared tables stay covered by the waited
 * children.
 */
function noFdtolRace(flags: number): number {
  return flags & RFNOWAIT && !(flags & (RFFDG | RFCFDG)) ? flags | RFFDG : flags;
}

/**
 * An RFTHREAD child that is not waited for (RFNOWAIT) exits while its parent forks on: its exit1
 * unlinks it from the peer chain holding only its own p_token while the parent's fork1 links the
 * next peer in under the parent's (kern_exit.c 381-387, 000:476-478), a real defect of the seed
 * (docs/findings.md D9): a lost update leaves the freed child on the chain or drops a live peer,
 * seen 64 s into a 10-minute rfork-flags run. Such a child is not a peer; waited-for RFTHREAD
 * children, reaped before the next rfork, keep the chain covered.
 */
function noPeerRace(flags: number): number {
  return flags & RFNOWAIT ? flags & ~RFTHREAD : flags;
}

/**
 * The RFTHREAD leader's exit wait (kern_exit.c 336-337, docs/findings.md D12): a forked leader
 * rforks RFTHREAD peer A, A rforks RFTHREAD peer B -- B's p_leader is the leader, its parent A --
 * and exits; the leader reaps A and exits, killing B, which then unlinks itself and wakes the
 * leader: the only wakeup the leader's "exit1" sleep gets. B pauses until that SIGKILL, so no two
 * peers unlink at once (D9 keeps that race out of the rfork workloads too).
 */
function* rforkPeers(u: User): KGen<boolean> {
  const r = yield* u.spawn("fork", {}, "peerleader", []);
  if (gone(r)) return false;
  return r.errno === 0 ? yield* reap(u, r.ret) : true;
}

function* rforkAction(u: User): KGen<boolean> {
  const flags = rforkFlags(u);
  const r = yield* u.spawn("rfork", { flags }, "exit", [0]);
  if (gone(r)) return false;
  // A waited-for child is reaped before the next rfork (the wait retried across signals): a
  // sharer exiting while its parent forks on is the seed's fdtol race (noFdtolRace above).
  // An RFLINUXTHPN child signals its parent with SIGUSR1, and only a WLINUXCLONE wait sees it.
  const options = flags & RFLINUXTHPN ? ["WLINUXCLONE"] : [];
  if (r.errno === 0 && flags & RFPROC && !(flags & RFNOWAIT) && !(yield* reap(u, r.ret, false, options))) return false;
  return true;
}

/**
 * A reaper daemon: acquire, let children orphan grandchildren to us, look, release, reap. One time
 * in three it nests instead: one child, a reaper itself, whose children orphan theirs at once, and
 * the daemon lets its own reaper go first -- so several exits under a dead reaper whose parent is
 * dead too meet in reaper_get's collapse of dead nodes (000:1151-1172). `nest` false: no nested
 * orphaner at all (noNestedReapers below).
 */
function* reaperChurn(u: User, nest = true): KGen<boolean> {
  if (gone(yield* u.call("procctl", { cmd: "REAP_ACQUIRE" }))) return false;
  if (u.rng.below(3) === 0) {
    if (gone(yield* u.spawn("fork", {}, "orphaner", [3, nest ? 1 : 0]))) return false;
    if (gone(yield* u.call("procctl", { cmd: "REAP_RELEASE" }))) return false;
    return yield* reapAll(u);
  }
  const kids = 1 + u.rng.below(3);
  for (let i = 0; i < kids; i++) if (gone(yield* u.spawn("fork", {}, "orphaner", [1 + u.rng.below(3), nest && u.rng.below(3) === 0 ? 1 : 0]))) return false;
  if (u.rng.below(2) && gone(yield* u.spawn("rfork", { flags: RFPROC | RFNOWAIT | RFFDG }, "linger", [2]))) return false;
  if (gone(yield* u.call("procctl", { cmd: "REAP_STATUS" }))) return false;
  const releaseEarly = u.rng.below(2) === 0;
  if (releaseEarly && gone(yield* u.call("procctl", { cmd: "REAP_RELEASE" }))) return false;
  if (!(yield* reapAll(u))) return false;
  if (!releaseEarly && gone(yield* u.call("procctl", { cmd: "REAP_RELEASE" }))) return false;
  return true;
}

/**
 * The reaper daemon without nested orphaners, for the mixed baseline. A nested orphaner is a
 * reaper that exits at once while its orphaner children exit with children of their own: a
 * child's exit1 that took it from reaper_get before its exit moves those children into it after
 * its exit loop, a real defect of the seed (docs/findings.md D8), met in most 30-s free-mode
 * mixed runs. reaper-churn keeps the nesting (the collapse of dead reaper nodes,
 * df.reaper-collapse-no-recheck, needs those exits), reaper-exit-race reaches D8 on purpose, and
 * the flat daemon still acquires, orphans to, releases and reaps.
 */
const noNestedReapers = (u: User): KGen<boolean> => reaperChurn(u, false);

/**
 * killpg racing fork, DragonFly's way. dokillpg walks the group's members holding nothing
 * (kern_sig.c 693-703): a member reaped while the walk stands on it is read after it was freed
 * (docs/findings.md D7), and with members forking children that exit at once and are reaped, every
 * run of the common action met it within seconds. So here nobody reaps a member while the group
 * can be walked: the killer becomes the reaper of its subtree, its leader makes the group, forks
 * the forkers and exits at once, and the forkers fork children that exit without waiting for
 * them; every zombie (leader, forkers, children, orphaned to the killer) waits for the killer,
 * which reaps them all after its last killpg. The signal is the caught SIGUSR1 (a SIGKILL killpg
 * kills members under its own walk). The group is made by the leader alone: a parent's setpgid of
 * a child that is forking is findings D4.
 */
function* pgsignalVsFork(u: User): KGen<boolean> {
  if (gone(yield* u.call("procctl", { cmd: "REAP_ACQUIRE" }))) return false;
  const leader = yield* u.spawn("fork", {}, "killpgleader", [2 + u.rng.below(3)]);
  if (gone(leader)) return false;
  if (leader.errno === 0) {
    for (let i = 0; i < 1 + u.rng.below(3); i++) {
      if (gone(yield* u.call("getpid"))) return false;
      if (gone(yield* u.call("killpg", { pgid: leader.ret, sig: SIGUSR1 }))) return false;
    }
  }
  if (!(yield* reapAll(u))) return false;
  return !gone(yield* u.call("procctl", { cmd: "REAP_RELEASE" }));
}

registerUserPrograms({
  model: dragonfly,
  extra: { rforkPeers, rforkFlags: rforkAction, reaperChurn, reaperChurnFlat: noNestedReapers, pgsignalVsFork, ...reachActions, ...dragonflyReach.extra, ...dragonflyPs.extra },
  extraPrograms: {
    ...reachPrograms,
    *peerleader(u) {
      const a = yield* u.spawn("rfork", { flags: RFPROC | RFTHREAD }, "peermid", []);
      if (gone(a)) return;
      if (a.errno === 0 && !(yield* reap(u, a.ret))) return;
      yield* u.call("exit", { status: 0 });
    },
    *peermid(u) {
      if (gone(yield* u.spawn("rfork", { flags: RFPROC | RFTHREAD }, "linger", [400]))) return;
      yield* u.call("exit", { status: 0 });
    },
    ...dragonflyReach.programs,
    ...dragonflyPs.programs,
    /** pgsignalVsFork's group: lead it, fork the forkers, exit without reaping them. */
    *killpgleader(u, [n]) {
      if (gone(yield* u.call("setpgid", { pid: 0, pgid: 0 }))) return;
      for (let i = 0; i < n; i++) if (gone(yield* u.spawn("fork", {}, "killpgforker", [2 + u.rng.below(3)]))) return;
      yield* u.call("exit", { status: 0 });
    },
    /** Fork children that exit at once, inside the signalled group, and leave them to the reaper. */
    *killpgforker(u, [n]) {
      for (let i = 0; i < n; i++) if (gone(yield* u.spawn("fork", {}, "exit", [0]))) return;
      yield* u.call("exit", { status: 0 });
    },
    /**
     * Forks n children and exits, orphaning them to its reaper. Nested, it is a reaper itself
     * first, and its children are orphaners too: they exit with children under a reaper that is
     * dead by then, whose parent may be dead as well -- reaper_get's collapse of dead nodes.
     */
    *orphaner(u, [n, nested]) {
      if (nested && gone(yield* u.call("procctl", { cmd: "REAP_ACQUIRE" }))) return;
      for (let i = 0; i < n; i++) {
        const r = nested ? yield* u.spawn("fork", {}, "orphaner", [1 + u.rng.below(2), 0]) : yield* u.spawn("fork", {}, "linger", [1 + u.rng.below(4)]);
        if (gone(r)) return;
      }
      yield* u.call("exit", { status: 0 });
    },
  },
});
