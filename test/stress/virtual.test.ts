/*
 * Virtual time (src/sched/virtual.ts): a run is a function of its seed and cost model; time is
 * what the model charges (double every cost and the length, and one cpu does the same work in
 * twice the virtual time); and simulated cpus run in parallel in virtual time, so a workload
 * with nothing shared but the kernel's locks gets more done on two of them than on one.
 */
import { describe, expect, it } from "vitest";
import { stress, type StressOptions } from "../../src/run/stress.js";
import type { CostModel } from "../../src/sched/virtual.js";

const COST: CostModel = { field: 200, sync: 250, sleep: 400, line: 100, ipiSend: 100, ipiArrive: 2000 };

function run(cpus: number, seconds: number, cost: CostModel) {
  const o: StressOptions = { kernel: "dragonfly", scenario: "fork-exit-wait-affine", cpus, seconds, mode: "virtual", cost, seed: 5, chaos: 0, bugs: [], keepGoing: false };
  return stress(o).then((x) => x.report);
}

describe("virtual time", () => {
  it("the same seed and cost model give the same run, event for event", async () => {
    const [a, b] = [await run(2, 0.004, COST), await run(2, 0.004, COST)];
    expect(a.verdict).toBe("clean");
    expect(a.eventHash).toBe(b.eventHash);
    expect(a.virtual!.windowSyscalls).toBeGreaterThan(0);
    expect(a.virtual).toEqual(b.virtual);
  });

  it("time is what the model charges: twice the costs, twice the virtual time for the same work", async () => {
    const double = Object.fromEntries(Object.entries(COST).map(([k, v]) => [k, 2 * v])) as unknown as CostModel;
    const [a, b] = [await run(1, 0.004, COST), await run(1, 0.008, double)];
    expect(b.virtual!.windowSyscalls).toBe(a.virtual!.windowSyscalls);
    expect(b.virtual!.syscallsPerSecond).toBeCloseTo(a.virtual!.syscallsPerSecond / 2, 6);
  });

  it("two cpus with a shell each get more done per virtual second than one", async () => {
    const [one, two] = [await run(1, 0.004, COST), await run(2, 0.004, COST)];
    expect(two.virtual!.syscallsPerSecond).toBeGreaterThan(1.5 * one.virtual!.syscallsPerSecond);
  });
});
