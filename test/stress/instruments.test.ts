/*
 * Instruments switched off (forkstorm bench measures their cost that way): lockstat counts
 * nothing, the event ring keeps nothing, and the run itself is the same run -- a controlled run's
 * hash, its violation and its step do not move.
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";
import { INSTRUMENTS } from "../../src/sched/spec.js";

const run = (off: readonly (typeof INSTRUMENTS)[number][]) =>
  stress({ kernel: "dragonfly", scenario: "rfork-flags", cpus: 2, ops: 600, mode: "pct", seed: 1, chaos: 0, bugs: ["df.fork-sigshare-no-ref"], keepGoing: false, instrumentsOff: off });

describe("instruments off", () => {
  it("count and record nothing, and leave the run as it was", async () => {
    const on = (await run([])).report;
    const off = (await run(INSTRUMENTS)).report;
    expect(on.verdict).toBe("violation");
    expect(on.lockstat.length).toBeGreaterThan(0);
    expect(on.violations[0].events.some((c) => c.events.length > 0)).toBe(true);

    expect(off.lockstat).toEqual([]);
    expect(off.violations[0].events.every((c) => c.events.length === 0)).toBe(true);
    expect({ law: off.violations[0].law, step: off.violations[0].step, hash: off.eventHash }).toEqual({ law: on.violations[0].law, step: on.violations[0].step, hash: on.eventHash });
  });
});
