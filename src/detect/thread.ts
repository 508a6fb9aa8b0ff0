/*
 * What the detectors keep per kernel thread, in the thread's own cpu (threads never migrate, so
 * only that cpu ever touches it): its vector clock, the last plain reads it made (for
 * non-atomic-update), and the pointers it loaded, the locks it holds and the holds it took (for
 * stale-pointer).
 */

/** Plain reads remembered per thread, direct-mapped by address: a miss can only hide an update. */
export const RMW_WAYS = 64;
/** Loaded pointers remembered per thread: past this, the oldest are forgotten (a miss, never a false report). */
export const MAX_LOADS = 256;

export interface Guard {
  /** The token held. */
  addr: number;
  /** This thread's event count when it took it. */
  seq: number;
}

export interface Load {
  /** This thread's event count at the load. */
  seq: number;
  /** The image word it was loaded from. */
  from: number;
  /** The generation of the record the handle named. */
  gen: number;
}

export class DThread {
  /** FastTrack's C_t: what this thread has seen of every detector thread, its own clock at [d]. */
  readonly C: Int32Array;
  /** Detector thread id; -1 when none could be had (the race detector stood down). */
  d = -1;
  /** Switches so far: a read and a write with a switch between are not one update. */
  switches = 0;
  readonly rmwAddr = new Int32Array(RMW_WAYS).fill(-1);
  readonly rmwVer = new Int32Array(RMW_WAYS);
  readonly rmwSw = new Int32Array(RMW_WAYS);
  /** The record's generation at the read: a read of a freed record's field and a write to its next owner's are not one update. */
  readonly rmwGen = new Int32Array(RMW_WAYS);
  /** Events (lock takes, pointer loads) so far, ordering the two. */
  seq = 0;
  /** Tokens held, in order taken. */
  readonly guards: Guard[] = [];
  /** Pointers loaded from recheck fields under a token, by the base word of the record they name. */
  readonly loads = new Map<number, Load>();
  /** Holds taken on records (PHOLD, LWPHOLD, refcounts), by record base. */
  readonly holds = new Map<number, number>();
  /** This thread's event count at its last switch or point where it may have blocked. */
  blockSeq = 0;
  /** Handle fields this thread read, by address, with the event count of the read (missed-recheck). */
  readAt = new Map<number, number>();
  /** Records this thread has to itself (PHOLDZOMB, a refcount it took to 0): their fields cannot change under it. */
  readonly owned = new Set<number>();
  /** Record bases of this thread's own thread, lwp and process: they cannot go away under it. */
  own: number[] = [];

  constructor(
    readonly slot: number,
    width: number,
  ) {
    this.C = new Int32Array(width);
  }
}
