/*
 * enterpgrp moves p_pgrp straight from the old group to the new one (kern_proc.c enterpgrp
 * holds the new pg_token, p_token and the old pg_token): a setpgid racing a fork, a wait or a
 * kill of the same process never sees p_pgrp NULL. Regression for the model's old two-step
 * leave-then-join, which left p_pgrp NULL with no token held (null-deref in setpgid, seed 1 mixed).
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";

describe("dragonfly process groups", () => {
  it("parent and child both setpgid the child while it forks: one group, consistent members", async () => {
    const out = await runScript({
      kernel: "dragonfly",
      cpus: 4,
      steps: [
        { as: "init", call: "fork", name: "sh" },
        { as: "sh", call: "fork", name: "job" },
        { as: "job", call: "fork", name: "k1", async: true },
        { as: "sh", call: "setpgid", args: { pid: "job", pgid: "job" }, async: true },
        { as: "job", call: "setpgid", args: { pid: 0, pgid: 0 }, async: true },
        { await: 2, expect: { errno: null } },
        { await: 3, expect: { errno: null } },
        { as: "job", call: "fork", name: "k2", expect: { errno: null } },
        { as: "sh", call: "setpgid", args: { pid: "job", pgid: "sh" }, expect: { errno: "EPERM" } },
        { call: "ps" },
      ],
    });
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
    const job = out.ps.find((p) => p.name === "job")!;
    expect(job.pgid).toBe(job.pid);
    expect(out.ps.find((p) => p.name === "k2")!.pgid).toBe(job.pid);
  }, 30_000);
});
