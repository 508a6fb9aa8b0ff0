/*
 * free: every cpu runs truly in parallel on its own worker thread. With chaos > 0, a seeded
 * fraction of scheduling points stalls this cpu for a short random time, widening race windows
 * the way rr's chaos mode and jcstress's randomisation do. The countdown to the next stall is
 * drawn from the seed (geometric gaps), so a point that injects nothing is one decrement.
 * Not replayable instruction by instruction: a failing run keeps its seed and configuration.
 *
 * A sleep's interlock or a wakeup stalls SLEEP_BOOST times as often as other points: a lost
 * wakeup's window is often that one point (a test, then a sleep without tsleep_interlock), and
 * such points are a few in a hundred. The countdown runs at the boosted rate; a point of another
 * kind where it expires stalls only one time in SLEEP_BOOST, so the other points keep `chaos`.
 *
 * Waiting. A cpu with nothing to run, or whose threads all wait for a lock another cpu holds,
 * gives its core away by sleeping on a futex (Atomics.wait) -- when the cpus outnumber the
 * cores, the holder or the thread about to be woken may need that very core. When every cpu
 * has a core of its own, a futex sleep only costs: the wake-up that ends it (a remote
 * lwkt_schedule, a token released) pays an OS reschedule of tens of microseconds, each time
 * (schedstat's doorbellWakes). So then a waiting cpu polls first -- its doorbell for IDLE_POLL_US,
 * a lock by retrying -- as the kernel's idle loop and lwkt_switch do, and sleeps only after.
 * A cpu about to sleep on its doorbell says so (gd_idle): only then does a wake-up notify.
 */
import { POINT_SLEEP, type PointKind } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { Rng } from "./rng.js";
import { schedstat } from "./schedstat.js";
import type { Strategy } from "./strategy.js";

/** Longest injected stall, in microseconds. */
const MAX_STALL_US = 50;
/** How much more often a sleep point stalls than any other. */
export const SLEEP_BOOST = 16;
/** With a core per cpu: how long an idle cpu polls its doorbell before it sleeps. */
export const IDLE_POLL_US = 50;
/** Lock waits between two short sleeps: with a core per cpu, and without. */
const SPINS_PER_SLEEP_SPARE = 256;
const SPINS_PER_SLEEP_OVERCOMMITTED = 8;

export class FreeStrategy implements Strategy {
  readonly name = "free";
  private readonly rng: Rng;
  private spins = 0;

  /** Lock waits between two short sleeps (a power of two). */
  private readonly spinsPerSleep: number;

  constructor(
    private readonly i32: Int32Array,
    /** A word that stays 0: stalls wait on it for their timeout. */
    private readonly quiet: Addr,
    seed: number,
    /** Probability that a point injects a stall; 0 disables chaos. */
    private readonly chaos: number,
    /** This cpu's gd_idle: 1 while it sleeps on its doorbell (inbox.ts notifies only then). */
    private readonly idleWord: Addr,
    /** Every cpu has a core of its own: poll before sleeping (see above). */
    private readonly spareCores: boolean,
  ) {
    this.rng = new Rng(seed);
    this.spinsPerSleep = spareCores ? SPINS_PER_SLEEP_SPARE : SPINS_PER_SLEEP_OVERCOMMITTED;
  }

  /** Points between two looks at a stall: the boosted rate (see above). */
  private gap(): number {
    return this.rng.gap(Math.min(1, this.chaos * SLEEP_BOOST));
  }

  first(): number {
    return this.gap();
  }

  atPoint(kind: PointKind): number {
    if (kind !== POINT_SLEEP && this.rng.below(SLEEP_BOOST) !== 0) return this.gap();
    const us = this.rng.below(MAX_STALL_US);
    const t0 = performance.now();
    if (this.rng.below(4) === 0) {
      // Sleep-like stall: the OS may run the other cpus' threads on this core meanwhile.
      Atomics.wait(this.i32, this.quiet, 0, us / 1000);
    } else {
      const until = performance.now() + us / 1000;
      while (performance.now() < until);
    }
    schedstat.stalls++;
    schedstat.stallNs += (performance.now() - t0) * 1e6;
    return this.gap();
  }

  spinWait(addr?: Addr): void {
    // Spin a little, then give the core away: with more cpus than cores, the holder may be
    // waiting for this very core, and a spinner that keeps it only delays the release. With a
    // core per cpu a spin lock's or a mutex's holder has its own, and the short sleep only cost:
    // asked for 20 us, it took ~127 us (the host's timer slack) -- 14-19 % of a NetBSD 2-cpu
    // run's cpu time, whose kmutex spins come here -- so then the spinner keeps its core. A
    // token wait (`addr`) still sleeps on the token's word: its releaser may be a cpu's whole
    // run queue away.
    if (++this.spins & (this.spinsPerSleep - 1)) return;
    if (addr === undefined && this.spareCores) return;
    const t0 = performance.now();
    if (addr === undefined) Atomics.wait(this.i32, this.quiet, 0, 0.02);
    else Atomics.wait(this.i32, addr, Atomics.load(this.i32, addr), 1);
    schedstat.spinWaits++;
    schedstat.spinNs += (performance.now() - t0) * 1e6;
  }

  idle(doorbell: Addr, seen: number, ms: number): void {
    const { i32 } = this;
    const t0 = performance.now();
    if (this.spareCores) {
      const until = t0 + IDLE_POLL_US / 1000;
      for (let n = 1; Atomics.load(i32, doorbell) === seen; n++) if ((n & 63) === 0 && performance.now() > until) break;
    }
    // Announce the sleep, then sleep only if the doorbell still reads `seen`: a ready() bumps
    // the doorbell, then reads gd_idle -- one of the two sees the other's write.
    Atomics.store(i32, this.idleWord, 1);
    Atomics.wait(i32, doorbell, seen, ms);
    Atomics.store(i32, this.idleWord, 0);
    schedstat.idleWaits++;
    schedstat.idleNs += (performance.now() - t0) * 1e6;
  }
}
