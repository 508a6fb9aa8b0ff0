/*
 * A second thread started in a slot whose thread is still alive: what Cpu.arrive did with a
 * wakeup through an ended thread's handle. The sleep queues found a record's words by slot
 * (src/sync/sleep.ts tdw), so a signal through the old handle of an ended lwp dequeued the slot's
 * NEW thread and readied the OLD handle; the cpu did not find that handle among its sleepers
 * (keyed by the whole handle) and started the slot's program again as a new thread. The
 * detectors then gave that phantom the live thread's detector id, at the epoch of the id's wake
 * clock -- behind the live thread's own. A release by the phantom tags the lock's clock as
 * "exactly dtid k at a small epoch", and a thread that already saw k at a larger epoch (from the
 * live thread) skips the acquire (clock.ts's pure-tag shortcut): it loses everything the phantom
 * passed on. The NetBSD free-mode reports 'data race on proc[N].p_list' (wait's proc_free
 * against exit1, both under proc_lock; session 3 and 5) have this shape.
 *
 * Three cpus' detectors over one shadow, driven by hand in the order the primitives call them.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Detector, type DetectThread } from "../../src/detect/detector.js";
import { shadowSize } from "../../src/detect/index.js";
import { Shadow } from "../../src/detect/shadow.js";
import { LAB, SCRATCH } from "../../src/selftest/lab.js";
import { THREAD } from "../../src/shm/core.js";
import { installViolationSink } from "../../src/shm/hooks.js";
import { Image, type TableSpec } from "../../src/shm/image.js";
import type { Handle } from "../../src/shm/table.js";
import { HOW_MUTEX } from "../../src/sync/observe.js";

const SPECS: TableSpec[] = [
  { decl: THREAD, capacity: 8 },
  { decl: LAB, capacity: 1 },
  { decl: SCRATCH, capacity: 1 },
];

/** One simulated cpu: its attachment of the image, its detector, the thread it runs now. */
class Cpu {
  readonly img: Image;
  readonly det: Detector;
  td: DetectThread | null = null;
  constructor(sab: SharedArrayBuffer, shadow: SharedArrayBuffer, readonly cpu: number) {
    this.img = Image.attach(sab, SPECS);
    const sh = new Shadow(shadow, shadowSize(this.img.i32.length, 8), true);
    this.det = new Detector(this.img, sh, { race: true, stale: false, sample: 1, siteAddrs: new Set(), cpu }, () => this.td);
    for (const t of this.img.allTables()) t.observe(this.det);
  }
  start(h: Handle): DetectThread {
    this.td = { h, cpu: this.cpu, pid: 100 + (h & 0xffff), syscall: "test", toks: [], held: [], waitfor: 0, sleptAt: null, sleepWmesg: null, owes: 0, sigcheck: null };
    this.det.threadStart(this.td);
    return this.td;
  }
  run(td: DetectThread): void {
    this.td = td;
  }
  get lab() {
    return this.img.table(LAB).view(this.img.table(LAB).handleAt(0));
  }
  /** proc_lock's stand-in. */
  withMtx(body: () => void): void {
    this.det.acquire(this.td!, this.lab.ptr("mtx"), HOW_MUTEX);
    body();
    this.det.release(this.td!, this.lab.ptr("mtx"), HOW_MUTEX);
  }
  /** Another lock, through which the live thread shows its epoch to the reader. */
  withOther(body: () => void): void {
    this.det.acquire(this.td!, this.lab.ptr("lk"), HOW_MUTEX);
    body();
    this.det.release(this.td!, this.lab.ptr("lk"), HOW_MUTEX);
  }
}

let found: { law: string; message: string }[];
beforeEach(() => {
  found = [];
  installViolationSink((v) => found.push(v));
});
afterEach(() => installViolationSink(() => {}));

/**
 * The exiting thread E (cpu 0) writes lab.counter under the mutex; thread N (cpu 1) releases the
 * other lock many times, and the reader R (cpu 2) sees N's last release. Then `second` runs on
 * cpu 1: it takes and drops the mutex (so it is ordered after E's write) and R takes the mutex
 * after it and reads the counter -- ordered after E's write through the second thread.
 */
function exitThenWait(how: "phantom" | "fresh") {
  const img = Image.create(SPECS);
  img.table(LAB).alloc();
  const shadow = Shadow.create(shadowSize(img.i32.length, 8));
  const [c0, c1, c2] = [0, 1, 2].map((c) => new Cpu(img.sab, shadow, c));
  const threads = img.table(THREAD);
  const hN = threads.alloc();
  const n = c1.start(hN);
  for (let i = 0; i < 20; i++) c1.withOther(() => {}); // N's epoch moves well past its wake clock's
  const r = c2.start(threads.alloc());
  c2.withOther(() => {}); // R has seen N at its latest epoch
  c0.start(threads.alloc());
  c0.withMtx(() => void (c0.lab.counter = 1)); // exit1's writes under proc_lock
  // The phantom: a start through N's slot while N lives (Cpu.arrive of a stale handle); fresh: a
  // thread of its own slot, for contrast.
  const second = how === "phantom" ? c1.start(hN) : c1.start(threads.alloc());
  c1.withMtx(() => {});
  c2.run(r);
  c2.withMtx(() => void c2.lab.counter); // wait's proc_free, under proc_lock
  return { c1, n, second };
}

describe("a thread started in a live thread's slot (a stale handle readied)", () => {
  it("a fresh thread in its own slot passes the mutex's edge on: the read is ordered after the write", () => {
    exitThenWait("fresh");
    expect(found).toEqual([]);
  });

  it("a second start in a live slot is refused where it happens, not turned into a race that is not one", () => {
    expect(() => exitThenWait("phantom")).toThrow(/thread 0 started while thread 0 of this cpu is still alive/);
    expect(found).toEqual([]);
  });

  it("a real unordered pair is still reported: the reader skips the mutex", () => {
    const img = Image.create(SPECS);
    img.table(LAB).alloc();
    const shadow = Shadow.create(shadowSize(img.i32.length, 8));
    const [c0, c1] = [0, 1].map((c) => new Cpu(img.sab, shadow, c));
    const threads = img.table(THREAD);
    c0.start(threads.alloc());
    c1.start(threads.alloc());
    c0.withMtx(() => void (c0.lab.counter = 1));
    void c1.lab.counter;
    expect(found.map((v) => v.law)).toEqual(["data-race"]);
    expect(found[0].message).toContain("lab[0].counter");
  });
});

describe("one detector after another (a pooled worker's runs)", () => {
  it("report through the same access and free functions: code compiled for one run's detector calls the next one's", () => {
    const img = Image.create(SPECS);
    const shadow = Shadow.create(shadowSize(img.i32.length, 8));
    const [a, b] = [0, 1].map((c) => new Cpu(img.sab, shadow, c));
    expect(a.det.access).toBe(b.det.access);
    expect(a.det.freed).toBe(b.det.freed);
  });
});
