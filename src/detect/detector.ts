/*
 * One cpu's field-level detectors, fed by the access observer of every table (src/shm/table.ts)
 * and by the primitives' sync observer (src/sync/observe.ts):
 *
 *  - data-race: FastTrack (Flanagan & Freund, PLDI 2009) over every one-word field. Each field
 *    keeps the epoch of its last write and of its last read (a vector clock once reads are
 *    concurrent); an access not ordered after a conflicting one by the kernels' sync edges is a
 *    race. Atomics are marked accesses: they never race each other, they do race plain ones.
 *  - non-atomic-update: a plain write by a thread that read the field earlier in the same kernel
 *    path (system call, userret) with no switch of its own in between, while another thread wrote
 *    it in between, unordered with this write (no lock taken again since carried it here): its
 *    update lost that write.
 *  - plain-count-write: a plain write to a word the kernel changes only with atomics (a count of
 *    refcount, PHOLD, LWPHOLD: the primitives say so, AT_COUNT; or a word its struct declares
 *    so, `atomics`) after another thread used it -- the lost update non-atomic-update needs an
 *    interleaving to see, checked where it can first happen.
 *  - stale-pointer: DragonFly's re-check rule. A handle loaded from a recheck field (structs.ts)
 *    while holding a token is stale once every token held at the load is given up -- released,
 *    or at anything that can block (a block drops them all: a token or lock take, a may-block
 *    point, a sleep). Using the record then (a field, a lock, a hold on it) without having loaded
 *    the handle again and without a hold of the thread's own is reported. (NetBSD's proc_lock is
 *    a mutex held across most of its paths; its cv_wait re-checks are left to data-race and the
 *    use-after-free check.)
 *
 * The shadow (shadow.ts) is shared by every cpu; controlled modes run one cpu at a time and check
 * every access. Free mode samples, as DataCollider and KCSAN do, so that what sampling saves is
 * the cost of what it leaves out: it watches one block of image words in `sample` for a window of
 * accesses, checks every plain access to a watched block exactly, and leaves every other alone
 * -- one hash and compare, no shadow line touched (see watched). Atomics are checked everywhere,
 * and sync edges (an atomic's acquire and release, a racy read's acquire) are always followed, so
 * an access left out can hide a race but never invent one.
 */
import { callSites, sourceLine } from "../shm/callsites.js";
import { violation } from "../shm/hooks.js";
import type { Image } from "../shm/image.js";
import { THREAD } from "../shm/core.js";
import { HDR_GEN, HDR_STATE, HDR_WORDS } from "../shm/struct.js";
import { FIELD_HANDLE, FIELD_MARKED, FIELD_RACY, FIELD_UNLOCKED, fieldKind, GEN_MASK, slotOf, ST_USED, type Addr, type FieldObserver, type Handle, type Table } from "../shm/table.js";
import { AT_ACQUIRE, AT_COUNT, AT_WRITE, HOW_ATOMIC, HOW_SHARED, HOW_SLEEPS, HOW_TOKEN, type SyncObserver } from "../sync/observe.js";
import { PLOCK_MASK } from "../sync/phold.js";
import type { SyncThread } from "../sync/seam.js";
import { acquireClock, joinInto, releaseClock } from "./clock.js";
import {
  BLOCK_SHIFT, FW, LOCK, MARKED, R_CLK, R_TID, SHARED, SITE_PREV, SITE_READ, SITE_WRITE, SYNC_L, SYNC_LR, TID_MASK, VC_LAST, VC_PREV, VERSION, W_CLK, W_TID,
  type Shadow,
} from "./shadow.js";
import { DThread, MAX_LOADS, RMW_WAYS } from "./thread.js";

/** What the detectors need of the running thread beyond the primitives' view of it. */
export interface DetectThread extends SyncThread {
  readonly pid: number;
  readonly syscall: string;
}

/** A cpu's detectors at the end of a run, beyond their violations. */
export interface DetectorSummary {
  notes: string[];
  /** Image words of races reported with the earlier access's function unknown. */
  sitesWanted: number[];
}

export interface DetectorConfig {
  race: boolean;
  stale: boolean;
  /** Watch one block of the image in this many, a window at a time (1: check every access; see watched). */
  sample: number;
  /**
   * Image words whose every access records its kernel function. A stack costs several times the
   * rest of a check, so a run records none; a controlled run is run again with the words of what
   * it reported (src/run/stress.ts). Free mode cannot be run again: its reports name the earlier
   * access's cpu, thread, pid and system call, not its function.
   */
  siteAddrs: ReadonlySet<number>;
  cpu: number;
}

/**
 * Free mode's sampling. The image is cut into blocks of 2^BLOCK_SHIFT words (a record's
 * neighbouring fields watched together, their shadows in neighbouring lines), and in each window
 * a hash of the block and the window picks one block in `sample` to watch. The window is the
 * shadow's, so every cpu watches the same blocks and both accesses of a race in a watched block
 * are checked wherever they run; a cpu moves it on after WINDOW_ACCESSES of its own accesses, so
 * a block left out now is watched within a few windows, and a window is long beside a kernel
 * path's read and write of one field (non-atomic-update needs both, and the writes between).
 */
const WINDOW_ACCESSES = 1 << 10;

/** Is the block of image word `addr` watched in `window`, one block in `sample`? (Exported for tests.) */
export function watchedIn(addr: Addr, window: number, sample: number): boolean {
  return blockHash(addr, windowSalt(window)) < watchThreshold(sample);
}

/** A window's salt: a mix of its number (murmur3's finaliser), so each window picks other blocks. */
function windowSalt(window: number): number {
  let h = Math.imul(window ^ (window >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A block's place in [0, 2^32) for this window (Fibonacci hashing: the top bits mix every bit),
 * less 2^31: an int32 (the sign bit flipped), so that the compare with watchThreshold at every
 * access is an integer one, not a conversion to double and a float compare.
 */
function blockHash(addr: Addr, salt: number): number {
  return Math.imul((addr >>> BLOCK_SHIFT) ^ salt, 0x9e3779b1) ^ -0x80000000;
}

/** Blocks whose place is below 2^32 / sample are watched (less 2^31, as blockHash). */
function watchThreshold(sample: number): number {
  return Math.floor(2 ** 32 / sample) - 2 ** 31;
}

/**
 * Per image word, worker-local (flags), fixed at install: reads racy on purpose; every plain
 * access racy on purpose; a handle field (recheck or other) into a table of this image; accesses
 * record their function. The first three and F_MARKED are the bits of a field's kind too
 * (table.ts FIELD_*), which an observed accessor passes with each access.
 */
const F_RACY = FIELD_RACY;
const F_UNLOCKED = FIELD_UNLOCKED;
const F_HANDLE = FIELD_HANDLE;
const F_SITE = 0x8;
/** A count the primitives update atomically (AT_COUNT), in every record of its table once one is. */
const F_COUNT = 0x10;
/** A word its struct declares changed only with atomics (FieldNotes.atomics): a count or flags. */
const F_ATOMIC = 0x20;
/** Reads racy on purpose only where the kernel marks them (FieldNotes.markedRacy, data_race()). */
const F_MARKED = FIELD_MARKED;

/** handleTo: a recheck field (structs.ts), whose loads under a token are remembered; the table index + 1 is above it. */
const TO_RECHECK = 0x1;
const TO_SHIFT = 1;

/** handleTo's word for field f of table t: its target table and TO_RECHECK, 0 for no handle field into this image. */
function handleTarget(t: Table, f: string, index: ReadonlyMap<string, number>): number {
  const { recheck, handles } = t.decl.notes;
  const target = recheck?.[f] ?? handles?.[f];
  if (target === undefined) return 0;
  const to = index.get(target);
  if (to === undefined && recheck?.[f] !== undefined) throw new Error(`struct ${t.name}: recheck field ${f} points into ${target}, not a table of this image`);
  // A handle field into a table this image lacks (a runtime table's td_proc in the lab) is no path here.
  if (to === undefined) return 0;
  return ((to + 1) << TO_SHIFT) | (recheck?.[f] !== undefined ? TO_RECHECK : 0);
}

/** write()'s generation for a plain write (the accessor checked the record; a generation is never negative). */
const PLAIN = -1;

/** Access.who: one of several readers, not the last. */
const SEVERAL = -1;
/** Access.who: a stamp older than its dtid's ring in the identity log (Shadow.identity). */
const UNKNOWN = -2;

/** One side of a conflicting pair, for the report. */
interface Access {
  write: boolean;
  atomic: boolean;
  /** cpu << 16 | runtime thread slot, or SEVERAL, UNKNOWN. */
  who: number;
  pid: number;
  sys: number;
  site: number;
}

export class Detector implements SyncObserver, FieldObserver {
  private readonly i32: Int32Array;
  private readonly tables: readonly Table[];
  private readonly flags: Uint8Array;
  /**
   * Per image word of a handle field (F_HANDLE): 1 + the index of the table it points into,
   * shifted by TO_SHIFT, | TO_RECHECK for a recheck field (the others' loads only refresh); 0
   * elsewhere. All a handle access needs in one array: one cache miss, not one per array.
   */
  private readonly handleTo: Uint8Array;
  /** Per image word: the base of the record it belongs to, -1 outside every record. */
  private readonly recBase: Int32Array;
  private readonly threads: (DThread | undefined)[] = [];
  /** Ended threads' state, for the next threads to start (DThread.reset). */
  private readonly spare: DThread[] = [];
  /** Per runtime thread slot: its thread's own epoch when an entry of its clock last rose (clock.ts joinInto's `learned`). */
  private readonly learned: Int32Array;
  /** Per runtime thread slot: the tid word of its thread's stamps (tidOf), and the pid it was logged with. */
  private readonly tids: Int32Array;
  private readonly tidPids: Int32Array;
  private readonly width: number;
  /** cfg.race and cfg.stale, read at every access. */
  private readonly raceOn: boolean;
  /**
   * raceOn, and no cpu had stood the race detector down when this cpu last looked (Shadow
   * exhausted): read by access() instead of the shadow's word. Looked at again at each thread
   * start, kernel entry and resume, and false at once when this cpu stands it down. A cpu that has
   * not looked yet only checks more accesses than it needs to: every report asks the shadow again
   * (reportable), and nothing a check writes matters once the detector stood down.
   */
  private raceLive: boolean;
  private readonly staleOn: boolean;
  /** Offsets in a thread record of its process and lwp handles (its own records), -1 when the layout has none. */
  private readonly tdProcAt: number;
  private readonly tdLwpAt: number;
  /** Free mode: watch a sample of the image (watched), not every access. */
  private readonly sampled: boolean;
  private readonly threshold: number;
  /** The window this cpu watches in, its salt, and this cpu's accesses left before it moves the window on. */
  private window = -1;
  private salt = 0;
  private windowLeft = 0;
  /** Inside data_race() (a cpu runs one thread at a time, and data_race's reads cannot block). */
  private marked = 0;
  /**
   * The thread access() ran for last, and its state: the scheduler's running thread is the same
   * object for as long as it runs, so while it is, the lookup by slot is skipped. Forgotten
   * wherever threads[] changes (threadStart, threadExit): a slot's next thread, or a spare state
   * handed to another, is looked up afresh.
   */
  private lastTd: DetectThread | null = null;
  private lastT: DThread | undefined = undefined;
  private readonly reported = new Set<string>();
  private readonly sysIds = new Map<string, number>();
  /** The kernel's proc and lwp tables, when the image has them (a thread's own records). */
  private readonly procs: Table | null;
  private readonly lwps: Table | null;

  constructor(
    private readonly img: Image,
    private readonly sh: Shadow,
    private readonly cfg: DetectorConfig,
    private readonly current: () => DetectThread | null,
  ) {
    this.i32 = img.i32;
    this.tables = img.allTables();
    const words = img.i32.length;
    this.flags = new Uint8Array(words);
    this.handleTo = new Uint8Array(words);
    this.recBase = new Int32Array(words).fill(-1);
    this.width = sh.size.dtids;
    this.learned = new Int32Array(sh.size.threads);
    this.tids = new Int32Array(sh.size.threads);
    this.tidPids = new Int32Array(sh.size.threads);
    const index = new Map(this.tables.map((t, i) => [t.name, i]));
    if (this.tables.length >= 0xff >>> TO_SHIFT) throw new Error(`detectors: ${this.tables.length} tables, handleTo has room for ${(0xff >>> TO_SHIFT) - 1}`);
    for (const t of this.tables) this.mapTable(t, index);
    for (const a of cfg.siteAddrs) this.flags[a] |= F_SITE;
    this.procs = img.hasTable("proc") ? this.tables[index.get("proc")!] : null;
    this.lwps = img.hasTable("lwp") ? this.tables[index.get("lwp")!] : null;
    this.raceOn = cfg.race;
    this.raceLive = cfg.race && !sh.exhausted();
    this.staleOn = cfg.stale;
    this.sampled = cfg.sample > 1;
    this.threshold = watchThreshold(cfg.sample);
    const tdOffsets = img.table(THREAD).layout.offsets;
    this.tdProcAt = tdOffsets.td_proc ?? -1;
    this.tdLwpAt = tdOffsets.td_lwp ?? -1;
  }

  private mapTable(t: Table, index: ReadonlyMap<string, number>): void {
    const { offsets, stride } = t.layout;
    const notes = t.decl.notes;
    // What every record has at each noted field, worked out once for the table: the field's kind
    // as its views pass it, but F_HANDLE only where handleTo names a table of this image; F_ATOMIC.
    const fieldFlags: [number, number][] = [];
    const fieldTo: [number, number][] = [];
    for (const f of t.layout.names) {
      const to = handleTarget(t, f, index);
      const bits = (fieldKind(notes, f) & ~F_HANDLE) | (f in (notes.atomics ?? {}) ? F_ATOMIC : 0) | (to !== 0 ? F_HANDLE : 0);
      if (bits !== 0) fieldFlags.push([offsets[f], bits]);
      if (to !== 0) fieldTo.push([offsets[f], to]);
    }
    for (let s = 0; s < t.capacity; s++) {
      const b = t.recordBase(s);
      this.recBase.fill(b, b, b + stride);
      for (const [off, bits] of fieldFlags) this.flags[b + off] = bits;
      for (const [off, to] of fieldTo) this.handleTo[b + off] = to;
    }
  }

  /**
   * A field access through an observed view (Table.observe), to the record at `base` (-1: outside
   * every record), of a field of kind `kind` (table.ts FIELD_*: the view's constant for the field,
   * the same bits as flags[addr] has -- but for F_HANDLE, which flags has only where the target
   * table is in this image: handleTo says, looked up for handle fields alone).
   */
  access(addr: Addr, write: boolean, base: Addr, kind: number): void {
    const td = this.current();
    if (td === null) return;
    const t = td === this.lastTd ? this.lastT : this.stateOf(td);
    if (t === undefined) return;
    if (this.staleOn) {
      if (t.loads.size !== 0) this.use(t, td, addr, base);
      if (kind & F_HANDLE) {
        const to = this.handleTo[addr];
        if (to !== 0) {
          if (write) this.handleWrite(t, td, addr, base);
          else this.load(t, addr, base, to);
        }
      }
    }
    if (!this.raceLive || t.d < 0 || kind & F_UNLOCKED) return;
    // A racy read is a sync edge, not a check: followed at every read, never sampled away.
    if (!write && this.racyOnPurpose(kind)) return this.racyRead(t, addr);
    if (this.sampled && !this.watched(addr)) return;
    if (write) this.write(t, td, addr, PLAIN);
    else this.read(t, td, addr);
  }

  /**
   * Free mode: is addr's block watched in this cpu's window? The window word sits in the shadow
   * header's line, which every check loads anyway (exhausted).
   *
   * Non-atomic-update stays exact over what is watched: a read notes the field's version and the
   * thread's later write compares, so a read left out must never leave an older note standing (the
   * write would take another thread's write before that read for one after it). Within a window a
   * block is watched or not for all its accesses on this cpu, and a thread's notes are of one
   * window (notesOf): when the window moves they are forgotten. A cpu still in the last window for
   * a moment only leaves writes out: a missed race, never an invented one.
   */
  private watched(addr: Addr): boolean {
    const w = this.sh.window();
    if (w !== this.window) this.enterWindow(w);
    else if (--this.windowLeft === 0) this.sh.moveWindow(w);
    return blockHash(addr, this.salt) < this.threshold;
  }

  private enterWindow(w: number): void {
    this.window = w;
    this.salt = windowSalt(w);
    this.windowLeft = WINDOW_ACCESSES;
  }

  /** The thread's reads noted in this cpu's window (watched): those of an earlier one are forgotten first. */
  private notesOf(t: DThread): DThread {
    if (t.notesWindow !== this.window) {
      t.forgetReads();
      t.notesWindow = this.window;
    }
    return t;
  }

  /** A write moves the field's version on; a plain one may find the update it makes is lost. */
  private bumpVersion(t: DThread, addr: Addr, s: number, atomic: boolean): Access | null {
    const i32 = this.sh.i32;
    const v = s + VERSION;
    const before = i32[v];
    i32[v] = before + 1;
    const lost = atomic ? null : this.lostUpdate(t, addr, s, before);
    this.notedWrite(t, addr, before + 1);
    return lost;
  }

  plain(addr: Addr, write: boolean): void {
    this.access(addr, write, this.recBase[addr], this.flags[addr]);
  }

  /**
   * A record was freed: its fields' history ends with it (the next owner starts afresh). Each
   * field is cleared under its lock: in free mode another cpu may be reporting, that moment, the
   * ordered atomic that dropped its last right to the record (refcount_release's decrement lets
   * the last holder free before the other's report, src/sync/refcount.ts). That report checks,
   * under the same lock, that the record is still the one it operated on (live()); so it either
   * lands before this clear or not at all -- never a read clock freed twice (the pool would hand
   * it to two owners, and the second would lose its edges) nor a stamp left for the next owner.
   * Only words whose shadow was written are read (Shadow.wrote: every write to a field shadow
   * marks its word first), so a free costs what was checked of the record, not its size.
   */
  freed(base: number, words: number): void {
    this.stateOfCurrent()?.owned.set(base, 0);
    const end = base + words;
    for (let a = base; a < end; ) {
      const b = a >>> BLOCK_SHIFT;
      const first = b << BLOCK_SHIFT;
      const next = Math.min(first + (1 << BLOCK_SHIFT), end);
      // This record's words of the block (a neighbour's may share it), those of them marked.
      const mask = this.sh.writtenIn(b) & ((1 << (next - first)) - 1) & ~((1 << (a - first)) - 1);
      if (mask !== 0) {
        this.clearFields(first, mask);
        this.sh.clean(b, mask);
      }
      a = next;
    }
  }

  /** The field shadows of image words first + i, for each bit i of mask, cleared, their clocks back in the pool (each under its lock: see freed). */
  private clearFields(first: Addr, mask: number): void {
    const sh = this.sh;
    const i32 = sh.i32;
    for (let m = mask; m !== 0; m &= m - 1) {
      const s = sh.at(first + 31 - Math.clz32(m & -m));
      sh.lock(s + LOCK);
      if (i32[s + R_CLK] === SHARED) sh.freeClock(i32[s + R_TID]);
      if (i32[s + SYNC_L] !== 0) sh.freeClock(i32[s + SYNC_L]);
      if (i32[s + SYNC_LR] !== 0) sh.freeClock(i32[s + SYNC_LR]);
      // Word by word: two fills a field were two builtin calls each, most of a free's cost.
      for (let w = s; w < s + FW; w++) if (w !== s + LOCK) i32[w] = 0;
      sh.unlock(s + LOCK);
    }
  }

  /**
   * Is the record holding addr still the one of generation `gen` (the whole header word), in
   * use? Words outside every record always are. Read under the field's lock, after freed()'s
   * table.free marked the record freeing, so a clear in progress is seen. Where no other cpu is
   * inside the detectors at once (!concurrent), no free can run between atomic()'s look and the
   * lock: the look under it (relive) is that one again, and plain loads see every free before.
   */
  private live(addr: Addr, gen: number): boolean {
    const b = this.recBase[addr];
    if (b < 0) return true;
    const i32 = this.i32;
    return this.sh.concurrent
      ? Atomics.load(i32, b + HDR_STATE) === ST_USED && Atomics.load(i32, b + HDR_GEN) === gen
      : i32[b + HDR_STATE] === ST_USED && i32[b + HDR_GEN] === gen;
  }

  /** live() again under the field's lock, for an atomic's report: only another cpu's free, at once, can have changed it. */
  private relive(addr: Addr, gen: number): boolean {
    return !this.sh.concurrent || this.live(addr, gen);
  }

  // ---------------------------------------------------------------- threads

  threadStart(td: SyncThread): void {
    const slot = slotOf(td.h);
    // A second thread in a live slot would take its detector thread id at an epoch behind the
    // live one's: acquires that trust the id's epochs (clock.ts pure tags) would lose edges.
    if (this.threads[slot] !== undefined) throw new Error(`detectors: thread ${slot} started while thread ${slot} of this cpu is still alive`);
    let t = this.spare.pop();
    if (t === undefined) t = new DThread(slot, this.width);
    else t.reset(slot);
    this.threads[slot] = t;
    this.lastTd = null;
    this.lookAtShadow();
    this.ownRecords(t, td.h);
    if (!this.raceOn) return;
    t.d = this.sh.dtid(slot);
    if (t.d < 0) return this.standDown("more threads alive at once than the shadow has detector threads");
    // The wake clock holds the creator's release and, if this dtid was someone else's, its exit
    // clock: this thread starts after both, at a clock none of them used.
    const wc = this.sh.wakeClock(t.d);
    if (wc === 0) return this.standDown("the vector-clock pool is empty");
    acquireClock(this.sh, t.C, wc);
    this.learned[slot] = t.C[t.d]; // all of its clock is news
    t.C[t.d]++;
  }

  threadExit(td: SyncThread): void {
    const t = this.threads[slotOf(td.h)];
    this.threads[slotOf(td.h)] = undefined;
    this.lastTd = null;
    if (t === undefined) return;
    this.spare.push(t); // nothing keeps t past this call: the next thread to start may have it
    if (t.d < 0) return;
    const wc = this.sh.wakeClock(t.d);
    if (wc === 0) return this.standDown("the vector-clock pool is empty");
    joinInto(this.sh, wc, t.C, t.d, this.learned[t.slot]);
    this.sh.releaseDtid(t.slot);
  }

  /** A read of a word with flags f is racy on purpose: its field's, or this one, marked with data_race(). */
  private racyOnPurpose(f: number): boolean {
    return (f & F_RACY) !== 0 || ((f & F_MARKED) !== 0 && this.marked > 0);
  }

  dataRace(delta: number): void {
    this.marked += delta;
  }

  mayBlock(): void {
    const t = this.stateOfCurrent();
    if (t !== undefined && this.staleOn) this.mayHaveBlocked(t);
  }

  /**
   * DragonFly's rule is about what *can* block: a token take, a lockmgr or mutex take, an
   * M_WAITOK allocation may switch the thread out and drop its tokens, whether or not this run
   * happened to. So at each, the tokens held count as given up and taken back: pointers loaded
   * under them before are stale from here on, unless held or loaded again.
   */
  private mayHaveBlocked(t: DThread): void {
    t.renumberGuards();
    t.blockSeq = ++t.seq;
  }

  kernelEntry(): void {
    this.lookAtShadow();
    const t = this.stateOfCurrent();
    if (t === undefined) return;
    // (Map.clear makes a new table even for an empty map: one per system call adds up.)
    if (t.loads.size !== 0) t.loads.clear();
    if (t.readAt.size !== 0) t.readAt.clear();
    // Nor a value: a read in the last system call or its userret is no load of an update this
    // path writes back (exit1's SIGEMPTYSET after the last userret's look at p_siglist).
    t.forgetReads();
  }

  switchOut(td: SyncThread): void {
    const t = this.threads[slotOf(td.h)];
    if (t === undefined) return;
    t.switches++;
    t.blockSeq = ++t.seq;
  }

  /** The records thread t (handle h) can always use (their bases): its own thread, lwp and process. */
  private ownRecords(t: DThread, h: Handle): void {
    const b = this.img.table(THREAD).recordBase(slotOf(h));
    t.ownTd = b;
    t.ownProc = this.ownRecord(b, this.tdProcAt, this.procs);
    t.ownLwp = this.ownRecord(b, this.tdLwpAt, this.lwps);
  }

  /** The record the thread record at `b` names at offset `at` in `table` (-1: none). */
  private ownRecord(b: number, at: number, table: Table | null): number {
    if (at < 0 || table === null) return -1;
    const x = this.i32[b + at];
    return x === 0 ? -1 : table.recordBase(slotOf(x));
  }

  // ---------------------------------------------------------------- sync edges

  acquire(td: SyncThread, addr: Addr, how: number): void {
    const t = this.threads[slotOf(td.h)];
    if (t === undefined) return;
    if (this.staleOn) {
      if (how & (HOW_TOKEN | HOW_SLEEPS)) this.mayHaveBlocked(t); // a contended take switches the thread out
      if (t.loads.size !== 0) this.use(t, td as DetectThread, addr, this.recBase[addr]);
      if (how & HOW_TOKEN) t.pushGuard(addr);
    }
    if (t.d < 0 || !this.sh.marked(addr)) return; // no release marked it: no clock there (racyRead)
    const s = this.sh.at(addr);
    this.acquireFrom(t, this.sh.i32[s + SYNC_L]);
    if (!(how & HOW_SHARED)) this.acquireFrom(t, this.sh.i32[s + SYNC_LR]);
  }

  /** t's clock joined with pool clock vc: a rise is what its next release must pass on in full (clock.ts joinInto). */
  private acquireFrom(t: DThread, vc: number): void {
    if (acquireClock(this.sh, t.C, vc)) this.learned[t.slot] = t.C[t.d];
  }

  release(td: SyncThread, addr: Addr, how: number): void {
    const t = this.threads[slotOf(td.h)];
    if (t === undefined) return;
    if (this.staleOn && how & HOW_TOKEN) t.dropGuard(addr);
    if (how & HOW_ATOMIC) {
      t.atomicAt = addr;
      t.atomicGen = this.generationAt(addr);
    }
    if (t.d < 0 || !this.raceOn) return;
    const slot = this.sh.at(addr) + (how & HOW_SHARED && !(how & HOW_ATOMIC) ? SYNC_LR : SYNC_L);
    this.sh.wrote(addr);
    if (!releaseClock(this.sh, slot, t.C, t.d, this.learned[t.slot])) return this.standDown("the vector-clock pool is empty");
    t.C[t.d]++;
  }

  atomic(addr: Addr, how: number): void {
    const td = this.current();
    if (td === null) return;
    const t = this.threads[slotOf(td.h)];
    if (t === undefined) return;
    if (this.staleOn && t.loads.size !== 0) this.use(t, td, addr, this.recBase[addr]);
    if (how & AT_COUNT && !(this.flags[addr] & F_COUNT)) this.markCount(addr);
    // An ordered atomic reports after it operated: on the record it published at (release()),
    // which another cpu may have freed since if this operation dropped the last right to it.
    const gen = how & AT_ACQUIRE && t.atomicAt === addr ? t.atomicGen : this.generationAt(addr);
    t.atomicAt = -1;
    if (t.d < 0 || !this.raceOn || this.sh.exhausted() || !this.live(addr, gen)) return;
    // (Unlocked, this acquire could meet a clear in progress: it can only learn too much, never too little.)
    if (how & AT_ACQUIRE) this.acquireFrom(t, this.sh.i32[this.sh.at(addr) + SYNC_L]);
    // Checked whether its block is watched or not: its shadow line is the edge's, and its stamp is
    // what a plain access in a later window races (killpg's atomic pg_sigseq bump, fork1's read).
    if (how & AT_WRITE) this.write(t, td, addr, gen);
    else this.markedRead(t, td, addr, gen);
  }

  /** The field at addr is a count: so is it in every record of its table. */
  private markCount(addr: Addr): void {
    const b = this.recBase[addr];
    const at = b < 0 ? null : this.img.locate(addr);
    if (at === null) return void (this.flags[addr] |= F_COUNT);
    for (let s = 0; s < at.table.capacity; s++) this.flags[at.table.recordBase(s) + addr - b] |= F_COUNT;
  }

  hold(addr: Addr, delta: number): void {
    const t = this.stateOfCurrent();
    const b = this.recBase[addr];
    if (t === undefined || !this.staleOn || b < 0) return;
    // A thread may drop holds others took (kern_wait drops the exiting lwp's): never below none.
    const n = t.holds.get(b) + delta;
    t.holds.set(b, n);
    if (n > 0) return;
    // The hold was checked when taken (a use) and kept the record in place across every block
    // since: a pointer to it is now as good as one loaded here, under the tokens held here (killlwps
    // drops its LWPHOLD and goes on from that lwp to the next).
    const i = t.loads.indexOf(b);
    if (i >= 0) t.loads.seq[i] = ++t.seq;
  }

  own(addr: Addr, owned: boolean): void {
    const t = this.stateOfCurrent();
    const b = this.recBase[addr];
    if (t === undefined || !this.staleOn || b < 0) return;
    t.owned.set(b, owned ? 1 : 0);
  }

  /** td's state (undefined: none), remembered as the last thread's (see lastTd). */
  private stateOf(td: DetectThread): DThread | undefined {
    this.lastTd = td;
    return (this.lastT = this.threads[slotOf(td.h)]);
  }

  private stateOfCurrent(): DThread | undefined {
    const td = this.current();
    return td === null ? undefined : td === this.lastTd ? this.lastT : this.stateOf(td);
  }

  wake(target: Handle): void {
    const t = this.stateOfCurrent();
    if (t === undefined || t.d < 0 || !this.raceOn) return;
    const d = this.sh.dtid(slotOf(target));
    const wc = d < 0 ? 0 : this.sh.wakeClock(d);
    if (wc === 0) return this.standDown(d < 0 ? "more threads alive at once than the shadow has detector threads" : "the vector-clock pool is empty");
    joinInto(this.sh, wc, t.C, t.d, this.learned[t.slot]);
    t.C[t.d]++;
  }

  resumed(): void {
    this.lookAtShadow();
    const t = this.stateOfCurrent();
    if (t === undefined || t.d < 0) return;
    this.acquireFrom(t, this.sh.i32[this.sh.wakeOf + t.d]);
  }

  /**
   * The race detector cannot follow every edge any more (its pool or its thread ids ran out):
   * from here on it could only report races that are not, so it stops, and says why once.
   */
  private standDown(why: string): void {
    this.raceLive = false;
    if (this.sh.exhausted()) return;
    this.sh.giveUp();
    this.notes.push(`race detector stood down at cpu ${this.cfg.cpu}: ${why}`);
  }

  /** Has another cpu stood the race detector down? (raceLive) */
  private lookAtShadow(): void {
    this.raceLive = this.raceOn && !this.sh.exhausted();
  }

  /** What the detectors have to say besides violations (a stand-down), for the cpu's result. */
  readonly notes: string[] = [];

  /** For the cpu's result (CpuResult.extras.detectors). */
  summary(): DetectorSummary {
    return { notes: this.notes, sitesWanted: [...this.sitesWanted] };
  }

  // ---------------------------------------------------------------- FastTrack

  /**
   * A read of a field declared racy: not checked, not recorded. It still observes what ordered
   * atomics published at the word before the store it loaded: on x86-64, the only machine
   * DragonFly runs on, a load is an acquire, and a locked read-modify-write publishes everything
   * its thread did before it. reaper_get's collapse rests on exactly that: its plain
   * `next->refs == 2` sees another walker's reaper_drop, and so follows that walker's read of
   * next->parent (000:1151-1164, structs.ts SYSREAPER). The table reports a racy read after
   * its load (table.ts), so what is acquired is what the loaded value was published with.
   * A word no check marked (Shadow.marked: 60 % of a DragonFly fork's racy reads) has a clear
   * field shadow -- no clock, version 0 -- and its line is not loaded.
   */
  private racyRead(t: DThread, addr: Addr): void {
    const marked = this.sh.marked(addr);
    const s = this.sh.at(addr);
    if (marked) this.acquireFrom(t, this.sh.i32[s + SYNC_L]);
    if (!this.sampled || this.watched(addr)) this.noteRead(t, addr, marked ? this.sh.i32[s + VERSION] : 0);
  }

  /** A plain read of a field whose reads are checked. */
  private read(t: DThread, td: DetectThread, addr: Addr): void {
    const { sh } = this;
    const i32 = sh.i32;
    const s = sh.at(addr);
    const C = t.C;
    const d = t.d;
    sh.wrote(addr);
    sh.lock(s + LOCK);
    this.noteRead(t, addr, i32[s + VERSION]);
    const rclk = i32[s + R_CLK];
    const rtid = i32[s + R_TID];
    if ((rclk === C[d] && (rtid & TID_MASK) === d + 1) || (rclk === SHARED && i32[sh.clocks(rtid) + d] === C[d])) {
      sh.unlock(s + LOCK);
      return;
    }
    const prior = this.unorderedWrite(t, addr, s);
    const tid = this.tidOf(t, td);
    if (rclk === SHARED) {
      i32[sh.clocks(rtid) + d] = C[d];
      const last = sh.vcHeader(rtid, VC_LAST);
      if ((i32[last] & TID_MASK) !== d + 1) this.keepPrevious(addr, rtid, i32[last]);
      i32[last] = tid;
    } else if (rtid === 0 || rclk <= C[(rtid & TID_MASK) - 1]) {
      i32[s + R_CLK] = C[d];
      i32[s + R_TID] = tid;
    } else {
      const vc = sh.allocClock();
      if (vc === 0) {
        sh.unlock(s + LOCK);
        return this.standDown("the vector-clock pool is empty");
      }
      i32[sh.clocks(vc) + (rtid & TID_MASK) - 1] = rclk;
      i32[sh.clocks(vc) + d] = C[d];
      this.keepPrevious(addr, vc, rtid);
      i32[sh.vcHeader(vc, VC_LAST)] = tid;
      i32[s + R_CLK] = SHARED;
      i32[s + R_TID] = vc;
    }
    if (this.flags[addr] & F_SITE) this.stampSite(addr, SITE_READ);
    sh.unlock(s + LOCK);
    if (prior !== null) this.race(td, addr, prior, false, false);
  }

  /**
   * Read-shared in read clock vc: the last reader, tid word `last`, becomes the one before (a
   * reader of another thread reads next). Its epoch is its entry in vc, moved since only by its
   * own next read, which makes it the last again.
   */
  private keepPrevious(addr: Addr, vc: number, last: number): void {
    const i32 = this.sh.i32;
    i32[this.sh.vcHeader(vc, VC_PREV)] = last;
    if (this.flags[addr] & F_SITE) {
      const site = this.sh.site(addr);
      i32[site + SITE_PREV] = i32[site + SITE_READ];
    }
  }

  /** An atomic read: it races only a plain write it is not ordered after (unless the field's reads are racy on purpose). */
  private markedRead(t: DThread, td: DetectThread, addr: Addr, gen: number): void {
    if (this.racyOnPurpose(this.flags[addr])) return;
    const s = this.sh.at(addr);
    this.sh.lock(s + LOCK);
    const prior = this.sh.i32[s + W_TID] & MARKED || !this.relive(addr, gen) ? null : this.unorderedWrite(t, addr, s);
    this.sh.unlock(s + LOCK);
    if (prior !== null) this.race(td, addr, prior, false, true);
  }

  /** A write: plain (gen PLAIN), or an atomic's on the record of generation `gen` (checked under the field's lock). */
  private write(t: DThread, td: DetectThread, addr: Addr, gen: number): void {
    const { sh } = this;
    const i32 = sh.i32;
    const s = sh.at(addr);
    const C = t.C;
    const d = t.d;
    const atomic = gen !== PLAIN;
    sh.wrote(addr);
    sh.lock(s + LOCK);
    if (atomic && !this.relive(addr, gen)) return sh.unlock(s + LOCK);
    const lost = this.bumpVersion(t, addr, s, atomic);
    const mine = atomic ? (d + 1) | MARKED : d + 1;
    if ((i32[s + W_TID] & (TID_MASK | MARKED)) === mine && i32[s + W_CLK] === C[d]) {
      sh.unlock(s + LOCK);
      if (lost !== null) this.nonAtomic(td, addr, lost);
      return;
    }
    const f = this.flags[addr];
    const user = !atomic && f & (F_COUNT | F_ATOMIC) ? this.countInUse(t, addr, s, f) : null;
    const prior = atomic && i32[s + W_TID] & MARKED ? null : this.unorderedWrite(t, addr, s);
    const reader = this.unorderedRead(t, addr, s);
    i32[s + W_CLK] = C[d];
    i32[s + W_TID] = atomic ? this.tidOf(t, td) | MARKED : this.tidOf(t, td);
    if (f & F_SITE) this.stampSite(addr, SITE_WRITE);
    sh.unlock(s + LOCK);
    if (prior !== null) this.race(td, addr, prior, true, atomic);
    else if (reader !== null) this.race(td, addr, reader, true, atomic);
    if (lost !== null) this.nonAtomic(td, addr, lost);
    if (user !== null) this.plainCount(td, addr, user);
  }

  /**
   * An atomic word others may be updating at this moment, and why: a count holding more than this
   * thread's own reference, or its last write was an atomic (the kernel changes it atomically only
   * once others can reach the record) or another thread's. Null for a fresh record's initialising
   * store (count 0, untouched or written only plainly by this thread). A declared word (flags
   * too, whose value says nothing of holders) is in use also when this thread read it earlier in
   * the same path: a plain read-modify-write, which the kernel makes of it only atomically -- an
   * initialising store reads nothing.
   */
  private countInUse(t: DThread, addr: Addr, s: number, f: number): string | null {
    const n = this.i32[addr] & PLOCK_MASK; // a hold word keeps flags above its holders
    if (f & F_COUNT && n >= 2) return `it counted ${n}`;
    const wtid = this.sh.i32[s + W_TID];
    if (wtid !== 0 && (wtid & (TID_MASK | MARKED)) !== t.d + 1) return `after an ${this.describeSide(this.lastWrite(addr, s))}`;
    return f & F_ATOMIC && this.readInPath(t, addr) ? "read and written back with plain accesses" : null;
  }

  /** The last write, when this thread is not ordered after it. */
  private unorderedWrite(t: DThread, addr: Addr, s: number): Access | null {
    const i32 = this.sh.i32;
    const wtid = i32[s + W_TID];
    if (wtid === 0) return null;
    if (i32[s + W_CLK] <= t.C[(wtid & TID_MASK) - 1]) return null;
    return this.lastWrite(addr, s);
  }

  /** A read this write is not ordered after (and the reads are forgotten: the write covers them). */
  private unorderedRead(t: DThread, addr: Addr, s: number): Access | null {
    const { sh } = this;
    const i32 = sh.i32;
    const rclk = i32[s + R_CLK];
    const rtid = i32[s + R_TID];
    if (rclk === SHARED) {
      // Name the last or the one before, if one this write is not ordered after, else any such.
      const b = sh.clocks(rtid);
      const lastTid = i32[sh.vcHeader(rtid, VC_LAST)];
      const prevTid = i32[sh.vcHeader(rtid, VC_PREV)];
      const last = (lastTid & TID_MASK) - 1;
      const before = (prevTid & TID_MASK) - 1;
      let found: Access | null = null;
      if (i32[b + last] > t.C[last]) found = this.accessOf(addr, lastTid, i32[b + last], SITE_READ, false, false);
      else if (before >= 0 && i32[b + before] > t.C[before]) found = this.accessOf(addr, prevTid, i32[b + before], SITE_PREV, false, false);
      for (let i = sh.hwm() - 1; i >= 0 && found === null; i--) if (i32[b + i] > t.C[i]) found = { write: false, atomic: false, who: SEVERAL, site: 0, pid: 0, sys: 0 };
      sh.freeClock(rtid);
      i32[s + R_CLK] = 0;
      i32[s + R_TID] = 0;
      return found;
    }
    if (rtid === 0 || rclk <= t.C[(rtid & TID_MASK) - 1]) return null;
    return this.accessOf(addr, rtid, rclk, SITE_READ, false, false);
  }

  /** The field's last write (W_TID non-zero), for a report. */
  private lastWrite(addr: Addr, s: number): Access {
    const wtid = this.sh.i32[s + W_TID];
    return this.accessOf(addr, wtid, this.sh.i32[s + W_CLK], SITE_WRITE, true, (wtid & MARKED) !== 0);
  }

  /** One side of a pair: the access stamped with tid word `tid` at clock `epoch`, its function at site word `site` (F_SITE words). */
  private accessOf(addr: Addr, tid: number, epoch: number, site: number, write: boolean, atomic: boolean): Access {
    const id = this.sh.identity(tid, epoch);
    const fn = this.flags[addr] & F_SITE ? this.sh.i32[this.sh.site(addr) + site] : 0;
    if (id === null) return { write, atomic, who: UNKNOWN, site: fn, pid: 0, sys: 0 };
    return { write, atomic, who: id.who, site: fn, pid: id.pid, sys: id.sys };
  }

  /**
   * The tid word of t's stamps: its dtid and its entry in the identity log, appended when its
   * pid or system call changed since (a thread's first stamp finds sysName null).
   */
  private tidOf(t: DThread, td: DetectThread): number {
    if (td.syscall === t.sysName && td.pid === this.tidPids[t.slot]) return this.tids[t.slot];
    if (td.syscall !== t.sysName) {
      t.sysName = td.syscall;
      t.sysId = this.sysId(td.syscall);
    }
    this.tidPids[t.slot] = td.pid;
    return (this.tids[t.slot] = this.sh.logIdentity(t.d, t.C[t.d], (this.cfg.cpu << 16) | t.slot, td.pid, t.sysId));
  }

  /** The function making this access, at site word `which` of an F_SITE word (a second run's). */
  private stampSite(addr: Addr, which: number): void {
    this.sh.i32[this.sh.site(addr) + which] = this.sh.nameId(kernelFunction());
  }

  /** Fields reported with an unknown earlier function: a second run records them (controlled modes). */
  readonly sitesWanted = new Set<number>();

  private sysId(name: string): number {
    let id = this.sysIds.get(name);
    if (id === undefined) this.sysIds.set(name, (id = this.sh.nameId(name || "(no system call)")));
    return id;
  }

  // ---------------------------------------------------------------- non-atomic-update

  private noteRead(t: DThread, addr: Addr, version: number): void {
    const w = addr & (RMW_WAYS - 1);
    this.notesOf(t).rmwAddr[w] = addr;
    t.rmwVer[w] = version;
    t.rmwSw[w] = t.switches;
    t.rmwGen[w] = this.generationAt(addr);
  }

  /** The generation of the record holding addr (its header word). */
  private generationAt(addr: Addr): number {
    return this.generationOf(this.recBase[addr]);
  }

  /** The generation of the record at `base` (0 for -1: no record). */
  private generationOf(base: number): number {
    return base < 0 ? 0 : this.i32[base + HDR_GEN];
  }

  /** This thread's own write moves its remembered version along (it is no one else's update). */
  private notedWrite(t: DThread, addr: Addr, version: number): void {
    const w = addr & (RMW_WAYS - 1);
    if (this.notesOf(t).rmwAddr[w] === addr) t.rmwVer[w] = version;
  }

  /** This thread read addr earlier in its current path: no switch of its own since, the same record. */
  private readInPath(t: DThread, addr: Addr): boolean {
    const w = addr & (RMW_WAYS - 1);
    return this.notesOf(t).rmwAddr[w] === addr && t.rmwSw[w] === t.switches && t.rmwGen[w] === this.generationAt(addr);
  }

  /**
   * Another thread's write between this thread's read and its plain write, with no switch of its
   * own between, and not ordered before this write. A write that is ordered before it reached this
   * thread through a lock it took again after its read (expand_pid_table retakes proc_lock after
   * proc_alloc_pid read the full table's last link, and rewrites that entry from what it reads
   * under the new hold): the kernel re-reads what it needs after such a take, and whether the
   * store rests on the old load or a new one is data flow the detector cannot see -- silent, as
   * across a switch.
   */
  private lostUpdate(t: DThread, addr: Addr, s: number, before: number): Access | null {
    if (!this.readInPath(t, addr) || t.rmwVer[addr & (RMW_WAYS - 1)] === before) return null;
    // Every write that moves a version stamps itself under the same lock: the last write is the other's, or a later one's.
    return this.unorderedWrite(t, addr, s);
  }

  // ---------------------------------------------------------------- stale pointers

  /**
   * A handle read from a handle field: a recheck field's is remembered while a token covers it;
   * any fresh load forgets an older one of the same record.
   */
  private load(t: DThread, addr: Addr, b: Addr, to: number): void {
    if (t.readAt.size >= MAX_LOADS) t.readAt.clear();
    t.readAt.set(addr, ++t.seq, this.generationOf(b));
    const guarded = (to & TO_RECHECK) !== 0;
    // Nothing to forget and nothing to remember (no token held, or a field that is no recheck one).
    if (t.loads.size === 0 && (!guarded || t.guardSeq.length === 0)) return;
    const h = this.i32[addr];
    if (h === 0) return;
    const table = this.tables[(to >>> TO_SHIFT) - 1];
    const slot = (h & 0xffff) - 1;
    if (slot < 0 || slot >= table.capacity) return;
    const base = table.recordBase(slot);
    if (!guarded || t.guardSeq.length === 0 || t.owned.has(b)) return t.loads.delete(base);
    t.putLoad(base, ++t.seq, addr, h >>> 16);
  }

  /**
   * missed-recheck: the thread overwrites a handle field it read before it could have blocked
   * (a switch, or a take that may sleep), without reading it again -- the decision to write was
   * made on a value that may have changed meanwhile (reaper_get's collapse re-checks
   * reap->parent after retaking reap->lock exclusively, 000:1163-1165). Records the thread has to
   * itself, and its own, are exempt: nobody else writes them meanwhile. So is a record freed and
   * allocated again since the read: the write is to a new record (lwp_fork's fresh lwp in a slot
   * the thread read while it held another lwp), and no decision rests on the old one's field.
   */
  private handleWrite(t: DThread, td: DetectThread, addr: Addr, b: Addr): void {
    const gen = this.generationOf(b);
    const read = t.readAt.set(addr, ++t.seq, gen);
    if (read < 0 || read > t.blockSeq || t.readAt.replacedGen !== gen) return;
    if (t.owned.has(b) || t.isOwn(b) || this.namesOwn(t, addr)) return;
    const here = kernelFunction();
    this.reportOnce(
      "missed-recheck",
      `${this.img.classOf(addr)}\0${here}`,
      () => `${this.who(td)} in ${here} writes ${this.img.describe(addr)} on a value it read before it could have blocked (a switch, or a take that may sleep), without reading it again: the field may have changed meanwhile`,
    );
  }

  /** Does the handle field at addr name one of the thread's own records (reap->p of its own process: only it changes that)? */
  private namesOwn(t: DThread, addr: Addr): boolean {
    const h = this.i32[addr];
    const target = this.handleTo[addr] >>> TO_SHIFT;
    if (h === 0 || target === 0) return false;
    const table = this.tables[target - 1];
    const slot = (h & 0xffff) - 1;
    return slot >= 0 && slot < table.capacity && t.isOwn(table.recordBase(slot));
  }

  /** The thread touches the record at `b` (-1: none) containing addr: is its pointer to it one loaded before its tokens went? */
  private use(t: DThread, td: DetectThread, addr: Addr, b: Addr): void {
    if (b < 0 || (b === t.missBase && t.loadSets === t.missAt)) return; // a thread uses one record's fields in a row
    const { loads } = t;
    const i = loads.indexOf(b);
    if (i < 0) {
      t.missBase = b;
      t.missAt = t.loadSets;
      return;
    }
    if (loads.gen[i] !== (this.i32[b + HDR_GEN] & GEN_MASK)) {
      loads.removeAt(i); // freed since: the use-after-free check's business
      return;
    }
    if (t.heldSince(loads.seq[i])) return; // a token held at the load is still held
    if (t.holds.has(b) || t.owned.has(b) || t.isOwn(b)) return;
    const from = loads.from[i];
    loads.removeAt(i);
    const here = kernelFunction();
    const rec = this.img.describe(b + HDR_WORDS).replace(/\.[^.]*$/, "");
    this.reportOnce(
      "stale-pointer",
      `${this.img.classOf(from)}\0${here}`,
      () => `${this.who(td)} in ${here} uses ${rec} (${this.img.describe(addr)}) through a handle it loaded from ${this.img.describe(from)} ` +
        `while holding tokens it has given up since (a block drops them all), not loaded again and with no hold of its own on it`,
    );
  }

  // ---------------------------------------------------------------- reports

  private who(td: DetectThread): string {
    return `cpu ${this.cfg.cpu} thread ${slotOf(td.h)} (pid ${td.pid}${td.syscall ? `, ${td.syscall}` : ""})`;
  }

  private describeSide(a: Access): string {
    const kind = `${a.atomic ? "atomic " : ""}${a.write ? "write" : "read"}`;
    if (a.who === SEVERAL) return `${kind} by one of the threads that read it since its last write`;
    if (a.who === UNKNOWN) return `${kind} by an unknown thread (the detector's log of threads has moved past it)`;
    const sys = this.sh.name(a.sys);
    const site = a.site !== 0 ? this.sh.name(a.site) : null;
    return `${kind} by cpu ${(a.who >>> 16) & 0x3f} thread ${a.who & 0xffff} (pid ${a.pid}${sys && sys !== "(no system call)" ? `, ${sys}` : ""})${site ? ` in ${site}` : ""}`;
  }

  private race(td: DetectThread, addr: Addr, prior: Access, write: boolean, atomic: boolean): void {
    if (!this.sh.reportable()) return;
    if (prior.site === 0) this.sitesWanted.add(addr);
    const here = kernelFunction();
    const kind = `${atomic ? "atomic " : ""}${write ? "write" : "read"}`;
    this.reportOnce(
      "data-race",
      `${this.img.classOf(addr)}\0${prior.site}\0${here}`,
      () => `data race on ${this.img.describe(addr)}: ${kind} by ${this.who(td)} in ${here}, and an earlier ${this.describeSide(prior)}, not ordered before it by any lock, token, wakeup or ordered atomic`,
    );
  }

  /** Report `law` once per key (the field's class and the kernel functions, say); the message is made only then. */
  private reportOnce(law: string, key: string, message: () => string): void {
    const dedupe = `${law}\0${key}`;
    if (this.reported.has(dedupe)) return;
    this.reported.add(dedupe);
    violation(law, message());
  }

  private plainCount(td: DetectThread, addr: Addr, why: string): void {
    if (!this.sh.reportable()) return;
    const here = kernelFunction();
    this.reportOnce(
      "plain-count-write",
      `${this.img.classOf(addr)}\0${here}`,
      () => `plain store to ${this.img.describe(addr)} by ${this.who(td)} in ${here}: a word the kernel changes only with atomics (${this.flags[addr] & F_COUNT ? "refcount, PHOLD, LWPHOLD" : "declared so beside the field"}), in use by others (${why}) -- an update another holder makes between this thread's load and its store is lost`,
    );
  }

  private nonAtomic(td: DetectThread, addr: Addr, other: Access): void {
    if (!this.sh.reportable()) return;
    if (other.site === 0) this.sitesWanted.add(addr);
    const here = kernelFunction();
    this.reportOnce(
      "non-atomic-update",
      `${this.img.classOf(addr)}\0${here}`,
      () => `non-atomic update of ${this.img.describe(addr)}: ${this.who(td)} in ${here} read it and wrote it back with no switch between, and in between a ${this.describeSide(other)}: that update is lost`,
    );
  }
}

/**
 * The kernel function making the current access, and its caller: the first frames outside the
 * accessors, the primitives and the detectors ("children_insert_head < fork1").
 */
export function kernelFunction(): string {
  const frames = callSites(10, kernelFunction);
  const names: string[] = [];
  for (const f of frames) {
    const file = f.getFileName() ?? "";
    if (/[/\\]src[/\\](shm|sync|detect)[/\\]|^forkstorm:/.test(file) || file === "") continue;
    names.push(f.getFunctionName() ?? sourceLine(f));
    if (names.length === 2) break;
  }
  return names.length ? names.join(" < ") : "(runtime)";
}
