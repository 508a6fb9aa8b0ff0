/*
 * dokillpg's walk of pg_members the kernel's way (kern_sig.c 693-703: pg_lock EXCLUSIVE only, no
 * pg_token, no hold on the member; issue 10 item 3) and the safer walk kept as a variant.
 * CANSIGNAL may sleep on reaper_lock (reaper_sigtest, 000:1188-1216) when the sender answers to
 * another reaper; a lab thread holds reaper_lock there, as reaper_drop does while it frees a
 * reaper. The member the walk stands on exits and is reaped meanwhile; the walk then reads it:
 * use after free (findings D7). With the variant's PHOLD the reap waits for the walk instead.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/sched/machine.js";
import { THREAD } from "../../src/shm/core.js";
import { wakeup } from "../../src/sync/sleep.js";
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import { LAB_DONE, LAB_HOLDING } from "../../src/kern/dragonfly/lab.js";
import { VARIANT_PGRP_WALK_HELD } from "../../src/kern/dragonfly/kern_sig.js";

async function killpgWhileMemberIsReaped(variants: string[]) {
  const limits = dragonfly.defaultLimits();
  const m = new Machine({ cpus: 3, maxThreads: 256, tables: dragonfly.tables(limits), modules: [dragonfly.module], strategy: { name: "free", seed: 1, chaos: 0 }, clock: "logical", hz: 100, stopOnViolation: false, bugs: variants });
  dragonfly.boot(m, limits);
  const img = m.image;
  const callNo = (name: string) => Object.keys(dragonfly.calls).indexOf(name);
  const tdOf = (pid: number) => dragonfly.ps(img).find((p) => p.pid === pid)!.threads[0].td;
  const post = (pid: number, name: string, args: Record<string, unknown> = {}) => {
    const td = tdOf(pid);
    m.postCall(td, callNo(name), dragonfly.calls[name].encode(args, { pid: (v) => v as number }));
    return td;
  };
  const settle = async () => expect(await m.quiesce(10_000)).toBe(true);
  const call = async (pid: number, name: string, args: Record<string, unknown> = {}) => {
    const td = post(pid, name, args);
    await settle();
    return m.callResult(td);
  };
  await m.start();
  try {
    expect((await call(1, "fork"))!.ret).toBe(2); // K, the killer: a reaper of its own
    expect((await call(2, "procctl", { cmd: "REAP_ACQUIRE" }))!.errno).toBe(0);
    expect((await call(1, "fork"))!.ret).toBe(3); // L leads group 3 ...
    expect((await call(3, "setpgid", { pid: 0, pgid: 0 }))!.errno).toBe(0);
    expect((await call(3, "fork"))!.ret).toBe(4); // ... with its child m
    const lab = m.spawn("dragonfly.lab.reaper_lock_paused", [], 2);
    const lv = img.table(THREAD).view(lab);
    expect(await m.until(() => Atomics.load(img.i32, lv.ptr("td_arg2")) === LAB_HOLDING, 10_000)).toBe(true);
    // K's killpg: pg_lock EXCLUSIVE, the walk stands on L, CANSIGNAL sleeps on reaper_lock.
    const killer = post(2, "killpg", { pgid: 3, sig: "SIGTERM" });
    await settle();
    expect(m.callResult(killer)).toBeNull();
    // L exits; init (L's parent) reaps it at once -- unless the walk holds it.
    post(3, "exit");
    await settle();
    const reaped = !dragonfly.ps(img).some((p) => p.pid === 3);
    Atomics.store(img.i32, lv.ptr("td_arg3"), 1);
    wakeup(lv.ptr("td_arg3"));
    await settle();
    expect(m.threadGone(lab) || Atomics.load(img.i32, lv.ptr("td_arg2")) === LAB_DONE).toBe(true);
    return { reaped, violations: (await m.stop()).flatMap((c) => c.violations) };
  } catch (e) {
    await m.stop();
    throw e;
  }
}

describe("dokillpg's walk of pg_members", () => {
  it("the kernel's walk: a member reaped while CANSIGNAL sleeps is read after it was freed (D7)", async () => {
    const { reaped, violations } = await killpgWhileMemberIsReaped([]);
    expect(reaped).toBe(true);
    expect(violations[0]?.law).toBe("use-after-free");
    expect(violations[0]?.message).toMatch(/proc\[\d+\].*freed at kern_wait/);
    expect(violations[0]?.syscall).toBe("killpg");
  }, 60_000);

  it("the held walk (variant pgrp-walk-held): the reap waits for the walk, nothing is freed under it", async () => {
    const { reaped, violations } = await killpgWhileMemberIsReaped([VARIANT_PGRP_WALK_HELD]);
    expect(reaped).toBe(false); // L stays a zombie while the walk holds it (PSTALL reap3)
    expect(violations.map((v) => `${v.law}: ${v.message}`)).toEqual([]);
  }, 60_000);
});
