/*
 * A find becomes a short deterministic reproduction: a free-mode find turns into a controlled run
 * (reproduce), a controlled one shrinks to a few decisions, calls, cpus and workers (shrink), each
 * breaking the same law in the same kernel function and replaying: exit 0 from the command line
 * (stress --reproduce too). Bad input is a usage error (2); a find that cannot be reached again
 * is exit 1.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findingOf, kernelFunction } from "../../src/run/finding.js";
import { replay } from "../../src/run/replay.js";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";

const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "forkstorm-shrink-"));

function forkstorm(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 200_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A PCT find of a planted bug: nb.allproc-unlocked breaks allproc-list in exit1. The race
 * detector would name its unlocked LIST_INSERT_HEAD first (data-race); off, the find is the
 * list's own law, a structural violation for shrink to keep.
 */
const pctFind: StressOptions = { kernel: "netbsd", scenario: "fork-exit-wait", cpus: 3, ops: 600, mode: "pct", seed: 2, chaos: 0, bugs: ["nb.allproc-unlocked"], keepGoing: false, detectors: [] };

describe("the site of a violation", () => {
  it("is the innermost kernel function on its stack, past the struct accessors", () => {
    const stack = [
      "Error: use-after-free",
      "    at Table.view (file:///x/dist/src/shm/table.js:141:16)",
      "    at sigactsV (file:///x/dist/src/kern/dragonfly/globals.js:20:64)",
      "    at fork1 (file:///x/dist/src/kern/dragonfly/kern_fork.js:256:25)",
      "    at fork1.next (<anonymous>)",
    ].join("\n");
    expect(kernelFunction(stack)).toBe("fork1");
    expect(kernelFunction(stack.replace(/dist\/src\/kern\/dragonfly\/kern_fork\.js/, "src/kern/dragonfly/kern_fork.ts"))).toBe("fork1");
    expect(kernelFunction("Error: x\n    at Cpu.record (file:///x/dist/src/sched/cpu.js:1:1)")).toBeNull();
    // A kernel chain (src/sched/kstack.ts): innermost first, the primitives before the kernel.
    expect(kernelFunction("lwkt_gettoken (src/sync/token.ts:120)\nsigactsV (src/kern/dragonfly/globals.ts:20)\nexit1 (src/kern/dragonfly/kern_exit.ts:301)\nsyscall (src/kern/usermode.ts:40)")).toBe("exit1");
  });
});

describe("shrink", () => {
  it("a PCT find: the same law at the same site, in a tenth of the decisions or fewer, replaying", async () => {
    const { report: find } = await stress(pctFind);
    const want = findingOf(find)!;
    expect(want).toEqual({ law: "allproc-list", site: "exit1" });
    const file = join(dir, "find.json");
    writeFileSync(file, JSON.stringify(find));
    const out = join(dir, "shrunk.json");
    const cli = forkstorm("shrink", file, "--report", out, "--budget", "20", "--json");
    expect(cli.code, cli.stderr).toBe(0);
    const r = JSON.parse(cli.stdout);
    expect(r.shrunk).toBe(true);
    const shrunk = JSON.parse(readFileSync(out, "utf8"));
    expect(findingOf(shrunk)).toEqual(want);
    expect(r.after.decisions <= r.before.decisions / 10 || r.note !== null).toBe(true);
    expect(r.after.cpus).toBeLessThanOrEqual(r.before.cpus);
    expect(shrunk.config.mode).toBe("schedule");
    expect(r.schedule).toBe(shrunk.config.schedule);
    expect((await replay(shrunk)).reproduced).toBe(true);
    expect(r.command).toMatch(/^forkstorm stress .*--schedule "[^"]*" --seed \d+ --bug nb.allproc-unlocked --detectors none$/);
  }, 150_000);

  it("exit 1 when the report's run no longer breaks its law; exit 2 on a free-mode or clean report", async () => {
    const { report } = await stress(pctFind);
    const moved = join(dir, "moved.json");
    writeFileSync(moved, JSON.stringify({ ...report, violations: [{ ...report.violations[0], law: "a-law-no-run-breaks" }] }));
    const r1 = forkstorm("shrink", moved, "--budget", "10");
    expect(r1.code).toBe(1);
    expect(r1.stdout).toMatch(/NOT SHRUNK a-law-no-run-breaks/);

    const clean = join(dir, "clean.json");
    await stress({ ...pctFind, bugs: [], ops: 60, report: clean });
    const free = join(dir, "free.json");
    await stress({ ...pctFind, bugs: [], mode: "free", ops: undefined, seconds: 0.3, chaos: 0.001, report: free });
    for (const [file, message] of [[clean, /broke no law/], [free, /free-mode run has no schedule to shrink/]] as const) {
      const r = forkstorm("shrink", file);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  }, 90_000);
});

describe("reproduce", () => {
  it("a free-mode find becomes a controlled run breaking the same law at the same site, which replays (stress --reproduce, and reproduce REPORT)", async () => {
    const file = join(dir, "free-find.json");
    // A law checked in both modes (token-not-held, at the access): df.fork-sigshare-no-ref's free
    // find (a use-after-free) has a controlled run stop earlier, at freed-while-named, which only
    // controlled runs check.
    const found = forkstorm("stress", "--kernel", "dragonfly", "--scenario", "rfork-flags", "--cpus", "4", "--seconds", "60", "--seed", "3", "--bug", "df.fork-children-no-ptoken", "--detectors", "none", "--reproduce", "--report", file, "--json");
    expect(found.code, found.stderr).toBe(1);
    const find = JSON.parse(readFileSync(file, "utf8"));
    expect(find.config.mode).toBe("free");
    expect(JSON.parse(found.stdout).reproduction).toMatchObject({ reproduced: true });
    expect(findingOf(JSON.parse(readFileSync(join(dir, "free-find.controlled.json"), "utf8")))).toEqual(findingOf(find));

    const out = join(dir, "controlled.json");
    const cli = forkstorm("reproduce", file, "--report", out, "--json");
    expect(cli.code, cli.stderr).toBe(0);
    const r = JSON.parse(cli.stdout);
    expect(r.reproduced).toBe(true);
    const controlled = JSON.parse(readFileSync(out, "utf8"));
    expect(findingOf(controlled)).toEqual(findingOf(find));
    expect(controlled.config.mode).not.toBe("free");
    expect(controlled.config.detectors).toEqual([]); // searched with the find's detectors
    expect((await replay(controlled)).reproduced).toBe(true);
    expect(r.command).toMatch(/^forkstorm stress --kernel dragonfly --scenario rfork-flags --cpus 4 --ops \d+ --mode (pct|random) --seed \d+/);
  }, 240_000);

  it("exit 1 when no controlled run breaks it within the budget; exit 2 on a report that found nothing", async () => {
    const { report } = await stress({ ...pctFind, mode: "free", ops: undefined, seconds: 30, chaos: 0.001 });
    expect(report.violations.length).toBeGreaterThan(0);
    const nowhere = join(dir, "nowhere.json");
    writeFileSync(nowhere, JSON.stringify({ ...report, violations: [{ ...report.violations[0], stack: "Error\n    at no_such_function (file:///x/dist/src/kern/netbsd/kern_exit.js:1:1)" }] }));
    const r1 = forkstorm("reproduce", nowhere, "--budget", "2");
    expect(r1.code).toBe(1);
    expect(r1.stdout).toMatch(/NOT REPRODUCED: no controlled run broke \S+ in no_such_function/);

    const clean = join(dir, "clean-free.json");
    await stress({ ...pctFind, bugs: [], mode: "free", ops: undefined, seconds: 0.3, chaos: 0.001, report: clean });
    const r2 = forkstorm("reproduce", clean);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim().split("\n")).toHaveLength(1);
    expect(r2.stderr).toMatch(/broke no law/);
  }, 120_000);
});
