/*
 * The command line in CI (README "Using forkstorm in CI"): JUnit XML a CI server can read, a
 * hunt and a bench that end within their time budgets, and a pct hunt split into shards --
 * separate processes, as on separate machines -- merged into the report of the unsharded hunt.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { XMLParser } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { hunt, type HuntReport } from "forkstorm";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";
import type { BenchReport } from "../../src/bench/run.js";

const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "forkstorm-ci-"));

async function forkstorm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  try {
    const r = await promisify(execFile)(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
    return { code: 0, ...r, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    const r = e as { code: number; stdout: string; stderr: string };
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
  }
}

interface Testcase {
  classname: string;
  name: string;
  time: string;
  failure?: { type: string; message: string; "#text": string };
  skipped?: { message: string };
}

/** The JUnit file as a CI server reads it: its one suite's totals and testcases. */
function junit(file: string) {
  const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => name === "testcase" || name === "property" }).parse(readFileSync(file, "utf8"));
  const suite = xml.testsuites.testsuite;
  return { suites: xml.testsuites, suite, cases: suite.testcase as Testcase[], properties: Object.fromEntries((suite.properties.property as { name: string; value: string }[]).map((p) => [p.name, p.value])) };
}

describe("JUnit XML", () => {
  it("stress: a planted bug is a failure whose type is the law and whose text ends with the reproduction; a clean run passes", async () => {
    const bad = join(dir, "bad.xml");
    const run = ["--kernel", "netbsd", "--scenario", "clone-flags", "--cpus", "2", "--ops", "300", "--mode", "pct", "--seed", "1", "--depth", "20", "--step-bound", "20000", "--bug", "nb.sharesigs-no-hold"];
    const r = await forkstorm("stress", ...run, "--junit", bad, "--json");
    expect(r.code).toBe(1);
    const law = JSON.parse(r.stdout).violations[0].law;
    const { suites, cases, properties } = junit(bad);
    expect(suites).toMatchObject({ tests: "1", failures: "1", errors: "0" });
    expect(properties).toMatchObject({ kernel: "netbsd", scenario: "clone-flags", mode: "pct", seed: "1" });
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ classname: "forkstorm.stress.netbsd", name: "clone-flags" });
    expect(cases[0].failure!.type).toBe(law);
    expect(cases[0].failure!.message).toMatch(new RegExp(`^${law}: `));
    expect(cases[0].failure!["#text"].trim().split("\n").at(-1)).toBe(`reproduce: forkstorm stress ${run.join(" ")}`);

    const good = join(dir, "good.xml");
    expect((await forkstorm("stress", "--kernel", "netbsd", "--cpus", "2", "--ops", "200", "--mode", "pct", "--seed", "3", "--junit", good)).code).toBe(0);
    const clean = junit(good);
    expect(clean.suites).toMatchObject({ tests: "1", failures: "0", errors: "0" });
    expect(clean.cases[0].failure).toBeUndefined();
  });

  it("script: a testcase per step; an unmet expectation fails its step, with the script to run again", async () => {
    const file = join(dir, "script.json");
    writeFileSync(file, JSON.stringify({ kernel: "netbsd", steps: [{ as: "init", call: "fork", name: "sh", expect: { errno: null } }, { as: "sh", call: "getppid", expect: { ret: 7 } }] }));
    const out = join(dir, "script.xml");
    expect((await forkstorm("script", file, "--junit", out)).code).toBe(1);
    const { suites, cases } = junit(out);
    expect(suites).toMatchObject({ tests: "3", failures: "1" });
    expect(cases.map((c) => c.name)).toEqual(["step 0: init fork", "step 1: sh getppid", "kernel laws"]);
    expect(cases[0].failure).toBeUndefined();
    expect(cases[1].failure).toMatchObject({ type: "unmet-expectation", message: 'expected {"ret":7}, got {"step":1,"ret":1,"errno":null}' });
    expect(cases[1].failure!["#text"]).toMatch(`reproduce: forkstorm script ${file}`);
    expect(cases[2].failure).toBeUndefined();
  });
});

/**
 * Seconds a tiny controlled run takes here now, from process start to exit: node, the modules,
 * two workers starting and 50 system calls. A budget too short for that measures the host, not
 * the hunt: on a busy host (a full suite beside others) start-up alone ate a fixed 4-s budget
 * (no run at all), and a detection of a first execution came after a fixed 5-s budget. The hunt
 * tests' budgets are at least three times it -- on a quiet machine, their old fixed values.
 */
async function startupSeconds(): Promise<number> {
  const r = await forkstorm("stress", "--kernel", "netbsd", "--cpus", "2", "--ops", "50", "--mode", "pct", "--seed", "1");
  expect(r.code).toBe(0);
  return r.seconds;
}

describe("hunts in CI", () => {
  let startup = 0;
  beforeAll(async () => {
    startup = await startupSeconds();
  });

  it("--time-budget: the hunt ends within its budget (loosely: a loaded machine) and says what it covered", async () => {
    const budget = Math.max(4, Math.ceil(3 * startup));
    const r = await forkstorm("hunt", "--kernel", "netbsd", "--mode", "pct", "--cpus", "2", "--time-budget", String(budget), "--json");
    expect([0, 1]).toContain(r.code);
    expect(r.seconds).toBeLessThan(2 * budget + 4); // process start included
    expect(r.seconds).toBeGreaterThan(budget / 2);
    const report = JSON.parse(r.stdout) as HuntReport;
    expect(report.config).toMatchObject({ timeBudget: budget, seeds: null });
    expect(report.coverage.runs).toBe(report.runLog.length);
    expect(report.coverage.runs).toBeGreaterThan(0);
    // Round by round: no bug's second run before every bug's first.
    const rounds = report.runLog.map((x) => x.round);
    expect(rounds).toEqual([...rounds].sort((a, b) => a - b));
    expect(report.coverage.planned).toBeNull();
  });

  it("--shard 1/2 and 2/2 as separate processes, merged, give the unsharded pct hunt's report (timings aside)", async () => {
    // Both bugs fall to their runs' first executions; a detection counts only within the budget
    // (an execution's own time), so the budget is generous for this host now (startupSeconds):
    // it bounds the baseline's executions too, which fill it.
    const budget = Math.max(5, Math.ceil(3 * startup));
    const config = { kernel: "netbsd" as const, bugs: ["nb.sharesigs-no-hold", "nb.allproc-unlocked"], seeds: 2, budget, cpus: 2, mode: "pct" as const };
    const args = ["hunt", "--kernel", "netbsd", "--bug", config.bugs[0], "--bug", config.bugs[1], "--seeds", "2", "--budget", String(budget), "--cpus", "2", "--mode", "pct"];
    const shards = [1, 2].map((k) => join(dir, `shard${k}.json`));
    const [whole, ...ran] = await Promise.all([hunt(config), ...shards.map((file, i) => forkstorm(...args, "--shard", `${i + 1}/2`, "--report", file))]);
    expect(ran.map((r) => r.code)).toEqual([0, 0]);
    const parts = shards.map((f) => JSON.parse(readFileSync(f, "utf8")) as HuntReport);
    expect(parts.map((p) => p.runLog.map((x) => x.position))).toEqual([
      [0, 2, 4],
      [1, 3, 5],
    ]);

    const merged = join(dir, "merged.json");
    const xml = join(dir, "merged.xml");
    const m = await forkstorm("merge", ...shards, "--report", merged, "--junit", xml);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/^forkstorm hunt: PASS/);
    // Timings aside: seconds everywhere, and how many executions a baseline's budget held -- and
    // so the coverage counts, which the baseline's executions add to: the merged counts are the
    // shards' sums, over the same sites and functions as the unsharded hunt's.
    const timeless = (r: HuntReport) => ({
      ...r,
      bugs: r.bugs.map(({ secondsToDetect: _s, medianSecondsToDetect: _m, ...row }) => row),
      baseline: r.baseline.map(({ seconds: _s, executions: _e, ...row }) => row),
      runLog: r.runLog.map(({ seconds: _s, ...run }) => (run.bug === null ? { ...run, executions: undefined } : run)),
      interlocks: r.interlocks.map((c) => ({ kernel: c.kernel, sites: c.rows.map((row) => row.site), functions: Object.keys(c.calls) })),
    });
    const mergedReport = JSON.parse(readFileSync(merged, "utf8")) as HuntReport;
    expect(timeless(mergedReport)).toEqual(timeless(whole.report));
    const counts = (reports: HuntReport[]) => {
      const sum = new Map<string, number>();
      for (const c of reports.flatMap((r) => r.interlocks)) {
        for (const row of c.rows) for (const k of ["hits", "concurrent"] as const) sum.set(`${c.kernel} ${row.site} ${k}`, (sum.get(`${c.kernel} ${row.site} ${k}`) ?? 0) + row[k]);
        for (const [fn, n] of Object.entries(c.calls)) sum.set(`${c.kernel} ${fn} calls`, (sum.get(`${c.kernel} ${fn} calls`) ?? 0) + n);
      }
      return sum;
    };
    expect(counts([mergedReport])).toEqual(counts(parts));
    expect(whole.report.bugs.every((b) => b.detected === 2 && b.reproduce!.length === 2)).toBe(true);

    const { suites, cases, properties } = junit(xml);
    expect(suites).toMatchObject({ tests: "3", failures: "0", skipped: "0" });
    expect(cases.map((c) => `${c.classname} ${c.name}`)).toEqual(["forkstorm.hunt.netbsd nb.sharesigs-no-hold", "forkstorm.hunt.netbsd nb.allproc-unlocked", "forkstorm.hunt.netbsd baseline"]);
    expect(properties).toMatchObject({ mode: "pct", seeds: "2" });
  }, 300_000); // a budget scaled to a busy host: two baselines fill it, one after the other

  it("merge refuses a missing shard, a repeated one, and another hunt's report, each in one line (exit 2)", async () => {
    const [one, two] = [1, 2].map((k) => join(dir, `shard${k}.json`));
    const other = join(dir, "other.json");
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(two, "utf8")), config: { ...JSON.parse(readFileSync(two, "utf8")).config, seed: 9 } }));
    for (const [files, message] of [
      [[one], /shard 2\/2 missing/],
      [[one, one], /are both shard 1\/2/],
      [[one, other], /another hunt/],
    ] as const) {
      const r = await forkstorm("merge", ...files);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("bench in CI", () => {
  it("--time-budget: bench --quick ends within its budget (loosely: a loaded machine) and says what it covered", async () => {
    const budget = 30; // --quick alone takes about a minute on a quiet machine; its least budget is about 27 s (warm-ups until settled)
    const file = join(dir, "bench.json");
    const r = await forkstorm("bench", "--quick", "--time-budget", String(budget), "--report", file);
    expect(r.code).toBe(0);
    expect(r.seconds).toBeLessThan(2 * budget + 8); // process start included
    const report = JSON.parse(readFileSync(file, "utf8")) as BenchReport;
    const b = report.budget!;
    expect(b.requestedSeconds).toBe(budget);
    expect(report.reproduce).toContain(`--time-budget ${budget}`);
    // The core always runs; every other section either ran or is said not to have, with why.
    const ran = b.sections.map((s) => s.section);
    expect(ran.slice(0, 2)).toEqual(["primitives", "scaling"]);
    expect(report.scaling).toHaveLength(8);
    expect(report.hostControl!.pairForksPerSecond).toHaveLength(2);
    expect(b.skipped.length).toBeGreaterThan(0);
    for (const s of b.skipped) expect(s.why).toMatch(/^(did not fit|cut short at the budget's end)/);
    for (const name of ["virtual", "baton", "detectors", "processTable", "instruments"]) {
      const said = b.skipped.some((s) => s.what === name || s.what === `the rest of ${name}`);
      expect(ran.includes(name) !== said, name).toBe(true);
    }
    // A section that did not run left its figures out.
    if (!ran.includes("detectors")) expect(report.detectors).toEqual([]);
    if (!ran.includes("baton")) expect(report.primitives.baton).toBeNull();
    expect(r.stdout).toMatch(/^time budget 30 s: /m);
    expect(r.stdout).toMatch(/^covered: primitives \(\d+ rounds?; [\d.]+ s\), scaling \(\d+ rounds? of 8 runs and the host control of [\d.]+ s, each after its warm-up \([\d.]+ to [\d.]+ s\); [\d.]+ s\)/m);
    expect(r.stdout).toMatch(/^not covered: /m);
  });

  it("a time budget too small for the primitives and the real-parallel runs is a usage error, in one line", async () => {
    const r = await forkstorm("bench", "--quick", "--time-budget", "5");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/--time-budget 5: the bench needs at least \d+ s \(/)]);
    expect(r.stdout).toBe("");
  });
});
