import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../src/sched/machine.js";

const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");

function forkstorm(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("command line", () => {
  it("rejects an unknown command with one line and exit 2", () => {
    const r = forkstorm("frobnicate");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it("rejects an unknown option with one line and exit 2", () => {
    const r = forkstorm("list", "--colour");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--colour/);
  });

  it("reports an unreadable or invalid script file as a usage error", () => {
    expect(forkstorm("script", join(tmpdir(), "no-such-forkstorm-script.json")).code).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), "forkstorm-"));
    writeFileSync(join(dir, "bad.json"), "{ not json");
    const r = forkstorm("script", join(dir, "bad.json"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not valid JSON/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("script: an unmet expectation exits 1 and says which step; a met one exits 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "forkstorm-"));
    const script = (expect: unknown) => ({ kernel: "dragonfly", steps: [{ as: "init", call: "fork", name: "sh" }, { as: "sh", call: "getppid", expect }] });
    writeFileSync(join(dir, "ok.json"), JSON.stringify(script({ ret: 1, errno: null })));
    writeFileSync(join(dir, "unmet.json"), JSON.stringify(script({ ret: 7 })));
    const ok = forkstorm("script", join(dir, "ok.json"));
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).results[1]).toMatchObject({ step: 1, ret: 1, errno: null });
    const bad = forkstorm("script", join(dir, "unmet.json"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/step 1: expected \{"ret":7\}/);
  });

  it("script: a malformed script is a usage error naming the step", () => {
    const dir = mkdtempSync(join(tmpdir(), "forkstorm-"));
    const cases: [unknown, RegExp][] = [
      [{ kernel: "dragonfly", steps: [{ as: "init", call: "frobnicate" }] }, /step 0: unknown call "frobnicate"/],
      [{ kernel: "dragonfly", steps: [{ as: "init", call: "fork" }, { as: "ghost", call: "getpid" }] }, /step 1: unknown process "ghost"/],
      [{ kernel: "dragonfly", steps: [{ as: "init", call: "rfork", args: { flags: ["RFPROC", "RFBOGUS"] } }] }, /step 0: .*RFBOGUS/],
      [{ kernel: "solaris", steps: [] }, /"kernel" must be "dragonfly" or "netbsd"/],
    ];
    for (const [script, message] of cases) {
      writeFileSync(join(dir, "s.json"), JSON.stringify(script));
      const r = forkstorm("script", join(dir, "s.json"));
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it("lists the kernels as JSON", () => {
    const r = forkstorm("list", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).kernels.map((k: { name: string }) => k.name)).toEqual(["dragonfly", "netbsd"]);
  });
});

describe("command line: options, help and version", () => {
  const oneLine = (r: { code: number | null; stderr: string }, message: RegExp) => {
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  };

  it("says what a value may be, for negative numbers too", () => {
    oneLine(forkstorm("stress", "--cpus", "-3"), /--cpus must be an integer from 1 to 64, got "-3"/);
    oneLine(forkstorm("stress", "--seconds", "-1"), /--seconds must be a number from 0.1 to 86400, got "-1"/);
    oneLine(forkstorm("stress", "--seed", "-5"), /--seed must be an integer from 0 to 2147483647, got "-5"/);
    oneLine(forkstorm("stress", "--cpus"), /--cpus needs a value \(N\)/);
    oneLine(forkstorm("stress", "--report", "--json"), /--report needs a value \(FILE\) before --json/);
    oneLine(forkstorm("stress", "--cpus", "2", "--cpus", "3"), /--cpus is given twice/);
    oneLine(forkstorm("hunt", "--kernel", "linux"), /--kernel must be all, dragonfly or netbsd, got "linux"/);
  });

  it("refuses --chaos with a controlled mode instead of ignoring it", () => {
    oneLine(forkstorm("stress", "--mode", "pct", "--chaos", "0.5"), /--chaos applies to free mode only/);
    oneLine(forkstorm("hunt", "--mode", "random", "--chaos", "0.5"), /--chaos applies to free mode only/);
  });

  it("prints the version, the command list and each command's options", () => {
    const version = forkstorm("--version");
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^forkstorm \d+\.\d+\.\d+$/);
    const top = forkstorm("--help");
    expect(top.code).toBe(0);
    for (const c of ["stress", "hunt", "replay", "script", "list", "demo"]) expect(top.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    const stress = forkstorm("stress", "--help");
    expect(stress.code).toBe(0);
    expect(stress.stdout).toMatch(/^usage: forkstorm stress \[options\]/);
    expect(stress.stdout).toMatch(/--cpus N +simulated cpus = worker threads; default 4/);
    expect(stress.stdout).not.toMatch(/plant-crash/); // a harness self-test, not for users
    expect(forkstorm("replay", "--help").stdout).toMatch(/^usage: forkstorm replay REPORT/);
  });
});
