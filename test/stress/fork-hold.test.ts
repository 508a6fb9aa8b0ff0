/*
 * The fork-hold scenario (issue 11 item 12: fork rate against a full process table): every held
 * process is live at once beside the shells, past the tables' default sizes, and the drain ends
 * them all, every table back to its boot count. Bounded by system calls, not time.
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";
import type { KernelName } from "../../src/kern/kernel.js";
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
});

