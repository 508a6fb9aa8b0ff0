/*
 * What keeps free-running cpus off each other's cache lines (issue 15 item 1): the run control's
 * counters, which every cpu writes at every sleep and wakeup, sit LINE_PAD words away from every
 * word the cpus read at each turn, in a table after the kernel's (whose addresses controlled runs
 * hash); and in free mode each cpu allocates from a rotor of its own, apart from the others', so
 * consecutive records -- which share cache lines -- are not handed to different cpus.
 * One thread, no machine.
 */
import { describe, expect, it } from "vitest";
import { RTCOUNT, RTCTL, runControlWords } from "../../src/shm/core.js";
import { installPoint } from "../../src/shm/hooks.js";
import { Image } from "../../src/shm/image.js";
import { defineStruct, LINE_PAD } from "../../src/shm/struct.js";
import { slotOf, type Handle } from "../../src/shm/table.js";
import { COVER, imageTables } from "../../src/sched/spec.js";

const REC = defineStruct("sharing_rec", { a: 1, b: 1 });
const NEVER = Number.MAX_SAFE_INTEGER;

describe("the run control's layout", () => {
  const img = Image.create([{ decl: RTCTL, capacity: 1 }, { decl: REC, capacity: 4 }, { decl: RTCOUNT, capacity: 1 }]);
  const w = runControlWords(img);
  const counters = [w.rt_runnable, w.rt_timed, w.rt_live, w.rt_nextcpu];
  const image = img.i32.length;

  it("the counters every cpu writes are LINE_PAD words from every other word of the image", () => {
    const rt = img.table(RTCOUNT);
    const first = Math.min(...counters);
    const last = Math.max(...counters);
    expect(last - first).toBeLessThan(4); // one line between them
    expect(first - (rt.base - 2)).toBeGreaterThanOrEqual(LINE_PAD); // the table's control words and header, and whatever is before
    expect(image - 1 - last).toBeGreaterThanOrEqual(LINE_PAD);
    for (const read of [w.rt_stop, w.rt_drain, w.rt_baton]) expect(Math.abs(first - read)).toBeGreaterThanOrEqual(LINE_PAD);
  });

  it("the run control keeps its size and rt_baton its word, and the counters come after the kernel's tables", () => {
    const rt = img.table(RTCTL);
    expect(rt.layout.stride).toBe(135);
    expect(w.rt_baton - rt.recordBase(0)).toBe(32);
    const spec = imageTables({ cpus: 2, maxThreads: 8, tables: [{ decl: REC, capacity: 4 }], strategy: { name: "free", seed: 1, chaos: 0 } } as never).map((s) => s.decl.name);
    expect(spec.slice(-2)).toEqual([COVER.name, RTCOUNT.name]);
    expect(spec.indexOf(REC.name)).toBeLessThan(spec.indexOf(COVER.name));
  });
});

describe("allocation apart (free mode)", () => {
  installPoint(() => NEVER, NEVER);
  const sab = Image.create([{ decl: REC, capacity: 8 }]).sab;
  /** The image as cpu `cpu` of 2 attaches it, allocating apart. */
  const cpuTable = (cpu: number) => {
    const t = Image.attach(sab, [{ decl: REC, capacity: 8 }]).table(REC);
    t.allocateApart(cpu, 2);
    return t;
  };

  it("each cpu allocates consecutive slots from its own share of the table, and a full table still says so", () => {
    const [t0, t1] = [cpuTable(0), cpuTable(1)];
    const got0: Handle[] = [t0.alloc(), t0.alloc()];
    const got1: Handle[] = [t1.alloc(), t1.alloc()];
    expect(got0.map(slotOf)).toEqual([0, 1]);
    expect(got1.map(slotOf)).toEqual([4, 5]);
    const rest = [t0.alloc(), t1.alloc(), t0.alloc(), t1.alloc()];
    expect(new Set([...got0, ...got1, ...rest].map(slotOf)).size).toBe(8); // no slot handed out twice
    expect(t0.alloc()).toBe(0);
    expect(t1.alloc()).toBe(0);
    t1.free(got0[1], "test");
    expect(slotOf(t0.alloc())).toBe(1); // a freed slot is found again by the other cpu's rotor
    expect(t0.inUse()).toBe(8);
  });

  it("without it (controlled modes, the orchestrator) the table's one rotor hands out slots in turn, as before", () => {
    const t = Image.create([{ decl: REC, capacity: 8 }]).table(REC);
    expect([t.alloc(), t.alloc(), t.alloc()].map(slotOf)).toEqual([0, 1, 2]);
  });
});
