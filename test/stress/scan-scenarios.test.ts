/*
 * The reach scenarios of session 7 run clean on the clean kernels, in a short controlled run each:
 * DragonFly ps-wait (sysctl kern.proc scans holding zombies and their lwps while threaded parents
 * fork and reap) and NetBSD traced-threads (tracees forking from several lwps). The 10-minute
 * free runs and the pct seeds that validate them are in the mutate note; this keeps them clean.
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";

describe("session-7 reach scenarios, clean kernels", () => {
  for (const [kernel, scenario, site] of [["dragonfly", "ps-wait", "sysctl_kern_proc:PHOLD#1"], ["netbsd", "traced-threads", "lwp_stopwait:retest#1"]] as const) {
    it(`${kernel} ${scenario}: no violation, and the interlock it is for is reached`, async () => {
      const { report, exitCode } = await stress({ kernel, scenario, cpus: 2, ops: 80, seconds: 60, mode: "pct", depth: 20, seed: 1, chaos: 0, bugs: [], keepGoing: false });
      expect(report.violations.map((v) => `${v.law}: ${v.message}`)).toEqual([]);
      expect(report.verdict).toBe("clean");
      expect(exitCode).toBe(0);
      expect(report.coverage.rows.find((r) => r.site.endsWith(site))?.hits ?? 0).toBeGreaterThan(0);
    }, 60_000);
  }
});
