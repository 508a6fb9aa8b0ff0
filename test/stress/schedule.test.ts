/*
 * A controlled run's decisions against the default (src/sched/decisions.ts): recorded by every
 * controlled run, they replay it exactly under the default scheduler, and its trace shows where
 * each applied; a decision whose place passes, or whose cpu cannot run there, falls back to the
 * default.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stress, type StressOptions } from "../../src/run/stress.js";
import { defaultChoice } from "../../src/sched/chooser.js";
import { formatSchedule, parseSchedule } from "../../src/sched/decisions.js";
import { ScheduleChooser } from "../../src/sched/replay.js";
import { POINT_FIELD } from "../../src/shm/hooks.js";

const runnable = (...cpus: number[]) => Int32Array.from(cpus);
const dir = mkdtempSync(join(tmpdir(), "forkstorm-schedule-"));

describe("the default choice", () => {
  it("keeps the deciding cpu running if it can, else the lowest-numbered runnable cpu", () => {
    expect(defaultChoice(runnable(0, 2, 3), 3, 2)).toBe(2);
    expect(defaultChoice(runnable(1, 3), 2, 2)).toBe(1);
  });
});

describe("ScheduleChooser", () => {
  const chooser = (schedule: string) => {
    const state = new Int32Array(8);
    const c = new ScheduleChooser(state, parseSchedule(schedule, 3), 3);
    c.initState();
    return { c, applied: () => ScheduleChooser.applied(state, 3) };
  };
  const choose = (c: ScheduleChooser, cpus: Int32Array, current: number, point: number, nth = 0) => c.choose(cpus, cpus.length, current, 0, 0, POINT_FIELD, point, nth);

  it("applies a decision at its place on the deciding cpu's clock", () => {
    const { c, applied } = chooser("0@5>2,0@7.1>1");
    expect(choose(c, runnable(0, 2), 0, 4)).toBe(0); // before the place: default
    expect(choose(c, runnable(0, 2), 0, 5)).toBe(2);
    expect(choose(c, runnable(0, 1, 2), 1, 5)).toBe(1); // another cpu's clock: default
    expect(choose(c, runnable(1, 2), 0, 7, 0)).toBe(1); // point 7 but nth 0: default (lowest)
    expect(choose(c, runnable(1, 2), 0, 7, 1)).toBe(1);
    expect(applied()).toBe(1); // the second decision named the default: nothing to apply
  });

  it("falls back to the default when the named cpu cannot run, or the place passed without a choice", () => {
    const { c, applied } = chooser("0@5>2,0@6>1,0@9>1");
    expect(choose(c, runnable(0, 1), 0, 5)).toBe(0); // cpu 2 cannot run
    expect(choose(c, runnable(0, 1), 0, 8)).toBe(0); // point 6 passed
    expect(choose(c, runnable(0, 1), 0, 9)).toBe(1);
    expect(applied()).toBe(1);
  });
});

describe("schedule strings", () => {
  it("round-trip, and malformed ones name the entry", () => {
    const ds = parseSchedule("2@1534>0, 0@88.3>1", 3);
    expect(ds.map(({ cpu, point, nth, to }) => [cpu, point, nth, to])).toEqual([[2, 1534, 0, 0], [0, 88, 3, 1]]);
    expect(formatSchedule(ds)).toBe("2@1534>0,0@88.3>1");
    expect(parseSchedule("", 2)).toEqual([]);
    expect(() => parseSchedule("1@2", 2)).toThrow(/"1@2" is not CPU@POINT>TO/);
    expect(() => parseSchedule("0@2>5", 2)).toThrow(/names a cpu the run does not have/);
    expect(() => parseSchedule("1@2>1", 2)).toThrow(/to itself/);
    expect(() => parseSchedule("1@2>0,1@2>0", 2)).toThrow(/repeats a place/);
  });
});

describe("a run's recorded decisions replay it under the default scheduler", () => {
  const runs: StressOptions[] = [
    { kernel: "netbsd", scenario: "fork-exit-wait", cpus: 3, ops: 600, mode: "pct", seed: 2, chaos: 0, bugs: ["nb.allproc-unlocked"], keepGoing: false },
    { kernel: "dragonfly", scenario: "fork-exit-wait", cpus: 3, ops: 120, mode: "random", seed: 9, chaos: 0, bugs: [], keepGoing: false },
  ];
  for (const o of runs)
    it(`${o.mode}, ${o.bugs[0] ?? "clean"}: same hash, same decisions`, async () => {
      const { report } = await stress(o);
      const ds = parseSchedule(report.decisions!, o.cpus);
      expect(ds.length).toBeGreaterThan(0);
      const trace = join(dir, `${o.mode}-trace.json`);
      const again = (await stress({ ...o, mode: "schedule", decisions: ds, trace })).report;
      expect(again.eventHash).toBe(report.eventHash);
      expect(again.violations.map((v) => [v.law, v.step, v.eventHash])).toEqual(report.violations.map((v) => [v.law, v.step, v.eventHash]));
      expect(again.decisions).toBe(report.decisions);
      expect(again.config.schedule).toBe(report.decisions);
      if (report.violations.length === 0) return;
      // A short failing run's trace tells it: each decision where it applied, the frees, and
      // nothing past the violation that ended the run.
      const events: { name: string; ph: string; ts?: number }[] = JSON.parse(readFileSync(trace, "utf8")).traceEvents;
      expect(events.filter((e) => e.ph === "i" && e.name.startsWith("decision: cpu")).length).toBe(ds.length);
      expect(events.some((e) => e.ph === "i" && /^free \w+\[\d+\]$/.test(e.name))).toBe(true);
      const violation = events.find((e) => e.name.startsWith("VIOLATION"))!;
      expect(Math.max(...events.map((e) => e.ts ?? 0))).toBe(violation.ts);
    }, 60_000);
});
