/*
 * Reading the image as a law must: plain loads of a record's words, with no scheduling point and
 * nothing the field-level detectors see (a view's accessors are both). Laws that run inside a
 * cpu while the kernel runs (in-line laws, the sleep laws at a controlled run's quiet points) read
 * through these, so a run takes the same schedule with the laws as without them.
 */
import { NULL, slotOf, type Handle, type Table } from "../shm/table.js";

/** A one-word field of record h, as it is in the image (h must be valid). */
export function peek(t: Table, h: Handle, field: string): number {
  return t.i32[t.recordBase(slotOf(h)) + t.layout.offsets[field]];
}

/** The address of a field of record h (h must be valid): what a wait channel or a lock word is. */
export function addrOf(t: Table, h: Handle, field?: string): number {
  const b = t.recordBase(slotOf(h));
  return field === undefined ? b : b + t.layout.offsets[field];
}

/** The records of a list (head, then `next` in each) while they are valid, at most the table's capacity of them. */
export function* listOf(t: Table, head: Handle, next: string): Generator<Handle> {
  for (let h = head, n = 0; h !== NULL && t.valid(h) && n < t.capacity; h = peek(t, h, next), n++) yield h;
}

/**
 * How many records of a list, walked as listOf walks it, have `field` equal to `value`. A plain
 * loop with the offsets looked up once, each record's liveness read with plain loads (the list's
 * lock is held, as for the rest of its words): a law on the fork path, where the pid-duplicate
 * law walks the chain the fork just searched (~234 records at 60,000 processes).
 */
export function countOnList(t: Table, head: Handle, next: string, field: string, value: number): number {
  const { i32, capacity } = t;
  const nextAt = t.layout.offsets[next], fieldAt = t.layout.offsets[field];
  let n = 0;
  for (let h = head, k = 0; h !== NULL && k < capacity; k++) {
    const b = t.liveBase(h);
    if (b < 0) break;
    if (i32[b + fieldAt] === value) n++;
    h = i32[b + nextAt];
  }
  return n;
}
