/*
 * The watchdog: a planted lost wake-up (the vfork parent sleeps on the wrong condvar, so the
 * child's broadcast never reaches it) ends the run as a hang, and the report shows every thread:
 * its cpu, pid, system call, wait channel and the locks it holds and awaits.
 */
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";

describe("watchdog", () => {
  it("catches a planted lost wake-up and dumps every thread", async () => {
    let report;
    for (const seed of [1, 2, 3]) {
      ({ report } = await stress({ kernel: "netbsd", scenario: "vfork-exec", cpus: 4, seconds: 8, mode: "free", seed, chaos: 0.001, bugs: ["nb.ppwait-wrong-cv"], keepGoing: false, watchdogSeconds: 2 }));
      if (report.verdict === "hang") break;
    }
    expect(report!.verdict).toBe("hang");
    const threads = report!.hang!.threads;
    expect(threads.length).toBeGreaterThan(0);
    const parent = threads.find((t) => /vfork/.test(t.syscall) && t.wchan !== null);
    expect(parent, JSON.stringify(threads)).toBeDefined();
    expect(parent!.wchan).toMatch(/^\S+ on \S+\[\d+\]/); // "<wmesg> on <table>[slot].<field>"
    for (const t of threads) {
      expect(typeof t.cpu).toBe("number");
      expect(Array.isArray(t.holds)).toBe(true);
    }
  }, 60_000);

  it("stays silent on the same scenario without the bug", async () => {
    const { report } = await stress({ kernel: "netbsd", scenario: "vfork-exec", cpus: 4, seconds: 3, mode: "free", seed: 1, chaos: 0.001, bugs: [], keepGoing: false, watchdogSeconds: 2 });
    expect(report.verdict).toBe("clean");
    expect(report.hang).toBeNull();
  }, 60_000);
});
