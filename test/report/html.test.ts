/*
 * The HTML reports, looked at in a real browser: a bench page (from a small report made here)
 * and a stress page (from a controlled run that finds a planted bug) are self-contained -- no
 * script, nothing fetched -- and headless Chromium (Debian's chromium; .ci/run installs it)
 * shows their plots: the screenshot has the plots' colours, and the same page without its
 * plots does not.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BenchReport } from "../../src/bench/run.js";
import { benchHtml, huntHtml } from "../../src/report/html.js";
import type { HuntReport } from "../../src/run/hunt.js";
import { stress } from "../../src/run/stress.js";
import { HIST_BUCKETS, type LockStat } from "../../src/sync/lockstat.js";
import { countColour, decodePng, type Pixels } from "./png.js";

const dir = mkdtempSync(join(tmpdir(), "forkstorm-html-"));
/** vega's first two category colours: the first and second series of every plot. */
const BLUE = "#4c78a8";
const ORANGE = "#f58518";

function screenshot(html: string, name: string): Pixels {
  const page = join(dir, `${name}.html`);
  const png = join(dir, `${name}.png`);
  writeFileSync(page, html);
  execFileSync("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", `--user-data-dir=${join(dir, "profile")}`, `--screenshot=${png}`, "--window-size=1200,1600", `file://${page}`], { stdio: "ignore", timeout: 60_000 });
  return decodePng(readFileSync(png));
}

/** Nothing in the page runs or is fetched: no script, no stylesheet, image or frame from elsewhere. */
function selfContained(html: string): void {
  expect(html).not.toMatch(/<script|<link|<iframe|<img|url\(/i);
  expect(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]*"/g, "")).not.toMatch(/https?:\/\//);
}

const hist = (at: number, n: number) => Array.from({ length: HIST_BUCKETS }, (_, i) => (i === at ? n : i === at + 1 ? n >> 1 : 0));
function lock(name: string, contended: number): LockStat {
  return {
    lock: name, acquisitions: 1000, contended, waitNs: contended * 5000, holdNs: 900_000, waitMinNs: 800, waitMaxNs: 40_000, holdSamples: 60, holdMinNs: 200, holdMaxNs: 9000,
    waitHist: hist(12, contended), holdHist: hist(10, 60), sites: [{ fn: "fork1", acquisitions: 512, contended, waitNs: contended * 5000, waitMaxNs: 40_000 }],
  };
}

function benchReport(): BenchReport {
  const sweep = [1, 2, 4, 8, 16, 32, 64];
  return {
    schema: 1, tool: "forkstorm", version: "test", command: "bench", quick: true, startedAt: "2026-01-01T00:00:00Z",
    host: { node: "v20", cores: 2, cpuModel: "test", loadAverage: [0.1, 0.1, 0.1] }, reproduce: "forkstorm bench --quick",
    primitives: { rows: [{ primitive: "raw CAS spin lock (floor)", nsPerOp: 10, xFloor: 1 }], tokenGoal: 2.5, baton: { floorNs: 500, batonNs: 600, ratio: 1.2, ratioMin: 1.1, ratioMax: 1.3, pairs: 5, handoffs: 1000 } },
    scaling: ["dragonfly", "netbsd"].flatMap((kernel, k) => [1, 2].map((cpus) => ({ kernel: kernel as "dragonfly", workload: "fork-exit-wait-affine", cpus, forksPerSecond: 3000 * (cpus === 1 ? 1 : 1.8 - k), rounds: [3000, 3100, 2900], warmSeconds: [2.5, 0.5, 0.5], ratio: cpus === 1 ? 1 : 1.8 - k, ratioSpread: [1.5 - k, 1.9 - k] as [number, number], syscallsPerSecond: 9000, cpuUsPerFork: 300, topLock: "proc_token", schedstat: null, threads: { workers: 1.8, rest: 0.2 }, elapsedSeconds: 1 }))),
    hostControl: { kernel: "dragonfly", workload: "fork-exit-wait-affine", oneForksPerSecond: 3000, pairForksPerSecond: [2200, 2300], efficiency: 0.75, refused: null, threads: { workers: 1.6, rest: 0.35 }, privateWork: { oneMs: [150], pairMs: [[160, 170]], efficiency: 0.909 } },
    calibration: [],
    calibrationRefused: null,
    offCore: { share: 0.271, sliceNs: 2_564_000, from: "dragonfly fork-exit-wait-affine on 2 cpus" },
    validation: [{ kernel: "netbsd", workload: "fork-exit-wait", cpus: 2, realForksPerSecond: 7000, virtualForksPerSecond: 40000, onHostForksPerSecond: 18000, offCorePeriods: 4.1, errorPercent: 157.1, idealErrorPercent: 471.4, realHoldInflation: 2.5 }],
    virtual: ["dragonfly", "netbsd"].flatMap((kernel, k) => sweep.map((cpus) => ({ kernel: kernel as "dragonfly", workload: "fork-exit-wait-affine", cpus, seconds: 0.01, forksPerSecond: 3000 * Math.min(cpus, k ? 3 : 12), ratio: Math.min(cpus, k ? 3 : 12), topLock: "proc_lock", topLockContention: 0.5, wallSeconds: 1 }))),
    lockTables: [{ kernel: "netbsd", workload: "fork-exit-wait-affine", cpus: 2, mode: "virtual", locks: [lock("nbglobals.proc_lock", 400), lock("kmutexobj.mo_lock", 30)] }],
    instruments: [],
    processTable: [],
    failed: [],
    wallSeconds: 1,
  };
}

describe("HTML reports in a headless browser", () => {
  it("a bench report shows its scaling plots, histograms and lock table; without its plots it shows none", async () => {
    const html = await benchHtml(benchReport());
    selfContained(html);
    expect(html).toContain("fork1"); // the lock table's per-function row
    // The 2-cpu ceilings side by side, and what the validation's 2-cpu model charged for the host.
    expect(html).toContain("2-cpu ceilings, x one cpu: the host 1.82, two machines sharing nothing 1.50, the dragonfly fork-exit-wait-affine machine 1.8 (workers 1.8 + rest 0.2 cores");
    expect(html).toMatch(/<td>\+157\.1%<\/td><td>\+471\.4%<\/td><td>2\.5x<\/td>/);
    expect(html).toContain("each cpu off its core 27.1% of the time (1 - the host control's efficiency), in slices of 2564 us");
    expect(html).toMatch(/summed over threads/);
    const shot = screenshot(html, "bench");
    expect(countColour(shot, BLUE)).toBeGreaterThan(500);
    expect(countColour(shot, ORANGE)).toBeGreaterThan(500);
    const bare = screenshot(html.replace(/<svg[\s\S]*?<\/svg>/g, ""), "bench-bare");
    expect(countColour(bare, BLUE) + countColour(bare, ORANGE)).toBeLessThan(50);
  });

  it("a time-budgeted bench report says what the budget covered and what it left out", async () => {
    const plain = benchReport();
    const budget = {
      requestedSeconds: 20, elapsedSeconds: 18.7, reservedSeconds: 0.8, slowdown: 1.1,
      sections: [{ section: "primitives", scale: 1, ran: "2 rounds", seconds: 3 }, { section: "scaling", scale: 0.8, ran: "8 runs of 1.2 s", seconds: 13 }],
      skipped: [{ what: "baton", why: "did not fit: 2 s left; the sections still to run needed ~3 s at their shortest" }],
    };
    const html = await benchHtml({ ...plain, primitives: { ...plain.primitives, baton: null }, budget });
    expect(html).toContain("covered: primitives (2 rounds; 3 s), scaling (8 runs of 1.2 s; 13 s)");
    expect(html).toContain("not covered: baton: did not fit: 2 s left");
    expect(html).toContain("The baton hand-off was not measured");
    expect(await benchHtml(plain)).not.toContain("covered:");
    // A refused calibration: the sweep's place says why, and no plot with empty axes is drawn.
    const why = "calibration refused: dragonfly's one-cpu run cost 633 us of cpu time a fork";
    const refused = await benchHtml({ ...plain, virtual: [], calibrationRefused: why });
    expect(refused).toContain(`No virtual sweep in this run: ${why}`);
    expect(refused.match(/<svg/g)?.length).toBe((await benchHtml(plain)).match(/<svg/g)!.length - 1);
  });

  it("a stress report with a violation: verdict, reproduction command, a card per violation, timeline", async () => {
    const file = join(dir, "stress.html");
    const { report } = await stress({ kernel: "netbsd", scenario: "fork-exit-wait", cpus: 3, ops: 600, mode: "pct", seed: 2, chaos: 0, bugs: ["nb.allproc-unlocked"], keepGoing: false, html: file, lockSites: true });
    expect(report.verdict).toBe("violation");
    const html = readFileSync(file, "utf8");
    selfContained(html);
    expect(html).toContain("VIOLATION");
    expect(html).toContain("forkstorm stress --kernel netbsd --scenario fork-exit-wait --cpus 3 --ops 600 --mode pct --seed 2");
    expect(html.match(/class="card"/g)?.length).toBe(report.violations.length);
    expect(html).toContain(report.violations[0].law);
    expect(html).toContain("per-cpu timeline");
    // The last events name what they were on: a lock or sleep event its object, a system call its call.
    expect(html).toMatch(/<td>lock_got<\/td><td>\d+<\/td><td>\d+<\/td><td>\w+\[\d+\]\.\w+<\/td>/);
    expect(html).toMatch(/<td>syscall<\/td><td>\d+<\/td><td>\d+<\/td><td>[a-z_]+<\/td>/);
    const shot = screenshot(html, "stress");
    expect(countColour(shot, "#bb2222", 8)).toBeGreaterThan(50); // the verdict badge and the cards' edge
    expect(countColour(shot, BLUE) + countColour(shot, ORANGE)).toBeGreaterThan(200); // the timeline's lanes
  });

  it("a hunt page: the configuration says chaos only in free mode, the baseline its executions and laws", async () => {
    const hunt = (mode: "free" | "pct"): HuntReport => ({
      schema: 1, tool: "forkstorm", version: "0", command: "hunt", verdict: "pass",
      config: { kernel: "netbsd", bugs: ["nb.allproc-unlocked"], seeds: 1, budget: 10, cpus: 4, mode, seed: 1, chaos: 0.001 },
      baseline: [{ kernel: "netbsd", runs: 1, seconds: 10.9, violations: 0, laws: [], executions: mode === "pct" ? 7 : undefined }],
      bugs: [], coverage: { runs: 1, planned: 1, cut: 0, notRun: [] }, interlocks: [], runLog: [],
    });
    const pct = await huntHtml(hunt("pct"), "forkstorm hunt --mode pct");
    selfContained(pct);
    expect(pct).toContain("mode pct");
    expect(pct).not.toContain("chaos");
    expect(pct).toMatch(/<td[^>]*>netbsd<\/td><td[^>]*>1<\/td><td[^>]*>7<\/td>/);
    expect(await huntHtml(hunt("free"), "forkstorm hunt")).toContain("chaos 0.001");
  });
});
