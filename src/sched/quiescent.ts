/*
 * Instants of a controlled run where the sleep laws can be judged exactly (issue 16 item 4: "run
 * the audits at quiescent points during the run in controlled modes"): whenever the baton holder
 * finds no cpu that can run -- every thread asleep or idle, before logical time moves on -- and
 * at each system call's entry by the baton holder (src/kern/usermode.ts). Nothing else runs at
 * such an instant; the laws judge only states no waker can be half-way through (`settled`,
 * src/invariants/sleepers.ts). The kernel's worker module registers its laws; they read the image
 * raw, so checking them changes neither the schedule nor the run's hash. A finding is reported
 * once per cpu and run.
 */
import { violation } from "../shm/hooks.js";
import type { AuditFinding } from "../kern/kernel.js";

let laws: (() => AuditFinding[]) | null = null;

/** The laws this worker's kernel checks at settled instants (one kernel per machine). */
export function setSettledLaws(check: () => AuditFinding[]): void {
  laws = check;
}

/** Check them now; `reported`: what this cpu reported so far in the run. */
export function checkSettledLaws(reported: Set<string>, where: string): void {
  if (laws === null) return;
  for (const f of laws()) {
    const key = `${f.law}\0${f.message}`;
    if (reported.has(key)) continue;
    reported.add(key);
    violation(f.law, `${f.message} (${where})`);
  }
}
