/*
 * The field-level detectors (src/detect) on the lab's programs (src/selftest/races.ts): each
 * fires on a real bad state -- a writer under a shared token, a hand-off ordered by nothing, a
 * read without the lock, a pointer used after a block without a re-check -- and stays silent on
 * the right variant of the same program. Controlled mode (pct), so each run is reproducible.
 */
import { describe, expect, it } from "vitest";
import { SCRATCH } from "../../src/selftest/lab.js";
import type { MachineSpec } from "../../src/sched/spec.js";
import { boot, laws, run, type Lab, type Spawn } from "../foundation/harness.js";

const pct = (seed: number, detectors: MachineSpec["detectors"] = ["race", "stale"]): Partial<MachineSpec> => ({
  strategy: { name: "pct", seed, depth: 3, stepBound: 4000 },
  clock: "logical",
  detectors,
});

async function runLab(threads: Spawn[], over: Partial<MachineSpec>, setup: (lab: Lab) => void = () => {}) {
  const lab = boot(2, over);
  setup(lab);
  const o = await run(lab, threads, { ms: 20_000 });
  expect(o.finished).toBe(true);
  return { lab, o };
}

describe("data-race", () => {
  it("reports a writer holding a token shared against its readers, naming the field and both accesses", async () => {
    const { o } = await runLab([["lab.race-rw", [40, 1, 1], 0], ["lab.race-rw", [40, 0, 0], 1]], pct(3));
    expect(laws(o)).toContain("data-race");
    const v = o.violations.find((x) => x.law === "data-race")!;
    expect(v.message).toContain("lab[0].counter");
    expect(v.message).toMatch(/write by cpu \d thread \d+/);
    expect(v.message).toMatch(/read by cpu \d thread \d+/);
  }, 30_000);

  it("is silent when the writer holds the token exclusively", async () => {
    const { o } = await runLab([["lab.race-rw", [40, 1, 0], 0], ["lab.race-rw", [40, 0, 0], 1]], pct(3));
    expect(o.violations).toEqual([]);
  }, 30_000);

  it("a write after the wakeup, or a hand-off through relaxed atomics, races the woken reader", async () => {
    for (const how of [1, 3]) {
      const { o } = await runLab([["lab.race-handoff", [0, how], 0], ["lab.race-handoff", [1, how], 1]], pct(1));
      expect(laws(o)).toEqual(["data-race"]);
      expect(o.violations[0].message).toContain("lab[0].res0");
    }
  }, 30_000);

  it("a wakeup after the write, and fully ordered atomics, order the hand-off", async () => {
    for (const how of [0, 2]) {
      const { lab, o } = await runLab([["lab.race-handoff", [0, how], 0], ["lab.race-handoff", [1, how], 1]], pct(1));
      expect(o.violations).toEqual([]);
      expect(lab.res(1)).toBe(42);
    }
  }, 30_000);

  it("a field declared racy is read without the lock in silence; the same read of another field is a race", async () => {
    const racy = await runLab([["lab.race-unlocked-read", [0, 0, 30], 0], ["lab.race-unlocked-read", [1, 0, 30], 1]], pct(2));
    expect(racy.o.violations).toEqual([]);
    const plain = await runLab([["lab.race-unlocked-read", [0, 1, 30], 0], ["lab.race-unlocked-read", [1, 1, 30], 1]], pct(2));
    expect(laws(plain.o)).toContain("data-race");
  }, 30_000);

  it("a field declared racy where marked (markedRacy) is read in silence inside data_race(); read unmarked, it is a race", async () => {
    const marked = await runLab([["lab.race-unlocked-read", [0, 2, 30], 0], ["lab.race-unlocked-read", [1, 2, 30], 1]], pct(2));
    expect(marked.o.violations).toEqual([]);
    const unmarked = await runLab([["lab.race-unlocked-read", [0, 3, 30], 0], ["lab.race-unlocked-read", [1, 3, 30], 1]], pct(2));
    expect(laws(unmarked.o)).toEqual(["data-race"]);
    expect(unmarked.o.violations[0].message).toContain("lab[0].markedword");
    // An atomic read (a compare-and-set that fails) is marked as a plain one is.
    const cmpset = await runLab([["lab.race-unlocked-read", [0, 4, 30], 0], ["lab.race-unlocked-read", [1, 4, 30], 1]], pct(2));
    expect(cmpset.o.violations).toEqual([]);
    const cmpsetUnmarked = await runLab([["lab.race-unlocked-read", [0, 5, 30], 0], ["lab.race-unlocked-read", [1, 5, 30], 1]], pct(2));
    expect(laws(cmpsetUnmarked.o)).toEqual(["data-race"]);
    expect(cmpsetUnmarked.o.violations[0].message).toContain("atomic read");
  }, 30_000);

  it("a racy read that sees an ordered atomic's store orders its thread after it (reaper_get's collapse); no read, or a read of an older value, orders nothing", async () => {
    const collapse = (how: number) =>
      runLab([["lab.racy-order", [0, how], 0], ["lab.racy-order", [1, how], 1]], pct(2), (lab) => {
        lab.l.racyword = 3;
      });
    const sees = await collapse(0);
    expect(sees.o.violations).toEqual([]);
    expect(sees.lab.l.racyword).toBe(2);
    for (const how of [1, 2]) {
      const { lab, o } = await collapse(how);
      expect(laws(o)).toEqual(["data-race"]);
      expect(o.violations[0].message).toContain("lab[0].counter");
      expect(o.violations[0].message).toMatch(/write by cpu 1 .* read by cpu 0/);
      if (how === 2) expect(lab.res(1)).toBe(3); // the collapser's read saw the count before the drop
    }
  }, 30_000);

  it("stays off when not asked for", async () => {
    const { o } = await runLab([["lab.race-rw", [40, 1, 1], 0], ["lab.race-rw", [40, 0, 0], 1]], pct(3, []));
    expect(o.violations).toEqual([]);
  }, 30_000);
});

describe("non-atomic-update", () => {
  it("reports a read-modify-write another cpu wrote into, and nothing for an atomic add", async () => {
    const bad = await runLab([["lab.unprotected", [300], 0], ["lab.unprotected", [300], 1]], { ...pct(7), strategy: { name: "random", seed: 7 } });
    expect(laws(bad.o)).toContain("non-atomic-update");
    expect(bad.o.violations.find((v) => v.law === "non-atomic-update")!.message).toContain("lab[0].counter");
    const good = await runLab([["lab.atomic", [300], 0], ["lab.atomic", [300], 1]], { ...pct(7), strategy: { name: "random", seed: 7 } });
    expect(good.o.violations).toEqual([]);
  }, 30_000);

  it("reports a load and store in one kernel path, and not a load in one system call and a store in the next", async () => {
    const random = { ...pct(7), strategy: { name: "random" as const, seed: 7 } };
    const one = await runLab([["lab.rmw-entry", [300, 0], 0], ["lab.atomic", [300], 1]], random);
    expect(laws(one.o)).toContain("non-atomic-update");
    const across = await runLab([["lab.rmw-entry", [300, 1], 0], ["lab.atomic", [300], 1]], random);
    expect(laws(across.o)).toContain("data-race"); // the adds did run meanwhile: the plain store races them
    expect(laws(across.o)).not.toContain("non-atomic-update");
  }, 30_000);

  it("is silent when the other's store reaches the writer through a lock it took again after its read; not when nothing orders it", async () => {
    const random = { ...pct(7), strategy: { name: "random" as const, seed: 7 } };
    const ordered = await runLab([["lab.relock", [300], 0], ["lab.mutex", [300], 1]], random);
    expect(ordered.o.violations).toEqual([]);
    const unordered = await runLab([["lab.relock", [300], 0], ["lab.unprotected", [300], 1]], random);
    expect(laws(unordered.o)).toContain("non-atomic-update");
  }, 30_000);
});

describe("plain-count-write", () => {
  // One cpu: a cpu knows a field for a count from the first refcount or hold operation it makes on it.
  const pair = (how: number): Spawn[] => [["lab.count-plain", [0, how], 0], ["lab.count-plain", [1, how], 0]];

  it("reports a reference dropped with a plain decrement while another holds the record, though a mutex orders the two", async () => {
    const { o } = await runLab(pair(1), pct(1));
    expect(laws(o)).toEqual(["plain-count-write"]);
    expect(o.violations[0].message).toMatch(/plain store to scratch\[\d+\]\.refs .*it counted 2/);
  }, 30_000);

  it("is silent on refcount_release, and on the plain store that initialises a fresh record's count", async () => {
    const { lab, o } = await runLab(pair(0), pct(1));
    expect(o.violations).toEqual([]);
    expect(lab.m.image.table(SCRATCH).view(lab.l.link).refs).toBe(1);
  }, 30_000);

  // A word no primitive names: its struct declares it (FieldNotes.atomics), as DragonFly's ui_ref.
  const flags = (how: number): Spawn[] => [["lab.flags-plain", [0, how], 0], ["lab.flags-plain", [1, how], 0]];

  it("reports a declared atomic flag word set with a plain load and store after another thread's atomic", async () => {
    const { o } = await runLab(flags(1), pct(1));
    expect(laws(o)).toEqual(["plain-count-write"]);
    expect(o.violations[0].message).toMatch(/plain store to scratch\[\d+\]\.flags .*declared so beside the field.*after an atomic write/);
  }, 30_000);

  it("reports a declared word read and written back plainly by the one thread that has it", async () => {
    const { o } = await runLab(flags(2), pct(1));
    expect(laws(o)).toEqual(["plain-count-write"]);
    expect(o.violations[0].message).toMatch(/plain store to scratch\[\d+\]\.flags .*read and written back with plain accesses/);
  }, 30_000);

  it("is silent on atomic_set_int, and on a fresh record's initialising stores whatever bits they hold", async () => {
    const { lab, o } = await runLab(flags(0), pct(1));
    expect(o.violations).toEqual([]);
    expect(lab.m.image.table(SCRATCH).view(lab.l.link).flags).toBe(13);
  }, 30_000);
});

describe("stale-pointer", () => {
  /** lab.link names a fresh scratch record. */
  const withPointer = (lab: Lab) => {
    const t = lab.m.image.table(SCRATCH);
    lab.l.link = t.alloc();
    t.view(lab.l.link).refs = 1; // its owner's reference
  };

  it("reports a handle loaded under a token and used after a block without a re-check or a hold", async () => {
    const { o } = await runLab([["lab.stale", [0], 0]], pct(1), withPointer);
    expect(laws(o)).toEqual(["stale-pointer"]);
    expect(o.violations[0].message).toContain("loaded from lab[0].link");
    expect(o.violations[0].message).toMatch(/uses scratch\[\d+\]/);
  }, 30_000);

  it("missed-recheck: a handle field overwritten on a value read before a block, and nothing once it is read again", async () => {
    const bad = await runLab([["lab.stale-write", [0], 0]], pct(1), withPointer);
    expect(laws(bad.o)).toEqual(["missed-recheck"]);
    expect(bad.o.violations[0].message).toContain("writes lab[0].link");
    const good = await runLab([["lab.stale-write", [1], 0]], pct(1), withPointer);
    expect(good.o.violations).toEqual([]);
  }, 30_000);

  it("missed-recheck: a field of the record read before the block is cleared on that read; nothing when the record was freed and its slot allocated again", async () => {
    const linked = (lab: Lab) => {
      withPointer(lab);
      const t = lab.m.image.table(SCRATCH);
      t.view(lab.l.link).next = t.alloc();
    };
    const bad = await runLab([["lab.recheck-realloc", [0], 0]], pct(1), linked);
    expect(laws(bad.o)).toEqual(["missed-recheck"]);
    expect(bad.o.violations[0].message).toMatch(/writes scratch\[\d+\]\.next/);
    const good = await runLab([["lab.recheck-realloc", [1], 0]], pct(1), linked);
    expect(good.o.violations).toEqual([]);
    // The same slot, a new record: the write lands where the old record's field was.
    expect(good.lab.m.image.table(SCRATCH).view(good.lab.l.link).next).toBe(0);
  }, 30_000);

  it("is silent when the handle is loaded again, or held, across the block -- also used after the hold is dropped, until the next block", async () => {
    for (const how of [1, 2, 3]) {
      const { o } = await runLab([["lab.stale", [how], 0]], pct(1), withPointer);
      expect(o.violations).toEqual([]);
    }
    const { o } = await runLab([["lab.stale", [4], 0]], pct(1), withPointer);
    expect(laws(o)).toEqual(["stale-pointer"]);
  }, 30_000);
});
