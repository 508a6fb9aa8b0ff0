/*
 * The per-cpu event ring: the last EVENTS_PER_CPU things each cpu did, kept in the worker's own
 * memory (only this cpu writes it) and handed back when the cpu stops. A violation carries the
 * tail of it, and `--trace` turns it into a Chrome trace-event timeline, one track per cpu.
 * Recorded: system calls, sleeps, wakeups, lock waits and holds (tokens included), violations,
 * thread starts and ends, frees, and a schedule's decisions where they apply. Lock events are the most frequent by far, so they are untimed (evLock,
 * evToken): no clock read, and lastEvents() places each between the timed events around it.
 */
import { slotOf, type Handle } from "./table.js";

export const EV = {
  SYSCALL: 1, // a = call, b = 0 (enter)
  SYSRET: 2, // a = call, b = errno
  SLEEP: 3, // a = wait channel
  WOKEN: 4, // a = wait channel, b = result
  WAKEUP: 5, // a = wait channel (this thread woke sleepers there)
  LOCK_WAIT: 6, // a = lock
  LOCK_GOT: 7, // a = lock, b = lockmgr: 1 when shared
  LOCK_REL: 8, // a = lock
  VIOLATION: 9, // a = index in the cpu's violation list
  THREAD_START: 10,
  THREAD_EXIT: 11,
  FREE: 12, // a = the freed record's first word
  DECISION: 13, // a schedule's listed decision applied: a = the cpu that runs next, b = the deciding cpu's point
} as const;

export const EV_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(EV).map(([k, v]) => [v, k.toLowerCase()]));

/*
 * The ring's layout and the type word's flags, a const enum: its members compile to literals,
 * where a module constant is a load and a hole check in the bytecode, and the token events'
 * functions are kept small enough for V8 to inline into the token primitives (issue 13).
 */
const enum Ring {
  /** Room for a few hundred system calls with their token events (a power of two). */
  EVENTS = 8192,
  MASK = EVENTS - 1,
  /** Words an entry: type, tid, pid, a, b. */
  W = 5,
  /** In the type word: an event recorded without a time (evLock). */
  UNTIMED = 0x100,
  /**
   * In the type word of a token's LOCK_GOT: its LOCK_REL came next, with nothing between, and was
   * folded into this entry (evTokenReleased). lastEvents() gives both events back, so the trace
   * is the same; the ring writes one word instead of an entry for the commonest pair there is.
   */
  RELEASED = 0x200,
  /**
   * In the type word: a token's event (evToken), whose entry is three words, not five -- the
   * thread's slot rides in the type word's top half (TID_SHIFT) and b is 0 -- as each word written
   * between the token's two Atomics calls costs (the second waits for them to drain).
   */
  TOKEN = 0x400,
  TID_SHIFT = 16,
  /** The event type's bits of the type word. */
  TYPE = 0xff,
}

export const EVENTS_PER_CPU: number = Ring.EVENTS;

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
const words = new Int32Array(Ring.EVENTS * Ring.W);
/*
 * The ring's cursor and its common case, read and written at every event: elements of a typed
 * array, as a module `let` read in optimized code is a hole check and a type test each (the
 * token path pays one per event; issue 13). NEXT: the next entry to write; DIRECT: 1 while
 * recording with no baton to ask -- every event is kept, put's common case. Whether the ring
 * went round is not kept: installTrace clears it, so it has iff the entry at NEXT was written
 * (no written type word is 0).
 */
const enum At {
  NEXT,
  DIRECT,
}
const cursor = new Int32Array(2);
cursor[At.DIRECT] = 1;
/** The thread running on this cpu, or null: read at every event, so it makes no object. */
let who: () => RunningThread | null = () => null;
/** performance.timeOrigin - the machine's epoch, ms: timeOrigin is a getter, read once here. */
let originMs = 0;

/** Controlled modes: every event is also mixed into the run's hash. */
let onEvent: ((type: number, tid: number, a: number, b: number) => void) | null = null;

/**
 * Controlled modes: the baton word and this cpu's id. The run is what the baton's holders did;
 * once it stopped (a violation, the end) the cpus run free until they notice, and what they do
 * then is left out: a trace shows the run, and ends where it ended.
 */
let baton: { i32: Int32Array; at: number; me: number } | null = null;
/** False: the ring switched off (bench measures its cost); events are still hashed. */
let recording = true;

/** What an event names of its thread. */
type RunningThread = { readonly h: Handle; readonly pid: number };

export function installTrace(current: () => RunningThread | null, epoch: number, hashEvent: typeof onEvent = null, batonWord: typeof baton = null, on = true): void {
  recording = on;
  who = current;
  originMs = performance.timeOrigin - epoch;
  onEvent = hashEvent;
  baton = batonWord;
  cursor[At.DIRECT] = on && batonWord === null ? 1 : 0;
  cursor[At.NEXT] = 0;
  words.fill(0);
}

/**
 * Write one entry; returns its index (-1: not part of the run, or the ring is off: not kept).
 * Short enough for V8 to inline into the lock primitives, which record an event at every hold
 * and release (issue 13); the checks DIRECT stands for are kept's.
 */
function put(type: number, tid: number, pid: number, a: number, b: number): number {
  if (cursor[At.DIRECT] === 0 && !kept()) return -1;
  const i = cursor[At.NEXT];
  const o = i * Ring.W;
  words[o] = type;
  words[o + 1] = tid;
  words[o + 2] = pid;
  words[o + 3] = a;
  words[o + 4] = b;
  cursor[At.NEXT] = (i + 1) & Ring.MASK;
  return i;
}

/** Is an event now part of the run (recording, and this cpu holds the baton if there is one)? */
function kept(): boolean {
  return recording && (baton === null || Atomics.load(baton.i32, baton.at) === baton.me);
}

export function ev(type: number, a = 0, b = 0): void {
  const td = who();
  const tid = td === null ? -1 : slotOf(td.h);
  const pid = td === null ? 0 : td.pid;
  onEvent?.(type, tid, a, b);
  stamp(put(type, tid, pid, a, b));
}

function stamp(i: number): void {
  if (i >= 0) times[i] = originMs + performance.now();
}

/**
 * A lock event (wait, got, release) of thread `td`, untimed: locks are taken and dropped far more
 * often than anything else happens, and a clock read costs more than the rest of the event. The
 * thread is named, not taken as the current one: a switch releases and re-takes tokens outside
 * any thread. Mixed into a controlled run's hash, as every event of lockmgr locks and mutexes
 * always was.
 */
export function evLock(type: number, td: RunningThread, a: number, b: number): void {
  const tid = slotOf(td.h);
  onEvent?.(type, tid, a, b);
  put(type | Ring.UNTIMED, tid, td.pid, a, b);
}

/**
 * A token's lock event: as evLock, but not mixed into the hash. Tokens were traced only after
 * controlled runs' hashes had been recorded (reports, replays, tests); the decisions already fix
 * when each token event happens, so the hash loses nothing and every recorded hash stays valid.
 */
export function evToken(type: number, td: RunningThread, a: number): void {
  if (cursor[At.DIRECT] === 0 && !kept()) return;
  const w = words; // one load of the module binding, not one a store
  const i = cursor[At.NEXT];
  const o = i * Ring.W;
  w[o] = type | Ring.UNTIMED | Ring.TOKEN | (slotOf(td.h) << Ring.TID_SHIFT);
  w[o + 2] = td.pid;
  w[o + 3] = a;
  cursor[At.NEXT] = (i + 1) & Ring.MASK;
}

/**
 * evToken(EV.LOCK_REL, td, a), folded into the ring's newest entry when that is the same thread's
 * LOCK_GOT of it. (An empty ring's "newest" entry is zeros.)
 */
export function evTokenReleased(td: RunningThread, a: number): void {
  if (cursor[At.DIRECT] === 0 && !kept()) return;
  const w = words;
  const o = ((cursor[At.NEXT] - 1) & Ring.MASK) * Ring.W;
  const got = EV.LOCK_GOT | Ring.UNTIMED | Ring.TOKEN | (slotOf(td.h) << Ring.TID_SHIFT);
  if (w[o] === got && w[o + 3] === a && w[o + 2] === td.pid) w[o] = got | Ring.RELEASED;
  else evToken(EV.LOCK_REL, td, a);
}

/**
 * A note for the story a trace tells (a record freed, a listed decision applied) by the current
 * thread: not mixed into the hash, like evLock, so runs and their hashes stay what they were
 * without it; timed (they are few).
 */
export function evNote(type: number, a: number, b = 0): void {
  const td = who();
  const tid = td === null ? -1 : slotOf(td.h);
  const pid = td === null ? 0 : td.pid;
  stamp(put(type, tid, pid, a, b));
}

/**
 * The last `n` events, oldest first; untimed ones spread evenly between their timed neighbours.
 * No more than EVENTS_PER_CPU: what the ring held before it folded token releases, so a trace
 * stays what it was.
 */
export function lastEvents(n = EVENTS_PER_CPU): TraceEvent[] {
  const want = Math.min(n, EVENTS_PER_CPU);
  const next = cursor[At.NEXT];
  const entries = words[next * Ring.W] !== 0 ? EVENTS_PER_CPU : next;
  const out: TraceEvent[] = []; // newest first until reversed
  for (let j = 1; j <= entries && out.length < want; j++) {
    const i = (next - j) & Ring.MASK;
    const o = i * Ring.W;
    const word = words[o];
    const token = (word & Ring.TOKEN) !== 0;
    const us = word & Ring.UNTIMED ? NaN : times[i] * 1000;
    const tid = token ? word >>> Ring.TID_SHIFT : words[o + 1];
    const b = token ? 0 : words[o + 4];
    const event = (t: number): TraceEvent => ({ us, type: EV_NAMES[t] ?? String(t), tid, pid: words[o + 2], a: words[o + 3], b });
    if (word & Ring.RELEASED) out.push(event(EV.LOCK_REL));
    out.push(event(word & Ring.TYPE));
  }
  out.length = Math.min(out.length, want);
  out.reverse();
  placeUntimed(out);
  return out;
}

function placeUntimed(out: TraceEvent[]): void {
  let before = -1; // index of the last timed event
  for (let j = 0; j <= out.length; j++) {
    if (j < out.length && Number.isNaN(out[j].us)) continue;
    const from = before >= 0 ? out[before].us : j < out.length ? out[j].us : 0;
    const to = j < out.length ? out[j].us : from;
    const gap = j - before;
    for (let u = before + 1; u < j; u++) out[u].us = from + ((to - from) * (u - before)) / gap;
    before = j;
  }
  for (const e of out) e.us = Math.round(e.us);
}
