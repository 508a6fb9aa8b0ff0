/*
 * Interlock sites (src/sites): what the enumerator counts as a site, that the build routed the
 * models' sites through their wrappers, that a run reports its coverage, and that a mutant is
 * switched on -- killed where the interlock matters, its paired release skipped with it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { SCENARIOS } from "../../stress/scenarios/index.js";
import { PACKAGE_ROOT } from "../../src/sched/machine.js";
import { coverageReasons, coverageTable, mergeCoverage } from "../../src/sites/coverage.js";
import { equivalents, slidEquivalents, staleEquivalents } from "../../src/run/mutate.js";
import { enumerate } from "../../src/sites/enumerate.js";
import { isInterlock, manifest } from "../../src/sites/manifest.js";
import { mutantsOf } from "../../src/sites/mutant.js";
import { boot, laws, run, type Outcome } from "../foundation/harness.js";

const MODEL = `
import { lwkt_gettoken, lwkt_reltoken, atomic_cmpset_int as cas } from "../../sync/token.js";
import { tsleep } from "../../sync/sleep.js";
import { bug } from "../../bugs/switch.js";
export function* reparent(child, parent) {
  for (;;) {
    const opp = child.p_pptr;
    if (opp.p_stat !== 5) continue;            // a filter: nothing blocked before it
    yield* lwkt_gettoken(opp.ptr("p_token"));
    if (child.p_pptr !== opp) {                // a re-check: a value read before, after a block
      lwkt_reltoken(opp.ptr("p_token"));
      continue;
    }
    if (child.p_nthreads !== 1) continue;      // compared with a constant: a validation
    if (bug("x.y")) lwkt_reltoken(opp.ptr("p_token")); // the catalogue's wrong variant
    if (opp.refs === 2 && opp.p === 0) {
      yield* lwkt_gettoken(parent.ptr("p_token"));
      if (opp.refs === 2 && opp.p === 0) break; // re-validated after the block in between
    }
    while (child.p_flags & 16) yield* tsleep(parent.ptr(), 0, "w", 0);
    cas(child.ptr("p_flags"), 1, 1);
    return;
  }
}`;

describe("the site enumerator", () => {
  const found = enumerate("model.ts", MODEL);
  const labels = found.sites.map((s) => `${s.label}@${s.line}`);

  it("finds primitive calls through their imported (and aliased) names, with their roles", () => {
    expect(labels).toEqual(["lwkt_gettoken@9", "recheck@10", "lwkt_reltoken@11", "lwkt_gettoken@17", "revalidate@18", "retest@20", "tsleep@20", "atomic_cmpset_int@21"]);
    expect(found.sites.map((s) => s.role.kind)).toEqual(["lock", "recheck", "release", "lock", "recheck", "retest", "sleep", "atomic"]);
    expect(found.sites.find((s) => s.label === "lwkt_reltoken")!.role.operators).toEqual([]);
    expect(found.functions.map((f) => f.name)).toEqual(["reparent"]);
  });

  it("leaves out filters before any block, comparisons with constants and the catalogue's wrong variants", () => {
    expect(labels).not.toContain("recheck@8");
    expect(labels).not.toContain("recheck@14");
    expect(labels.filter((l) => l.startsWith("lwkt_reltoken"))).toEqual(["lwkt_reltoken@11"]);
  });
});

describe("the build's manifest of both models", () => {
  const m = manifest(PACKAGE_ROOT);
  const keys = new Set(m.sites.map((s) => s.key));

  it("holds the interlocks the historical reports are about, each with its mutant", () => {
    for (const key of [
      "dragonfly/kern_exit.ts:proc_reparent:recheck#1",
      "dragonfly/kern_exit.ts:exit1:recheck#1",
      "dragonfly/kern_exit.ts:kern_wait:recheck#2",
      "dragonfly/kern_fork.ts:reaper_get:revalidate#1",
      "dragonfly/kern_fork.ts:start_forked_proc:tsleep_interlock#1",
      "dragonfly/kern_fork.ts:start_forked_proc:retest#1",
      "dragonfly/kern_fork.ts:fork1:atomic_add_int#1",
      "netbsd/kern_fork.ts:fork1:atomic_fetchadd_int#1",
      "netbsd/kern_fork.ts:fork1:retest#1",
    ])
      expect(keys, key).toContain(key);
    expect(m.sites.filter(isInterlock).every((s) => s.operators.length > 0 && s.line > 0)).toBe(true);
    expect(new Set(m.sites.map((s) => s.key)).size).toBe(m.sites.length);
    expect(mutantsOf("netbsd", m).length).toBeGreaterThan(40);
  });

  it("is what the compiled models call: every site id appears in their code", () => {
    const js = execFileSync("grep", ["-rhoE", "__S_[a-z_A-Z]+\\([0-9]+", join(PACKAGE_ROOT, "dist", "src", "kern")], { encoding: "utf8" });
    const ids = new Set(js.split("\n").filter(Boolean).map((s) => Number(s.split("(")[1])));
    for (const s of m.sites) expect(ids.has(s.id), s.key).toBe(true);
  });
});

const pct = (o: Partial<StressOptions>): StressOptions => ({ kernel: "dragonfly", scenario: "vfork-exec", cpus: 2, ops: 300, mode: "pct", depth: 20, seed: 101, chaos: 0, bugs: [], keepGoing: false, watchdogSeconds: 5, ...o });

describe("coverage and mutants in runs", () => {
  it("a clean run reports the sites it reached, some concurrently", async () => {
    const ilk = "dragonfly/kern_fork.ts:start_forked_proc:tsleep_interlock#1";
    const clean = (await stress(pct({}))).report;
    expect(clean.verdict).toBe("clean");
    const row = clean.coverage.rows.find((r) => r.site === ilk)!;
    expect(row.hits).toBeGreaterThan(0);
    expect(clean.coverage.sites.reached).toBeGreaterThan(40);
    expect(clean.coverage.sites.concurrent).toBeGreaterThan(5);
    expect(clean.coverage.functions.reached).toBeGreaterThan(20);
    const twice = mergeCoverage(clean.coverage, clean.coverage);
    expect(twice.rows.find((r) => r.site === ilk)!.hits).toBe(2 * row.hits);
    expect(coverageTable(clean.coverage, new Map(), true)).toContain(ilk);

  });

  it("a skipped acquisition takes its paired release with it: no release-order or held-at-exit complaint", async () => {
    const r = (await stress(pct({ scenario: "fork-exit-wait", ops: 200, keepGoing: true, mutant: "dragonfly/kern_fork.ts:fork1:lwkt_gettoken#1:skip-lock" }))).report;
    const laws = r.violations.map((v) => v.law);
    for (const trivial of ["token-release-order", "thread-exit-holding-locks", "lockmgr-release-not-held", "mutex-not-owned"]) expect(laws).not.toContain(trivial);
    expect(r.config.mutant).toBe("dragonfly/kern_fork.ts:fork1:lwkt_gettoken#1:skip-lock");
  });

  it("on one cpu, where no region is covered, a skipped acquisition still takes its paired release with it, and wakeups and re-checks still count", async () => {
    const mutant = "dragonfly/kern_fork.ts:fork1:lwkt_gettoken#1:skip-lock";
    const r = (await stress(pct({ scenario: "fork-exit-wait", cpus: 1, ops: 200, keepGoing: true, mutant }))).report;
    const laws = r.violations.map((v) => v.law);
    for (const trivial of ["token-release-order", "thread-exit-holding-locks", "lockmgr-release-not-held", "mutex-not-owned"]) expect(laws).not.toContain(trivial);
    const clean = (await stress(pct({ scenario: "fork-exit-wait", cpus: 1, ops: 200 }))).report;
    expect(clean.verdict).toBe("clean");
    const row = (key: string) => clean.coverage.rows.find((x) => x.site === key)!;
    expect(row("dragonfly/kern_fork.ts:fork1:lwkt_gettoken#1").hits).toBeGreaterThan(0);
    expect(row("dragonfly/kern_fork.ts:fork1:lwkt_gettoken#1").concurrent).toBe(0); // no other cpu
    expect(row("dragonfly/kern_exit.ts:lwp_exit:wakeup#3").concurrent).toBeGreaterThan(0); // it woke the waiting parent
    expect(r.eventHash).not.toBe(clean.eventHash); // the mutant acted: fork1 took no p_token, traced none
  });

  it("a skipped refcount_acquire leaves the count one short: its release is made, wherever it comes", async () => {
    // vm_fork's reference for a vfork child is given back by the parent when it reaps the child:
    // paired with that release (same thread, same word), the count balanced and nothing was seen.
    const r = (await stress(pct({ scenario: "vfork-exec", ops: 50, mutant: "dragonfly/kern_proc.ts:vm_fork:refcount_acquire#1:skip-hold" }))).report;
    expect(r.violations[0]?.law).toBe("freed-while-named");
    expect(r.violations[0]?.message).toContain("vmspace_rel frees the vmspace");
  });

});

describe("the site wrappers on the primitives' lab (2 cpus, random interleaving)", () => {
  const N = 1500;
  const controlled = (mutant?: { site: number; op: string }) => boot(2, { strategy: { name: "random", seed: 7 }, clock: "logical", ...(mutant ? { mutant } : {}) });
  const counts = (o: Outcome) => {
    const sum = new Map<number, [number, number]>();
    for (const r of o.results) {
      const c = r.extras.sites as { sites: number[] };
      for (let i = 0; i < c.sites.length; i += 3) {
        const had = sum.get(c.sites[i]) ?? [0, 0];
        sum.set(c.sites[i], [had[0] + c.sites[i + 1], had[1] + c.sites[i + 2]]);
      }
    }
    return sum;
  };

  it("split-atomic loses updates another cpu makes in its window; the real atomic loses none, and is reached concurrently", async () => {
    const good = controlled();
    const g = await run(good, [["lab.site-atomic", [N], 0], ["lab.site-atomic", [N], 1]]);
    expect(g.finished).toBe(true);
    expect(good.l.counter).toBe(2 * N);
    expect(counts(g).get(0)![0]).toBe(2 * N);
    expect(counts(g).get(0)![1]).toBeGreaterThan(0);
    const bad = controlled({ site: 0, op: "split-atomic" });
    const b = await run(bad, [["lab.site-atomic", [N], 0], ["lab.site-atomic", [N], 1]]);
    expect(b.finished).toBe(true);
    expect(bad.l.counter).toBeLessThan(2 * N);
  }, 60_000);

  it("skip-interlock: the sleep queues itself late and a wakeup in the window is lost; interlocked, none is", async () => {
    const rounds = 200;
    const pair = (lab: ReturnType<typeof controlled>, ms: number) => run(lab, [["lab.ppwait-sleeper", [rounds, 2], 0], ["lab.ppwait-waker", [rounds], 1]], { ms });
    const good = controlled();
    const g = await pair(good, 30_000);
    expect(g.finished).toBe(true);
    expect(good.l.rounds).toBe(rounds);
    const bad = controlled({ site: 3, op: "skip-interlock" });
    const b = await pair(bad, 2_500); // a lost wakeup: it never finishes
    expect(b.finished).toBe(false);
    expect(bad.l.rounds).toBeLessThan(rounds);
    expect(b.results.flatMap((r) => r.threads).find((t) => t.program === "lab.ppwait-sleeper")?.state).toBe("sleeping");
  }, 60_000);

  it("skip-lock drops the acquisition and its paired release: updates are lost, nothing complains of the release", async () => {
    const good = controlled();
    const g = await run(good, [["lab.site-token", [N], 0], ["lab.site-token", [N], 1]]);
    expect(good.l.counter).toBe(2 * N);
    expect(counts(g).get(1)![1]).toBeGreaterThan(0); // two cpus inside the token's region at once
    const bad = controlled({ site: 1, op: "skip-lock" });
    const b = await run(bad, [["lab.site-token", [N], 0], ["lab.site-token", [N], 1]]);
    expect(b.finished).toBe(true);
    expect(bad.l.counter).toBeLessThan(2 * N);
    expect(laws(b)).toEqual([]);
  }, 60_000);
});

describe("the mutate command line", () => {
  const CLI = join(PACKAGE_ROOT, "dist", "src", "cli.js");
  const forkstorm = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });

  it("lists a kernel's mutants by KEY:OPERATOR; refuses a bad shard or an unknown mutant with one line and exit 2", () => {
    const list = forkstorm("mutate", "--kernel", "netbsd", "--list");
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^netbsd\/kern_fork\.ts:fork1:atomic_fetchadd_int#1:split-atomic /m);
    const shard = forkstorm("mutate", "--kernel", "netbsd", "--shard", "3/2");
    expect(shard.status).toBe(2);
    expect(shard.stderr.trim().split("\n")).toHaveLength(1);
    for (const bad of ["netbsd/kern_fork.ts:fork1:nope#1:skip-lock", "netbsd/kern_fork.ts:fork1:atomic_fetchadd_int#1:skip-lock", "no-operator"]) {
      const r = forkstorm("stress", "--kernel", "netbsd", "--mode", "pct", "--ops", "10", "--mutant", bad);
      expect(r.status, bad).toBe(2);
      expect(r.stderr.trim().split("\n"), bad).toHaveLength(1);
    }
  });
});

describe("reach scenarios and a hunt's coverage", () => {
  it("every reason in docs/coverage.md names a seed site, every row of docs/mutants-equivalent.md a mutant of this build", () => {
    const m = manifest(PACKAGE_ROOT);
    const seedSites = new Set(m.sites.filter((x) => isInterlock(x) && x.file.endsWith("kern_fork.ts")).map((x) => x.key));
    const reasons = [...coverageReasons(PACKAGE_ROOT).keys()];
    expect(reasons.length).toBeGreaterThan(10);
    expect(reasons.filter((k) => !seedSites.has(k))).toEqual([]);
    const names = new Set((["dragonfly", "netbsd"] as const).flatMap((k) => mutantsOf(k, m).map((mu) => mu.name)));
    const eq = [...equivalents().keys()];
    expect(eq.length).toBeGreaterThan(0);
    expect(eq.filter((k) => !names.has(k))).toEqual([]);
    // A run judges only its own kernel's rows: the other kernel's are not stale to it.
    const nb = eq.find((k) => k.startsWith("netbsd/"))!;
    const gone = "dragonfly/kern_exit.ts:exit1:nope#1:skip-lock";
    expect(staleEquivalents("dragonfly", [nb, gone], names)).toEqual([gone]);
    expect(staleEquivalents("netbsd", [nb, gone], names)).toEqual([]);
    expect(staleEquivalents("netbsd", [`${nb}x`], names)).toEqual([`${nb}x`]);
    // A scenario's targets name functions of its kernel's model, or sites of it.
    for (const sc of SCENARIOS) for (const t of sc.targets ?? []) expect(m.sites.some((x) => x.kernel === sc.kernel && (x.fn === t || x.key.endsWith(`:${t}`))), `${sc.name}: ${t}`).toBe(true);
    // Each row quotes its site's source; a row whose key slid onto the next call of the primitive does not.
    const rows = equivalents();
    for (const kernel of ["dragonfly", "netbsd"] as const) expect(slidEquivalents(kernel, rows, m, names)).toEqual([]);
    const first = "dragonfly/kern_exit.ts:exit1:atomic_clear_int#1:split-atomic";
    const slid = new Map([[first.replace("#1", "#2"), rows.get(first)!]]);
    expect(slidEquivalents("dragonfly", slid, m, new Set([...slid.keys()]))).toEqual([first.replace("#1", "#2")]);
  });

  it("the reach scenarios run clean and reach the interlocks they were written for", async () => {
    const want: Record<string, string[]> = {
      dragonfly: ["dragonfly/kern_exit.ts:kern_wait:recheck#2", "dragonfly/kern_exit.ts:exit1:recheck#1", "dragonfly/kern_fork.ts:start_forked_proc:retest#1", "dragonfly/kern_exit.ts:killlwps:retest#1"],
      netbsd: ["netbsd/kern_fork.ts:fork1:retest#1", "netbsd/kern_exit.ts:exit_lwps:retest#1"],
    };
    for (const kernel of ["dragonfly", "netbsd"] as const) {
      const r = (await stress(pct({ kernel, scenario: "reach", cpus: 3, ops: 300, seed: 4 }))).report;
      expect(r.violations.map((v) => v.law), kernel).toEqual([]);
      for (const site of want[kernel]) expect(r.coverage.rows.find((x) => x.site === site)?.hits ?? 0, site).toBeGreaterThan(0);
    }
  }, 60_000);

  it("a hunt reports each kernel's interlock coverage; forkstorm coverage prints the seeds' sites with their reasons", async () => {
    const { hunt } = await import("../../src/run/hunt.js");
    const { report } = await hunt({ kernel: "netbsd", bugs: ["nb.maxproc-no-undo"], seeds: 1, budget: 2, cpus: 2, mode: "pct", seed: 1, chaos: 0 });
    expect(report.interlocks.map((c) => c.kernel)).toEqual(["netbsd"]);
    expect(report.interlocks[0].sites.reached).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), "forkstorm-cov-"));
    writeFileSync(join(dir, "h.json"), JSON.stringify(report));
    const out = spawnSync(process.execPath, [join(PACKAGE_ROOT, "dist", "src", "cli.js"), "coverage", join(dir, "h.json"), "--seeds"], { encoding: "utf8" });
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^netbsd\/kern_fork\.ts:fork1:atomic_fetchadd_int#1 /m);
    expect(out.stdout).toMatch(/seed sites \(kern_fork\.ts\): \d+\/\d+ reached concurrently/);
    expect(out.stdout).not.toMatch(/kern_exit\.ts/);
    // A seed site no run can reach (the u-area pool never runs out in a scenario) shows its reason.
    expect(out.stdout).toMatch(/^netbsd\/kern_fork\.ts:fork1:atomic_add_int#3 .* -- structural in the scenarios/m);
    const bad = spawnSync(process.execPath, [join(PACKAGE_ROOT, "dist", "src", "cli.js"), "coverage", join(PACKAGE_ROOT, "package.json")], { encoding: "utf8" });
    expect(bad.status).toBe(2);
  }, 60_000);
});
