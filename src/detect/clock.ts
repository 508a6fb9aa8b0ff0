/*
 * Vector-clock operations on the shadow's pool (FastTrack, Flanagan & Freund PLDI'09, section 4):
 * a thread's own clock lives in its cpu (threads never migrate), a sync object's in the shadow.
 *
 * Each pool clock carries a one-word tag: 0 while it is all zeros, (d + 1) << PURE_SHIFT | c while
 * it is exactly thread d's clock as of d's clock c (a lock last released by one thread, the common
 * case), else MIXED. A thread whose own view of d is at least c already knows everything a pure
 * clock holds, so acquiring it costs one comparison instead of a loop. That holds only while
 * every clock is read whole: an acquire copies a clock under the lock its joins take.
 *
 * Releasing into a clock that is pure of the releaser itself, at an epoch since which it learned
 * nothing (no entry of its clock rose: `learned`, its clock when one last did, is at most that
 * epoch), changes only the releaser's own entry: the clock is its clock then, and since then only
 * its own entry moved. A thread releasing the locks it took back and forth without learning of
 * another's releases -- most releases -- pays one store, not a loop. Every capture of a thread's
 * clock ends its epoch (release and wake step it after, exit ends the thread), so a rise in
 * epoch e came before a capture at e; and a dtid's next owner starts past every epoch of the last
 * (threadStart), so a pure tag of the last owner is never at or past the new one's `learned`
 * but for its exit into the wake clock the new owner's clock starts as.
 */
import { PURE_MAX, PURE_SHIFT, VC_LOCK, VC_PURE, type Shadow } from "./shadow.js";

const MIXED = -1;

/** C := C joined with pool clock vc (acquire). True when an entry of C rose. */
export function acquireClock(sh: Shadow, C: Int32Array, vc: number): boolean {
  if (vc === 0) return false;
  const i32 = sh.i32;
  const tag = i32[sh.vcHeader(vc, VC_PURE)];
  if (tag === 0) return false;
  if (tag > 0 && C[(tag >>> PURE_SHIFT) - 1] >= (tag & (PURE_MAX - 1))) return false;
  // Under the clock's lock: another cpu may be joining into it this moment (an ordered atomic's
  // word such as nprocs, a wake clock), its loop part done. Read then, C could take the joiner's
  // own epoch without the older entries it carries below it, and claim a clock it lacks: a pure
  // tag of the joiner's would later skip the acquire of a lock that held the rest.
  const lock = sh.vcHeader(vc, VC_LOCK);
  sh.lock(lock);
  const b = sh.clocks(vc);
  let rose = false;
  for (let i = sh.hwm() - 1; i >= 0; i--) {
    if (i32[b + i] > C[i]) {
      C[i] = i32[b + i];
      rose = true;
    }
  }
  sh.unlock(lock);
  return rose;
}

/**
 * Pool clock at shadow word `slot` joined with C (release by thread d, whose clock last rose at
 * its epoch `learned`), the clock allocated on first use. False when the pool is empty: the
 * caller must stand the detector down, since an edge it cannot record would show as a race that
 * is not one.
 */
export function releaseClock(sh: Shadow, slot: number, C: Int32Array, d: number, learned: number): boolean {
  const i32 = sh.i32;
  let vc = i32[slot];
  if (vc === 0) {
    const fresh = sh.allocClock();
    if (fresh === 0) return false;
    if (sh.concurrent) {
      const seen = Atomics.compareExchange(i32, slot, 0, fresh);
      if (seen === 0) vc = fresh;
      else {
        sh.freeClock(fresh);
        vc = seen;
      }
    } else i32[slot] = vc = fresh;
  }
  joinInto(sh, vc, C, d, learned);
  return true;
}

/** Pool clock vc := vc joined with C (thread d's, last risen at its epoch `learned`), keeping its tag exact. */
export function joinInto(sh: Shadow, vc: number, C: Int32Array, d: number, learned: number): void {
  const i32 = sh.i32;
  const lock = sh.vcHeader(vc, VC_LOCK);
  sh.lock(lock);
  const tagAt = sh.vcHeader(vc, VC_PURE);
  const tag = i32[tagAt];
  const mine = C[d] < PURE_MAX ? ((d + 1) << PURE_SHIFT) | C[d] : MIXED;
  if (tag !== mine || mine === MIXED) {
    // (Equal pure tags: the clock already is C -- a second wake for one sleep, say.)
    const covered = tag === 0 || (tag > 0 && C[(tag >>> PURE_SHIFT) - 1] >= (tag & (PURE_MAX - 1)));
    const b = sh.clocks(vc);
    if (mine !== MIXED && tag >>> PURE_SHIFT === d + 1 && (tag & (PURE_MAX - 1)) >= learned) i32[b + d] = C[d];
    else for (let i = sh.hwm() - 1; i >= 0; i--) if (C[i] > i32[b + i]) i32[b + i] = C[i];
    i32[tagAt] = covered ? mine : MIXED;
  }
  sh.unlock(lock);
}
