/*
 * HTML reports: one self-contained page per bench, stress or hunt run -- inline CSS, plots as
 * inline SVG rendered here (plots.ts), no script, nothing fetched -- so it opens offline and can
 * be attached to a bug report or a CI artifact as it is.
 */
import { budgetLines } from "../bench/budget.js";
import type { BatonCost } from "../bench/index.js";
import { ceilingLines, offCoreNote, ratioSpread, type BenchReport, type LockTable } from "../bench/run.js";
import type { HuntReport } from "../run/hunt.js";
import type { ThreadDump, ViolationRecord } from "../sched/cpu.js";
import type { LockStat } from "../sync/lockstat.js";
import type { HistogramBar, TimelineSpan } from "./plots.js";
import type { StressReport } from "./report.js";

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px} h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px} th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top} th{background:#f4f4f4}
td.l,th.l{text-align:left} tr.site td{color:#555;background:#fbfbfb} tr.site td.l{padding-left:22px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600} .ok{background:#2a7d2a} .bad{background:#b22}
code,pre{font:12px/1.4 ui-monospace,monospace;background:#f6f6f6} pre{padding:8px;overflow-x:auto;white-space:pre-wrap}
.card{border:1px solid #e3b4b4;border-left:5px solid #b22;border-radius:4px;padding:8px 12px;margin:12px 0;background:#fffafa}
.plots{display:flex;flex-wrap:wrap;gap:16px} .note{color:#555;font-size:13px} .meta td{text-align:left}
`;

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>\n<body>\n${body}\n</body></html>\n`;
}

/** A table: header cells, then rows of cells; a cell starting with "<" is taken as HTML. */
function table(head: readonly string[], rows: readonly (readonly unknown[])[], leftCols = 1, rowClass: (i: number) => string = () => ""): string {
  const cell = (tag: string, v: unknown, j: number) => `<${tag}${j < leftCols ? ' class="l"' : ""}>${typeof v === "string" && v.startsWith("<") ? v : esc(v)}</${tag}>`;
  return `<table><tr>${head.map((h, j) => cell("th", h, j)).join("")}</tr>\n${rows.map((r, i) => `<tr${rowClass(i) ? ` class="${rowClass(i)}"` : ""}>${r.map((v, j) => cell("td", v, j)).join("")}</tr>`).join("\n")}</table>`;
}

/** A duration in ns, in the unit that reads best. */
export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns) || ns === 0) return "0";
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${Math.round(ns)} ns`;
}

const WAIT_NOTE = "Wait totals are summed over the waiting threads: several threads waiting at once all count, so a total can exceed the run's length (as lock_stat's waittime-total). Hold times are sampled (one acquisition in 64) and the totals scaled. Per function, acquisitions are sampled (one in 256) and scaled, and so are contentions and their wait past a class's first 32 on a cpu (one in 16: naming the function reads the stack while the lock is held).";

/**
 * A lock table in lock_stat's terms: per lock class, then per kernel function that acquired it
 * or waited for it (when the run kept sites).
 */
export function lockTable(locks: readonly LockStat[]): string {
  const rows: unknown[][] = [];
  const cls: string[] = [];
  for (const l of locks) {
    const avgWait = l.contended ? l.waitNs / l.contended : 0;
    const avgHold = l.acquisitions ? l.holdNs / l.acquisitions : 0;
    rows.push([l.lock, l.acquisitions, l.contended, l.acquisitions ? `${((100 * l.contended) / l.acquisitions).toFixed(1)}%` : "-", fmtNs(l.waitMinNs), fmtNs(avgWait), fmtNs(l.waitMaxNs), fmtNs(l.waitNs), fmtNs(l.holdMinNs), fmtNs(avgHold), fmtNs(l.holdMaxNs), fmtNs(l.holdNs)]);
    cls.push("");
    for (const s of l.sites.slice(0, 6)) {
      rows.push([`in ${s.fn}`, s.acquisitions ? `~${s.acquisitions}` : "-", s.contended, "", "", s.contended ? fmtNs(s.waitNs / s.contended) : "", s.contended ? fmtNs(s.waitMaxNs) : "", s.contended ? fmtNs(s.waitNs) : "", "", "", "", ""]);
      cls.push("site");
    }
  }
  return table(["lock class / acquiring or waiting function", "acquisitions", "contentions", "contended", "wait min", "wait avg", "wait max", "wait total (summed over threads)", "hold min", "hold avg", "hold max", "hold total"], rows, 1, (i) => cls[i]) + `<p class="note">${esc(WAIT_NOTE)}</p>`;
}

/**
 * The plotting module, loaded by the first report that draws: vega and vega-lite cost about 0.2 s
 * of CPU to load, and every process of a command that writes no HTML (each stress, hunt and test
 * run) paid it at start-up.
 */
const plots = () => import("./plots.js");

/** Wait and hold histograms of the most contended lock classes. */
async function lockHistograms(locks: readonly LockStat[], what: string): Promise<string> {
  const { histogramSpec, svgOf } = await plots();
  const top = locks.filter((l) => l.contended > 0).slice(0, 3);
  const held = locks.slice(0, 3);
  const bars = (ls: readonly LockStat[], pick: (l: LockStat) => number[]): HistogramBar[] => ls.flatMap((l) => pick(l).map((count, bucket) => ({ series: l.lock, bucket, count })));
  const out: string[] = [];
  if (top.length) out.push(await svgOf(histogramSpec(`wait times, ${what}`, bars(top, (l) => l.waitHist))));
  if (held.length) out.push(await svgOf(histogramSpec(`hold times (sampled), ${what}`, bars(held, (l) => l.holdHist))));
  return `<div class="plots">${out.join("")}</div>`;
}

async function lockSection(t: LockTable): Promise<string> {
  const what = `${t.kernel} ${t.workload}, ${t.cpus} cpu${t.cpus > 1 ? "s" : ""}, ${t.mode === "virtual" ? "virtual time" : "real parallel"}`;
  const clock = t.mode === "virtual" ? `<p class="note">Times in virtual nanoseconds (the cpus' clocks).</p>` : "";
  return `<h3>${esc(what)}</h3>${clock}${lockTable(t.locks)}${await lockHistograms(t.locks, what)}`;
}

const batonNote = (b: BatonCost | null) =>
  b ? `Controlled-mode baton hand-off: ${b.batonNs} ns, ${b.ratio}x the Atomics.wait/notify ping-pong floor (${b.floorNs} ns).` : "The baton hand-off was not measured (the time budget cut it).";

export async function benchHtml(r: BenchReport): Promise<string> {
  const { scalingSpec, svgOf } = await plots();
  const real = r.scaling.map((s) => ({ series: `${s.kernel} ${s.workload}`, cpus: s.cpus, forksPerSecond: s.forksPerSecond }));
  const sweep = r.virtual.filter((v) => v.workload === "fork-exit-wait-affine").map((v) => ({ series: v.kernel, cpus: v.cpus, forksPerSecond: v.forksPerSecond }));
  const realPlot = await svgOf(scalingSpec("real parallel: forks/s against cpus (dashed: linear)", real, false));
  // No sweep (calibration refused, or the budget cut it): a note where its plot goes, not empty axes.
  const sweepPlot = sweep.length ? await svgOf(scalingSpec("virtual time, will-it-scale fork: forks per virtual second (dashed: linear)", sweep, true)) : `<p class="note">No virtual sweep in this run: ${esc(r.calibrationRefused ?? "the time budget left it out")}.</p>`;
  const loaded = r.host.loadAverage[0] > r.host.cores / 2;
  const body = [
    `<h1>forkstorm bench${r.quick ? " --quick" : ""}</h1>`,
    table(["", ""], [["started", r.startedAt], ["host", `${r.host.cores} cores, ${r.host.cpuModel}, node ${r.host.node}`], ["load average at start", `${r.host.loadAverage.join(" / ")}${loaded ? " — loaded: the real-parallel figures are noisy (the virtual ones are not timed)" : ""}`], ["measure again", `<code>${esc(r.reproduce)}</code>`], ["took", `${r.wallSeconds} s`], ...(r.budget ? [["time budget", `<span>${budgetLines(r.budget).map(esc).join("<br>")}</span>`]] : []), ...r.failed.map((f) => [`failed: ${esc(f.section)}`, esc(f.error)])], 2).replace("<table>", '<table class="meta">'),
    `<h2>Scaling, real parallel (measured side by side in this run)</h2>`,
    `<p class="note">fork-exit-wait is the scenario as it is (8 shells; a child starts on the next cpu in turn, so parent and child meet across cpus). fork-exit-wait-affine is will-it-scale's fork test: one shell per cpu, each child on its shell's cpu. Free mode, no chaos, in rounds: each kernel and workload's 1-cpu run right before its 2-cpu run, on workers kept from run to run, each run measured once it has warmed up (V8 done compiling its code: the process's other threads nearly idle and its cpu time per call no longer falling; warm-up s). A row is its median round; its ratio is the median of the rounds' 2-cpu runs over the 1-cpu run beside each, with the least and greatest of them (a 2-cpu run alone varies by 2x on a 2-core host). cpu µs/fork is the process's cpu time per fork (every thread): what a fork costs whatever the host's load.</p>`,
    `<div class="plots">${realPlot}</div>`,
    table(["kernel", "workload", "cpus", "forks/s", "ratio to 1 cpu", "ratio spread", "rounds (forks/s)", "warm-up s", "cpu µs/fork", "idle %", "lock-wait %", "remote wake-ups/s", "futex wakes/s", "cores: workers + rest", "most contended lock"],
      r.scaling.map((s) => {
        const st = s.schedstat;
        const pct = (ns: number) => (st ? `${((100 * ns) / 1e9 / s.elapsedSeconds / s.cpus).toFixed(0)}%` : "-");
        return [s.kernel, s.workload, s.cpus, s.forksPerSecond, s.ratio, ratioSpread(s), s.rounds.join(" "), s.warmSeconds.join(" "), s.cpuUsPerFork, pct(st?.idleNs ?? 0), pct(st?.spinNs ?? 0), st ? Math.round(st.readyRemote / s.elapsedSeconds) : "-", st ? Math.round(st.doorbellWakes / s.elapsedSeconds) : "-", s.threads ? `${s.threads.workers} + ${s.threads.rest}` : "-", s.topLock];
      }), 2),
    ...(r.hostControl ? [`<p class="note">${ceilingLines(r.scaling, r.hostControl).map(esc).join("<br>")}</p>`] : []),
    `<h2>Scaling past the host's cores: virtual time</h2>`,
    `<p class="note">Each simulated cpu has a clock advanced by a cost model of what it executes; the baton always runs the cpu with the earliest clock (src/sched/virtual.ts). The model is calibrated from this runtime's measured costs (below) and validated against the real runs at 1 and 2 cpus. Deterministic: not timed, so the host's load does not move it.</p>`,
    `<div class="plots">${sweepPlot}</div>`,
    table(["kernel", "cpus", "forks / virtual s", "ratio to 1 cpu", "limiting lock (most contended)", "its contended share", "wall s"], r.virtual.filter((v) => v.workload === "fork-exit-wait-affine").map((v) => [v.kernel, v.cpus, v.forksPerSecond, v.ratio, v.topLock, `${(100 * v.topLockContention).toFixed(1)}%`, v.wallSeconds]), 1),
    `<h3>Validation against the real runs</h3>`,
    `<p class="note">${esc(hostNote(r))}</p>`,
    table(["kernel", "workload", "cpus", "real forks/s", "virtual forks/s", "on this host", "its periods off core", "error", "error, host's loss counted as the model's", "real holds, 2 cpus / 1"], r.validation.map((v) => [v.kernel, v.workload, v.cpus, v.realForksPerSecond, v.virtualForksPerSecond, v.onHostForksPerSecond, v.offCorePeriods || "-", signed(v.errorPercent), signed(v.idealErrorPercent), v.realHoldInflation === null ? "-" : `${v.realHoldInflation}x`]), 2),
    `<p class="note">The model charges a lock holder's time off its core; it does not charge the data under a lock moving between cpus with the lock (each field point is an average cost): the real holds' growth from 1 to 2 cpus beyond the off-core time is that cost.</p>`,
    `<h3>Calibration (ns of virtual time)</h3>`,
    ...(r.calibrationRefused ? [`<p class="note">${esc(r.calibrationRefused)}</p>`] : []),
    table(["kernel", "fitted to: 1-cpu forks per cpu-second", "points per fork (field / sync / sleep)", "field point", "sync point", "sleep point", "lock-line transfer", "wake-up, polling cpu", "wake-up, sleeping cpu"], r.calibration.map((c) => [c.kernel, c.fittedForksPerSecond, `${c.pointsPerFork.field} / ${c.pointsPerFork.sync} / ${c.pointsPerFork.sleep}`, c.cost.field, c.cost.sync, c.cost.sleep, c.cost.line, c.cost.ipiArrive, c.cost.wakeSleeping]), 1),
    `<h2>Lock tables (lock_stat's terms)</h2>`,
    ...(await Promise.all(r.lockTables.map(lockSection))),
    `<h2>Primitives, uncontended, against the raw Atomics floor</h2>`,
    table(["primitive", "ns/op", "x raw CAS spin lock"], r.primitives.rows.map((p) => [p.primitive, p.nsPerOp, p.xFloor]), 1),
    `<p class="note">Token goal: within ${r.primitives.tokenGoal}x the floor. ${batonNote(r.primitives.baton)}</p>`,
  ];
  return page("forkstorm bench", body.join("\n"));
}

const signed = (pct: number): string => `${pct > 0 ? "+" : ""}${pct}%`;

function hostNote(r: BenchReport): string {
  const h = r.hostControl;
  if (!h || h.refused) return `${h?.refused ?? "No host control ran."} ${offCoreNote(r)}.`;
  return `Host control: two ${h.kernel} ${h.workload} machines of 1 cpu at once in this process ran ${h.pairForksPerSecond.join(" + ")} forks/s against ${h.oneForksPerSecond} for one alone: a second worker gets ${h.efficiency} of what the first does with nothing shared (the host's cores, shared with the process's other threads, and its caches). The model's cpus do not slow each other down; on this host they are taken off their cores: ${offCoreNote(r)}.`;
}

/** Spans of the last events of every cpu, from its Chrome trace (report/trace.ts). */
export interface RunTimeline {
  spans: TimelineSpan[];
  marks: { cpu: string; atMs: number; what: string }[];
}

/** A Chrome trace's slices and violation marks as timeline spans (ms from the first event). */
export function timelineOf(trace: { traceEvents: { name: string; ph: string; ts?: number; tid: number; id?: string }[] }): RunTimeline {
  const evs = trace.traceEvents.filter((e) => e.ts !== undefined);
  const t0 = Math.min(...evs.map((e) => e.ts!));
  const ms = (us: number) => (us - t0) / 1000;
  const open = new Map<number, { name: string; ts: number }[]>(); // B/E slices, nested per cpu
  const async = new Map<string, number>(); // b/e lock slices by id and name: their start
  const spans: TimelineSpan[] = [];
  const marks: RunTimeline["marks"] = [];
  const span = (cpu: string, name: string, from: number, to: number) =>
    spans.push({ cpu, what: name, kind: name.split(" ")[0].replace(/^(?!wait|hold|sleep).*/, "system call"), startMs: ms(from), endMs: ms(to) });
  for (const e of evs) {
    const cpu = `cpu ${e.tid}`;
    const stack = open.get(e.tid) ?? [];
    open.set(e.tid, stack);
    if (e.ph === "B") stack.push({ name: e.name, ts: e.ts! });
    else if (e.ph === "E") {
      const b = stack.pop();
      if (b) span(cpu, b.name, b.ts, e.ts!);
    } else if (e.ph === "b") async.set(`${e.id} ${e.name}`, e.ts!);
    else if (e.ph === "e") {
      const from = async.get(`${e.id} ${e.name}`);
      async.delete(`${e.id} ${e.name}`);
      if (from !== undefined) span(cpu, e.name, from, e.ts!);
    } else if (e.name.startsWith("VIOLATION")) marks.push({ cpu, atMs: ms(e.ts!), what: e.name });
  }
  return { spans, marks };
}

function threadRows(threads: readonly ThreadDump[]): string {
  return table(["cpu", "tid", "pid", "program", "syscall", "state", "wait channel", "holds", "waits for"], threads.map((t) => [t.cpu, t.tid, t.pid, t.program, t.syscall || "-", t.state, t.wchan ?? "-", t.holds.join(", ") || "-", t.waitsFor ?? "-"]), 0);
}

/** An event's operand in words: the call of a system call or return, the object of a lock or sleep event (trace.ts describeEvent's cases), the number otherwise. */
export interface EventNames {
  describe: (addr: number) => string;
  callName: (n: number) => string;
}
const ON_OBJECT = new Set(["sleep", "woken", "wakeup", "lock_wait", "lock_got", "lock_rel"]);
const operand = (type: string, a: number, n: EventNames): string | number => (type === "syscall" || type === "sysret" ? n.callName(a) : ON_OBJECT.has(type) ? n.describe(a) : a);

function eventsOf(v: ViolationRecord, names: EventNames): string {
  const per = v.events as { cpu: number; events: { us: number; type: string; tid: number; pid: number; a: number; b: number }[] }[];
  if (!per.length) return "";
  return per.map((c) => `<h4>cpu ${c.cpu}${c.cpu === v.cpu ? " (the violation's)" : ""}: last ${c.events.length} events</h4>` + table(["µs", "event", "tid", "pid", "on", "b"], c.events.map((e) => [e.us.toFixed(1), e.type, e.tid, e.pid, operand(e.type, e.a, names), e.b]), 0)).join("");
}

function violationCard(v: ViolationRecord, threads: readonly ThreadDump[], names: EventNames): string {
  // The kernel's frames: not the runtime's that record the violation.
  const site = v.stack.split("\n").slice(1).filter((l) => !/[/\\](sched|shm)[/\\]/.test(l)).slice(0, 8).join("\n");
  return `<div class="card"><h3>${esc(v.law)}</h3><p>${esc(v.message)}</p>` +
    table(["cpu", "tid", "pid", "system call", "at", "step"], [[v.cpu, v.tid, v.pid, v.syscall || "-", `${v.atSeconds} s`, v.step]], 0) +
    (site ? `<h4>site</h4><pre>${esc(site)}</pre>` : "") +
    (threads.length ? `<h4>thread dump</h4>${threadRows(threads)}` : "") +
    eventsOf(v, names) + "</div>";
}

export async function stressHtml(r: StressReport, reproduce: string, timeline: RunTimeline, threads: readonly ThreadDump[], names: EventNames): Promise<string> {
  const { svgOf, timelineSpec } = await plots();
  const ok = r.verdict === "clean";
  const c = r.config;
  const timelinePlot = timeline.spans.length ? await svgOf(timelineSpec("per-cpu timeline (system calls, lock waits and holds, sleeps; red: a violation)", timeline.spans, timeline.marks)) : "<p class=\"note\">no events were kept</p>";
  const body = [
    `<h1>forkstorm stress: ${esc(c.kernel)} ${esc(c.scenario)}</h1>`,
    `<p><span class="verdict ${ok ? "ok" : "bad"}">${esc(r.verdict.toUpperCase())}</span> seed <b>${c.seed}</b>, ${c.cpus} cpus, ${esc(c.mode)} mode${c.mode === "free" ? `, chaos ${c.chaos}` : ""}${c.bugs.length ? `, bugs ${esc(c.bugs.join(", "))}` : ""}; ${r.elapsedSeconds} s, ${r.ops.total} system calls${r.eventHash ? `, event hash ${esc(r.eventHash)}` : ""}</p>`,
    `<p>Run it again: <code>${esc(reproduce)}</code></p>`,
    `<h2>Per-cpu timeline</h2>`,
    `<div class="plots">${timelinePlot}</div>`,
    `<h2>Violations (${r.violations.length})</h2>`,
    r.violations.length ? r.violations.map((v) => violationCard(v, threads, names)).join("\n") : "<p>none</p>",
    ...(r.hang ? [`<h2>Hang: every thread</h2>`, threadRows(r.hang.threads)] : []),
    `<h2>Lock table</h2>`,
    lockTable(r.lockstat.slice(0, 10)),
    await lockHistograms(r.lockstat, `${c.kernel} ${c.scenario}`),
    `<h2>System calls</h2>`,
    table(["call", "calls", "ok", "errors"], Object.entries(r.ops.bySyscall).map(([n, s]) => [n, s.calls, s.ok, Object.entries(s.errno).map(([e, k]) => `${e} ${k}`).join(", ") || "-"]), 1),
  ];
  return page(`forkstorm stress ${c.kernel} ${c.scenario}: ${r.verdict}`, body.join("\n"));
}

export async function huntHtml(r: HuntReport, command: string): Promise<string> {
  const ok = r.verdict === "pass";
  const cfg = r.config as Record<string, unknown>;
  const reproduce = r.bugs.flatMap((b) => (b.reproduce ?? []).map((c) => `${b.id}: ${c}`));
  const body = [
    `<h1>forkstorm hunt</h1>`,
    `<p><span class="verdict ${ok ? "ok" : "bad"}">${esc(r.verdict.toUpperCase())}</span> ${esc(Object.entries(cfg).filter(([k, v]) => v !== undefined && v !== null && (k !== "chaos" || cfg.mode === "free")).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(",") : v}`).join(", "))}</p>`,
    `<p>Run it again: <code>${esc(command)}</code></p>`,
    `<h2>Clean baseline</h2>`,
    table(["kernel", "runs", "executions", "seconds", "violations", "laws"], r.baseline.map((b) => [b.kernel, b.runs, b.executions ?? "-", b.seconds, b.violations, b.laws.join(", ") || "-"]), 1),
    `<h2>Detection</h2>`,
    table(["bug", "kernel", "interlock", "detected", "median s to detect", "s to detect (each run)", "executions to detect", "detected by"],
      r.bugs.map((b) => [b.id, b.kernel, b.interlock, `${b.detected}/${b.runs}`, b.medianSecondsToDetect?.toFixed(2) ?? "-", b.secondsToDetect.map((s) => s.toFixed(2)).join(" "), b.executionsToDetect?.join(" ") ?? "-", b.detectedBy.join(", ") || "-"]), 3),
    ...(reproduce.length ? [`<h2>Reproduce a detection</h2>`, `<pre>${esc(reproduce.join("\n"))}</pre>`] : []),
  ];
  return page(`forkstorm hunt: ${r.verdict}`, body.join("\n"));
}
