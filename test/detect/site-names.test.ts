/*
 * The race detector names each access by its kernel function and caller. A function with no name
 * of its own -- the arrow a list walk is handed, as in children_remove's LIST_REMOVE -- used to be
 * named by its line in the compiled dist/ file ("kern_proc.js:82 < listRemove"), a place no
 * kernel engineer can open. The built detector, run the way the workers run it (with source maps),
 * must name it by its line in the TypeScript source.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";

const DETECTOR = pathToFileURL(join(PACKAGE_ROOT, "dist", "src", "detect", "detector.js")).href;

/** A kernel-like module: a named walk calling an anonymous arrow, which asks who is accessing. */
const WALK_TS = [
  `import { kernelFunction } from ${JSON.stringify(DETECTOR)};`,
  "export function listWalk(visit: () => string): string {",
  "  return visit();",
  "}",
  "console.log(listWalk(() => kernelFunction()));",
].join("\n");

const dir = mkdtempSync(join(tmpdir(), "forkstorm-sites-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(sourceMaps: boolean): string {
  const js = ts.transpileModule(WALK_TS, {
    fileName: "walk.ts",
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, inlineSourceMap: sourceMaps },
  }).outputText;
  const file = join(dir, sourceMaps ? "walk.mjs" : "plain.mjs");
  // Two lines ahead of the code, so a line of the compiled file is not the source's by chance.
  writeFileSync(file, `// compiled\n// from walk.ts\n${js}`);
  const r = spawnSync(process.execPath, ["--enable-source-maps", file], { encoding: "utf8", timeout: 60_000 });
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

describe("the detector's access sites", () => {
  it("name an anonymous kernel function by its TypeScript file and line, then its caller", () => {
    expect(run(true)).toBe("walk.ts:5 < listWalk");
  });

  it("fall back to the compiled file's line when the module has no source map", () => {
    expect(run(false)).toMatch(/^plain\.mjs:\d+ < listWalk$/);
    expect(run(false)).not.toBe("plain.mjs:5 < listWalk");
  });
});
