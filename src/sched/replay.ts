/*
 * Following a schedule, two ways:
 *   replay    every decision as recorded -- the cpu chosen at each, run-length encoded as
 *             [cpu, count, cpu, count, ...] -- so a failing controlled run replays exactly. Past
 *             the end of the record, or where the recorded cpu is not runnable (the schedule no
 *             longer fits the code), it takes the lowest runnable cpu and counts a divergence.
 *   schedule  the default choice, except at a short list of decisions (decisions.ts): what a run
 *             took against the default, or what is left of it after shrinking.
 */
import type { PointKind } from "../shm/hooks.js";
import { EV, evNote } from "../shm/trace.js";
import { defaultChoice, type Chooser } from "./chooser.js";
import type { Decision } from "./decisions.js";

export class ReplayChooser implements Chooser {
  readonly words = 3;

  /**
   * state[0]: index of the schedule entry holding the current step; state[1]: the step that entry
   * starts at; state[2]: divergences. The schedule records every decision, including those the
   * baton takes without asking a chooser (one runnable cpu, or only spinners left), so the entry
   * is found by the decision's step, not by counting calls to choose().
   */
  constructor(
    private readonly state: Int32Array,
    private readonly schedule: readonly number[],
  ) {}

  initState(): void {
    this.state[0] = this.state[1] = this.state[2] = 0;
  }

  choose(runnable: Int32Array, n: number, _current: number, step: number): number {
    const s = this.state;
    while (s[0] < this.schedule.length && step >= s[1] + this.schedule[s[0] + 1]) {
      s[1] += this.schedule[s[0] + 1];
      s[0] += 2;
    }
    if (s[0] >= this.schedule.length) return runnable[0];
    const want = this.schedule[s[0]];
    for (let i = 0; i < n; i++) if (runnable[i] === want) return want;
    s[2]++;
    return runnable[0];
  }

  divergences(): number {
    return this.state[2];
  }
}

/**
 * schedule: the default choice (chooser.ts) except at listed decisions (decisions.ts), each
 * placed on its cpu's own clock. A listed decision applies when its cpu decides at its place and
 * the cpu it names can run there; otherwise -- its place passed without a choice, or its cpu
 * cannot run -- the default stands. So any list is a valid run: what shrinking relies on.
 */
export class ScheduleChooser implements Chooser {
  readonly words: number;
  /** Per deciding cpu, its decisions in clock order, flattened as (point, nth, to). */
  private readonly byCpu: Int32Array[];

  /** state[c]: cpu c's next decision (index into byCpu[c]); state[cpus]: decisions applied. */
  constructor(
    private readonly state: Int32Array,
    decisions: readonly Decision[],
    private readonly cpus: number,
  ) {
    this.words = cpus + 1;
    this.byCpu = Array.from({ length: cpus }, (_, c) => {
      const mine = decisions.filter((d) => d.cpu === c && d.to < cpus).sort((a, b) => a.point - b.point || a.nth - b.nth);
      return Int32Array.from(mine.flatMap((d) => [d.point, d.nth, d.to]));
    });
  }

  initState(): void {
    this.state.fill(0, 0, this.words);
  }

  choose(runnable: Int32Array, n: number, current: number, _step: number, _choice: number, _kind: PointKind, point: number, nth: number): number {
    const s = this.state;
    const list = this.byCpu[current];
    let i = s[current];
    // Places already passed (no choice was asked there) no longer apply.
    while (i < list.length && (list[i] < point || (list[i] === point && list[i + 1] < nth))) i += 3;
    let chosen = defaultChoice(runnable, n, current);
    if (i < list.length && list[i] === point && list[i + 1] === nth) {
      const want = list[i + 2];
      i += 3;
      for (let k = 0; k < n; k++)
        if (runnable[k] === want && want !== chosen) {
          chosen = want;
          s[this.cpus]++;
          evNote(EV.DECISION, want, point); // the trace's story shows where the schedule took a hand
        }
    }
    s[current] = i;
    return chosen;
  }

  /** Listed decisions that applied in a run (its chooser state after the run). */
  static applied(state: Int32Array, cpus: number): number {
    return state[cpus];
  }
}
