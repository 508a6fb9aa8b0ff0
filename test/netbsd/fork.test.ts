/*
 * kern_fork.c 1.209 (seed 001) behaviours: __clone's argument checks, the maxproc and
 * RLIMIT_NPROC limits (root's bypass), the u-area failure with every count given back, the vfork
 * wait ended by exec or exit (vfork and __vfork14), PS_STOPFORK, FORK_NOWAIT, PTRACE_FORK.
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";
import { Direct, laws, runNamed } from "./helpers.js";
import { auditNetbsd } from "../../src/invariants/netbsd.js";
import type { RawResult } from "../../src/kern/kernel.js";
import { GLOBALS } from "../../src/kern/netbsd/structs.js";

const W_STOPCODE = (sig: number) => (sig << 8) | 0x7f;
const SIGSTOP = 17;
const SIGTRAP = 5;

describe("netbsd fork1", () => {
  it("__clone refuses CLONE_PID, CLONE_PTRACE, CLONE_SIGHAND without CLONE_VM and an exit signal >= _NSIG (001:161-189)", async () => {
    const o = await runNamed("clone-einval.json");
    expect(o.results.slice(0, 5).map((r) => r.errno)).toEqual(["EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL"]);
    expect(o.results[5]).toMatchObject({ ret: 2, errno: null });
    expect(laws(o)).toEqual([]);
  }, 30_000);

  it("EAGAIN once nprocs reaches maxproc, and a slot comes back when a process is reaped (001:229-247)", async () => {
    const o = await runNamed("maxproc-eagain.json");
    expect(o.results[2]).toMatchObject({ errno: "EAGAIN" });
    expect(o.results[3]).toMatchObject({ errno: "EAGAIN" });
    expect(o.results[5]).toMatchObject({ ret: 4, errno: null });
    expect(o.exitCode).toBe(0);
  }, 30_000);

  it("RLIMIT_NPROC: EAGAIN for a user over it, root bypasses it (001:249-263)", async () => {
    const o = await runNamed("rlimit-nproc-root-bypass.json");
    // nproc = 2: root forks past it, uid 100 is held to it until it raises its limit.
    expect(o.results[1]).toMatchObject({ errno: null });
    expect(o.results[2]).toMatchObject({ errno: null });
    expect(o.results[5]).toMatchObject({ errno: "EAGAIN" });
    expect(o.results[8]).toMatchObject({ errno: null });
    expect(o.results[9]).toMatchObject({ errno: "EAGAIN" });
    expect(o.exitCode).toBe(0);
  }, 30_000);

  it("ENOMEM when no u-area is left, with nprocs, the uid's count and every table given back (001:270-275)", async () => {
    const d = await Direct.boot({ tables: { uarea: 3 } } as never);
    try {
      expect(await d.call(1, "fork")).toMatchObject({ ret: 2, errno: 0 });
      expect(await d.call(1, "fork")).toMatchObject({ ret: 3, errno: 0 });
      const before = d.counts();
      expect(before).toEqual({ nprocs: 4, procs: 3, uareas: 3, rootProcs: 4 }); // nprocs and root's count include process 0
      expect(await d.call(1, "fork")).toMatchObject({ errno: 12 });
      expect(await d.call(2, "vfork")).toMatchObject({ errno: 12 });
      expect(d.counts()).toEqual(before);
    } finally {
      expect(await d.stop()).toEqual([]);
    }
  }, 30_000);

  for (const call of ["vfork", "__vfork14"]) {
    it(`${call}: the parent stays in fork1 until the child execs (001:588-593)`, async () => {
      const d = await Direct.boot();
      try {
        expect(await d.call(1, "fork")).toMatchObject({ ret: 2 });
        const parent = d.post(2, call);
        expect(await d.settle(parent)).toBe("pending");
        expect(d.stat(3)).toBe("SACTIVE");
        expect(await d.call(3, "exec")).toMatchObject({ ret: 0, errno: 0 });
        expect(await d.settle(parent)).toMatchObject({ ret: 3, errno: 0 });
        // The child lives on after exec; a second vfork ends with the child's exit instead.
        const again = d.post(2, call);
        expect(await d.settle(again)).toBe("pending");
        d.post(4, "exit", { status: 5 });
        expect(await d.settle(again)).toMatchObject({ ret: 4, errno: 0 });
        expect(await d.call(2, "wait", { pid: 4 })).toMatchObject({ ret: 4, out: [5 << 8, 0, 0, 0] });
      } finally {
        expect(await d.stop()).toEqual([]);
      }
    }, 30_000);
  }

  it("a vfork parent whose child neither execs nor exits is still pending at the end", async () => {
    const o = await runScript({ kernel: "netbsd", steps: [{ as: "init", call: "fork", name: "sh" }, { as: "sh", call: "vfork" }] });
    expect(o.results[1]).toEqual({ step: 1, pending: true });
    expect(o.exitCode).toBe(0);
  }, 30_000);

  it("PS_STOPFORK: the child starts in SSTOP, counts as a stopped child, runs after SIGCONT (001:545-553)", async () => {
    const o = await runNamed("stopfork.json");
    const ps = o.results[3].ps as { name: string; stat: string }[];
    expect(ps.find((p) => p.name === "s")?.stat).toBe("SSTOP");
    expect(o.results[4]).toMatchObject({ pid: 3, status: W_STOPCODE(0) });
    expect(o.results[7]).toMatchObject({ ret: 3 });
    expect(o.exitCode).toBe(0);
  }, 30_000);

  it("FORK_NOWAIT: the child is init's, not the caller's, and init reaps it (001:391-393)", async () => {
    const o = await runNamed("fork-nowait.json");
    expect(o.results[2]).toMatchObject({ ret: 1 });
    expect(o.results[3]).toMatchObject({ errno: "ECHILD" });
    expect(o.ps.map((p) => p.pid)).toEqual([1, 2]);
    expect(o.exitCode).toBe(0);
  }, 30_000);

  it("PTRACE_FORK: the traced parent stops with SIGTRAP for its tracer, the child is traced too (001:477-586, 621-636)", async () => {
    const o = await runNamed("tracefork-sigtrap.json");
    expect(o.results[3]).toMatchObject({ pid: 3, status: W_STOPCODE(SIGSTOP) });
    expect(o.results[7]).toMatchObject({ pid: 3, status: W_STOPCODE(SIGTRAP) });
    expect(o.results[8]).toMatchObject({ pid: 4, status: W_STOPCODE(SIGTRAP) });
    expect(o.results[10]).toMatchObject({ ret: 4, errno: null });
    expect(o.exitCode).toBe(0);
  }, 30_000);
});

describe("netbsd pid_table (kern_proc.c 645-823)", () => {
  it("slots booted near PID_MAX hand out pids just below it, wrap past it to the slot number, double when pid_alloc_lim slots are in use, and free a reaped process's slot", async () => {
    const d = await Direct.boot({ lastpid: 29936, maxproc: 64 });
    const g = () => d.m.image.table(GLOBALS).view(d.m.image.table(GLOBALS).handleAt(0));
    try {
      const pids: number[] = [];
      for (let i = 0; i < 32; i++) pids.push(((await d.call(1, "fork")) as RawResult).ret);
      expect(pids[0]).toBe(29954); // slot 2, use count 29920 (29936 rounded down to the table size) + 32
      expect(new Set(pids).size).toBe(32);
      expect(pids.every((p) => p > 1 && p <= 30000)).toBe(true);
      expect(g().pid_tbl_mask).toBe(63); // init and 29 children took pid_alloc_lim's 30 slots
      expect(pids.filter((p) => p < 64).length).toBeGreaterThan(0); // past pid_max: pid &= pid_tbl_mask
      const victim = pids[5]; // init's children are reaped as they exit (scripts' init)
      expect(await d.call(victim, "exit", { status: 0 })).toBe("pending");
      expect(await d.call(1, "kill", { pid: victim, sig: 0 })).toMatchObject({ errno: 3 }); // ESRCH: its slot is free
      expect(g().pid_alloc_cnt).toBe(32); // init and 31 children
      expect(auditNetbsd(d.m.image)).toEqual([]);
    } finally {
      expect(await d.stop()).toEqual([]);
    }
  }, 60_000);
});

describe("netbsd seed finding", () => {
  it("PTRACE_VFORK: the child's exit wakes the tracer's p_waitcv, and the vfork parent later reads a freed p2 (001:592)", async () => {
    const o = await runNamed("findings/tracevfork-uaf.json");
    // The vfork is still blocked after its child died: the wake-up went to the tracer.
    const ps14 = o.results[14].ps as { name: string | null; pid: number; stat: string; ppid: number }[];
    expect(ps14.find((p) => p.pid === 5)).toMatchObject({ stat: "SZOMB", ppid: 2 });
    // The vfork never returns: it was still blocked when the script moved on, and its thread
    // later died on the use-after-free.
    expect(o.results[8]).toEqual({ step: 8, ret: null, errno: null, exited: true, late: true });
    const uaf = o.violations.find((v) => v.law === "use-after-free");
    expect(uaf?.message).toMatch(/proc\[\d+\].*p_lflag; freed at proc_free/);
  }, 30_000);
});
