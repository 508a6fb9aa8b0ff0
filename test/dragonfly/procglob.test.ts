/*
 * The process hash as DragonFly has it (kern_proc.c at d9d67b59: procglob[ALLPROC_HSIZE], each
 * chain with its own proc_token): forks, lookups and reaps on different chains run at once. A
 * controlled run's trace shows two cpus holding two chains' tokens at the same moment -- a
 * window the model's old single proc_token closed -- and the run stays clean. kern.randompid
 * offsets each fork's base at random, so forks in flight may meet on one chain, which
 * sequential pids allow only at the wrap (the catalogue's df.pid-before-token runs with it).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stress } from "../../src/run/stress.js";
import { runScript } from "../../src/script/runner.js";

interface ChromeEvent {
  name: string;
  ph: string;
  ts: number;
  tid: number;
  cat?: string;
  id?: string;
}

interface Hold {
  chain: number;
  cpu: number;
  from: number;
  to: number;
}

/** The chain-token holds of a trace, each from its begin to its end (same id and name). */
function chainHolds(events: ChromeEvent[]): Hold[] {
  const open = new Map<string, ChromeEvent>();
  const out: Hold[] = [];
  for (const e of events) {
    const m = e.cat === "lock" ? /^hold procglob\[(\d+)\]\.proc_token$/.exec(e.name) : null;
    if (!m) continue;
    const k = `${e.id} ${e.name}`;
    if (e.ph === "b") open.set(k, e);
    else if (e.ph === "e" && open.has(k)) {
      const b = open.get(k)!;
      open.delete(k);
      out.push({ chain: Number(m[1]), cpu: b.tid, from: b.ts, to: e.ts });
    }
  }
  return out;
}

/** Two holds of different chains, on different cpus, overlapping in time. */
function overlapping(holds: Hold[]): [Hold, Hold] | null {
  for (const a of holds) for (const b of holds) if (a.chain !== b.chain && a.cpu !== b.cpu && a.from < b.to && b.from < a.to) return [a, b];
  return null;
}

describe("procglob: one proc_token per chain", () => {
  it("two cpus hold two chains' proc_tokens at once in a controlled run, and the kernel stays clean", async () => {
    const dir = mkdtempSync(join(tmpdir(), "forkstorm-procglob-"));
    let pair: [Hold, Hold] | null = null;
    // Any change to the model moves every schedule: the first of a few pct seeds that overlaps.
    for (let seed = 1; seed <= 8 && pair === null; seed++) {
      const trace = join(dir, `t${seed}.json`);
      const { report } = await stress({ kernel: "dragonfly", scenario: "fork-exit-wait", cpus: 3, ops: 400, mode: "pct", seed, chaos: 0, bugs: [], keepGoing: false, trace });
      expect(report.verdict).toBe("clean");
      const holds = chainHolds(JSON.parse(readFileSync(trace, "utf8")).traceEvents);
      expect(holds.length).toBeGreaterThan(0);
      pair = overlapping(holds);
    }
    expect(pair).not.toBeNull();
  }, 240_000);

  it("kern.randompid offsets each fork's base by less than the modulus; below 2 it is off, as the sysctl sets it", async () => {
    const forks = (randompid: number) =>
      runScript({ kernel: "dragonfly", cpus: 2, limits: { lastpid: 1000, randompid }, steps: Array.from({ length: 8 }, (_, i) => ({ as: "init", call: "fork", name: `c${i}` })) }).then((out) => {
        expect(out.violations).toEqual([]);
        return out.results.map((r: { ret: number }) => r.ret);
      });
    const spread = await forks(100);
    expect(new Set(spread).size).toBe(8);
    for (const pid of spread) expect(pid).toBeGreaterThan(1000), expect(pid).toBeLessThan(1001 + 8 + 100);
    expect(spread).not.toEqual([1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008]);
    expect(await forks(1)).toEqual([1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008]);
  }, 60_000);
});
