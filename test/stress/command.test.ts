/*
 * The stress command as a user and CI see it: usage errors, a worker crash, ^C, the report and
 * the trace files.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";

const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "forkstorm-stress-"));

function forkstorm(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 90_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("forkstorm stress: usage errors", () => {
  const bad: [string[], RegExp][] = [
    [["stress", "--cpus", "zero"], /--cpus must be an integer/],
    [["stress", "--mode", "chaos"], /--mode must be free, pct or random/],
    [["stress", "--scenario", "nope"], /no scenario "nope" for dragonfly/],
    [["stress", "--bug", "df.no-such-bug"], /unknown bug "df.no-such-bug"/],
    [["stress", "--seconds", "1", "--ops", "5"], /--seconds or --ops, not both/],
    [["stress", "--chaos", "2"], /--chaos must be a number 0..1/],
    [["stress", "--kernel", "linux"], /--kernel must be dragonfly or netbsd/],
    [["hunt", "--seeds", "0"], /--seeds must be an integer/],
    [["replay"], /a REPORT file is required/],
  ];
  for (const [args, message] of bad) {
    it(`${args.join(" ")} -> exit 2 with one line`, () => {
      const r = forkstorm(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
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

  it("^C stops the workers, writes the report and exits 130", async () => {
    const report = join(dir, "int.json");
    const child = spawn(process.execPath, [CLI, "stress", "--seconds", "60", "--cpus", "2", "--seed", "4", "--report", report], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    await new Promise<void>((res) => {
      const poll = setInterval(() => {
        if (/seed 4/.test(err)) {
          clearInterval(poll);
          setTimeout(() => {
            child.kill("SIGINT");
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
  });
});
