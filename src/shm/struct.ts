/*
 * Struct declarations: a kernel structure is declared once, as its fields in order with their
 * width in 32-bit words, using the kernel's own field names (`p_flags`, `lwp_tid`, `refs`).
 * Everything else -- record size, field offsets, the typed views kernel code reads and writes
 * through -- is derived from the declaration, so the model can be held next to the C.
 *
 * Locks embedded in a structure take their width from these constants; kernel code passes
 * `&p->p_token` as `p.ptr("p_token")`.
 */

/** An LWKT token: t_count, t_ref (owning thread handle). */
export const TOKEN = 2;
/** A lockmgr lock: lk_count, lk_lockholder. */
export const LOCKMGR = 2;
/** A spin lock: counta, holder. */
export const SPINLOCK = 2;
/** A NetBSD kmutex: owner (thread handle or 0), waiters. */
export const KMUTEX = 2;
/** A NetBSD condvar: generation (bumped by signal/broadcast), waiter count. */
export const CONDVAR = 2;

export type FieldWidths = Readonly<Record<string, number>>;

export interface StructDecl<F extends FieldWidths = FieldWidths> {
  readonly name: string;
  readonly fields: F;
  /** Unique per declaration in this thread: the image finds a table by it (Image.table) with no hashing. */
  readonly id: number;
}

let declarations = 0;

export function defineStruct<const F extends FieldWidths>(name: string, fields: F): StructDecl<F> {
  for (const [field, width] of Object.entries(fields)) {
    if (!Number.isInteger(width) || width < 1) throw new Error(`struct ${name}: field ${field} has width ${width}`);
  }
  return { name, fields, id: declarations++ };
}

/** Words every record starts with, before its fields (see table.ts). */
export const HDR_GEN = 0;
export const HDR_STATE = 1;
export const HDR_FREED_SITE = 2;
export const HDR_FREED_BY = 3;
export const HDR_WORDS = 4;

export interface FieldLayout {
  readonly offsets: Readonly<Record<string, number>>;
  readonly names: readonly string[];
  readonly stride: number;
}

export function layoutOf(decl: StructDecl): FieldLayout {
  const offsets: Record<string, number> = {};
  let at = HDR_WORDS;
  for (const [field, width] of Object.entries(decl.fields)) {
    offsets[field] = at;
    at += width;
  }
  return { offsets, names: Object.keys(decl.fields), stride: at };
}
