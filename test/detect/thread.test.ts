/*
 * A detector thread's token stack (src/detect/thread.ts): the stale-pointer check asks only its
 * oldest count, which is right because the counts increase along the stack whatever the order of
 * takes, releases and blocks; a pooled thread state starts as a fresh one; and the typed table of
 * event counts by address answers as the Map it replaces.
 */
import { describe, expect, it } from "vitest";
import { DThread, Loads, MAX_LOADS, RMW_WAYS, SeqByAddr } from "../../src/detect/thread.js";

/** The question heldSince answers, asked of every token held. */
const anyHeldBefore = (t: DThread, seq: number) => t.guardSeq.some((g) => g < seq);

describe("DThread", () => {
  it("keeps counts increasing through takes, out-of-order releases and blocks, so the oldest answers for all", () => {
    const t = new DThread(0, 4);
    const seen: boolean[] = [];
    const check = () => {
      for (let i = 1; i < t.guardSeq.length; i++) expect(t.guardSeq[i]).toBeGreaterThan(t.guardSeq[i - 1]);
      for (let seq = 0; seq <= t.seq + 1; seq++) {
        expect(t.heldSince(seq)).toBe(anyHeldBefore(t, seq));
        seen.push(t.heldSince(seq));
      }
    };
    t.pushGuard(100);
    t.pushGuard(200);
    const loadedAt = ++t.seq;
    t.pushGuard(300);
    check();
    expect(t.heldSince(loadedAt)).toBe(true); // 100 and 200 were held at the load
    t.dropGuard(100); // released out of order
    expect(t.guardAddr).toEqual([200, 300]);
    check();
    t.renumberGuards(); // a possible block: every token counts as retaken now
    check();
    expect(t.heldSince(loadedAt)).toBe(false);
    t.pushGuard(200); // recursive take: the innermost goes first
    t.dropGuard(200);
    expect(t.guardAddr).toEqual([200, 300]);
    t.dropGuard(999); // not held: nothing changes
    expect(t.guardAddr).toEqual([200, 300]);
    t.dropGuard(300);
    t.dropGuard(200);
    check();
    expect(t.heldSince(t.seq + 1)).toBe(false);
    expect(seen).toContain(true);
  });

  it("a reset state is a fresh one for its new slot", () => {
    const t = new DThread(3, 4);
    t.C[2] = 9;
    t.d = 2;
    t.switches = 5;
    t.rmwAddr[7] = 7;
    t.pushGuard(40);
    t.putLoad(80, 1, 81, 2);
    t.missBase = 80;
    t.holds.set(80, 1);
    t.readAt.set(81, 1);
    t.owned.set(120, 1);
    t.ownTd = 160;
    t.ownLwp = 176;
    t.ownProc = 192;
    t.sysName = "fork";
    t.sysId = 12;
    t.blockSeq = 4;
    t.reset(5);
    const fresh = new DThread(5, 4);
    // (readAt's slots keep old keys under an old mark, loads', holds' and owned's arrays old entries past their size: compared by what they answer.)
    const answered = { readAt: null, loads: null, holds: null, owned: null };
    expect({ ...t, rmwAddr: [...t.rmwAddr], C: [...t.C], ...answered }).toEqual({ ...fresh, rmwAddr: [...fresh.rmwAddr], C: [...fresh.C], ...answered });
    expect([t.holds.size, t.holds.get(80), t.owned.size, t.owned.has(120)]).toEqual([0, 0, 0, false]);
    expect([t.readAt.size, t.readAt.set(81, 2)]).toEqual([0, -1]);
    expect([t.loads.size, t.loads.indexOf(80)]).toEqual([0, -1]);
    expect(t.rmwAddr).toEqual(new Int32Array(RMW_WAYS).fill(-1));
    expect([t.isOwn(160), t.isOwn(176), t.isOwn(192), t.isOwn(-1)]).toEqual([false, false, false, false]);
  });

  it("its own records are the three it was given, and no record when it has fewer", () => {
    const t = new DThread(3, 4);
    t.ownTd = 160;
    t.ownProc = 192;
    expect([160, 176, 192, -1, 0].map((b) => t.isOwn(b))).toEqual([true, false, true, false, false]);
    t.ownLwp = 176;
    expect([160, 176, 192, -1, 0].map((b) => t.isOwn(b))).toEqual([true, true, true, false, false]);
  });
});

describe("Loads", () => {
  it("answers as the Map in insertion order it replaces: lookups, puts (in place for the newest), deletes, the oldest forgotten past MAX_LOADS, clears", () => {
    const loads = new Loads();
    const model = new Map<number, { seq: number; from: number; gen: number }>();
    let x = 777;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    let evicted = 0;
    for (let op = 0; op < 40_000; op++) {
      const r = rand(1000);
      // Few records most of the time; now and then a run past MAX_LOADS distinct ones.
      const newest = [...model.keys()].pop();
      // A third of the puts load the newest record again (put's in-place case).
      const base = r < 150 && newest !== undefined ? newest : op % 5000 < 4000 ? 16 * rand(20) : 16 * rand(4 * MAX_LOADS);
      if (r < 2) {
        loads.clear();
        model.clear();
      } else if (r < 500) {
        // A put: the record's older load goes, the new one is the newest (the oldest goes when full).
        model.delete(base);
        if (model.size >= MAX_LOADS) {
          model.delete(model.keys().next().value!);
          evicted++;
        }
        model.set(base, { seq: op * 1e6, from: op, gen: op & 0xffff });
        loads.put(base, op * 1e6, op, op & 0xffff);
      } else if (r < 600) {
        const i = loads.indexOf(base);
        if (i >= 0) loads.removeAt(i);
        model.delete(base);
      } else {
        const i = loads.indexOf(base);
        const m = model.get(base);
        expect(i >= 0 ? { seq: loads.seq[i], from: loads.from[i], gen: loads.gen[i] } : undefined).toEqual(m);
      }
      expect(loads.size).toBe(model.size);
    }
    expect(evicted).toBeGreaterThan(0);
    expect(model.size).toBeGreaterThan(0);
    // Same records, same order (the next to be forgotten first).
    const order = [...model.keys()];
    for (let k = 0; k < order.length; k++) expect(loads.indexOf(order[k])).toBe(k);
  });
});

describe("SeqByAddr", () => {
  it("answers set (the count and generation it replaces), size and clear as a Map does, through growth, collisions and many clears", () => {
    const table = new SeqByAddr();
    const model = new Map<number, number>();
    const gens = new Map<number, number>();
    let x = 12345;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let op = 0; op < 20_000; op++) {
      const r = rand(100);
      // Addresses in runs (one record's words) and far apart; up to ~600 live before a clear.
      const addr = rand(2) ? 4096 + rand(600) : rand(1 << 20);
      if (r < 1) {
        table.clear();
        model.clear();
        gens.clear();
      } else {
        const gen = rand(1 << 15);
        expect(table.set(addr, op, gen)).toBe(model.get(addr) ?? -1);
        expect(table.replacedGen).toBe(gens.get(addr) ?? -1);
        model.set(addr, op);
        gens.set(addr, gen);
      }
      expect(table.size).toBe(model.size);
    }
    for (const [k, v] of model) expect(table.set(k, 0)).toBe(v);
    expect(model.size).toBeGreaterThan(0);
  });
});
