/*
 * What the detectors keep per kernel thread, in the thread's own cpu (threads never migrate, so
 * only that cpu ever touches it): its vector clock, the last plain reads it made (for
 * non-atomic-update), and the pointers it loaded, the locks it holds and the holds it took (for
 * stale-pointer).
 *
 * A cpu starts and ends a thread per fork, so an ended thread's state is kept for the next one
 * (reset), not rebuilt: typed arrays and maps made once, fields assigned in the constructor (a
 * class field at ES2022 is a defineProperty per instance).
 */

/** Plain reads remembered per thread, direct-mapped by address: a miss can only hide an update. */
export const RMW_WAYS = 64;
/** Loaded pointers remembered per thread: past this, the oldest are forgotten (a miss, never a false report). */
export const MAX_LOADS = 256;

/**
 * Event counts by image word (non-negative): what a Map<number, number> of them does, as an
 * open-addressing table in typed arrays. A Map's set and get hash through the runtime and grow
 * its backing store, per handle-field read (a third of the stale-pointer check's time in a
 * DragonFly worker); and clear() here is one increment (a slot is in use only while its mark is
 * the table's).
 */
export class SeqByAddr {
  private keys = new Int32Array(64);
  private vals = new Int32Array(64);
  /** The generation of the record holding the key's word when the entry was set. */
  private gens = new Int32Array(64);
  private marks = new Int32Array(64);
  private mark = 1;
  /** Entries in use; at most half the slots (the table doubles past that). */
  size = 0;
  /** The generation stored with the entry the last set() replaced, -1 when it added one. */
  replacedGen = -1;

  /**
   * `addr`'s count is now seq (with the record generation gen): returns the count it replaces, -1
   * when none (and its generation in replacedGen). One probe for the look and the store: a handle
   * write asks what the last read was and records itself.
   */
  set(addr: number, seq: number, gen = 0): number {
    const { keys, marks } = this;
    const mask = keys.length - 1;
    let i = slotHash(addr) & mask;
    for (; marks[i] === this.mark; i = (i + 1) & mask) {
      if (keys[i] === addr) {
        const before = this.vals[i];
        this.replacedGen = this.gens[i];
        this.vals[i] = seq;
        this.gens[i] = gen;
        return before;
      }
    }
    marks[i] = this.mark;
    keys[i] = addr;
    this.vals[i] = seq;
    this.gens[i] = gen;
    this.replacedGen = -1;
    if (++this.size * 2 > keys.length) this.grow();
    return -1;
  }

  clear(): void {
    this.size = 0;
    if (++this.mark === 0x7fffffff) {
      this.marks.fill(0);
      this.mark = 1;
    }
  }

  private grow(): void {
    const { keys, vals, gens, marks, mark } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.vals = new Int32Array(keys.length * 2);
    this.gens = new Int32Array(keys.length * 2);
    this.marks = new Int32Array(keys.length * 2);
    this.mark = 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (marks[i] === mark) this.set(keys[i], vals[i], gens[i]);
  }
}

/** Image words of one record are consecutive: spread them over the table. */
const slotHash = (addr: number) => Math.imul(addr, 0x9e3779b1) >>> 16;

/**
 * Pointers a thread loaded under a token, by the base word of the record each names, oldest
 * first: what a Map in insertion order does here, as parallel typed arrays searched from the
 * newest. A system call keeps a few (1-17 in a DragonFly fork) and every field access asks, so a
 * short scan beats a Map's hashing, and a load makes no object. Invariant: bases are distinct
 * (add's caller deletes the record's older load first), so a delete and an add put the record
 * last, as Map.delete and Map.set did.
 */
export class Loads {
  private readonly bases = new Int32Array(MAX_LOADS);
  /** This thread's event count at each load (a double: counts are not bounded by a Smi). */
  readonly seq = new Float64Array(MAX_LOADS);
  /** The image word each was loaded from. */
  readonly from = new Int32Array(MAX_LOADS);
  /** The generation of the record each handle named. */
  readonly gen = new Int32Array(MAX_LOADS);
  size = 0;

  /** The index of the load of the record at `base`, or -1. */
  indexOf(base: number): number {
    const { bases } = this;
    for (let i = this.size - 1; i >= 0; i--) if (bases[i] === base) return i;
    return -1;
  }

  /**
   * The load of the record at `base` is now this one, the newest: an older one of the record is
   * forgotten (in place when it is the newest already, as most re-loads find it), and past
   * MAX_LOADS the oldest.
   */
  put(base: number, seq: number, from: number, gen: number): void {
    const last = this.size - 1;
    if (last >= 0 && this.bases[last] === base) {
      this.seq[last] = seq;
      this.from[last] = from;
      this.gen[last] = gen;
      return;
    }
    this.delete(base);
    this.add(base, seq, from, gen);
  }

  /** Remember a load of the record at `base` (none of it held): past MAX_LOADS the oldest is forgotten. */
  private add(base: number, seq: number, from: number, gen: number): void {
    if (this.size === MAX_LOADS) this.removeAt(0);
    const i = this.size++;
    this.bases[i] = base;
    this.seq[i] = seq;
    this.from[i] = from;
    this.gen[i] = gen;
  }

  delete(base: number): void {
    const i = this.indexOf(base);
    if (i >= 0) this.removeAt(i);
  }

  /**
   * Forget load i; the newer ones move down, keeping their order. A loop, not copyWithin: a few
   * entries move (a load of a record already loaded moves it from near the end), and four
   * builtin calls cost more than that.
   */
  removeAt(i: number): void {
    const end = --this.size;
    const { bases, seq, from, gen } = this;
    for (let j = i; j < end; j++) {
      bases[j] = bases[j + 1];
      seq[j] = seq[j + 1];
      from[j] = from[j + 1];
      gen[j] = gen[j + 1];
    }
  }

  clear(): void {
    this.size = 0;
  }
}

/**
 * A count per record base, none kept at 0: what a Map<number, number> does here (a thread's
 * holds; the records it owns, at 1), as two arrays scanned. A thread has a few at a time (a
 * fork's PHOLDs, kern_wait's LWPHOLD) and most have none, where every pointer use asks: a Map's
 * has() is a builtin call and a hash even when empty, and its clear() at every thread start
 * makes a new table.
 */
export class RecordCounts {
  /** Entries [0, size) are in use: the arrays never shrink (an array's length set is a runtime call, ~0.1 us even when empty). */
  private readonly bases: number[];
  private readonly counts: number[];
  declare size: number;

  constructor() {
    this.bases = [];
    this.counts = [];
    this.size = 0;
  }

  private indexOf(base: number): number {
    const { bases } = this;
    for (let i = this.size - 1; i >= 0; i--) if (bases[i] === base) return i;
    return -1;
  }

  has(base: number): boolean {
    return this.indexOf(base) >= 0;
  }

  /** The count at `base`, 0 when none. */
  get(base: number): number {
    const i = this.indexOf(base);
    return i < 0 ? 0 : this.counts[i];
  }

  /** The count at `base` is now n (0 or below: none). */
  set(base: number, n: number): void {
    const i = this.indexOf(base);
    if (n > 0) {
      if (i >= 0) this.counts[i] = n;
      else if (this.size === this.bases.length) {
        this.bases.push(base);
        this.counts.push(n);
        this.size++;
      } else {
        this.bases[this.size] = base;
        this.counts[this.size++] = n;
      }
      return;
    }
    if (i < 0) return;
    // Order is nothing here: the last takes the gone one's place.
    const last = --this.size;
    this.bases[i] = this.bases[last];
    this.counts[i] = this.counts[last];
  }

  clear(): void {
    this.size = 0;
  }
}

export class DThread {
  /** FastTrack's C_t: what this thread has seen of every detector thread, its own clock at [d]. */
  readonly C: Int32Array;
  /** Runtime thread slot. */
  declare slot: number;
  /** Detector thread id; -1 when none could be had (the race detector stood down). */
  declare d: number;
  /** Switches so far: a read and a write with a switch between are not one update. */
  declare switches: number;
  readonly rmwAddr: Int32Array;
  readonly rmwVer: Int32Array;
  readonly rmwSw: Int32Array;
  /** The record's generation at the read: a read of a freed record's field and a write to its next owner's are not one update. */
  readonly rmwGen: Int32Array;
  /** Free mode: the sampling window the rmw notes were made in (Detector.notesOf); -1 in controlled modes. */
  declare notesWindow: number;
  /** Events (lock takes, pointer loads) so far, ordering the two. */
  declare seq: number;
  /**
   * Tokens held, in order taken, and this thread's event count when each was taken (or last
   * counted as retaken). Invariant: guardSeq increases along the stack -- a take pushes a fresh
   * count, a possible block renumbers them all in order, a release removes one -- so the oldest
   * count is guardSeq[0].
   */
  readonly guardAddr: number[];
  readonly guardSeq: number[];
  /** Pointers loaded from recheck fields under a token, by the base word of the record they name. */
  readonly loads: Loads;
  /** loads.add calls so far: a record found without a load stays so until the next (use's miss memo). */
  declare loadSets: number;
  /** The last record use() found no load for, as of loadSets = missAt. */
  declare missBase: number;
  declare missAt: number;
  /** Holds taken on records (PHOLD, LWPHOLD, refcounts), by record base. */
  readonly holds: RecordCounts;
  /** This thread's event count at its last switch or point where it may have blocked. */
  declare blockSeq: number;
  /** Handle fields this thread read, by address, with the event count of the read (missed-recheck). */
  readonly readAt: SeqByAddr;
  /** Records this thread has to itself (PHOLDZOMB, a refcount it took to 0), at 1: their fields cannot change under it. */
  readonly owned: RecordCounts;
  /**
   * Record bases of this thread's own thread, lwp and process (-1: none): they cannot go away
   * under it. Three words, not an array: set at every thread start, asked at pointer uses.
   */
  declare ownTd: number;
  declare ownLwp: number;
  declare ownProc: number;
  /** The system call the last stamp was made in, and its name id (the shadow's). */
  declare sysName: string | null;
  declare sysId: number;
  /**
   * An ordered atomic in flight: the word it published at before operating (-1: none), and the
   * generation of the record holding it then. Its report after the operation is for that record
   * only (the operation may have dropped the thread's last right to it).
   */
  declare atomicAt: number;
  declare atomicGen: number;

  constructor(slot: number, width: number) {
    this.C = new Int32Array(width);
    this.rmwAddr = new Int32Array(RMW_WAYS);
    this.rmwVer = new Int32Array(RMW_WAYS);
    this.rmwSw = new Int32Array(RMW_WAYS);
    this.rmwGen = new Int32Array(RMW_WAYS);
    this.guardAddr = [];
    this.guardSeq = [];
    this.loads = new Loads();
    this.holds = new RecordCounts();
    this.readAt = new SeqByAddr();
    this.owned = new RecordCounts();
    this.reset(slot);
  }

  /** The state of a fresh thread in `slot` (the constructor's last step; the scalars are declared for it). */
  reset(slot: number): void {
    this.C.fill(0);
    this.forgetReads();
    // (Setting an array's length is a runtime call even when it is 0 already: a thread mostly ends with none held.)
    if (this.guardAddr.length !== 0) {
      this.guardAddr.length = 0;
      this.guardSeq.length = 0;
    }
    this.loads.clear();
    this.holds.clear();
    this.readAt.clear();
    this.owned.clear();
    this.slot = slot;
    this.d = -1;
    this.switches = 0;
    this.notesWindow = -1;
    this.seq = 0;
    this.loadSets = 0;
    this.missBase = -1;
    this.missAt = 0;
    this.blockSeq = 0;
    this.ownTd = -1;
    this.ownLwp = -1;
    this.ownProc = -1;
    this.sysName = null;
    this.sysId = 0;
    this.atomicAt = -1;
    this.atomicGen = 0;
  }

  /** No read so far can be the load of an update this thread writes back (non-atomic-update). */
  forgetReads(): void {
    this.rmwAddr.fill(-1); // the other rmw words are read only where rmwAddr matches
  }

  /** Is the record at `base` one of this thread's own (its thread, lwp or process)? */
  isOwn(base: number): boolean {
    return base >= 0 && (base === this.ownTd || base === this.ownProc || base === this.ownLwp);
  }

  /** Took token `addr`. */
  pushGuard(addr: number): void {
    this.guardAddr.push(addr);
    this.guardSeq.push(++this.seq);
  }

  /** Gave token `addr` back: its innermost take goes (no array made, unlike splice). */
  dropGuard(addr: number): void {
    const a = this.guardAddr;
    const q = this.guardSeq;
    let i = a.length - 1;
    while (i >= 0 && a[i] !== addr) i--;
    if (i < 0) return;
    for (; i < a.length - 1; i++) {
      a[i] = a[i + 1];
      q[i] = q[i + 1];
    }
    a.pop();
    q.pop();
  }

  /** Every token held counts as given up and taken back now (in order: the invariant holds). */
  renumberGuards(): void {
    const q = this.guardSeq;
    for (let i = 0; i < q.length; i++) q[i] = ++this.seq;
  }

  /** Is a token held now one that was held at event count `seq`? (The oldest is guardSeq[0].) */
  heldSince(seq: number): boolean {
    return this.guardSeq.length !== 0 && this.guardSeq[0] < seq;
  }

  /** Remember a pointer load of the record at `base`, in place of any older one of it. */
  putLoad(base: number, seq: number, from: number, gen: number): void {
    this.loads.put(base, seq, from, gen);
    this.loadSets++;
  }
}
