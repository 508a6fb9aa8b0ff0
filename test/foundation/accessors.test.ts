/*
 * The struct accessors (src/shm/table.ts): every field access is a scheduling point and then a
 * generation check, so a record freed and reused by whoever ran at that point is reported, not
 * read or written silently (issue 10 item 7); a dereference through a stale handle is reported at
 * once; and the observer seam reports (address, write) for field-level detectors.
 * One thread, no machine: the point hook is driven by hand.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Image } from "../../src/shm/image.js";
import { installPoint, installViolationSink, KernelPanic, type ViolationInfo } from "../../src/shm/hooks.js";
import { defineStruct, TOKEN } from "../../src/shm/struct.js";
import { regionCopier, regionZeroer, type FieldObserver, type Table } from "../../src/shm/table.js";

const REC = defineStruct("rec", { a: 1, lock: TOKEN, b: 1 });
const WIDE = defineStruct("wide", { x: 1, y: 1, z: 1 });
const RACY = defineStruct("racyrec", { count: 1, link: 1 }, { racy: { count: "the observer-order test: a count read plainly" } });
const NEVER = Number.MAX_SAFE_INTEGER;

let violations: ViolationInfo[] = [];
let t: Table<(typeof REC)["fields"]>;

beforeEach(() => {
  violations = [];
  installViolationSink((v) => violations.push(v));
  installPoint(() => NEVER, NEVER);
  t = Image.create([{ decl: REC, capacity: 1 }]).table(REC); // one slot: a new record reuses it
});

afterEach(() => {
  installPoint(() => NEVER, NEVER);
  installViolationSink((v) => {
    throw new KernelPanic(v.law, v.message);
  });
});

/** At the next scheduling point, free the record `h` and allocate its slot again with a = 9. */
function reuseAtNextPoint(h: number): void {
  let fired = false;
  installPoint(() => {
    if (fired) return NEVER; // the allocation below is a point too
    fired = true;
    t.free(h, "the other cpu");
    const again = t.alloc();
    t.i32[t.recordBase(0) + t.layout.offsets.a] = 9;
    expect(again).not.toBe(h);
    return NEVER;
  }, 1);
}

describe("a record freed and reused at the access's own scheduling point", () => {
  it("a read is reported as a use-after-free naming the field, not answered from the new record", () => {
    const h = t.alloc();
    const v = t.view(h);
    v.a = 5;
    reuseAtNextPoint(h);
    expect(() => v.a).toThrow(KernelPanic);
    expect(violations.map((x) => x.law)).toEqual(["use-after-free"]);
    expect(violations[0].message).toContain("rec[0]");
    expect(violations[0].message).toContain(", a;");
    expect(violations[0].message).toContain("freed at the other cpu");
    expect(violations[0].message).toContain("(the slot is in use again)");
  });

  it("a write is reported and does not land in the new record", () => {
    const h = t.alloc();
    const v = t.view(h);
    reuseAtNextPoint(h);
    expect(() => {
      v.a = 1;
    }).toThrow(KernelPanic);
    expect(violations.map((x) => x.law)).toEqual(["use-after-free"]);
    expect(t.i32[t.recordBase(0) + t.layout.offsets.a]).toBe(9);
  });

  it("stays silent when the record lives through the point", () => {
    const h = t.alloc();
    const v = t.view(h);
    v.a = 5;
    let points = 0;
    installPoint(() => (points++, 1), 1);
    expect(v.a).toBe(5);
    v.b = 6;
    expect(v.b).toBe(6);
    expect(points).toBe(3); // one point per access
    expect(violations).toEqual([]);
  });
});

describe("dereference", () => {
  it("a view names its handle's record; once the slot is reused, the stale handle is reported", () => {
    const h = t.alloc();
    t.view(h).a = 5;
    expect(t.view(h).h).toBe(h);
    expect(t.view(h).a).toBe(5);
    t.free(h, "test");
    const h2 = t.alloc();
    expect(h2).not.toBe(h);
    expect(t.view(h2).h).toBe(h2);
    expect(t.view(h2).a).toBe(0);
    expect(violations).toEqual([]);
    expect(() => t.view(h)).toThrow(KernelPanic);
    expect(violations.map((x) => x.law)).toEqual(["use-after-free"]);
  });

  it("ptr gives the field's address and checks the generation", () => {
    const h = t.alloc();
    const v = t.view(h);
    expect(v.ptr("lock")).toBe(t.recordBase(0) + t.layout.offsets.lock);
    expect(v.ptr()).toBe(t.recordBase(0));
    t.free(h, "test");
    expect(() => v.ptr("lock")).toThrow(KernelPanic);
  });
});

/** An observer of field accesses only. */
const fields = (access: (addr: number, write: boolean, base: number) => unknown): FieldObserver => ({ access, freed: () => {} });

describe("access observer (the seam for field-level detectors)", () => {
  it("reports every field read and write with its address and its record's base, after the point; nothing once removed", () => {
    const seen: [number, boolean, number][] = [];
    t.observe(fields((addr, write, b) => seen.push([addr, write, b])));
    const h = t.alloc();
    const v = t.view(h);
    v.a = 3;
    expect(v.b).toBe(0);
    v.ptr("lock"); // an address is not an access
    const base = t.recordBase(0);
    expect(seen).toEqual([
      [base + t.layout.offsets.a, true, base],
      [base + t.layout.offsets.b, false, base],
    ]);
    t.observe(null);
    expect(t.view(h).a).toBe(3);
    expect(seen).toHaveLength(2);
  });

  it("reports a read of a field declared racy after its load, every other read before it", () => {
    // The observer stores into the word it is told of: a read it runs after returns the old value.
    const racy = Image.create([{ decl: RACY, capacity: 1 }]).table(RACY);
    racy.observe(
      fields((addr, write) => {
        if (!write) racy.i32[addr] = 7;
      }),
    );
    const v = racy.view(racy.alloc());
    v.count = 1;
    v.link = 1;
    expect(v.count).toBe(1); // racy: loaded, then observed (an acquire of what published the 1)
    expect(v.link).toBe(7); // checked: observed, then loaded
  });
});

describe("one view class per layout (a pooled worker runs image after image)", () => {
  it("two images' views share their class, and each reads, writes and reports in its own image", () => {
    const [one, two] = [Image.create([{ decl: REC, capacity: 1 }]).table(REC), Image.create([{ decl: REC, capacity: 1 }]).table(REC)];
    const seen: string[] = [];
    one.observe(fields(() => seen.push("one")));
    two.observe(fields(() => seen.push("two")));
    const [a, b] = [one.view(one.alloc()), two.view(two.alloc())];
    expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b));
    expect(one.view).toBe(two.view); // one maker per class too: the kernel's call of it sees the same target run after run
    a.a = 1;
    b.a = 2;
    expect([a.a, b.a]).toEqual([1, 2]);
    expect([one.i32[one.recordBase(0) + one.layout.offsets.a], two.i32[two.recordBase(0) + two.layout.offsets.a]]).toEqual([1, 2]);
    expect(seen).toEqual(["one", "two", "one", "two"]);
    const plain = t.view(t.alloc());
    expect(Object.getPrototypeOf(plain)).not.toBe(Object.getPrototypeOf(a)); // observed or not: two classes
    const wide = Image.create([{ decl: WIDE, capacity: 1 }]).table(WIDE);
    expect(Object.getPrototypeOf(wide.view(wide.alloc()))).not.toBe(Object.getPrototypeOf(plain)); // each layout's maker makes its own views
    expect(wide.view).not.toBe(t.view); // a maker per class: one method for every table is one megamorphic construct site
  });
});

describe("struct regions (fork1's bcopy and bzero of p_startcopy..p_endcopy)", () => {
  it("copy and zero exactly the listed fields, field by field in list order, through the accessors", () => {
    const w = Image.create([{ decl: WIDE, capacity: 2 }]).table(WIDE);
    const seen: [number, boolean][] = [];
    w.observe(fields((addr, write) => seen.push([addr - w.recordBase(0), write])));
    const [src, dst] = [w.view(w.alloc()), w.view(w.alloc())];
    Object.assign(src, { x: 1, y: 2, z: 3 });
    dst.z = 7;
    seen.length = 0;
    regionCopier(["y", "x"])(dst, src);
    expect([dst.x, dst.y, dst.z]).toEqual([1, 2, 7]);
    const [x, y] = [w.layout.offsets.x, w.layout.offsets.y];
    const stride = w.layout.stride;
    // src is slot 0, dst slot 1: read src.y, write dst.y, read src.x, write dst.x
    expect(seen.slice(0, 4)).toEqual([
      [y, false],
      [stride + y, true],
      [x, false],
      [stride + x, true],
    ]);
    regionZeroer(["x", "z"])(dst);
    expect([dst.x, dst.y, dst.z]).toEqual([0, 2, 0]);
  });
});
