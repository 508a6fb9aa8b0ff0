/*
 * The user/kernel boundary of a simulated process thread, shared by both kernels.
 *
 * A user thread is a program (a generator) that makes system calls. The scripted program takes
 * each call from its thread's trapframe, posted by the script runner, runs it in the kernel,
 * writes the result back and goes back to wait -- so a call that blocks in the kernel (a vfork
 * parent) leaves the trapframe pending, which is what a script observes. After every call the
 * thread passes through the kernel's return-to-user path, where signals are acted on.
 */
import { TF_CALL, TF_DONE, THREAD } from "../shm/core.js";
import { registerProgram } from "../sched/programs.js";
import { curthread, image, type KGen } from "../sync/seam.js";
import { PCATCH, tsleep } from "../sync/sleep.js";
import type { RawResult } from "./kernel.js";

/** What a dispatch returns when the calling thread ended (exit, a fatal signal). */
export const EXITED: RawResult = Object.freeze({ ret: 0, errno: 0, out: [] }) as RawResult;

export interface KernelEntry {
  /** Run system call number `call` for the current thread. EXITED when the thread is gone. */
  syscall(call: number, args: readonly number[]): KGen<RawResult>;
  /** userret: act on pending signals; false when the thread must end (it exited). */
  userret(): KGen<boolean>;
}

const entries = new Map<string, KernelEntry>();

export function registerKernelEntry(kernel: string, entry: KernelEntry): void {
  entries.set(kernel, entry);
  registerProgram(`${kernel}.script`, () => scripted(entry));
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
  for (;;) {
    if (tf.tf_state !== TF_CALL) {
      yield* tsleep(tf.ptr("tf_state"), PCATCH, "ttyin", 0);
      if (!(yield* entry.userret())) return;
      continue;
    }
    const args = Array.from({ length: 6 }, (_, i) => image.i32[tf.ptr("tf_args") + i]);
    const r = yield* entry.syscall(tf.tf_call, args);
    if (r === EXITED) return;
    tf.tf_ret = r.ret;
    tf.tf_errno = r.errno;
    for (let i = 0; i < 4; i++) image.i32[tf.ptr("tf_out") + i] = r.out[i] ?? 0;
    Atomics.store(image.i32, tf.ptr("tf_state"), TF_DONE);
    if (!(yield* entry.userret())) return;
  }
}

export function kernelEntry(kernel: string): KernelEntry {
  const e = entries.get(kernel);
  if (!e) throw new Error(`no kernel entry registered for ${kernel}`);
  return e;
}
