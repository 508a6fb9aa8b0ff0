/*
 * The plan behind `forkstorm bench --time-budget` (src/bench/budget.ts), on stand-in sections that
 * sleep for their estimated cost: which sections it cuts and in what order, the core it never
 * cuts, the least budget, and the section in flight cut short at the budget's end. The command
 * itself is tested in cli.test.ts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { BudgetSpent, minimumBudget, runSections, type BudgetCut, type BudgetSection } from "../../src/bench/budget.js";
import { UsageError } from "../../src/kern/kernel.js";

/** A section costing `perScale` seconds per unit of scale, which sleeps that long (or until the budget's end). */
function section(name: string, perScale: number, minScale: number, ran: number[] = []): BudgetSection & { scales: number[] } {
  const scales: number[] = [];
  return {
    name,
    minScale,
    scales,
    cost: (s) => perScale * s,
    async run(s, signal) {
      scales.push(s);
      ran.push(s);
      await sleep(perScale * s * 1000, undefined, { signal }).catch(() => {
        throw new BudgetSpent();
      });
      return `scale ${s}`;
    },
  };
}

describe("bench's time budget plan", () => {
  it("without a budget every section runs once at scale 1, and nothing is reported", async () => {
    const a = section("a", 0.01, 0.5);
    const b = section("b", 0.01, 0.5);
    expect(await runSections([a, b], [{ section: "b" }], undefined)).toEqual({ budget: undefined, failed: [] });
    expect([a.scales, b.scales]).toEqual([[1], [1]]);
  });

  it("a budget below the core at its least is a usage error naming the least", async () => {
    const sections = [section("core", 2, 0.5), section("extra", 5, 0.5)];
    const cuts: BudgetCut[] = [{ section: "extra" }];
    expect(minimumBudget(sections, cuts, 0.3)).toBe(2); // 0.3 + 2 * 0.5, rounded up
    await expect(runSections(sections, cuts, { seconds: 1.5, reserved: 0.3 })).rejects.toThrow(UsageError);
    await expect(runSections(sections, cuts, { seconds: 1.5, reserved: 0.3 })).rejects.toThrow("--time-budget 1.5: the bench needs at least 2 s");
  });

  it("cuts parts, then sections, in the bench's order until the rest fits at its least; the core always runs", async () => {
    const widths = [1, 2, 4, 8];
    const narrow = () => (widths.length > 2 ? `width ${widths.pop()}` : null);
    const core = section("core", 0.2, 0.5);
    const wide = { ...section("wide", 0.1, 1), cost: (s: number) => 0.1 * s * widths.length };
    const big = section("big", 5, 1);
    const small = section("small", 0.1, 1);
    const cuts: BudgetCut[] = [{ section: "wide", part: narrow }, { section: "big" }, { section: "small" }];
    const b = (await runSections([core, wide, big, small], cuts, { seconds: 2, reserved: 0.1 })).budget!;
    // "big" cannot fit whatever is narrowed: the part cut comes first (width 8, width 4), then big.
    expect(b.skipped.map((s) => s.what)).toEqual(["width 8", "width 4", "big"]);
    expect(b.skipped[0].why).toMatch(/^did not fit: [\d.]+ s left; the sections still to run needed ~[\d.]+ s at their shortest$/);
    expect(b.sections.map((s) => s.section)).toEqual(["core", "wide", "small"]);
    expect(widths).toEqual([1, 2]);
    // What was left is shared out: the scale grows past the least to fill the budget.
    expect(b.sections[0].scale).toBeGreaterThan(0.5);
    expect(b.requestedSeconds).toBe(2);
  });

  it("the section in flight at the budget's end is cut short and said so; a core section is not", async () => {
    const core = section("core", 0.05, 1);
    // Estimated small, it runs far longer (a loaded host): the budget's end stops it.
    const slow = { ...section("slow", 0.05, 1), cost: () => 0.05, run: async (_s: number, signal: AbortSignal | undefined) => section("slow", 30, 1).run(1, signal) };
    const t0 = performance.now();
    const b = (await runSections([core, slow], [{ section: "slow" }], { seconds: 3, reserved: 0.2 })).budget!;
    expect((performance.now() - t0) / 1000).toBeLessThan(10); // the slow section alone would take 30 s
    expect(b.sections.map((s) => s.section)).toEqual(["core"]);
    expect(b.skipped).toEqual([{ what: "the rest of slow", why: expect.stringMatching(/^cut short at the budget's end/) }]);
  });
  it("a section that fails is recorded and the bench goes on: the sections after it still run, with or without a budget", async () => {
    const failing = (): BudgetSection => ({
      name: "broken",
      minScale: 0.5,
      cost: (s) => 0.01 * s,
      async run() {
        throw new Error("bench: netbsd mixed ended error (RangeError: Invalid atomic access index)\n    at wakeChannel");
      },
    });
    const error = "bench: netbsd mixed ended error (RangeError: Invalid atomic access index)";
    const after = section("after", 0.01, 0.5);
    expect(await runSections([section("before", 0.01, 0.5), failing(), after], [], undefined)).toEqual({ budget: undefined, failed: [{ section: "broken", error }] });
    expect(after.scales).toEqual([1]);

    const later = section("later", 0.01, 0.5);
    const run = await runSections([section("core", 0.01, 0.5), failing(), later], [{ section: "later" }], { seconds: 5, reserved: 0.1 });
    expect(run.failed).toEqual([{ section: "broken", error }]);
    expect(run.budget!.sections.map((s) => s.section)).toEqual(["core", "later"]);
    expect(run.budget!.skipped).toEqual([{ what: "broken", why: expect.stringMatching(/^failed after [\d.]+ s: bench: netbsd mixed ended error/) }]);
  });
});
