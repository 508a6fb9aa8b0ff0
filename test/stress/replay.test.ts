/*
 * A failing controlled run is a complete reproduction: its report replays to the same first
 * violation, at the same step, with the same event hash -- from its seed, and by following its
 * recorded schedule decision by decision -- whatever bounded the run: --ops, --seconds or ^C; and
 * the line a failure message (JUnit, the vitest matchers) gives to paste is that replay's.
 * Reports that cannot be replayed are usage errors. --check-determinism runs a report N times and
 * names where runs part.
 *
 * The seeds are fixed: found by exploration, each detects its planted bug in its first execution.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stressJunit } from "../../src/report/junit.js";
import { firstDifference, replay, reproductionLine, type LoggedRun } from "../../src/run/replay.js";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";
import "../../src/vitest/matchers.js";

const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "forkstorm-replay-"));

function forkstorm(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const planted: { name: string; o: StressOptions }[] = [
  {
    name: "pct, nb.allproc-unlocked",
    o: { kernel: "netbsd", scenario: "fork-exit-wait", cpus: 3, ops: 600, mode: "pct", seed: 2, chaos: 0, bugs: ["nb.allproc-unlocked"], keepGoing: false },
  },
  {
    name: "random, nb.exit-ppwait-unlocked",
    o: { kernel: "netbsd", scenario: "vfork-exec", cpus: 3, ops: 600, mode: "random", seed: 1, chaos: 0, bugs: ["nb.exit-ppwait-unlocked"], keepGoing: false },
  },
];

describe("replay of a controlled run with a planted bug", () => {
  for (const { name, o } of planted)
    it(`${name}: same law, same step, same hash, from the seed and from the schedule`, async () => {
      const file = join(dir, `${o.mode}.json`);
      const { report, exitCode } = await stress({ ...o, report: file });
      expect(exitCode).toBe(1);
      expect(report.verdict).toBe("violation");
      const first = report.violations[0];
      expect(first.step).toBeGreaterThan(0);
      expect(first.eventHash).toMatch(/^[0-9a-f]{16}$/);
      // A real interleaving: more than one cpu held the baton before the violation.
      expect(report.schedule!.length).toBeGreaterThan(2);
      const raw: unknown = JSON.parse(readFileSync(file, "utf8"));
      for (const follow of [false, true]) {
        const out = await replay(raw, follow);
        expect(out.reproduced).toBe(true);
        expect(out.replayed.law).toBe(first.law);
        expect(out.replayed.step).toBe(first.step);
        expect(out.replayed.eventHash).toBe(first.eventHash);
        expect(out.report.config.mode).toBe(follow ? "replay" : o.mode);
      }
      // And through the command line, following the schedule.
      const cli = forkstorm("replay", file, "--follow-schedule");
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/REPRODUCED/);
    }, 120_000);
});

describe("replay of runs bounded otherwise than by --ops", () => {
  const bug = planted[0].o;

  it("a --seconds run stopped by its violation replays to it, bounded just past its calls", async () => {
    const { report } = await stress({ ...bug, ops: undefined, seconds: 60 });
    expect(report.verdict).toBe("violation");
    expect(report.config.seconds).toBe(60);
    const out = await replay(report);
    expect(out.reproduced).toBe(true);
    expect(out.replayed).toEqual({ verdict: "violation", law: report.violations[0].law, step: report.violations[0].step, eventHash: report.violations[0].eventHash });
    expect(out.report.config.ops).toBe(report.ops.total + 1);
    // What a failure message gives to paste is that replay's line, not the --seconds run again.
    const line = reproductionLine(report)!;
    expect(line).toContain(`--ops ${report.ops.total + 1} `);
    expect(line).not.toContain("--seconds");
    expect(stressJunit(report)).toContain(`reproduce: ${line}</failure>`);
    const message = await expect({ report }).toBeClean().then(() => "", (e: Error) => e.message);
    expect(message.split("\n").at(-1)).toBe(`reproduce: ${line}`);
  }, 60_000);

  it("a --seconds run that broke nothing replays to its end: it drains at the call where the clock ran out", async () => {
    const { report } = await stress({ kernel: "netbsd", scenario: "fork-exit-wait", cpus: 2, seconds: 0.5, mode: "random", seed: 5, chaos: 0, bugs: [], keepGoing: false });
    expect(report.verdict).toBe("clean");
    expect(report.drainedAtOps).toBeGreaterThan(0);
    const out = await replay(report);
    expect(out.report.config.ops).toBe(report.drainedAtOps);
    expect(out.replayed).toEqual({ verdict: "clean", law: null, step: null, eventHash: report.eventHash });
    expect(out.reproduced).toBe(true);
  }, 60_000);

  it("an interrupted (^C) run that kept going replays to its first violation", async () => {
    const ac = new AbortController();
    const { report } = await stress({ ...planted[1].o, ops: 10_000_000, keepGoing: true, signal: ac.signal, onProgress: (p) => p.violations > 0 && ac.abort() });
    expect(report.verdict).toBe("interrupted");
    expect(report.drainedAtOps).toBeNull();
    const first = report.violations[0];
    const out = await replay(report);
    expect(out.reproduced).toBe(true);
    expect(out.replayed).toMatchObject({ law: first.law, step: first.step, eventHash: first.eventHash });
    expect(out.report.verdict).toBe("violation"); // the replay stops at the violation
  }, 60_000);

  it("an interrupted run that broke nothing is refused at once: exit 2, one line", async () => {
    const file = join(dir, "interrupted.json");
    const child = spawn(process.execPath, [CLI, "stress", "--kernel", "netbsd", "--scenario", "fork-exit-wait", "--mode", "pct", "--ops", "10000000", "--seed", "3", "--report", file]);
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise<void>((res) => {
      const poll = setInterval(() => {
        if (/syscalls/.test(err)) {
          clearInterval(poll);
          child.kill("SIGINT");
          res();
        }
      }, 50);
    });
    expect(await new Promise((res) => child.on("exit", res))).toBe(130);
    const r = forkstorm("replay", file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/interrupted \(\^C\) before it broke any law/);
  }, 60_000);
});

describe("replay --check-determinism", () => {
  const small: StressOptions = { kernel: "dragonfly", scenario: "fork-exit-wait", cpus: 2, ops: 60, mode: "pct", seed: 4, chaos: 0, bugs: [], keepGoing: false };
  const logged = async (seed: number): Promise<LoggedRun> => {
    const out = await stress({ ...small, seed, eventLog: true });
    expect(out.eventLog!.complete).toBe(true);
    return { point: { verdict: out.report.verdict, law: null, step: null, eventHash: out.report.eventHash }, schedule: out.report.schedule!, events: out.eventLog!.events, describe: out.eventLog!.describe };
  };

  it("names the first place two runs part, as each had it, and finds none between runs of one seed", async () => {
    const [a, again, other] = [await logged(4), await logged(4), await logged(5)];
    expect(a.events.length).toBeGreaterThan(100);
    expect(firstDifference(a, again)).toBeNull();
    const d = firstDifference(a, other)!;
    expect(d).not.toBeNull();
    expect(d.reference).not.toBe(d.diverged);
    expect(d.reference).toMatch(/^step \d+/);
  }, 60_000);

  it("a deterministic run: every run reaches the report's point (exit 0)", async () => {
    const file = join(dir, "determinism.json");
    await stress({ ...planted[0].o, report: file });
    const cli = forkstorm("replay", file, "--check-determinism", "3", "--json");
    expect(cli.code, cli.stderr).toBe(0);
    const out = JSON.parse(cli.stdout);
    expect(out).toMatchObject({ runs: 3, deterministic: true, divergences: [] });
    expect(out.reference).toEqual(out.original);
    // A report no run reaches any more (its hash changed): exit 1, said so.
    const report = JSON.parse(readFileSync(file, "utf8"));
    const moved = join(dir, "determinism-moved.json");
    writeFileSync(moved, JSON.stringify({ ...report, violations: [{ ...report.violations[0], eventHash: "0000000000000000" }, ...report.violations.slice(1)] }));
    const diverged = forkstorm("replay", moved, "--check-determinism", "1");
    expect(diverged.code).toBe(1);
    expect(diverged.stdout).toMatch(/^DIVERGED: all 1 runs agree with each other, not with the report/m);
  }, 60_000);
});

describe("reports that cannot be replayed", () => {
  it("a free-mode report: exit 2, one line", async () => {
    const file = join(dir, "free.json");
    await stress({ kernel: "netbsd", scenario: "fork-exit-wait", cpus: 2, seconds: 0.3, mode: "free", seed: 1, chaos: 0.001, bugs: [], keepGoing: false, report: file });
    const r = forkstorm("replay", file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/free-mode run cannot be replayed/);
  }, 120_000);

  it("a report injecting a bug the catalogue no longer has: exit 2, one line", async () => {
    const file = join(dir, "gone.json");
    const { report } = await stress({ ...planted[0].o, report: file });
    writeFileSync(file, JSON.stringify({ ...report, config: { ...report.config, bugs: ["nb.retired-bug"] } }));
    const r = forkstorm("replay", file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/bug "nb.retired-bug", which the catalogue no longer has/);
  }, 120_000);
});
