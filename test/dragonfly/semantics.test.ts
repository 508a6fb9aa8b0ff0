import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";

const df = (steps: unknown[], extra: Record<string, unknown> = {}) => runScript({ kernel: "dragonfly", cpus: 2, ...extra, steps });

describe("dragonfly fork semantics", () => {
  it("a vfork parent stays blocked while its child neither execs nor exits", async () => {
    const out = await df([{ as: "init", call: "fork", name: "sh" }, { as: "sh", call: "vfork" }, { call: "ps" }]);
    expect(out.results[1]).toEqual({ step: 1, pending: true });
    const child = out.ps.find((p) => p.pid === 3)!;
    expect(child.ppid).toBe(2);
    expect(child.flags & 0x10).toBe(0x10); // P_PPWAIT
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("a vfork child's tid is the vforker's tid (origlp->lwp_tid - 1, then +1)", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "lwp_create", name: "t2" },
      { as: "t2", call: "vfork" },
      { call: "ps" },
    ]);
    const kid = (out.results[3].ps as { pid: number; nthreads: number }[]).find((p) => p.pid === 3)!;
    expect(kid.nthreads).toBe(1);
    expect(out.results[2]).toEqual({ step: 2, pending: true });
  }, 30_000);

  it("REAP_STATUS without a reaper reports zeros and the first child", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "procctl", args: { cmd: "REAP_STATUS" } },
      { as: "p", call: "fork", name: "c" },
      { as: "p", call: "procctl", args: { cmd: "REAP_STATUS" } },
      { as: "init", call: "procctl", args: { cmd: "REAP_STATUS" } },
      { as: "p", call: "procctl", args: { cmd: 42 } },
      { as: "p", call: "procctl", args: { cmd: "REAP_STATUS", pid: "init" } },
    ]);
    expect(out.results[1]).toMatchObject({ errno: null, flags: 0, refs: 0, pid_head: -1 });
    expect(out.results[3]).toMatchObject({ flags: 0, refs: 0, pid_head: 3 });
    // init's reaper: OWNED|REALINIT, refs 2 at boot + one per process holding it, minus the caller's.
    expect(out.results[4]).toMatchObject({ flags: 3, pid_head: 2 });
    expect(out.results[5]).toMatchObject({ errno: "EINVAL" });
    expect(out.results[6]).toMatchObject({ errno: "EINVAL" });
  }, 30_000);

  it("init reaps zombie children by itself, including orphans handed to it", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "a" },
      { as: "a", call: "fork", name: "b" },
      { as: "b", call: "exit" },
      { as: "a", call: "exit" },
    ]);
    expect(out.ps.map((p) => p.pid)).toEqual([1]);
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("bad flag names and bad arguments are usage errors", async () => {
    await expect(df([{ as: "init", call: "rfork", args: { flags: ["RFBOGUS"] } }])).rejects.toThrow(/RFBOGUS/);
    await expect(df([{ as: "init", call: "procctl", args: { cmd: "REAP_NOPE" } }])).rejects.toThrow(/cmd/);
    await expect(df([{ as: "init", call: "sigaction", args: { sig: "SIGNOPE", handler: "catch" } }])).rejects.toThrow(/SIGNOPE/);
    await expect(df([{ as: "init", call: "setrlimit", args: { resource: "CPU", value: 1 } }])).rejects.toThrow(/NPROC/);
  });

  it("a default-fatal signal ends the process; exec ends a vfork wait", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "fork", name: "c" },
      { as: "init", call: "kill", args: { pid: "c", sig: "SIGTERM" } },
      { as: "p", call: "wait", args: { pid: "c" } },
      { as: "init", call: "kill", args: { pid: 999, sig: "SIGTERM" } },
      { as: "init", call: "kill", args: { pid: "p", sig: 77 } },
    ]);
    expect(out.results[3]).toMatchObject({ pid: 3, status: 15 });
    expect(out.results[4]).toMatchObject({ errno: "ESRCH" });
    expect(out.results[5]).toMatchObject({ errno: "EINVAL" });
  }, 30_000);
});
