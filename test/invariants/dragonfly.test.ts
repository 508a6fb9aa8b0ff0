/*
 * DragonFly audits: silent on clean states (scripts and a hand-driven machine with vfork
 * waiting, zombies, reapers, lwps, setuid, shared tables) and, for each law, firing exactly that
 * law on the same state corrupted by hand.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditDragonfly, DRAGONFLY_LAWS } from "../../src/invariants/dragonfly.js";
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import { credV, G, lwpV, pgrpV, procglob, procV, reapV, sessV, sigactsV, fdV, fdtolV, uiV, vmV, plimitV, tbl } from "../../src/kern/dragonfly/globals.js";
import { lwpsOf, procByPid } from "../../src/kern/dragonfly/walk.js";
import { P_PPWAIT, PARGS, PROC, REAPER_STAT_OWNED, SIDL } from "../../src/kern/dragonfly/structs.js";
import { THREAD } from "../../src/shm/core.js";
import type { Image } from "../../src/shm/image.js";
import { NULL } from "../../src/shm/table.js";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";
// The runner from the build: its kernel registry imports models by a variable path.
import { runScript } from "../../dist/src/script/runner.js";
import { Driver, snapshot } from "./harness.js";

const MINE = new Set(DRAGONFLY_LAWS.map((l) => l.name));
const lawsOf = (img: Image) => [...new Set(auditDragonfly(img).map((f) => f.law))].sort();

describe("dragonfly audits on the shipped scripts", () => {
  const dir = join(PACKAGE_ROOT, "stress", "scripts", "dragonfly");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    it(`${f}: no audit law fires`, async () => {
      const o = await runScript(JSON.parse(readFileSync(join(dir, f), "utf8")));
      expect(o.violations.filter((v) => MINE.has(v.law))).toEqual([]);
    });
  }
});

describe("dragonfly audits on a hand-driven machine", () => {
  let d: Driver;
  let img: Image;
  let restore: () => void;
  const pid: Record<string, number> = {};
  const P = (name: string) => procV(procByPid(img, pid[name]), img);

  beforeAll(async () => {
    d = await Driver.boot(dragonfly, 2);
    pid.a = await d.ok(1, "fork");
    await d.ok(pid.a, "procctl", { cmd: "REAP_ACQUIRE" });
    pid.b = await d.ok(pid.a, "fork");
    await d.call(pid.b, "exit", { status: 3 }); // a zombie under a
    pid.t = await d.ok(pid.a, "rfork", { flags: ["RFPROC", "RFTHREAD"] }); // shared fd table + fdtol
    pid.s = await d.ok(pid.a, "rfork", { flags: ["RFPROC", "RFFDG", "RFSIGSHARE", "RFMEM"] }); // shared sigacts, vmspace
    pid.dd = await d.ok(1, "fork");
    await d.ok(pid.dd, "setuid", { uid: 5 });
    await d.ok(pid.dd, "setpgid", { pid: 0, pgid: 0 });
    pid.e = await d.ok(pid.dd, "fork");
    await d.ok(pid.e, "procctl", { cmd: "REAP_ACQUIRE" }); // nested reaper under init's
    pid.f = await d.ok(pid.e, "fork");
    await d.ok(1, "lwp_create");
    await d.ok(pid.f, "lwp_create");
    expect(await d.call(pid.a, "vfork")).toBe("pending"); // a asleep in "ppwait"
    await d.quiesce();
    pid.c = Math.max(...dragonfly.ps(d.image).map((e) => e.pid));
    img = d.image;
    expect(lawsOf(img)).toEqual([]); // quiescent, machine still running
    expect(await d.stop()).toEqual([]);
    restore = snapshot(img);
  }, 60_000);
  afterAll(() => restore?.());

  it("the state is the intended one", () => {
    expect(P("b").p_stat).toBe(4); // SZOMB
    expect(P("c").p_flags & P_PPWAIT).toBe(P_PPWAIT);
    expect(P("t").p_fdtol).not.toBe(NULL);
    expect(P("s").p_sigacts).toBe(P("a").p_sigacts);
    expect(credV(P("f").p_ucred, img).cr_ruid).toBe(5);
    expect(lwpsOf(img, procByPid(img, 1)).length).toBe(2);
  });

  it("is clean after stop", () => {
    expect(auditDragonfly(img)).toEqual([]);
  });

  /** Corrupt, audit, undo: exactly `law` must fire. */
  const cases: [string, () => void][] = [
    ["proc-lists", () => void tbl(PROC, img).alloc()],
    ["nprocs", () => void (G(img).nprocs = G(img).nprocs + 1)],
    ["maxproc-overshoot", () => void (G(img).maxproc = 1)],
    ["proc-sidl", () => void (P("t").p_stat = SIDL)],
    ["parent-child", () => void (P("b").p_pptr = procByPid(img, 1))],
    [
      "pgrp-members",
      () => {
        const pg = pgrpV(procV(procByPid(img, 1), img).p_pgrp, img);
        procV(pg.pg_members, img).p_pglist = NULL; // truncate init's group after its first member
      },
    ],
    ["pgrp-refs", () => void (pgrpV(P("dd").p_pgrp, img).pg_refs += 1)],
    ["session-refs", () => void (sessV(pgrpV(P("dd").p_pgrp, img).pg_session, img).s_count += 1)],
    [
      "lwp-tree",
      () => {
        const [l1, l2] = lwpsOf(img, procByPid(img, 1));
        lwpV(l2, img).lwp_tid = lwpV(l1, img).lwp_tid; // duplicate tid
      },
    ],
    ["lwp-count", () => void (P("f").p_nthreads += 1)],
    ["phold-count", () => void (P("e").p_lock += 1)],
    ["reaper-refs", () => void (reapV(P("e").p_reaper, img).refs += 1)],
    ["reaper-topology", () => void (reapV(P("a").p_reaper, img).flags &= ~REAPER_STAT_OWNED)],
    ["uid-proccnt", () => void (uiV(credV(P("f").p_ucred, img).cr_ruidinfo, img).ui_proccnt += 1)],
    ["uid-refs", () => void (uiV(credV(P("f").p_ucred, img).cr_ruidinfo, img).ui_ref += 1)],
    ["ucred-refs", () => void (credV(P("f").p_ucred, img).cr_ref -= 1)],
    ["sigacts-refs", () => void (sigactsV(P("s").p_sigacts, img).ps_refcnt -= 1)],
    ["filedesc-refs", () => void (fdV(P("t").p_fd, img).fd_refcnt += 1)],
    ["fdtol-refs", () => void (fdtolV(P("t").p_fdtol, img).fdl_refcount += 1)],
    [
      "pargs-refs",
      () => {
        const h = tbl(PARGS, img).alloc(); // a pargs nobody holds, counted as held once
        tbl(PARGS, img).view(h).ar_ref = 1;
      },
    ],
    ["vmspace-refs", () => void (vmV(P("s").p_vmspace, img).vm_refcnt += 1)],
    ["plimit-refs", () => void (plimitV(P("e").p_limit, img).p_refcnt += 1)],
    [
      "ppwait",
      () => {
        // The vfork parent's thread is no longer asleep on its own address.
        const T = img.table(THREAD);
        for (let s = 0; s < T.capacity; s++) {
          const td = T.handleAt(s);
          if (td !== NULL && T.view(td).td_proc === procByPid(img, pid.a) && T.view(td).td_wchan !== 0) T.view(td).td_wchan = 0;
        }
      },
    ],
    ["ppwait-invfork", () => void (P("a").p_upmap_invfork += 1)],
  ];

  it("has a corruption test for every law", () => {
    expect(cases.map(([l]) => l).sort()).toEqual([...MINE].sort());
  });

  for (const [law, corrupt] of cases) {
    it(`${law}: fires alone on a corrupted state, silent once restored`, () => {
      corrupt();
      try {
        const found = auditDragonfly(img);
        expect([...new Set(found.map((f) => f.law))]).toEqual([law]);
        expect(found[0].message).toMatch(/\S/);
      } finally {
        restore();
      }
      expect(auditDragonfly(img)).toEqual([]);
    });
  }

  it("names the records in its messages", () => {
    P("b").p_pptr = procByPid(img, 1);
    try {
      const m = auditDragonfly(img).map((f) => f.message).join("\n");
      expect(m).toMatch(new RegExp(`proc\\[\\d+\\] pid ${pid.b}`));
    } finally {
      restore();
    }
  });

  it("proc-lists: a process on a chain its pid does not hash to", () => {
    P("b").p_pid = P("b").p_pid + 1000; // unique still, but ALLPROC_HASH moves it to another chain
    try {
      expect(auditDragonfly(img).filter((f) => f.law === "proc-lists").map((f) => f.message)).toEqual([expect.stringMatching(/not on its ALLPROC_HASH chain/)]);
    } finally {
      restore();
    }
  });

  it("pgrp-members: a member whose le_prev does not name the member before it", () => {
    P("b").p_pglist_prev = procByPid(img, 1);
    try {
      const found = auditDragonfly(img).filter((f) => f.law === "pgrp-members").map((f) => f.message);
      expect(found.some((m) => /p_pglist_prev/.test(m))).toBe(true);
    } finally {
      restore();
    }
  });

  it("reports a cycle instead of hanging", () => {
    const chain = procglob(1, img); // init's
    procV(chain.allproc, img).p_list = chain.allproc; // the chain loops on its head
    try {
      expect(lawsOf(img)).toContain("proc-lists");
    } finally {
      restore();
    }
  });
});

