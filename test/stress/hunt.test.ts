/*
 * The hunt: a catalogued bug is detected in every run and the clean baseline on the same budget
 * shows nothing; the report has the contract's fields. (The full catalogue runs in the bug tests
 * and in `forkstorm hunt`; here one bug per mode keeps the suite short.)
 */
import { describe, expect, it } from "vitest";
import { hunt } from "../../src/run/hunt.js";

describe("hunt", () => {
  it("free mode: detects a bug in every run, the baseline stays clean", async () => {
    const { report, exitCode } = await hunt({ kernel: "netbsd", bugs: ["nb.sharesigs-no-hold"], seeds: 2, budget: 4, cpus: 4, mode: "free", seed: 1, chaos: 0.001 });
    expect(report).toMatchObject({ schema: 1, command: "hunt", verdict: "pass" });
    expect(report.bugs).toHaveLength(1);
    expect(report.bugs[0]).toMatchObject({ id: "nb.sharesigs-no-hold", kernel: "netbsd", interlock: expect.any(String), runs: 2, detected: 2 });
    expect(report.bugs[0].secondsToDetect).toHaveLength(2);
    expect(report.bugs[0].detectedBy.length).toBeGreaterThan(0);
    expect(report.baseline).toEqual([expect.objectContaining({ kernel: "netbsd", runs: 2, violations: 0 })]);
    expect(exitCode).toBe(0);
  }, 120_000);

  it("pct: counts executions to detection", async () => {
    const { report } = await hunt({ kernel: "dragonfly", bugs: ["df.fork-no-pglock"], seeds: 2, budget: 4, cpus: 4, mode: "pct", seed: 1, chaos: 0 });
    const row = report.bugs[0];
    expect(row.detected).toBe(2);
    expect(row.executionsToDetect).toHaveLength(2);
    expect(row.medianExecutionsToDetect).toBeGreaterThanOrEqual(1);
    expect(report.baseline[0].executions).toBeGreaterThan(0);
  }, 120_000);
});
