/*
 * Fixed-capacity tables of records in the image, the model's kmalloc zones.
 *
 * A reference between records is a handle: generation (15 bits) << 16 | (slot + 1); 0 is NULL.
 * Freeing a record bumps its generation and poisons its words, so a dereference through a stale
 * handle is caught and reported as a use-after-free naming the table, the slot and who freed it
 * (the model's KASAN). Allocation claims a slot with one compare-and-swap on its state word, so
 * no slot is ever handed to two owners; an exhausted table returns NULL, which the caller turns
 * into ENOMEM or EAGAIN as the kernel does.
 */
import { HDR_FREED_BY, HDR_FREED_SITE, HDR_GEN, HDR_STATE, type FieldLayout, type FieldWidths, type StructDecl } from "./struct.js";
import { point, violation, KernelPanic } from "./hooks.js";

/** A word index into the image: the model's kernel address (`&p->p_token`). */
export type Addr = number;
/** slot+1 in the low 16 bits, generation in bits 16..30; 0 is NULL. */
export type Handle = number;

export const NULL: Handle = 0;
export const POISON = 0xdeadbeef | 0;

const ST_FREE = 0;
const ST_USED = 1;
const ST_FREEING = 2;
const GEN_MASK = 0x7fff;
/** Table control words, before the records: allocation rotor and records in use. */
export const TABLE_CTRL_WORDS = 2;

export const slotOf = (h: Handle): number => (h & 0xffff) - 1;
export const genOf = (h: Handle): number => (h >>> 16) & GEN_MASK;

/** Who freed a record: set by the runtime of each CPU (cpu << 16 | thread slot + 1). */
let freedBy: () => number = () => 0;
export function installFreedBy(f: () => number): void {
  freedBy = f;
}

/** Free-site names: a hash is stored in the record, the text is kept per CPU. */
const siteNames = new Map<number, string>();
function siteId(site: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < site.length; i++) h = Math.imul(h ^ site.charCodeAt(i), 0x01000193);
  siteNames.set(h | 0, site);
  return h | 0;
}

export type View<F extends FieldWidths> = { -readonly [K in keyof F]: number } & {
  /** The handle this view was made from. */
  readonly h: Handle;
  /** `&rec->field` (or the record itself): an address for locks, atomics and wait channels. */
  ptr(field?: keyof F & string): Addr;
};

export class Table<F extends FieldWidths = FieldWidths> {
  readonly name: string;
  /** Word index of the first record (control words sit just before it). */
  readonly base: number;
  readonly end: number;
  readonly View: new (h: Handle) => View<F>;

  constructor(
    readonly i32: Int32Array,
    readonly decl: StructDecl<F>,
    readonly layout: FieldLayout,
    readonly capacity: number,
    ctrl: number,
  ) {
    if (capacity < 1 || capacity > 0xfffe) throw new Error(`table ${decl.name}: capacity ${capacity} out of range`);
    this.name = decl.name;
    this.ctrl = ctrl;
    this.base = ctrl + TABLE_CTRL_WORDS;
    this.end = this.base + capacity * layout.stride;
    this.View = this.makeViewClass();
  }

  private readonly ctrl: number;

  /** Words this table needs in the image. */
  static words(layout: FieldLayout, capacity: number): number {
    return TABLE_CTRL_WORDS + capacity * layout.stride;
  }

  /** Fresh image: every record free at generation 1. */
  initialize(): void {
    const { i32, layout } = this;
    for (let s = 0; s < this.capacity; s++) {
      const b = this.base + s * layout.stride;
      i32[b + HDR_GEN] = 1;
      i32[b + HDR_STATE] = ST_FREE;
    }
  }

  recordBase(slot: number): number {
    return this.base + slot * this.layout.stride;
  }

  /** Records currently allocated. */
  inUse(): number {
    return Atomics.load(this.i32, this.ctrl + 1);
  }

  /** kmalloc: claim a free slot, zero it, return its handle; NULL when the table is full. */
  alloc(): Handle {
    const { i32, capacity } = this;
    const start = (Atomics.add(i32, this.ctrl, 1) >>> 0) % capacity;
    for (let i = 0; i < capacity; i++) {
      const slot = (start + i) % capacity;
      const b = this.recordBase(slot);
      point();
      if (Atomics.compareExchange(i32, b + HDR_STATE, ST_FREE, ST_USED) === ST_FREE) {
        i32.fill(0, b + HDR_STATE + 1, b + this.layout.stride);
        Atomics.add(i32, this.ctrl + 1, 1);
        return ((Atomics.load(i32, b + HDR_GEN) & GEN_MASK) << 16) | (slot + 1);
      }
    }
    return NULL;
  }

  /** kfree: poison the record and bump its generation; a double free is reported. */
  free(h: Handle, site: string): void {
    const b = this.checked(h, "free");
    if (Atomics.compareExchange(this.i32, b + HDR_STATE, ST_USED, ST_FREEING) !== ST_USED) {
      violation("double-free", `${this.name}[${slotOf(h)}] freed twice (second free at ${site})`);
      return;
    }
    this.i32.fill(POISON, b + HDR_FREED_BY + 1, b + this.layout.stride);
    this.i32[b + HDR_FREED_SITE] = siteId(site);
    this.i32[b + HDR_FREED_BY] = freedBy();
    Atomics.store(this.i32, b + HDR_GEN, ((this.i32[b + HDR_GEN] + 1) & GEN_MASK) || 1);
    Atomics.sub(this.i32, this.ctrl + 1, 1);
    Atomics.store(this.i32, b + HDR_STATE, ST_FREE);
  }

  /** True while h names a live record (no report when it does not). */
  valid(h: Handle): boolean {
    const slot = slotOf(h);
    if (h === NULL || slot < 0 || slot >= this.capacity) return false;
    const b = this.recordBase(slot);
    return Atomics.load(this.i32, b + HDR_STATE) === ST_USED && (Atomics.load(this.i32, b + HDR_GEN) & GEN_MASK) === genOf(h);
  }

  /** Handle of the live record in a slot, or NULL (for audits walking a table). */
  handleAt(slot: number): Handle {
    const b = this.recordBase(slot);
    if (Atomics.load(this.i32, b + HDR_STATE) !== ST_USED) return NULL;
    return ((Atomics.load(this.i32, b + HDR_GEN) & GEN_MASK) << 16) | (slot + 1);
  }

  /**
   * The record's base word, after checking the handle; a stale one is a use-after-free. Plain
   * loads, as the field accessors make: an aligned 32-bit word is never torn, and this check sits
   * on every dereference (view creation), so it must cost no more than a field read.
   */
  checked(h: Handle, what: string): number {
    const slot = (h & 0xffff) - 1;
    if (slot >= 0 && slot < this.capacity) {
      const b = this.base + slot * this.layout.stride;
      if (this.i32[b + HDR_STATE] === ST_USED && (this.i32[b + HDR_GEN] & GEN_MASK) === ((h >>> 16) & GEN_MASK)) return b;
    }
    throw this.stale(h, what);
  }

  view(h: Handle): View<F> {
    return new this.View(h);
  }

  /** Report a dereference through a handle that no longer names a live record. */
  stale(h: Handle, what: string): KernelPanic {
    const slot = slotOf(h);
    if (h === NULL) {
      violation("null-deref", `NULL ${this.name} pointer dereferenced (${what})`);
      return new KernelPanic("null-deref", `NULL ${this.name} (${what})`);
    }
    const b = this.recordBase(slot);
    const by = this.i32[b + HDR_FREED_BY];
    const site = siteNames.get(this.i32[b + HDR_FREED_SITE]) ?? "an unknown site";
    const msg = `use-after-free: ${this.name}[${slot}] generation ${genOf(h)} (now ${this.i32[b + HDR_GEN] & GEN_MASK}), ${what}; freed at ${site} by cpu ${by >>> 16} thread ${(by & 0xffff) - 1}`;
    violation("use-after-free", msg);
    return new KernelPanic("use-after-free", msg);
  }

  private makeViewClass(): new (h: Handle) => View<F> {
    // The view checks the generation on every access: a view can outlive the record it names.
    const table = this;
    const i32 = this.i32;
    class RecordView {
      readonly h: Handle;
      readonly b: number;
      readonly g: number;
      constructor(h: Handle) {
        this.h = h;
        this.b = table.checked(h, "deref");
        this.g = genOf(h);
      }
      ptr(field?: string): Addr {
        this.live(field ?? "&");
        return field === undefined ? this.b : this.b + table.layout.offsets[field];
      }
      live(field: string): void {
        if ((i32[this.b + HDR_GEN] & GEN_MASK) !== this.g || i32[this.b + HDR_STATE] !== ST_USED) throw table.stale(this.h, field);
      }
    }
    for (const field of this.layout.names) {
      if (this.decl.fields[field] !== 1) continue;
      const off = this.layout.offsets[field];
      Object.defineProperty(RecordView.prototype, field, {
        get(this: RecordView) {
          this.live(field);
          point();
          return i32[this.b + off];
        },
        set(this: RecordView, v: number) {
          this.live(field);
          point();
          i32[this.b + off] = v;
        },
      });
    }
    return RecordView as unknown as new (h: Handle) => View<F>;
  }
}
