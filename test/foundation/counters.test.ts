/*
 * Every mutual-exclusion primitive keeps a plain (non-atomic) counter exact under real contention:
 * 4 cpus (worker threads), 100,000 locked increments each. The unprotected control shows that
 * the same increment without a lock does lose updates here, so the exact counts mean something.
 */
import { describe, expect, it } from "vitest";
import { boot, laws, run, type Spawn } from "./harness.js";

const N = 100_000;
const T = 4;
const everyCpu = (prog: string, args: number[]): Spawn[] => Array.from({ length: T }, (_, cpu): Spawn => [prog, args, cpu]);

describe("mutual exclusion over a plain counter, 4 cpus x 100,000", () => {
  for (const [prog, what] of [
    ["lab.token", "LWKT token (exclusive)"],
    ["lab.spin", "spin lock"],
    ["lab.lockmgr", "lockmgr exclusive"],
    ["lab.mutex", "kmutex"],
    ["lab.atomic", "atomic_add_int"],
  ] as const) {
    it(`${what} loses no update`, async () => {
      const lab = boot(4);
      const o = await run(lab, everyCpu(prog, [N]), { ms: 50_000 });
      expect(o.finished).toBe(true);
      expect(lab.l.counter).toBe(N * T);
      expect(laws(o)).toEqual([]);
    }, 60_000);
  }

  it("refcount acquire/release pairs leave the count exact", async () => {
    const lab = boot(4);
    lab.l.refs = 1; // the object's own reference: no pair may take it from zero
    const o = await run(lab, everyCpu("lab.refcount", [N]), { ms: 50_000 });
    expect(o.finished).toBe(true);
    expect(lab.l.refs).toBe(1);
    expect(laws(o)).toEqual([]);
  }, 60_000);

  it("exactly one of many concurrent refcount_release callers sees 1 -> 0", async () => {
    const lab = boot(4);
    lab.l.refs = N * T;
    const o = await run(lab, everyCpu("lab.refdrop", [N]), { ms: 50_000 });
    expect(o.finished).toBe(true);
    expect(lab.l.refs).toBe(0);
    expect(lab.l.hits).toBe(1);
    expect(laws(o)).toEqual([]);
  }, 60_000);

  it("PHOLD/PRELE pairs leave p_lock at zero", async () => {
    const lab = boot(4);
    const o = await run(lab, everyCpu("lab.phold", [N]), { ms: 50_000 });
    expect(o.finished).toBe(true);
    expect(lab.l.p_lock).toBe(0);
    expect(laws(o)).toEqual([]);
  }, 60_000);

  it("the unprotected control loses updates (the harness sees races)", async () => {
    let lost = 0;
    for (let attempt = 0; attempt < 5 && lost === 0; attempt++) {
      const lab = boot(4);
      const n = N * (attempt + 1);
      const o = await run(lab, everyCpu("lab.unprotected", [n]), { ms: 50_000 });
      expect(o.finished).toBe(true);
      lost = n * T - lab.l.counter;
    }
    expect(lost).toBeGreaterThan(0);
  }, 60_000);
});
