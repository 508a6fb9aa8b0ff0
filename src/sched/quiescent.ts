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
 * The lost-wakeup law is judged at other instants of a controlled run: each kernel wakeup made
 * by the baton holder, before it takes anyone off its queue, and the first moment a thread that
 * owes a wakeup is seen going on without it (src/sync/sleep.ts).
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

/**
 * Each kernel's lost-wakeup law, both halves: `made`, the findings of a wakeup of `ident` by thread
 * `waker` (a committed sleeper it passes by); `unpaid`, the findings when thread `ower`, which owes
 * a wakeup of `owed`, goes on without it (`instead` says how: it woke another channel, its system
 * call ended, it exited).
 */
export interface WakeupLaws {
  made(img: Image, ident: Addr, waker: Handle): AuditFinding[];
  unpaid(img: Image, owed: Addr, ower: Handle, instead: string): AuditFinding[];
}
const wakeupLaws = new Map<string, WakeupLaws>();

/** Register a kernel's lost-wakeup law, for images that have the table `tableName`. */
export function setWakeupLaws(tableName: string, check: WakeupLaws): void {
  wakeupLaws.set(tableName, check);
}

/** Judged only while nothing else runs (the baton holder): report what `judge` finds in the running image. */
function judgeWakeups(judge: (laws: WakeupLaws) => AuditFinding[]): void {
  if (!sched.alone()) return;
  for (const [table, laws] of wakeupLaws) if (image.hasTable(table)) for (const f of judge(laws)) violation(f.law, f.message);
}

/** The checks src/sync/sleep.ts calls in a controlled run (installWakeupCheck). */
export const wakeupChecks = {
  made: (ident: Addr, waker: Handle): void => judgeWakeups((laws) => laws.made(image, ident, waker)),
  unpaid: (owed: Addr, ower: Handle, instead: string): void => judgeWakeups((laws) => laws.unpaid(image, owed, ower, instead)),
};
