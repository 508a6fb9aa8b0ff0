/*
 * G() and proc_lock() keep the globals record's view and proc_lock's address per image (a pooled
 * worker runs image after image): each image must get its own.
 */
import { describe, expect, it } from "vitest";
import { RTCOUNT, RTCTL } from "../../src/shm/core.js";
import { Image } from "../../src/shm/image.js";
import { installSync, type SchedServices } from "../../src/sync/seam.js";
import { G, GLOBALS, proc_lock, SIGACTS } from "../../src/kern/netbsd/structs.js";

const services = {} as SchedServices; // G() and proc_lock() call none of them

/** An image with the globals record allocated, `before` records of another table laid out ahead of it. */
function imageWith(before: number): Image {
  const img = Image.create([{ decl: RTCTL, capacity: 1 }, { decl: RTCOUNT, capacity: 1 }, ...(before ? [{ decl: SIGACTS, capacity: before }] : []), { decl: GLOBALS, capacity: 1 }]);
  img.table(GLOBALS).alloc();
  return img;
}

describe("the NetBSD globals record, kept per image", () => {
  it("G() and proc_lock() follow the installed image", () => {
    const a = imageWith(0);
    const b = imageWith(3);
    installSync(a, services);
    const atA = proc_lock();
    expect(atA).toBe(a.table(GLOBALS).recordBase(0) + a.table(GLOBALS).layout.offsets.proc_lock);
    G().nprocs = 7;
    installSync(b, services);
    expect(proc_lock()).toBe(b.table(GLOBALS).recordBase(0) + b.table(GLOBALS).layout.offsets.proc_lock);
    expect(proc_lock()).not.toBe(atA);
    expect(G().nprocs).toBe(0); // b's record, not a's
    G().nprocs = 9;
    installSync(a, services);
    expect(G().nprocs).toBe(7);
    expect(proc_lock()).toBe(atA);
  });
});
