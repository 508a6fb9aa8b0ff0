/*
 * What access() and the thread hooks keep instead of looking up (src/detect/detector.ts):
 *
 *  - whether the race detector still stands (raceLive), read instead of the shadow's word at
 *    every access: it must follow a stand-down -- this cpu's at once, another cpu's by the next
 *    thread start, kernel entry or resume at the latest. A check the detector still makes leaves
 *    its mark in the shadow (Shadow.marked); one it skips leaves none;
 *  - a handle field's target table and whether it is a recheck field, in one per-word array
 *    (handleTo): a recheck field's load under a token goes stale when the token goes, a plain
 *    handle field's does not;
 *  - the running thread's state (lastTd), for the hooks as for access(): a hold is the running
 *    thread's, across switches.
 */
import { describe, expect, it } from "vitest";
import { Detector, type DetectThread } from "../../src/detect/detector.js";
import { shadowSize } from "../../src/detect/index.js";
import { Shadow } from "../../src/detect/shadow.js";
import { SCRATCH } from "../../src/selftest/lab.js";
import { THREAD } from "../../src/shm/core.js";
import { installViolationSink } from "../../src/shm/hooks.js";
import { Image } from "../../src/shm/image.js";
import { defineStruct } from "../../src/shm/struct.js";
import type { Handle } from "../../src/shm/table.js";
import { HOW_TOKEN } from "../../src/sync/observe.js";

/** Two handles to scratch records, one a recheck field, one not; tok stands for a token's word. */
const HOLDER = defineStruct("holder", { tok: 1, r: 1, p: 1 }, { recheck: { r: "scratch" }, handles: { p: "scratch" } });

function machine() {
  const img = Image.create([{ decl: THREAD, capacity: 4 }, { decl: SCRATCH, capacity: 4 }, { decl: HOLDER, capacity: 1 }]);
  const size = shadowSize(img.i32.length, 4);
  const sh = new Shadow(Shadow.create(size), size, false);
  let running: DetectThread | null = null;
  const det = new Detector(img, sh, { race: true, stale: true, sample: 1, siteAddrs: new Set(), cpu: 0 }, () => running);
  for (const t of img.allTables()) t.observe(det);
  const start = (): DetectThread => {
    const td = { h: img.table(THREAD).alloc(), cpu: 0, pid: 100, syscall: "test", toks: [], held: [], waitfor: 0, sleptAt: null, sleepWmesg: null, owes: 0, sigcheck: null };
    det.threadStart(td);
    running = td;
    return td;
  };
  const scratch = img.table(SCRATCH);
  const rec = () => scratch.view(scratch.alloc()) as unknown as { value: number; ptr(f: string): number };
  const holder = img.table(HOLDER);
  const run = (td: DetectThread | null) => void (running = td);
  return { det, sh, start, rec, run, scratch, holder: holder.view(holder.alloc()) as unknown as { tok: number; r: number; p: number; ptr(f: string): number } };
}

describe("access() and a stand-down of the race detector", () => {
  it("checks while it stands", () => {
    const { start, rec, sh } = machine();
    start();
    const r = rec();
    r.value = 1;
    expect(sh.marked(r.ptr("value"))).toBe(true);
  });

  it("stops checking at once when this cpu stands it down", () => {
    const { det, start, rec, sh } = machine();
    start();
    (det as unknown as { standDown(why: string): void }).standDown("the test");
    const r = rec();
    r.value = 1;
    expect(sh.marked(r.ptr("value"))).toBe(false);
    expect(det.notes).toEqual(["race detector stood down at cpu 0: the test"]);
  });

  for (const [where, look] of [
    ["a kernel entry", (det: Detector) => det.kernelEntry()],
    ["a resume", (det: Detector) => det.resumed()],
  ] as const) {
    it(`stops checking after another cpu's stand-down by ${where}`, () => {
      const { det, start, rec, sh } = machine();
      start();
      sh.giveUp(); // another cpu ran out
      look(det);
      const r = rec();
      r.value = 1;
      expect(sh.marked(r.ptr("value"))).toBe(false);
    });
  }

  it("stops checking after another cpu's stand-down by the next thread start", () => {
    const { det, start, rec, sh } = machine();
    const td = start();
    sh.giveUp();
    det.threadExit(td);
    start();
    const r = rec();
    r.value = 1;
    expect(sh.marked(r.ptr("value"))).toBe(false);
  });
});

describe("handle fields and the thread hooks", () => {
  it("a recheck field's load under a token goes stale with it, another handle field's does not", () => {
    const found: string[] = [];
    installViolationSink((v) => found.push(v.law));
    try {
      const { det, start, scratch, holder } = machine();
      const td = start();
      holder.r = scratch.alloc();
      holder.p = scratch.alloc();
      const tok = holder.ptr("tok");
      det.acquire(td, tok, HOW_TOKEN);
      const r: Handle = holder.r;
      const p: Handle = holder.p;
      det.release(td, tok, HOW_TOKEN);
      (scratch.view(p) as unknown as { value: number }).value = 1;
      expect(found).toEqual([]);
      (scratch.view(r) as unknown as { value: number }).value = 1;
      expect(found).toEqual(["stale-pointer"]);
    } finally {
      installViolationSink(() => {});
    }
  });

  it("a hold is the running thread's, across switches", () => {
    const { det, start, run, rec } = machine();
    const a = start();
    const b = start();
    const r = rec();
    const held = (td: DetectThread) => (det as unknown as { threads: { holds: { size: number } }[] }).threads[(td.h & 0xffff) - 1].holds.size;
    run(a);
    r.value = 1; // a's state remembered
    det.hold(r.ptr("refs"), 1);
    run(b);
    det.hold(r.ptr("refs"), 1);
    det.hold(r.ptr("refs"), 1);
    expect([held(a), held(b)]).toEqual([1, 1]);
    run(a);
    det.hold(r.ptr("refs"), -1);
    expect([held(a), held(b)]).toEqual([0, 1]);
  });
});
