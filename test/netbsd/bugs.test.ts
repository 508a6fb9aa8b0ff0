/*
 * Every nb.* bug of the catalogue is caught: a short stress run of its scenario on 4 cpus ends
 * in a violation of one of the laws the catalogue names, or in a hang when it names the watchdog.
 * A run is free-running (not reproducible to the step), so each bug gets up to three seeds.
 */
import { describe, expect, it } from "vitest";
import { CATALOG } from "../../src/bugs/catalog.js";
import { stress } from "../../src/run/stress.js";

const NB = CATALOG.filter((b) => b.kernel === "netbsd");

describe("netbsd bug catalogue", () => {
  it("has at least six nb.* entries", () => {
    expect(NB.length).toBeGreaterThanOrEqual(6);
    for (const b of NB) expect(b.id).toMatch(/^nb\./);
  });

  for (const b of NB) {
    it(`${b.id} is detected (${b.caughtBy.join(", ")})`, async () => {
      const seen: string[] = [];
      for (const seed of [1, 2, 3]) {
        const { report } = await stress({ kernel: "netbsd", scenario: b.scenario, cpus: 4, seconds: 6, mode: "free", seed, chaos: 0.001, bugs: [b.id], keepGoing: false, watchdogSeconds: 3 });
        if (report.verdict === "hang") seen.push("watchdog-hang");
        seen.push(...report.violations.map((v) => v.law));
        if (report.verdict === "violation" || report.verdict === "hang") break;
      }
      expect(seen.some((law) => b.caughtBy.includes(law)), `laws seen: ${seen.join(", ") || "none"}`).toBe(true);
    }, 60_000);
  }
});
