/*
 * The command line as a user runs it, for the CLI tests: a spawn of the built CLI, and the check
 * every usage error must pass (exit 2, one line on stderr, saying what is wrong).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "vitest";
import { PACKAGE_ROOT } from "../src/sched/machine.js";

export const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");

export function forkstorm(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 90_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function expectUsageError(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(message);
}
