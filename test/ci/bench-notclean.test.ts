/*
 * A bench run that measures nothing says why (issue 11: measureOverhead threw "ended violation"
 * without the law, and a free DragonFly mixed run can meet a defect of the seed kernel itself);
 * and measureOverhead's rounds give no configuration a place of its own in the order.
 */
import { describe, expect, it } from "vitest";
import { notClean, OVERHEAD_CONFIGS, roundOrder } from "../../src/bench/overhead.js";
import { stress } from "../../src/run/stress.js";

describe("bench: a run that is no measurement", () => {
  it("names the laws it broke and the first finding", async () => {
    const { report } = await stress({ kernel: "dragonfly", scenario: "maxproc-pressure", cpus: 2, ops: 300, mode: "pct", seed: 1, chaos: 0, bugs: ["df.nprocs-after-block"], keepGoing: false, detectors: [] });
    const why = notClean(report);
    expect(why).toMatch(/^ended violation \(nprocs-undercount[,;]/);
    expect(why).toContain(report.violations[0]!.message);
  }, 60_000);
});

describe("bench: the instruments' rounds", () => {
  it("over as many rounds as configurations, put each configuration in each place once", () => {
    const configs = Array.from({ length: OVERHEAD_CONFIGS }, (_, i) => i);
    const rounds = configs.map((r) => roundOrder(configs, r));
    expect(rounds[0]).toEqual(configs);
    for (const r of rounds) expect([...r].sort()).toEqual(configs);
    for (const place of configs) expect(rounds.map((r) => r[place]).sort()).toEqual(configs);
  });
});
