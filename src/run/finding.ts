/*
 * What a run found, in the terms reproduce and shrink keep constant: the law broken and the site
 * -- the kernel function that broke it. Two runs found the same thing when they broke the same
 * law at the same site, whatever the interleaving, step or pid.
 *
 * The site comes from whatever location the violation carries:
 *  - a stack (in-line assertions, use-after-free, token checks) -- a kernel chain or a V8 stack:
 *    its innermost frame in the kernel model (a path through src/kern), passing over the
 *    primitives and invariants (src/sync, src/invariants) and the struct accessors (structs.*,
 *    globals.*): they are where a lock is taken or a record read, not what the kernel does;
 *  - no stack (audits after the drain, live laws at rest): none; the law alone must match;
 *  - a hang with no law to explain it: the law is "hang" and the site is where the stuck threads
 *    sleep -- each (system call, wait message), e.g. "exit:reap1 vfork:ppwait".
 */
import type { StressReport } from "../report/report.js";
import type { ViolationRecord } from "../sched/cpu.js";

export interface Finding {
  law: string;
  /** The kernel function (or, for a hang, the stuck places); null when the violation has no location. */
  site: string | null;
}

/** The law a hang with no violation counts as. */
export const HANG_LAW = "hang";

/** A frame, as V8 prints it ("at fn (file:line:col)") or as a kernel chain does ("fn (src/...ts:line)"). */
const FRAME_RE = /^\s*(?:at\s+)?(?:(.+?) \()?([^()\s]+?)(?::\d+)?(?::\d+)?\)?\s*$/;
const KERNEL_FILE_RE = /[/\\]kern[/\\]/;
const ACCESSOR_FILE_RE = /[/\\](structs|globals)\.[jt]s$/;

/** The innermost kernel-model function on a stack, or null when none is on it. */
export function kernelFunction(stack: string): string | null {
  for (const line of stack.split("\n")) {
    const m = FRAME_RE.exec(line);
    if (!m) continue;
    const [, fn, file] = m;
    if (!KERNEL_FILE_RE.test(file) || ACCESSOR_FILE_RE.test(file)) continue;
    if (!fn || fn === "<anonymous>") return `<anonymous in ${file.replace(/^.*[/\\]/, "")}>`;
    return fn.replace(/^(?:new |Object\.|Generator\.)/, "").replace(/\.next$/, "");
  }
  return null;
}

/** The site of a violation. */
export function siteOf(v: Pick<ViolationRecord, "stack">): string | null {
  return v.stack ? kernelFunction(v.stack) : null;
}

/** Where the threads of a hang are stuck: the distinct (system call, wait message) pairs, sorted. */
export function hangSite(threads: readonly { syscall: string; wchan: string | null; state: string }[]): string {
  const places = new Set(threads.filter((t) => t.state === "sleeping" && t.wchan).map((t) => `${t.syscall || "-"}:${t.wchan!.split(" on ")[0]}`));
  return [...places].sort().join(" ");
}

/** What a run found first; null for a run that found nothing. */
export function findingOf(r: Pick<StressReport, "violations" | "verdict" | "hang">): Finding | null {
  const v = r.violations[0];
  if (v) return { law: v.law, site: siteOf(v) };
  if (r.verdict === "hang" && r.hang) return { law: HANG_LAW, site: hangSite(r.hang.threads) };
  return null;
}

/** The same law at the same site (a site the original did not know matches any). */
export function sameFinding(want: Finding, got: Finding | null): boolean {
  return got !== null && got.law === want.law && (want.site === null || got.site === want.site);
}

export function describeFinding(f: Finding): string {
  return f.site ? `${f.law} in ${f.site}` : f.law;
}
