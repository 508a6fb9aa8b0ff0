/*
 * A detector thread's token stack (src/detect/thread.ts): the stale-pointer check asks only its
 * oldest count, which is right because the counts increase along the stack whatever the order of
 * takes, releases and blocks; a pooled thread state starts as a fresh one; and the typed table of
 * event counts by address answers as the Map it replaces.
 */
import { describe, expect, it } from "vitest";
import { DThread, RMW_WAYS, SeqByAddr } from "../../src/detect/thread.js";

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
    t.setLoad(80, { seq: 1, from: 81, gen: 2 });
    t.missBase = 80;
    t.holds.set(80, 1);
    t.readAt.set(81, 1);
    t.owned.add(120);
    t.own = [160];
    t.sysName = "fork";
    t.sysId = 12;
    t.blockSeq = 4;
    t.reset(5);
    const fresh = new DThread(5, 4);
    // (readAt's slots keep old keys under an old mark: compared by what it answers.)
    expect({ ...t, rmwAddr: [...t.rmwAddr], C: [...t.C], readAt: null }).toEqual({ ...fresh, rmwAddr: [...fresh.rmwAddr], C: [...fresh.C], readAt: null });
    expect([t.readAt.size, t.readAt.get(81)]).toEqual([0, -1]);
    expect(t.rmwAddr).toEqual(new Int32Array(RMW_WAYS).fill(-1));
  });
});

describe("SeqByAddr", () => {
  it("answers get, genOf, set, size and clear as a Map does, through growth, collisions and many clears", () => {
    const table = new SeqByAddr();
    const model = new Map<number, number>();
    let x = 12345;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let op = 0; op < 20_000; op++) {
      const r = rand(100);
      // Addresses in runs (one record's words) and far apart; up to ~600 live before a clear.
      const addr = rand(2) ? 4096 + rand(600) : rand(1 << 20);
      if (r < 1) {
        table.clear();
        model.clear();
      } else if (r < 60) {
        table.set(addr, op, op & 0xffff);
        model.set(addr, op);
      } else {
        expect(table.get(addr)).toBe(model.get(addr) ?? -1);
        expect(table.genOf(addr)).toBe(model.has(addr) ? model.get(addr)! & 0xffff : -1);
      }
      expect(table.size).toBe(model.size);
    }
    for (const [k, v] of model) expect(table.get(k)).toBe(v);
    expect(model.size).toBeGreaterThan(0);
  });
});
