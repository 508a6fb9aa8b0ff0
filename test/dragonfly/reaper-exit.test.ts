/*
 * Reapers exiting while their descendants exit (docs/findings.md D8): the model's proc_reparent
 * leaves a child already under its reaper alone, as kern_exit.c:1242 does, so the baseline's nests
 * (reaper-collapse) stay clean; the reaper-exit-race scenario keeps the seed's own window, a
 * reaper given children after its exit loop, and shows it. Controlled runs: a run is a function
 * of its seed. The field-level detectors are off: the audit's laws are what is asserted.
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";

const run = (scenario: string, ops: number, seed: number) =>
  stress({ kernel: "dragonfly", scenario, cpus: 4, ops, mode: "random", seed, chaos: 0, bugs: [], keepGoing: true, detectors: [] });
const laws = (r: Awaited<ReturnType<typeof run>>) => [...new Set(r.report.violations.map((v) => v.law))].sort();

describe("reapers exiting under exiting descendants (DragonFly)", () => {
  it("a child handing itself to the reaper that is already its parent takes no token (the model once orphaned it here)", async () => {
    // Before the fix this run left pid 999992 with a freed p_pptr (parent-child, conservation).
    const r = await run("reaper-collapse", 600, 1);
    expect(r.report.violations).toEqual([]);
  }, 120_000);

  it("a reaper found before its exit is given children after its exit loop, and frees under them (D8)", async () => {
    // Every model change moves every schedule: the first of a few seeds that shows it, the one
    // that did last tried first (seeds 2 and 4 of 1-4 when this was written; 8 of 1-16 once
    // LIST_REMOVE from a process group went through le_prev; the findings entry gives the command).
    let found: Awaited<ReturnType<typeof run>> | null = null;
    for (const seed of [8, 1, 2, 3, 4, 5, 6, 7]) {
      if (found) break;
      const r = await run("reaper-exit-race", 1500, seed);
      if (r.report.violations.length) found = r;
    }
    expect(found && laws(found)).toEqual(expect.arrayContaining(["conservation", "parent-child"]));
    expect(found?.report.violations.find((v) => v.law === "parent-child")?.message).toMatch(/has p_pptr proc\[\d+\], which is not allocated/);
  }, 300_000);
});
