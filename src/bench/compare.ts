/*
 * This build's speed against another checkout's, side by side in one run (issue 13's figures):
 *
 *   node dist/src/bench/compare.js BASELINE_ROOT [--rounds N] [--seconds S] [--only forks|token|baton|controlled]
 *   node dist/src/bench/compare.js BASELINE_ROOT --hashes [SEEDS]
 *
 * BASELINE_ROOT is a checkout with its dist/ built (e.g. `git worktree add ../base d42010b &&
 * cd ../base && npx tsc`). Every figure is taken by a fresh process (probe.ts), the two builds
 * alternating and swapping order each round, so on a loaded machine both see the same load and
 * the ratios hold even when the absolute figures do not. Per round it prints:
 *   - one-cpu fork-exit-wait forks/s of each kernel, both builds, and this one's speed-up, by
 *     wall time over the whole run, by wall time once warm (probe.ts WARM_SECONDS: JIT warm-up
 *     and drain left out, as `npm run bench` counts -- the issue's figure of 3,200 forks/s is
 *     bench's), and by the time the simulated cpu's thread was on a core (a loaded machine takes
 *     cores away, which the last figure does not count) -- twice: with the field-level
 *     detectors (src/detect) off, like for like with a baseline older than them, and on, as a
 *     stress run has them by default (every detector on; a baseline without them runs as it is);
 *   - uncontended token get+release over the raw CAS spin lock, both builds, and what this
 *     build's is made of (probe.ts token-parts: the release's read-modify-write, the yield* that
 *     kernel code calls it through, the trace ring, lockstat);
 *   - baton hand-off over the wait/notify ping-pong floor, both builds: the median ratio of 10
 *     floor and hand-off pairs timed alternately (the floor is bimodal by the host's placement of
 *     the two threads, baton.ts), and their spread;
 *   - with --only controlled (not by default: it is no figure of the issue's), controlled runs as
 *     hunts make them -- pct, seed 1, every detector on -- of each kernel: baton steps per second
 *     of wall time and of process cpu time, for fork-exit-wait on 2 cpus (30,000 calls: the
 *     issue's workload, whose actions are those of d42010b) and mixed on 3 cpus (3,000 calls:
 *     every hunt's baseline; its actions grew after d42010b -- the reach actions, the boundary
 *     states --, so against an older build its figure compares different work). The one-cpu
 *     free figures above do not show what a change does to runs whose cpus take turns on the baton;
 * and then each ratio's median, min and max over the rounds, and each build's fastest round of
 * forks/s with their ratio: on a loaded machine a round's figure is what the build got of a core,
 * and interference only ever slows a round down, so the fastest rounds are the nearest to each
 * build's own speed (as the token and baton figures take the fastest batch). With --hashes it runs the same
 * controlled runs (both kernels, pct and random, seeds 1..SEEDS, default 3; and a pct run of
 * each bug in HASH_BUGS, which ends in violations or a hang) on both builds and says whether each
 * event hash is the same: a speed change must not change a run.
 */
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const probe = resolve(here, "dist/src/bench/probe.js");

interface Options {
  baseline: string;
  rounds: number;
  seconds: number;
  only: string | null;
  /** --hashes: compare event hashes over this many seeds instead of timing. */
  hashSeeds: number;
}

function parse(argv: string[]): Options {
  const o: Options = { baseline: "", rounds: 3, seconds: 4, only: null, hashSeeds: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--rounds") o.rounds = Number(argv[++i]);
    else if (a === "--seconds") o.seconds = Number(argv[++i]);
    else if (a === "--only") o.only = argv[++i];
    else if (a === "--hashes") o.hashSeeds = /^\d+$/.test(argv[i + 1] ?? "") ? Number(argv[++i]) : 3;
    else o.baseline = resolve(a);
  }
  if (!o.baseline || !(o.rounds >= 1) || !(o.seconds > 0) || !(o.only === null || ["forks", "token", "baton", "controlled"].includes(o.only))) {
    console.error("usage: compare.js BASELINE_ROOT [--rounds N] [--seconds S] [--only forks|token|baton|controlled] [--hashes [SEEDS]]");
    process.exit(2);
  }
  return o;
}

function measure(root: string, args: string[]): Record<string, number> {
  return JSON.parse(run(root, args));
}

function run(root: string, args: string[]): string {
  const out = execFileSync(process.execPath, [probe, root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return out.trim().split("\n").at(-1)!;
}

/** Bugs whose pct runs end in violations (and a hang), for --hashes. */
const HASH_BUGS = ["df.fork-no-pglock", "df.wait-pholdzomb-no-recheck", "nb.sharesigs-no-hold", "nb.allproc-unlocked"];

/** The same controlled runs on both builds: is every event hash unchanged? */
function compareHashes(o: Options): boolean {
  const runs: string[][] = [];
  for (const kernel of ["dragonfly", "netbsd"])
    for (const mode of ["pct", "random"]) for (let seed = 1; seed <= o.hashSeeds; seed++) runs.push([kernel, mode, String(seed)]);
  for (const bug of HASH_BUGS) runs.push([bug.startsWith("df.") ? "dragonfly" : "netbsd", "pct", "3", bug]);
  let same = true;
  for (const args of runs) {
    const [b, t] = [run(o.baseline, ["hash", ...args]), run(here, ["hash", ...args])];
    same &&= b === t;
    console.log(`${args.join(" ")}: ${b === t ? `same ${t}` : `DIFFERENT: baseline ${b}, this ${t}`}`);
  }
  return same;
}

/** This build's token get+release, part by part (ns, and x the CAS floor). */
function printTokenParts(p: Record<string, number>): void {
  const x = (ns: number) => `${ns.toFixed(1)} ns (x${(ns / p.casNs).toFixed(2)})`;
  console.log(
    `  token this, parts: CAS floor ${p.casNs.toFixed(1)} ns; CAS + atomic and ${x(p.casRmwNs)}; token called plainly ${x(p.plainNs)}; ` +
      `through yield* ${x(p.tokenNs)}: trace ring off ${x(p.ringOffNs)}, lockstat off ${x(p.lockstatOffNs)}, both off ${x(p.ringAndLockstatOffNs)}`,
  );
}

/** Both builds, in the given order; returns [baseline, this]. */
function sideBySide(o: Options, round: number, args: string[]): [Record<string, number>, Record<string, number>] {
  if (round % 2 === 0) {
    const b = measure(o.baseline, args);
    return [b, measure(here, args)];
  }
  const t = measure(here, args);
  return [measure(o.baseline, args), t];
}

const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return `median ${median.toFixed(2)}, min ${s[0].toFixed(2)}, max ${s.at(-1)!.toFixed(2)}`;
};

function main(): void {
  const o = parse(process.argv.slice(2));
  if (o.hashSeeds > 0) {
    if (!compareHashes(o)) process.exitCode = 1;
    return;
  }
  const want = (what: string) => o.only === null || o.only === what;
  const ratios = new Map<string, number[]>();
  const note = (key: string, v: number) => ratios.set(key, [...(ratios.get(key) ?? []), v]);
  /** Per kernel and detectors: the fastest round's forks/s of [baseline, this]. */
  const fastest = new Map<string, [number, number]>();
  console.log(`baseline ${o.baseline}\nthis     ${here}\n(node ${process.version}; ${o.rounds} rounds, builds alternating)`);
  for (let round = 0; round < o.rounds; round++) {
    console.log(`\nround ${round + 1}`);
    if (want("forks"))
      for (const detectors of ["off", "on"])
        for (const kernel of ["dragonfly", "netbsd"]) {
          const [b, t] = sideBySide(o, round, ["forks", kernel, String(o.seconds), detectors]);
          const x = t.forksPerSecond / b.forksPerSecond;
          const xw = t.forksPerSecondWarm / b.forksPerSecondWarm;
          const xc = t.forksPerCpuSecond / b.forksPerCpuSecond;
          const what = `${kernel}, detectors ${detectors}`;
          note(`${what}: forks/s, this over baseline`, x);
          note(`${what}: forks/s once warm, this over baseline`, xw);
          const [fb, ft] = fastest.get(what) ?? [0, 0];
          fastest.set(what, [Math.max(fb, b.forksPerSecond), Math.max(ft, t.forksPerSecond)]);
          note(`${what}: forks per second on a core, this over baseline`, xc);
          console.log(
            `  ${kernel.padEnd(9)} detectors ${detectors.padEnd(3)} 1 cpu forks/s: baseline ${b.forksPerSecond.toFixed(0)}, this ${t.forksPerSecond.toFixed(0)} (x${x.toFixed(2)}); ` +
              `once warm: baseline ${b.forksPerSecondWarm.toFixed(0)}, this ${t.forksPerSecondWarm.toFixed(0)} (x${xw.toFixed(2)}); ` +
              `per second on a core: baseline ${b.forksPerCpuSecond.toFixed(0)}, this ${t.forksPerCpuSecond.toFixed(0)} (x${xc.toFixed(2)})`,
          );
        }
    if (o.only === "controlled")
      for (const [scenario, cpus, ops] of [["fork-exit-wait", 2, 30000], ["mixed", 3, 3000]] as const)
        for (const kernel of ["dragonfly", "netbsd"]) {
          const [b, t] = sideBySide(o, round, ["controlled", kernel, scenario, String(cpus), String(ops)]);
          const [x, xc] = [t.stepsPerSecond / b.stepsPerSecond, t.stepsPerCpuSecond / b.stepsPerCpuSecond];
          const what = `${kernel}, pct ${scenario} ${cpus} cpus`;
          note(`${what}: steps/s, this over baseline`, x);
          note(`${what}: steps per cpu second, this over baseline`, xc);
          console.log(
            `  ${what} (${b.steps} / ${t.steps} steps): steps/s baseline ${b.stepsPerSecond.toFixed(0)}, this ${t.stepsPerSecond.toFixed(0)} (x${x.toFixed(2)}); ` +
              `per cpu second: baseline ${b.stepsPerCpuSecond.toFixed(0)}, this ${t.stepsPerCpuSecond.toFixed(0)} (x${xc.toFixed(2)})`,
          );
        }
    if (want("token")) {
      const [b, t] = sideBySide(o, round, ["token"]);
      note("token get+release / CAS floor, baseline", b.tokenNs / b.casNs);
      note("token get+release / CAS floor, this", t.tokenNs / t.casNs);
      for (const [name, r] of [["baseline", b], ["this", t]] as const)
        console.log(`  token ${name.padEnd(8)} ${r.tokenNs.toFixed(1)} ns, CAS floor ${r.casNs.toFixed(1)} ns: x${(r.tokenNs / r.casNs).toFixed(2)}`);
      printTokenParts(measure(here, ["token-parts"]));
    }
    if (want("baton")) {
      const [b, t] = sideBySide(o, round, ["baton"]);
      note("baton hand-off / ping-pong floor, baseline", b.ratio);
      note("baton hand-off / ping-pong floor, this", t.ratio);
      for (const [name, r] of [["baseline", b], ["this", t]] as const)
        console.log(
          `  baton ${name.padEnd(8)} ${r.batonNs.toFixed(0)} ns, floor ${r.floorNs.toFixed(0)} ns (medians): x${r.ratio.toFixed(2)}, ` +
            `the ${r.pairs} pairs x${r.ratioMin.toFixed(2)} to x${r.ratioMax.toFixed(2)}`,
        );
    }
  }
  console.log("\nover the rounds:");
  for (const [key, xs] of ratios) console.log(`  ${key}: ${spread(xs)}`);
  for (const [what, [b, t]] of fastest)
    console.log(`  ${what}: fastest round's forks/s: baseline ${b.toFixed(0)}, this ${t.toFixed(0)} (x${(t / b).toFixed(2)})`);
}

main();
