/*
 * The kind an observed accessor passes with each access (src/shm/table.ts fieldKind, a constant
 * per field in the generated view) stands in for the detector's per-word flags on the access
 * path (src/detect/detector.ts access): for every one-word field of both kernels' images it must
 * carry the same racy, marked-racy and unlocked bits as the flags the detector keeps for that
 * word, and the handle bit wherever the flags have it (the detector looks a handle field's
 * target up in its flags, since it depends on the image's tables).
 */
import { describe, expect, it } from "vitest";
import { Detector } from "../../src/detect/detector.js";
import { shadowSize } from "../../src/detect/index.js";
import { Shadow } from "../../src/detect/shadow.js";
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import { netbsd } from "../../src/kern/netbsd/model.js";
import type { KernelModel } from "../../src/kern/kernel.js";
import { THREAD } from "../../src/shm/core.js";
import { Image } from "../../src/shm/image.js";
import { FIELD_HANDLE, FIELD_MARKED, FIELD_RACY, FIELD_UNLOCKED } from "../../src/shm/table.js";

const STATIC = FIELD_RACY | FIELD_UNLOCKED | FIELD_MARKED;

function kindsAgainstFlags(model: KernelModel) {
  const img = Image.create([{ decl: THREAD, capacity: 4 }, ...model.tables(model.defaultLimits())]);
  const size = shadowSize(img.i32.length, 4);
  const det = new Detector(img, new Shadow(Shadow.create(size), size, false), { race: true, stale: true, sample: 1, siteAddrs: new Set(), cpu: 0 }, () => null);
  const flags = (det as unknown as { flags: Uint8Array }).flags;
  let passed = -1;
  const bits = { racy: 0, unlocked: 0, marked: 0, handle: 0, fields: 0 };
  for (const t of img.allTables()) {
    if (t.capacity === 0) continue;
    t.observe({ access: (_addr, _write, _base, kind) => void (passed = kind), freed: () => {} });
    const v = t.view(t.alloc()) as unknown as Record<string, number>;
    for (const f of t.layout.names) {
      if (t.decl.fields[f] !== 1) continue;
      passed = -1;
      void v[f];
      const addr = t.recordBase(0) + t.layout.offsets[f];
      const where = `${t.name}.${f}`;
      expect(passed, where).not.toBe(-1);
      expect({ where, kind: passed & STATIC }).toEqual({ where, kind: flags[addr] & STATIC });
      if (flags[addr] & FIELD_HANDLE) expect(passed & FIELD_HANDLE, where).toBe(FIELD_HANDLE);
      bits.fields++;
      if (passed & FIELD_RACY) bits.racy++;
      if (passed & FIELD_UNLOCKED) bits.unlocked++;
      if (passed & FIELD_MARKED) bits.marked++;
      if (flags[addr] & FIELD_HANDLE) bits.handle++;
    }
  }
  return bits;
}

describe("the field kind an observed accessor passes", () => {
  it("carries the detector's flags for every field of DragonFly's image", () => {
    const bits = kindsAgainstFlags(dragonfly);
    expect(bits.fields).toBeGreaterThan(100);
    // Every kind of bit occurs, so the comparison above is not a vacuous one.
    expect(bits.racy).toBeGreaterThan(0);
    expect(bits.unlocked).toBeGreaterThan(0);
    expect(bits.handle).toBeGreaterThan(0);
  });

  it("carries the detector's flags for every field of NetBSD's image", () => {
    const bits = kindsAgainstFlags(netbsd);
    expect(bits.fields).toBeGreaterThan(100);
    expect(bits.racy + bits.marked).toBeGreaterThan(0);
    expect(bits.handle).toBeGreaterThan(0);
  });
});
