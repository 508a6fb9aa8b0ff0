/*
 * Instants of a controlled run where the sleep laws can be judged exactly (issue 16 item 4: "run
 * the audits at quiescent points during the run in controlled modes"): whenever the baton holder
 * finds no cpu that can run -- every thread asleep or idle, before logical time moves on -- and
 * at each system call's entry by the baton holder (src/kern/usermode.ts). Nothing else runs at
 * such an instant; the laws judge only states no waker can be half-way through (`settled`,
 * src/invariants/sleepers.ts). Each kernel's worker module registers its laws, which apply to an
 * image that has its tables (a pooled worker may have loaded both kernels and run either); they
 * read the image raw, so checking them changes neither the schedule nor the run's hash. A
 * finding is reported once per cpu and run.
 *
 * The lost-wakeup law is judged at another instant of a controlled run: each kernel wakeup made
 * by the baton holder, before it takes anyone off its queue (src/sync/sleep.ts).
 */
import { violation } from "../shm/hooks.js";
import type { Image } from "../shm/image.js";
import type { Addr, Handle } from "../shm/table.js";
import { image, sched } from "../sync/seam.js";
import type { AuditFinding } from "../kern/kernel.js";

/** Each kernel's laws, by the name of a table only its images have. */
const laws = new Map<string, (img: Image) => AuditFinding[]>();

/** Register a kernel's settled-state laws, for images that have the table `tableName`. */
export function setSettledLaws(tableName: string, check: (img: Image) => AuditFinding[]): void {
  laws.set(tableName, check);
}

/** Check the running image's laws now; `reported`: what this cpu reported so far in the run. */
export function checkSettledLaws(reported: Set<string>, where: string): void {
  let found: AuditFinding[] = [];
  for (const [table, check] of laws) if (image.hasTable(table)) found = check(image);
  for (const f of found) {
    const key = `${f.law}\0${f.message}`;
    if (reported.has(key)) continue;
    reported.add(key);
    violation(f.law, `${f.message} (${where})`);
  }
}

/** Each kernel's lost-wakeup law: the findings of a wakeup of `ident` by thread `waker`. */
const wakeupLaws = new Map<string, (img: Image, ident: Addr, waker: Handle) => AuditFinding[]>();

/** Register a kernel's lost-wakeup law, for images that have the table `tableName`. */
export function setWakeupLaws(tableName: string, check: (img: Image, ident: Addr, waker: Handle) => AuditFinding[]): void {
  wakeupLaws.set(tableName, check);
}

/** A wakeup of `ident` by `waker`: judged only while nothing else runs (the baton holder). */
export function checkWakeupLaws(ident: Addr, waker: Handle): void {
  if (!sched.alone()) return;
  for (const [table, check] of wakeupLaws) if (image.hasTable(table)) for (const f of check(image, ident, waker)) violation(f.law, f.message);
}
