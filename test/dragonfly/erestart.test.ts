/*
 * fork1's pg_lock interlock (000:368-386): a fork that waits for pg_lock SHARED behind a
 * pgsignal holding it EXCLUSIVE, and is sent a caught signal meanwhile, returns ERESTART
 * once it gets the lock (CURSIG_NOBLOCK, 000:382-385) instead of creating a child that would
 * miss the group signal. The pgsignal is a lab thread that stops while holding the lock.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../dist/src/sched/machine.js";
import { THREAD } from "../../dist/src/shm/core.js";
import { wakeup } from "../../dist/src/sync/sleep.js";
import { ERESTART } from "../../dist/src/sync/errno.js";
import { dragonfly } from "../../dist/src/kern/dragonfly/model.js";
import { G, procV } from "../../dist/src/kern/dragonfly/globals.js";
import { procByPid } from "../../dist/src/kern/dragonfly/walk.js";
import { LAB_DONE, LAB_HOLDING } from "../../dist/src/kern/dragonfly/lab.js";

const SIGUSR1 = 30;
const callNo = (name: string) => Object.keys(dragonfly.calls).indexOf(name);
const enc = (name: string, args: Record<string, unknown> = {}) => dragonfly.calls[name].encode(args, { pid: (v) => v as number });

describe("dragonfly fork1 pg_lock interlock", () => {
  it("a fork blocked behind pgsignal's pg_lock that is sent a caught signal returns ERESTART", async () => {
    const limits = dragonfly.defaultLimits();
    const m = new Machine({
      cpus: 2,
      maxThreads: 256,
      tables: dragonfly.tables(limits),
      modules: [dragonfly.module],
      strategy: { name: "free", seed: 1, chaos: 0 },
      clock: "logical",
      hz: 100,
      stopOnViolation: false,
    });
    dragonfly.boot(m, limits);
    const img = m.image;
    const threads = img.table(THREAD);
    const tdOf = (pid: number) => dragonfly.ps(img).find((p) => p.pid === pid)!.threads![0].td;
    await m.start();
    try {
      const call = async (td: number, name: string, args: Record<string, unknown> = {}) => {
        m.postCall(td, callNo(name), enc(name, args));
        let r: ReturnType<Machine["callResult"]> = null;
        expect(await m.until(() => (r = m.callResult(td)) !== null, 10_000)).toBe(true);
        return r!;
      };
      const init = tdOf(1);
      expect((await call(init, "fork")).ret).toBe(2);
      const sh = tdOf(2);
      expect((await call(sh, "sigaction", { sig: "SIGUSR1", handler: "catch" })).errno).toBe(0);
      const nprocs = G(img).nprocs;

      // pgsignal(SIGUSR1) of pgrp 1 (init and sh), stopped while it holds pg_lock EXCLUSIVE.
      const lab = m.spawn("dragonfly.lab.pgsignal_paused", [1, SIGUSR1], 1);
      const lv = threads.view(lab);
      expect(await m.until(() => Atomics.load(img.i32, lv.ptr("td_arg2")) === LAB_HOLDING, 10_000)).toBe(true);

      // sh forks: fork1 sleeps in lockmgr(pg_lock, LK_SHARED) (000:381).
      m.postCall(sh, callNo("fork"), enc("fork"));
      expect(await m.quiesce(10_000)).toBe(true);
      expect(m.callResult(sh)).toBeNull();

      // The group signal goes out (sh's is pending: its only thread sleeps without PCATCH), pg_lock is released.
      Atomics.store(img.i32, lv.ptr("td_arg3"), 1);
      wakeup(lv.ptr("td_arg3"));
      let r: ReturnType<Machine["callResult"]> = null;
      expect(await m.until(() => (r = m.callResult(sh)) !== null, 10_000)).toBe(true);
      expect(r!.errno).toBe(ERESTART);
      expect(await m.quiesce(10_000)).toBe(true);
      expect(m.threadGone(lab) || Atomics.load(img.i32, lv.ptr("td_arg2")) === LAB_DONE).toBe(true);

      // No child was made, nothing leaked, and the signal reached sh's handler on the way out.
      expect(dragonfly.ps(img).map((p) => p.pid)).toEqual([1, 2]);
      expect(G(img).nprocs).toBe(nprocs);
      expect(procV(procByPid(img, 2), img).p_nsigcaught).toBe(1);
      // The restarted fork (userland re-issues on ERESTART) now succeeds.
      expect((await call(sh, "fork")).ret).toBe(3);
    } finally {
      const res = await m.stop();
      expect(res.flatMap((c) => c.violations).map((v) => `${v.law}: ${v.message}`)).toEqual([]);
    }
  }, 30_000);
});
