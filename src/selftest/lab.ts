/*
 * The primitives' laboratory: a table holding one of every lock kind and the plain counters they
 * protect, and programs that hammer them from many cpus. Used by the primitive tests, the
 * benchmarks and the contention demo; a kernel model never touches it.
 */
import { CONDVAR, defineStruct, KMUTEX, LOCKMGR, SPINLOCK, TOKEN } from "../shm/struct.js";
import type { MachineSpec } from "../sched/spec.js";
import { OBJQ, SLEEPQ } from "../shm/core.js";

export const LAB = defineStruct("lab", {
  tok: TOKEN,
  tok2: TOKEN,
  lk: LOCKMGR,
  lkA: LOCKMGR,
  lkB: LOCKMGR,
  spin: SPINLOCK,
  mtx: KMUTEX,
  cv: CONDVAR,
  counter: 1, // the plain counter a lock protects
  refs: 1, // a refcount
  flag: 1, // the condition of the check-then-sleep test
  rounds: 1, // rounds completed by the sleeper
  phase: 1, // sequencing between test threads
  readers: 1, // threads inside a shared section
  writers: 1, // threads inside an exclusive section
  maxReaders: 1, // most readers seen inside at once
  exclBroken: 1, // an exclusive section saw someone else inside
  seq: 1, // order log: next index
  log0: 1,
  log1: 1,
  log2: 1,
  sawOther: 1, // the token holder saw another thread's update across its sleep
  heldAfter: 1, // the token holder held its token again when it resumed
  conflicts: 1, // allocator: a record changed owner under its owner
  done: 1, // threads finished
  p_lock: 1, // a process hold word for PHOLD/PRELE/PSTALL/PHOLDZOMB
  hits: 1, // events counted by a test (refcount 1 -> 0 releases, allocations...)
  // Results a program reports back to the test (errnos, observed states), in order.
  res0: 1,
  res1: 1,
  res2: 1,
  res3: 1,
  res4: 1,
  res5: 1,
  res6: 1,
  res7: 1,
  // The field-level detectors' tests (src/selftest/races.ts).
  racyword: 1, // read without its lock on purpose (declared below)
  link: 1, // a handle to a scratch record, guarded by tok: re-checked after a block
  markedword: 1, // read without its lock on purpose only where the reader marks it (declared below)
}, {
  racy: { racyword: "the detectors' tests: a reader that tests it without the token on purpose" },
  markedRacy: { markedword: "the detectors' tests: a reader that tests it without the token on purpose, inside data_race()" },
  recheck: { link: "scratch" },
});

/** A record of the lab's scratch table, for allocator and use-after-free tests. */
export const SCRATCH = defineStruct("scratch", {
  owner: 1,
  value: 1,
  refs: 1,
  next: 1, // a handle to another scratch record, guarded by lab.tok (the missed-recheck tests)
  flags: 1, // flag bits changed only with atomics (the plain-count-write tests)
}, {
  recheck: { next: "scratch" },
  atomics: { flags: "the detectors' tests: bits set with atomic_set_int by every thread that holds the record" },
});

export const LAB_MODULE = "src/selftest/programs.js";

/** The lab's sleep-queue buckets: more than its threads (64), as a kernel sizes them from its process limit. */
const LAB_SLEEPQS = 127;

export function labSpec(cpus: number, over: Partial<MachineSpec> = {}): MachineSpec {
  return {
    cpus,
    maxThreads: 64,
    tables: [
      { decl: LAB, capacity: 1 },
      { decl: SCRATCH, capacity: 32 },
      { decl: SLEEPQ, capacity: LAB_SLEEPQS },
      { decl: OBJQ, capacity: LAB_SLEEPQS },
    ],
    modules: [LAB_MODULE],
    strategy: { name: "free", seed: 1, chaos: 0 },
    clock: "wall",
    hz: 1000,
    stopOnViolation: false,
    ...over,
  };
}
