/*
 * docs/CONTRACTS.md stays true of the code: every command's block there is its --help, exactly,
 * and every field a stress or hunt report carries is named there. `list` explains its references.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { commandHelp, type AnyCommand } from "../src/cli/options.js";
import { hunt } from "../src/run/hunt.js";
import { stress } from "../src/run/stress.js";
import { PACKAGE_ROOT } from "../src/sched/machine.js";

const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");
const CONTRACTS = readFileSync(join(PACKAGE_ROOT, "docs", "CONTRACTS.md"), "utf8");
const forkstorm = (...args: string[]) => execFileSync(process.execPath, [CLI, ...args], { encoding: "utf8" }).trimEnd();

/** Each command's --help, from the command tables in src/cli/ (in-process: a spawn per command is slow). */
async function commandHelps(): Promise<Map<string, string>> {
  const dir = join(PACKAGE_ROOT, "src", "cli");
  const helps = new Map<string, string>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".ts"))) {
    for (const v of Object.values(await import(pathToFileURL(join(dir, f)).href))) {
      const c = v as AnyCommand;
      if (typeof c === "object" && c !== null && typeof c.run === "function" && typeof c.name === "string") helps.set(c.name, commandHelp(c));
    }
  }
  return helps;
}

/** The part of the contract between a heading and the next one of its level. */
function section(heading: string): string {
  const at = CONTRACTS.indexOf(`\n${heading}\n`);
  expect(at, `docs/CONTRACTS.md has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const level = heading.split(" ")[0];
  const next = CONTRACTS.indexOf(`\n${level} `, at + heading.length + 2);
  return CONTRACTS.slice(at, next < 0 ? undefined : next);
}

/** Every key of an object, and of the objects in it (the first of each list), as dotted paths. */
function keys(o: unknown, skip: readonly string[] = [], path = ""): string[] {
  if (Array.isArray(o)) return o.length && typeof o[0] === "object" ? keys(o[0], skip, path) : [];
  if (typeof o !== "object" || o === null) return [];
  return Object.entries(o).flatMap(([k, v]) => (skip.includes(k) ? [`${path}${k}`] : [`${path}${k}`, ...keys(v, skip, `${path}${k}.`)]));
}

function expectNamed(text: string, paths: string[]): void {
  const missing = paths.filter((p) => !new RegExp(`\\b${p.split(".").at(-1)}\\b`).test(text));
  expect(missing, `fields the contract does not name: ${missing.join(", ")}`).toEqual([]);
}

describe("docs/CONTRACTS.md", () => {
  it("holds every command's --help as it is", async () => {
    const commands = [...forkstorm("--help").matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]);
    expect(commands).toContain("stress");
    const helps = await commandHelps();
    for (const c of commands) {
      const help = helps.get(c);
      expect(help, `no src/cli/*.ts declares the command ${c}`).toBeDefined();
      expect(section(`### ${c}`), `paste \`forkstorm ${c} --help\` into the "### ${c}" section of docs/CONTRACTS.md`).toContain("```\n" + help + "\n```");
    }
  });

  it("names every field of a stress report: a violation, a hang and the thread dump included", async () => {
    // exec clears P_PPWAIT without the wakeup: a violation, and the hang it leads to, every time.
    const { report } = await stress({ kernel: "dragonfly", scenario: "vfork-exec", cpus: 2, ops: 300, mode: "pct", seed: 1, chaos: 0, bugs: ["df.exec-ppwait-no-wakeup"], keepGoing: true });
    expect(report.violations.length).toBeGreaterThan(0);
    expect(report.hang).not.toBeNull();
    const free = await stress({ kernel: "netbsd", scenario: "mixed", cpus: 2, seconds: 0.5, mode: "free", seed: 1, chaos: 0.001, bugs: [], keepGoing: false });
    const text = section("## Stress report (JSON, `schema: 1`)");
    expectNamed(text, keys(report, ["bySyscall", "events", "schedule", "errno", "calls"]));
    expectNamed(text, keys(free.report, ["bySyscall", "events", "errno", "calls"]));
  });

  it("names every field of a hunt report", async () => {
    const { report } = await hunt({ kernel: "netbsd", bugs: ["nb.exit-ppwait-unlocked"], seeds: 1, budget: 2, cpus: 2, mode: "pct", seed: 1, chaos: 0 });
    expect(report.bugs[0].detected).toBe(1);
    expectNamed(section("## Hunt report (JSON, `schema: 1`)"), keys(report, ["config", "calls"]));
  });
});

describe("README.md", () => {
  it("its controlled example finds its bug, and the replay of its report reproduces it", () => {
    const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8").replace(/\\\n\s*/g, "");
    const example = /^npx forkstorm (stress [^#\n]*--mode pct[^#\n]*--bug (\S+)[^#\n]*--report (\S+))/m.exec(readme);
    expect(example, "README.md has a controlled stress example with a planted bug").not.toBeNull();
    const report = join(mkdtempSync(join(tmpdir(), "forkstorm-readme-")), "lost.json");
    const args = example![1].replace(example![3], report).trim().split(/\s+/);
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
    expect(r.status, `${example![1]}: pick a seed that finds it again (forkstorm hunt --mode pct prints one)`).toBe(1);
    const found = JSON.parse(readFileSync(report, "utf8"));
    expect(found.violations[0].law).toBe("lost-wakeup");
    expect(found.config.bugs).toEqual([example![2]]);
    expect(forkstorm("replay", report)).toMatch(/REPRODUCED$/);
  });
});

describe("forkstorm list", () => {
  it("leaves out the source references it cannot explain on one line, and explains them when verbose", () => {
    const plain = forkstorm("list");
    expect(plain).not.toMatch(/\b00[01]:\d|NOTES [A-Z]\d/);
    expect(plain).toMatch(/forkstorm list --verbose/);
    const verbose = forkstorm("list", "--verbose");
    expect(verbose).toMatch(/df\.fork-children-no-ptoken .*\(000:\d+-\d+\)/);
    expect(verbose).toMatch(/000:L +line L of DragonFly BSD sys\/kern\/kern_fork\.c at revision d9d67b59/);
    expect(verbose).toMatch(/NOTES Xn/);
  });
});
