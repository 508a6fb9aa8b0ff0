/*
 * Every may-block point drops the tokens (NOTES A1, issue 10 item 1): a call held at a point
 * with "blockAt" sleeps there, its p_token released, while other steps change what the token
 * guarded; after "unblock" the seed's own code decides what happens. Each test takes one window
 * (the step result says `held: true`) and shows the seed's re-check -- or the order of its reads
 * -- handling the change; the windows the seed does not handle are findings D4 and D5
 * (stress/scripts/dragonfly/findings, test/dragonfly/findings.test.ts).
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";

type Step = Record<string, unknown>;
const df = (steps: Step[]) => runScript({ kernel: "dragonfly", cpus: 2, steps });

/** The script ran, the window was taken, and every expectation and law held. */
function clean(out: Awaited<ReturnType<typeof df>>): void {
  expect(out.unmet).toEqual([]);
  expect(out.violations).toEqual([]);
}

describe("dragonfly may-block windows (blockAt)", () => {
  it("000:438 kmalloc(p2): p1 becomes a reaper meanwhile; fork1 reads p_reaper after the allocation (000:458), so the child holds the new reaper", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "lwp_create", name: "t2" },
      { as: "p", call: "fork", name: "c", blockAt: "kmalloc:proc" },
      { as: "t2", call: "procctl", args: { cmd: "REAP_ACQUIRE" }, expect: { errno: null } },
      { unblock: 2, expect: { held: true } },
      { await: 2, expect: { errno: null } },
      // refs minus the caller's own: the child's p_reaper is the one reference left (000:991).
      { as: "t2", call: "procctl", args: { cmd: "REAP_STATUS" }, expect: { refs: 1 } },
    ]);
    clean(out);
  }, 30_000);

  it("000:517 kmalloc(sigacts): another lwp of p1 ignores SIGUSR1 meanwhile; the child copies the sigacts after the allocation and ignores it too", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "lwp_create", name: "t2" },
      { as: "p", call: "fork", name: "c", blockAt: "kmalloc:sigacts" },
      { as: "t2", call: "sigaction", args: { sig: "SIGUSR1", handler: "ignore" }, expect: { errno: null } },
      { unblock: 2, expect: { held: true } },
      { await: 2, expect: { errno: null } },
      { as: "p", call: "kill", args: { pid: "c", sig: "SIGUSR1" }, expect: { errno: null } },
      { as: "c", call: "getppid", expect: { ret: 2 } },
    ]);
    clean(out);
  }, 30_000);

  it("000:660 vm_fork: pg_lock stays held SHARED across the sleep, so a killpg of the group waits for the fork and then reaches the child too", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "sh" },
      { as: "sh", call: "setpgid", args: { pid: 0, pgid: 0 } },
      { as: "sh", call: "fork", name: "c", blockAt: "vm_fork" },
      { as: "init", call: "killpg", args: { pgid: "sh", sig: "SIGKILL" } },
      { unblock: 2, expect: { held: true } },
      { await: 3, expect: { errno: null } },
      { call: "ps" },
    ]);
    clean(out);
    expect(out.results[3]).toMatchObject({ errno: null, late: true }); // the killpg had to wait for pg_lock
    expect(out.ps.map((p) => p.pid)).toEqual([1]); // sh and its child were both killed (init reaped them)
  }, 30_000);

  it("000:735 kmalloc(lwp): two lwp_creates of one process; the tid is picked after the allocation under p_token, so the tids stay distinct", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "lwp_create", name: "t2", expect: { ret: 2 } },
      { as: "p", call: "lwp_create", name: "t3", blockAt: "kmalloc:lwp" },
      { as: "t2", call: "lwp_create", name: "t4", expect: { ret: 3 } },
      { unblock: 2, expect: { held: true } },
      { await: 2, expect: { ret: 4, errno: null } },
      { call: "ps" },
    ]);
    clean(out);
    expect(out.ps.find((p) => p.name === "p")!.nthreads).toBe(4);
  }, 30_000);

  it("000:778 lwkt_alloc_thread: the forking lwp's process is killed meanwhile; the fork completes, then the parent exits and the child lives on", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "fork", name: "c", blockAt: "lwkt_alloc_thread" },
      { as: "init", call: "kill", args: { pid: "p", sig: "SIGKILL" }, expect: { errno: null } },
      { unblock: 1, expect: { held: true } },
      { as: "c", call: "getppid", expect: { ret: 1 } },
    ]);
    clean(out);
  }, 30_000);

  it("000:950 kmalloc(sysreaper): two lwps acquire; after the allocation the seed looks again, so the second gets EALREADY and frees its record", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "p" },
      { as: "p", call: "lwp_create", name: "t2" },
      { as: "p", call: "procctl", args: { cmd: "REAP_ACQUIRE" }, blockAt: "kmalloc:sysreaper" },
      { as: "t2", call: "procctl", args: { cmd: "REAP_ACQUIRE" }, expect: { errno: null } },
      { unblock: 2, expect: { held: true } },
      { await: 2, expect: { errno: "EALREADY" } },
    ]);
    clean(out);
  }, 30_000);

  it("uicreate (kern_resource.c 942-978): two setuids to a new uid; the allocation may block, the second look finds the first one's record", async () => {
    const out = await df([
      { as: "init", call: "fork", name: "a" },
      { as: "init", call: "fork", name: "b" },
      { as: "a", call: "setuid", args: { uid: 1000 }, blockAt: "kmalloc:uidinfo" },
      { as: "b", call: "setuid", args: { uid: 1000 }, expect: { errno: null } },
      { unblock: 2, expect: { held: true } },
      { await: 2, expect: { errno: null } },
      { call: "ps" },
    ]);
    clean(out); // one uidinfo for uid 1000 (law uid-refs), counting both processes (uid-proccnt)
    expect(out.ps.filter((p) => p.uid === 1000).length).toBe(2);
  }, 30_000);

  it("a call never reaches a point it was armed for: unblock says so, and nothing is held", async () => {
    const out = await df([
      { as: "init", call: "getpid", blockAt: "vm_fork" },
      { unblock: 0, expect: { held: false } },
      { as: "init", call: "fork", name: "c", expect: { errno: null } },
    ]);
    clean(out);
  }, 30_000);
});
