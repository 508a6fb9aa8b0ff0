/*
 * NetBSD audits: silent on clean states (the shipped scripts and a hand-driven machine with a
 * vfork parent waiting, a zombie, a stopped child, shared clone tables, lwps, setuid) and, for
 * each law, firing exactly that law on the same state corrupted by hand.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditNetbsd, NETBSD_LAWS } from "../../src/invariants/netbsd.js";
import { netbsd } from "../../src/kern/netbsd/model.js";
import {
  CWDINFO, FILEDESC, GLOBALS, pidTableEntry, KMUTEXOBJ, LWP, PGRP, PL_PPWAIT, PLIMIT, PROC, SESSION, SIGACTS, SSTOP, SZOMB, UIDINFO, VMSPACE,
} from "../../src/kern/netbsd/structs.js";
import { allproc, lwpsOf, zombproc } from "../../src/kern/netbsd/walk.js";
import { THREAD } from "../../src/shm/core.js";
import type { Image } from "../../src/shm/image.js";
import { NULL, type Handle } from "../../src/shm/table.js";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";
// The runner from the build: its kernel registry imports models by a variable path.
import { runScript } from "../../dist/src/script/runner.js";
import { Driver, snapshot } from "./harness.js";

const MINE = new Set(NETBSD_LAWS.map((l) => l.name));
const lawsOf = (img: Image) => [...new Set(auditNetbsd(img).map((f) => f.law))].sort();

describe("netbsd audits on the shipped scripts", () => {
  const dir = join(PACKAGE_ROOT, "stress", "scripts", "netbsd");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    it(`${f}: no audit law fires`, async () => {
      const o = await runScript(JSON.parse(readFileSync(join(dir, f), "utf8")));
      expect(o.violations.filter((v) => MINE.has(v.law))).toEqual([]);
    });
  }
});

describe("netbsd audits on a hand-driven machine", () => {
  let d: Driver;
  let img: Image;
  let restore: () => void;
  const pid: Record<string, number> = {};
  const byPid = (n: number): Handle => [...allproc(img), ...zombproc(img)].find((h) => img.table(PROC).view(h).p_pid === n) ?? NULL;
  const P = (name: string) => img.table(PROC).view(byPid(pid[name]));
  const G = () => img.table(GLOBALS).view(img.table(GLOBALS).handleAt(0));

  beforeAll(async () => {
    d = await Driver.boot(netbsd, 2);
    pid.a = await d.ok(1, "fork");
    pid.b = await d.ok(pid.a, "fork");
    await d.call(pid.b, "exit", { status: 3 }); // a zombie under a
    pid.c = await d.ok(pid.a, "clone", { flags: ["CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND"] });
    pid.dd = await d.ok(1, "fork");
    await d.ok(pid.dd, "setuid", { uid: 5 });
    await d.ok(pid.dd, "setpgid", { pid: 0, pgid: 0 });
    pid.e = await d.ok(pid.dd, "fork");
    await d.ok(pid.e, "lwp_create");
    await d.ok(1, "lwp_create");
    await d.ok(pid.dd, "sysctl", { name: "proc.curproc.stopfork", value: 1 });
    pid.s = await d.ok(pid.dd, "fork"); // starts SSTOP
    expect(await d.call(pid.a, "vfork")).toBe("pending"); // a in cv_wait on p_waitcv
    await d.quiesce();
    pid.v = Math.max(...netbsd.ps(d.image).map((e) => e.pid));
    img = d.image;
    expect(lawsOf(img)).toEqual([]); // quiescent, machine still running
    expect(await d.stop()).toEqual([]);
    restore = snapshot(img);
  }, 60_000);
  afterAll(() => restore?.());

  it("the state is the intended one", () => {
    expect(P("b").p_stat).toBe(SZOMB);
    expect(P("s").p_stat).toBe(SSTOP);
    expect(P("v").p_lflag & PL_PPWAIT).toBe(PL_PPWAIT);
    expect(P("c").p_sigacts).toBe(P("a").p_sigacts);
    expect(P("c").p_lock).toBe(P("a").p_lock);
    expect(P("e").p_uid).toBe(5);
    expect(lwpsOf(img, byPid(1)).length).toBe(2);
  });

  it("is clean after stop", () => {
    expect(auditNetbsd(img)).toEqual([]);
  });

  const cases: [string, () => void][] = [
    ["proc-lists", () => void img.table(PROC).alloc()],
    ["nprocs", () => void (G().nprocs += 1)],
    ["maxproc", () => void (G().maxproc = G().nprocs)],
    ["parent-child", () => void (P("e").p_pptr = byPid(1))],
    ["nstopchild", () => void (P("dd").p_nstopchild += 1)],
    [
      "pgrp-members",
      () => {
        const pg = img.table(PGRP).view(P("a").p_pgrp);
        img.table(PROC).view(pg.pg_members).p_pglist = NULL; // truncate init's group after its first member
      },
    ],
    ["pid-table", () => void (pidTableEntry(img, pid.e & G().pid_tbl_mask).pt_pid += G().pid_tbl_mask + 1)], // e's slot names a pid of the next round
    ["session-refs", () => void (img.table(SESSION).view(img.table(PGRP).view(P("dd").p_pgrp).pg_session).s_count += 1)],
    [
      "lwp-list",
      () => {
        const [l1, l2] = lwpsOf(img, byPid(pid.e));
        img.table(LWP).view(l2).l_lid = img.table(LWP).view(l1).l_lid; // duplicate l_lid
      },
    ],
    ["lwp-count", () => void (P("e").p_nlwps += 1)],
    [
      "uid-proccnt",
      () => {
        const U = img.table(UIDINFO);
        for (let s = 0; s < U.capacity; s++) if (U.handleAt(s) !== NULL && U.view(U.handleAt(s)).ui_uid === 5) U.view(U.handleAt(s)).ui_proccnt += 1;
      },
    ],
    ["sigacts-refs", () => void (img.table(SIGACTS).view(P("c").p_sigacts).sa_refcnt -= 1)],
    ["filedesc-refs", () => void (img.table(FILEDESC).view(P("c").p_fd).fd_refcnt += 1)],
    ["cwdinfo-refs", () => void (img.table(CWDINFO).view(P("c").p_cwdi).cwdi_refcnt += 1)],
    ["kmutexobj-refs", () => void (img.table(KMUTEXOBJ).view(P("c").p_lock).mo_refcnt -= 1)],
    ["plimit-refs", () => void (img.table(PLIMIT).view(P("e").p_limit).pl_refcnt += 1)],
    ["vmspace-refs", () => void (img.table(VMSPACE).view(P("c").p_vmspace).vm_refcnt += 1)],
    [
      "ppwait",
      () => {
        const td = img.table(LWP).view(P("v").p_vforklwp).l_thread;
        img.table(THREAD).view(td).td_wchan = 0; // the vforker no longer sleeps on p_waitcv
      },
    ],
  ];

  it("has a corruption test for every law", () => {
    expect(cases.map(([l]) => l).sort()).toEqual([...MINE].sort());
  });

  for (const [law, corrupt] of cases) {
    it(`${law}: fires alone on a corrupted state, silent once restored`, () => {
      corrupt();
      try {
        const found = auditNetbsd(img);
        expect([...new Set(found.map((f) => f.law))]).toEqual([law]);
      } finally {
        restore();
      }
      expect(auditNetbsd(img)).toEqual([]);
    });
  }

  it("names the records in its messages", () => {
    P("e").p_pptr = byPid(1);
    try {
      expect(auditNetbsd(img).map((f) => f.message).join("\n")).toMatch(new RegExp(`proc\\[\\d+\\] pid ${pid.e}`));
    } finally {
      restore();
    }
  });
});
