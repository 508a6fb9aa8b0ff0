/*
 * The word operations of the runtime under the kernel (src/sync's primitives, the tables'
 * allocator): Atomics while several cpus share the image, plain loads and stores while one cpu
 * runs it alone.
 *
 * An Atomics call is a builtin call, 6-10 ns of cpu against ~1 for a plain access (node 20);
 * a one-cpu DragonFly fork made ~155 of them in the primitives and tables that use these.
 *
 * Why one cpu may go plain: it is the uniprocessor kernel, whose atomics are the same
 * instructions without the lock prefix. No other thread writes these words, so a plain
 * read-modify-write loses no update and the cpu sees the same values in the same order: the
 * same runs. The orchestrator's hand-offs to the cpu -- start, stop, drain, the lab's arming and
 * release -- have words of their own, still Atomics (mayblock's check of the lab's armed count
 * only loads, and the hand-off that let the thread run orders an arming before it). The one
 * kernel code it runs while a cpu runs is a script's wakeup (Machine.postCall, labRelease): the
 * sleep queues (src/sync/sleep.ts) therefore stay Atomics on every machine.
 * The orchestrator's own reads stay Atomics (it never installs these). The live laws
 * (src/invariants/live.ts) read while the cpu runs; a plain store is made where the program
 * makes it, in program order, and x86 shows stores in that order, so they see no state the
 * Atomics would not have shown; a reading caught mid-change is what their persistence filter is
 * for. What the detectors are told of an atomic (src/sync/observe.ts) is reported beside the
 * operation, whichever carries it out.
 */

/** What the primitives use of Atomics (never wait/notify: those stay Atomics). */
export interface WordOps {
  load(a: Int32Array, i: number): number;
  store(a: Int32Array, i: number, v: number): number;
  add(a: Int32Array, i: number, v: number): number;
  sub(a: Int32Array, i: number, v: number): number;
  and(a: Int32Array, i: number, v: number): number;
  or(a: Int32Array, i: number, v: number): number;
  exchange(a: Int32Array, i: number, v: number): number;
  compareExchange(a: Int32Array, i: number, expected: number, v: number): number;
}

/** One cpu: Atomics' results (the old value; the word as an int32), by plain loads and stores. */
export const ALONE: WordOps = {
  load: (a, i) => a[i],
  store: (a, i, v) => (a[i] = v),
  add: (a, i, v) => {
    const o = a[i];
    a[i] = o + v;
    return o;
  },
  sub: (a, i, v) => {
    const o = a[i];
    a[i] = o - v;
    return o;
  },
  and: (a, i, v) => {
    const o = a[i];
    a[i] = o & v;
    return o;
  },
  or: (a, i, v) => {
    const o = a[i];
    a[i] = o | v;
    return o;
  },
  exchange: (a, i, v) => {
    const o = a[i];
    a[i] = v;
    return o;
  },
  compareExchange: (a, i, expected, v) => {
    const o = a[i];
    if (o === (expected | 0)) a[i] = v;
    return o;
  },
};

/** The operations of the machine this thread runs (Atomics on the orchestrator and in tests). */
export let words: WordOps = Atomics;

/** A cpu attaches to a machine of `cpus` cpus (src/sched/cpu.ts, before the kernel runs). */
export function installWords(cpus: number): void {
  words = cpus === 1 ? ALONE : Atomics;
}
