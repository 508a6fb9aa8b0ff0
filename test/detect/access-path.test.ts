/*
 * access()'s memory of whether the race detector still stands (src/detect/detector.ts raceLive):
 * read instead of the shadow's word at every access, so it must follow a stand-down -- this
 * cpu's at once, another cpu's by the next thread start, kernel entry or resume at the latest.
 * A check the detector still makes leaves its mark in the shadow (Shadow.marked); one it skips
 * leaves none.
 */
import { describe, expect, it } from "vitest";
import { Detector, type DetectThread } from "../../src/detect/detector.js";
import { shadowSize } from "../../src/detect/index.js";
import { Shadow } from "../../src/detect/shadow.js";
import { SCRATCH } from "../../src/selftest/lab.js";
import { THREAD } from "../../src/shm/core.js";
import { Image } from "../../src/shm/image.js";

function machine() {
  const img = Image.create([{ decl: THREAD, capacity: 4 }, { decl: SCRATCH, capacity: 4 }]);
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
  return { det, sh, start, rec };
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
