/*
 * The word operations under the primitives (src/shm/words.ts): a cpu alone on its machine makes
 * them with plain loads and stores, several cpus with Atomics. The plain ones must give what
 * Atomics gives -- every result and every word -- and the detectors must be told the same
 * things whichever carries a primitive out. One thread, no machine.
 */
import { afterEach, describe, expect, it } from "vitest";
import { THREAD } from "../../src/shm/core.js";
import { Image } from "../../src/shm/image.js";
import { installPoint } from "../../src/shm/hooks.js";
import { ALONE, installWords, words, type WordOps } from "../../src/shm/words.js";
import { imageTables } from "../../src/sched/spec.js";
import { Thread } from "../../src/sched/thread.js";
import { LAB, labSpec } from "../../src/selftest/lab.js";
import { atomic_add_int, atomic_clear_int, atomic_cmpset_int, atomic_fetchadd_int, atomic_load_int, atomic_set_int, atomic_store_int, atomic_swap_int } from "../../src/sync/atomic.js";
import { installSyncObserver, type SyncObserver } from "../../src/sync/observe.js";
import { holdcount, PHOLD, PRELE } from "../../src/sync/phold.js";
import { refcount_acquire, refcount_init, refcount_release } from "../../src/sync/refcount.js";
import { installSync } from "../../src/sync/seam.js";
import { initSleepQueues } from "../../src/sync/sleep.js";

const NEVER = Number.MAX_SAFE_INTEGER;

afterEach(() => {
  installWords(2);
  installSyncObserver(null);
});

describe("which operations a cpu uses", () => {
  it("one cpu: the plain ones; several: Atomics", () => {
    installWords(1);
    expect(words).toBe(ALONE);
    installWords(2);
    expect(words).toBe(Atomics);
    installWords(64);
    expect(words).toBe(Atomics);
  });
});

describe("the plain operations", () => {
  const values = [0, 1, -1, 5, 0x7fffffff, -0x80000000, 0x80000000, 0xffffffff, 0x40000000 | 3, 2 ** 33 + 7];
  const ops: [string, (w: WordOps, a: Int32Array, v: number) => number][] = [
    ["load", (w, a) => w.load(a, 1)],
    ["store", (w, a, v) => w.store(a, 1, v)],
    ["add", (w, a, v) => w.add(a, 1, v)],
    ["sub", (w, a, v) => w.sub(a, 1, v)],
    ["and", (w, a, v) => w.and(a, 1, v)],
    ["or", (w, a, v) => w.or(a, 1, v)],
    ["exchange", (w, a, v) => w.exchange(a, 1, v)],
    ["compareExchange (equal)", (w, a, v) => w.compareExchange(a, 1, a[1], v)],
    ["compareExchange (equal modulo 2^32)", (w, a, v) => w.compareExchange(a, 1, a[1] + 2 ** 32, v)],
    ["compareExchange (different)", (w, a, v) => w.compareExchange(a, 1, a[1] + 1, v)],
  ];
  it("return what Atomics returns and leave the word as Atomics leaves it", () => {
    for (const [name, op] of ops)
      for (const before of values)
        for (const v of values) {
          const [plain, atomic] = [new Int32Array(new SharedArrayBuffer(12)), new Int32Array(new SharedArrayBuffer(12))];
          plain[1] = atomic[1] = before;
          const got = [op(ALONE, plain, v), op(Atomics, atomic, v)];
          expect(got[0], `${name}(${before}, ${v})`).toBe(name === "store" ? v : got[1]); // Atomics.store returns v as an integer
          expect([...plain], `${name}(${before}, ${v})`).toEqual([...atomic]);
        }
  });
});

/** Every SyncObserver call, in order, as text. */
function recorder(log: string[]): SyncObserver {
  const note =
    (what: string) =>
    (...args: unknown[]) => {
      log.push(`${what}(${args.map((a) => (typeof a === "object" ? "td" : String(a))).join(",")})`);
    };
  return new Proxy({} as SyncObserver, { get: (_, k) => note(String(k)) });
}

/** The primitives' fast paths and the tables' alloc/free on a fresh image, with `ops`: the log and the image's words. */
function script(ops: 1 | 2): { log: string[]; image: number[]; results: unknown[] } {
  const image = Image.create(imageTables(labSpec(1)));
  const td = new Thread(image.table(THREAD).alloc(), 0, "t", undefined as never);
  installSync(image, { current: () => td, ready: () => {}, ticks: () => 0, spinWait: () => {}, nanotime: () => 0, newThreadCpu: () => 0, alone: () => true });
  initSleepQueues();
  installPoint(() => NEVER, NEVER);
  const labs = image.table(LAB);
  const l = labs.view(labs.alloc());
  const [refs, hold, w] = [l.ptr("refs"), l.ptr("counter"), l.ptr("flag")];
  const log: string[] = [];
  installWords(ops);
  installSyncObserver(recorder(log));
  const results = [
    refcount_init(refs, 1),
    refcount_acquire(refs),
    refcount_release(refs),
    refcount_release(refs),
    PHOLD(hold),
    PHOLD(hold),
    PRELE(hold),
    holdcount(hold),
    PRELE(hold),
    atomic_add_int(w, 5),
    atomic_fetchadd_int(w, -7),
    atomic_set_int(w, 0x100),
    atomic_clear_int(w, 1),
    atomic_cmpset_int(w, atomic_load_int(w), 3),
    atomic_cmpset_int(w, 4, 5),
    atomic_swap_int(w, 0x7fffffff),
    atomic_add_int(w, 1),
    atomic_load_int(w),
    atomic_store_int(w, 9),
  ];
  const threads = image.table(THREAD);
  const more = [threads.alloc(), threads.alloc()];
  threads.free(more[0], "test");
  results.push(threads.alloc(), threads.inUse());
  installSyncObserver(null);
  installWords(2);
  return { log, image: [...image.i32], results };
}

describe("one cpu or several, the same run", () => {
  it("the primitives and the tables leave the same words, return the same values and report the same sync events", () => {
    const [alone, shared] = [script(1), script(2)];
    expect(alone.log.length).toBeGreaterThan(20);
    expect(alone.log).toEqual(shared.log);
    expect(alone.results).toEqual(shared.results);
    expect(alone.image).toEqual(shared.image);
  });
});
