/*
 * One simulated cpu: the per-cpu LWKT scheduler of the threads placed on it (mycpu).
 *
 * A thread runs until its generator yields a switch. Every switch releases all of the thread's
 * tokens; before the thread runs again lwkt_getalltokens() must take them all back, and until it
 * can, the thread stays on the run queue while others run (a contended token yields the cpu, it
 * does not block it). A sleeping thread leaves the run queue; a wakeup from any cpu puts it in
 * this cpu's inbox and rings the doorbell. With nothing runnable the cpu waits on its doorbell.
 * No thread is preempted between switches, as in LWKT.
 */
import { KernelPanic, installPoint, installViolationSink, type PointKind, type ViolationInfo } from "../shm/hooks.js";
import { DRAIN_ASKED, runControlWords, THREAD } from "../shm/core.js";
import { Image } from "../shm/image.js";
import { ev, EV, evNote, installTrace, lastEvents, type TraceEvent } from "../shm/trace.js";
import { installFreedBy, slotOf, type Handle } from "../shm/table.js";
import { installWords } from "../shm/words.js";
import { lockstatSnapshot, resetLockstat, type LockStat } from "../sync/lockstat.js";
import { installSync, STACK_PEEK, SWITCH_SLEEP, SWITCH_TOKEN, type SyncThread } from "../sync/seam.js";
import { initSleepQueues, installWakeupCheck, sleepq_deadline, sleepq_park, sleepq_exitwakeup, sleepq_remove, sleepq_threadexit, sleepq_timeout, sleepq_wchan, wakeup_debt } from "../sync/sleep.js";
import { gd_spinlocks } from "../sync/spinlock.js";
import { lwkt_getalltokens, lwkt_relalltokens, tokenStack, tokensHeld } from "../sync/token.js";
import { resetWitness, witnessEdges, type WitnessEdges } from "../sync/witness.js";
import { installBugs } from "../bugs/switch.js";
import { wakeupChecks } from "./quiescent.js";
import { installDetectors } from "../detect/index.js";
import type { Detector } from "../detect/detector.js";
import { syncObs } from "../sync/observe.js";
import { Baton } from "./baton.js";
import { EventLogWriter } from "./eventlog.js";
import { Inboxes } from "./inbox.js";
import { kernelChain, takeStack } from "./kstack.js";
import { collect, programById, resetCollectors } from "./programs.js";
import { placeNewThread } from "./placement.js";
import { makeStrategy } from "./strategies.js";
import { virtualNanoclocks } from "./virtual.js";
import { imageTables, type MachineSpec } from "./spec.js";
import type { Strategy } from "./strategy.js";
import { Thread } from "./thread.js";

export interface ViolationRecord {
  law: string;
  message: string;
  cpu: number;
  tid: number;
  pid: number;
  syscall: string;
  atSeconds: number;
  step: number;
  /** Controlled modes: the run's event hash just before the violation (what a replay compares). */
  eventHash?: string;
  stack: string;
  events: unknown[];
}

/** One thread as a hang dump shows it (ddb's `ps` and `show locks` in one). */
export interface ThreadDump {
  cpu: number;
  tid: number;
  pid: number;
  program: string;
  syscall: string;
  state: "running" | "runnable" | "sleeping";
  /** "<wmesg> on <record>" while asleep in tsleep, else null. */
  wchan: string | null;
  /** Locks it holds now (lockmgr, mutexes, tokens; LWKT releases tokens while switched out). */
  holds: string[];
  /** Its LWKT token references, innermost last: each is taken back before it runs again. */
  tokens: string[];
  /** The lock it waits for (a token, lockmgr lock or mutex), or null. */
  waitsFor: string | null;
  /** The threads that hold what it waits for (filled in when the dumps of every cpu are merged). */
  waitsForHolders: { cpu: number; tid: number; pid: number }[];
  /** Its kernel call chain where it sleeps (kstack.ts); "" when not asleep, or past its cpu's STACKS_PER_CPU latest sleepers. */
  stack: string;
}

export interface CpuResult {
  cpu: number;
  violations: ViolationRecord[];
  lockstat: LockStat[];
  witness: WitnessEdges;
  threads: ThreadDump[];
  /** Threads that ran to completion here. */
  exited: number;
  /** The cpu's event ring, oldest first. */
  events: TraceEvent[];
  /** What modules registered to report (system-call counts...). */
  extras: Record<string, unknown>;
  /** Controlled modes: the decisions this cpu took, as runs of (first step, chosen cpu, count). */
  decisions: number[];
}

/** Free mode, a run bounded by system calls: calls of one cpu between two looks at the total (see Cpu.opsLookEvery). */
const OPS_LOOK_FREE = 32;

/** Longest idle wait before re-checking the stop flag and timeouts (ms). */
const IDLE_MS = 20;
/**
 * Sleepers whose stacks a stopping cpu takes (each resumes the sleeper's generator once): with
 * fork-hold's tens of thousands of sleepers, taking them all passed the machine's stop allowance,
 * and a drain that ran out of time was reported as an error instead of its hang.
 */
export const STACKS_PER_CPU = 1_000;

/** Unwinds a thread spinning on a lock when the machine stops (see spinWait above). */
class MachineStopping extends Error {}

let current: Thread | null = null;
let thisCpu: Cpu | null = null;

/** Count one unit of progress (a system call finished) on this cpu: the watchdog reads it. */
export function cpu_progress(): void {
  thisCpu?.progress();
}

export class Cpu {
  readonly image: Image;
  readonly inbox: Inboxes;
  readonly strategy: Strategy;
  private readonly runq: Thread[] = [];
  /**
   * This cpu's parked sleepers by thread slot, for the wakeup that delivers one (arrive). Not a
   * Map: with fork-hold's 30,000 sleepers a cpu, a Map's set and delete at every sleep were 8-15 %
   * of a busy cpu (cpu profiles of the 60,000-held window), where a slot's store is one word.
   * Filled to the thread table's size at once, so that V8 keeps it a flat array, not a dictionary.
   */
  private readonly sleeping: (Thread | undefined)[];
  /** Parks so far on this cpu: a sleeper's parkedAt, so dumps list sleepers in the order they fell asleep. */
  private parks = 0;
  /** The sleepers with a timeout (t.timed): what checkTimeouts walks at every switch, not every sleeper (fork-hold's 30,000 a cpu). */
  private readonly timedSleepers = new Set<Thread>();
  /**
   * No timed sleeper's deadline is before this tick: until then checkTimeouts has nothing to wake
   * and the next deadline is this one, so it skips the walk (fork-hold's holders: a cold load each,
   * at every switch). -Infinity when not known (a timed sleeper left, or one is due): walk.
   */
  private timedFrom = -Infinity;
  private readonly violations: ViolationRecord[] = [];
  private readonly i32: Int32Array;
  private readonly rt: Readonly<Record<string, number>>;
  private readonly td: { base: number; stride: number; flags: number; prog: number; args: number };
  private readonly epochMs: number;
  /** A virtual run's cpu clocks (this cpu's is its time), null for wall time. */
  private readonly nanoclocks: Float64Array | null;
  private exited = 0;
  /** The field-level detectors, when the spec turns any on (src/detect). */
  private detector: Detector | null = null;
  /** Hook for the kernel model: a thread's generator finished (its record is the kernel's to free). */
  onThreadExit: (t: Thread) => void;

  constructor(
    readonly cpuid: number,
    readonly spec: MachineSpec,
    sab: SharedArrayBuffer,
    private readonly shadow: SharedArrayBuffer | null = null,
  ) {
    this.image = Image.attach(sab, imageTables(spec));
    this.i32 = this.image.i32;
    this.rt = runControlWords(this.image);
    const t = this.image.table(THREAD);
    const o = t.layout.offsets;
    this.td = { base: t.base, stride: t.layout.stride, flags: o.td_flags, prog: o.td_prog, args: o.td_arg0 };
    this.inbox = new Inboxes(this.image, spec.maxThreads, cpuid);
    this.sleeping = new Array<Thread | undefined>(spec.maxThreads).fill(undefined);
    this.gdOps = this.inbox.opsWord(cpuid);
    this.nexttoWord = this.inbox.words(cpuid).nextto;
    this.epochMs = Atomics.load(this.i32, this.rt.rt_epoch_hi) * 2 ** 31 + Atomics.load(this.i32, this.rt.rt_epoch_lo);
    this.nanoclocks = virtualNanoclocks(spec, this.image);
    this.strategy = makeStrategy(spec, this.image, this.inbox, cpuid, () => this.runq.length);
    this.opsLookEvery = this.strategy instanceof Baton ? 1 : OPS_LOOK_FREE;
    this.onThreadExit = (t) => this.image.table(THREAD).free(t.h, "thread exit");
    thisCpu = this; // before install(): the hooks it installs act on thisCpu
    this.install();
  }

  /** Init's children made on this cpu, which spread-shells places in turn (placement.ts). */
  initChildren = 0;
  private gdOps = 0;
  private nexttoWord = 0;
  /**
   * A run bounded by system calls: this cpu adds up every cpu's count at every call of its own
   * (controlled modes: the drain starts at the same step every time), or in free mode at every
   * OPS_LOOK_FREE-th -- each cpu writes its count at each call, so reading them all at each call
   * took a line from every other cpu at each call. A free run may overshoot by cpus x that.
   */
  private readonly opsLookEvery: number;
  progress(): void {
    const mine = Atomics.add(this.i32, this.gdOps, 1) + 1;
    if (this.cpuid === 0 && mine === this.spec.plantCrashAfterOps) throw new Error("planted worker exception (harness self-test)");
    const drain = Atomics.load(this.i32, this.rt.rt_drain);
    const limit = this.spec.drainAtOps;
    if (drain > 0 || (drain === 0 && limit === undefined)) return;
    if (drain === 0 && mine % this.opsLookEvery !== 0) return;
    let ops = 0;
    for (let c = 0; c < this.spec.cpus; c++) ops += Atomics.load(this.i32, this.inbox.opsWord(c));
    // Asked for, or the run's length reached: draining from this call on (rtctl.rt_drain).
    if (drain === DRAIN_ASKED || ops >= limit!) Atomics.compareExchange(this.i32, this.rt.rt_drain, drain, ops);
  }

  /*
   * The hooks a cpu installs in the primitives, the same functions run after run: a pooled worker
   * runs one machine after another, and a closure made per machine was a new call target at
   * every call site that had inlined the last one's (the kernel's every point and curthread), so
   * each pooled worker's second run deoptimized and compiled the kernel again ("wrong call
   * target", --trace-deopt). They act on the cpu of the machine running now (thisCpu).
   */
  private static readonly running = (): Thread | null => current;
  private static readonly atPoint = (kind: PointKind): number => thisCpu!.strategy.atPoint(kind);
  private static readonly sink = (v: ViolationInfo): void => thisCpu!.record(v);
  private static readonly freedBy = (record: number): number => {
    evNote(EV.FREE, record);
    return (thisCpu!.cpuid << 16) | (current ? slotOf(current.h) + 1 : 0);
  };
  private static readonly hooks = {
    current: (): SyncThread => current ?? thisCpu!.noThread(),
    ready: (h: Handle): void => {
      if (syncObs !== null && current !== null) syncObs.wake(h); // a new thread starts after its creator
      thisCpu!.inbox.ready(h);
    },
    ticks: (): number => thisCpu!.ticks(),
    spinWait: (): void => {
      // A holder that died (a panicked thread keeps its spin lock) never releases: a spinner
      // must still notice the machine stopping, or its worker never returns.
      if (thisCpu!.stopped()) throw new MachineStopping();
      thisCpu!.strategy.spinWait();
    },
    alone: (): boolean => thisCpu!.strategy instanceof Baton && thisCpu!.strategy.holding(),
    nanotime: (): number => {
      const c = thisCpu!;
      return c.nanoclocks !== null ? c.nanoclocks[c.cpuid] : performance.now() * 1e6;
    },
    newThreadCpu: (): number => {
      const c = thisCpu!;
      return placeNewThread(c.spec.placement ?? "spread", c.rt.rt_nextcpu, c.spec.cpus, c.cpuid, current?.pid ?? 0, c);
    },
  };

  private install(): void {
    // A pooled worker runs one machine after another: start every per-cpu record afresh.
    const off = this.spec.instrumentsOff ?? [];
    resetLockstat(this.spec.lockSites, !off.includes("lockstat"));
    resetWitness(!off.includes("witness"));
    resetCollectors();
    installWords(this.spec.cpus);
    installSync(this.image, Cpu.hooks);
    initSleepQueues();
    installWakeupCheck(this.strategy instanceof Baton ? wakeupChecks : null);
    this.detector = installDetectors(
      this.image,
      this.shadow && { detectors: this.spec.detectors ?? [], shadow: this.shadow, cpu: this.cpuid, maxThreads: this.spec.maxThreads, concurrent: !(this.strategy instanceof Baton), cpus: this.spec.cpus, siteAddrs: this.spec.siteAddrs ?? [] },
      Cpu.running,
    );
    installBugs(this.spec.bugs ?? []);
    if (!(this.strategy instanceof Baton)) for (const t of this.image.allTables()) t.allocateApart(this.cpuid, this.spec.cpus);
    installPoint(Cpu.atPoint, this.strategy.first());
    installViolationSink(Cpu.sink);
    installFreedBy(Cpu.freedBy);
    const baton = this.strategy instanceof Baton ? this.strategy : null;
    const mix = baton && ((type: number, tid: number, a: number, b: number) => baton.mix((type << 24) ^ (tid << 12) ^ a ^ Math.imul(b, 31)));
    installTrace(
      Cpu.running,
      this.epochMs,
      mix && this.spec.eventLog ? this.loggedMix(mix, baton!, new EventLogWriter(this.spec.eventLog)) : mix,
      baton && { i32: this.i32, at: this.rt.rt_baton, me: this.cpuid },
      !off.includes("trace"),
    );
  }

  /** What the run's hash mixes, also written to the run's event log (eventlog.ts) while this cpu holds the baton. */
  private loggedMix(mix: (type: number, tid: number, a: number, b: number) => void, baton: Baton, log: EventLogWriter) {
    return (type: number, tid: number, a: number, b: number) => {
      mix(type, tid, a, b);
      if (baton.holding()) log.add(baton.currentStep(), this.cpuid, type, tid, a, b);
    };
  }

  private noThread(): SyncThread {
    throw new Error("a kernel primitive was called outside any thread");
  }

  ticks(): number {
    if (this.spec.clock === "logical") return Atomics.load(this.i32, this.rt.rt_ticks);
    return Math.floor(((Date.now() - this.epochMs) * this.spec.hz) / 1000);
  }

  /** This worker's cpu (mycpu), or null on the orchestrator. */
  static current(): Cpu | null {
    return thisCpu;
  }

  /** The thread running on this cpu (curthread), or null between threads. */
  static curthread(): Thread | null {
    return current;
  }

  private record(v: ViolationInfo): void {
    // A controlled run is what the baton holders did: once it stopped, cpus running free are not it.
    if (this.strategy instanceof Baton && !this.strategy.holding()) return;
    const t = current;
    this.violations.push({
      law: v.law,
      message: v.message,
      cpu: this.cpuid,
      tid: t ? slotOf(t.h) : -1,
      pid: t?.pid ?? 0,
      syscall: t?.syscall ?? "",
      atSeconds: (Date.now() - this.epochMs) / 1000,
      step: this.strategy instanceof Baton ? this.strategy.currentStep() : 0,
      ...(this.strategy instanceof Baton ? { eventHash: this.strategy.currentHash() } : {}),
      stack: kernelChain(takeStack().stack ?? ""),
      events: lastEvents(32),
    });
    ev(EV.VIOLATION, this.violations.length - 1);
    Atomics.add(this.i32, this.rt.rt_violations, 1);
    if (this.spec.stopOnViolation) this.stopAll();
  }

  stopAll(): void {
    Atomics.store(this.i32, this.rt.rt_stop, 1);
    if (this.strategy instanceof Baton) {
      this.strategy.publish();
      Atomics.store(this.i32, this.rt.rt_baton, -1);
      Atomics.notify(this.i32, this.rt.rt_baton);
    }
    for (let c = 0; c < this.spec.cpus; c++) this.inbox.ring(c);
  }

  stopped(): boolean {
    return Atomics.load(this.i32, this.rt.rt_stop) !== 0;
  }

  /** A handle arrived in the inbox: a sleeper woken, or a new thread to start. */
  private arrive(h: Handle): void {
    const t = this.sleeping[slotOf(h)];
    if (t !== undefined && t.h === h) {
      this.sleeping[slotOf(h)] = undefined;
      this.untime(t);
      t.needTokens = true;
      this.runq.push(t);
      return;
    }
    // Not a sleeper of this cpu: a new thread, which its handle must still name. A stale handle
    // (a wakeup through an ended thread's) would start the slot's program again beside the
    // slot's live thread, sharing its records and its detector thread id.
    if (!this.image.table(THREAD).valid(h)) throw new Error(`cpu ${this.cpuid}: readied handle 0x${h.toString(16)} of thread ${slotOf(h)} names no live thread (a wakeup through an ended thread's handle)`);
    const b = this.td.base + slotOf(h) * this.td.stride;
    const prog = programById(this.i32[b + this.td.prog]);
    if (!prog) throw new Error(`cpu ${this.cpuid}: thread ${slotOf(h)} names no registered program`);
    const args = [0, 1, 2, 3].map((i) => this.i32[b + this.td.args + i]);
    const nt = new Thread(h, this.cpuid, prog.name, undefined as never);
    if (syncObs !== null) syncObs.threadStart(nt);
    current = nt;
    nt.gen = prog.run(args);
    ev(EV.THREAD_START, programIdOf(b, this));
    current = null;
    this.runq.push(nt);
  }

  private untime(t: Thread): void {
    if (!t.timed) return;
    t.timed = false;
    this.timedSleepers.delete(t);
    this.timedFrom = -Infinity;
    Atomics.sub(this.i32, this.rt.rt_timed, 1);
  }

  /** Wake timed-out sleepers; publish (gd_nextto) and return the ticks to the next deadline. */
  private checkTimeouts(): number {
    let next = Infinity;
    if (this.timedSleepers.size === 0) {
      if (this.i32[this.nexttoWord] !== 0) this.i32[this.nexttoWord] = 0; // baton holders read this line
      return next;
    }
    const now = this.ticks();
    if (now < this.timedFrom) {
      if (this.i32[this.nexttoWord] !== this.timedFrom) this.i32[this.nexttoWord] = this.timedFrom;
      return this.timedFrom - now;
    }
    let earliest = Infinity; // of the sleepers left timed
    for (const t of this.timedSleepers) {
      const at = sleepq_deadline(t.h);
      if (at <= now && sleepq_timeout(t.h)) {
        this.sleeping[slotOf(t.h)] = undefined;
        this.untime(t);
        Atomics.add(this.i32, this.rt.rt_runnable, 1);
        t.needTokens = true;
        this.runq.push(t);
        continue;
      }
      earliest = Math.min(earliest, at);
      if (at > now) next = Math.min(next, at - now);
    }
    this.timedFrom = earliest;
    this.i32[this.nexttoWord] = next === Infinity ? 0 : now + next;
    return next;
  }

  /** Run until the machine stops. */
  run(): CpuResult {
    Atomics.add(this.i32, this.rt.rt_started, 1);
    while (Atomics.load(this.i32, this.rt.rt_go) === 0) Atomics.wait(this.i32, this.rt.rt_go, 0, 50);
    if (this.strategy instanceof Baton) this.strategy.waitTurn();
    const doorbell = this.inbox.doorbell(this.cpuid);
    let blockedInARow = 0;
    while (!this.stopped()) {
      const seen = Atomics.load(this.i32, doorbell);
      this.inbox.drain(this.cpuid, (h) => this.arrive(h));
      const untilTimeout = this.checkTimeouts();
      const t = this.runq.shift();
      if (t === undefined) {
        const ms = this.spec.clock === "wall" ? Math.min(IDLE_MS, (untilTimeout * 1000) / this.spec.hz) : IDLE_MS;
        this.strategy.idle(doorbell, seen, ms);
        continue;
      }
      if (t.needTokens) {
        if (!lwkt_getalltokens(t)) {
          this.runq.push(t);
          if (++blockedInARow >= this.runq.length) {
            blockedInARow = 0;
            this.strategy.spinWait(t.waitfor || undefined);
          }
          continue;
        }
        t.needTokens = false;
      }
      blockedInARow = 0;
      this.step(t);
    }
    return this.result();
  }

  /** Run one thread until it switches out or ends. */
  private step(t: Thread): void {
    current = t;
    let r: IteratorResult<number, void>;
    try {
      r = t.gen.next(t.resume);
    } catch (e) {
      current = null;
      if (e instanceof MachineStopping) return; // the run is over: the thread is left as it is
      if (!(e instanceof KernelPanic)) throw e;
      this.finish(t, true); // the violation is recorded; the thread cannot go on
      return;
    }
    current = null;
    if (gd_spinlocks !== 0 && !r.done) this.record({ law: "spinlock-held-across-switch", message: `thread ${slotOf(t.h)} switched out holding a spin lock` });
    if (r.done) {
      this.finish(t);
      return;
    }
    lwkt_relalltokens(t);
    if (syncObs !== null) syncObs.switchOut(t);
    t.resume = 0;
    t.needTokens = t.ntoks > 0;
    if (r.value === SWITCH_SLEEP) {
      if (sleepq_park(t.h)) {
        this.sleeping[slotOf(t.h)] = t;
        t.parkedAt = ++this.parks;
        Atomics.sub(this.i32, this.rt.rt_runnable, 1);
        if (sleepq_deadline(t.h) !== 0) {
          t.timed = true;
          this.timedSleepers.add(t);
          this.timedFrom = Math.min(this.timedFrom, sleepq_deadline(t.h));
          Atomics.add(this.i32, this.rt.rt_timed, 1);
        }
        return;
      }
    } else if (r.value !== SWITCH_TOKEN) {
      // SWITCH_YIELD: to the back of the queue
    }
    this.runq.push(t);
  }

  /** A thread's generator ended; `panicked`: unwound by a KernelPanic, its locks left as the panic found them. */
  private finish(t: Thread, panicked = false): void {
    if (t.ntoks || t.held.length) {
      const what = [...tokensHeld(t), ...t.held.map((l) => l.lock)].map((a) => this.image.describe(a)).join(", ");
      current = t;
      // After a panic the locks are still held because the panic unwound the thread, not because
      // the kernel forgot them: reporting them would bury the real violation under its echo.
      if (what && !panicked) this.record({ law: "thread-exit-holding-locks", message: `thread ${slotOf(t.h)} (${t.program}) ended holding ${what}` });
      lwkt_relalltokens(t);
      current = null;
    }
    sleepq_remove(t.h);
    current = t;
    wakeup_debt(t, "it exited");
    ev(EV.THREAD_EXIT);
    if (syncObs !== null) syncObs.threadExit(t);
    current = null;
    const exitWaited = sleepq_threadexit(t.h);
    this.onThreadExit(t);
    // Its exit waiters are runnable before it stops counting as runnable: quiescence never sees a gap.
    if (exitWaited) sleepq_exitwakeup(t.h);
    Atomics.sub(this.i32, this.rt.rt_runnable, 1);
    Atomics.sub(this.i32, this.rt.rt_live, 1);
    this.exited++;
  }

  private dump(t: Thread, state: ThreadDump["state"], withStack = true): ThreadDump {
    const wchan = sleepq_wchan(t.h);
    const d = (a: number) => this.image.describe(a);
    return {
      cpu: this.cpuid,
      tid: slotOf(t.h),
      pid: t.pid,
      program: t.program,
      syscall: t.syscall,
      state,
      wchan: wchan ? `${t.sleepWmesg ?? "?"} on ${d(wchan)}` : null,
      holds: [...tokensHeld(t), ...t.held.map((l) => l.lock)].map(d),
      tokens: tokenStack(t).map((r) => d(r.tok)),
      waitsFor: t.waitfor ? d(t.waitfor) : null,
      waitsForHolders: [],
      stack: state === "sleeping" && withStack ? this.sleepingStack(t) : "",
    };
  }

  /** Where a sleeper sleeps: resumed with STACK_PEEK, tsleep leaves its stack and sleeps on (no other code runs). */
  private sleepingStack(t: Thread): string {
    current = t;
    try {
      t.gen.next(STACK_PEEK);
    } finally {
      current = null;
    }
    const stack = t.sleptAt?.stack ?? "";
    t.sleptAt = null;
    return kernelChain(stack);
  }

  /** The sleepers in the order they fell asleep; only the latest STACKS_PER_CPU get their stacks. */
  private sleepingDumps(): ThreadDump[] {
    const all = this.sleeping.filter((t) => t !== undefined).sort((a, b) => a.parkedAt - b.parkedAt);
    const firstWithStack = all.length - STACKS_PER_CPU;
    return all.map((t, i) => this.dump(t, "sleeping", i >= firstWithStack));
  }

  private result(): CpuResult {
    return {
      cpu: this.cpuid,
      violations: this.violations,
      lockstat: lockstatSnapshot(),
      witness: witnessEdges(),
      threads: [...this.runq.map((t) => this.dump(t, "runnable")), ...this.sleepingDumps()],
      exited: this.exited,
      events: lastEvents(),
      extras: this.detector ? { ...collect(), detectors: this.detector.summary() } : collect(),
      decisions: this.strategy instanceof Baton ? this.strategy.decisions : [],
    };
  }
}

function programIdOf(b: number, cpu: Cpu): number {
  return cpu.image.i32[b + cpu.image.table(THREAD).layout.offsets.td_prog];
}
