/*
 * The fork-hold scenario (issue 11 item 12: fork rate against a full process table): every held
 * process is live at once beside the shells, past the tables' default sizes, and the drain ends
 * them all, every table back to its boot count. Bounded by system calls, not time.
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";
import type { KernelName } from "../../src/kern/kernel.js";
import { placeNewThread } from "../../src/sched/placement.js";
import { imageTables } from "../../src/sched/spec.js";
import { LAB, labSpec } from "../../src/selftest/lab.js";
import { Image } from "../../src/shm/image.js";
import { installSync, type SchedServices } from "../../src/sync/seam.js";
import { SCENARIOS } from "../../stress/scenarios/index.js";
import { HOLD_FORKER_DEPTH, holdLimits } from "../../stress/scenarios/make.js";

/** More than NetBSD's default per-process pools (224) and DragonFly's maxproc-sized tables (scenario default 100 + room). */
const HELD = 400;

describe("fork-hold", () => {
  for (const kernel of ["dragonfly", "netbsd"] as KernelName[])
    it(`${kernel}: ${HELD} processes held at once, the shells fork beside them, the drain ends them all`, async () => {
      const { report } = await stress({ kernel, scenario: "fork-hold", population: HELD, cpus: 2, ops: 2 * HELD + 300, mode: "pct", seed: 1, chaos: 0, bugs: [], keepGoing: false, watchdogSeconds: 60 });
      expect(report.violations).toEqual([]);
      expect(report.verdict).toBe("clean"); // with the conservation audit: every held process reaped
      const calls = report.ops.bySyscall;
      // Every held process was forked (no EAGAIN: the limits grew with --population) before the
      // shells, and was still there for its holder's kill at the drain: all were live at once.
      expect(calls.fork.errno).toEqual({});
      expect(calls.kill).toMatchObject({ calls: HELD, ok: HELD });
      // The shells forked and reaped past the held ones.
      expect(calls.fork.ok).toBeGreaterThan(HELD + 50);
    });

  // Too big to run in a test: at 60,000 held the depth cut (378 slots) passes the spare room.
  it("dragonfly: RLIMIT_NPROC, as a holder or shell meets it, leaves room for every process, up to 65,000 held", () => {
    for (const held of [100, 10_000, 60_000, 65_000]) {
      const { nproc, maxproc } = holdLimits("dragonfly", held);
      const metByForker = nproc - Math.floor((nproc * HOLD_FORKER_DEPTH) / 320); // plimit_getadjvalue, kern_plimit.c 458-467
      expect(metByForker, `${held} held`).toBeGreaterThanOrEqual(maxproc);
    }
  });

  // The criterion's 2-cpu rates were bimodal by it: a shell forking before init made the next one
  // moved the shared round-robin on, and both shells could start on one cpu, the other idle.
  it("the shells start one on each cpu, whatever the other processes fork while init makes them", () => {
    const image = Image.create(imageTables(labSpec(1)));
    installSync(image, { current: () => ({}) } as unknown as SchedServices); // atomics' image only
    const labs = image.table(LAB);
    const nextcpu = labs.view(labs.alloc()).ptr("counter");
    for (const kernel of ["dragonfly", "netbsd"] as KernelName[]) {
      const { placement } = SCENARIOS.find((s) => s.kernel === kernel && s.name === "fork-hold")!;
      const made = { initChildren: 0 };
      const place = (creatorPid: number) => placeNewThread(placement ?? "spread", nextcpu, 2, 0, creatorPid, made);
      const initChildren = [0, 1, 3, 2, 1].map((othersMeanwhile) => {
        for (let i = 0; i < othersMeanwhile; i++) place(7);
        return place(1);
      });
      expect(initChildren, kernel).toEqual([0, 1, 0, 1, 0]);
    }
  });
});
