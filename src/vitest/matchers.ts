/*
 * forkstorm's vitest matchers: `await expect(run).toBeClean()` and `await expect(run).toBreak(law)`
 * for a stress run, a hunt, a script or a litmus test -- the fixture's results or the library's,
 * or a promise of one. A failure says in a few lines what ran and what broke, and its last line
 * is the one-line command that reproduces the run.
 */
import { expect } from "vitest";
import type { HuntReport } from "../run/hunt.js";
import { litmusHistogram, type LitmusResult } from "../run/litmus.js";
import type { ScriptOutput } from "../script/runner.js";
import { rerunCommand } from "../run/replay.js";
import type { StressReport } from "../report/report.js";

/** Where the fixture put a run's files, and how to run it again (the fixture fills these in). */
export interface RunFiles {
  /** The one-line command that reproduces the run. */
  reproduce?: string;
  /** The report (and, for a stress run, the trace) written for the run, attached to the test. */
  reportFile?: string;
  traceFile?: string;
}

/** What the matchers take. */
export type Judged = ({ report: StressReport } | { report: HuntReport } | ScriptOutput | LitmusResult) & RunFiles;

/** A run as the matchers see it: clean or not, the laws it broke, lines that describe it. */
interface Verdict {
  clean: boolean;
  /** toBreak(law) holds: `law` (any law when undefined) broke as the kind of run requires. */
  breaks: (law: string | undefined) => boolean;
  laws: string[];
  lines: string[];
  reproduce: string;
}

const isLitmus = (r: Judged): r is LitmusResult & RunFiles => "kind" in r && r.kind === "litmus";
const isScript = (r: Judged): r is ScriptOutput & RunFiles => "unmet" in r;
const isHunt = (r: Judged): r is { report: HuntReport } & RunFiles => "report" in r && r.report.command === "hunt";

function judge(r: Judged): Verdict {
  if (isLitmus(r)) return judgeLitmus(r);
  if (isScript(r)) return judgeScript(r);
  if (isHunt(r)) return judgeHunt(r.report, r.reproduce);
  return judgeStress((r as { report: StressReport }).report, r.reproduce);
}

function judgeStress(rep: StressReport, reproduce: string | undefined): Verdict {
  const c = rep.config;
  const laws = [...new Set([...rep.violations.map((v) => v.law), ...(rep.verdict === "hang" ? ["watchdog-hang"] : [])])];
  const length = c.ops !== undefined ? `${c.ops} ops` : `${c.seconds} s`;
  const lines = [`stress ${c.kernel}/${c.scenario}, ${c.mode} seed ${c.seed}, ${c.cpus} cpus, ${length}${c.bugs.length ? `, bugs ${c.bugs.join(",")}` : ""}: ${rep.verdict.toUpperCase()}`];
  for (const v of rep.violations.slice(0, 3)) lines.push(`  [${v.law}] ${v.message}${v.cpu >= 0 ? ` (cpu ${v.cpu}, pid ${v.pid}${v.syscall ? `, ${v.syscall}` : ""}${c.mode !== "free" ? `, step ${v.step}` : ""})` : ""}`);
  if (rep.violations.length > 3) lines.push(`  ... and ${rep.violations.length - 3} more`);
  if (rep.error) lines.push(`  internal error: ${rep.error.split("\n")[0]}`);
  if (c.mode === "free" && rep.verdict !== "clean") lines.push("  (free mode: the command below runs the same configuration and seed, not the same interleaving)");
  return { clean: rep.verdict === "clean", breaks: (law) => (law === undefined ? laws.length > 0 : laws.includes(law)), laws, lines, reproduce: reproduce ?? rerunCommand(rep) };
}

function judgeHunt(rep: HuntReport, reproduce: string | undefined): Verdict {
  const c = rep.config;
  const falsePositives = rep.baseline.filter((b) => b.violations > 0);
  const missed = rep.bugs.filter((b) => b.detected < b.runs || b.runs === 0);
  const laws = [...new Set(rep.bugs.flatMap((b) => b.detectedBy))];
  const lines = [`hunt ${c.kernel}, ${c.mode}, ${c.seeds ?? "timed"} seeds from ${c.seed}: ${rep.verdict.toUpperCase()}`];
  for (const b of rep.bugs) lines.push(`  ${b.id}: detected ${b.detected}/${b.runs}${b.detectedBy.length ? ` by ${b.detectedBy.join(", ")}` : ""}`);
  for (const b of falsePositives) lines.push(`  baseline ${b.kernel}: ${b.violations} violations (${b.laws.join(", ")})`);
  if (rep.coverage.notRun.length) lines.push(`  never ran: ${rep.coverage.notRun.join(", ")}`);
  const miss = rep.runLog.find((x) => x.bug !== null && !x.detected);
  const baselineFind = rep.runLog.find((x) => x.bug === null && x.detected)?.reproduce;
  const detection = rep.runLog.find((x) => x.reproduce)?.reproduce;
  const rerun = miss && `forkstorm hunt --kernel ${miss.kernel} --bug ${miss.bug} --seeds 1 --seed ${miss.seed} --budget ${c.budget} --mode ${c.mode} --cpus ${c.cpus}`;
  const all = `forkstorm hunt --kernel ${c.kernel}${c.bugs === "all" ? "" : c.bugs.map((b) => ` --bug ${b}`).join("")} --seeds ${c.seeds ?? 1} --seed ${c.seed} --budget ${c.budget} --mode ${c.mode} --cpus ${c.cpus}`;
  return {
    clean: falsePositives.length === 0,
    breaks: (law) => missed.length === 0 && rep.coverage.notRun.length === 0 && (law === undefined || rep.bugs.every((b) => b.detectedBy.includes(law))),
    laws,
    lines,
    reproduce: reproduce ?? baselineFind ?? rerun ?? detection ?? all,
  };
}

function judgeScript(out: ScriptOutput & RunFiles): Verdict {
  const laws = [...new Set(out.violations.map((v) => v.law))];
  const lines = [`script: ${out.violations.length} violations, ${out.unmet.length} unmet expectations`];
  for (const u of out.unmet.slice(0, 3)) lines.push(`  step ${u.step}: expected ${JSON.stringify(u.expected)}, got ${JSON.stringify(u.got)}`);
  for (const v of out.violations.slice(0, 3)) lines.push(`  [${v.law}] ${v.message}`);
  return { clean: out.exitCode === 0, breaks: (law) => (law === undefined ? laws.length > 0 : laws.includes(law)), laws, lines, reproduce: out.reproduce ?? "forkstorm script FILE" };
}

function judgeLitmus(r: LitmusResult & RunFiles): Verdict {
  const laws = [...new Set(r.violations.map((v) => v.law))];
  const lines = [`litmus "${r.name}": ${r.runs} runs (${r.mode}), ${r.forbidden} FORBIDDEN, ${r.interesting} INTERESTING`, ...litmusHistogram(r)];
  for (const v of r.violations.slice(0, 3)) lines.push(`  seed ${v.seed}: [${v.law}] ${v.message}`);
  if (r.witness) lines.push(`  first forbidden: "${r.witness.outcome}" at seed ${r.witness.seed}${r.mode === "free" ? " (free mode: the command below runs its seed, not its interleaving)" : ""}`);
  return {
    clean: r.verdict === "clean",
    breaks: (law) => (law === undefined ? r.verdict !== "clean" : laws.includes(law)),
    laws,
    lines,
    reproduce: r.reproduce ?? "(no forbidden run to reproduce)",
  };
}

/** Where the test is, for the line that reruns it on a report. */
interface TestPlace {
  testPath?: string;
  currentTestName?: string;
}

/** The failure message: what was expected, the run, and last, the reproduction. */
function message(expected: string, v: Verdict, r: Judged, at: TestPlace): string {
  const files = r.reportFile ? [`  report: ${r.reportFile}${r.traceFile ? `, trace: ${r.traceFile}` : ""} (attached to the test)`] : [];
  const replayable = r.reportFile && "report" in r && at.testPath;
  const rerun = replayable ? [`  this test on that run again: FORKSTORM_REPLAY=${r.reportFile} npx vitest run ${at.testPath}${at.currentTestName ? ` -t ${JSON.stringify(at.currentTestName.split(" > ").at(-1))}` : ""}`] : [];
  return [expected, ...v.lines, ...files, ...rerun, `reproduce: ${v.reproduce}`].join("\n");
}

expect.extend({
  async toBeClean(received: Judged | Promise<Judged>) {
    const r = await received;
    const v = judge(r);
    const broke = v.laws.length ? `it broke ${v.laws.join(", ")}` : "it was not";
    return {
      pass: v.clean,
      message: () => (this.isNot ? message("expected the run not to be clean, and it was", v, r, this) : message(`expected a clean run; ${broke}`, v, r, this)),
    };
  },
  async toBreak(received: Judged | Promise<Judged>, law?: string) {
    const r = await received;
    const v = judge(r);
    const what = law ?? "a law";
    return {
      pass: v.breaks(law),
      message: () => (this.isNot ? message(`expected the run not to break ${what}; it did`, v, r, this) : message(`expected the run to break ${what}; ${v.laws.length ? `it broke ${v.laws.join(", ")}` : "it broke nothing"}`, v, r, this)),
    };
  },
});

declare module "vitest" {
  interface Matchers<T = any> {
    /** The run broke no law: a clean stress run or script, a hunt's clean baseline, a litmus test without FORBIDDEN outcomes. */
    toBeClean(): Promise<void>;
    /**
     * The run broke `law` (any law, when left out): a stress run's or script's violation; for a
     * hunt, every bug detected in every run (by `law`); for a litmus test, a FORBIDDEN outcome.
     */
    toBreak(law?: string): Promise<void>;
  }
}
