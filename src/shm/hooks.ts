/*
 * The two hooks every shared access passes through, installed by the runtime of each CPU:
 *
 *  - point(), syncPoint(), sleepPoint(): a scheduling point, at a field access, a
 *    synchronization operation, or a sleep or wakeup. The interleaving strategy decides what
 *    happens there; with nothing to inject it is a countdown, so it costs next to nothing on
 *    the hot paths.
 *  - violation(): a kernel law was broken. The runtime records it (CPU, thread, pid, syscall,
 *    stack, last events) and decides whether the run stops.
 *
 * They live at the bottom of the layering (src/shm) because the accessors themselves call them.
 */

export interface ViolationInfo {
  law: string;
  message: string;
}

export type ViolationSink = (v: ViolationInfo) => void;

/** Thrown after a violation the current thread cannot continue past (a use-after-free). */
export class KernelPanic extends Error {
  constructor(readonly law: string, message: string) {
    super(message);
    this.name = "KernelPanic";
  }
}

let sink: ViolationSink = (v) => {
  throw new KernelPanic(v.law, v.message);
};

/*
 * The countdown stays a small integer (V8 Smi): a module variable holding a larger number is a
 * boxed double, and every decrement would allocate a new box -- that made each point() cost
 * about as much as an Atomics call. Gaps longer than SMI_MAX are paid out in pieces (`carry`),
 * so "never" (Number.MAX_SAFE_INTEGER) still means never.
 */
const SMI_MAX = 0x3fffffff;
let countdown = SMI_MAX;
let carry = Number.MAX_SAFE_INTEGER;
/**
 * What a scheduling point is at. The countdown is shared by all three; only the strategy hears
 * the difference (pct.ts weighs them).
 */
export type PointKind = typeof POINT_FIELD | typeof POINT_SYNC | typeof POINT_SLEEP;
/** A plain field access: where a missing lock lets two cpus interleave for real. */
export const POINT_FIELD = 0;
/** A lock, a token, an atomic, a refcount or a hold: where an interlock is taken or skipped. */
export const POINT_SYNC = 1;
/** A sleep's interlock or a wakeup: where a wakeup is caught or lost. */
export const POINT_SLEEP = 2;

let fire: (kind: PointKind) => number = () => Number.MAX_SAFE_INTEGER;

/**
 * A scheduling point at a plain field access. `fire` runs the strategy's action and returns how
 * many points to let pass before the next one.
 */
export function point(): void {
  if (--countdown <= 0) refill(POINT_FIELD);
}

/**
 * Pass up to `n` field points at which nothing happens: all n, or fewer when the next would
 * fire -- that one the caller takes with point(). The same countdown as n calls of point() with
 * nothing done between them (a table's allocator passing the slots it knows are in use).
 */
export function passPoints(n: number): number {
  if (countdown > n) {
    countdown -= n;
    return n;
  }
  const passed = countdown > 1 ? countdown - 1 : 0;
  countdown -= passed;
  return passed;
}

/** A scheduling point at a synchronization operation (src/sync). */
export function syncPoint(): void {
  if (--countdown <= 0) refill(POINT_SYNC);
}

/** A scheduling point at tsleep_interlock or a wakeup (src/sync/sleep.ts). */
export function sleepPoint(): void {
  if (--countdown <= 0) refill(POINT_SLEEP);
}

/**
 * A may-block point (src/sync/mayblock.ts): a place where the kernel may sleep without a wait
 * channel of its own. It counts down like any point; when the strategy is to act here,
 * `switchOut` runs first (the thread gives up what a switch gives up), so the strategy's action
 * -- a stall, another cpu's turn -- falls inside the window. True when it acted.
 */
export function blockPoint(switchOut: () => void): boolean {
  if (--countdown > 0) return false;
  if (carry > 0) {
    arm(carry);
    return false;
  }
  switchOut();
  arm(fire(POINT_SLEEP));
  return true;
}

function refill(kind: PointKind): void {
  if (carry <= 0) arm(fire(kind));
  else arm(carry);
}

function arm(gap: number): void {
  const n = gap > SMI_MAX ? SMI_MAX : gap;
  countdown = n | 0;
  carry = gap - n;
}

export function installPoint(action: (kind: PointKind) => number, first: number): void {
  fire = action;
  arm(first);
}

export function installViolationSink(s: ViolationSink): void {
  sink = s;
}

export function violation(law: string, message: string): void {
  sink({ law, message });
}

/** KKASSERT: an in-line kernel assertion, reported under the law's name. */
export function KKASSERT(cond: boolean, law: string, message: string): void {
  if (!cond) sink({ law, message });
}
