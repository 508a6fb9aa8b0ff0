/*
 * The release fast path of src/detect/clock.ts joinInto: a clock that is exactly the releaser's
 * own, from an epoch since which the releaser learned nothing, takes only the releaser's new
 * epoch. The edges through it must be the loop's: a thread that learned of another between its
 * two releases passes that on in full, and one that learned nothing still passes on its own
 * writes since the last.
 *
 * And the reports' names for the earlier access, from the shadow's identity log: a stamp's tid
 * word names the entry of who made it, exactly as the per-word report sides it replaces did.
 *
 * One cpu's detectors (one cpu: the shadow unlocked, as a one-cpu run has it), threads switched by
 * hand in the order the primitives call them.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Detector, type DetectThread } from "../../src/detect/detector.js";
import { shadowSize } from "../../src/detect/index.js";
import { LOG_N, Shadow } from "../../src/detect/shadow.js";
import { LAB, SCRATCH } from "../../src/selftest/lab.js";
import { THREAD } from "../../src/shm/core.js";
import { installViolationSink } from "../../src/shm/hooks.js";
import { Image, type TableSpec } from "../../src/shm/image.js";
import { slotOf } from "../../src/shm/table.js";
import { HOW_MUTEX } from "../../src/sync/observe.js";

const SPECS: TableSpec[] = [
  { decl: THREAD, capacity: 8 },
  { decl: LAB, capacity: 1 },
  { decl: SCRATCH, capacity: 1 },
];

let found: { law: string; message: string }[];
beforeEach(() => {
  found = [];
  installViolationSink((v) => found.push(v));
});
afterEach(() => installViolationSink(() => {}));

function cpu() {
  const img = Image.create(SPECS);
  const h = img.table(LAB).alloc();
  const sh = new Shadow(Shadow.create(shadowSize(img.i32.length, 8)), shadowSize(img.i32.length, 8), false);
  let td: DetectThread | null = null;
  const det = new Detector(img, sh, { race: true, stale: false, sample: 1, siteAddrs: new Set(), cpu: 0 }, () => td);
  for (const t of img.allTables()) t.observe(det);
  const lab = img.table(LAB).view(h); // observed: made after observe()
  const threads = img.table(THREAD);
  const start = (): DetectThread => {
    td = { h: threads.alloc(), cpu: 0, pid: 100, syscall: "test", toks: [], held: [], waitfor: 0, sleptAt: null, sleepWmesg: null, owes: 0, sigcheck: null };
    det.threadStart(td);
    return td;
  };
  const run = (t: DetectThread) => void (td = t);
  /** Take and drop the lock at word `at` of lab, doing body in between. */
  const locked = (at: "mtx" | "lk", body: () => void = () => {}) => {
    det.acquire(td!, lab.ptr(at), HOW_MUTEX);
    body();
    det.release(td!, lab.ptr(at), HOW_MUTEX);
  };
  const exit = (t: DetectThread) => det.threadExit(t);
  return { lab, start, run, locked, exit };
}

describe("joinInto's own-clock fast path", () => {
  it("a releaser that learned of another's write since its last release passes it on: B -lk-> A -mtx-> C is ordered", () => {
    const { lab, start, run, locked } = cpu();
    const a = start();
    const b = start();
    const c = start();
    run(a);
    locked("mtx"); // the mutex's clock is exactly A's
    run(b);
    locked("lk", () => void (lab.counter = 1));
    run(a);
    locked("lk"); // A learns B's write
    locked("mtx"); // ... and must pass it on: its clock is no longer the one the mutex holds
    run(c);
    locked("mtx", () => void lab.counter);
    expect(found).toEqual([]);
  });

  it("a dtid's next owner starts knowing all its last owner knew: B -lk-> A -exit-> A' -mtx-> C is ordered", () => {
    const { lab, start, run, locked, exit } = cpu();
    const a = start();
    const b = start();
    const c = start();
    run(a);
    locked("mtx"); // the mutex's clock is exactly A's (dtid 0)
    run(b);
    locked("lk", () => void (lab.counter = 1));
    run(a);
    locked("lk"); // A learns B's write after its release of the mutex
    exit(a);
    const a2 = start(); // dtid 0 again, its clock from A's exit
    run(a2);
    locked("mtx"); // a pure tag of dtid 0 at A's epoch: A' knows more than it says
    run(c);
    locked("mtx", () => void lab.counter);
    expect(found).toEqual([]);
  });

  it("a releaser that learned nothing passes on its own writes since its last release", () => {
    const { lab, start, run, locked } = cpu();
    const a = start();
    const c = start();
    run(a);
    locked("mtx");
    locked("mtx", () => void (lab.counter = 1)); // the fast path's release: only A's entry moves
    run(c);
    locked("mtx", () => void lab.counter);
    expect(found).toEqual([]);
  });

  it("the edge is the lock's alone: a reader that skips the mutex still races the write", () => {
    const { lab, start, run, locked } = cpu();
    const a = start();
    const c = start();
    run(a);
    locked("mtx");
    locked("mtx", () => void (lab.counter = 1));
    run(c);
    void lab.counter;
    expect(found.map((v) => v.law)).toEqual(["data-race"]);
  });
});

/** The thread's current system call and pid, as the runtime would change them (a test's threads are plain objects). */
const enter = (t: DetectThread, syscall: string, pid = t.pid) => Object.assign(t, { syscall, pid });

describe("reports name the earlier access from the identity log (Shadow.logIdentity)", () => {
  it("a read-shared field's write ordered after the last reader but not the one before names that one", () => {
    const { lab, start, run, locked } = cpu();
    const a = start();
    const b = start();
    const w = start();
    enter(a, "fork", 101);
    enter(b, "wait4", 102);
    run(a);
    void lab.counter;
    run(b);
    locked("mtx", () => void lab.counter); // read-shared: A kept as the reader before B
    run(w);
    locked("mtx", () => void (lab.counter = 1)); // ordered after B's read, not A's
    expect(found.map((v) => v.law)).toEqual(["data-race"]);
    expect(found[0].message).toContain(`an earlier read by cpu 0 thread ${slotOf(a.h)} (pid 101, fork)`);
  });

  it("and one ordered after none names the last", () => {
    const { lab, start, run } = cpu();
    const a = start();
    const b = start();
    const c = start();
    const w = start();
    enter(a, "fork", 101);
    enter(b, "wait4", 102);
    enter(c, "exit", 103);
    for (const reader of [a, b, c]) {
      run(reader);
      void lab.counter;
    }
    run(w);
    lab.counter = 1;
    expect(found[0].message).toContain(`an earlier read by cpu 0 thread ${slotOf(c.h)} (pid 103, exit)`);
  });

  it("a stamp kept across a change of system call at one epoch names the call it was made in", () => {
    const { lab, start, run } = cpu();
    const a = start();
    const b = start();
    run(a);
    enter(a, "fork");
    lab.counter = 1;
    enter(a, "wait4", 300); // no release between: the same epoch
    lab.counter = 2; // the same epoch's write: its stamp (fork's) stays
    lab.flag = 1; // a stamp made in wait4
    run(b);
    lab.counter = 3;
    expect(found.map((v) => v.law)).toEqual(["data-race"]);
    expect(found[0].message).toContain(`an earlier write by cpu 0 thread ${slotOf(a.h)} (pid 100, fork)`);
  });

  it("a parent between two system calls keeps its entries: a stamp many calls old is still named", () => {
    const { lab, start, run, locked } = cpu();
    const a = start();
    const b = start();
    run(a);
    enter(a, "fork");
    lab.counter = 1;
    for (let i = 0; i < 2 * LOG_N; i++) {
      enter(a, ["", "wait4", "", "fork"][i % 4]); // a NetBSD parent: its calls and userret between
      locked("mtx", () => void (lab.flag = i)); // a stamp at a fresh epoch in each call
    }
    run(b);
    lab.counter = 2;
    expect(found[0].message).toContain(`an earlier write by cpu 0 thread ${slotOf(a.h)} (pid 100, fork)`);
  });

  it(`a stamp ${LOG_N} appends old is named an unknown thread (a weaker text, the same race); one less is still named`, () => {
    for (const appends of [LOG_N - 1, LOG_N]) {
      found = [];
      const { lab, start, run, locked } = cpu();
      const a = start();
      const b = start();
      run(a);
      enter(a, "call-first");
      lab.counter = 1;
      for (let i = 0; i < appends; i++) {
        enter(a, `call-${i % 5}`); // five in turn: none is one of the last four
        locked("mtx", () => void (lab.flag = i));
      }
      run(b);
      lab.counter = 2;
      expect(found.map((v) => v.law)).toEqual(["data-race"]);
      expect(found[0].message).toContain(
        appends < LOG_N ? `an earlier write by cpu 0 thread ${slotOf(a.h)} (pid 100, call-first)` : "an earlier write by an unknown thread",
      );
    }
  });
});
