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
