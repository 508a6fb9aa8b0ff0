/*
 * Chrome trace-event JSON (loads in Perfetto and chrome://tracing), from the last events each cpu
 * kept: one track per cpu with the system calls, sleeps, violations, frees and a schedule's
 * applied decisions (shrink's short runs read as the race's story), and the lock waits and
 * holds (tokens, lockmgr locks, mutexes) as async slices, one track per thread and lock. Locks
 * need tracks of their own: a hold does not nest inside the cpu's slices -- a sleep releases the
 * thread's tokens after it began, and a lockmgr lock stays held across it.
 */
import type { CpuResult } from "../sched/cpu.js";
import type { LoggedEvent } from "../sched/eventlog.js";
import { EV, EV_NAMES, type TraceEvent } from "../shm/trace.js";

interface ChromeEvent {
  name: string;
  ph: "B" | "E" | "i" | "M" | "b" | "e";
  /** Async slices: their category and the id that pairs b with e. */
  cat?: string;
  id?: string;
  ts?: number;
  pid: number;
  tid: number;
  s?: "t" | "p" | "g";
  args?: Record<string, unknown>;
}

export function chromeTrace(results: readonly CpuResult[], describe: (addr: number) => string, callName: (n: number) => string): { traceEvents: ChromeEvent[]; displayTimeUnit: "ms" } {
  const out: ChromeEvent[] = [];
  // What is still open when the trace ends stays open to its end, on every cpu: a thread preempted
  // mid-call is in that call while another cpu breaks a law.
  const last = Math.max(0, ...results.map((r) => r.events.at(-1)?.us ?? 0));
  for (const r of results) {
    out.push({ name: "thread_name", ph: "M", pid: 0, tid: r.cpu, args: { name: `cpu${r.cpu}` } });
    const open: string[] = [];
    const slice = (name: string, e: TraceEvent, args: Record<string, unknown>) => {
      out.push({ name, ph: "B", ts: e.us, pid: 0, tid: r.cpu, args });
      open.push(name);
    };
    const end = (name: string, e: TraceEvent) => {
      const i = open.lastIndexOf(name);
      if (i < 0) return; // began before the ring's window
      while (open.length > i) out.push({ name: open.pop()!, ph: "E", ts: e.us, pid: 0, tid: r.cpu });
    };
    // Lock slices, keyed by thread and lock: at most one wait open, holds nested (recursion).
    const waits = new Set<string>();
    const holds = new Map<string, number>();
    const lockSlice = (ph: "b" | "e", what: "wait" | "hold", tid: number, a: number, us: number) =>
      out.push({ name: `${what} ${describe(a)}`, cat: "lock", id: `cpu${r.cpu}.t${tid}.${a}`, ph, ts: us, pid: 0, tid: r.cpu, args: { tid } });
    const lockEvent = (e: TraceEvent) => {
      const key = `${e.tid}.${e.a}`;
      if (e.type === "lock_wait") {
        if (!waits.has(key)) lockSlice("b", "wait", e.tid, e.a, e.us);
        waits.add(key);
      } else if (e.type === "lock_got") {
        if (waits.delete(key)) lockSlice("e", "wait", e.tid, e.a, e.us);
        holds.set(key, (holds.get(key) ?? 0) + 1);
        lockSlice("b", "hold", e.tid, e.a, e.us);
      } else {
        const n = holds.get(key) ?? 0; // 0: the hold began before the ring's window
        if (n === 0) return;
        lockSlice("e", "hold", e.tid, e.a, e.us);
        if (n === 1) holds.delete(key);
        else holds.set(key, n - 1);
      }
    };
    for (const e of r.events) {
      const who = { tid: e.tid, pid: e.pid };
      switch (e.type) {
        case "syscall":
          slice(callName(e.a), e, who);
          break;
        case "sysret":
          end(callName(e.a), e);
          break;
        case "sleep":
          slice(`sleep ${describe(e.a)}`, e, who);
          break;
        case "woken":
          end(`sleep ${describe(e.a)}`, e);
          break;
        case "lock_wait":
        case "lock_got":
        case "lock_rel":
          lockEvent(e);
          break;
        case "violation":
          out.push({ name: `VIOLATION: ${r.violations[e.a]?.law ?? "?"}`, ph: "i", s: "g", ts: e.us, pid: 0, tid: r.cpu, args: { ...who, message: r.violations[e.a]?.message } });
          break;
        case "free":
          out.push({ name: `free ${describe(e.a).replace(/\.[^.]*$/, "")}`, ph: "i", s: "t", ts: e.us, pid: 0, tid: r.cpu, args: who });
          break;
        case "decision":
          out.push({ name: `decision: cpu ${r.cpu} lets cpu ${e.a} run`, ph: "i", s: "g", ts: e.us, pid: 0, tid: r.cpu, args: { ...who, point: e.b } });
          break;
        default:
          out.push({ name: e.type, ph: "i", s: "t", ts: e.us, pid: 0, tid: r.cpu, args: who });
      }
    }
    while (open.length) out.push({ name: open.pop()!, ph: "E", ts: last, pid: 0, tid: r.cpu });
    const unkey = (key: string) => key.split(".").map(Number);
    for (const key of waits) lockSlice("e", "wait", unkey(key)[0], unkey(key)[1], last);
    for (const [key, n] of holds) for (let d = 0; d < n; d++) lockSlice("e", "hold", unkey(key)[0], unkey(key)[1], last);
  }
  return { traceEvents: out, displayTimeUnit: "ms" };
}

/** One logged event (eventlog.ts) in words: its step, cpu, thread, kind and what it was about. */
export function describeEvent(e: LoggedEvent, describe: (addr: number) => string, callName: (n: number) => string): string {
  const what = EV_NAMES[e.type] ?? `event#${e.type}`;
  let about: string;
  switch (e.type) {
    case EV.SYSCALL:
      about = callName(e.a);
      break;
    case EV.SYSRET:
      about = `${callName(e.a)}${e.b ? ` errno ${e.b}` : ""}`;
      break;
    case EV.SLEEP:
    case EV.WOKEN:
    case EV.WAKEUP:
    case EV.LOCK_WAIT:
    case EV.LOCK_GOT:
    case EV.LOCK_REL:
      about = `${describe(e.a)}${e.b ? ` (${e.b})` : ""}`;
      break;
    default:
      about = `${e.a} ${e.b}`;
  }
  return `step ${e.step}, cpu ${e.cpu}, thread ${e.tid}: ${what} ${about}`;
}
