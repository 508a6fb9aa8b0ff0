import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { warnIfOversubscribed } from "../src/cli/stress.js";
import { expectUsageError, forkstorm } from "./cli-harness.js";

describe("command line", () => {
  it("rejects an unknown command with one line and exit 2", () => {
    const r = forkstorm("frobnicate");
    expectUsageError(r, /unknown command "frobnicate"/);
  });

  it("rejects an unknown option with one line and exit 2", () => {
    const r = forkstorm("list", "--colour");
    expectUsageError(r, /--colour/);
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
      expectUsageError(r, message);
    }
  });

  it("lists the kernels as JSON", () => {
    const r = forkstorm("list", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).kernels.map((k: { name: string }) => k.name)).toEqual(["dragonfly", "netbsd"]);
  });
});

describe("command line: options, help and version", () => {
  it("says what a value may be, for negative numbers too", () => {
    expectUsageError(forkstorm("stress", "--cpus", "-3"), /--cpus must be an integer from 1 to 64, got "-3"/);
    expectUsageError(forkstorm("stress", "--seconds", "-1"), /--seconds must be a number from 0.1 to 86400, got "-1"/);
    expectUsageError(forkstorm("stress", "--seed", "-5"), /--seed must be an integer from 0 to 2147483647, got "-5"/);
    expectUsageError(forkstorm("stress", "--cpus"), /--cpus needs a value \(N\)/);
    expectUsageError(forkstorm("stress", "--report", "--json"), /--report needs a value \(FILE\) before --json/);
    expectUsageError(forkstorm("stress", "--cpus", "2", "--cpus", "3"), /--cpus is given twice/);
    expectUsageError(forkstorm("hunt", "--kernel", "linux"), /--kernel must be all, dragonfly or netbsd, got "linux"/);
  });

  it("refuses a replayed report's bad cpu count as a usage error, not a crash", () => {
    const dir = mkdtempSync(join(tmpdir(), "forkstorm-"));
    const report = { schema: 1, command: "stress", config: { kernel: "dragonfly", scenario: "mixed", cpus: -3, mode: "pct", seed: 1, ops: 100, chaos: 0, bugs: [], keepGoing: false }, verdict: "clean", eventHash: "0", violations: [] };
    writeFileSync(join(dir, "bad-cpus.json"), JSON.stringify(report));
    expectUsageError(forkstorm("replay", join(dir, "bad-cpus.json")), /cpus must be an integer from 1 to 64, got -3/);
  });

  it("warns when the simulated cpus exceed the cores, and only then", () => {
    const said: string[] = [];
    const ctx = { signal: new AbortController().signal, say: (line: string) => said.push(line) };
    warnIfOversubscribed(availableParallelism(), "free", ctx);
    expect(said).toEqual([]);
    warnIfOversubscribed(availableParallelism() + 1, "free", ctx);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(new RegExp(`^warning: ${availableParallelism() + 1} cpus on ${availableParallelism()} cores`));
  });

  it("refuses --chaos with a controlled mode instead of ignoring it", () => {
    expectUsageError(forkstorm("stress", "--mode", "pct", "--chaos", "0.5"), /--chaos applies to free mode only/);
    expectUsageError(forkstorm("hunt", "--mode", "random", "--chaos", "0.5"), /--chaos applies to free mode only/);
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
