/*
 * The library API as a package user calls it (docs/api.md): every option has the command line's
 * default, bad options are UsageErrors naming the option (thrown before any cpu starts), and the
 * defaults show in the report's configuration.
 */
import { describe, expect, it } from "vitest";
import { ForkstormError, hunt, runScript, stress, UsageError, STRESS_DEFAULTS } from "forkstorm";

describe("library API defaults", () => {
  it("stress() with only a length runs the command line's default run", async () => {
    const { report, exitCode } = await stress({ mode: "pct", ops: 200 });
    expect(report.config).toMatchObject({ kernel: STRESS_DEFAULTS.kernel, scenario: STRESS_DEFAULTS.scenario, cpus: STRESS_DEFAULTS.cpus, mode: "pct", ops: 200, bugs: [], keepGoing: false });
    expect(Number.isInteger(report.config.seed)).toBe(true);
    expect(report.verdict).toBe("clean");
    expect(exitCode).toBe(0);
  });

  const bad: [string, () => Promise<unknown>, RegExp][] = [
    ["a negative cpu count", () => stress({ cpus: -3 }), /^cpus must be an integer 1\.\.64, got -3$/],
    ["an unknown kernel", () => stress({ kernel: "linux" as "netbsd" }), /^kernel must be dragonfly, netbsd/],
    ["a misspelt option", () => stress({ second: 5 } as object), /unknown option "second"/],
    ["both lengths", () => stress({ seconds: 1, ops: 10 }), /seconds or ops, not both/],
    ["chaos in a controlled mode", () => stress({ mode: "pct", chaos: 0.5 }), /chaos applies to free mode only/],
    ["an unknown bug", () => stress({ bugs: ["df.nope"] }), /unknown bug "df\.nope"/],
    ["an unknown scenario", () => stress({ scenario: "nope" }), /nope/],
    ["zero seeds", () => hunt({ seeds: 0 }), /^seeds must be an integer 1\.\.1000, got 0$/],
    ["a bad shard", () => hunt({ shard: { index: 3, count: 2 } }), /^shard must be/],
    ["a malformed script", () => runScript({ kernel: "netbsd", steps: [{ as: "init", call: "frok" }] }), /step 0: unknown call "frok"/],
  ];
  it.each(bad)("%s is a UsageError naming what is wrong (exit code 2)", async (_what, run, message) => {
    const error = await run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toBeInstanceOf(ForkstormError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(message);
  });
});
