/*
 * Free mode: a record freed on one cpu while another cpu is still between a reference drop and
 * the detectors' record of it. refcount_release (src/sync/refcount.ts) publishes, decrements, and
 * only then reports its atomic write and acquire; once the count is down, the last holder on
 * another cpu may free the record and the slot may be allocated again, so the late report lands
 * on the freed record's shadow, or on its next owner's. This happened in the 30-minute NetBSD
 * and 10-minute DragonFly soaks (session 3: proc.p_list, proc.p_xstat, vmspace.vm_refcnt, each
 * an access pair the kernel orders): a late write into a read-shared word frees its read clock a
 * second time, the pool then hands that clock to two owners, and the second loses its edges;
 * a late stamp makes the next owner's first access race the previous owner's releaser.
 *
 * Two cpus' detectors over one shadow, driven by hand in the order the primitives call them, so
 * the interleaving that a soak meets once in ten million calls happens at every run.
 *
 * The same machine checks the ordering a racy read carries in free mode, where plain accesses
 * are checked one in FREE_SAMPLE: the 10-minute DragonFly runs' sysreaper.parent reports
 * (reaper_get's collapse, session 4) were that edge skipped at the reads the checks skip.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Detector, type DetectThread } from "../../src/detect/detector.js";
import { FREE_SAMPLE, shadowSize } from "../../src/detect/index.js";
import { Shadow } from "../../src/detect/shadow.js";
import { LAB, SCRATCH } from "../../src/selftest/lab.js";
import { THREAD } from "../../src/shm/core.js";
import { installViolationSink } from "../../src/shm/hooks.js";
import { Image, type TableSpec } from "../../src/shm/image.js";
import type { Handle } from "../../src/shm/table.js";
import { AT_ACQUIRE, AT_WRITE, HOW_ATOMIC, HOW_MUTEX } from "../../src/sync/observe.js";

const SPECS: TableSpec[] = [
  { decl: THREAD, capacity: 8 },
  { decl: LAB, capacity: 1 },
  { decl: SCRATCH, capacity: 1 }, // one slot: a freed record's slot is the next one allocated
];

/** One simulated cpu: its attachment of the image, its detector, the thread it runs. */
class Cpu {
  readonly img: Image;
  readonly det: Detector;
  td: DetectThread | null = null;
  constructor(sab: SharedArrayBuffer, shadow: SharedArrayBuffer, readonly cpu: number, sample: number) {
    this.img = Image.attach(sab, SPECS);
    const sh = new Shadow(shadow, shadowSize(this.img.i32.length, 8), true);
    this.det = new Detector(this.img, sh, { race: true, stale: false, sample, siteAddrs: new Set(), cpu }, () => this.td);
    for (const t of this.img.allTables()) t.observe(this.det.access, this.det.freed);
  }
  /** A new thread on this cpu, running from now on. */
  start(h: Handle): DetectThread {
    this.td = { h, cpu: this.cpu, pid: 100 + (h & 0xffff), syscall: "test", toks: [], held: [], waitfor: 0, sleptAt: null, sigcheck: null };
    this.det.threadStart(this.td);
    return this.td;
  }
  get lab() {
    return this.img.table(LAB).view(this.img.table(LAB).handleAt(0));
  }
  get mtx(): number {
    return this.lab.ptr("mtx");
  }
  lock(): void {
    this.det.acquire(this.td!, this.mtx, HOW_MUTEX);
  }
  unlock(): void {
    this.det.release(this.td!, this.mtx, HOW_MUTEX);
  }
  rec(h: Handle) {
    return this.img.table(SCRATCH).view(h);
  }
  /** refcount_release up to its decrement: true for the last reference. */
  dropRef(h: Handle): boolean {
    return this.drop(this.rec(h).ptr("refs"));
  }
  /** The same at any count word p. */
  drop(p: number): boolean {
    this.det.release(this.td!, p, HOW_ATOMIC);
    return Atomics.add(this.img.i32, p, -1) === 1;
  }
  /** ... and the rest of it: the detectors hear of the atomic write and acquire. */
  reportDrop(p: number): void {
    this.det.atomic(p, AT_WRITE | AT_ACQUIRE);
  }
}

let found: { law: string; message: string }[];
beforeEach(() => {
  found = [];
  installViolationSink((v) => found.push(v));
});
afterEach(() => installViolationSink(() => {}));

/** Two cpus over one image and shadow; their detectors check one plain access in `sample`. */
function machine(sample = 1) {
  const img = Image.create(SPECS);
  img.table(LAB).alloc();
  const shadow = Shadow.create(shadowSize(img.i32.length, 8));
  const cpus = [new Cpu(img.sab, shadow, 0, sample), new Cpu(img.sab, shadow, 1, sample)];
  const threads = img.table(THREAD);
  return { cpus, thread: () => threads.alloc() };
}

/**
 * Thread A (cpu 0) allocates a record with two references and hands it to B (cpu 1) under the
 * mutex; both read the count plainly (read-shared: their reads are not ordered with each other),
 * meet under the mutex, and drop their references -- A first, B last. B frees the record before
 * A's drop is reported. Returns A's late half and the refcount word.
 */
function sharedThenFreed() {
  const { cpus, thread } = machine();
  const [c0, c1] = cpus;
  c0.start(thread());
  c1.start(thread());
  const h = c0.img.table(SCRATCH).alloc();
  c0.rec(h).refs = 2;
  c0.unlock();
  c1.lock();
  void c1.rec(h).refs;
  void c0.rec(h).refs;
  c1.unlock();
  c0.lock();
  c0.unlock();
  c1.lock();
  const p = c0.rec(h).ptr("refs");
  expect(c0.dropRef(h)).toBe(false);
  expect(c1.dropRef(h)).toBe(true);
  c1.reportDrop(p);
  c1.img.table(SCRATCH).free(h, "test");
  return { c0, c1, p, thread };
}

describe("a record freed while another cpu reports its last drop (free mode)", () => {
  it("the late report is not charged to the slot's next owner: its first write races nothing", () => {
    const { c0, c1, p, thread } = sharedThenFreed();
    c0.reportDrop(p); // A's late half, after the free
    c1.start(thread()); // C on cpu 1 allocates the slot again and initialises it, as vmspace_alloc
    const h2 = c1.img.table(SCRATCH).alloc();
    expect(c1.rec(h2).ptr("refs")).toBe(p);
    c1.rec(h2).refs = 1;
    void c1.rec(h2).refs;
    expect(found).toEqual([]);
  });

  it("nor does the late report race the next owner's first write when it lands after it (the DragonFly vm_refcnt report's shape)", () => {
    const { c0, c1, p, thread } = sharedThenFreed();
    c1.start(thread()); // C allocates the slot again and initialises it before A's report lands
    const h2 = c1.img.table(SCRATCH).alloc();
    c1.rec(h2).refs = 1;
    c0.reportDrop(p);
    expect(found).toEqual([]);
  });

  it("a real race of the same shape on the next owner is still reported: an unordered drop of the new record", () => {
    const { c0, c1, p, thread } = sharedThenFreed();
    c0.reportDrop(p);
    c1.start(thread());
    const h2 = c1.img.table(SCRATCH).alloc();
    c1.rec(h2).refs = 1;
    // A drops a reference to the new record that nothing ordered after C's initialising write.
    c0.dropRef(h2);
    c0.reportDrop(p);
    expect(found.map((v) => v.law)).toEqual(["data-race"]);
    expect(found[0].message).toContain("scratch[0].refs");
    expect(found[0].message).toMatch(/atomic write by cpu 0 .* and an earlier write by cpu 1/);
  });
});

/**
 * reaper_get's collapse by hand (000:1151-1164; test/detect/detectors.test.ts has it as a lab
 * program): the walker (cpu 0) reads the link (lab.counter) and drops its reference
 * (lab.racyword, a count declared racy, 3 -> 2); the collapser (cpu 1) clears the link. Free
 * mode checks one plain access in FREE_SAMPLE: the walker's read is its first (checked and
 * recorded), the collapser's writes take every place of a round, so one of them is checked. The
 * collapser's racy read of the count comes second, a place a check skips. how: "sees" it reads
 * the count after the drop; "absent" it does not read it; "before" it reads it before the drop.
 */
function collapse(how: "sees" | "absent" | "before") {
  const { cpus, thread } = machine(FREE_SAMPLE);
  const [walker, collapser] = cpus;
  walker.start(thread());
  collapser.start(thread());
  const count = walker.lab.ptr("racyword");
  walker.img.i32[count] = 3; // set up, not an access
  void walker.lab.counter;
  void collapser.lab.res0;
  let seen = -1;
  if (how === "before") seen = collapser.lab.racyword;
  walker.drop(count);
  walker.reportDrop(count);
  if (how === "sees") seen = collapser.lab.racyword;
  for (let i = 0; i < FREE_SAMPLE; i++) collapser.lab.counter = 0;
  return seen;
}

describe("a racy read in free mode, where plain accesses are checked one in FREE_SAMPLE", () => {
  it("a read of a racy count that sees another cpu's ordered drop orders what follows after that cpu's accesses, even at a place the checks skip", () => {
    expect(collapse("sees")).toBe(2);
    expect(found).toEqual([]);
  });

  it("without that read, or with a read of the count before the drop, the clear races the walker's read", () => {
    for (const how of ["absent", "before"] as const) {
      found = [];
      expect(collapse(how)).toBe(how === "before" ? 3 : -1);
      expect(found.map((v) => v.law)).toEqual(["data-race"]);
      expect(found[0].message).toMatch(/data race on lab\[0\]\.counter: write by cpu 1 .* read by cpu 0/);
    }
  });
});
