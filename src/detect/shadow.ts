/*
 * The detectors' shadow memory: a second SharedArrayBuffer beside the kernel image, made by the
 * orchestrator and attached by every cpu, so what one cpu learned of a field (who wrote it last,
 * at which clock) is what the next cpu to touch it checks against.
 *
 * Layout (Int32 words):
 *  - a header of locks and counters (H_*);
 *  - the detector-thread table: per runtime thread slot its detector thread id (dtid + 1), per
 *    dtid its owner and its wake clock (the vector clock wakers publish into, see hb.ts);
 *  - per image word, FW words read by every check: the epochs of the field's last write and
 *    last read (FastTrack), a lock word, the word's sync clocks, and its write version
 *    (non-atomic-update) -- 32 bytes, two fields to a cache line. Free mode checks the accesses
 *    to a sample of the image (detector.ts watched) and leaves the rest alone, so a check finds
 *    every word it needs in this one line;
 *  - per image word, SITES words read only by a report, and written only for the words a second
 *    run records sites at (detector.ts F_SITE): the functions of the last write, the last read,
 *    and, read-shared, the reader before the last;
 *  - the identity log: per dtid a ring of LOG_N entries, each who made an access, in which
 *    process and system call. A stamp's tid word names its entry (TID_MASK, SEQ_SHIFT), so a
 *    check stores two words in the field's line and no report side (32 more bytes per word, on
 *    another cold line: a tenth of a checked fork's time). A thread appends when its pid or its
 *    system call changed since its last entry (a few times per system call, not per access);
 *  - a pool of vector clocks, each VC_HDR words of header then one clock per dtid; a read clock
 *    (R_CLK SHARED) keeps the tid words of its last reader and the one before in its header;
 *  - a string table: function names recorded by one cpu, named in a report by another;
 *  - per block of 2^BLOCK_SHIFT image words, a 16-bit mask: bit i set once the field shadow of
 *    the block's word i has been written since it was last cleared. A freed record's shadow is
 *    cleared word by word where marked, and a word nothing wrote is not read at all (free mode
 *    writes few: it watches few blocks; and a record's checked fields are a third of its words).
 *
 * Dtids are compact (lowest free first) so vector-clock loops stop at the high-water mark of
 * threads alive at once (H_HWM), not at the thread table's capacity. In controlled modes one cpu
 * runs at a time and nothing here needs a lock, nor does free mode on one cpu; free mode on
 * several (`concurrent`) takes the lock word of what a multi-word update updates.
 */
import { wmesgId } from "../shm/core.js";

// ---- header
const H_POOL_LOCK = 0;
const H_POOL_FREE = 1; // a free vector clock (its next link in VC_NEXT), 0 = none
const H_POOL_NEXT = 2; // the first never-used vector clock
const H_DTID_LOCK = 3;
const H_HWM = 4; // dtids in use: every live dtid is below it
const H_EXHAUSTED = 5; // 1: the pool or the dtids ran out; the race detector stood down
const H_STR_LOCK = 6;
const H_STR_COUNT = 7;
const H_STR_CHARS = 8;
const H_WINDOW = 9; // free mode: the sampling window every cpu watches (detector.ts watched), a count
const HEADER = 16;

// ---- per image word, checked at every access (Shadow.at)
/** A block is 2^BLOCK_SHIFT image words: what free mode watches (detector.ts), what the written marks cover. */
export const BLOCK_SHIFT = 4;

/** Words of a field's checked shadow. */
export const FW = 8;
export const W_CLK = 0; // clock of the last write
export const W_TID = 1; // its dtid + 1 (0: never written), | MARKED for an atomic write
export const R_CLK = 2; // clock of the last read; SHARED: R_TID holds a vector clock of reads
export const R_TID = 3; // its dtid + 1 (0: not read since the last write covered the reads)
export const LOCK = 4; // free mode: the field's shadow lock (it also guards the field's version)
export const SYNC_L = 5; // vector clock of exclusive releases and ordered atomics at this word
export const SYNC_LR = 6; // vector clock of shared (reader) releases
export const VERSION = 7; // writes so far (non-atomic-update), changed under LOCK

// ---- per image word, for reports on F_SITE words (Shadow.site)
export const SITES = 3;
export const SITE_WRITE = 0; // function-name id of the last write (valid while W_TID is non-zero)
export const SITE_READ = 1; // of the last read (valid while R_TID is non-zero)
export const SITE_PREV = 2; // read-shared: of the reader before the last (valid while VC_PREV is non-zero)

// ---- tid words: W_TID, R_TID (not read-shared), VC_LAST, VC_PREV
/** A tid word's dtid + 1 (0: none). */
export const TID_MASK = 0x1ff;
/** Above TID_MASK, below MARKED: the stamper's entry in the identity log, by its sequence number (mod SEQ_MASK + 1). */
export const SEQ_SHIFT = 9;
const SEQ_MASK = (1 << 21) - 1;
/** Entries of a dtid's ring. A stamp older than LOG_N appends of its dtid reports "an unknown thread". */
export const LOG_N = 256;
/** An identity among its dtid's last LOG_REUSE entries is not appended again: a NetBSD parent goes "", fork, "", wait, "", fork ... */
const LOG_REUSE = 4;
const LOG_W = 8;
const L_SEQ = 0; // the entry's sequence number (-1 while written)
const L_EPOCH = 1; // the dtid's clock when it was appended: every stamp naming it is at or past it
const L_WHO = 2; // cpu << 16 | runtime thread slot
const L_PID = 3;
const L_SYS = 4; // name id of the system call

/** Who made an access, from the identity log. */
export interface Identity {
  /** cpu << 16 | runtime thread slot. */
  who: number;
  pid: number;
  /** Name id of its system call. */
  sys: number;
}
/** In W_TID: the last write was an atomic (a marked access: atomics never race each other). */
export const MARKED = 0x40000000;
export const SHARED = -1;

// ---- vector clocks
export const VC_LOCK = 0;
/** One word saying what the clock is (clock.ts): 0 all zeros, (d + 1) << PURE_SHIFT | c exactly dtid d's clock at c, -1 mixed. */
export const VC_PURE = 1;
const VC_NEXT = 2; // while the clock is free
/** A read clock's: the tid word of its last reader (VC_NEXT's word: a clock in use has none). */
export const VC_LAST = 2;
/** A read clock's: the tid word of the reader before the last, when another thread (0: none). */
export const VC_PREV = 3;
export const VC_HDR = 4;
export const PURE_SHIFT = 22;
export const PURE_MAX = 1 << PURE_SHIFT;

// ---- strings
const STR_ENTRIES = 4096;
const STR_CHARS = 1 << 17;
const STR_WORDS = STR_ENTRIES * 3 + STR_CHARS / 2;

/** The most detector threads a shadow can have: a pure tag keeps dtid + 1 in 9 bits. */
export const MAX_DTIDS = 510;
/** Free mode: spins on a shadow lock before the spinner yields its core for a moment. */
const LOCK_SPINS = 64;

export interface ShadowSize {
  /** Words of the kernel image (one field shadow each). */
  imageWords: number;
  /** Detector threads alive at once (the vector clocks' width). */
  dtids: number;
  /** Runtime thread slots (the thread table's capacity). */
  threads: number;
  /** Vector clocks in the pool. */
  clocks: number;
}

/** The pool's default size: read-shared fields, sync objects and wake clocks alive at once. */
export const DEFAULT_CLOCKS = 8192;

function layout(s: ShadowSize) {
  const dtidOf = HEADER;
  const ownerOf = dtidOf + s.threads;
  const wakeOf = ownerOf + s.dtids;
  const fields = (wakeOf + s.dtids + 15) & ~15; // cache-line aligned: a field's FW words in one line
  const logs = fields + s.imageWords * FW; // 32-byte aligned: an entry in one half line
  const logHeads = logs + s.dtids * LOG_N * LOG_W;
  const sites = logHeads + s.dtids;
  // Clocks start on a cache line: the header and the first 12 entries (or a read clock's VC_LAST
  // and its reader's entry) share one, and the entries below the mark of a thread count near
  // 20 take two lines, not three for a clock starting late in its first.
  const pool = (sites + s.imageWords * SITES + 15) & ~15;
  const vcWords = (VC_HDR + s.dtids + 15) & ~15;
  const strings = pool + (s.clocks + 1) * vcWords; // clock 0 is never handed out
  const written = strings + STR_WORDS;
  const blocks = (s.imageWords >>> BLOCK_SHIFT) + 1;
  return { dtidOf, ownerOf, wakeOf, fields, logs, logHeads, sites, pool, vcWords, strings, written, words: written + ((blocks + 1) >>> 1) };
}

export function shadowBytes(s: ShadowSize): number {
  return layout(s).words * 4;
}

export class Shadow {
  readonly i32: Int32Array;
  readonly dtidOf: number;
  readonly ownerOf: number;
  readonly wakeOf: number;
  readonly fields: number;
  private readonly logs: number;
  private readonly logHeads: number;
  private readonly sites: number;
  readonly pool: number;
  readonly vcWords: number;
  private readonly strings: number;
  private readonly chars: Uint16Array;
  /** Per block, bit i set once its word i's field shadow was written since its last clear (wrote, clean). */
  private readonly written: Uint16Array;
  /** Names this cpu knows, by id (its own and those it looked up). */
  private readonly names = new Map<number, string>();

  constructor(
    readonly sab: SharedArrayBuffer,
    readonly size: ShadowSize,
    /** Free mode on several cpus: they run at once, so multi-word updates lock. */
    readonly concurrent: boolean,
  ) {
    const l = layout(size);
    if (size.dtids > MAX_DTIDS) throw new Error(`shadow: ${size.dtids} detector threads, at most ${MAX_DTIDS}`);
    if (sab.byteLength < l.words * 4) throw new Error(`shadow: ${sab.byteLength} bytes, layout needs ${l.words * 4}`);
    this.i32 = new Int32Array(sab);
    this.dtidOf = l.dtidOf;
    this.ownerOf = l.ownerOf;
    this.wakeOf = l.wakeOf;
    this.fields = l.fields;
    this.logs = l.logs;
    this.logHeads = l.logHeads;
    this.sites = l.sites;
    this.pool = l.pool;
    this.vcWords = l.vcWords;
    this.strings = l.strings;
    this.chars = new Uint16Array(sab, (l.strings + STR_ENTRIES * 3) * 4, STR_CHARS);
    this.written = new Uint16Array(sab, l.written * 4, (size.imageWords >>> BLOCK_SHIFT) + 1);
  }

  static create(size: ShadowSize): SharedArrayBuffer {
    const sab = new SharedArrayBuffer(shadowBytes(size));
    new Int32Array(sab)[H_POOL_NEXT] = 1;
    return sab;
  }

  /** The field shadow of image word `addr`. */
  at(addr: number): number {
    return this.fields + addr * FW;
  }

  /** The site words of image word `addr` (SITE_WRITE, SITE_READ, SITE_PREV from here). */
  site(addr: number): number {
    return this.sites + addr * SITES;
  }

  /** The first clock of vector clock `vc`. */
  clocks(vc: number): number {
    return this.pool + vc * this.vcWords + VC_HDR;
  }

  /** Header word `w` of vector clock `vc`. */
  vcHeader(vc: number, w: number): number {
    return this.pool + vc * this.vcWords + w;
  }

  hwm(): number {
    return this.i32[H_HWM];
  }

  /** Read on every check: a plain load (the flag only ever goes 0 -> 1; a report looks again, see reportable). */
  exhausted(): boolean {
    return this.i32[H_EXHAUSTED] !== 0;
  }

  /** Before a report: has any cpu stood the detector down (an edge it missed could be this race)? */
  reportable(): boolean {
    return Atomics.load(this.i32, H_EXHAUSTED) === 0;
  }

  giveUp(): void {
    Atomics.store(this.i32, H_EXHAUSTED, 1);
  }

  /** Free mode's sampling window (a plain load: in the header line exhausted() reads at every check). */
  window(): number {
    return this.i32[H_WINDOW];
  }

  /** Move the window on from `from`, unless another cpu has already. */
  moveWindow(from: number): void {
    Atomics.compareExchange(this.i32, H_WINDOW, from, from + 1);
  }

  // ---------------------------------------------------------------- written marks

  /**
   * The field shadow of image word addr is about to be written. Marked before the write, with a
   * sequentially consistent update when cpus run at once: a free on another cpu marks its record
   * freeing and then reads the marks, and the only writes to a freeing record's shadow are an
   * ordered atomic's late report, which looks (live, under the field's lock) after its mark -- so
   * either the free sees the mark or the report sees the record freeing and writes nothing.
   */
  wrote(addr: number): void {
    const b = addr >>> BLOCK_SHIFT;
    const bit = 1 << (addr & ((1 << BLOCK_SHIFT) - 1));
    if ((this.written[b] & bit) !== 0) return;
    if (this.concurrent) Atomics.or(this.written, b, bit);
    else this.written[b] |= bit;
  }

  /**
   * Has the field shadow of image word addr been written since it was last cleared? If not, it is
   * all zero but for its lock word. Where another cpu may be marking it this moment, a false here
   * is a look before that cpu's mark, and so before its write.
   */
  marked(addr: number): boolean {
    const b = addr >>> BLOCK_SHIFT;
    return ((this.concurrent ? Atomics.load(this.written, b) : this.written[b]) & (1 << (addr & ((1 << BLOCK_SHIFT) - 1)))) !== 0;
  }

  /** The words of block b (bit i: its word i) whose field shadows were written since they were last cleared. */
  writtenIn(b: number): number {
    return this.concurrent ? Atomics.load(this.written, b) : this.written[b];
  }

  /** The words of block b in `mask` have clear field shadows again (a freed record's). */
  clean(b: number, mask: number): void {
    if (this.concurrent) Atomics.and(this.written, b, ~mask);
    else this.written[b] &= ~mask;
  }

  // ---------------------------------------------------------------- locks (free mode only)

  lock(w: number): void {
    if (!this.concurrent) return;
    // Held for a few loads and stores; but with more cpus than cores the holder may be off its
    // core, so a spinner soon gives its own up (a timed wait on the word, never notified).
    for (let spins = 0; Atomics.compareExchange(this.i32, w, 0, 1) !== 0; spins++) {
      if (spins >= LOCK_SPINS) Atomics.wait(this.i32, w, 1, 0.02);
    }
  }

  unlock(w: number): void {
    if (this.concurrent) Atomics.store(this.i32, w, 0);
  }

  // ---------------------------------------------------------------- the vector-clock pool

  /**
   * A zeroed vector clock, or 0 when the pool is empty (the caller stands the detector down).
   * Every write to a clock is at a dtid below the high-water mark of its time, and the mark only
   * rises: a clock's entries from the mark on were never written, and zeroing its header and the
   * entries below the mark zeroes it (17 of 256 entries in a fork-exit-wait run; the whole clock
   * was most of the cost of a fresh lock's first release). Where another cpu may raise the mark
   * at this moment (free mode on several cpus) the whole clock is zeroed.
   */
  allocClock(): number {
    const i32 = this.i32;
    this.lock(H_POOL_LOCK);
    let vc = i32[H_POOL_FREE];
    if (vc !== 0) i32[H_POOL_FREE] = i32[this.vcHeader(vc, VC_NEXT)];
    else if (i32[H_POOL_NEXT] <= this.size.clocks) vc = i32[H_POOL_NEXT]++;
    this.unlock(H_POOL_LOCK);
    // All but the lock word: a cpu may still hold it, copying or joining this clock for a record
    // freed meanwhile (an ordered atomic's late half, refcount.ts); the new owner waits for it.
    if (vc !== 0) i32.fill(0, this.vcHeader(vc, VC_LOCK + 1), this.clocks(vc) + (this.concurrent ? this.size.dtids : this.hwm()));
    return vc;
  }

  freeClock(vc: number): void {
    const i32 = this.i32;
    this.lock(H_POOL_LOCK);
    i32[this.vcHeader(vc, VC_NEXT)] = i32[H_POOL_FREE];
    i32[H_POOL_FREE] = vc;
    this.unlock(H_POOL_LOCK);
  }

  // ---------------------------------------------------------------- detector thread ids

  /** The dtid of runtime thread `slot`, given one (the lowest free) if it has none; -1 when all are taken. */
  dtid(slot: number): number {
    const i32 = this.i32;
    const d = i32[this.dtidOf + slot];
    if (d !== 0) return d - 1;
    this.lock(H_DTID_LOCK);
    let got = i32[this.dtidOf + slot] - 1;
    if (got < 0) {
      for (let k = 0; k < this.size.dtids; k++) {
        if (i32[this.ownerOf + k] !== 0) continue;
        i32[this.ownerOf + k] = slot + 1;
        i32[this.dtidOf + slot] = k + 1;
        if (k >= i32[H_HWM]) i32[H_HWM] = k + 1;
        got = k;
        break;
      }
    }
    this.unlock(H_DTID_LOCK);
    return got;
  }

  /** Thread `slot` ended: its dtid is free again (its wake clock stays, the next owner's clock goes on from it). */
  releaseDtid(slot: number): void {
    const i32 = this.i32;
    this.lock(H_DTID_LOCK);
    const d = i32[this.dtidOf + slot] - 1;
    if (d >= 0) i32[this.ownerOf + d] = 0;
    i32[this.dtidOf + slot] = 0;
    this.unlock(H_DTID_LOCK);
  }

  /** The wake clock of dtid d (allocated on first use; 0 when the pool is empty). */
  wakeClock(d: number): number {
    const w = this.wakeOf + d;
    let vc = this.i32[w];
    if (vc === 0) {
      this.lock(H_DTID_LOCK);
      vc = this.i32[w];
      if (vc === 0) this.i32[w] = vc = this.allocClock();
      this.unlock(H_DTID_LOCK);
    }
    return vc;
  }

  // ---------------------------------------------------------------- the identity log

  private logEntry(d: number, seq: number): number {
    return this.logs + (d * LOG_N + (seq & (LOG_N - 1))) * LOG_W;
  }

  /**
   * Dtid d, its clock at `epoch`, accesses as `who` in process pid and system call sys: the tid
   * word its stamps carry from here. Only d's owner appends to d's ring, and a dtid changes owner
   * under H_DTID_LOCK. The same identity as one of the last LOG_REUSE entries (a parent between
   * fork and wait) takes that entry's word again: it stays in the ring for LOG_N - LOG_REUSE
   * appends more, and a parent's ring stops filling.
   */
  logIdentity(d: number, epoch: number, who: number, pid: number, sys: number): number {
    const i32 = this.i32;
    const head = i32[this.logHeads + d];
    for (let n = head - 1; n >= 0 && n >= head - LOG_REUSE; n--) {
      const e = this.logEntry(d, n);
      if (i32[e + L_WHO] === who && i32[e + L_PID] === pid && i32[e + L_SYS] === sys) return d + 1 + ((n & SEQ_MASK) << SEQ_SHIFT);
    }
    // Another cpu may be reading the entry this overwrites (identity): it sees -1, or a changed sequence number after.
    const e = this.logEntry(d, head);
    if (this.concurrent) Atomics.store(i32, e + L_SEQ, -1);
    i32[e + L_EPOCH] = epoch;
    i32[e + L_WHO] = who;
    i32[e + L_PID] = pid;
    i32[e + L_SYS] = sys;
    if (this.concurrent) Atomics.store(i32, e + L_SEQ, head);
    else i32[e + L_SEQ] = head;
    i32[this.logHeads + d] = head + 1;
    return d + 1 + ((head & SEQ_MASK) << SEQ_SHIFT);
  }

  /**
   * Who made the access stamped with tid word `tid` (MARKED or not) at clock `epoch`, or null
   * when its entry has left the ring. An entry's sequence number names it among the ring's
   * passes, and its epoch catches a stamp 2^21 appends old whose number comes round again.
   */
  identity(tid: number, epoch: number): Identity | null {
    const i32 = this.i32;
    const d = (tid & TID_MASK) - 1;
    const seq = (tid >>> SEQ_SHIFT) & SEQ_MASK;
    const e = this.logEntry(d, seq);
    const at = Atomics.load(i32, e + L_SEQ);
    if (at < 0 || (at & SEQ_MASK) !== seq || i32[e + L_EPOCH] > epoch) return null;
    const found = { who: i32[e + L_WHO], pid: i32[e + L_PID], sys: i32[e + L_SYS] };
    return Atomics.load(i32, e + L_SEQ) === at ? found : null;
  }

  // ---------------------------------------------------------------- names of functions

  /** The id of a function name, published for other cpus the first time this cpu uses it. */
  nameId(name: string): number {
    const id = wmesgId(name);
    if (this.names.has(id)) return id;
    this.names.set(id, name);
    const i32 = this.i32;
    this.lock(H_STR_LOCK);
    if (this.findName(id) === null) {
      const n = i32[H_STR_COUNT];
      const off = i32[H_STR_CHARS];
      if (n < STR_ENTRIES && off + name.length <= STR_CHARS) {
        for (let i = 0; i < name.length; i++) this.chars[off + i] = name.charCodeAt(i);
        const e = this.strings + n * 3;
        i32[e] = id;
        i32[e + 1] = off;
        i32[e + 2] = name.length;
        i32[H_STR_CHARS] = off + name.length;
        Atomics.store(i32, H_STR_COUNT, n + 1);
      }
    }
    this.unlock(H_STR_LOCK);
    return id;
  }

  /** The function name behind an id (any cpu's), or null. */
  name(id: number): string | null {
    const known = this.names.get(id);
    if (known !== undefined) return known;
    const found = this.findName(id);
    if (found !== null) this.names.set(id, found);
    return found;
  }

  private findName(id: number): string | null {
    const i32 = this.i32;
    const n = Atomics.load(i32, H_STR_COUNT);
    for (let k = 0; k < n; k++) {
      const e = this.strings + k * 3;
      if (i32[e] === id) return String.fromCharCode(...this.chars.subarray(i32[e + 1], i32[e + 1] + i32[e + 2]));
    }
    return null;
  }
}
