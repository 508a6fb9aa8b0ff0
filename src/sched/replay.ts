/*
 * replay: follow a recorded schedule -- the cpu chosen at each decision, run-length encoded as
 * [cpu, count, cpu, count, ...] -- so a failing controlled run replays exactly, and a schedule
 * can be shrunk by editing it. Past the end of the record, or where the recorded cpu is not
 * runnable (the schedule no longer fits the code), it takes the lowest runnable cpu and counts a
 * divergence.
 */
import type { Chooser } from "./chooser.js";

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
