/*
 * Session 3's laws (issue 16 gap classes G4, G1, G2): the hold-count laws at a drain
 * (proc-held, lwp-held), the leave-too-early laws (vfork-left-early, stopped-lwp-runs,
 * exit-not-alone) and the
 * predicate-aware sleep laws (vfork-lost-wakeup, wait-lost-wakeup; src/invariants/sleepers.ts).
 * Session 8's, checked the moment the state breaks: lost-wakeup (G1, at each wakeup: a thread
 * committed to an un-interlocked sleep, not yet queued, whose condition holds; session 9: an owed
 * wakeup its thread goes on without, while a sleeper on that channel waits for a condition that holds) and
 * freed-while-named (G4, at the free of a vmspace, sigacts or pargs a process still names).
 * Each silent on a real state and firing on the same state corrupted by hand; in runs, each fires
 * on a mutant that breaks it and stays silent on the clean kernel's same run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dragonflyFreedUnnamed, dragonflyLastThread, dragonflyLwpDrained, dragonflyProcDrained, netbsdStopWaited, vforkWaited } from "../../src/invariants/inline.js";
import { dragonflyLostWakeup, dragonflySleepLaws, dragonflyUnpaidWakeup, netbsdSleepLaws } from "../../src/invariants/sleepers.js";
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import { netbsd } from "../../src/kern/netbsd/model.js";
import { G, lwpV, procV } from "../../src/kern/dragonfly/globals.js";
import { lwpsOf, procByPid } from "../../src/kern/dragonfly/walk.js";
import { CALL_NAMES as DF_CALLS } from "../../src/kern/dragonfly/calls.js";
import { CALL_NAMES as NB_CALLS } from "../../src/kern/netbsd/calls.js";
import { P_PPWAIT, P_WEXIT, SZOMB as DF_SZOMB } from "../../src/kern/dragonfly/structs.js";
import { LWP as NB_LWP, PL_PPWAIT, SSTOP as NB_SSTOP, SZOMB as NB_SZOMB } from "../../src/kern/netbsd/structs.js";
import { allproc, globals, lwpsOf as nbLwpsOf, procView } from "../../src/kern/netbsd/walk.js";
import { TDF_COMMITTED, TDF_DESCHED, TDF_OWEWAKE, THREAD, wmesgId } from "../../src/shm/core.js";
import { installViolationSink, type ViolationInfo } from "../../src/shm/hooks.js";
import type { Image } from "../../src/shm/image.js";
import type { Handle } from "../../src/shm/table.js";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { CpuPool } from "../../src/sched/machine.js";
import { parentAndChild, type ParentAndChild } from "../invariants/harness.js";

/** Put thread td to sleep by hand on `wchan` in system call `call` with the given arguments. */
function asleep(img: Image, td: Handle, wchan: number, wmesg: string, call: number, args: [number, number]): void {
  const t = img.table(THREAD).view(td);
  t.td_flags = t.td_flags | TDF_DESCHED;
  t.td_wchan = wchan;
  t.td_wmesg = wmesgId(wmesg);
  t.td_syscall = call + 1;
  img.i32[t.ptr("tf_args")] = args[0];
  img.i32[t.ptr("tf_args") + 1] = args[1];
}

const laws = (found: readonly { law: string }[]) => found.map((f) => f.law);

describe("dragonfly: hold and sleep laws on a hand-driven machine", () => {
  let m: ParentAndChild;
  let img: Image;
  let parent = 0;
  let child = 0;
  const found: ViolationInfo[] = [];
  const inlineAfter = (corrupt: () => void, check: () => void): string[] => m.after(corrupt, () => ((found.length = 0), check(), laws(found)));
  const sleepAfter = (corrupt: () => void, settled = false): string[] => m.after(corrupt, () => laws(dragonflySleepLaws(img, settled)));

  beforeAll(async () => {
    m = await parentAndChild(dragonfly);
    ({ img, parent, child } = m);
    installViolationSink((v) => found.push(v));
  }, 60_000);
  afterAll(() => m?.restore());

  const P = (pid: number) => procV(procByPid(img, pid), img);
  const parentThread = () => lwpV(lwpsOf(img, procByPid(img, parent))[0], img).lwp_thread;
  /** The child as a zombie whose exit is over: SZOMB, its lwps' threads gone. */
  const zombie = () => {
    P(child).p_stat = DF_SZOMB;
    for (const l of lwpsOf(img, procByPid(img, child))) lwpV(l, img).lwp_thread = 0;
  };
  const waiting = (pid: number) => asleep(img, parentThread(), P(parent).ptr(), "wait", DF_CALLS.indexOf("wait"), [pid, 0]);

  it("proc-held: silent with the holds a PSTALL leaves; fires with one more", () => {
    expect(inlineAfter(() => {}, () => dragonflyProcDrained(P(child), 0, "reap1a"))).toEqual([]);
    expect(inlineAfter(() => void (P(child).p_lock = 1), () => dragonflyProcDrained(P(child), 1, "exec1"))).toEqual([]);
    expect(inlineAfter(() => void (P(child).p_lock = 1), () => dragonflyProcDrained(P(child), 0, "reap1a"))).toEqual(["proc-held"]);
  });

  it("lwp-held: silent at lwp_lock 0, fires while an LWPHOLD is left", () => {
    const lp = () => lwpV(lwpsOf(img, procByPid(img, child))[0], img);
    expect(inlineAfter(() => {}, () => dragonflyLwpDrained(lp(), "zomblwp"))).toEqual([]);
    expect(inlineAfter(() => void (lp().lwp_lock = 1), () => dragonflyLwpDrained(lp(), "zomblwp"))).toEqual(["lwp-held"]);
  });

  it("exit-not-alone: silent for the last thread, fires while another is left", () => {
    expect(inlineAfter(() => {}, () => dragonflyLastThread(P(child)))).toEqual([]);
    expect(inlineAfter(() => void (P(child).p_nthreads = 2), () => dragonflyLastThread(P(child)))).toEqual(["exit-not-alone"]);
  });

  it("vfork-left-early: silent once the child cleared P_PPWAIT, fires while it has it", () => {
    expect(inlineAfter(() => {}, () => vforkWaited(P(child), "dragonfly"))).toEqual([]);
    expect(inlineAfter(() => void (P(child).p_flags = P(child).p_flags | P_PPWAIT), () => vforkWaited(P(child), "dragonfly"))).toEqual(["vfork-left-early"]);
  });

  it("wait-lost-wakeup: a waiter asleep although a zombie child it waits for has finished exiting", () => {
    expect(sleepAfter(() => waiting(-1))).toEqual([]); // the child lives: the sleep is right
    expect(sleepAfter(() => (zombie(), waiting(-1)))).toEqual(["wait-lost-wakeup"]);
    expect(sleepAfter(() => (zombie(), waiting(child)))).toEqual(["wait-lost-wakeup"]);
    expect(sleepAfter(() => (zombie(), waiting(child + 1000)))).toEqual([]); // waits for another pid
    // the zombie's thread still runs: its lwp_exit (the wakeup) is not over
    expect(sleepAfter(() => ((P(child).p_stat = DF_SZOMB), waiting(-1)))).toEqual([]);
    // at a quiet point, another exit in flight may be the waker: no verdict yet
    expect(sleepAfter(() => (zombie(), waiting(-1), (P(1).p_flags = P(1).p_flags | P_WEXIT)), true)).toEqual([]);
    expect(sleepAfter(() => (zombie(), waiting(-1)), true)).toEqual(["wait-lost-wakeup"]);
  });

  it("vfork-lost-wakeup: the vfork parent asleep while no child has P_PPWAIT", () => {
    const ppwait = () => asleep(img, parentThread(), P(parent).ptr(), "ppwait", DF_CALLS.indexOf("vfork"), [0, 0]);
    expect(sleepAfter(() => ((P(child).p_flags = P(child).p_flags | P_PPWAIT), ppwait()))).toEqual([]);
    expect(sleepAfter(ppwait)).toEqual(["vfork-lost-wakeup"]);
  });

  const threadOf = (pid: number): Handle => lwpV(lwpsOf(img, procByPid(img, pid))[0], img).lwp_thread;
  /** Thread td between its tsleep's entry and its queueing, for `wmesg`; or owing a wakeup. */
  const flag = (td: Handle, bit: number, wmesg = "") => {
    const t = img.table(THREAD).view(td);
    t.td_flags = t.td_flags | bit;
    if (wmesg) t.td_wmesg = wmesgId(wmesg);
  };
  /** The laws a wakeup of `ident` by the child's thread finds, after `corrupt`. */
  const wakeupAfter = (corrupt: () => void, ident: () => number): string[] => m.after(corrupt, () => laws(dragonflyLostWakeup(img, ident(), threadOf(child))));
  const parentChan = () => P(parent).ptr();

  it("lost-wakeup, ppwait: fires once no child has P_PPWAIT; silent while one has, while another owes a wakeup, or with no committed sleeper", () => {
    const committed = () => flag(parentThread(), TDF_COMMITTED, "ppwait");
    expect(wakeupAfter(committed, parentChan)).toEqual(["lost-wakeup"]);
    expect(wakeupAfter(() => (committed(), (P(child).p_flags = P(child).p_flags | P_PPWAIT)), parentChan)).toEqual([]);
    expect(wakeupAfter(() => (committed(), flag(threadOf(1), TDF_OWEWAKE)), parentChan)).toEqual([]);
    // owed by the waker itself: this is the wakeup it owed
    expect(wakeupAfter(() => (committed(), flag(threadOf(child), TDF_OWEWAKE)), parentChan)).toEqual(["lost-wakeup"]);
    expect(wakeupAfter(() => {}, parentChan)).toEqual([]);
    expect(wakeupAfter(committed, () => P(child).ptr())).toEqual([]); // another channel
  });

  it("lost-wakeup, exit1: the task leader committed to its sleep while p_peers is NULL", () => {
    const committed = () => flag(parentThread(), TDF_COMMITTED, "exit1");
    expect(wakeupAfter(committed, parentChan)).toEqual(["lost-wakeup"]);
    expect(wakeupAfter(() => (committed(), (P(parent).p_peers = procByPid(img, child))), parentChan)).toEqual([]);
  });

  it("lost-wakeup, deadlwp: deadlwp_task committed to its untimed sleep while the list holds an lwp", () => {
    const deadlwp = () => G(img).ptr("deadlwp");
    const committed = () => flag(parentThread(), TDF_COMMITTED, "deadlwp");
    const queued = () => void (G(img).deadlwp = lwpsOf(img, procByPid(img, child))[0]);
    expect(wakeupAfter(() => (committed(), queued()), deadlwp)).toEqual(["lost-wakeup"]);
    expect(wakeupAfter(committed, deadlwp)).toEqual([]);
  });

  /** The laws the child's thread meets when, owing a wakeup of `owed`, it goes on without it. */
  const unpaidAfter = (corrupt: () => void, owed: () => number): string[] =>
    m.after(corrupt, () => laws(dragonflyUnpaidWakeup(img, owed(), threadOf(child), "woke another channel instead")));

  it("lost-wakeup, an owed wakeup not made: fires on a sleeper on the owed channel whose condition holds; silent otherwise", () => {
    const exit1 = () => asleep(img, parentThread(), P(parent).ptr(), "exit1", DF_CALLS.indexOf("exit"), [0, 0]);
    expect(unpaidAfter(exit1, parentChan)).toEqual(["lost-wakeup"]);
    expect(unpaidAfter(() => (exit1(), (P(parent).p_peers = procByPid(img, child))), parentChan)).toEqual([]); // a peer is left: the sleep is right
    expect(unpaidAfter(() => (exit1(), flag(threadOf(1), TDF_OWEWAKE)), parentChan)).toEqual([]); // another may still make it
    expect(unpaidAfter(exit1, () => P(child).ptr())).toEqual([]); // nobody sleeps on the owed channel
    expect(unpaidAfter(() => flag(parentThread(), TDF_COMMITTED, "exit1"), parentChan)).toEqual(["lost-wakeup"]); // not yet queued
    // wait(2): a reaper asleep although a zombie it waits for was handed to it
    expect(unpaidAfter(() => (zombie(), waiting(-1)), parentChan)).toEqual(["lost-wakeup"]);
    expect(unpaidAfter(() => waiting(-1), parentChan)).toEqual([]);
  });

  it("freed-while-named: fires when a process still names the record freed; silent once every namer let go of it", () => {
    const freed = (field: "p_vmspace" | "p_sigacts", h: () => number) => () => dragonflyFreedUnnamed(field, h(), "test");
    let vm = 0;
    expect(inlineAfter(() => (vm = P(child).p_vmspace), freed("p_vmspace", () => vm))).toEqual(["freed-while-named"]);
    expect(inlineAfter(() => ((vm = P(child).p_vmspace), (P(child).p_vmspace = 0)), freed("p_vmspace", () => vm))).toEqual([]); // fork copied it: the parent has its own
    let ps = 0;
    expect(inlineAfter(() => (ps = P(child).p_sigacts), freed("p_sigacts", () => ps))).toEqual(["freed-while-named"]);
    expect(inlineAfter(() => ((ps = P(child).p_sigacts), (P(child).p_sigacts = 0)), freed("p_sigacts", () => ps))).toEqual([]);
    expect(inlineAfter(() => ((ps = P(child).p_sigacts), (P(child).p_sigacts = 0), (P(parent).p_sigacts = ps)), freed("p_sigacts", () => ps))).toEqual(["freed-while-named"]);
  });
});

describe("netbsd: sleep laws on a hand-driven machine", () => {
  let m: ParentAndChild;
  let img: Image;
  let parent = 0;
  let child = 0;
  const sleepAfter = (corrupt: () => void, settled = false): string[] => m.after(corrupt, () => laws(netbsdSleepLaws(img, settled)));

  beforeAll(async () => {
    m = await parentAndChild(netbsd);
    ({ img, parent, child } = m);
  }, 60_000);
  afterAll(() => m?.restore());

  const P = (pid: number) => procView(img, allproc(img).find((h) => procView(img, h).p_pid === pid)!);
  const parentThread = () => img.table(NB_LWP).view(nbLwpsOf(img, P(parent).h)[0]).l_thread;
  const waiting = (pid: number) => asleep(img, parentThread(), P(parent).ptr("p_waitcv"), "wait", NB_CALLS.indexOf("wait"), [pid, 0]);

  it("wait-lost-wakeup: a waiter asleep on p_waitcv although a child it waits for is a zombie", () => {
    expect(sleepAfter(() => waiting(-1))).toEqual([]);
    expect(sleepAfter(() => ((P(child).p_stat = NB_SZOMB), waiting(-1)))).toEqual(["wait-lost-wakeup"]);
    expect(sleepAfter(() => ((P(child).p_stat = NB_SZOMB), waiting(child + 1000)))).toEqual([]);
    // at a quiet point with proc_lock held, a clear-and-broadcast may be half-way: no verdict
    expect(sleepAfter(() => ((P(child).p_stat = NB_SZOMB), waiting(-1), (img.i32[globals(img).ptr("proc_lock")] = 1)), true)).toEqual([]);
  });

  it("stopped-lwp-runs: an lwp leaving its stop wait while its process is still SSTOP", () => {
    const found: ViolationInfo[] = [];
    installViolationSink((v) => found.push(v));
    const l = () => img.table(NB_LWP).view(nbLwpsOf(img, P(child).h)[0]);
    netbsdStopWaited(P(child), l());
    expect(found).toEqual([]);
    m.after(() => void (P(child).p_stat = NB_SSTOP), () => netbsdStopWaited(P(child), l()));
    expect(laws(found)).toEqual(["stopped-lwp-runs"]);
  });

  it("vfork-left-early and vfork-lost-wakeup on PL_PPWAIT", () => {
    const found: ViolationInfo[] = [];
    installViolationSink((v) => found.push(v));
    vforkWaited(P(child), "netbsd");
    expect(found).toEqual([]);
    m.after(() => void (P(child).p_lflag = P(child).p_lflag | PL_PPWAIT), () => vforkWaited(P(child), "netbsd"));
    expect(laws(found)).toEqual(["vfork-left-early"]);
    const ppwait = () => asleep(img, parentThread(), P(parent).ptr("p_waitcv"), "vfork", NB_CALLS.indexOf("vfork"), [0, 0]);
    expect(sleepAfter(() => ((P(child).p_lflag = P(child).p_lflag | PL_PPWAIT), ppwait()))).toEqual([]);
    expect(sleepAfter(ppwait)).toEqual(["vfork-lost-wakeup"]);
  });
});

describe("in runs: each law fires on a mutant that breaks it, and not on the clean kernel's same run", () => {
  const pct = (o: Partial<StressOptions>): StressOptions => ({ kernel: "dragonfly", scenario: "vfork-threads", cpus: 2, ops: 200, mode: "pct", depth: 20, seed: 1, chaos: 0, bugs: [], keepGoing: true, watchdogSeconds: 10, ...o });
  const cases: [string, Partial<StressOptions>, string][] = [
    ["proc-held", { stepBound: 120028, mutant: "dragonfly/kern_exit.ts:proc_move_allproc_zombie:PSTALL#1:skip-wait" }, "proc_move_allproc_zombie"],
    ["vfork-left-early", { kernel: "netbsd", scenario: "vfork-exec", ops: 40, mutant: "netbsd/kern_fork.ts:fork1:retest#1:skip-recheck" }, "fork1"],
    ["wait-lost-wakeup", { kernel: "netbsd", scenario: "clone-flags", stepBound: 83453, mutant: "netbsd/kern_exit.ts:exit1:cv_broadcast#3:drop-wakeup" }, ""],
    ["lost-wakeup", { scenario: "lwp-churn", ops: 300, seed: 10, watchdogSeconds: 60, mutant: "dragonfly/kern_exit.ts:deadlwp_task:tsleep_interlock#1:skip-interlock" }, "lwp_exit"],
    // A grandchild RFTHREAD peer unlinks itself and drops its wakeup of the leader asleep in
    // "exit1": judged at its next wakeup, of its own p_nthreads, in lwp_exit.
    ["lost-wakeup", { scenario: "rfork-peers", ops: 30, seed: 1, watchdogSeconds: 60, mutant: "dragonfly/kern_exit.ts:exit1:wakeup#1:drop-wakeup" }, "lwp_exit"],
  ];
  for (const [law, o, where] of cases) {
    it(`${law}: ${o.mutant}`, async () => {
      const bad = (await stress(pct(o))).report;
      const v = bad.violations.find((x) => x.law === law);
      expect(v, JSON.stringify(bad.violations.map((x) => x.law))).toBeDefined();
      expect(v!.stack).toContain(where);
      const clean = (await stress(pct({ ...o, mutant: undefined }))).report;
      expect(clean.violations.map((x) => x.law)).toEqual([]);
    }, 120_000);
  }
});

describe("in runs: the laws checked at the moment a catalogue bug breaks them; the clean kernel's same run is clean", () => {
  const pct = (o: Partial<StressOptions>): StressOptions => ({ kernel: "dragonfly", cpus: 2, ops: 300, mode: "pct", depth: 20, chaos: 0, keepGoing: false, watchdogSeconds: 60, scenario: "rfork-flags", seed: 1, bugs: [], ...o });
  const cases: [string, Partial<StressOptions>, string, string][] = [
    // RFSIGSHARE without refcount_acquire: the child's reap frees the sigacts its parent names.
    ["freed-while-named", { bugs: ["df.fork-sigshare-no-ref"] }, "kern_wait", "frees the sigacts"],
    // The vfork wait tested before tsleep queues it: the exec's wakeup passes the committed parent.
    ["lost-wakeup", { scenario: "vfork-exec", seed: 4, bugs: ["df.ppwait-no-interlock"] }, "kern_exec", "no child of it has P_PPWAIT"],
  ];
  for (const [law, o, where, what] of cases) {
    it(`${law}: ${o.bugs![0]}`, async () => {
      const bad = (await stress(pct(o))).report;
      expect(bad.violations.map((x) => x.law)).toEqual([law]);
      expect(bad.violations[0].stack).toContain(where);
      expect(bad.violations[0].message).toContain(what);
      const clean = (await stress(pct({ ...o, bugs: [] }))).report;
      expect(clean.violations.map((x) => x.law)).toEqual([]);
    }, 120_000);
  }
});

describe("settled-state laws in a pool that runs both kernels", () => {
  it("each image is judged by its own kernel's laws (a hunt's workers load both kernels)", async () => {
    const pool = new CpuPool(2);
    try {
      for (const kernel of ["dragonfly", "netbsd", "dragonfly"] as const) {
        const { report } = await stress({ kernel, scenario: "vfork-exec", cpus: 2, ops: 150, mode: "pct", depth: 20, seed: 2, chaos: 0, bugs: [], keepGoing: true, watchdogSeconds: 10, pool });
        expect([report.verdict, report.violations.map((v) => v.law)]).toEqual(["clean", []]);
      }
    } finally {
      await pool.discard();
    }
  }, 120_000);
});
