/*
 * Controlled modes are complete reproductions: the same seed and configuration give the same
 * event hash, run after run; another seed gives another interleaving.
 */
import { describe, expect, it } from "vitest";
import { stress, type StressOptions } from "../../src/run/stress.js";

const run = (kernel: "dragonfly" | "netbsd", mode: "pct" | "random", seed: number) =>
  stress({ kernel, scenario: "mixed", cpus: 3, ops: 150, mode, seed, chaos: 0, bugs: [], keepGoing: false } satisfies StressOptions).then((o) => o.report);

describe("controlled runs are deterministic", () => {
  for (const kernel of ["dragonfly", "netbsd"] as const)
    for (const mode of ["pct", "random"] as const)
      it(`${kernel} ${mode}: same seed, same hash (two seeds); another seed, another hash`, async () => {
        const hashes: string[] = [];
        for (const seed of [11, 12]) {
          const a1 = await run(kernel, mode, seed);
          const a2 = await run(kernel, mode, seed);
          expect(a1.verdict).toBe("clean");
          expect(a1.eventHash).toMatch(/^[0-9a-f]{16}$/);
          expect(a2.eventHash).toBe(a1.eventHash);
          expect(a2.steps).toBe(a1.steps);
          expect(a2.schedule).toEqual(a1.schedule);
          expect(a2.ops.total).toBe(a1.ops.total);
          hashes.push(a1.eventHash!);
        }
        expect(hashes[1]).not.toBe(hashes[0]);
      });
});
