/*
 * The kernel image: one SharedArrayBuffer holding every table, laid out the same way by every CPU
 * from the same list of (struct, capacity). The orchestrator creates it; each worker attaches to
 * the buffer it is handed and rebuilds the identical layout.
 */
import { layoutOf, type FieldWidths, type StructDecl } from "./struct.js";
import { Table, type Addr } from "./table.js";

export interface TableSpec {
  readonly decl: StructDecl;
  readonly capacity: number;
}

export class Image {
  readonly i32: Int32Array;
  private readonly tables = new Map<string, Table>();
  /** tables by StructDecl.id, filled as they are asked for: every dereference asks. */
  private readonly byDecl: (Table | undefined)[] = [];
  private readonly ordered: Table[] = [];

  private constructor(readonly sab: SharedArrayBuffer, specs: readonly TableSpec[]) {
    this.i32 = new Int32Array(sab);
    // The records first, then every table's in-use bitmap: bitmaps between the tables would move
    // every record's address, and with them the wait channels and the hash of recorded runs.
    let bitmapAt = Image.recordWords(specs);
    let at = 0;
    for (const { decl, capacity } of specs) {
      if (this.tables.has(decl.name)) throw new Error(`image: table ${decl.name} declared twice`);
      const layout = layoutOf(decl);
      const t = new Table(this.i32, decl, layout, capacity, at, bitmapAt);
      at += Table.words(layout, capacity);
      bitmapAt += Table.bitmapWords(capacity);
      this.tables.set(decl.name, t);
      this.ordered.push(t);
    }
    if (bitmapAt * 4 > sab.byteLength) throw new Error(`image: layout needs ${bitmapAt * 4} bytes, buffer has ${sab.byteLength}`);
  }

  static words(specs: readonly TableSpec[]): number {
    return Image.recordWords(specs) + specs.reduce((n, s) => n + Table.bitmapWords(s.capacity), 0);
  }

  private static recordWords(specs: readonly TableSpec[]): number {
    return specs.reduce((n, s) => n + Table.words(layoutOf(s.decl), s.capacity), 0);
  }

  /** A fresh image: every record free. */
  static create(specs: readonly TableSpec[]): Image {
    const img = new Image(new SharedArrayBuffer(Image.words(specs) * 4), specs);
    for (const t of img.ordered) t.initialize();
    return img;
  }

  /** Attach to a buffer made by create() with the same specs (a worker's view of the image). */
  static attach(sab: SharedArrayBuffer, specs: readonly TableSpec[]): Image {
    return new Image(sab, specs);
  }

  table<F extends FieldWidths>(decl: StructDecl<F>): Table<F> {
    const known = this.byDecl[decl.id];
    if (known !== undefined) return known as unknown as Table<F>;
    // By name: a declaration made again (globaldataDecl) names the same table.
    const t = this.tables.get(decl.name);
    if (!t) throw new Error(`image: no table ${decl.name}`);
    this.byDecl[decl.id] = t;
    return t as unknown as Table<F>;
  }

  hasTable(name: string): boolean {
    return this.tables.has(name);
  }

  allTables(): readonly Table[] {
    return this.ordered;
  }

  /** The table, slot and field an address falls in. */
  locate(addr: Addr): { table: Table; slot: number; field: string } | null {
    const t = this.tableAt(addr);
    if (t === null) return null;
    const slot = Math.floor((addr - t.base) / t.layout.stride);
    return { table: t, slot, field: t.fieldAt(addr - t.recordBase(slot)) };
  }

  /** The table an address falls in: a binary search over the tables, laid out in order. */
  private tableAt(addr: Addr): Table | null {
    const ts = this.ordered;
    let lo = 0;
    let hi = ts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const t = ts[mid];
      if (addr < t.base) hi = mid - 1;
      else if (addr >= t.end) lo = mid + 1;
      else return t;
    }
    return null;
  }

  /** `proc[3].p_token`, for reports. */
  describe(addr: Addr): string {
    const at = this.locate(addr);
    return at ? `${at.table.name}[${at.slot}].${at.field}` : `@${addr}`;
  }

  /** The lock class of an address (`proc.p_token`): what lockstat and witness key on. */
  classOf(addr: Addr): string {
    const t = this.tableAt(addr);
    return t ? t.classAt((addr - t.base) % t.layout.stride) : `@${addr}`;
  }
}
