/*
 * Chrome trace-event JSON (loads in Perfetto and chrome://tracing): one track per cpu showing the
 * system calls, lock waits and sleeping-lock holds, sleeps, and violations, from the last events
 * each cpu kept.
 */
import type { CpuResult } from "../sched/cpu.js";
import type { TraceEvent } from "../shm/trace.js";

interface ChromeEvent {
  name: string;
  ph: "B" | "E" | "i" | "M";
  ts?: number;
  pid: number;
  tid: number;
  s?: "t" | "p" | "g";
  args?: Record<string, unknown>;
}

export function chromeTrace(results: readonly CpuResult[], describe: (addr: number) => string, callName: (n: number) => string): { traceEvents: ChromeEvent[]; displayTimeUnit: "ms" } {
  const out: ChromeEvent[] = [];
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
          slice(`wait ${describe(e.a)}`, e, who);
          break;
        case "lock_got":
          end(`wait ${describe(e.a)}`, e);
          slice(`hold ${describe(e.a)}`, e, who);
          break;
        case "lock_rel":
          end(`hold ${describe(e.a)}`, e);
          break;
        case "violation":
          out.push({ name: `VIOLATION: ${r.violations[e.a]?.law ?? "?"}`, ph: "i", s: "g", ts: e.us, pid: 0, tid: r.cpu, args: { ...who, message: r.violations[e.a]?.message } });
          break;
        default:
          out.push({ name: e.type, ph: "i", s: "t", ts: e.us, pid: 0, tid: r.cpu, args: who });
      }
    }
    const last = r.events.at(-1)?.us ?? 0;
    while (open.length) out.push({ name: open.pop()!, ph: "E", ts: last, pid: 0, tid: r.cpu });
  }
  return { traceEvents: out, displayTimeUnit: "ms" };
}
