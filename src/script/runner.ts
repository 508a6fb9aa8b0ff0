/*
 * `forkstorm script`: deterministic system calls made by named processes (CONTRACTS.md, Script;
 * docs/scripts.md for what this runner adds).
 *
 * Steps run in order on the real multi-cpu machinery. A step runs until its call returns or the
 * whole machine is quiescent (nothing runnable, no timed sleep pending); a call still blocked then
 * is `pending` and goes on in the background, and `{ "await": i }` waits for it. The logical clock
 * jumps over idle time, so a kernel's timed sleeps (fork's hz/2 back-off) cost no real time.
 * A call with `"blockAt": SITE` really sleeps at that may-block point of the kernel (an
 * allocation that has to wait for memory, src/sync/mayblock.ts) until `{ "unblock": i }`: the
 * steps in between run inside that window.
 */
import { errnoName } from "../sync/errno.js";
import { Machine, type CpuPool } from "../sched/machine.js";
import type { ViolationRecord } from "../sched/cpu.js";
import { callNumber, UsageError, type AuditFinding, type KernelModel, type Limits, type PsEntry, type RawResult } from "../kern/kernel.js";
import { isKernelName, loadKernel } from "../kern/registry.js";
import { checkBugs } from "../run/stress.js";
import { MAX_DEPTH, PctChooser } from "../sched/pct.js";
import { isControlled, SEED_MAX, type StrategyConfig } from "../sched/strategy.js";
import type { Handle } from "../shm/table.js";
import { THREAD } from "../shm/core.js";
import { KernelPanic } from "../shm/hooks.js";
import { wmesgId } from "../shm/core.js";
import { labArm, labHeld, labRelease, LAB_SLOTS } from "../sync/mayblock.js";
import { memwaitMessage } from "../sync/kmem.js";

export interface ScriptStepResult {
  step: number;
  ret?: number | null;
  errno?: string | null;
  pending?: boolean;
  [field: string]: unknown;
}

export interface PsRow extends Omit<PsEntry, "threads"> {
  name: string | null;
}

/** A law broken while the script ran (from a cpu) or found by the final audit. */
export type ScriptViolation = ViolationRecord | (AuditFinding & { source: "audit" });

export interface ScriptOutput {
  results: ScriptStepResult[];
  ps: PsRow[];
  violations: ScriptViolation[];
  /** Steps whose `expect` was not met, with what was expected and what came. */
  unmet: { step: number; expected: Record<string, unknown>; got: ScriptStepResult }[];
  /** Why the end audit was not run (a call still asleep for memory at the end), when it was not. */
  auditSkipped?: string;
  /** Stopped by a signal (SIGINT, SIGTERM) after this many steps: the results are those steps', nothing judged at the end. */
  interrupted?: { stepsRun: number };
  exitCode: 0 | 1 | 130;
  /** Controlled modes: the hash of the run's decisions and events (same seed and script, same hash). */
  eventHash: string | null;
  /** pct mode: the weighted steps the run took, the step bound a following run should draw from. */
  pctSteps?: number;
}

interface CallStep {
  as: string;
  call: string;
  args: Record<string, unknown>;
  name?: string;
  async: boolean;
  /** A may-block point of the kernel where this call sleeps until an `unblock` step. */
  blockAt?: string;
  /** Process names the step's arguments refer to (pid and pgid positions). */
  refs: string[];
  expect?: Record<string, unknown>;
}
interface AwaitStep {
  await: number;
  expect?: Record<string, unknown>;
}
interface UnblockStep {
  unblock: number;
  expect?: Record<string, unknown>;
}
type Step = CallStep | AwaitStep | UnblockStep;

interface Script {
  kernel: KernelModel;
  cpus: number;
  limits: Limits;
  /** How the cpus interleave: free (real parallelism) unless the script names a controlled mode. */
  strategy: StrategyConfig;
  bugs: string[];
  steps: Step[];
}

/** A call ready to post: the step, the thread reserved for it, the encoded call, the processes before it. */
interface Post {
  step: number;
  td: Handle;
  call: number;
  args: number[];
  before: ReadonlySet<string>;
}

/** How long one step may run in real time before the runner calls the script hung. */
const STEP_LIMIT_MS = 20_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function fail(where: string, what: string): never {
  throw new UsageError(`${where}: ${what}`);
}

/** Check a script's shape and names before anything runs; every problem names its step. */
async function parseScript(raw: unknown): Promise<Script> {
  if (!isObject(raw)) fail("script", "must be a JSON object");
  if (!isKernelName(raw.kernel)) fail("script", `"kernel" must be "dragonfly" or "netbsd", got ${JSON.stringify(raw.kernel)}`);
  const kernel = await loadKernel(raw.kernel);
  const cpus = raw.cpus ?? 2;
  if (!Number.isInteger(cpus) || (cpus as number) < 1 || (cpus as number) > 16) fail("script", `"cpus" must be an integer 1..16`);
  const strategy = parseStrategy(raw);
  const bugs = raw.bugs ?? [];
  if (!Array.isArray(bugs) || !bugs.every((b) => typeof b === "string")) fail("script", `"bugs" must be a list of bug ids`);
  try {
    checkBugs(kernel.name, bugs);
  } catch (e) {
    if (e instanceof UsageError) fail("script", e.message);
    throw e;
  }
  const variants = raw.variants ?? [];
  const known = Object.keys(kernel.variants ?? {});
  if (!Array.isArray(variants) || !variants.every((v) => typeof v === "string" && known.includes(v))) {
    fail("script", `"variants" must be a list of ${kernel.name}'s model variants${known.length ? ` (${known.join(", ")})` : " (it has none)"}`);
  }
  const limits = kernel.defaultLimits();
  if (raw.limits !== undefined) {
    if (!isObject(raw.limits)) fail("script", `"limits" must be an object`);
    for (const [k, v] of Object.entries(raw.limits)) {
      if (k === "tables") {
        if (!isObject(v)) fail("script", `"limits.tables" must be an object`);
        for (const [t, n] of Object.entries(v)) {
          if (!(t in limits.tables)) fail("script", `"limits.tables.${t}": no such table (${Object.keys(limits.tables).join(", ")})`);
          if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 0xfffe) fail("script", `"limits.tables.${t}" must be an integer 1..65534`);
          limits.tables[t] = n as number;
        }
      } else if (k === "maxproc" || k === "nproc" || k === "lastpid" || k === "inittid") {
        if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 0x7fffffff) fail("script", `"limits.${k}" must be a positive 32-bit integer`);
        limits[k] = v as number;
      } else if (k === "randompid") {
        if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0x7fffffff) fail("script", `"limits.randompid" must be an integer 0..2147483647`);
        limits.randompid = v as number;
      } else fail("script", `"limits.${k}" is not a limit (maxproc, nproc, tables, lastpid, inittid, randompid)`);
    }
  }
  if (!Array.isArray(raw.steps)) fail("script", `"steps" must be an array`);
  const names = new Set(["init"]);
  const rawSteps = raw.steps as unknown[];
  const steps: Step[] = rawSteps.map((s: unknown, i: number): Step => {
    const where = `step ${i}`;
    if (!isObject(s)) fail(where, "must be an object");
    const expect = s.expect;
    if (expect !== undefined && !isObject(expect)) fail(where, `"expect" must be an object`);
    if ("await" in s || "unblock" in s) return parseControl(s, i, rawSteps, expect);
    if (typeof s.call !== "string") fail(where, `"call" must be a string`);
    if (s.call !== "ps" && !(s.call in kernel.calls)) fail(where, `unknown call "${s.call}" for ${kernel.name}`);
    if (s.as === undefined && s.call !== "ps") fail(where, `"as" is required: the process that makes the call ("init" at the start)`);
    const as = s.as ?? "init";
    if (typeof as !== "string" || !names.has(as)) fail(where, `unknown process ${JSON.stringify(as)} in "as"`);
    const args = s.args ?? {};
    if (!isObject(args)) fail(where, `"args" must be an object`);
    const refs: string[] = [];
    if (s.call !== "ps") {
      try {
        kernel.calls[s.call].encode(args, { pid: (v, what) => staticPid(v, what, names, refs) });
      } catch (e) {
        if (e instanceof UsageError) fail(where, e.message);
        throw e;
      }
    }
    if (s.name !== undefined) {
      if (typeof s.name !== "string" || s.name === "" || /^-?\d+$/.test(s.name)) fail(where, `"name" must be a non-numeric string`);
      if (!kernel.calls[s.call]?.creates) fail(where, `"${s.call}" creates nothing to name`);
      if (names.has(s.name)) fail(where, `the name ${JSON.stringify(s.name)} is already taken`);
      names.add(s.name);
    }
    if (s.async !== undefined && typeof s.async !== "boolean") fail(where, `"async" must be true or false`);
    if (s.blockAt !== undefined && (typeof s.blockAt !== "string" || !kernel.mayBlockSites.includes(s.blockAt))) {
      fail(where, `"blockAt" must be one of ${kernel.name}'s may-block points: ${kernel.mayBlockSites.join(", ")}`);
    }
    return { as, call: s.call, args, name: s.name as string | undefined, async: s.async === true, blockAt: s.blockAt as string | undefined, refs: [as, ...refs], expect };
  });
  const held = steps.filter((s) => "blockAt" in s && s.blockAt !== undefined).length;
  if (held > LAB_SLOTS) fail("script", `at most ${LAB_SLOTS} steps may use "blockAt"`);
  // A variant reaches the kernel code as the bug switch's `variant.<name>`.
  return { kernel, cpus: cpus as number, limits, strategy, bugs: [...bugs, ...(variants as string[]).map((v) => `variant.${v}`)], steps };
}
const integerIn = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/**
 * The script's interleaving: "mode" free (default; "chaos" 0 unless given), pct ("depth",
 * "stepBound") or random, from "seed" (default 1). A controlled script is a function of its seed.
 */
function parseStrategy(raw: Record<string, unknown>): StrategyConfig {
  const { mode = "free", seed = 1, chaos = 0, depth = 3, stepBound = 20_000 } = raw;
  if (!integerIn(seed, 0, SEED_MAX)) fail("script", `"seed" must be an integer 0..${SEED_MAX}`);
  if (mode !== "free" && raw.chaos !== undefined) fail("script", `"chaos" applies to mode "free" only`);
  if (mode !== "pct" && (raw.depth !== undefined || raw.stepBound !== undefined)) fail("script", `"depth" and "stepBound" apply to mode "pct" only`);
  switch (mode) {
    case "free":
      if (typeof chaos !== "number" || !(chaos >= 0 && chaos <= 1)) fail("script", `"chaos" must be a number 0..1`);
      return { name: "free", seed: seed as number, chaos };
    case "random":
      return { name: "random", seed: seed as number };
    case "pct":
      if (!integerIn(depth, 1, MAX_DEPTH)) fail("script", `"depth" must be an integer 1..${MAX_DEPTH}`);
      if (!integerIn(stepBound, 1, 1e9)) fail("script", `"stepBound" must be an integer 1..1000000000`);
      return { name: "pct", seed: seed as number, depth: depth as number, stepBound: stepBound as number };
    default:
      fail("script", `"mode" must be "free", "pct" or "random", got ${JSON.stringify(mode)}`);
  }
}


/** `{ "await": i }` and `{ "unblock": i }`: i names an earlier call step (one with blockAt for unblock). */
function parseControl(s: Record<string, unknown>, i: number, raw: unknown[], expect: Record<string, unknown> | undefined): Step {
  const where = `step ${i}`;
  const key = "await" in s ? "await" : "unblock";
  if ("await" in s && "unblock" in s) fail(where, `a step is either "await" or "unblock"`);
  const j = s[key];
  if (!Number.isInteger(j) || (j as number) < 0 || (j as number) >= i) fail(where, `"${key}" must name an earlier step`);
  const target = raw[j as number] as Record<string, unknown>;
  if (!("call" in target)) fail(where, `"${key}" must name a call step`);
  if (key === "unblock") {
    if (target.blockAt === undefined) fail(where, `"unblock" must name a step with "blockAt"`);
    return { unblock: j as number, expect };
  }
  return { await: j as number, expect };
}

function staticPid(v: unknown, what: string, names: ReadonlySet<string>, refs: string[]): number {
  if (Number.isInteger(v)) return v as number;
  if (typeof v === "string" && names.has(v)) {
    refs.push(v);
    return 1;
  }
  throw new UsageError(`unknown process ${JSON.stringify(v)} in ${what}`);
}

/** A name's referent at run time. */
interface Named {
  pid: number;
  tid?: number;
}

class Run {
  readonly results: ScriptStepResult[] = [];
  private readonly names = new Map<string, Named>([["init", { pid: 1 }]]);
  /** Steps whose call is still in the kernel: the thread it was posted to. */
  private readonly inflight = new Map<number, Handle>();
  /** In-flight steps the script has moved past (their results arrive late). */
  private readonly movedOn = new Set<number>();
  /** Names of children whose creating call has not returned yet, with what existed before it. */
  private readonly unnamed = new Map<string, { step: CallStep; before: ReadonlySet<string> }>();
  /** Steps with blockAt: their lab slot (src/sync/mayblock.ts). */
  private readonly slots = new Map<number, number>();

  constructor(
    private readonly m: Machine,
    private readonly s: Script,
  ) {}

  private ps(): PsEntry[] {
    return this.s.kernel.ps(this.m.image);
  }

  private pidOf(v: unknown): number {
    if (Number.isInteger(v)) return v as number;
    const n = this.names.get(v as string);
    return n && n.pid > 0 ? n.pid : 0x7fffffff; // a name whose creation failed names no process
  }

  /** The thread that takes the call: the named lwp's, else the process's first idle thread. */
  private threadFor(as: string): Handle | null {
    const n = this.names.get(as);
    if (!n) return null;
    const p = this.ps().find((e) => e.pid === n.pid);
    if (!p) return null;
    // A zombie's lwp keeps its record after its thread is gone: only live threads take calls.
    const live = p.threads.filter((t) => !this.m.threadGone(t.td));
    if (n.tid !== undefined) return live.find((t) => t.tid === n.tid)?.td ?? null;
    const busy = new Set(this.inflight.values());
    return [...live].sort((a, b) => a.tid - b.tid).find((t) => !busy.has(t.td))?.td ?? null;
  }

  private shape(i: number, step: CallStep, raw: RawResult): ScriptStepResult {
    const r: ScriptStepResult = { step: i, ret: raw.ret, errno: raw.errno === 0 ? null : errnoName(raw.errno) };
    Object.assign(r, this.s.kernel.calls[step.call].decode?.(raw) ?? {});
    const creates = this.s.kernel.calls[step.call].creates;
    if (step.name && creates && raw.errno === 0) {
      const asPid = this.names.get(step.as)!.pid;
      this.names.set(step.name, creates === "process" ? { pid: raw.ret } : { pid: asPid, tid: raw.ret });
    }
    if (step.name) this.unnamed.delete(step.name);
    return r;
  }

  /**
   * Collect any in-flight call that has returned, or whose thread is gone. exit and lwp_exit
   * never return: their result is ret 0, errno null and `exited`; any other call whose thread
   * ended inside it (a fatal signal) gives ret and errno null with `exited`. A result collected
   * after the script moved past its step carries `late`.
   */
  private harvest(): void {
    for (const [i, td] of this.inflight) {
      const raw = this.m.callResult(td);
      const late = this.movedOn.has(i) ? { late: true } : {};
      const step = this.s.steps[i] as CallStep;
      if (raw) this.results[i] = { ...this.shape(i, step, raw), ...late };
      else if (this.m.threadGone(td)) {
        const exits = step.call === "exit" || step.call === "lwp_exit";
        this.results[i] = { step: i, ret: exits ? 0 : null, errno: null, exited: true, ...late };
        if (step.name) this.unnamed.delete(step.name);
      } else continue;
      this.inflight.delete(i);
    }
  }

  /**
   * A creating call still blocked (a vfork parent) has already made its child: find it -- the
   * one new process whose parent is the caller, or the one new lwp of the caller -- and give it
   * the step's name, so later steps can drive it (make it exec or exit).
   */
  private nameUnreturnedChild(step: CallStep, before: ReadonlySet<string>): void {
    const creates = this.s.kernel.calls[step.call].creates;
    if (!step.name || !creates || this.names.has(step.name)) return;
    const asPid = this.names.get(step.as)!.pid;
    const ps = this.ps();
    const fresh = creates === "process" ? ps.filter((p) => p.ppid === asPid && !before.has(`${p.pid}`)).map((p) => ({ pid: p.pid })) : (ps.find((p) => p.pid === asPid)?.threads ?? []).filter((t) => !before.has(`${asPid}.${t.tid}`)).map((t) => ({ pid: asPid, tid: t.tid }));
    if (fresh.length === 1) {
      this.names.set(step.name, fresh[0]);
      this.unnamed.delete(step.name);
    }
  }

  /**
   * A step uses names whose creating call (an async step, or one still blocked) has not named
   * its child yet: let the machine settle, then look for the child again.
   */
  private async resolveNames(step: CallStep): Promise<string | null> {
    const waiting = step.refs.filter((n) => this.unnamed.has(n));
    if (waiting.length === 0) return null;
    await this.settle();
    for (const n of waiting) {
      const u = this.unnamed.get(n);
      if (u) this.nameUnreturnedChild(u.step, u.before);
    }
    const missing = waiting.filter((n) => !this.names.has(n));
    return missing.length ? `${missing.join(", ")} not created (yet)` : null;
  }

  private snapshot(): Set<string> {
    return new Set(this.ps().flatMap((p) => [`${p.pid}`, ...p.threads.map((t) => `${p.pid}.${t.tid}`)]));
  }

  /**
   * Let the machine settle after posting a step: run until it is quiescent -- the call has
   * returned or is blocked, and whatever it set off (a child starting, a signal delivered, a
   * zombie reaped) has happened -- so every step sees the same state from run to run.
   */
  private async settle(): Promise<void> {
    const end = Date.now() + STEP_LIMIT_MS;
    for (;;) {
      if (await this.m.quiesce(5)) break;
      if (this.m.crashed()) throw this.m.crashed();
      if (this.m.stopped() || Date.now() > end) break;
    }
    this.harvest();
  }

  /** Run step i, or the group of calls that starts there; returns the next step to run. */
  async step(i: number): Promise<number> {
    const step = this.s.steps[i];
    if ("await" in step) {
      await this.settle();
      this.results[i] = { ...(this.results[step.await] ?? { step: step.await, pending: true }), step: i, awaited: step.await };
      return i + 1;
    }
    if ("unblock" in step) {
      const slot = this.slots.get(step.unblock);
      const held = slot !== undefined && labHeld(this.m.image, slot);
      if (slot !== undefined) labRelease(this.m.image, slot);
      this.slots.delete(step.unblock);
      await this.settle();
      this.results[i] = { step: i, unblocked: step.unblock, held };
      return i + 1;
    }
    if (step.call === "ps") {
      this.results[i] = { step: i, ret: 0, errno: null, ps: this.table() };
      return i + 1;
    }
    const group = this.groupFrom(i);
    const posts: Post[] = [];
    for (const k of group) {
      const p = await this.prepare(k);
      if (p) posts.push(p);
    }
    for (const p of posts) this.post(p);
    const last = group.at(-1)!;
    if (!(this.s.steps[last] as CallStep).async) await this.settle();
    for (const p of posts) this.stillInKernel(p);
    return last + 1;
  }

  /**
   * The calls that start together from step i: i and, while a call is async, the call after it
   * -- unless that one refers to a process the group creates (it must exist first). They are
   * posted in one go, so that they start together whatever the orchestrator does in between
   * (scanning the process table takes long enough for a controlled run to diverge).
   */
  private groupFrom(i: number): number[] {
    const group = [i];
    const created = new Set<string>();
    for (let k = i; ; k++) {
      const s = this.s.steps[k] as CallStep;
      if (s.name) created.add(s.name);
      const next = this.s.steps[k + 1];
      if (!s.async || !next || !("call" in next) || next.call === "ps" || next.refs.some((n) => created.has(n))) return group;
      group.push(k + 1);
    }
  }

  /** Step i's call, ready to post on a thread reserved for it; null (ESRCH) when there is none. */
  private async prepare(i: number): Promise<Post | null> {
    const step = this.s.steps[i] as CallStep;
    const unresolved = await this.resolveNames(step);
    const td = unresolved ? null : this.threadFor(step.as);
    if (td === null) {
      this.results[i] = { step: i, ret: -1, errno: "ESRCH", note: unresolved ?? `${step.as} has no thread free to make the call` };
      return null;
    }
    const args = this.s.kernel.calls[step.call].encode(step.args, { pid: (v) => this.pidOf(v) });
    const before = step.name ? this.snapshot() : new Set<string>();
    if (step.blockAt !== undefined) this.slots.set(i, labArm(this.m.image, td, step.blockAt));
    this.inflight.set(i, td);
    this.results[i] = { step: i, pending: true };
    return { step: i, td, call: callNumber(this.s.kernel, step.call), args, before };
  }

  /**
   * Post a prepared call. The machine runs while a group is posted (its earlier calls, and any
   * async call before it): the thread reserved for this one may have ended meanwhile -- a kill
   * the group itself sent -- and then the call is not made.
   */
  private post(p: Post): void {
    if (!this.m.threadGone(p.td)) {
      try {
        this.m.postCall(p.td, p.call, p.args);
        return;
      } catch (e) {
        if (!(e instanceof KernelPanic)) throw e; // the record was freed between the look and the post
      }
    }
    this.inflight.delete(p.step);
    this.results[p.step] = { step: p.step, ret: -1, errno: "ESRCH", note: `${(this.s.steps[p.step] as CallStep).as} was gone before the call could be made` };
  }

  /** A posted call the script moves past while it is still in the kernel (async, or blocked). */
  private stillInKernel(p: Post): void {
    if (!this.inflight.has(p.step)) return;
    const step = this.s.steps[p.step] as CallStep;
    this.movedOn.add(p.step);
    if (step.name) this.unnamed.set(step.name, { step, before: p.before });
    this.nameUnreturnedChild(step, p.before);
    const slot = this.slots.get(p.step);
    if (slot !== undefined && labHeld(this.m.image, slot)) this.results[p.step] = { step: p.step, pending: true, heldAt: step.blockAt };
  }

  /** Calls held at a may-block point that no step unblocked go on now, before the results are taken. */
  async finish(): Promise<void> {
    for (const slot of this.slots.values()) labRelease(this.m.image, slot);
    this.slots.clear();
    if (this.inflight.size) await this.m.quiesce(STEP_LIMIT_MS);
    this.harvest();
  }

  /**
   * Steps still in the kernel waiting for memory: an allocation that cannot fail (kmalloc
   * M_WAITOK, pool_get PR_WAITOK) found its table full and sleeps until a record is freed.
   */
  memoryWaits(): { step: number; table: string }[] {
    const threads = this.m.image.table(THREAD);
    const ids = new Map(Object.keys(this.s.limits.tables).map((t) => [wmesgId(memwaitMessage(t)), t]));
    const out: { step: number; table: string }[] = [];
    for (const [i, td] of this.inflight) {
      if (!threads.valid(td)) continue;
      const table = ids.get(threads.view(td).td_wmesg);
      if (table !== undefined && threads.view(td).td_wchan !== 0) out.push({ step: i, table });
    }
    return out;
  }

  table(): PsRow[] {
    const byPid = new Map<number, string>();
    for (const [name, n] of this.names) if (n.tid === undefined) byPid.set(n.pid, name);
    return this.ps().map(({ threads: _threads, ...p }) => ({ name: byPid.get(p.pid) ?? null, ...p }));
  }
}

function meets(got: Record<string, unknown>, expected: Record<string, unknown>): boolean {
  return Object.entries(expected).every(([k, v]) => JSON.stringify(got[k]) === JSON.stringify(v));
}

/**
 * Run a script object; throws UsageError when it is malformed. `pool`: worker threads to run on
 * (a test fixture's, reused script after script); default: a pool of the script's own.
 */
export async function runScript(raw: unknown, pool: CpuPool | null = null, signal?: AbortSignal): Promise<ScriptOutput> {
  const s = await parseScript(raw);
  const m = new Machine(
    {
      cpus: s.cpus,
      maxThreads: s.limits.tables.thread ?? 256,
      tables: s.kernel.tables(s.limits),
      modules: [s.kernel.module],
      strategy: s.strategy,
      clock: "logical",
      hz: 100,
      stopOnViolation: false,
      bugs: s.bugs,
    },
    pool,
  );
  s.kernel.boot(m, s.limits);
  await m.start();
  const run = new Run(m, s);
  let cpuViolations: ViolationRecord[] = [];
  let audit: ScriptViolation[] = [];
  let ps: PsRow[] = [];
  let auditSkipped: string | null = null;
  let eventHash: string | null = null;
  let pctSteps: number | undefined;
  let stepsRun = 0;
  try {
    await m.quiesce(STEP_LIMIT_MS); // boot's work done: the first step meets the same machine every time
    while (stepsRun < s.steps.length && !signal?.aborted) stepsRun = await run.step(stepsRun);
    if (!signal?.aborted) await run.finish();
    ps = run.table();
    // The audit's laws hold between calls; a call asleep for memory is in the middle of one.
    const waits = run.memoryWaits();
    for (const w of waits) run.results[w.step] = { ...run.results[w.step], waitingFor: `a free ${w.table} record (limits.tables.${w.table} = ${s.limits.tables[w.table]})` };
    if (waits.length) auditSkipped = `step${waits.length > 1 ? "s" : ""} ${waits.map((w) => w.step).join(", ")} still wait${waits.length > 1 ? "" : "s"} for memory inside the kernel: the state is mid-call, so the end audit was not run`;
    else if (!signal?.aborted) audit = s.kernel.audit(m.image).map((f) => ({ ...f, source: "audit" as const }));
    if (isControlled(s.strategy)) eventHash = m.eventHash();
    if (s.strategy.name === "pct") pctSteps = PctChooser.stepsTaken(m.chooserState(), s.cpus);
  } finally {
    cpuViolations = (await m.stop()).flatMap((r) => r.violations);
  }
  if (signal?.aborted) {
    // What ran, as it is: the steps' results, the processes, what the cpus caught; nothing judged at the end.
    return { results: run.results.slice(0, stepsRun), ps, violations: cpuViolations, unmet: [], interrupted: { stepsRun }, exitCode: 130, eventHash: null };
  }
  const unmet = s.steps.flatMap((step, i) => (step.expect && !meets(run.results[i], step.expect) ? [{ step: i, expected: step.expect, got: run.results[i] }] : []));
  const violations: ScriptViolation[] = [...cpuViolations, ...audit];
  return { results: run.results, ps, violations, unmet, ...(auditSkipped ? { auditSkipped } : {}), exitCode: unmet.length || violations.length ? 1 : 0, eventHash, ...(pctSteps !== undefined ? { pctSteps } : {}) };
}
