/*
 * The decisions a controlled run took against the default (chooser.ts defaultChoice: the deciding
 * cpu runs on if it can, else the lowest-numbered runnable cpu). They are all a run needs beyond
 * its seed and configuration: the default scheduler plus these exceptions replays it (replay.ts,
 * ScheduleChooser), and shrinking a failing run is removing exceptions (src/run/shrink.ts).
 *
 * A decision is placed on the deciding cpu's own clock -- its `point`-th scheduling point, the
 * `nth` decision it took there -- not on the global step: dropping a decision changes what every
 * cpu does after it, and so every later global step, while each other cpu's own clock still
 * counts the same points of the same code until the changed interleaving reaches it. (A
 * decision whose place no longer comes, or whose cpu cannot run there, falls back to the default.)
 *
 * As text (a schedule string, what `stress --schedule` takes): `CPU@POINT>TO` or
 * `CPU@POINT.NTH>TO`, comma-separated, e.g. `2@1534>0,0@88.1>3`: "when cpu 2 reaches its
 * 1534th point, cpu 0 runs". Every controlled run records its decisions into a shared log
 * (RecordingChooser) that the orchestrator reads when the run is over.
 */
import { UsageError } from "../errors.js";
import { defaultChoice, type Chooser } from "./chooser.js";
import type { PointKind } from "../shm/hooks.js";

export interface Decision {
  /** Global step the decision was taken at (informative: following a schedule ignores it). */
  step: number;
  cpu: number;
  point: number;
  nth: number;
  /** The cpu chosen to run, not the default one. */
  to: number;
}

/** Words per logged decision: step, cpu, point, nth, to. */
const ENTRY = 5;
/** Log header: [0] decisions logged, [1] 1 once one did not fit. */
const HEADER = 2;
/** Decisions a run's log keeps (2 MB); a run with more keeps none (its report says so). */
export const LOG_CAPACITY = 100_000;

/** A zeroed log for a run's decisions, shared by every cpu. */
export function newDecisionLog(capacity = LOG_CAPACITY): SharedArrayBuffer {
  return new SharedArrayBuffer((HEADER + ENTRY * capacity) * 4);
}

/** The decisions in a log, in step order; null when they did not all fit. */
export function readDecisionLog(sab: SharedArrayBuffer): Decision[] | null {
  const log = new Int32Array(sab);
  if (log[1] !== 0) return null;
  const out: Decision[] = [];
  for (let i = 0; i < log[0]; i++) {
    const o = HEADER + ENTRY * i;
    out.push({ step: log[o], cpu: log[o + 1], point: log[o + 2], nth: log[o + 3], to: log[o + 4] });
  }
  return out;
}

/**
 * A strategy's chooser, with every choice that differs from the default written to the log.
 * Only the baton holder decides, and the baton's hand-off orders its writes before the next
 * holder's, so the log needs no atomics of its own.
 */
export class RecordingChooser implements Chooser {
  readonly words: number;
  readonly atDecision?: Chooser["atDecision"];
  private readonly log: Int32Array;
  private readonly capacity: number;

  constructor(
    private readonly inner: Chooser,
    sab: SharedArrayBuffer,
  ) {
    this.words = inner.words;
    this.atDecision = inner.atDecision?.bind(inner);
    this.log = new Int32Array(sab);
    this.capacity = (this.log.length - HEADER) / ENTRY;
  }

  initState(): void {
    this.inner.initState();
  }

  choose(runnable: Int32Array, n: number, current: number, step: number, choice: number, kind: PointKind, point: number, nth: number): number {
    const to = this.inner.choose(runnable, n, current, step, choice, kind, point, nth);
    if (to !== defaultChoice(runnable, n, current)) this.append(step, current, point, nth, to);
    return to;
  }

  private append(step: number, cpu: number, point: number, nth: number, to: number): void {
    const log = this.log;
    const i = log[0];
    if (i >= this.capacity) {
      log[1] = 1;
      return;
    }
    const o = HEADER + ENTRY * i;
    log[o] = step;
    log[o + 1] = cpu;
    log[o + 2] = point;
    log[o + 3] = nth;
    log[o + 4] = to;
    log[0] = i + 1;
  }
}

/** The schedule string of some decisions (their order is kept). */
export function formatSchedule(ds: readonly Decision[]): string {
  return ds.map((d) => `${d.cpu}@${d.point}${d.nth ? `.${d.nth}` : ""}>${d.to}`).join(",");
}

const ENTRY_RE = /^(\d+)@(\d+)(?:\.(\d+))?>(\d+)$/;

/**
 * Decisions from a schedule string (steps unknown: -1). Throws a UsageError naming the first
 * entry that is not `CPU@POINT[.NTH]>TO` with cpus below `cpus`, or that repeats a place.
 */
export function parseSchedule(text: string, cpus: number): Decision[] {
  const out: Decision[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(",")) {
    const e = raw.trim();
    if (e === "" && text.trim() === "") continue;
    const m = ENTRY_RE.exec(e);
    if (!m) throw new UsageError(`schedule entry "${e}" is not CPU@POINT>TO or CPU@POINT.NTH>TO`);
    const d = { step: -1, cpu: Number(m[1]), point: Number(m[2]), nth: Number(m[3] ?? 0), to: Number(m[4]) };
    if (d.cpu >= cpus || d.to >= cpus) throw new UsageError(`schedule entry "${e}" names a cpu the run does not have (${cpus} cpus)`);
    if (d.cpu === d.to) throw new UsageError(`schedule entry "${e}" switches a cpu to itself`);
    const place = `${d.cpu}@${d.point}.${d.nth}`;
    if (seen.has(place)) throw new UsageError(`schedule entry "${e}" repeats a place`);
    seen.add(place);
    out.push(d);
  }
  return out;
}
