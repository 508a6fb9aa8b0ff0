/*
 * The stale-pointer detector's short cuts (src/detect/detector.ts load, use; thread.ts
 * RecordCounts), driven by hand in the order the primitives and the views call them: each is
 * checked against the report it must still make, and the report it must not invent.
 *
 *  - a handle load with no token held and no pointer remembered does nothing but note the read;
 *    with a pointer remembered it must still forget the older load of the same record;
 *  - holds and owned records are kept in small arrays, not a Map and a Set;
 *  - access() remembers the last thread's state: each access is still charged to the thread
 *    running it, across switches, and to none once that thread has ended.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Detector, type DetectThread } from "../../src/detect/detector.js";
import { shadowSize } from "../../src/detect/index.js";
import { Shadow } from "../../src/detect/shadow.js";
import { RecordCounts } from "../../src/detect/thread.js";
import { LAB, SCRATCH } from "../../src/selftest/lab.js";
import { THREAD } from "../../src/shm/core.js";
import { installViolationSink } from "../../src/shm/hooks.js";
import { Image, type TableSpec } from "../../src/shm/image.js";
import type { Handle } from "../../src/shm/table.js";
import { HOW_TOKEN } from "../../src/sync/observe.js";

const SPECS: TableSpec[] = [
  { decl: THREAD, capacity: 4 },
  { decl: LAB, capacity: 1 },
  { decl: SCRATCH, capacity: 2 },
];

let found: { law: string; message: string }[];
beforeEach(() => {
  found = [];
  installViolationSink((v) => found.push(v));
});
afterEach(() => installViolationSink(() => {}));

/** One cpu with the stale-pointer detector, a running thread, lab.link naming a scratch record. */
function machine() {
  const img = Image.create(SPECS);
  const sh = new Shadow(Shadow.create(shadowSize(img.i32.length, 4)), shadowSize(img.i32.length, 4), false);
  let running: DetectThread | null = null;
  const det = new Detector(img, sh, { race: false, stale: true, sample: 1, siteAddrs: new Set(), cpu: 0 }, () => running);
  for (const t of img.allTables()) t.observe(det);
  const threads = img.table(THREAD);
  const start = (): DetectThread => {
    const h: Handle = threads.alloc();
    const td = { h, cpu: 0, pid: 100 + (h & 0xffff), syscall: "test", toks: [], held: [], waitfor: 0, sleptAt: null, sleepWmesg: null, owes: 0, sigcheck: null };
    det.threadStart(td);
    running = td;
    return td;
  };
  const lab = img.table(LAB).view(img.table(LAB).alloc());
  const scratch = img.table(SCRATCH);
  lab.link = scratch.alloc();
  const tok = lab.ptr("tok");
  const run = (td: DetectThread | null) => {
    running = td;
  };
  return { det, lab, scratch, tok, start, run };
}

describe("stale-pointer short cuts", () => {
  it("a load with no token held still forgets an older load under one; with none remembered, a use is silent", () => {
    const { det, lab, scratch, tok, start } = machine();
    const td = start();
    det.acquire(td, tok, HOW_TOKEN);
    let h = lab.link; // remembered: loaded under tok
    det.release(td, tok, HOW_TOKEN); // every token held at the load is gone: h is stale
    h = lab.link; // loaded again, no token held: the older load is forgotten
    scratch.view(h).value = 1;
    expect(found).toEqual([]);
    // The same without the second load: reported.
    det.acquire(td, tok, HOW_TOKEN);
    h = lab.link;
    det.release(td, tok, HOW_TOKEN);
    scratch.view(h).value = 2;
    expect(found.map((v) => v.law)).toEqual(["stale-pointer"]);
  });

  it("a hold taken and dropped is counted per record; a record owned is exempt until given back", () => {
    const { det, lab, scratch, tok, start } = machine();
    const td = start();
    det.acquire(td, tok, HOW_TOKEN);
    const h = lab.link;
    const rec = scratch.view(h);
    det.hold(rec.ptr("refs"), 1);
    det.hold(rec.ptr("refs"), 1);
    det.release(td, tok, HOW_TOKEN);
    det.hold(rec.ptr("refs"), -1); // one hold left: still held
    det.mayBlock();
    rec.value = 1;
    expect(found).toEqual([]);
    det.own(rec.ptr("refs"), true);
    det.hold(rec.ptr("refs"), -1); // none left; a drop makes the pointer as good as loaded now...
    det.acquire(td, tok, HOW_TOKEN);
    det.mayBlock(); // ...until the next block
    rec.value = 2; // owned: exempt
    expect(found).toEqual([]);
    det.own(rec.ptr("refs"), false);
    rec.value = 3;
    expect(found.map((v) => v.law)).toEqual(["stale-pointer"]);
  });
});

describe("the running thread's state, remembered between accesses", () => {
  it("charges each access to the thread running it, across switches, and to none once it ended", () => {
    const { det, lab, scratch, tok, start, run } = machine();
    const a = start();
    const b = start();
    const staleLoad = (td: DetectThread): Handle => {
      det.acquire(td, tok, HOW_TOKEN);
      const h = lab.link; // kept: loaded under tok
      det.release(td, tok, HOW_TOKEN); // stale from here
      return h;
    };
    run(a);
    const h = staleLoad(a);
    det.switchOut(a);
    run(b);
    scratch.view(h).value = 1; // b loaded nothing
    expect(found).toEqual([]);
    det.switchOut(b);
    run(a);
    scratch.view(h).value = 2; // a's stale pointer
    expect(found.map((v) => v.law)).toEqual(["stale-pointer"]);
    // a keeps another stale pointer, of the other scratch record, and ends: its state goes to the spares.
    run(null); // (outside any thread: unchecked)
    lab.link = scratch.alloc();
    run(a);
    const h2 = staleLoad(a);
    det.threadExit(a);
    scratch.view(h2).value = 3; // an access with the ended thread still current: no thread, no check
    const c = start(); // the spare state, fresh, for another thread
    expect(c).not.toBe(a);
    scratch.view(h2).value = 4;
    expect(found.map((v) => v.law)).toEqual(["stale-pointer"]);
  });
});

describe("RecordCounts", () => {
  it("answers as the Map it replaces: counts, removal at 0, clears", () => {
    const counts = new RecordCounts();
    const model = new Map<number, number>();
    let x = 99;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let op = 0; op < 20_000; op++) {
      const base = 16 * rand(12);
      const r = rand(100);
      if (r < 1) {
        counts.clear();
        model.clear();
      } else if (r < 60) {
        const n = (model.get(base) ?? 0) + (rand(3) - 1);
        counts.set(base, n);
        if (n > 0) model.set(base, n);
        else model.delete(base);
      }
      expect(counts.get(base)).toBe(model.get(base) ?? 0);
      expect(counts.has(base)).toBe(model.has(base));
      expect(counts.size).toBe(model.size);
    }
    expect(model.size).toBeGreaterThan(0);
  });
});
