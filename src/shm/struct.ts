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

/**
 * Words of padding that keep two hot words of the image off each other's cache line and its
 * prefetched neighbour: 128 bytes (two 64-byte lines), counted from anywhere in a 16-byte-aligned
 * buffer.
 */
export const LINE_PAD = 32;

export type FieldWidths = Readonly<Record<string, number>>;

/**
 * What the field-level detectors (src/detect) must know of a structure's fields beyond their
 * widths, declared beside the fields by the kernel model.
 */
export interface FieldNotes<F extends FieldWidths = FieldWidths> {
  /**
   * Fields the kernel reads on purpose without the lock that orders their writes (KCSAN's
   * data_race()), each with the kernel's reason: the race detector neither checks nor records
   * those reads. Writes are always checked.
   */
  readonly racy?: Partial<Record<keyof F & string, string>>;
  /**
   * Fields the kernel reads without the lock that orders their writes at a few reads only, each
   * marked in the code with data_race() (src/sync/observe.ts, KCSAN's marking of the access, not
   * of the field), each with the kernel's reason: the marked reads are excused as `racy` ones
   * are; every other read is checked, so a write made without its lock races the reads that
   * take it.
   */
  readonly markedRacy?: Partial<Record<keyof F & string, string>>;
  /**
   * Fields the kernel reads and writes without any lock on purpose (statistics, rate limits),
   * each with the kernel's reason: their lost updates are accepted, so no plain access to them
   * is checked.
   */
  readonly unlocked?: Partial<Record<keyof F & string, string>>;
  /**
   * Handles to records of the named table, guarded by a lock that blocking gives up (an LWKT
   * token; NetBSD's proc_lock across cv_wait): a handle loaded from one must be loaded again, or
   * held, before it is used once its loader has given up every such lock it held at the load.
   */
  readonly recheck?: Partial<Record<keyof F & string, string>>;
  /**
   * Other fields holding handles into the named table (not token-guarded, or stable): a handle
   * read from one is a fresh load of it, as good as a re-check.
   */
  readonly handles?: Partial<Record<keyof F & string, string>>;
  /**
   * Words the kernel changes only with atomics once others can reach the record (counts kept with
   * atomic_add_int / atomic_fetchadd_int, flag words set and cleared with atomic_set_int /
   * atomic_clear_int), each with the kernel's reason: a plain store to one after an atomic or
   * another thread's write loses their update, and a plain read-modify-write of one is never the
   * kernel's (it initialises them with a store) -- plain-count-write. The refcount and hold
   * primitives say so of their own counts at their first use; these are the words the generic
   * atomics keep, which no primitive names.
   */
  readonly atomics?: Partial<Record<keyof F & string, string>>;
}

export interface StructDecl<F extends FieldWidths = FieldWidths> {
  readonly name: string;
  readonly fields: F;
  readonly notes: FieldNotes<F>;
  /** Unique per declaration in this thread: the image finds a table by it (Image.table) with no hashing. */
  readonly id: number;
}

let declarations = 0;

export function defineStruct<const F extends FieldWidths>(name: string, fields: F, notes: FieldNotes<F> = {}): StructDecl<F> {
  for (const [field, width] of Object.entries(fields)) {
    if (!Number.isInteger(width) || width < 1) throw new Error(`struct ${name}: field ${field} has width ${width}`);
  }
  for (const field of [notes.racy, notes.markedRacy, notes.unlocked, notes.recheck, notes.handles, notes.atomics].flatMap((n) => Object.keys(n ?? {}))) {
    if (fields[field] !== 1) throw new Error(`struct ${name}: note on ${field}, which is not a one-word field`);
  }
  return { name, fields, notes, id: declarations++ };
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
