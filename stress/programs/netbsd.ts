/*
 * NetBSD's own stress actions (__clone with random flag sets, a debugger tracing a forking
 * process, with PTRACE_VFORK_DONE or no event) and the registration of its user programs
 * in every cpu. Loaded as a scenario module.
 */
import { netbsd } from "../../src/kern/netbsd/model.js";
import {
  CLONE_FILES, CLONE_FS, CLONE_PID, CLONE_PTRACE, CLONE_SIGHAND, CLONE_VFORK, CLONE_VM, PTRACE_VFORK_DONE, SIGCHLD, SIGUSR1,
} from "../../src/kern/netbsd/structs.js";
import { ECHILD } from "../../src/sync/errno.js";
import type { KGen } from "../../src/sync/seam.js";
import { netbsdReach, reachActions, reachPrograms } from "./reach.js";
import { gone, reapAll, registerUserPrograms, type User } from "./user.js";

const VALID_CLONE = [CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_VFORK];

/** A random __clone: mostly valid, sometimes CLONE_PID/CLONE_PTRACE, SIGHAND without VM or an exit signal >= _NSIG. */
function cloneArgs(u: User): { flags: number; sig: number } {
  let flags = 0;
  for (const f of VALID_CLONE) if (u.rng.below(3) === 0) flags |= f;
  if (flags & CLONE_SIGHAND) flags |= CLONE_VM;
  // Exit signals: SIGCHLD, none, or SIGUSR1 (which workers catch).
  let sig = [SIGCHLD, SIGCHLD, 0, SIGUSR1][u.rng.below(4)];
  switch (u.rng.below(10)) {
    case 0:
      flags |= u.rng.below(2) ? CLONE_PID : CLONE_PTRACE; // EINVAL (001:161-165)
      break;
    case 1:
      flags = (flags | CLONE_SIGHAND) & ~CLONE_VM; // EINVAL (001:167-172)
      break;
    case 2:
      sig = 64 + u.rng.below(192); // >= _NSIG: EINVAL (001:187-189)
      break;
  }
  return { flags, sig };
}

/** __clone a child that exits at once; reap it with the wait options its exit signal needs. */
function* cloneAction(u: User): KGen<boolean> {
  const { flags, sig } = cloneArgs(u);
  const r = yield* u.spawn("clone", { flags, sig }, "exit", [u.rng.below(4)]);
  if (gone(r)) return false;
  if (r.errno !== 0) return true;
  // wait(2) sees only SIGCHLD children; WALTSIG the others, WALLSIG both.
  const options = sig === SIGCHLD ? [] : [u.rng.below(2) ? "WALTSIG" : "WALLSIG"];
  return !gone(yield* u.call("wait", { pid: r.ret, options }));
}

/*
 * PTRACE_VFORK is left out: with it, a vfork child goes to the tracer and its exec/exit wakes the
 * tracer's p_waitcv, not the vforking parent's -- the seed's lost wakeup (docs/findings.md N1),
 * which the vfork-lost-wakeup law reports on every such vfork. PTRACE_FORK too: the forked child
 * goes to the tracer with the tracee as its p_opptr, and the tracee, which cannot wait for a child
 * the tracer holds, exits and is freed while that child is a zombie the tracer has yet to reap --
 * exit1 forgets p_opptr on allproc only, so the tracer's reap hands the zombie to freed memory
 * (findings N3), seen within seconds of every run. Their scripts reproduce both; keeping them here
 * would hide everything else this scenario can find. Forks of the traced process still run
 * fork1's tracing tests (001:477-495) with the event off, and its PTRACE_VFORK_DONE stops.
 */
const EVENTS = [PTRACE_VFORK_DONE];

/**
 * A debugger and its target, both children of this worker; reap both. `threaded`: the target
 * forks from lwps of its own too, so a stop (proc_stop) has other lwps to stop and wake
 * (lwp_stopwait), and the tracer's continue (proc_unstop under p_lock) races them.
 */
function* tracedFork(u: User, threaded = false): KGen<boolean> {
  const tracee = yield* u.spawn("fork", {}, threaded ? "threadedtracee" : "tracee", [2 + u.rng.below(3), u.rng.below(2)]);
  if (gone(tracee)) return false;
  if (tracee.errno !== 0) return true;
  let events = 0;
  for (const e of EVENTS) if (u.rng.below(2)) events |= e;
  const tracer = yield* u.spawn("fork", {}, "tracer", [tracee.ret, events, 2 + u.rng.below(6)]);
  if (gone(tracer)) return false;
  return yield* reapAll(u);
}

/** The traced process's forks: n forks or vforks whose children exit; false when the process is gone. */
function* traceeForks(u: User, n: number, vforks: number): KGen<boolean> {
  for (let i = 0; i < n; i++) {
    const call = vforks && u.rng.below(2) ? "vfork" : "fork";
    const r = yield* u.spawn(call, {}, "vchild", [u.rng.below(2)]);
    if (gone(r)) return false;
    // A traced fork's child belongs to the debugger until it is reaped there: then ECHILD here.
    if (r.errno === 0 && gone(yield* u.call("wait", { pid: r.ret, options: ["WNOHANG"] }))) return false;
  }
  return true;
}

function* tracee(u: User, n: number, vforks: number): KGen<void> {
  if (!(yield* traceeForks(u, n, vforks))) return;
  if (!(yield* reapAll(u))) return;
  yield* u.call("exit", { status: 0 });
}

const stopped = (status: number) => (status & 0xff) === 0x7f;

registerUserPrograms({
  model: netbsd,
  extra: { cloneFlags: cloneAction, tracedFork: (u) => tracedFork(u), tracedThreads: (u) => tracedFork(u, true), ...reachActions, ...netbsdReach.extra },
  extraPrograms: {
    ...reachPrograms,
    ...netbsdReach.programs,
    /** The traced process: a few forks or vforks whose children exit, then reap and exit. */
    *tracee(u, [n, vforks]) {
      yield* tracee(u, n, vforks);
    },
    /**
     * The traced process with forking lwps: each lwp forks like `tracee`, then lwp_exit; the main
     * lwp forks or vforks, reaps and exits. The lwps never vfork: the main lwp's wait(-1) would
     * reap a vfork child under its parent's fork1, the seed's use-after-free at 001:592
     * (docs/findings.md, NetBSD), seen 6 s into a free run when they did.
     */
    *threadedtracee(u, [n, vforks]) {
      for (let i = 0; i < 1 + u.rng.below(2); i++) if (gone(yield* u.spawn("lwp_create", {}, "traceelwp", [1 + u.rng.below(2)]))) return;
      yield* tracee(u, n, vforks);
    },
    *traceelwp(u, [n]) {
      if (!(yield* traceeForks(u, n, 0))) return;
      yield* u.call("lwp_exit");
    },
    /**
     * The debugger: attach to pid, set the event mask at its first stop, continue every stop of
     * every process it traces (the target and the children its traced forks hand over), detach
     * the target after `budget` stops, and go on until nothing traced is left (ECHILD). Every stop
     * is continued and nothing is left traced when it exits, so every path ends.
     * Never detach with PTRACE_VFORK_DONE set: fork1 decides tracevforkdone before its vfork
     * wait (001:485-486) and stops afterwards even if the debugger has left meanwhile; the
     * process would stay stopped for good (docs/findings.md, NetBSD).
     */
    *tracer(u, [pid, events, budget]) {
      const a = yield* u.call("ptrace", { req: "PT_ATTACH", pid });
      if (gone(a)) return;
      if (a.errno === 0) {
        let masked = false;
        let stops = 0;
        for (;;) {
          const w = yield* u.call("wait", { pid: -1, options: ["WALLSIG"] });
          if (gone(w)) return;
          if (w.errno === ECHILD) break;
          if (w.errno !== 0 || !stopped(w.out[0] ?? 0)) continue;
          let req = "PT_CONTINUE";
          if (w.ret === pid && !masked) {
            masked = true;
            if (gone(yield* u.call("ptrace", { req: "PT_SET_EVENT_MASK", pid, events }))) return;
          } else if (w.ret === pid && ++stops >= budget && !(events & PTRACE_VFORK_DONE)) req = "PT_DETACH";
          if (gone(yield* u.call("ptrace", { req, pid: w.ret }))) return;
        }
      }
      yield* u.call("exit", { status: 0 });
    },
  },
});
