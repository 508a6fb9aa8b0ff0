/*
 * forkstorm in a project's vitest suite: concurrency tests of the BSD fork path. The first test
 * is what a CI job keeps green; the second pins that a detector still fires on a planted bug;
 * the third is what a regression looks like -- it fails on purpose, and its message ends with
 * the command that reproduces the run.
 */
import { test, expect } from "forkstorm/vitest";

// A reproducible interleaving: pct mode, bounded by system calls, a fixed seed.
const controlled = { kernel: "netbsd", cpus: 2, mode: "pct", ops: 300 } as const;
// FORK_SHARESIGS without mutex_obj_hold: the first of the two processes reaped frees p_lock under the other.
const planted = { ...controlled, scenario: "clone-flags", seed: 1, depth: 20, bugs: ["nb.sharesigs-no-hold"] } as const;

test("NetBSD's fork path breaks no law under pct", async ({ forkstorm }) => {
  await expect(forkstorm.stress({ ...controlled, seed: 5 })).toBeClean();
});

test("the use-after-free detector catches a planted p_lock leak", async ({ forkstorm }) => {
  await expect(forkstorm.stress(planted)).toBreak("use-after-free");
});

test("a planted bug, as a regression shows up (fails on purpose)", async ({ forkstorm }) => {
  await expect(forkstorm.stress(planted)).toBeClean();
});
