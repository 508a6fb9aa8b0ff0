/*
 * Fixed-capacity tables of records in the image, the model's kmalloc zones.
 *
 * A reference between records is a handle: generation (15 bits) << 16 | (slot + 1); 0 is NULL.
 * Freeing a record bumps its generation and poisons its words, so a dereference through a stale
 * handle is caught and reported as a use-after-free naming the table, the slot and who freed it
 * (the model's KASAN). Allocation claims a slot with one compare-and-swap on its state word, so
 * no slot is ever handed to two owners; an exhausted table returns NULL, which the caller turns
 * into ENOMEM or EAGAIN as the kernel does.
 *
 * Each table keeps an in-use bitmap beside its records (see InUseBitmap): allocation finds the
 * next free slot from its rotor without touching the slots in use, and walks visit only the
 * records in use. Its cost no longer grows with how full the table is, as pool_get's free list
 * does not.
 */
import { HDR_FREED_BY, HDR_FREED_SITE, HDR_GEN, HDR_STATE, HDR_WORDS, type FieldLayout, type FieldWidths, type StructDecl } from "./struct.js";
import { passPoints, point, violation, KernelPanic } from "./hooks.js";
import { words } from "./words.js";

/** A word index into the image: the model's kernel address (`&p->p_token`). */
export type Addr = number;
/** slot+1 in the low 16 bits, generation in bits 16..30; 0 is NULL. */
export type Handle = number;

export const NULL: Handle = 0;
export const POISON = 0xdeadbeef | 0;

const ST_FREE = 0;
/** HDR_STATE of a record in use (the detectors check a late report's record is still the one it was made on). */
export const ST_USED = 1;
const ST_FREEING = 2;
export const GEN_MASK = 0x7fff;
/** Table control words, before the records: allocation rotor and records in use. */
export const TABLE_CTRL_WORDS = 2;

/**
 * A field's kind, as its struct's notes (FieldNotes) declare it, passed by the observed accessors
 * with each access (FieldObserver.access): reads racy on purpose (`racy`), every plain access
 * (`unlocked`), a handle field (`recheck` or `handles`: the detector checks its target table is
 * in the image), reads racy where marked (`markedRacy`).
 */
export const FIELD_RACY = 0x1;
export const FIELD_UNLOCKED = 0x2;
export const FIELD_HANDLE = 0x4;
export const FIELD_MARKED = 0x40;

export const slotOf = (h: Handle): number => (h & 0xffff) - 1;
export const genOf = (h: Handle): number => (h >>> 16) & GEN_MASK;

/**
 * Who frees the record at `base` (cpu << 16 | thread slot + 1): set by the runtime of each CPU,
 * which also notes the free in its trace.
 */
let freedBy: (base: number) => number = () => 0;
export function installFreedBy(f: (base: number) => number): void {
  freedBy = f;
}

/** Free-site names: a hash is stored in the record, the text is kept per CPU. */
const siteNames = new Map<number, string>();
/** The hash of each site named so far: every free names its site, and a lookup beats hashing it again. */
const siteIds = new Map<string, number>();
function siteId(site: string): number {
  const known = siteIds.get(site);
  if (known !== undefined) return known;
  let h = 0x811c9dc5;
  for (let i = 0; i < site.length; i++) h = Math.imul(h ^ site.charCodeAt(i), 0x01000193);
  siteNames.set(h | 0, site);
  siteIds.set(site, h | 0);
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
  /** By word offset in a record: the index in layout.names of the field starting there, or -1. */
  private readonly fieldIndex: Int32Array;
  /** Lock class names by word offset, made on first use (lockstat and witness ask at every lock). */
  private readonly classes: (string | undefined)[] = [];
  /** The view class in use (plain, or observed: see observe()). */
  private View: ViewClass;

  /** Which slots are not free (alloc and free keep it; the state words stay the authority). */
  private readonly used: InUseBitmap;

  constructor(
    readonly i32: Int32Array,
    readonly decl: StructDecl<F>,
    readonly layout: FieldLayout,
    readonly capacity: number,
    ctrl: number,
    bitmapAt: number,
  ) {
    if (capacity < 1 || capacity > 0xfffe) throw new Error(`table ${decl.name}: capacity ${capacity} out of range`);
    for (const f of VIEW_MEMBERS) if (Object.hasOwn(decl.fields, f)) throw new Error(`table ${decl.name}: a field may not be named ${f} (a view member)`);
    this.name = decl.name;
    this.ctrl = ctrl;
    this.base = ctrl + TABLE_CTRL_WORDS;
    this.end = this.base + capacity * layout.stride;
    this.fieldIndex = new Int32Array(layout.stride).fill(-1);
    layout.names.forEach((f, i) => (this.fieldIndex[layout.offsets[f]] = i));
    this.View = this.viewClass(false);
    this.view = viewMaker(this.View);
    this.used = new InUseBitmap(i32, bitmapAt, capacity);
  }

  /** The field that starts at a word offset of a record, or "&" (a header or inner word). */
  fieldAt(off: number): string {
    const i = this.fieldIndex[off];
    return i >= 0 ? this.layout.names[i] : "&";
  }

  /** The lock class of an address at a word offset (`proc.p_token`). */
  classAt(off: number): string {
    return (this.classes[off] ??= `${this.name}.${this.fieldAt(off)}`);
  }

  /**
   * Report every field access through this table's views, and every free before the record is
   * poisoned, to `observer` (null: stop). Views made before the switch keep their class, so
   * switch before the run starts.
   */
  observe(observer: FieldObserver | null): void {
    this.observer = observer;
    this.View = this.viewClass(observer !== null);
    this.view = viewMaker(this.View);
  }

  /** The observer the observed views call (read by the generated accessors: see viewClass). */
  observer: FieldObserver | null = null;

  /** A check every free of this table's records makes first (null: none). */
  private freeGuard: FreeGuard | null = null;

  /**
   * Run `guard` at each free, before the record is poisoned: a record that something of the
   * runtime still links to (a thread on a sleep queue) throws there, where the free is made, and
   * not at the next walk that reads the poison.
   */
  guardFree(guard: FreeGuard | null): void {
    this.freeGuard = guard;
  }

  private readonly ctrl: number;

  /** Words this table needs in the image. */
  static words(layout: FieldLayout, capacity: number): number {
    return TABLE_CTRL_WORDS + capacity * layout.stride;
  }

  /** Words of the in-use bitmap of a table of `capacity` records (laid out after every table: see Image). */
  static bitmapWords(capacity: number): number {
    return InUseBitmap.words(capacity);
  }

  /** Fresh image: every record free at generation 1. */
  initialize(): void {
    const { i32, layout } = this;
    for (let s = 0; s < this.capacity; s++) {
      const b = this.base + s * layout.stride;
      i32[b + HDR_GEN] = 1;
      i32[b + HDR_STATE] = ST_FREE;
    }
    this.used.initialize();
  }

  recordBase(slot: number): number {
    return this.base + slot * this.layout.stride;
  }

  /** Records currently allocated. */
  inUse(): number {
    return words.load(this.i32, this.ctrl + 1);
  }

  /**
   * This cpu's own allocation rotor, or -1: the table's shared one (the control word). See
   * allocateApart().
   */
  private rotor = -1;

  /**
   * Free mode, where cpus run at once: this cpu allocates from a rotor of its own, started at its
   * share of the table (cpu / cpus of the way in), as the kernel's per-cpu object caches do. With
   * the one shared rotor every allocation wrote the same control word, and consecutive slots --
   * records sharing cache lines -- went to different cpus. Controlled modes keep the shared
   * rotor: the slots, hence the addresses their runs hash, stay what they were.
   */
  allocateApart(cpu: number, cpus: number): void {
    this.rotor = Math.floor((this.capacity * cpu) / cpus);
  }

  /** Where the next allocation starts looking. */
  private nextStart(): number {
    if (this.rotor < 0) return (words.add(this.i32, this.ctrl, 1) >>> 0) % this.capacity;
    const s = this.rotor;
    this.rotor = s + 1 === this.capacity ? 0 : s + 1;
    return s;
  }

  /**
   * kmalloc: claim the first free slot from the rotor on, zero it, return its handle; NULL when
   * the table is full. The slots are probed in rotor order with a scheduling point each, as
   * always; the bitmap tells which are in use, and their points are passed as a count
   * (passPoints) instead of a compare-and-swap each, so a recorded schedule replays unchanged
   * and a table 60,000 records full costs what an empty one does.
   */
  alloc(): Handle {
    const { i32, capacity } = this;
    let slot = this.nextStart();
    for (let probed = 0; probed < capacity; ) {
      const passed = passPoints(Math.min(this.used.distanceToFree(slot), capacity - probed));
      probed += passed;
      slot = (slot + passed) % capacity;
      if (probed === capacity) break;
      const b = this.recordBase(slot);
      point();
      if (words.compareExchange(i32, b + HDR_STATE, ST_FREE, ST_USED) === ST_FREE) {
        this.used.set(slot);
        i32.fill(0, b + HDR_WORDS, b + this.layout.stride);
        words.add(i32, this.ctrl + 1, 1);
        // The generation only changes at a free, by this slot's owner: now this cpu.
        return ((i32[b + HDR_GEN] & GEN_MASK) << 16) | (slot + 1);
      }
      probed++;
      slot = (slot + 1) % capacity;
    }
    return NULL;
  }

  /**
   * The first slot at or after `slot` with a record in use, or -1: the free slots are skipped a
   * word of 32 at a time. A walk that allocates nothing (the orchestrator's live-law samples walk
   * 60,000 threads); handles() is the same walk for code that can afford a generator.
   */
  nextUsed(slot: number): number {
    return this.used.nextUsed(slot);
  }

  /** The handles of the records in use, in slot order (audits and live laws). */
  *handles(): Generator<Handle> {
    for (let s = this.nextUsed(0); s >= 0; s = this.nextUsed(s + 1)) {
      const h = this.handleAt(s);
      if (h !== NULL) yield h;
    }
  }

  /** kfree: poison the record and bump its generation; a double free is reported. */
  free(h: Handle, site: string): void {
    const b = this.checked(h, "free");
    if (this.freeGuard !== null) this.freeGuard(h, b, site);
    if (words.compareExchange(this.i32, b + HDR_STATE, ST_USED, ST_FREEING) !== ST_USED) {
      violation("double-free", `${this.name}[${slotOf(h)}] freed twice (second free at ${site})`);
      return;
    }
    if (this.observer !== null) this.observer.freed(b, this.layout.stride);
    this.i32.fill(POISON, b + HDR_FREED_BY + 1, b + this.layout.stride);
    this.i32[b + HDR_FREED_SITE] = siteId(site);
    this.i32[b + HDR_FREED_BY] = freedBy(b);
    // Plain: the state's store below publishes it to the next allocator's compare-and-swap.
    this.i32[b + HDR_GEN] = ((this.i32[b + HDR_GEN] + 1) & GEN_MASK) || 1;
    words.sub(this.i32, this.ctrl + 1, 1);
    words.store(this.i32, b + HDR_STATE, ST_FREE);
    this.used.clear(slotOf(h));
  }

  /**
   * True while h names a live record (no report when it does not). Plain loads, as checked()'s
   * (an Atomics call costs tens of plain loads, and the kernel asks at every thread wakeup).
   */
  valid(h: Handle): boolean {
    return this.liveBase(h) >= 0;
  }

  /** Handle of the live record in a slot, or NULL (audits walking a table; procglob at every pid lookup). Plain loads, as checked()'s. */
  handleAt(slot: number): Handle {
    const b = this.recordBase(slot);
    if (this.i32[b + HDR_STATE] !== ST_USED) return NULL;
    return ((this.i32[b + HDR_GEN] & GEN_MASK) << 16) | (slot + 1);
  }

  /**
   * The record's base word, after checking the handle; a stale one is a use-after-free. Plain
   * loads, as the field accessors make: an aligned 32-bit word is never torn, and this check sits
   * on hot paths (a view made for a new handle, every free), so it must cost no more than a field
   * read.
   */
  checked(h: Handle, what: string): number {
    const b = this.liveBase(h);
    if (b >= 0) return b;
    throw this.stale(h, what);
  }

  /** The record's base word while h names a live record, else -1 (checked's plain loads, no report). */
  liveBase(h: Handle): number {
    const slot = (h & 0xffff) - 1;
    if (slot >= 0 && slot < this.capacity) {
      const b = this.base + slot * this.layout.stride;
      if (this.i32[b + HDR_STATE] === ST_USED && (this.i32[b + HDR_GEN] & GEN_MASK) === ((h >>> 16) & GEN_MASK)) return b;
    }
    return -1;
  }

  /**
   * The view of a live record: a new one each time, after the generation check (a stale handle is
   * reported here). A view is three words that die young, and making one costs less than finding
   * a kept one: a cache of one view per slot was an array slot and an object beside the record,
   * both cold at 60,000 processes, where a fork's pid search dereferences ~234 records (fork-hold).
   *
   * A function of the view class (viewMaker), not a method: a method's `new this.View` is one
   * construct site for every table's class, megamorphic, a generic call; `procV`'s call of its
   * table's maker sees one target, which the compiler inlines with its `new` of a known class.
   */
  view: (h: Handle) => View<F>;

  /** Report a dereference through a handle that no longer names a live record. */
  stale(h: Handle, what: string): KernelPanic {
    const slot = slotOf(h);
    if (h === NULL) {
      violation("null-deref", `NULL ${this.name} pointer dereferenced (${what})`);
      return new KernelPanic("null-deref", `NULL ${this.name} (${what})`);
    }
    const b = this.recordBase(slot);
    const now = this.i32[b + HDR_GEN] & GEN_MASK;
    const msg = `use-after-free: ${this.name}[${slot}] generation ${genOf(h)} (now ${now}), ${what}; ${this.freedAt(b, genOf(h), now)}`;
    violation("use-after-free", msg);
    return new KernelPanic("use-after-free", msg);
  }

  /**
   * Who freed generation `gen`. The header keeps the last free's site and cpu until the next
   * free (alloc does not clear them), so a use through a handle one generation old is named even
   * after the slot was reused.
   */
  private freedAt(b: number, gen: number, now: number): string {
    if (now !== ((gen + 1) & GEN_MASK || 1)) return "freed, and the slot reused, more than once since";
    const by = this.i32[b + HDR_FREED_BY];
    const site = siteNames.get(this.i32[b + HDR_FREED_SITE]) ?? "an unknown site";
    const reused = this.i32[b + HDR_STATE] === ST_USED ? " (the slot is in use again)" : "";
    return `freed at ${site} by cpu ${by >>> 16} thread ${(by & 0xffff) - 1}${reused}`;
  }

  /**
   * The record view class for this table's layout: a getter and a setter per one-word field, each
   * a scheduling point that then checks the generation -- a view can outlive its record, and the
   * record can be freed and reused by whoever ran at that very point -- and then reads or writes
   * the word; ptr() is a switch on the field name. Generated code per layout, with the offsets as
   * constants, because closures shared by all tables see every table's view shape and every field
   * name at each property access and go megamorphic; and no class fields, because at ES2022 each
   * is a defineProperty per instance.
   *
   * One class per layout for the whole thread (viewClasses), the table (hence the image) read
   * from the view: a pooled worker runs image after image, and a class made per image was new
   * code each run -- its accessors and the kernel code that inlines them compiled again, and the
   * kernel's property accesses saw a new view map every run.
   *
   * With an observer, every access also reports (address, write) right before it is made, after
   * its point: what a field-level detector needs (see FieldObserver). A read of a field declared
   * racy reports right after it: such a read orders its thread after the atomics that published
   * the value it loaded (src/detect racyRead), so the detector must look after the load, or a
   * free-mode cpu could load a value whose publication it did not see.
   */
  private viewClass(observed: boolean): ViewClass {
    const source = viewSource(this.name, this.layout, this.decl, observed);
    let View = viewClasses.get(source);
    if (View === undefined) {
      View = new Function("point", source)(point) as ViewClass;
      viewClasses.set(source, View);
    }
    return View;
  }
}

/** The view classes made so far, by their source (see Table.viewClass). */
const viewClasses = new Map<string, ViewClass>();
/** Each view class's Table.view, one per class for the thread (a pooled worker's next image calls the same function). */
const viewMakers = new Map<ViewClass, (this: Table, h: Handle) => ViewBase>();

function viewMaker<F extends FieldWidths>(View: ViewClass): (h: Handle) => View<F> {
  let make = viewMakers.get(View);
  if (make === undefined) {
    make = function (this: Table, h: Handle): ViewBase {
      return new View(h, this.checked(h, "deref"), this);
    };
    viewMakers.set(View, make);
  }
  return make as unknown as (h: Handle) => View<F>;
}

/** The source of a view class: the layout's offsets and racy notes, the table's name, observed or not. */
function viewSource(name: string, layout: FieldLayout, decl: StructDecl<FieldWidths>, observed: boolean): string {
  const { offsets, names } = layout;
  const racy = { ...decl.notes.racy, ...decl.notes.markedRacy };
  const live = (what: string) =>
    `if (((i32[b + ${HDR_GEN}] ^ (this.h >>> 16)) & ${GEN_MASK}) !== 0 || i32[b + ${HDR_STATE}] !== ${ST_USED}) throw t.stale(this.h, ${what});`;
  const observe = (off: number, write: boolean, kind: number) => (observed ? `t.observer.access(b + ${off}, ${write}, b, ${kind});` : "");
  const accessors = names
    .filter((f) => decl.fields[f] === 1)
    .map((f) => {
      const field = JSON.stringify(f);
      const off = offsets[f];
      const kind = fieldKind(decl.notes, f);
      const get = f in racy && observed ? `const v = i32[b + ${off}]; ${observe(off, false, kind)} return v;` : `${observe(off, false, kind)} return i32[b + ${off}];`;
      return `get [${field}]() { point(); const t = this.$t, i32 = t.i32, b = this.$b; ${live(field)} ${get} }
        set [${field}](v) { point(); const t = this.$t, i32 = t.i32, b = this.$b; ${live(field)} ${observe(off, true, kind)} i32[b + ${off}] = v; }`;
    });
  return `const OFF = new Map([${names.map((f) => `[${JSON.stringify(f)}, ${offsets[f]}]`).join(", ")}]);
    return class ${name.replace(/\W/g, "_")}_view {
      constructor(h, b, t) { this.h = h; this.$b = b; this.$t = t; }
      ptr(field) {
        const t = this.$t, i32 = t.i32, b = this.$b;
        ${live('field === undefined ? "&" : field')}
        return field === undefined ? b : b + OFF.get(field);
      }
      ${accessors.join("\n")}
    };
    //# sourceURL=forkstorm:view/${name}${observed ? "/observed" : ""}`;
}

/** A field's kind (FIELD_*) by its struct's notes: what the observed accessors pass with each access. */
export function fieldKind(notes: StructDecl<FieldWidths>["notes"], f: string): number {
  return (
    (f in (notes.racy ?? {}) ? FIELD_RACY : 0) |
    (f in (notes.unlocked ?? {}) ? FIELD_UNLOCKED : 0) |
    (f in (notes.recheck ?? {}) || f in (notes.handles ?? {}) ? FIELD_HANDLE : 0) |
    (f in (notes.markedRacy ?? {}) ? FIELD_MARKED : 0)
  );
}

/**
 * The kernel's bcopy and bzero of a struct region between two markers (fork1: 000:488-489,
 * 001:285-293) as `dst.f = src.f` (or `dst.f = 0`) for each listed field, in order, by a function
 * generated for the list. A loop over the names would be one keyed access site seeing every
 * field: it goes megamorphic on the views' accessors and calls into the runtime at each access
 * (2.7% of a one-cpu DragonFly worker); here each access is a named one with its own inline
 * cache. The same accesses in the same order: the same points, the same event hash.
 */
export function regionCopier<K extends string>(fields: readonly K[]): (dst: Record<K, number>, src: Readonly<Record<K, number>>) => void {
  return new Function("d", "s", fields.map((f) => `d[${JSON.stringify(f)}] = s[${JSON.stringify(f)}];`).join("\n")) as (dst: Record<K, number>, src: Readonly<Record<K, number>>) => void;
}

/** bzero of a struct region: `dst.f = 0` for each listed field, in order (see regionCopier). */
export function regionZeroer<K extends string>(fields: readonly K[]): (dst: Record<K, number>) => void {
  return new Function("d", fields.map((f) => `d[${JSON.stringify(f)}] = 0;`).join("\n")) as (dst: Record<K, number>) => void;
}

/** Lowest set bit of a nonzero word. */
const lowestBit = (x: number): number => 31 - Math.clz32(x & -x);

/**
 * A table's in-use bitmap, in the image: bit s of the first level is set while slot s is not
 * free, bit w of the second while word w of the first has every bit set (bits past the capacity
 * are set for good). Finding the next free slot reads a few words, whatever the table holds:
 * 60,000 records take 1,875 first-level words and 59 second-level bits.
 *
 * It is a hint kept beside the state words, which stay the authority: alloc sets a slot's bit
 * after its compare-and-swap claimed it and free clears it after the slot is free again, so a
 * bit is wrong only for the moment between (free mode), and a claim confirms it. A word's
 * "full" bit is set by the allocator that filled it, which looks again after setting it and
 * takes it back if a free came between, and cleared by every free: it is never left set over a
 * word with a free slot. Controlled modes run no other cpu inside alloc or free: the bitmap is
 * exact at every scheduling point.
 */
class InUseBitmap {
  private readonly full: number;
  private readonly words1: number;

  constructor(
    private readonly i32: Int32Array,
    private readonly at: number,
    private readonly capacity: number,
  ) {
    this.words1 = Math.ceil(capacity / 32);
    this.full = at + this.words1;
  }

  static words(capacity: number): number {
    const words1 = Math.ceil(capacity / 32);
    return words1 + Math.ceil(words1 / 32);
  }

  /** Every slot free; the bits past the end of each level set, so a search never returns them. */
  initialize(): void {
    const { i32, at, full, words1, capacity } = this;
    i32.fill(0, at, full + Math.ceil(words1 / 32));
    if (capacity % 32) i32[at + words1 - 1] = -1 << capacity % 32;
    if (words1 % 32) i32[full + Math.ceil(words1 / 32) - 1] = -1 << words1 % 32;
  }

  set(slot: number): void {
    const w = slot >>> 5;
    const bit = 1 << (slot & 31);
    if ((words.or(this.i32, this.at + w, bit) | bit) !== -1) return;
    words.or(this.i32, this.full + (w >>> 5), 1 << (w & 31));
    if (words.load(this.i32, this.at + w) !== -1) words.and(this.i32, this.full + (w >>> 5), ~(1 << (w & 31)));
  }

  clear(slot: number): void {
    const w = slot >>> 5;
    words.and(this.i32, this.at + w, ~(1 << (slot & 31)));
    words.and(this.i32, this.full + (w >>> 5), ~(1 << (w & 31)));
  }

  /** Slots from `slot` on, in rotor order, to the first free one (capacity when none is). */
  distanceToFree(slot: number): number {
    const ahead = this.nextFree(slot);
    if (ahead >= 0) return ahead - slot;
    const behind = this.nextFree(0);
    return behind >= 0 && behind < slot ? this.capacity - slot + behind : this.capacity;
  }

  /** The first free slot at or after `slot` (no wrap), or -1. */
  private nextFree(slot: number): number {
    const { i32, at } = this;
    let w = slot >>> 5;
    const here = ~i32[at + w] & (-1 << (slot & 31));
    if (here !== 0) return (w << 5) + lowestBit(here);
    for (w = this.nextNotFull(w + 1); w >= 0; w = this.nextNotFull(w + 1)) {
      const free = ~i32[at + w];
      if (free !== 0) return (w << 5) + lowestBit(free);
    }
    return -1;
  }

  /** The first first-level word at or after `w` not marked full, or -1. */
  private nextNotFull(w: number): number {
    const { i32, full, words1 } = this;
    for (let v = w >>> 5, mask = -1 << (w & 31); v < Math.ceil(words1 / 32); v++, mask = -1) {
      const open = ~i32[full + v] & mask;
      if (open !== 0) return (v << 5) + lowestBit(open);
    }
    return -1;
  }

  /** The first slot at or after `slot` whose bit is set, or -1 (a walk of the records in use). */
  nextUsed(slot: number): number {
    const { i32, at, words1, capacity } = this;
    for (let w = slot >>> 5, mask = -1 << (slot & 31); w < words1; w++, mask = -1) {
      const inUse = i32[at + w] & mask;
      if (inUse === 0) continue;
      const s = (w << 5) + lowestBit(inUse);
      return s < capacity ? s : -1;
    }
    return -1;
  }
}

/** A view's own members (the View type adds the fields). */
interface ViewBase {
  /** The handle; its generation names the record while the header still carries it. */
  readonly h: Handle;
  /** Base word of the record. */
  readonly $b: number;
  /** The table, hence the image, of the record (one view class serves every image of a layout). */
  readonly $t: Table;
  ptr(field?: string): Addr;
}

/** A view's own members: a struct field of one of these names would be shadowed by it. */
const VIEW_MEMBERS = ["h", "$b", "$t", "ptr", "constructor"];

type ViewClass = new (h: Handle, b: number, t: Table) => ViewBase;

/**
 * The seam for field-level detectors. A happens-before race detector (FastTrack) needs, at every
 * shared field access, the address, whether it reads or writes, and the running thread (which
 * it asks the scheduler for: curthread() in src/sync/seam.ts). Table.observe() installs one;
 * the table's views then take its layout's observed class, whose accessors call it. The plain
 * accessors carry no test or call for it, so a run without a detector pays nothing.
 *
 * An object whose methods the accessors call, not a pair of closures: a pooled worker makes a
 * new detector every run, and a closure per detector was a new call target at every accessor
 * inlined into the kernel, so each run after the first deoptimized the whole kernel ("wrong
 * call target", --trace-deopt); a method is the same function whichever detector it runs for.
 */
export interface FieldObserver {
  /**
   * `base`: the base of the record holding addr (the view has it: a lookup by address is a cache
   * miss per access); `kind`: the field's FIELD_* bits, from its struct's notes (a constant in
   * each accessor: a lookup by address is another miss).
   */
  access(addr: Addr, write: boolean, base: Addr, kind: number): void;
  /** A record at `base`, `words` long, is being freed (its words still hold their last values). */
  freed(base: Addr, words: number): void;
}

/** Record h (at `base`) is about to be freed at `site`: throws to refuse it (see Table.guardFree). */
export type FreeGuard = (h: Handle, base: Addr, site: string) => void;
