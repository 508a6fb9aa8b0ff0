/*
 * The example project (examples/vitest-project) as a user runs it: forkstorm packed by npm pack,
 * the project copied to a temporary directory and forkstorm installed there from the tarball,
 * the project's vitest suite run. The clean run and the detector test pass; the planted
 * regression fails, its message ending with the command that reproduces it, and the report of
 * the run is attached to the test.
 *
 * vitest itself is this repository's (the version the example asks for), linked rather than
 * installed a second time: the install under test is forkstorm's.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";

const run = promisify(execFile);

/** A command's exit code and output, whatever the code. */
async function exec(file: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await run(file, args, { cwd, encoding: "utf8", timeout: 180_000 })) };
  } catch (e) {
    const r = e as { code: number; stdout: string; stderr: string };
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }
}

it("installs from npm pack into a vitest project: clean passes, a planted bug fails with its reproduction", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "forkstorm-example-"));
  const packed = await exec("npm", ["pack", "--ignore-scripts", "--pack-destination", tmp], PACKAGE_ROOT); // dist/ is built
  expect(packed.code, packed.stderr).toBe(0);
  const tarball = join(tmp, packed.stdout.trim().split("\n").at(-1)!);

  const project = join(tmp, "project");
  cpSync(join(PACKAGE_ROOT, "examples", "vitest-project"), project, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
  delete manifest.devDependencies.vitest;
  writeFileSync(join(project, "package.json"), JSON.stringify(manifest, null, 2));
  const installed = await exec("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--save-dev", tarball], project);
  expect(installed.code, installed.stderr).toBe(0);
  symlinkSync(join(PACKAGE_ROOT, "node_modules", "vitest"), join(project, "node_modules", "vitest"), "dir");

  const tested = await exec(process.execPath, [join("node_modules", "vitest", "vitest.mjs"), "run", "--reporter=json", "--outputFile.json=results.json", "--reporter=junit", "--outputFile.junit=junit.xml"], project);
  expect(tested.code, tested.stderr).toBe(1);
  const results = JSON.parse(readFileSync(join(project, "results.json"), "utf8"));
  const tests = results.testResults[0].assertionResults as { title: string; status: string; failureMessages: string[] }[];
  expect(tests.map((t) => [t.title, t.status])).toEqual([
    ["NetBSD's fork path breaks no law under pct", "passed"],
    ["the use-after-free detector catches a planted p_lock leak", "passed"],
    ["a planted bug, as a regression shows up (fails on purpose)", "failed"],
  ]);
  const message = tests[2].failureMessages[0].split("\n");
  expect(message[0]).toMatch(/expected a clean run; it broke use-after-free/);
  const reproduce = "reproduce: forkstorm stress --kernel netbsd --scenario clone-flags --cpus 2 --ops 300 --mode pct --seed 1 --depth 20 --step-bound 20000 --bug nb.sharesigs-no-hold";
  expect(message.find((l) => l.startsWith("reproduce: "))).toBe(reproduce);
  expect(message.indexOf(reproduce)).toBe(message.findIndex((l) => /^\s+at /.test(l)) - 1); // the last line before the stack

  // The report went with the test: an annotation (vitest's JUnit shows it) and the file itself.
  expect(readFileSync(join(project, "junit.xml"), "utf8")).toMatch(/<property name="forkstorm" value="forkstorm stress netbsd\/clone-flags pct seed 1: violation \(report\)"/);
  const attached = readdirSync(join(project, ".vitest-attachments")).filter((f) => f.includes("violation-report"));
  expect(attached.length).toBeGreaterThan(0);
  expect(JSON.parse(readFileSync(join(project, ".vitest-attachments", attached[0]), "utf8")).violations[0].law).toBe("use-after-free");
}, 300_000);
