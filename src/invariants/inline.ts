/*
 * In-line laws (issue 16 item 4): checked where the kernel writes the state, at the first moment
 * it can be broken, instead of by an audit after the drain -- by then a duplicate pid has been
 * reaped, a tid out of range has exited and a lost count may have come back. DragonFly's kernel
 * code calls each one right after the write it guards (proc_add_allproc, lwp_fork, fork1 and
 * kern_wait), holding the lock that guards what the law reads.
 *
 * A law is not the kernel: it reads the image straight (peek), with no scheduling point and
 * nothing the field-level detectors see, so a run takes the same schedule with the laws as it
 * would without them.
 */
import { KKASSERT } from "../shm/hooks.js";
import { NULL, slotOf, type Handle, type Table } from "../shm/table.js";
import { image, sched } from "../sync/seam.js";
import { ALLPROC_HASH, KGLOBALS, LWP, PID_MAX, PROC, PROCGLOB } from "../kern/dragonfly/structs.js";

/** A one-word field of record h, read from the image as it is (h must be valid). */
function peek(t: Table, h: Handle, field: string): number {
  return t.i32[t.recordBase(slotOf(h)) + t.layout.offsets[field]];
}

/** The records of a list (head, then `next` in each), at most the table's capacity of them. */
function* listOf(t: Table, head: Handle, next: string): Generator<Handle> {
  for (let h = head, n = 0; h !== NULL && t.valid(h) && n < t.capacity; h = peek(t, h, next), n++) yield h;
}

function globals(): { t: Table; h: Handle } {
  const t = image.table(KGLOBALS);
  return { t, h: t.handleAt(0) };
}

/**
 * pid-range, pid-duplicate: proc_add_allproc gave `pid` to the process it just put on its chain.
 * The pid is in 1..PID_MAX and no other process (zombies included) has it (proc_makepid skips
 * every pid in use, 000:483). A pid can only be on chain ALLPROC_HASH(pid), whose proc_token the
 * caller holds: the chain holds still.
 */
export function dragonflyPidGiven(pid: number): void {
  KKASSERT(pid > 0 && pid <= PID_MAX, "pid-range", `proc_add_allproc gave pid ${pid}, outside 1..${PID_MAX}`);
  const procs = image.table(PROC);
  const chains = image.table(PROCGLOB);
  let holders = 0;
  for (const p of listOf(procs, peek(chains, chains.handleAt(ALLPROC_HASH(pid)), "allproc"), "p_list")) if (peek(procs, p, "p_pid") === pid) holders++;
  KKASSERT(holders <= 1, "pid-duplicate", `proc_add_allproc gave pid ${pid}, which ${holders - 1} other process(es) on its allproc chain have`);
}

/**
 * tid-range, tid-duplicate: lwp_fork gave `tid` to lwp `lp` of process `p`, whose lwp tree it
 * was just inserted in. The tid is in 1..INT_MAX (lwp_fork wraps to 1, 000:809-821) and no other
 * lwp of the process has it. p's p_token held: the tree holds still.
 */
export function dragonflyTidGiven(p: Handle, lp: Handle, tid: number): void {
  KKASSERT(tid > 0, "tid-range", `lwp_fork gave tid ${tid}, outside 1..INT_MAX`);
  const lwps = image.table(LWP);
  let holders = 0;
  for (const l of listOf(lwps, peek(image.table(PROC), p, "p_lwp_tree"), "lwp_rbnode")) if (l !== lp && peek(lwps, l, "lwp_tid") === tid) holders++;
  KKASSERT(holders === 0, "tid-duplicate", `lwp_fork gave tid ${tid} of pid ${peek(image.table(PROC), p, "p_pid")}, which ${holders} other lwp(s) of it have`);
}

/**
 * nprocs-undercount, the live law checked in-line: fork1 counts a process before it allocates
 * it and kern_wait frees it before it uncounts, so nprocs is never below the proc records in
 * use. Called after every allocation of a proc record and every write of nprocs. Exact where
 * nothing else runs between the two reads (controlled modes); in free mode the live law samples
 * it instead (another cpu may fork between them).
 */
export function dragonflyNprocsCovered(where: string): void {
  if (!sched.alone()) return;
  const g = globals();
  const nprocs = peek(g.t, g.h, "nprocs");
  const records = image.table(PROC).inUse();
  KKASSERT(nprocs >= records, "nprocs-undercount", `${where}: nprocs ${nprocs} is below the ${records} proc records in use: a count was lost`);
}
