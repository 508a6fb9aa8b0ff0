/*
 * The orchestrator's side of a machine (main thread): builds the image, starts one worker per
 * cpu from a piscina pool of exactly `cpus` threads, places threads, watches progress without
 * blocking its event loop, and stops every worker before it returns (no worker outlives a run).
 */
import { join } from "node:path";
import { Piscina } from "piscina";
import { UsageError } from "../errors.js";
import { DRAIN_ASKED, runControlWords, TDF_DESCHED, TDF_EXITING, TF_CALL, TF_DONE, TF_IDLE, THREAD } from "../shm/core.js";
import { installSync } from "../sync/seam.js";
import { initSleepQueues, wakeup } from "../sync/sleep.js";
import { Image } from "../shm/image.js";
import { Shadow, shadowSize } from "../detect/index.js";
import { NULL, slotOf, type Handle } from "../shm/table.js";
import { hashText } from "./baton.js";
import type { CpuResult } from "./cpu.js";
import { Inboxes } from "./inbox.js";
import { programId } from "./programs.js";
import { imageTables, type MachineSpec } from "./spec.js";
import { chooserWords, makeChooser } from "./strategies.js";
import { isControlled } from "./strategy.js";
import { PACKAGE_ROOT } from "./root.js";

export { PACKAGE_ROOT };

/** Simulated cpus a machine can have (one worker thread each). */
export const MAX_CPUS = 64;

const WORKER = join(PACKAGE_ROOT, "dist", "workers", "cpu.js");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a stopping cpu may take to hand back its results. */
const STOP_MS = 15_000;

function newPool(cpus: number): Piscina {
  // Source maps: a violation's stack names the TypeScript the kernel is written in (kstack.ts).
  return new Piscina({ filename: WORKER, minThreads: cpus, maxThreads: cpus, concurrentTasksPerWorker: 1, idleTimeout: 60_000, execArgv: [...process.execArgv, "--enable-source-maps"] });
}

/**
 * A pool of exactly `cpus` worker threads, one per simulated cpu, reused run after run (a hunt's
 * executions). A run whose cpu wedged discards it; the next run gets fresh workers.
 */
export class CpuPool {
  private pool: Piscina | null = null;
  constructor(readonly cpus: number) {}

  get(): Piscina {
    return (this.pool ??= newPool(this.cpus));
  }

  async discard(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.destroy();
  }
}

export class Machine {
  readonly image: Image;
  /** The detectors' shadow memory (src/detect), when the spec turns any on. */
  readonly shadow: SharedArrayBuffer | null;
  readonly inbox: Inboxes;
  private readonly rt: Readonly<Record<string, number>>;
  private pool: Piscina | null = null;
  /** The pool was handed in (a hunt's executions share one): stop() leaves it running. */
  private readonly sharedPool: CpuPool | null;
  private tasks: Promise<CpuResult>[] = [];
  private crash: Error | null = null;

  constructor(
    readonly spec: MachineSpec,
    pool: CpuPool | null = null,
  ) {
    this.sharedPool = pool;
    // A replayed report's configuration reaches here unchecked: a bad one is the user's input.
    if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > MAX_CPUS) throw new UsageError(`cpus must be an integer from 1 to ${MAX_CPUS}, got ${JSON.stringify(spec.cpus)}`);
    this.image = Image.create(imageTables(spec));
    this.shadow = spec.detectors?.length ? Shadow.create(shadowSize(this.image.i32.length, spec.maxThreads)) : null;
    this.inbox = new Inboxes(this.image, spec.maxThreads);
    this.rt = runControlWords(this.image);
    const now = Date.now();
    this.image.i32[this.rt.rt_epoch_hi] = Math.floor(now / 2 ** 31);
    this.image.i32[this.rt.rt_epoch_lo] = now % 2 ** 31;
    this.image.i32[this.rt.rt_ticks] = 1;
    if (isControlled(spec.strategy)) {
      if (spec.clock !== "logical") throw new Error("controlled strategies run on the logical clock");
      makeChooser(spec, chooserWords(this.image), this.image, -1)!.initState();
      this.image.i32[this.rt.rt_baton] = 0; // cpu 0 decides first
      this.image.i32[this.rt.rt_hash0] = 0x811c9dc5 | 0;
      this.image.i32[this.rt.rt_hash1] = spec.strategy.seed | 0;
    }
    this.attachHere();
  }

  /**
   * Let the main thread use the image's primitives (boot code, posting script calls, audits).
   * It is never a kernel thread: it may wake threads but never sleep or take a token.
   */
  attachHere(): void {
    const i32 = this.image.i32;
    installSync(this.image, {
      current: () => {
        throw new Error("the orchestrator is not a kernel thread");
      },
      ready: (h) => this.inbox.ready(h),
      ticks: () => (this.spec.clock === "logical" ? Atomics.load(i32, this.rt.rt_ticks) : Math.floor(((Date.now() - this.epochMs()) * this.spec.hz) / 1000)),
      spinWait: () => {},
      nanotime: () => performance.now() * 1e6,
      newThreadCpu: () => {
        throw new Error("the orchestrator creates no lwp (Machine.spawn places its threads)");
      },
      alone: () => true, // it runs kernel code only while the cpus are stopped or quiescent
    });
    initSleepQueues();
  }

  /** Wall time (ms) of the machine's tick 0: the cpus time what they record from it. */
  epochMs(): number {
    return this.word("rt_epoch_hi") * 2 ** 31 + this.word("rt_epoch_lo");
  }

  /** Post a system call to a scripted thread's trapframe and wake it. */
  postCall(td: Handle, call: number, args: readonly number[]): void {
    const tf = this.image.table(THREAD).view(td);
    tf.tf_call = call;
    for (let i = 0; i < 6; i++) this.image.i32[tf.ptr("tf_args") + i] = args[i] ?? 0;
    Atomics.store(this.image.i32, tf.ptr("tf_state"), TF_CALL);
    wakeup(tf.ptr("tf_state"));
  }

  /** The thread has ended (its record freed, or marked exiting). */
  threadGone(td: Handle): boolean {
    const threads = this.image.table(THREAD);
    return !threads.valid(td) || (Atomics.load(this.image.i32, threads.recordBase(slotOf(td)) + threads.layout.offsets.td_flags) & TDF_EXITING) !== 0;
  }

  /** The result of the last posted call, or null while it is still running. */
  callResult(td: Handle): { ret: number; errno: number; out: number[] } | null {
    const threads = this.image.table(THREAD);
    if (!threads.valid(td)) return null;
    const tf = threads.view(td);
    if (Atomics.load(this.image.i32, tf.ptr("tf_state")) !== TF_DONE) return null;
    Atomics.store(this.image.i32, tf.ptr("tf_state"), TF_IDLE);
    return { ret: tf.tf_ret, errno: tf.tf_errno, out: Array.from({ length: 4 }, (_, i) => this.image.i32[tf.ptr("tf_out") + i]) };
  }

  private word(name: string): number {
    return Atomics.load(this.image.i32, this.rt[name]);
  }

  /** Place a new thread running `program` on `cpu` (round-robin when omitted). NULL when the thread table is full. */
  spawn(program: string, args: readonly number[] = [], cpu?: number): Handle {
    const threads = this.image.table(THREAD);
    const h = threads.alloc();
    if (h === NULL) return NULL;
    const v = threads.view(h);
    v.td_gd = cpu ?? Atomics.add(this.image.i32, this.rt.rt_nextcpu, 1) % this.spec.cpus;
    v.td_prog = programId(program);
    [v.td_arg0, v.td_arg1, v.td_arg2, v.td_arg3] = [args[0] ?? 0, args[1] ?? 0, args[2] ?? 0, args[3] ?? 0];
    Atomics.add(this.image.i32, this.rt.rt_live, 1);
    this.inbox.ready(h);
    return h;
  }

  /** Start every cpu together: resolves once all have attached and been released. */
  async start(): Promise<void> {
    const { cpus } = this.spec;
    if (this.sharedPool && this.sharedPool.cpus !== cpus) throw new Error(`a pool of ${this.sharedPool.cpus} workers cannot run ${cpus} cpus`);
    this.pool = this.sharedPool ? this.sharedPool.get() : newPool(cpus);
    for (let cpu = 0; cpu < cpus; cpu++) {
      const t = this.pool.run({ sab: this.image.sab, shadow: this.shadow, spec: this.spec, cpu, root: PACKAGE_ROOT });
      t.catch((e: unknown) => {
        this.crash ??= e instanceof Error ? e : new Error(String(e));
        this.requestStop();
      });
      this.tasks.push(t);
    }
    while (this.word("rt_started") < cpus && !this.crash) await sleep(2);
    if (this.crash) throw this.crash;
    Atomics.store(this.image.i32, this.rt.rt_go, 1);
    Atomics.notify(this.image.i32, this.rt.rt_go);
  }

  /** Threads runnable or running anywhere. */
  runnable(): number {
    return this.word("rt_runnable");
  }
  live(): number {
    return this.word("rt_live");
  }
  violations(): number {
    return this.word("rt_violations");
  }
  draining(): boolean {
    return this.word("rt_drain") > 0;
  }
  /** System calls completed when the drain started; null before. */
  drainedAtOps(): number | null {
    const d = this.word("rt_drain");
    return d > 0 ? d : null;
  }
  /** Per cpu: system calls completed there (gd_ops), and whether it waits idle on its doorbell (gd_idle). */
  cpuProgress(): { ops: number; idle: boolean }[] {
    const i32 = this.image.i32;
    return Array.from({ length: this.spec.cpus }, (_, c) => ({ ops: Atomics.load(i32, this.inbox.opsWord(c)), idle: Atomics.load(i32, this.inbox.words(c).idle) === 1 }));
  }

  /** Threads in a timed sleep. */
  timed(): number {
    return this.word("rt_timed");
  }
  stopped(): boolean {
    return this.word("rt_stop") !== 0;
  }
  crashed(): Error | null {
    return this.crash;
  }

  /**
   * Wait until nothing is runnable and no timed sleep is pending (logical clock: time jumps to the
   * next deadline instead). Resolves true when quiescent, false on timeout or stop.
   */
  async quiesce(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    let calm = 0;
    while (Date.now() < until && !this.stopped()) {
      if (this.runnable() === 0) {
        if (this.word("rt_timed") === 0) {
          if (++calm >= 2) return true; // seen twice: not a wakeup in flight between counters
        } else if (this.spec.clock === "logical" && !isControlled(this.spec.strategy)) this.advanceToNextDeadline();
      } else calm = 0;
      await sleep(calm ? 0 : 1);
    }
    return false;
  }

  /** Logical clock: jump to the earliest timed sleep's deadline and let its cpu notice. */
  advanceToNextDeadline(): void {
    const threads = this.image.table(THREAD);
    let next = Infinity;
    for (let s = 0; s < threads.capacity; s++) {
      const h = threads.handleAt(s);
      if (h === NULL) continue;
      const b = threads.recordBase(s);
      if (!(Atomics.load(this.image.i32, b + threads.layout.offsets.td_flags) & TDF_DESCHED)) continue;
      const at = Atomics.load(this.image.i32, b + threads.layout.offsets.td_timeout);
      if (at > 0) next = Math.min(next, at);
    }
    if (next === Infinity || next <= this.word("rt_ticks")) return;
    Atomics.store(this.image.i32, this.rt.rt_ticks, next);
    for (let c = 0; c < this.spec.cpus; c++) this.inbox.ring(c);
  }

  /**
   * Ask user programs to finish (see usermode.ts draining()). The cpu completing the next system
   * call starts the drain (cpu.ts progress()), so where it starts is a point of the run.
   */
  drain(): void {
    Atomics.compareExchange(this.image.i32, this.rt.rt_drain, 0, DRAIN_ASKED);
    for (let c = 0; c < this.spec.cpus; c++) this.inbox.ring(c);
  }

  /** System calls completed on every cpu so far (progress). */
  progress(): number {
    let n = 0;
    for (let c = 0; c < this.spec.cpus; c++) n += Atomics.load(this.image.i32, this.inbox.opsWord(c));
    return n;
  }

  /** Controlled modes: decisions taken so far, and the hash of decisions and events. */
  steps(): number {
    return this.word("rt_step");
  }
  /** Controlled modes: decisions where more than one cpu could run (PCT's step count). */
  choices(): number {
    return this.word("rt_choices");
  }
  /** Controlled modes: the strategy's state words, as the last holder left them. */
  chooserState(): Int32Array {
    return chooserWords(this.image);
  }
  eventHash(): string {
    return hashText(this.word("rt_hash0"), this.word("rt_hash1"));
  }

  requestStop(): void {
    Atomics.store(this.image.i32, this.rt.rt_stop, 1);
    if (isControlled(this.spec.strategy)) {
      Atomics.store(this.image.i32, this.rt.rt_baton, -1);
      Atomics.notify(this.image.i32, this.rt.rt_baton);
    }
    for (let c = 0; c < this.spec.cpus; c++) this.inbox.ring(c);
  }

  /** Stop every cpu and collect what each saw. Throws the worker's error if one crashed. */
  async stop(): Promise<CpuResult[]> {
    const { results, crash } = await this.stopCollecting();
    if (crash) throw crash;
    return results;
  }

  /** Stop every cpu; keep what the cpus that did not crash saw, and the crash if one did. */
  async stopCollecting(): Promise<{ results: CpuResult[]; crash: Error | null }> {
    this.requestStop();
    // A cpu wedged in a loop of its own never answers: give up on it after STOP_MS and
    // terminate the workers rather than hang the command.
    let wedged = false;
    const deadline = new Promise<"late">((r) => setTimeout(() => r("late"), STOP_MS).unref());
    const settled = await Promise.race([Promise.allSettled(this.tasks), deadline]);
    if (settled === "late") {
      wedged = true;
      this.crash ??= new Error(`a cpu did not stop within ${STOP_MS / 1000} s of the stop request (wedged in a loop)`);
    }
    if (!this.sharedPool) await this.pool?.destroy();
    else if (wedged) await this.sharedPool.discard();
    this.pool = null;
    const results = settled === "late" ? [] : settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    return { results, crash: this.crash };
  }

  /** Wait (without blocking the event loop) until `cond` holds, the machine stops, or ms pass. */
  async until(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (this.stopped() || Date.now() > end) return cond();
      await sleep(2);
    }
    return true;
  }

  threadSlot(h: Handle): number {
    return slotOf(h);
  }
}
