/*
 * The NetBSD kernel's entry in every cpu (the worker module of the model): the system-call
 * dispatcher, the return-to-user path (signals; init reaping its zombies) and the start-up of a
 * new lwp's thread ("netbsd.lwpstart": an lwp born stopped waits to be continued, a forked child
 * returns through child_return, then the thread runs its user program).
 */
import { THREAD } from "../../shm/core.js";
import { Cpu } from "../../sched/cpu.js";
import { programById, registerProgram } from "../../sched/programs.js";
import { cv_wait } from "../../sync/condvar.js";
import { EINVAL, EPERM } from "../../sync/errno.js";
import { mutex_enter, mutex_exit } from "../../sync/kmutex.js";
import { data_race } from "../../sync/observe.js";
import { curthread, image, type KGen } from "../../sync/seam.js";
import type { RawResult } from "../kernel.js";
import { EXITED, isScriptProgram, registerKernelEntry } from "../usermode.js";
import { setSettledLaws } from "../../sched/quiescent.js";
import { netbsdSleepLaws } from "../../invariants/sleepers.js";
import { CALL_NAMES, type CallName } from "./calls.js";
import { exit1, lwp_exit, sys_execve, sys_wait } from "./kern_exit.js";
import { child_return, fork1, sys___clone, sys___vfork14, sys_fork, sys_vfork, type ForkResult } from "./kern_fork.js";
import { curlwp, LWPSTART, p_lock } from "./kern_proc.js";
import { issignal, issignal_peek, ISSIG_EXIT_LWP, ISSIG_NONE, killpg1, sys_kill, sys_sigaction } from "./kern_sig.js";
import { sys__lwp_create, sys_getppid, sys_kevent_proc, sys_ptrace, sys_setpgid, sys_setrlimit_nproc, sys_setuid, sys_sysctl } from "./sys_misc.js";
import { G, GLOBALS, L, LSONPROC, LSSTOP, LW_WEXIT, P, SIGKILL, sigmask, SSTOP, W_EXITCODE, WALLSIG, WNOHANG, type LwpView, type ProcView } from "./structs.js";

const ok = (ret: number, out: number[] = []): RawResult => ({ ret, errno: 0, out });
const err = (errno: number): RawResult => ({ ret: -1, errno, out: [] });
const res = (e: number, ret = 0): RawResult => (e ? err(e) : ok(ret));
const forkres = (r: ForkResult): RawResult => (r.error ? err(r.error) : ok(r.pid));

/** exit(2) and fatal signals: the process ends, and with it this thread. */
function* do_exit(p: ProcView, l: LwpView, status: number): KGen<RawResult> {
  yield* exit1(p, l, status);
  return EXITED;
}

function* syscall(call: number, a: readonly number[]): KGen<RawResult> {
  const l = curlwp();
  const p = P(l.l_proc);
  const td = Cpu.curthread();
  if (td) td.pid = p.p_pid;
  if (l.l_flag & LW_WEXIT) {
    yield* lwp_exit(p, l);
    return EXITED;
  }
  const name = CALL_NAMES[call] as CallName | undefined;
  switch (name) {
    case "fork":
      return forkres(yield* sys_fork(l));
    case "vfork":
      return forkres(yield* sys_vfork(l));
    case "__vfork14":
      return forkres(yield* sys___vfork14(l));
    case "clone":
      return forkres(yield* sys___clone(l, a[0]));
    case "fork1":
      return forkres(yield* fork1(l, a[0], a[1]));
    case "exit":
      if (p.h === G().initproc) return err(EPERM); // init may not exit (the kernel would panic)
      return yield* do_exit(p, l, W_EXITCODE(a[0], 0));
    case "wait": {
      const w = yield* sys_wait(p, a[0], a[1]);
      return w.error ? err(w.error) : ok(w.pid, [w.status]);
    }
    case "exec":
      return res(yield* sys_execve(p, l));
    case "kill":
      return res(yield* sys_kill(p, a[0], a[1]));
    case "killpg":
      return a[0] <= 1 ? err(EINVAL) : res(yield* killpg1(p, a[0], a[1], false));
    case "setpgid":
      return res(yield* sys_setpgid(p, a[0], a[1]));
    case "sigaction":
      return res(yield* sys_sigaction(p, a[0], a[1], a[2]));
    case "setrlimit":
      return res(yield* sys_setrlimit_nproc(p, a[0]));
    case "setuid":
      return res(yield* sys_setuid(p, a[0]));
    case "getpid":
      return ok(p.p_pid);
    case "getppid":
      return ok(yield* sys_getppid(p));
    case "lwp_create": {
      const r = yield* sys__lwp_create(p, l);
      return r.error ? err(r.error) : ok(r.lid);
    }
    case "lwp_exit":
      if (yield* lwp_exit(p, l)) return EXITED;
      if (p.h === G().initproc) return err(EPERM); // the last lwp of init
      return yield* do_exit(p, l, 0);
    case "ps":
      return ok(0);
    case "ptrace":
      return res(yield* sys_ptrace(p, a[0], a[1], a[2]));
    case "sysctl":
      return res(yield* sys_sysctl(p, a[0], a[1]));
    case "kevent":
      return res(yield* sys_kevent_proc(p, a[0]));
  }
  return err(EINVAL);
}

/**
 * userret: act on pending signals (stop, continue, die, run a handler); an lwp whose process is
 * exiting leaves. The scripted init then reaps every zombie child of its own (WNOHANG waits; a
 * stress run's init waits for its children itself).
 */
function* userret(): KGen<boolean> {
  const l = curlwp();
  const p = P(l.l_proc);
  const r = yield* issignal(p, l);
  if (r === ISSIG_EXIT_LWP) {
    yield* lwp_exit(p, l);
    return false;
  }
  if (r !== ISSIG_NONE) {
    if (p.h === G().initproc && r !== SIGKILL) return true;
    yield* exit1(p, l, r); // killed by signal r: the wait status is the signal number
    return false;
  }
  if (p.h === G().initproc && isScriptProgram(l.l_startprog)) {
    for (;;) {
      const w = yield* sys_wait(p, -1, WNOHANG | WALLSIG); // every zombie, whatever its exit signal
      if (w.error || w.pid === 0) break;
    }
  }
  return true;
}

/** The start of every lwp's thread: kernel start-up, then the user program it was created for. */
registerProgram(LWPSTART, function* (args) {
  const td = Cpu.curthread()!;
  const l = L(image.table(THREAD).view(curthread().h).td_lwp);
  const p = P(l.l_proc);
  td.pid = p.p_pid;
  // sleepq_block's signal check (sigispending, kern_sig.c 696-712) reads the pending set without p_lock.
  td.sigcheck = () => data_race(() => issignal_peek(p, l));
  const lock = p_lock(p);
  yield* mutex_enter(lock);
  if (l.l_stat === LSSTOP) {
    // Born stopped (PS_STOPFORK, 001:545-553): wait for SIGCONT (or death).
    while (p.p_stat === SSTOP && !(p.p_siglist & sigmask(SIGKILL)) && !(l.l_flag & LW_WEXIT)) yield* cv_wait(l.ptr("l_stopcv"), lock);
    p.p_nrlwps++;
  }
  l.l_stat = LSONPROC;
  mutex_exit(lock);
  if (l.l_forked) yield* child_return(l);
  if (!(yield* userret())) return;
  const prog = programById(l.l_startprog);
  if (!prog) throw new Error(`lwp ${l.l_lid} of pid ${p.p_pid}: no program ${l.l_startprog}`);
  yield* prog.run(args);
});

registerKernelEntry("netbsd", { names: CALL_NAMES, syscall, userret });
setSettledLaws(GLOBALS.name, (img) => netbsdSleepLaws(img, true));
