/*
 * The stress command as a user and CI see it: usage errors, a worker crash, ^C, the report and
 * the trace files.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeJsonAtomic } from "../../src/report/report.js";
import { CLI, expectUsageError, forkstorm } from "../cli-harness.js";

const dir = mkdtempSync(join(tmpdir(), "forkstorm-stress-"));

describe("forkstorm stress: usage errors", () => {
  const bad: [string[], RegExp][] = [
    [["stress", "--cpus", "zero"], /--cpus must be an integer/],
    [["stress", "--mode", "chaos"], /--mode must be free, pct or random/],
    [["stress", "--scenario", "nope"], /no scenario "nope" for dragonfly/],
    [["stress", "--bug", "df.no-such-bug"], /unknown bug "df.no-such-bug"/],
    [["stress", "--seconds", "1", "--ops", "5"], /--seconds or --ops, not both/],
    [["stress", "--chaos", "2"], /--chaos must be a number from 0 to 1/],
    [["stress", "--kernel", "linux"], /--kernel must be dragonfly or netbsd/],
    [["hunt", "--seeds", "0"], /--seeds must be an integer/],
    [["replay"], /a REPORT file is required/],
  ];
  for (const [args, message] of bad) {
    it(`${args.join(" ")} -> exit 2 with one line`, () => {
      const r = forkstorm(...args);
      expectUsageError(r, message);
    });
  }
});

describe("forkstorm stress: failures still give a report", () => {
  it("a worker that throws ends the run with exit 4 and an error report", () => {
    const report = join(dir, "crash.json");
    const r = forkstorm("stress", "--seconds", "20", "--cpus", "2", "--seed", "3", "--plant-crash", "40", "--report", report);
    expect(r.code).toBe(4);
    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(rep.verdict).toBe("error");
    expect(rep.error).toMatch(/planted worker exception/);
    expect(rep.ops.total).toBeGreaterThan(0); // what the surviving cpus saw is kept
  });

  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    it(`${sig} stops the workers, writes the report, prints the summary and exits 130`, async () => {
      const report = join(dir, `int-${sig}.json`);
      const child = spawn(process.execPath, [CLI, "stress", "--seconds", "60", "--cpus", "2", "--seed", "4", "--report", report], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      let out = "";
      child.stderr.on("data", (d) => (err += d));
      child.stdout.on("data", (d) => (out += d));
      await new Promise<void>((res) => {
        const poll = setInterval(() => {
          if (/seed 4/.test(err)) {
            clearInterval(poll);
            setTimeout(() => {
              child.kill(sig);
              res();
            }, 1500);
          }
        }, 50);
      });
      const code = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
      expect(code).toBe(130);
      const rep = JSON.parse(readFileSync(report, "utf8"));
      expect(rep.verdict).toBe("interrupted");
      expect(rep.elapsedSeconds).toBeLessThan(30);
      expect(out).toMatch(/verdict: INTERRUPTED/);
      expect(out).toContain(`report: ${report}`);
    });
  }
});

describe("forkstorm stress: a clean run's files", () => {
  it("writes the versioned report and a Chrome trace with one track per cpu", () => {
    const report = join(dir, "clean.json");
    const trace = join(dir, "clean-trace.json");
    const r = forkstorm("stress", "--seconds", "2", "--cpus", "3", "--seed", "5", "--report", report, "--trace", trace);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verdict: CLEAN/);
    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(rep).toMatchObject({ schema: 1, tool: "forkstorm", command: "stress", verdict: "clean", eventHash: null, violations: [], hang: null });
    expect(rep.config).toMatchObject({ kernel: "dragonfly", scenario: "mixed", cpus: 3, mode: "free", seed: 5, seconds: 2, bugs: [] });
    expect(rep.ops.total).toBeGreaterThan(0);
    expect(rep.ops.bySyscall.fork.calls).toBeGreaterThan(0);
    expect(Array.isArray(rep.lockstat) && rep.lockstat.length > 0).toBe(true);
    expect(rep.witness).toEqual([]);
    const t = JSON.parse(readFileSync(trace, "utf8"));
    const tracks = t.traceEvents.filter((e: { ph: string; name: string }) => e.ph === "M" && e.name === "thread_name").map((e: { args: { name: string } }) => e.args.name);
    expect(tracks.sort()).toEqual(["cpu0", "cpu1", "cpu2"]);
    expect(t.traceEvents.some((e: { ph: string; name: string }) => e.ph === "B" && e.name === "fork")).toBe(true);
  });
});

describe("forkstorm stress: output files", () => {
  it("checks every output path before running", () => {
    expectUsageError(forkstorm("stress", "--seconds", "30", "--report", "/nonexistent/dir/r.json"), /--report \/nonexistent\/dir\/r.json: directory \/nonexistent\/dir does not exist/);
    expectUsageError(forkstorm("stress", "--seconds", "30", "--trace", dir), /--trace .*: is a directory/);
    expectUsageError(forkstorm("stress", "--seconds", "30", "--report", join(dir, "x.json"), "--trace", join(dir, "x.json")), /--report and --trace both name/);
    expectUsageError(forkstorm("hunt", "--budget", "30", "--report", "/nonexistent/h.json"), /--report \/nonexistent\/h.json: directory \/nonexistent does not exist/);
  });

  it("a write that fails after the run keeps the summary, the finding and no temporary file", async () => {
    const gone = mkdtempSync(join(tmpdir(), "forkstorm-gone-"));
    const child = spawn(process.execPath, [CLI, "stress", "--seconds", "2", "--cpus", "2", "--seed", "6", "--report", join(gone, "r.json")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    // Once the run is under way (its first progress line: the output paths were checked), the directory goes.
    let err = "";
    child.stderr.on("data", (d) => {
      if (!/syscalls/.test(err) && /syscalls/.test((err += d))) rmSync(gone, { recursive: true });
    });
    const code = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    expect(code).toBe(4); // a clean run whose report is not where it was asked
    expect(out).toMatch(/verdict: CLEAN/);
    const saved = /report: (\S+) \(could not write .*r\.json: ENOENT\)/.exec(out);
    expect(saved, out).not.toBeNull();
    expect(JSON.parse(readFileSync(saved![1], "utf8")).verdict).toBe("clean");
    rmSync(saved![1]);
  });

  it("writes atomically and leaves no temporary file when the rename fails", () => {
    const target = mkdtempSync(join(tmpdir(), "forkstorm-target-")); // a directory: the rename fails
    expect(() => writeJsonAtomic(target, { x: 1 })).toThrow();
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith(basename(target)) && f.endsWith(".tmp"))).toEqual([]);
  });
});
