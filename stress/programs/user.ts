/*
 * The user programs stress scenarios run, written once for both kernels against the calls of
 * CONTRACTS.md. Each is small and readable: a shell that forks and waits, a vforker whose child
 * execs or exits, a threaded process, a reaper daemon orphaning children, a killer sending
 * killpg, an rfork tester. A worker process picks actions by its scenario's weights, from a
 * random stream seeded by the run's seed and its pid, so a seed names the run's workload.
 *
 * The child of a fork returns to the program named by setForkReturn() before the call (C's child
 * would branch on fork's return value at the same pc).
 */
import type { KernelModel, RawResult } from "../../src/kern/kernel.js";
export { reapAll, reap, gone };
import { draining, EXITED, kernelEntry, setForkReturn, syscall } from "../../src/kern/usermode.js";
import { Cpu } from "../../src/sched/cpu.js";
import { registerProgram } from "../../src/sched/programs.js";
import { Rng, subseed } from "../../src/sched/rng.js";
import { EAGAIN, ECHILD, EINTR, ERESTART } from "../../src/sync/errno.js";
import type { KGen } from "../../src/sync/seam.js";
import { PCATCH, tsleep } from "../../src/sync/sleep.js";
import { curthread, image } from "../../src/sync/seam.js";
import { THREAD } from "../../src/shm/core.js";
import { holdersOf } from "../scenarios/make.js";

export const SIGKILL = 9;
export const SIGTERM = 15;
export const SIGCHLD = 20;
export const SIGUSR1 = 30;

/** The actions a worker chooses among; a scenario's mix gives each a weight. */
export const ACTIONS = [
  "forkExitWait", "vforkExec", "rforkFlags", "lwpStorm", "reaperChurn", "reaperChurnFlat", "pgsignalVsFork", "maxprocBurst", "waitRace", "waitRaceIgnored", "setuidFork", "cloneFlags", "tracedFork",
  // reach.ts: the historical reports' interlocks, driven concurrently
  "waitExitThreaded", "pgrpResurrect", "vforkThreads", "lwpChurn", "waitTwo", "forkVsExit", "reaperCollapse", "reaperExitRace", "cloneShare", "killPoll", "pgrpResurrectWaitAny",
  "psWait", "tracedThreads", "sigFork", "psSetuid", "reaperStatus", "rforkPeers",
] as const;
export type Action = (typeof ACTIONS)[number];

import { MIXES } from "./mixes.js";

/** How a kernel's extra actions are made; the common ones use only the shared calls. */
export interface KernelActions {
  model: KernelModel;
  extra: Partial<Record<Action, (u: User) => KGen<boolean>>>;
  /** Programs the extra actions start in children, registered as `<kernel>.<name>`. */
  extraPrograms?: Record<string, (u: User, args: readonly number[]) => KGen>;
}

/** A program names processes by pid already: encode() takes them as they are. */
const PIDS_AS_GIVEN = { pid: (v: unknown) => v as number };

/** A kernel's call numbers by name (the order of its `calls`, as its entry numbers them), made once. */
const callNumbers = new WeakMap<object, ReadonlyMap<string, number>>();
function callNumber(calls: KernelModel["calls"], name: string): number {
  let m = callNumbers.get(calls);
  if (m === undefined) callNumbers.set(calls, (m = new Map(Object.keys(calls).map((c, i) => [c, i]))));
  return m.get(name) ?? -1;
}

/** A user thread's view of its kernel: `yield* u.call("fork")`. */
export class User {
  readonly rng: Rng;
  readonly seq: number;
  constructor(
    readonly k: KernelActions,
    seq: number,
  ) {
    const seed = Cpu.current()?.spec.strategy.seed ?? 0;
    this.seq = seq;
    this.rng = new Rng(subseed(seed, curthread().h, seq));
  }

  get kernel(): string {
    return this.k.model.name;
  }

  /** Make a call by its script name with script-style arguments. EXITED: this thread is gone. */
  *call(name: string, args: Record<string, unknown> = {}): KGen<RawResult> {
    const calls = this.k.model.calls;
    const n = callNumber(calls, name);
    if (n < 0) throw new Error(`${this.kernel} has no call ${name}`);
    return yield* syscall(kernelEntry(this.kernel), n, calls[name].encode(args, PIDS_AS_GIVEN));
  }

  /** Fork-like call whose child runs `program(args)`. */
  *spawn(call: string, args: Record<string, unknown>, program: string, pargs: number[] = []): KGen<RawResult> {
    setForkReturn(`${this.kernel}.${program}`, pargs);
    return yield* this.call(call, args);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.below(xs.length)];
  }
}

/** A program body returns false once its thread has exited (EXITED from a call). */
type Body = (u: User) => KGen<boolean>;

const gone = (r: RawResult) => r === EXITED;

/**
 * Reap one child (or any: pid -1), retrying a wait a caught signal interrupted, as a shell's
 * waitpid loop does; false when this thread is gone.
 */
function* reap(u: User, pid = -1, nohang = false, options: string[] = []): KGen<boolean> {
  for (;;) {
    const r = yield* u.call("wait", { pid, options: nohang ? ["WNOHANG", ...options] : options });
    if (gone(r)) return false;
    if (r.errno !== EINTR && r.errno !== ERESTART) return true;
  }
}

/** Reap until there is nothing left to wait for. */
function* waitRace(u: User, ignoreSigchld: boolean): KGen<boolean> {
  if (ignoreSigchld && gone(yield* u.call("sigaction", { sig: SIGCHLD, handler: "ignore" }))) return false;
  const kids = 2 + u.rng.below(4);
  for (let i = 0; i < kids; i++) if (gone(yield* u.spawn("fork", {}, "linger", [1 + u.rng.below(6)]))) return false;
  const waiters = 1 + u.rng.below(3);
  for (let i = 0; i < waiters; i++) if (gone(yield* u.spawn("lwp_create", {}, "waiter"))) return false;
  if (!(yield* reapAll(u))) return false;
  return !ignoreSigchld || !gone(yield* u.call("sigaction", { sig: SIGCHLD, handler: "default" }));
}

function* reapAll(u: User): KGen<boolean> {
  for (;;) {
    const r = yield* u.call("wait", { pid: -1 });
    if (gone(r)) return false;
    if (r.errno === ECHILD) return true;
  }
}

const common: Record<string, Body> = {
  /** A shell: fork a child that exits at once, wait for it. */
  *forkExitWait(u) {
    const r = yield* u.spawn("fork", {}, "exit", [u.rng.below(4)]);
    if (gone(r)) return false;
    return r.errno === 0 ? yield* reap(u, r.ret) : true;
  },

  /** vfork: the parent sleeps until its child execs or exits; then reap it. */
  *vforkExec(u) {
    const call = u.kernel === "netbsd" && u.rng.below(2) ? "__vfork14" : "vfork";
    const r = yield* u.spawn(call, {}, "vchild", [u.rng.below(2)]);
    if (gone(r)) return false;
    return r.errno === 0 ? yield* reap(u, r.ret) : true;
  },

  /** A threaded process: lwps that make a few calls and exit on their own. */
  *lwpStorm(u) {
    const n = 1 + u.rng.below(4);
    for (let i = 0; i < n; i++) {
      const r = yield* u.spawn("lwp_create", {}, "lwp", [1 + u.rng.below(4)]);
      if (gone(r)) return false;
    }
    return !gone(yield* u.call("getpid"));
  },

  /** killpg racing fork: a group of forkers, signalled while they fork (DragonFly has its own, dragonfly.ts). */
  *pgsignalVsFork(u) {
    const leader = yield* u.spawn("fork", {}, "groupleader", [2 + u.rng.below(3)]);
    if (gone(leader)) return false;
    if (leader.errno !== 0) return true;
    // Put the child in a group of its own (it may have done so already: both sides race, as in a shell).
    if (gone(yield* u.call("setpgid", { pid: leader.ret, pgid: leader.ret }))) return false;
    for (let i = 0; i < 1 + u.rng.below(3); i++) {
      if (gone(yield* u.call("getpid"))) return false;
      const sig = u.rng.below(4) === 0 ? SIGKILL : SIGUSR1;
      if (gone(yield* u.call("killpg", { pgid: leader.ret, sig }))) return false;
    }
    if (gone(yield* u.call("killpg", { pgid: leader.ret, sig: SIGKILL }))) return false;
    return yield* reap(u, leader.ret);
  },

  /** Fork without waiting until the limits say EAGAIN, then reap the lot. */
  *maxprocBurst(u) {
    for (let i = 0; i < 12; i++) {
      const r = yield* u.spawn("fork", {}, "linger", [4 + u.rng.below(8)]);
      if (gone(r)) return false;
      if (r.errno === EAGAIN) break;
    }
    return yield* reapAll(u);
  },

  /** Several lwps of one process waiting at once while children exit. */
  *waitRace(u) {
    return yield* waitRace(u, false);
  },

  /**
   * The same with SIGCHLD ignored: a child that exits becomes a zombie, then hands itself to the
   * reaper (exit1's PS_CLDSIGIGN reparent) while the waiters are reaping it -- kern_wait's p_pptr
   * re-check, and the seed's own window after it (docs/findings.md D4).
   */
  *waitRaceIgnored(u) {
    return yield* waitRace(u, true);
  },

  /** A process of another uid forking against RLIMIT_NPROC. */
  *setuidFork(u) {
    const r = yield* u.spawn("fork", {}, "uidforker", [1000 + u.rng.below(3)]);
    if (gone(r)) return false;
    return r.errno === 0 ? yield* reap(u, r.ret) : true;
  },
};

/** Actions a worker takes before it exits and init replaces it. */
const WORKER_ACTIONS = 16;

/**
 * The worker: weighted picks from its mix, then exit. args: mix, seq, persistent (1: pick until
 * the run drains, as a will-it-scale task loops; 0: WORKER_ACTIONS picks), vforked (1: its parent
 * vforked it and waits for its exec, as a shell starts a program).
 */
function* worker(k: KernelActions, [mix, seq, persistent, vforked]: readonly number[]): KGen {
  const u = new User(k, seq);
  if (vforked && gone(yield* u.call("exec"))) return;
  const weights = MIXES[mix] ?? {};
  const menu = ACTIONS.filter((a) => (weights[a] ?? 0) > 0 && (common[a] || k.extra[a]));
  const total = menu.reduce((n, a) => n + weights[a]!, 0);
  if (gone(yield* u.call("sigaction", { sig: SIGUSR1, handler: "catch" }))) return;
  for (let i = 0; (persistent || i < WORKER_ACTIONS) && !draining() && total > 0; i++) {
    let x = u.rng.below(total);
    const a = menu.find((m) => (x -= weights[m]!) < 0)!;
    const body = k.extra[a] ?? common[a]!; // a kernel's own action replaces the common one
    if (!(yield* body(u))) return;
  }
  yield* u.call("exit", { status: 0 });
}

/**
 * init: start `population` workers (0: one per cpu; vforked, each execs first), reap whatever becomes a zombie, replace
 * each worker that ends (not the orphans it also reaps: they would grow the population); idle
 * once draining. args: population, mix, persistent (handed to the workers).
 */
function* init(k: KernelActions, [perScenario, mix, persistent]: readonly number[]): KGen {
  const u = new User(k, 0);
  const population = perScenario || (Cpu.current()?.spec.cpus ?? 1);
  let seq = 1;
  const workers = new Set<number>();
  /** Start workers up to the population; stop at a failed fork (EAGAIN at maxproc), retried after the next reap. */
  const replenish = function* (): KGen<boolean> {
    while (!draining() && workers.size < population) {
      // vfork + exec: the worker's first lwp takes init's tid (DragonFly lwp_fork, 000:809-810),
      // which scenarios boot near INT_MAX (stress/scenarios/make.ts): its lwps' tids wrap.
      const r = yield* u.spawn("vfork", {}, "worker", [mix, seq++, persistent, 1]);
      if (gone(r)) return false;
      if (r.errno !== 0) break;
      workers.add(r.ret);
    }
    return true;
  };
  if (!(yield* replenish())) return;
  for (;;) {
    const r = yield* u.call("wait", { pid: -1 });
    if (gone(r)) return;
    if (r.errno === ECHILD && draining()) break;
    if (r.errno === 0) workers.delete(r.ret);
    if (!(yield* replenish())) return;
  }
  yield* idle();
}

/**
 * pause(2), or a nap of `ticks` (0: until a signal): an interruptible sleep on a channel nobody
 * wakes, then userret acts on the signal that ended it. False when the process is gone.
 */
function* pause(u: User, ticks: number): KGen<boolean> {
  const chan = image.table(THREAD).view(curthread().h).ptr("td_wchan");
  yield* tsleep(chan, PCATCH, "pause", ticks);
  return yield* kernelEntry(u.kernel).userret();
}

/** Drained: every process is reaped. Sleep until the machine stops (on a channel nobody wakes). */
function* idle(): KGen {
  const chan = image.table(THREAD).view(curthread().h).ptr("td_wchan");
  for (;;) yield* tsleep(chan, 0, "idle", 0);
}

/**
 * fork-hold's init: `held` processes asleep for the whole run, then one persistent worker per cpu
 * running `mix` (fork-exit-wait shells) against a process table holding them all. The held
 * processes hang from about sqrt(held) holders (one parent of 60,000 would make every wait(2)
 * walk 60,000 children), each vforked in turn: init goes on once a holder has made its share
 * and exec'd, so every held process exists before the first shell runs. args: held, mix.
 */
function* holdInit(k: KernelActions, [held, mix]: readonly number[]): KGen {
  const u = new User(k, 0);
  const holders = holdersOf(held);
  for (let i = 0; i < holders && !draining(); i++) {
    const share = Math.floor(held / holders) + (i < held % holders ? 1 : 0);
    const r = yield* u.spawn("vfork", {}, "holder", [share]);
    if (gone(r)) return;
    if (r.errno !== 0) break; // EAGAIN: the tables hold no more
  }
  const shells = Cpu.current()?.spec.cpus ?? 1;
  for (let seq = 1; seq <= shells && !draining(); seq++) if (gone(yield* u.spawn("vfork", {}, "worker", [mix, seq, 1, 1]))) return;
  if (!(yield* reapAll(u))) return; // the shells and holders end once draining
  yield* idle();
}
function programs(k: KernelActions): Record<string, (u: User, args: readonly number[]) => KGen> {
  return {
    *exit(u, [status]) {
      yield* u.call("exit", { status });
    },
    /** A vfork child: exec (ending the parent's wait) then exit, or exit at once. */
    *vchild(u, [execFirst]) {
      if (execFirst && gone(yield* u.call("exec"))) return;
      yield* u.call("exit", { status: 0 });
    },
    /** An lwp: a few calls, then lwp_exit. */
    *lwp(u, [n]) {
      for (let i = 0; i < n; i++) if (gone(yield* u.call("getpid"))) return;
      yield* u.call("lwp_exit");
    },
    /** Stay alive for a few calls, then exit (a child holding a process slot). */
    *linger(u, [n]) {
      for (let i = 0; i < n; i++) if (gone(yield* u.call("getppid"))) return;
      yield* u.call("exit", { status: 0 });
    },
    /**
     * fork-hold's holder, vforked by init: fork `share` held processes, exec (init goes on), sleep
     * until the drain, then kill and reap them.
     */
    *holder(u, [share]) {
      const held: number[] = [];
      for (let i = 0; i < share; i++) {
        const r = yield* u.spawn("fork", {}, "held");
        if (gone(r)) return;
        if (r.errno !== 0) break;
        held.push(r.ret);
      }
      if (gone(yield* u.call("exec"))) return;
      const second = Cpu.current()?.spec.hz ?? 100; // ticks
      while (!draining()) if (!(yield* pause(u, second))) return;
      for (const pid of held) if (gone(yield* u.call("kill", { pid, sig: SIGKILL }))) return;
      if (yield* reapAll(u)) yield* u.call("exit", { status: 0 });
    },
    /** A held process: asleep until SIGKILL ends it. */
    *held(u) {
      while (yield* pause(u, 0));
    },
    /** An lwp that reaps its process's children until none is left. */
    *waiter(u) {
      if (!(yield* reapAll(u))) return;
      yield* u.call("lwp_exit");
    },
    /** Leads a process group of forkers that fork and reap while killpg hits them. */
    *groupleader(u, [n]) {
      if (gone(yield* u.call("setpgid", { pid: 0, pgid: 0 }))) return;
      for (let i = 0; i < n; i++) if (gone(yield* u.spawn("fork", {}, "forker", [2 + u.rng.below(3)]))) return;
      if (!(yield* reapAll(u))) return;
      yield* u.call("exit", { status: 0 });
    },
    /** Fork-and-reap in a loop (a busy shell inside a signalled group). */
    *forker(u, [n]) {
      for (let i = 0; i < n; i++) {
        const r = yield* u.spawn("fork", {}, "exit", [0]);
        if (gone(r)) return;
        if (r.errno === 0 && !(yield* reap(u, r.ret))) return;
      }
      yield* u.call("exit", { status: 0 });
    },
    /**
     * setuid to a non-root uid, then fork against RLIMIT_NPROC and maxproc's last ten: more
     * children than the scenarios' RLIMIT_NPROC (12), each lingering long enough that one
     * forker alone usually reaches the limit, whatever the interleaving.
     */
    *uidforker(u, [uid]) {
      if (gone(yield* u.call("setuid", { uid }))) return;
      for (let i = 0; i < 16; i++) {
        const r = yield* u.spawn("fork", {}, "linger", [4]);
        if (gone(r)) return;
        if (r.errno === EAGAIN) break;
      }
      if (!(yield* reapAll(u))) return;
      yield* u.call("exit", { status: 0 });
    },
    *worker(u, args) {
      yield* worker(u.k, args);
    },
    ...k.extraPrograms,
  };
}

/** Register one kernel's user programs as `<kernel>.<name>`. */
export function registerUserPrograms(k: KernelActions): void {
  const all = programs(k);
  for (const [name, body] of Object.entries(all)) {
    registerProgram(`${k.model.name}.${name}`, (args) => body(new User(k, args[3] ?? 0), args));
  }
  registerProgram(`${k.model.name}.init`, (args) => init(k, args));
  registerProgram(`${k.model.name}.holdinit`, (args) => holdInit(k, args));
}
