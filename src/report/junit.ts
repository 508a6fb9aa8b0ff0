/*
 * JUnit XML for CI servers (--junit FILE): the test-report format GitHub Actions, GitLab and
 * Jenkins display. A stress run is one testcase (its scenario), a hunt one per bug and one per
 * baseline kernel, a script one per step plus one for the kernel's laws. A failure's type is the
 * law broken and its text ends with the command that reproduces it (a controlled run's: bounded
 * at its first violation, however the run itself was bounded).
 */
import type { HuntReport } from "../run/hunt.js";
import type { ScriptOutput } from "../script/runner.js";
import { rerunCommand } from "../run/replay.js";
import type { StressReport } from "./report.js";

interface Problem {
  kind: "failure" | "error" | "skipped";
  /** The law broken (failures), or what went wrong. */
  type: string;
  message: string;
  text?: string;
}

interface Case {
  classname: string;
  name: string;
  seconds: number;
  problem?: Problem;
}

/** XML 1.0 text: markup escaped, characters XML cannot carry dropped. */
function esc(s: string): string {
  return s
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function document(suite: string, cases: readonly Case[], properties: Record<string, string | number>): string {
  const count = (k: Problem["kind"]) => cases.filter((c) => c.problem?.kind === k).length;
  const time = cases.reduce((s, c) => s + c.seconds, 0).toFixed(3);
  const totals = `tests="${cases.length}" failures="${count("failure")}" errors="${count("error")}" skipped="${count("skipped")}" time="${time}"`;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="forkstorm" ${totals}>`, `  <testsuite name="${esc(suite)}" ${totals}>`, "    <properties>"];
  for (const [name, value] of Object.entries(properties)) lines.push(`      <property name="${esc(name)}" value="${esc(String(value))}"/>`);
  lines.push("    </properties>");
  for (const c of cases) {
    const open = `    <testcase classname="${esc(c.classname)}" name="${esc(c.name)}" time="${c.seconds.toFixed(3)}"`;
    const p = c.problem;
    if (!p) lines.push(`${open}/>`);
    else if (p.kind === "skipped") lines.push(`${open}>`, `      <skipped message="${esc(p.message)}"/>`, "    </testcase>");
    else lines.push(`${open}>`, `      <${p.kind} type="${esc(p.type)}" message="${esc(p.message)}">${esc(p.text ?? p.message)}</${p.kind}>`, "    </testcase>");
  }
  lines.push("  </testsuite>", "</testsuites>");
  return lines.join("\n") + "\n";
}

/** A stress run: one testcase, its kernel and scenario. */
export function stressJunit(r: StressReport): string {
  const c = r.config;
  const reproduce = `reproduce: ${rerunCommand(r)}`;
  const first = r.violations[0];
  const laws = r.violations.map((v) => `[${v.law}] ${v.message}${v.cpu >= 0 ? ` (cpu ${v.cpu}, pid ${v.pid}${v.syscall ? `, ${v.syscall}` : ""}, step ${v.step})` : ""}`);
  let problem: Problem | undefined;
  if (r.verdict === "violation" && first) problem = { kind: "failure", type: first.law, message: `${first.law}: ${first.message}`, text: [...laws, reproduce].join("\n") };
  else if (r.verdict === "hang") problem = { kind: "failure", type: "watchdog-hang", message: "hang: no system call could complete", text: [...laws, ...(r.hang?.threads ?? []).map((t) => `cpu ${t.cpu} tid ${t.tid} pid ${t.pid} ${t.syscall || t.program} ${t.state}${t.wchan ? ` on ${t.wchan}` : ""}`), reproduce].join("\n") };
  else if (r.verdict === "error") problem = { kind: "error", type: "internal-error", message: (r.error ?? "internal error").split("\n")[0], text: `${r.error ?? ""}\n${reproduce}` };
  else if (r.verdict === "interrupted") problem = { kind: "error", type: "interrupted", message: "the run was interrupted before its end", text: [...laws, reproduce].join("\n") };
  const cases = [{ classname: `forkstorm.stress.${c.kernel}`, name: c.scenario, seconds: r.elapsedSeconds, problem }];
  return document("forkstorm stress", cases, { kernel: c.kernel, scenario: c.scenario, mode: c.mode, seed: c.seed, cpus: c.cpus, bugs: c.bugs.join(",") });
}

/** A hunt: a testcase per bug (detected in every run?) and per baseline kernel (clean?). */
export function huntJunit(r: HuntReport): string {
  const c = r.config;
  const secondsOf = (bug: string | null, kernel: string) => r.runLog.filter((x) => x.bug === bug && x.kernel === kernel).reduce((s, x) => s + x.seconds, 0);
  const notRun = (name: string): Problem | undefined => (r.coverage.notRun.includes(name) ? { kind: "skipped", type: "not-run", message: "never ran: the time budget ran out first" } : undefined);
  const cases: Case[] = r.bugs.map((b) => {
    const misses = r.runLog.filter((x) => x.bug === b.id && !x.detected);
    const rerun = (seed: number) => `reproduce: forkstorm hunt --kernel ${b.kernel} --bug ${b.id} --seeds 1 --seed ${seed} --budget ${c.budget} --mode ${c.mode} --cpus ${c.cpus}`;
    const problem: Problem | undefined =
      notRun(b.id) ??
      (misses.length
        ? { kind: "failure", type: "not-detected", message: `not detected in ${misses.length} of ${b.runs} runs (caught elsewhere by ${b.detectedBy.join(", ") || "nothing"})`, text: misses.map((m) => `run ${m.round + 1}, seed ${m.seed}: not detected in ${m.seconds} s\n${rerun(m.seed)}`).join("\n") }
        : undefined);
    return { classname: `forkstorm.hunt.${b.kernel}`, name: b.id, seconds: secondsOf(b.id, b.kernel), problem };
  });
  for (const k of r.baseline) {
    const bad = r.runLog.filter((x) => x.bug === null && x.kernel === k.kernel && x.detected);
    const problem: Problem | undefined =
      notRun(`baseline ${k.kernel}`) ??
      (bad.length
        ? { kind: "failure", type: k.laws[0] ?? "violation", message: `the clean kernel broke ${k.laws.join(", ")} (${k.violations} violations)`, text: bad.map((x) => `run ${x.round + 1}, seed ${x.seed}: ${x.laws!.join(", ")}\nreproduce: ${x.reproduce}`).join("\n") }
        : undefined);
    cases.push({ classname: `forkstorm.hunt.${k.kernel}`, name: "baseline", seconds: secondsOf(null, k.kernel), problem });
  }
  const properties: Record<string, string | number> = { mode: c.mode, seed: c.seed, seeds: c.seeds ?? "while time lasts", budget: c.budget, cpus: c.cpus };
  if (c.shard) properties.shard = `${c.shard.index}/${c.shard.count}`;
  if (c.timeBudget !== undefined) properties.timeBudget = c.timeBudget;
  return document("forkstorm hunt", cases, properties);
}

/** What a script step does, as a testcase name ("sh fork", "await step 3"). */
function stepLabel(step: unknown): string {
  const s = step as { as?: string; call?: string; await?: number };
  return s.await !== undefined ? `await step ${s.await}` : `${s.as ?? "init"} ${s.call}`;
}

/** A script (run from `file`): a testcase per step (its expectation met?) and one for the kernel's laws. */
export function scriptJunit(out: ScriptOutput, file: string, script: { steps: unknown[] }): string {
  const reproduce = `reproduce: forkstorm script ${file}`;
  const cases: Case[] = out.results.map((res, i) => {
    const unmet = out.unmet.find((u) => u.step === i);
    const problem: Problem | undefined = unmet && { kind: "failure", type: "unmet-expectation", message: `expected ${JSON.stringify(unmet.expected)}, got ${JSON.stringify(unmet.got)}`, text: `expected ${JSON.stringify(unmet.expected)}\ngot ${JSON.stringify(unmet.got)}\n${reproduce}` };
    return { classname: `forkstorm.script.${file}`, name: `step ${i}: ${stepLabel(script.steps[i])}`, seconds: 0, problem };
  });
  const first = out.violations[0];
  const laws: Problem | undefined = first && { kind: "failure", type: first.law, message: `${first.law}: ${first.message}`, text: [...out.violations.map((v) => `[${v.law}] ${v.message}`), reproduce].join("\n") };
  cases.push({ classname: `forkstorm.script.${file}`, name: "kernel laws", seconds: 0, problem: laws });
  return document("forkstorm script", cases, { file });
}
