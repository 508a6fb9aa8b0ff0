/*
 * The reach scenarios of sessions 7 and 8 run clean on the clean kernels, in a short controlled run
 * each: DragonFly ps-wait (sysctl kern.proc scans holding zombies and their lwps while threaded
 * parents fork and reap), ps-setuid (a credential replaced under those scans and kill -0 polls) and
 * reaper-status (procctl(REAP_STATUS) beside a reaper's acquire, exits and release),
 * NetBSD traced-threads (tracees forking from several lwps) and sig-fork (lwps forking while another
 * changes a signal's disposition). The 10-minute free runs and the pct seeds that validate them
 * are in the mutate note; this keeps them clean, and reaching the interlock each is for.
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";

/** Enough calls for each scenario's first action to reach its interlock (50). */
const OPS = 50;

const SCENARIOS = [
  ["dragonfly", "ps-wait", "sysctl_kern_proc:PHOLD#1"],
  ["dragonfly", "ps-setuid", "sys_setuid:spin_lock#1"],
  ["dragonfly", "reaper-status", "sys_procctl:lwkt_gettoken_shared#1"],
  ["netbsd", "traced-threads", "lwp_stopwait:retest#1"],
  ["netbsd", "sig-fork", "sigactsinit:mutex_enter#1"],
] as const;

describe("reach scenarios, clean kernels", () => {
  for (const [kernel, scenario, site] of SCENARIOS) {
    it(`${kernel} ${scenario}: no violation, and the interlock it is for is reached`, async () => {
      const { report, exitCode } = await stress({ kernel, scenario, cpus: 2, ops: OPS, seconds: 60, mode: "pct", depth: 20, seed: 1, chaos: 0, bugs: [], keepGoing: false });
      expect(report.violations.map((v) => `${v.law}: ${v.message}`)).toEqual([]);
      expect(report.verdict).toBe("clean");
      expect(exitCode).toBe(0);
      expect(report.coverage.rows.find((r) => r.site.endsWith(site))?.hits ?? 0).toBeGreaterThan(0);
    }, 60_000);
  }
});
