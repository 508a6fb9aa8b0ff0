/*
 * Counts and limits as the kernels keep them (issue 10 item 8): process 0 counts in nprocs
 * (000:297, 001:109) and in root's per-uid count (init_main.c), so with only init alive nprocs
 * is 2 and a maxproc of N lets exactly N - 2 more processes in; DragonFly's setrlimit clamps
 * RLIMIT_NPROC to maxprocperuid and raises anything below 1 to 1 (kern_plimit.c 357-365).
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";

const forks = (n: number, as = "init") => Array.from({ length: n }, () => ({ as, call: "fork" }));
const errnos = (out: Awaited<ReturnType<typeof runScript>>) => out.results.map((r) => r.errno ?? null);

describe("process 0 counts", () => {
  it("dragonfly: maxproc 5 lets root fork 3 children (nprocs 2 -> 5), then EAGAIN (000:396)", async () => {
    const out = await runScript({ kernel: "dragonfly", limits: { maxproc: 5, nproc: 100 }, steps: forks(4) });
    expect(errnos(out)).toEqual([null, null, null, "EAGAIN"]);
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("netbsd: maxproc 5 lets init fork 2 children (the third's count reaches maxproc, 001:229-237)", async () => {
    const out = await runScript({ kernel: "netbsd", limits: { maxproc: 5 }, steps: forks(3) });
    expect(errnos(out)).toEqual([null, null, "EAGAIN"]);
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("dragonfly: root's RLIMIT_NPROC counts process 0 too: nproc 4 lets init fork 2", async () => {
    const out = await runScript({ kernel: "dragonfly", limits: { maxproc: 64, nproc: 4 }, steps: forks(3) });
    expect(errnos(out)).toEqual([null, null, "EAGAIN"]);
  }, 30_000);
});

describe("dragonfly setrlimit(RLIMIT_NPROC)", () => {
  it("0 is raised to 1, not taken as no limit: a uid's only process cannot fork", async () => {
    const out = await runScript({
      kernel: "dragonfly",
      steps: [
        { as: "init", call: "fork", name: "u" },
        { as: "u", call: "setuid", args: { uid: 1000 } },
        { as: "u", call: "setrlimit", args: { resource: "NPROC", value: 0 }, expect: { errno: null } },
        { as: "u", call: "fork", expect: { errno: "EAGAIN" } },
      ],
    });
    expect(out.unmet).toEqual([]);
    expect(out.violations).toEqual([]);
  }, 30_000);

  it("a limit above maxprocperuid (maxproc / 2 below 128) is clamped to it; a negative one is RLIM_INFINITY", async () => {
    // maxproc 12: maxprocperuid 6. Root's count starts at 2 (process 0 and init).
    const out = await runScript({
      kernel: "dragonfly",
      limits: { maxproc: 12, nproc: 12 },
      steps: [
        { as: "init", call: "fork", name: "u" },
        { as: "u", call: "setuid", args: { uid: 1000 } },
        { as: "u", call: "setrlimit", args: { resource: "NPROC", value: -1 }, expect: { errno: "EPERM" } },
        { as: "init", call: "setrlimit", args: { resource: "NPROC", value: 100 }, expect: { errno: null } },
        ...forks(5),
      ],
    });
    expect(out.unmet).toEqual([]);
    // u went to uid 1000, so root's count is 2 again: four forks reach 6, the fifth is refused.
    expect(errnos(out).slice(4)).toEqual([null, null, null, null, "EAGAIN"]);
    expect(out.violations).toEqual([]);
  }, 30_000);
});
