/*
 * One speed measurement of one build of forkstorm, for compare.ts: `node probe.js ROOT WHAT`
 * loads the compiled modules of the checkout at ROOT (its dist/) and prints one JSON line.
 *
 *   forks KERNEL SECONDS [on|off]  one-cpu fork-exit-wait, free, no chaos, seed 1: forks per
 *                         second of wall time over the whole run; the same over the warmed window
 *                         (from the first progress report WARM_SECONDS into the run to the last: JIT
 *                         warm-up and the drain left out, as `npm run bench` counts); and per second
 *                         the simulated cpu's thread spent on a core (Linux schedstat): a loaded
 *                         machine takes cores away, not work.
 *                         The field-level detectors (src/detect) on -- stress's default -- or off
 *                         (the default here); a build older than them runs without either way
 *   token                 uncontended lwkt_gettoken + lwkt_reltoken and the raw CAS spin lock
 *                         (compareExchange + store), interleaved batches, the fastest batch's
 *                         ns/op (interference only ever adds time)
 *   token-parts           (this build's modules only) what an uncontended token get+release is
 *                         made of, fastest batch each: the CAS floor; the floor with the release an
 *                         atomic read-modify-write (a token's release must see TOK_EXCLREQ); the
 *                         token called plainly (no yield*); and driven by yield*, with the trace
 *                         ring and lockstat on, the ring off, lockstat off, both off
 *   baton [ROUNDS]        the Atomics.wait/notify ping-pong floor and the baton hand-off, ns:
 *                         bench/index.ts measureBaton(ROUNDS, default 2), i.e. 5 floor and
 *                         hand-off pairs a round, alternating -- the medians, and the pairs'
 *                         median ratio and spread (a build older than that: one floor, then one
 *                         hand-off)
 *   controlled KERNEL SCENARIO CPUS OPS  a controlled run as hunts make them (pct, seed 1, OPS
 *                         system calls, every detector on): baton steps per second of wall time and
 *                         per second of the process's cpu time (its cpus take turns, so their
 *                         threads' time is what the run cost). Steps are the unit: two builds whose
 *                         scheduling points differ take different steps for the same calls
 *   hash KERNEL MODE SEED [BUG]  a controlled run (mixed, 3 cpus, 300 ops; with BUG, 800 ops and
 *                         --keep-going): its event hash, steps, verdict and violations
 *
 * It uses only modules and exports every build since d42010b has, so an older checkout can be
 * measured by a newer probe.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [rootArg, what, ...rest] = process.argv.slice(2);
const root = resolve(rootArg ?? ".");
const load = (path: string) => import(pathToFileURL(resolve(root, "dist", path)).href);

/**
 * Seconds of a forks run left out of its warmed window, the same for both builds: on a quiet
 * 2-core host a one-cpu DragonFly run's rate climbs while V8 compiles its code -- d42010b's
 * settles by ~0.8 s, this round's builds by ~1.2 s (6k, 17k, 67k, then 107k system calls/s at
 * its progress reports 0.37, 0.63, 0.88 and 1.14 s into the run) -- and then holds.
 */
const WARM_SECONDS = 1.5;

async function forks(kernel: string, seconds: number, detectorsOn: boolean): Promise<Record<string, number>> {
  const { stress } = await load("src/run/stress.js");
  // The worker's time on a core: of this process's threads, the one that ran most between the
  // first and the last progress report (the orchestrator mostly sleeps), against the system
  // calls completed in between.
  let first: { ops: number; cpu: Map<string, number> } | null = null;
  let last: { ops: number; cpu: Map<string, number> } | null = null;
  let warm: { ops: number; seconds: number } | null = null;
  let end: { ops: number; seconds: number } | null = null;
  const onProgress = (p: { ops: number; seconds: number }) => {
    last = { ops: p.ops, cpu: threadCpuNs() };
    first ??= last;
    if (p.seconds >= WARM_SECONDS) warm ??= p;
    end = p;
  };
  const { report } = await stress({ kernel, scenario: "fork-exit-wait", cpus: 1, seconds, mode: "free", seed: 1, chaos: 0, bugs: [], keepGoing: false, onProgress, ...(detectorsOn ? {} : { detectors: [] }) });
  if (report.verdict !== "clean") throw new Error(`${kernel} fork-exit-wait ended ${report.verdict}`);
  const forks = report.ops.bySyscall.fork?.ok ?? 0;
  const out: Record<string, number> = { forksPerSecond: forks / report.elapsedSeconds };
  const [w, e] = [warm as { ops: number; seconds: number } | null, end as { ops: number; seconds: number } | null];
  if (w !== null && e !== null && e.seconds > w.seconds) out.forksPerSecondWarm = ((e.ops - w.ops) * (forks / report.ops.total)) / (e.seconds - w.seconds);
  if (first !== null && last !== null && last !== first) {
    const [a, b]: { ops: number; cpu: Map<string, number> }[] = [first, last];
    let ns = 0;
    for (const [tid, t] of b.cpu) ns = Math.max(ns, t - (a.cpu.get(tid) ?? t));
    if (ns > 0) out.forksPerCpuSecond = ((b.ops - a.ops) * (forks / report.ops.total)) / (ns / 1e9);
  }
  return out;
}

/** ns each thread of this process has spent on a core, by thread id. */
function threadCpuNs(): Map<string, number> {
  const m = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      m.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // the thread ended
    }
  }
  return m;
}

const BATCH = 2000;
const BATCHES = 300;

/** An uncontended token and a raw spin-lock word on a one-thread lab image, as kernel code sees them. */
async function tokenLab() {
  const [{ Image }, { imageTables }, { LAB, labSpec }, { THREAD }, { Thread }, { installSync }, { initSleepQueues }, tok] = await Promise.all([
    load("src/shm/image.js"),
    load("src/sched/spec.js"),
    load("src/selftest/lab.js"),
    load("src/shm/core.js"),
    load("src/sched/thread.js"),
    load("src/sync/seam.js"),
    load("src/sync/sleep.js"),
    load("src/sync/token.js"),
  ]);
  const image = Image.create(imageTables(labSpec(1)));
  const td = new Thread(image.table(THREAD).alloc(), 0, "probe", undefined);
  const fail = () => {
    throw new Error("probe: nothing blocks here");
  };
  installSync(image, { current: () => td, ready: fail, ticks: () => 0, spinWait: () => {}, nanotime: () => performance.now() * 1e6, alone: () => true });
  initSleepQueues();
  const labs = image.table(LAB);
  const lab = labs.view(labs.alloc());
  const i32: Int32Array = image.i32;
  const t = lab.ptr("tok");
  const raw = lab.ptr("res0");
  return { td, tok, t, raw, i32 };
}

async function token(): Promise<Record<string, number>> {
  const { tok, t, raw, i32 } = await tokenLab();
  const fail = () => {
    throw new Error("probe: nothing blocks here");
  };
  const cas = () => {
    for (let i = 0; i < BATCH; i++) {
      while (Atomics.compareExchange(i32, raw, 0, 1) !== 0);
      Atomics.store(i32, raw, 0);
    }
  };
  // Driven as kernel code calls it: yield* inside a generator (it never yields here).
  const tokens = () => {
    const g = (function* () {
      for (let i = 0; i < BATCH; i++) {
        yield* tok.lwkt_gettoken(t);
        tok.lwkt_reltoken(t);
      }
    })();
    if (!g.next().done) fail();
  };
  const best = { casNs: Infinity, tokenNs: Infinity };
  for (let b = 0; b < BATCHES; b++) {
    best.casNs = Math.min(best.casNs, timedNs(cas));
    best.tokenNs = Math.min(best.tokenNs, timedNs(tokens));
  }
  return best;
}

async function tokenParts(): Promise<Record<string, number>> {
  const { td, tok, t, raw, i32 } = await tokenLab();
  const [{ installTrace }, { resetLockstat }] = await Promise.all([load("src/shm/trace.js"), load("src/sync/lockstat.js")]);
  const fastest = (batch: () => void) => {
    let ns = Infinity;
    for (let b = 0; b < BATCHES; b++) ns = Math.min(ns, timedNs(batch));
    return ns;
  };
  const casStore = () => {
    for (let i = 0; i < BATCH; i++) {
      while (Atomics.compareExchange(i32, raw, 0, 1) !== 0);
      Atomics.store(i32, raw, 0);
    }
  };
  const casAnd = () => {
    for (let i = 0; i < BATCH; i++) {
      while (Atomics.compareExchange(i32, raw, 0, 1) !== 0);
      Atomics.and(i32, raw, ~1);
    }
  };
  const plain = () => {
    for (let i = 0; i < BATCH; i++) {
      tok.lwkt_gettoken(t); // the uncontended path does its work before it returns
      tok.lwkt_reltoken(t);
    }
  };
  const driven = () => {
    const g = (function* () {
      for (let i = 0; i < BATCH; i++) {
        yield* tok.lwkt_gettoken(t);
        tok.lwkt_reltoken(t);
      }
    })();
    g.next();
  };
  const out: Record<string, number> = { casNs: fastest(casStore), casRmwNs: fastest(casAnd), plainNs: fastest(plain), tokenNs: fastest(driven) };
  installTrace(() => td, 0, null, null, false);
  out.ringOffNs = fastest(driven);
  resetLockstat(false, false);
  out.ringAndLockstatOffNs = fastest(driven);
  installTrace(() => td, 0, null, null, true);
  out.lockstatOffNs = fastest(driven);
  return out;
}

/** ns per operation of one batch. */
function timedNs(batch: () => void): number {
  const t0 = performance.now();
  batch();
  return ((performance.now() - t0) * 1e6) / BATCH;
}

async function baton(rounds: number): Promise<Record<string, number>> {
  const mod = await load("src/bench/baton.js");
  if (mod.floorAndHandOff !== undefined) return (await load("src/bench/index.js")).measureBaton(rounds);
  const floorNs: number = await mod.pingPongFloor(mod.BATCH);
  const { ns } = await mod.batonHandOff();
  return { floorNs, batonNs: ns, ratio: ns / floorNs, ratioMin: ns / floorNs, ratioMax: ns / floorNs, pairs: 1 };
}


async function controlled(kernel: string, scenario: string, cpus: number, ops: number): Promise<Record<string, number>> {
  const { stress } = await load("src/run/stress.js");
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { report } = await stress({ kernel, scenario, cpus, ops, mode: "pct", seed: 1, chaos: 0, bugs: [], keepGoing: false });
  const wallS = (performance.now() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  if (report.verdict !== "clean") throw new Error(`${kernel} pct ${scenario} ended ${report.verdict}`);
  return { steps: report.steps, stepsPerSecond: report.steps / wallS, stepsPerCpuSecond: report.steps / ((cpu.user + cpu.system) / 1e6) };
}

async function hash(kernel: string, mode: string, seed: number, bug?: string): Promise<Record<string, number | string>> {
  const { stress } = await load("src/run/stress.js");
  const ops = bug ? 800 : 300;
  const { report } = await stress({ kernel, scenario: "mixed", cpus: 3, ops, mode, seed, chaos: 0, bugs: bug ? [bug] : [], keepGoing: !!bug });
  return { eventHash: report.eventHash, steps: report.steps, verdict: report.verdict, violations: report.violations.length };
}

async function main(): Promise<void> {
  let out: Record<string, number | string>;
  if (what === "forks") out = await forks(rest[0], Number(rest[1] ?? 4), rest[2] === "on");
  else if (what === "token") out = await token();
  else if (what === "token-parts") out = await tokenParts();
  else if (what === "baton") out = await baton(Number(rest[0] ?? 2));
  else if (what === "controlled") out = await controlled(rest[0], rest[1], Number(rest[2]), Number(rest[3]));
  else if (what === "hash") out = await hash(rest[0], rest[1], Number(rest[2]), rest[3]);
  else throw new Error(`probe: unknown measurement ${what} (forks KERNEL SECONDS [on|off] | token | token-parts | baton [ROUNDS] | controlled KERNEL SCENARIO CPUS OPS | hash KERNEL MODE SEED [BUG])`);
  console.log(JSON.stringify(out));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`probe: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(4);
  },
);
