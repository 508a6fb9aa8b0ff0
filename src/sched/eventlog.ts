/*
 * The whole event sequence of a controlled run, for `replay --check-determinism`: every traced
 * event the run's hash mixes (trace.ts), with the step it happened at and its cpu, in one log
 * shared by every cpu. Only the baton holder appends (as only it mixes), so the log is in step
 * order and needs no atomics of its own. Off unless asked for: the per-cpu rings keep only the
 * last events, and a hash tells that two runs differ, not where.
 */

/** Words per event: step, cpu, type, tid, a, b. */
const ENTRY = 6;
/** Header: [0] events logged, [1] 1 once one did not fit. */
const HEADER = 2;
/** Events a log keeps (12 MB): far more than an ops-bounded replay makes. */
export const EVENT_LOG_CAPACITY = 500_000;

export interface LoggedEvent {
  step: number;
  cpu: number;
  type: number;
  tid: number;
  a: number;
  b: number;
}

export function newEventLog(capacity = EVENT_LOG_CAPACITY): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER + ENTRY * capacity) * 4);
}

export class EventLogWriter {
  private readonly log: Int32Array;
  private readonly capacity: number;

  constructor(sab: SharedArrayBuffer) {
    this.log = new Int32Array(sab);
    this.capacity = (this.log.length - HEADER) / ENTRY;
  }

  add(step: number, cpu: number, type: number, tid: number, a: number, b: number): void {
    const log = this.log;
    const i = log[0];
    if (i >= this.capacity) {
      log[1] = 1;
      return;
    }
    const o = HEADER + ENTRY * i;
    log[o] = step;
    log[o + 1] = cpu;
    log[o + 2] = type;
    log[o + 3] = tid;
    log[o + 4] = a;
    log[o + 5] = b;
    log[0] = i + 1;
  }
}

/** The events logged, in order; `complete` is false when some did not fit (the tail is missing). */
export function readEventLog(sab: SharedArrayBuffer): { events: LoggedEvent[]; complete: boolean } {
  const log = new Int32Array(sab);
  const events: LoggedEvent[] = [];
  for (let i = 0; i < log[0]; i++) {
    const o = HEADER + ENTRY * i;
    events.push({ step: log[o], cpu: log[o + 1], type: log[o + 2], tid: log[o + 3], a: log[o + 4], b: log[o + 5] });
  }
  return { events, complete: log[1] === 0 };
}
