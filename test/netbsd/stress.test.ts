/*
 * The NetBSD stress scenarios run clean for a short while on 4 cpus (every process exits and is
 * reaped by init, every table back to its boot count, every audit law holds).
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";

const SCENARIOS = ["fork-exit-wait", "vfork-exec", "clone-flags", "pgsignal-vs-fork", "maxproc-pressure", "traced-forks", "mixed"];

describe("netbsd stress scenarios, clean kernel", () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: no violation`, async () => {
      const { report, exitCode } = await stress({ kernel: "netbsd", scenario, cpus: 4, seconds: 1.5, mode: "free", seed: 11, chaos: 0.001, bugs: [], keepGoing: false });
      expect(report.violations.map((v) => `${v.law}: ${v.message}`)).toEqual([]);
      expect(report.verdict).toBe("clean");
      expect(exitCode).toBe(0);
      expect(report.ops.total).toBeGreaterThan(0);
    }, 40_000);
  }
});
