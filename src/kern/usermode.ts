/*
 * The user/kernel boundary of a simulated process thread, shared by both kernels.
 *
 * A user thread is a program (a generator) that makes system calls. The scripted program takes
 * each call from its thread's trapframe, posted by the script runner, runs it in the kernel,
 * writes the result back and goes back to wait -- so a call that blocks in the kernel (a vfork
 * parent) leaves the trapframe pending, which is what a script observes. After every call the
 * thread passes through the kernel's return-to-user path, where signals are acted on.
 */
import { RTCTL, TF_CALL, TF_DONE, THREAD } from "../shm/core.js";
import { Cpu, cpu_progress } from "../sched/cpu.js";
import { programById, programId, registerCollector, registerProgram } from "../sched/programs.js";
import type { Handle } from "../shm/table.js";
import { ev, EV } from "../shm/trace.js";
import { errnoName } from "../sync/errno.js";
import { curthread, image, type KGen } from "../sync/seam.js";
import { syncObs } from "../sync/observe.js";
import { PCATCH, PINTERLOCKED, tsleep, tsleep_interlock, wakeup_debt } from "../sync/sleep.js";
import type { RawResult } from "./kernel.js";

/** What a dispatch returns when the calling thread ended (exit, a fatal signal). */
export const EXITED: RawResult = Object.freeze({ ret: 0, errno: 0, out: [] }) as RawResult;

export interface KernelEntry {
  /** Call names by number (the model's `calls` keys, in order), for reports and traces. */
  names?: readonly string[];
  /** Run system call number `call` for the current thread. EXITED when the thread is gone. */
  syscall(call: number, args: readonly number[]): KGen<RawResult>;
  /** userret: act on pending signals; false when the thread must end (it exited). */
  userret(): KGen<boolean>;
}

const entries = new Map<string, KernelEntry>();

/** Per-cpu system-call accounting: calls, successes and errnos by call name. */
export interface SyscallCount {
  calls: number;
  ok: number;
  errno: Record<string, number>;
}
const counts = new Map<string, SyscallCount>();
registerCollector(
  "syscalls",
  () => Object.fromEntries(counts),
  () => counts.clear(),
);

export function registerKernelEntry(kernel: string, entry: KernelEntry): void {
  entries.set(kernel, entry);
  registerProgram(`${kernel}.script`, () => scripted(entry));
}

/**
 * Make system call `call` from the current user thread: what every user program goes through,
 * so each call is named in reports, traced, counted and seen as progress by the watchdog. The
 * thread then passes through userret; EXITED means the thread is gone (exit, or a fatal signal)
 * and its program must return.
 */
export function* syscall(entry: KernelEntry, call: number, args: readonly number[]): KGen<RawResult> {
  const td = Cpu.curthread()!;
  const name = entry.names?.[call] ?? `call#${call}`;
  td.syscall = name;
  const rec = image.table(THREAD).view(td.h);
  rec.td_syscall = call + 1;
  // The call's first two arguments where the sleep laws read what a wait(2) waits for
  // (src/invariants/sleepers.ts); a script's own call is already there. Plain stores: no point.
  const tf = rec.ptr("tf_args");
  image.i32[tf] = args[0] ?? 0;
  image.i32[tf + 1] = args[1] ?? 0;
  Cpu.current()?.strategy.settledInstant?.();
  if (syncObs !== null) syncObs.kernelEntry();
  ev(EV.SYSCALL, call);
  const r = yield* entry.syscall(call, args);
  wakeup_debt(td, "its system call ended");
  if (syncObs !== null) syncObs.kernelEntry(); // userret is a path of its own: nothing carries over
  if (r !== EXITED) rec.td_syscall = 0;
  if (r === EXITED) return r;
  ev(EV.SYSRET, call, r.errno);
  td.syscall = "";
  let c = counts.get(name);
  if (!c) counts.set(name, (c = { calls: 0, ok: 0, errno: {} }));
  c.calls++;
  if (r.errno === 0) c.ok++;
  else {
    const e = errnoName(r.errno);
    c.errno[e] = (c.errno[e] ?? 0) + 1;
  }
  cpu_progress();
  return (yield* entry.userret()) ? r : EXITED;
}

/** The trapframe words of the current thread. */
function trapframe() {
  const t = image.table(THREAD);
  return t.view(curthread().h);
}

/**
 * The scripted user program: wait for a call in the trapframe, run it, post the result. The wait
 * is interruptible, so a signal sent to an idle process is acted on at once (userret).
 */
function* scripted(entry: KernelEntry): KGen {
  const tf = trapframe();
  // A new thread enters user mode through userret, as a forked child does (fork_return): a
  // signal posted while it was being made (a killpg that reached it in SIDL) is acted on now.
  if (!(yield* entry.userret())) return;
  for (;;) {
    // Interlock before the test, or a call posted between the test and the sleep is never seen.
    tsleep_interlock(tf.ptr("tf_state"), PCATCH);
    if (tf.tf_state !== TF_CALL) {
      yield* tsleep(tf.ptr("tf_state"), PCATCH | PINTERLOCKED, "ttyin", 0);
      if (!(yield* entry.userret())) return;
      continue;
    }
    const args = Array.from({ length: 6 }, (_, i) => image.i32[tf.ptr("tf_args") + i]);
    const r = yield* syscall(entry, tf.tf_call, args);
    if (r === EXITED) return;
    tf.tf_ret = r.ret;
    tf.tf_errno = r.errno;
    for (let i = 0; i < 4; i++) image.i32[tf.ptr("tf_out") + i] = r.out[i] ?? 0;
    Atomics.store(image.i32, tf.ptr("tf_state"), TF_DONE);
  }
}

/**
 * Set where the child of this thread's next fork-like call returns to user mode. C's child
 * resumes at the same pc and branches on fork's return value; a model program names the branch.
 */
export function setForkReturn(program: string, args: readonly number[] = []): void {
  const tf = trapframe();
  tf.tf_cprog = programId(program);
  for (let i = 0; i < 4; i++) image.i32[tf.ptr("tf_cargs") + i] = args[i] ?? 0;
}

/** lwp_fork's half: the new thread `child` starts where its creator said (or as its creator). */
export function forkReturn(child: Handle): void {
  const threads = image.table(THREAD);
  const p = threads.view(curthread().h);
  const c = threads.view(child);
  const own = p.tf_cprog === 0;
  c.td_prog = own ? p.td_prog : p.tf_cprog;
  const from = own ? p.ptr("td_arg0") : p.ptr("tf_cargs");
  for (let i = 0; i < 4; i++) image.i32[c.ptr("td_arg0") + i] = image.i32[from + i];
}

/**
 * Program `id` is a kernel's scripted program. The script runner's init is parked in its idle
 * read, not in wait(2), so the kernels' userret reaps init's zombies for it; a stress run's init
 * program reaps with wait(2) itself and must see every worker it started end.
 */
export function isScriptProgram(id: number): boolean {
  return programById(id)?.name.endsWith(".script") ?? false;
}

/** The run is ending: user programs stop making work and exit (stress runs drain before the final audit). */
export function draining(): boolean {
  const rt = image.table(RTCTL);
  return Atomics.load(image.i32, rt.recordBase(0) + rt.layout.offsets.rt_drain) > 0;
}

export function kernelEntry(kernel: string): KernelEntry {
  const e = entries.get(kernel);
  if (!e) throw new Error(`no kernel entry registered for ${kernel}`);
  return e;
}
