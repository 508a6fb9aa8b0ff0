/*
 * forkstorm/vitest: forkstorm inside a vitest suite (docs/api.md, "In a vitest suite").
 *
 *   import { test, expect } from "forkstorm/vitest";
 *   test("fork is clean under pct", async ({ forkstorm }) => {
 *     await expect(forkstorm.stress({ kernel: "netbsd", mode: "pct", ops: 600 })).toBeClean();
 *   });
 *
 * `test` is vitest's test with the `forkstorm` fixture (fixture.ts); importing this module adds
 * the toBeClean and toBreak matchers (matchers.ts) to vitest's `expect`.
 */
import { expect, test as vitestTest } from "vitest";
import { CpuPools, Forkstorm } from "./fixture.js";
import "./matchers.js";

export const test = vitestTest.extend<{ $test: { forkstorm: Forkstorm }; $worker: { forkstormPools: CpuPools } }>({
  // Worker threads for the simulated cpus, started once per vitest worker and shared by its tests.
  forkstormPools: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const pools = new CpuPools();
      await use(pools);
      await pools.discard();
    },
    { scope: "worker" },
  ],
  forkstorm: async ({ forkstormPools, annotate, task, signal }, use) => {
    await use(new Forkstorm(forkstormPools, { annotate, task, signal }));
  },
});

export { expect };
export const it = test;
export { Forkstorm, type StressResult, type HuntResult, type ScriptResult, type ScriptInput } from "./fixture.js";
export type { Judged, RunFiles } from "./matchers.js";
export { GRADES, type Grade, type LitmusSpec, type LitmusResult, type LitmusRow } from "../run/litmus.js";
