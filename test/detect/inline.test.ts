/*
 * In-line laws (src/invariants/inline.ts): each silent on a real DragonFly state and firing on
 * the same state corrupted by hand, as the kernel code would call it; and, in a run, the law
 * reported where the count broke (fork1), not by the audit after the drain.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dragonflyNprocsCovered, dragonflyPidGiven, dragonflyTidGiven } from "../../src/invariants/inline.js";
import { dragonflyLiveLaws } from "../../src/invariants/live.js";
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import { G, lwpV, procglob, procV, tbl } from "../../src/kern/dragonfly/globals.js";
import { lwpsOf, procByPid } from "../../src/kern/dragonfly/walk.js";
import { PID_MAX, PROC } from "../../src/kern/dragonfly/structs.js";
import { installViolationSink, type ViolationInfo } from "../../src/shm/hooks.js";
import type { Image } from "../../src/shm/image.js";
import { stress } from "../../src/run/stress.js";
import { Driver, snapshot } from "../invariants/harness.js";

describe("dragonfly in-line laws on a hand-driven machine", () => {
  let img: Image;
  let restore: () => void;
  let a = 0;
  let b = 0;
  const found: ViolationInfo[] = [];
  /** The laws `check` reports on the state `corrupt` leaves, which is then undone. */
  const lawsAfter = (corrupt: () => void, check: () => void): string[] => {
    corrupt();
    found.length = 0;
    check();
    restore();
    return found.map((v) => v.law);
  };

  beforeAll(async () => {
    const d = await Driver.boot(dragonfly, 2);
    a = await d.ok(1, "fork");
    b = await d.ok(1, "fork");
    await d.ok(a, "lwp_create");
    await d.quiesce();
    img = d.image;
    expect(await d.stop()).toEqual([]);
    restore = snapshot(img);
    installViolationSink((v) => found.push(v));
  }, 60_000);
  afterAll(() => restore?.());

  it("pid: silent for a pid one process has; pid-duplicate once another has it; pid-range past PID_MAX", () => {
    expect(lawsAfter(() => {}, () => dragonflyPidGiven(a))).toEqual([]);
    // b given a's pid and linked at the head of a's chain (the only chain a pid can be on)
    const duplicate = () => {
      const chain = procglob(a, img);
      const pb = procV(procByPid(img, b), img);
      pb.p_pid = a;
      pb.p_list = chain.allproc;
      chain.allproc = pb.h;
    };
    expect(lawsAfter(duplicate, () => dragonflyPidGiven(a))).toEqual(["pid-duplicate"]);
    expect(lawsAfter(() => {}, () => dragonflyPidGiven(PID_MAX + 1))).toEqual(["pid-range"]);
  });

  it("tid: silent for the new lwp's own tid; tid-duplicate when another lwp has it; tid-range below 1", () => {
    const p = procByPid(img, a);
    const [l1, l2] = lwpsOf(img, p);
    const tid = (h: number) => lwpV(h, img).lwp_tid;
    expect(lawsAfter(() => {}, () => dragonflyTidGiven(p, l2, tid(l2)))).toEqual([]);
    expect(lawsAfter(() => void (lwpV(l2, img).lwp_tid = tid(l1)), () => dragonflyTidGiven(p, l2, tid(l2)))).toEqual(["tid-duplicate"]);
    expect(lawsAfter(() => void (lwpV(l2, img).lwp_tid = -0x80000000), () => dragonflyTidGiven(p, l2, tid(l2)))).toEqual(["tid-range"]);
  });

  it("live nprocs-undercount: silent on a fork that counts and allocates between its two loads, firing on a lost count", () => {
    const live = () => dragonflyLiveLaws(img).map((f) => f.law).filter((l) => l === "nprocs-undercount");
    expect(live()).toEqual([]);
    const procs = tbl(PROC, img);
    const inUse = procs.inUse;
    // The sampler's first load of nprocs has been made; a fork counts and allocates before it counts the records.
    procs.inUse = function () {
      G(img).nprocs = G(img).nprocs + 1;
      return inUse.call(this) + 1;
    };
    try {
      expect(live()).toEqual([]);
    } finally {
      procs.inUse = inUse;
      restore();
    }
    G(img).nprocs = G(img).nprocs - 1; // a count lost for good: below in both loads
    try {
      expect(live()).toEqual(["nprocs-undercount"]);
    } finally {
      restore();
    }
  });

  it("nprocs: silent while nprocs covers the proc records; nprocs-undercount one below", () => {
    expect(lawsAfter(() => {}, () => dragonflyNprocsCovered("test"))).toEqual([]);
    expect(lawsAfter(() => void (G(img).nprocs = tbl(PROC, img).inUse() - 1), () => dragonflyNprocsCovered("test"))).toEqual(["nprocs-undercount"]);
  });
});

describe("dragonfly in-line laws in a run", () => {
  it("a count lost in fork1 is reported there, at the allocation, before any drain", async () => {
    const { report } = await stress({ kernel: "dragonfly", scenario: "maxproc-pressure", cpus: 2, ops: 300, mode: "pct", seed: 1, chaos: 0, bugs: ["df.nprocs-after-block"], keepGoing: false, detectors: [] });
    expect(report.violations[0].law).toBe("nprocs-undercount");
    expect(report.violations[0].stack).toMatch(/fork1/);
    expect(report.drainedAtOps).toBeNull();
    const clean = (await stress({ kernel: "dragonfly", scenario: "maxproc-pressure", cpus: 2, ops: 300, mode: "pct", seed: 1, chaos: 0, bugs: [], keepGoing: false, detectors: [] })).report;
    expect(clean.violations).toEqual([]);
  }, 60_000);
});
