/*
 * exit1, exec and signals as the kernel has them (issue 10 items 2, 4, 5):
 *  - killalllwps/killlwps hold each lwp (LWPHOLD + lwp_token) and send it SIGKILL
 *    (kern_exit.c 180-278): a sibling inside fork1 sees the SIGKILL at 000:382 and restarts;
 *    lwp_wait, kern_wait and lwp_create1's failure path wait for lwp holds to drain;
 *  - an RFTHREAD leader kills its peers and waits for them (kern_exit.c 324-338, 381-387), and
 *    exit1 releases p_token around vmspace_relexit (431-433);
 *  - exec kills the other lwps first (kern_exec.c 773-830);
 *  - CURSIG_NOBLOCK is true for any pending unmasked signal (signal2.h __cursig).
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import { G, lwpV, procV } from "../../src/kern/dragonfly/globals.js";
import { procByPid } from "../../src/kern/dragonfly/walk.js";
import { LAB_HOLDING } from "../../src/kern/dragonfly/lab.js";
import { THREAD } from "../../src/shm/core.js";
import { wakeup } from "../../src/sync/sleep.js";
import { ERESTART } from "../../src/sync/errno.js";
import { Driver } from "../invariants/harness.js";

type Step = Record<string, unknown>;
const df = (steps: Step[]) => runScript({ kernel: "dragonfly", cpus: 2, steps });
const SIGURG = 16;

describe("killalllwps holds and kills every other lwp", () => {
  it("a sibling waiting for pg_lock inside fork1 gets SIGKILL from the exit and returns ERESTART at 000:382: no child is made", async () => {
    const d = await Driver.boot(dragonfly);
    try {
      expect(await d.ok(1, "fork")).toBe(2);
      expect(await d.ok(2, "lwp_create")).toBe(2);
      // A pgsignal of pgrp 1 stopped while it holds pg_lock EXCLUSIVE (signal 0: it sends nothing).
      const lab = d.m.spawn("dragonfly.lab.pgsignal_paused", [1, 0], 1);
      const lv = d.image.table(THREAD).view(lab);
      expect(await d.m.until(() => Atomics.load(d.image.i32, lv.ptr("td_arg2")) === LAB_HOLDING, 10_000)).toBe(true);
      expect(await d.call(2, "fork")).toBe("pending"); // tid 1 sleeps in lockmgr(pg_lock, LK_SHARED)
      expect(await d.call(2, "exit")).toBe("pending"); // tid 2: the master exit, waiting in killlwps
      const p = procV(procByPid(d.image, 2), d.image);
      expect(p.p_nstopped).toBe(1); // the fake stop (kern_exit.c 207-216)
      expect(lwpV(p.p_lwp_tree, d.image).lwp_siglist).not.toBe(0); // SIGKILL pending on tid 1
      Atomics.store(d.image.i32, lv.ptr("td_arg3"), 1);
      wakeup(lv.ptr("td_arg3"));
      await d.quiesce();
      expect(dragonfly.ps(d.image).map((e) => e.pid)).toEqual([1]); // sh exited and was reaped
      expect(G(d.image).nextpid).toBe(3); // fork1 never drew a pid for a child (sh took 2)
      expect(G(d.image).nprocs).toBe(2);
    } finally {
      expect(await d.stop()).toEqual([]);
    }
  }, 60_000);

  it("lwp_create1's failure path while the process exits: the new lwp is killed with the rest and disposed of (000:257-275)", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "lwp_create", name: "t2" },
      { as: "p", call: "lwp_create", args: { fault: true }, blockAt: "copyout" },
      { as: "t2", call: "exit", args: { status: 5 } },
      { unblock: 2, expect: { held: true } },
      { await: 3, expect: { exited: true } },
      { call: "ps" },
    ]);
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
    expect(out.results[2]).toMatchObject({ exited: true }); // its thread left through userret (LWP_MP_WEXIT)
    expect(out.ps.map((p) => p.name)).toEqual(["init"]);
  }, 30_000);

  it("kern_wait and lwp_wait wait while someone holds the zombie's lwp (LWPHOLD), and reap it once the hold is gone", async () => {
    const d = await Driver.boot(dragonfly);
    try {
      expect(await d.ok(1, "fork")).toBe(2);
      expect(await d.ok(2, "fork")).toBe(3);
      await d.call(3, "exit");
      await d.quiesce();
      const z = procV(procByPid(d.image, 3), d.image);
      const lp = lwpV(z.p_lwp_tree, d.image);
      Atomics.add(d.image.i32, lp.ptr("lwp_lock"), 1); // an LWPHOLD that outlives the exit
      const td = dragonfly.ps(d.image).find((e) => e.pid === 2)!.threads[0].td;
      d.m.postCall(td, Object.keys(dragonfly.calls).indexOf("wait"), [3, 0]);
      // The waiter polls "zomblwp" tick after tick: the machine never quiesces, the logical clock moves on.
      expect(await d.m.quiesce(500)).toBe(false);
      expect(d.m.callResult(td)).toBeNull();
      expect(dragonfly.ps(d.image).find((e) => e.pid === 3)?.stat).toBe("SZOMB");
      Atomics.sub(d.image.i32, lp.ptr("lwp_lock"), 1);
      expect(await d.m.quiesce(10_000)).toBe(true);
      expect(d.m.callResult(td)?.ret).toBe(3);
    } finally {
      expect(await d.stop()).toEqual([]);
    }
  }, 60_000);
});

describe("exit1's RFTHREAD side and exec's order", () => {
  it("a task leader kills its RFTHREAD peers and waits until they left the chain (kern_exit.c 324-338, 381-387)", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "L" },
      { as: "L", call: "rfork", args: { flags: ["RFPROC", "RFTHREAD", "RFNOWAIT"] }, name: "P", expect: { errno: null } },
      { as: "P", call: "getppid", expect: { ret: 1 } },
      { as: "L", call: "exit", expect: { exited: true } },
      { call: "ps" },
    ]);
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
    expect(out.ps.map((p) => p.name)).toEqual(["init"]); // the peer was killed, not left running
  }, 30_000);

  it("exit1 releases p_token around vmspace_relexit: a kill of the exiting process goes through meanwhile, its parent's wait goes on after", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "sh" },
      { as: "sh", call: "fork", name: "c" },
      { as: "c", call: "exit", args: { status: 1 }, blockAt: "vmspace_relexit" },
      { as: "sh", call: "kill", args: { pid: "c", sig: "SIGTERM" }, expect: { errno: null } },
      { as: "sh", call: "wait", args: { pid: "c" }, async: true },
      { unblock: 2, expect: { held: true } },
      { await: 4, expect: { pid: 3, status: 256 } },
    ]);
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("exec kills the other lwps first and goes on alone; a vfork parent is released", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "sh" },
      { as: "sh", call: "vfork", name: "c", async: true },
      { as: "c", call: "lwp_create", name: "t2" },
      { as: "c", call: "exec", expect: { errno: null } },
      { await: 1, expect: { ret: 3, errno: null } },
      { call: "ps" },
    ]);
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
    expect(out.ps.find((p) => p.name === "c")!.nthreads).toBe(1);
  }, 30_000);
});

describe("CURSIG_NOBLOCK states the fact", () => {
  it("any pending unmasked signal, whatever its disposition, makes fork1 restart once it has pg_lock (000:382)", async () => {
    const d = await Driver.boot(dragonfly);
    try {
      expect(await d.ok(1, "fork")).toBe(2);
      const lab = d.m.spawn("dragonfly.lab.pgsignal_paused", [1, 0], 1);
      const lv = d.image.table(THREAD).view(lab);
      expect(await d.m.until(() => Atomics.load(d.image.i32, lv.ptr("td_arg2")) === LAB_HOLDING, 10_000)).toBe(true);
      const td = dragonfly.ps(d.image).find((e) => e.pid === 2)!.threads[0].td;
      d.m.postCall(td, Object.keys(dragonfly.calls).indexOf("fork"), []);
      expect(await d.m.quiesce(10_000)).toBe(true); // in lockmgr(pg_lock, LK_SHARED), 000:381
      // A signal pending while fork1 waits, one whose default action is to ignore it: issignal would
      // drop it, but CURSIG_NOBLOCK only looks at the pending set (signal2.h __cursig, mayblock 0).
      const sh = procV(procByPid(d.image, 2), d.image);
      sh.p_siglist = sh.p_siglist | (1 << (SIGURG - 1));
      Atomics.store(d.image.i32, lv.ptr("td_arg3"), 1);
      wakeup(lv.ptr("td_arg3"));
      let r: ReturnType<typeof d.m.callResult> = null;
      expect(await d.m.until(() => (r = d.m.callResult(td)) !== null, 10_000)).toBe(true);
      expect(r).toMatchObject({ errno: ERESTART });
      expect(await d.ok(2, "fork")).toBe(3); // userret dropped it; the restarted fork goes through
    } finally {
      expect(await d.stop()).toEqual([]);
    }
  }, 60_000);
});
