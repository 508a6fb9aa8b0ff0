/*
 * The table allocator's in-use bitmap (src/shm/table.ts): alloc claims the first free slot from
 * its rotor on with one scheduling point per slot probed, exactly as the slot-by-slot scan it
 * replaced (so recorded schedules replay), however full the table; handles() walks the records in
 * use. Checked against that scan, modelled here, over random allocations and frees on tables
 * that cross the bitmap's word and second-level boundaries. One thread, the point hook by hand.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Image } from "../../src/shm/image.js";
import { installPoint } from "../../src/shm/hooks.js";
import { defineStruct } from "../../src/shm/struct.js";
import { NULL, slotOf, type Table } from "../../src/shm/table.js";

const REC = defineStruct("allocrec", { a: 1 });
const NEVER = Number.MAX_SAFE_INTEGER;

afterEach(() => installPoint(() => NEVER, NEVER));

const tableOf = (capacity: number): Table => Image.create([{ decl: REC, capacity }]).table(REC);

/** The scan alloc replaced: from the rotor, slot by slot, a point each; the slot and the points it took. */
function scan(used: boolean[], rotor: number): { slot: number; points: number } {
  const n = used.length;
  for (let i = 0; i < n; i++) if (!used[(rotor + i) % n]) return { slot: (rotor + i) % n, points: i + 1 };
  return { slot: -1, points: n };
}

/** A small deterministic generator (the test must not depend on Math.random). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** `prefill` allocations, then random allocations and frees, `fill` the fraction of allocations; every alloc compared with the scan. */
function against(capacity: number, ops: number, fill: number, seed: number, prefill = 0): void {
  const t = tableOf(capacity);
  const used = new Array<boolean>(capacity).fill(false);
  const live: number[] = [];
  let points = 0;
  installPoint(() => (points++, 1), 1); // every point fires: each one is counted
  const rnd = lcg(seed);
  for (let op = 0, rotor = 0; op < ops; op++) {
    if (op < prefill || rnd() < fill || live.length === 0) {
      const want = scan(used, rotor % capacity);
      rotor++;
      points = 0;
      const h = t.alloc();
      expect({ slot: h === NULL ? -1 : slotOf(h), points }).toEqual(want);
      if (h !== NULL) {
        used[slotOf(h)] = true;
        live.push(h);
      }
    } else {
      const h = live.splice(Math.floor(rnd() * live.length), 1)[0];
      t.free(h, "test");
      used[slotOf(h)] = false;
    }
  }
  expect([...t.handles()].map(slotOf)).toEqual(used.flatMap((u, s) => (u ? [s] : [])));
  expect(t.inUse()).toBe(live.length);
}

describe("alloc: the slot and the scheduling points of the slot-by-slot scan", () => {
  it("a table smaller than a bitmap word, one of a few words, one past the second level's first word", () => {
    against(7, 400, 0.6, 1);
    against(70, 2000, 0.7, 2);
    against(1100, 6000, 0.8, 3); // 35 first-level words: two second-level words
  });

  it("a table kept nearly full, where the scan walked the whole table for each record", () => {
    against(2100, 8000, 0.5, 4, 2050);
  });

  it("a point that fires in the middle of the slots in use is taken at the slot the scan was probing", () => {
    // A full table, its rotor at 1 (1,100 allocations and the one that failed): the scan probes
    // slots 1, 2, ... The 41st point fires, at slot 41, and what runs there frees every record:
    // the scan's compare-and-swap at that slot then succeeds.
    const t = tableOf(1100);
    const all = Array.from({ length: 1100 }, () => t.alloc());
    expect(t.alloc()).toBe(NULL); // full: the rotor is back at 0 for the next one
    let fired = 0;
    installPoint(() => {
      if (fired++ === 0) for (const h of all) t.free(h, "the other cpu");
      return NEVER;
    }, 41);
    expect(slotOf(t.alloc())).toBe(41);
  });

  it("a full table gives NULL, and the one record freed in it is found again", () => {
    const t = tableOf(2100);
    const all = Array.from({ length: 2100 }, () => t.alloc());
    expect(all.includes(NULL)).toBe(false);
    expect(t.alloc()).toBe(NULL);
    t.free(all[1500], "test");
    expect(slotOf(t.alloc())).toBe(1500);
    expect(t.alloc()).toBe(NULL);
  });
});
