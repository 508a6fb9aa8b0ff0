/*
 * The human summary of a stress report: verdict first, then what broke and where, the hang dump,
 * the busiest system calls and the most contended locks.
 */
import { coverageLine } from "../sites/coverage.js";
import type { ThreadDump } from "../sched/cpu.js";
import type { StressReport, WriteFailure } from "./report.js";

/** The files the run wrote, for the summary to say where they are. */
export interface SummaryFiles {
  report?: string;
  trace?: string;
  unwritten?: readonly WriteFailure[];
}

export function stressSummary(r: StressReport, files: SummaryFiles = {}): string {
  const c = r.config;
  const lines: string[] = [];
  const len = c.ops !== undefined ? `${c.ops} ops` : `${c.seconds} s`;
  lines.push(`forkstorm stress: ${c.kernel}/${c.scenario}, ${c.cpus} cpus, ${c.mode}, seed ${c.seed}, chaos ${c.chaos}, ${len}${c.bugs.length ? `, bugs ${c.bugs.join(",")}` : ""}${c.mutant ? `, mutant ${c.mutant}` : ""}`);
  const rate = r.elapsedSeconds > 0 ? r.ops.total / r.elapsedSeconds / c.cpus : 0;
  lines.push(`verdict: ${r.verdict.toUpperCase()} after ${r.elapsedSeconds.toFixed(2)} s, ${r.ops.total} system calls (${rate.toFixed(0)} per second per cpu)`);
  for (const v of r.violations.slice(0, 10)) {
    lines.push(`  violation [${v.law}] ${v.message}`);
    const where = v.cpu >= 0 ? `on cpu ${v.cpu}, thread ${v.tid}, pid ${v.pid}${v.syscall ? `, in ${v.syscall}` : ""}, ` : "";
    lines.push(`    ${where}at ${v.atSeconds.toFixed(3)} s${r.eventHash !== null ? `, step ${v.step}` : ""}`);
  }
  if (r.violations.length > 10) lines.push(`  ... and ${r.violations.length - 10} more`);
  if (r.hang) {
    lines.push(`  hang: ${hangCause(r)}; threads (ddb ps + show locks):`);
    const [listed, rest] = hangThreadsListed(r.hang.threads);
    for (const t of listed) lines.push(...threadLines(t));
    if (rest.length) lines.push(`    ... and ${rest.length} more in the report: ${countedByWait(rest)}`);
  }
  if (r.error) lines.push(`  internal error: ${r.error.split("\n")[0]}`);
  const calls = Object.entries(r.ops.bySyscall).sort((a, b) => b[1].calls - a[1].calls);
  if (calls.length) {
    lines.push("system calls:");
    for (const [name, s] of calls) {
      const errs = Object.entries(s.errno).map(([e, n]) => `${e} ${n}`).join(", ");
      lines.push(`  ${name.padEnd(14)} ${String(s.calls).padStart(9)} calls, ${String(s.ok).padStart(9)} ok${errs ? `; ${errs}` : ""}`);
    }
  }
  const locks = r.lockstat.filter((l) => l.contended > 0).slice(0, 6);
  if (locks.length) {
    lines.push("most contended locks:");
    for (const l of locks) lines.push(`  ${l.lock.padEnd(22)} ${String(l.contended).padStart(8)} contended of ${l.acquisitions}, waited ${(l.waitNs / 1e6).toFixed(1)} ms`);
  }
  for (const w of r.witness) lines.push(`witness: lock order cycle ${[...w.cycle, w.cycle[0]].join(" -> ")}`);
  lines.push(coverageLine(r.coverage));
  lines.push(...whereWritten(files));
  return lines.join("\n");
}

function hangCause(r: StressReport): string {
  const h = r.hang!;
  const when = `${h.afterSeconds.toFixed(2)} s into the ${h.during === "run" ? "run" : "end-of-run drain"}`;
  switch (h.cause) {
    case "quiescent":
      return `nothing can run any more -- every thread asleep, no timed sleep pending (seen ${when})`;
    case "watchdog":
      return `no system call completed for ${r.config.watchdogSeconds !== undefined ? `${r.config.watchdogSeconds} s, ` : ""}the watchdog's time (called ${when})`;
    case "drain-timeout":
      return `the end-of-run drain (programs exiting, init reaping) did not finish (called ${when})`;
  }
}

/** Hang-dump threads the summary lists one by one (fork-hold's dump has tens of thousands). */
const HANG_THREADS_LISTED = 40;

/** The threads to list -- those running, holding or waiting for a lock first -- and the rest. */
function hangThreadsListed(threads: readonly ThreadDump[]): [ThreadDump[], ThreadDump[]] {
  const plainSleeper = (t: ThreadDump) => t.state === "sleeping" && !t.holds.length && t.waitsFor === null;
  const ordered = [...threads.filter((t) => !plainSleeper(t)), ...threads.filter(plainSleeper)];
  return [ordered.slice(0, HANG_THREADS_LISTED), ordered.slice(HANG_THREADS_LISTED)];
}

/** "59000 sleeping in pause, 245 sleeping in wait": the unlisted threads by where they are. */
function countedByWait(threads: readonly ThreadDump[]): string {
  const by = new Map<string, number>();
  for (const t of threads) {
    const where = t.wchan ? `sleeping in ${t.wchan.split(" ")[0]}` : t.state;
    by.set(where, (by.get(where) ?? 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1]).map(([where, n]) => `${n} ${where}`).join(", ");
}

/** A thread of a hang dump: who, where it sleeps, what it holds, what it waits for and who holds that. */
function threadLines(t: ThreadDump): string[] {
  const lines = [`    cpu ${t.cpu} tid ${t.tid} pid ${t.pid} ${t.syscall || t.program} ${t.state}${t.wchan ? ` on ${t.wchan}` : ""}`];
  const frame = t.stack.split("\n").find((f) => !f.includes("src/sync/"));
  if (frame) lines.push(`      in ${frame}`);
  if (t.holds.length) lines.push(`      holds ${t.holds.join(", ")}`);
  if (t.tokens.length) lines.push(`      tokens ${t.tokens.join(", ")} (re-taken before it runs)`);
  if (t.waitsFor) {
    const by = t.waitsForHolders.map((o) => `tid ${o.tid} (pid ${o.pid}, cpu ${o.cpu})`).join(", ");
    lines.push(`      waits for ${t.waitsFor}${by ? `, held by ${by}` : ""}`);
  }
  return lines;
}

function whereWritten(f: SummaryFiles): string[] {
  const lines: string[] = [];
  for (const [what, file] of [["report", f.report], ["trace", f.trace]] as const) {
    if (file === undefined) continue;
    const failed = f.unwritten?.find((u) => u.file === file);
    lines.push(`${what}: ${failed ? (failed.savedTo ? `${failed.savedTo} (could not write ${file}: ${failed.error})` : `not written (${file}: ${failed.error})`) : file}`);
  }
  return lines;
}
