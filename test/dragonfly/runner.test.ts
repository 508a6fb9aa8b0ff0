/*
 * The script runner's edges (issue 10 item 9, issue 11 item 3), on both kernels: names of
 * children made by calls that have not returned, exit's result, usage errors for duplicate
 * names and missing "as", init's exit, and forks that find the proc table full.
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";
import { UsageError } from "../../dist/src/kern/kernel.js";

type Step = Record<string, unknown>;
const KERNELS = ["dragonfly", "netbsd"] as const;

describe.each(KERNELS)("%s scripts", (kernel) => {
  const run = (steps: Step[], extra: Record<string, unknown> = {}) => runScript({ kernel, cpus: 2, steps, ...extra });

  it("an async vfork names its child at once: the next step drives the child, and the vfork returns", async () => {
    const out = await run([
      { as: "init", call: "fork", name: "sh" },
      { as: "sh", call: "vfork", name: "c", async: true },
      { as: "c", call: "getppid", expect: { ret: 2 } },
      { as: "c", call: "exit", args: { status: 3 }, expect: { ret: 0, errno: null, exited: true } },
      { await: 1, expect: { ret: 3, errno: null } },
      { as: "sh", call: "wait", args: { pid: "c" }, expect: { pid: 3, status: 768 } },
    ]);
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("duplicate names, a step without \"as\" and a stray unblock are usage errors naming the step", async () => {
    await expect(run([{ as: "init", call: "fork", name: "a" }, { as: "init", call: "fork", name: "a" }])).rejects.toThrow(/step 1: the name "a" is already taken/);
    await expect(run([{ as: "init", call: "fork", name: "init" }])).rejects.toThrow(/step 0: the name "init" is already taken/);
    await expect(run([{ call: "fork" }])).rejects.toThrow(UsageError);
    await expect(run([{ call: "fork" }])).rejects.toThrow(/step 0: "as" is required/);
    await expect(run([{ as: "init", call: "fork" }, { unblock: 0 }])).rejects.toThrow(/step 1: "unblock" must name a step with "blockAt"/);
    await expect(run([{ as: "init", call: "fork", blockAt: "nowhere" }])).rejects.toThrow(/step 0: "blockAt" must be one of/);
  });

  it("init may not exit: EPERM, and init goes on making calls", async () => {
    const out = await run([
      { as: "init", call: "exit", expect: { ret: -1, errno: "EPERM" } },
      { as: "init", call: "getpid", expect: { ret: 1 } },
      { as: "init", call: "lwp_exit", expect: { errno: "EPERM" } },
      { as: "init", call: "fork", name: "c", expect: { ret: 2 } },
    ]);
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("a fork that finds the proc table full waits for memory (M_WAITOK): pending, and the end audit is not run on the half-made fork", async () => {
    const out = await run(
      [
        { as: "init", call: "fork", name: "a", expect: { ret: 2 } },
        { as: "init", call: "fork", name: "b", expect: { ret: 3 } },
        { as: "init", call: "fork", name: "c" },
        { as: "a", call: "fork", name: "d" },
        { as: "b", call: "getpid", expect: { ret: 3 } },
        { as: "init", call: "getpid" },
      ],
      { limits: { tables: { proc: 3 } } },
    );
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
    expect(out.results[2]).toEqual({ step: 2, pending: true, waitingFor: "a free proc record (limits.tables.proc = 3)" });
    expect(out.results[3]).toMatchObject({ pending: true, waitingFor: expect.stringMatching(/proc/) });
    expect(out.results[5]).toMatchObject({ errno: "ESRCH", note: expect.stringMatching(/no thread free/) });
    expect(out.auditSkipped).toMatch(/steps 2, 3 still wait for memory/);
  }, 30_000);

  it("memory given back ends the wait: the child's exit frees a record, the waiting fork completes and the audit runs", async () => {
    const out = await run(
      [
        { as: "init", call: "fork", name: "a" },
        { as: "init", call: "fork", name: "b" },
        { as: "a", call: "fork", name: "c" },
        { as: "b", call: "exit" },
        { await: 2, expect: { errno: null } },
        { call: "ps" },
      ],
      { limits: { tables: { proc: 3 } } },
    );
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
    expect(out.auditSkipped).toBeUndefined();
    expect(out.ps.map((p) => p.name)).toEqual(["init", "a", "c"]);
  }, 30_000);
});
