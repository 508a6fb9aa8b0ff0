/*
 * May-block points: where a kernel function can sleep with no wait channel of its own -- an
 * M_WAITOK allocation when memory is short (kmalloc, pool_get), a vnode lock in closef, the map
 * lock in vm_fork. In DragonFly every such sleep is an lwkt_switch, which releases all of the
 * thread's LWKT tokens and takes them back before the thread runs on (lwkt_relalltokens /
 * lwkt_getalltokens, NOTES A1): whatever a token guarded may have changed across the call, and
 * the caller must re-check it. A model whose allocations never block would make those windows
 * impossible, so each one is a real switch point:
 *  - free mode: when chaos fires at the point, the thread switches out for real -- its tokens are
 *    released, the strategy stalls this cpu inside the window, the cpu's other threads run, and
 *    the tokens are re-taken before the thread goes on;
 *  - controlled modes: every point fires (the baton's countdown is 1), so the strategy takes a
 *    sleep-kind decision with the tokens released and may run any other cpu in the window;
 *  - scripts: a call may be told to really sleep at a named point ("blockAt") until a later step
 *    lets it go -- the lab below -- so a test can change the state inside one chosen window.
 * Locks that are held across a sleep in the kernel (lockmgr, NetBSD mutexes) stay held.
 */
import { blockPoint } from "../shm/hooks.js";
import type { Image } from "../shm/image.js";
import { defineStruct } from "../shm/struct.js";
import { wmesgId } from "../shm/core.js";
import type { Addr, Handle } from "../shm/table.js";
import { curthread, DONE, image, mem, SWITCH_YIELD, type KGen } from "./seam.js";
import { syncObs } from "./observe.js";
import { PINTERLOCKED, tsleep, tsleep_interlock, wakeup } from "./sleep.js";
import { lwkt_relalltokens } from "./token.js";
import { words } from "../shm/words.js";

/** Calls that can be held at a may-block point at once. */
export const LAB_SLOTS = 8;

/**
 * One record. The blockAt lab: lab_armed counts armed slots (0: the fast path skips the lab);
 * slot i is lab_td[i] the thread to hold, lab_site[i] the point's wmesgId, lab_state[i] LAB_*;
 * the orchestrator arms and releases, the held thread moves ARMED -> HELD -> FREE.
 * kmem_waiters: threads asleep in a full zone (kmem.ts); frees wake the zone only when nonzero.
 */
export const MAYBLOCK = defineStruct("mayblock", { lab_armed: 1, lab_td: LAB_SLOTS, lab_site: LAB_SLOTS, lab_state: LAB_SLOTS, kmem_waiters: 1 });
/** The table every kernel model adds to its image (may-block points and zone waits need it). */
export const MAYBLOCK_TABLE = { decl: MAYBLOCK, capacity: 1 } as const;

const LAB_FREE = 0;
const LAB_ARMED = 1;
const LAB_HELD = 2;
const LAB_RELEASED = 3;

export interface LabWords {
  armed: Addr;
  td: Addr;
  site: Addr;
  state: Addr;
  kmemWaiters: Addr;
}

function labWords(img: Image): LabWords | null {
  if (!img.hasTable(MAYBLOCK.name)) return null;
  const t = img.table(MAYBLOCK);
  const base = t.recordBase(0);
  const o = t.layout.offsets;
  return { armed: base + o.lab_armed, td: base + o.lab_td, site: base + o.lab_site, state: base + o.lab_state, kmemWaiters: base + o.kmem_waiters };
}

/** This cpu's view of the lab, resolved once per image (a pooled worker runs many machines). */
let labImage: Image | null = null;
let lab: LabWords | null = null;

export function myLab(): LabWords | null {
  if (labImage !== image) {
    labImage = image;
    lab = labWords(image);
  }
  return lab;
}

/** The switch-out a kernel sleep makes: every token goes (the scheduler takes them back). */
function releaseTokens(): void {
  lwkt_relalltokens(curthread());
}

/**
 * A may-block point named `site` (the kernel function that may sleep, or `kmalloc:<type>`). Use
 * as `yield* mayblock("fdcopy")` where the C calls something that can sleep. When it does not
 * switch it returns no generator (seam.ts, DONE).
 */
export function mayblock(site: string): KGen {
  if (syncObs !== null) syncObs.mayBlock();
  const l = myLab();
  if (l !== null && words.load(mem, l.armed) !== 0) {
    const slot = heldHere(l, site);
    if (slot >= 0) return labHold(l, slot, site);
  }
  return blockPoint(releaseTokens) ? switchOut() : DONE;
}

function* switchOut(): KGen {
  yield SWITCH_YIELD;
}

/** The armed slot for this thread at this site, claimed (ARMED -> HELD); -1 when none. */
function heldHere(l: LabWords, site: string): number {
  const td = curthread().h;
  const id = wmesgId(site);
  for (let i = 0; i < LAB_SLOTS; i++) {
    if (Atomics.load(mem, l.td + i) !== td || Atomics.load(mem, l.site + i) !== id) continue;
    if (Atomics.compareExchange(mem, l.state + i, LAB_ARMED, LAB_HELD) === LAB_ARMED) return i;
  }
  return -1;
}

/** Sleep (tokens released) until the orchestrator releases the slot, then free it. */
function* labHold(l: LabWords, slot: number, site: string): KGen {
  const w = l.state + slot;
  for (;;) {
    tsleep_interlock(w, 0); // before the test: a release in between still wakes us
    if (Atomics.load(mem, w) === LAB_RELEASED) break;
    yield* tsleep(w, PINTERLOCKED, site, 0);
  }
  Atomics.store(mem, l.td + slot, 0);
  Atomics.store(mem, l.state + slot, LAB_FREE);
  Atomics.sub(mem, l.armed, 1);
}

// ---------------------------------------------------------------- the orchestrator's side

/** Arm: thread td's next pass through `site` sleeps there until labRelease. The slot, or -1 when all are in use. */
export function labArm(img: Image, td: Handle, site: string): number {
  const l = labWords(img);
  if (l === null) return -1;
  for (let i = 0; i < LAB_SLOTS; i++) {
    if (Atomics.load(img.i32, l.state + i) !== LAB_FREE) continue;
    Atomics.store(img.i32, l.td + i, td);
    Atomics.store(img.i32, l.site + i, wmesgId(site));
    Atomics.store(img.i32, l.state + i, LAB_ARMED);
    Atomics.add(img.i32, l.armed, 1);
    return i;
  }
  return -1;
}

/** Is the slot's thread asleep at its point? */
export function labHeld(img: Image, slot: number): boolean {
  const l = labWords(img);
  return l !== null && Atomics.load(img.i32, l.state + slot) === LAB_HELD;
}

/** Let the slot's thread go on (or disarm a slot whose thread never reached the point). */
export function labRelease(img: Image, slot: number): void {
  const l = labWords(img);
  if (l === null) return;
  if (Atomics.compareExchange(img.i32, l.state + slot, LAB_ARMED, LAB_FREE) === LAB_ARMED) {
    Atomics.store(img.i32, l.td + slot, 0);
    Atomics.sub(img.i32, l.armed, 1);
    return;
  }
  if (Atomics.compareExchange(img.i32, l.state + slot, LAB_HELD, LAB_RELEASED) === LAB_HELD) wakeup(l.state + slot);
}
