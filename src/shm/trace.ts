/*
 * The per-cpu event ring: the last EVENTS_PER_CPU things each cpu did, kept in the worker's own
 * memory (only this cpu writes it) and handed back when the cpu stops. A violation carries the
 * tail of it, and `--trace` turns it into a Chrome trace-event timeline, one track per cpu.
 * Only the informative events are recorded -- system calls, sleeps, wakeups, lock waits and
 * sleeping-lock holds -- not every uncontended token, so the ring stays off the hot path.
 */

export const EV = {
  SYSCALL: 1, // a = call, b = 0 (enter)
  SYSRET: 2, // a = call, b = errno
  SLEEP: 3, // a = wait channel
  WOKEN: 4, // a = wait channel, b = result
  WAKEUP: 5, // a = wait channel (this thread woke sleepers there)
  LOCK_WAIT: 6, // a = lock
  LOCK_GOT: 7, // a = lock, b = 1 when it had to wait
  LOCK_REL: 8, // a = lock
  VIOLATION: 9, // a = index in the cpu's violation list
  THREAD_START: 10,
  THREAD_EXIT: 11,
} as const;

export const EV_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(EV).map(([k, v]) => [v, k.toLowerCase()]));

export const EVENTS_PER_CPU = 4096;
const W = 5; // type, tid, pid, a, b

export interface TraceEvent {
  /** Microseconds since the machine's epoch. */
  us: number;
  type: string;
  tid: number;
  pid: number;
  a: number;
  b: number;
}

const times = new Float64Array(EVENTS_PER_CPU);
const words = new Int32Array(EVENTS_PER_CPU * W);
let next = 0;
let count = 0;
let who: () => { tid: number; pid: number } = () => ({ tid: -1, pid: 0 });
let epochMs = 0;

/** Controlled modes: every event is also mixed into the run's hash. */
let onEvent: ((type: number, tid: number, a: number, b: number) => void) | null = null;

export function installTrace(current: () => { tid: number; pid: number }, epoch: number, hashEvent: typeof onEvent = null): void {
  who = current;
  epochMs = epoch;
  onEvent = hashEvent;
  next = count = 0;
}

export function ev(type: number, a = 0, b = 0): void {
  const { tid, pid } = who();
  onEvent?.(type, tid, a, b);
  const i = next;
  times[i] = performance.timeOrigin + performance.now() - epochMs;
  const o = i * W;
  words[o] = type;
  words[o + 1] = tid;
  words[o + 2] = pid;
  words[o + 3] = a;
  words[o + 4] = b;
  next = (i + 1) % EVENTS_PER_CPU;
  if (count < EVENTS_PER_CPU) count++;
}

/** The last `n` events, oldest first. */
export function lastEvents(n = EVENTS_PER_CPU): TraceEvent[] {
  const k = Math.min(n, count);
  const out: TraceEvent[] = [];
  for (let j = k; j > 0; j--) {
    const i = (next - j + EVENTS_PER_CPU) % EVENTS_PER_CPU;
    const o = i * W;
    out.push({ us: Math.round(times[i] * 1000), type: EV_NAMES[words[o]] ?? String(words[o]), tid: words[o + 1], pid: words[o + 2], a: words[o + 3], b: words[o + 4] });
  }
  return out;
}
