/*
 * In-line laws (issue 16 item 4): checked where the kernel writes the state, at the first moment
 * it can be broken, instead of by an audit after the drain -- by then a duplicate pid has been
 * reaped, a tid out of range has exited and a lost count may have come back. The kernel code
 * calls each one right after the write it guards (proc_add_allproc, lwp_fork, fork1 and
 * kern_wait), holding the lock that guards what the law reads, or right where a wait the kernel
 * relies on is over (a PSTALL or LWPHOLD drain, the vfork wait: session 3's hold and
 * leave-too-early laws).
 *
 * A law is not the kernel: it reads the image straight (peek), with no scheduling point and
 * nothing the field-level detectors see, so a run takes the same schedule with the laws as it
 * would without them. Each builds its report only once it is broken (`if (broken) violation`):
 * a KKASSERT's message argument was built at every call, a law's template strings and number
 * conversions at every fork.
 */
import { violation } from "../shm/hooks.js";
import { slotOf, type Addr, type Handle, type Table } from "../shm/table.js";
import { countOnList, listOf, peek } from "./raw.js";
import { image, sched } from "../sync/seam.js";
import { PLOCK_MASK } from "../sync/phold.js";
import { ALLPROC_HASH, KGLOBALS, LWP, P_PPWAIT, PID_MAX, PROC, PROCGLOB } from "../kern/dragonfly/structs.js";
import { LW_WEXIT, PL_PPWAIT, PROC as NB_PROC, SIGKILL, sigmask, SSTOP as NB_SSTOP } from "../kern/netbsd/structs.js";

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
  if (!(pid > 0 && pid <= PID_MAX)) violation("pid-range", `proc_add_allproc gave pid ${pid}, outside 1..${PID_MAX}`);
  const procs = image.table(PROC);
  const chains = image.table(PROCGLOB);
  const holders = countOnList(procs, peek(chains, chains.handleAt(ALLPROC_HASH(pid)), "allproc"), "p_list", "p_pid", pid);
  if (holders > 1) violation("pid-duplicate", `proc_add_allproc gave pid ${pid}, which ${holders - 1} other process(es) on its allproc chain have`);
}

/**
 * tid-range, tid-duplicate: lwp_fork gave `tid` to lwp `lp` of process `p`, whose lwp tree it
 * was just inserted in. The tid is in 1..INT_MAX (lwp_fork wraps to 1, 000:809-821) and no other
 * lwp of the process has it. p's p_token held: the tree holds still.
 */
export function dragonflyTidGiven(p: Handle, lp: Handle, tid: number): void {
  if (tid <= 0) violation("tid-range", `lwp_fork gave tid ${tid}, outside 1..INT_MAX`);
  const lwps = image.table(LWP);
  let holders = 0;
  for (const l of listOf(lwps, peek(image.table(PROC), p, "p_lwp_tree"), "lwp_rbnode")) if (l !== lp && peek(lwps, l, "lwp_tid") === tid) holders++;
  if (holders !== 0) violation("tid-duplicate", `lwp_fork gave tid ${tid} of pid ${peek(image.table(PROC), p, "p_pid")}, which ${holders} other lwp(s) of it have`);
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
  if (nprocs < records) violation("nprocs-undercount", `${where}: nprocs ${nprocs} is below the ${records} proc records in use: a count was lost`);
}

/**
 * The wait channel of the process p names in `field` (its parent, its task leader), read raw as a
 * law reads: what wakeup_owed records beside the kernel's own wakeup of that process, with no
 * field access of its own -- a read through the accessors would be a scheduling point the kernel
 * does not have, and would move every pinned schedule.
 */
export function dragonflyProcChannel(p: { readonly h: Handle }, field: "p_pptr" | "p_leader"): Addr {
  const procs = image.table(PROC);
  return procs.recordBase(slotOf(peek(procs, p.h, field)));
}

/**
 * freed-while-named (gap class G4, a hold nobody checks): a reference-counted record a process
 * names through its own field -- its vmspace (p_vmspace), signal actions (p_sigacts), arguments
 * (p_args) -- is freed while a process in use still names it there. Each holder takes its
 * reference before it stores the handle (vm_fork's refcount_acquire for RFMEM, fork1's for
 * RFSIGSHARE) and lets go of the field before it drops the reference (kern_wait clears it,
 * exec and vmspace_unshare store the new one first: vm_map.c 4030-4033), so when the last
 * reference goes nobody names the record: a process that still does has a reference that was
 * never taken, or dropped twice. Checked at the free, before the record is handed out again and
 * long before that process's next use of it. Exact where nothing else runs (controlled modes);
 * in free mode a fork may be between its acquire and its store on another cpu.
 */
export function dragonflyFreedUnnamed(field: "p_vmspace" | "p_sigacts" | "p_args", h: Handle, site: string): void {
  if (!sched.alone()) return;
  const procs = image.table(PROC);
  for (const p of procs.handles()) {
    if (peek(procs, p, field) === h) violation("freed-while-named", `${site} frees the ${field.slice(2)} pid ${peek(procs, p, "p_pid")} still names in ${field}: a reference of it was never taken or was dropped twice`);
  }
}

/** A record the kernel code names through its view; the laws use only ptr(), which is no scheduling point. */
interface KernelRecord {
  readonly h: Handle;
  ptr(field?: string): Addr;
}

/** What each DragonFly drain guarantees before the kernel goes on (the PSTALL's wmesg). */
const DRAINED_FOR: { readonly [wmesg: string]: string } = {
  reap1: "made a zombie", // kern_proc.c:1117-1137 ("required to wait until p_lock becomes zero before we can manipulate the list")
  reap1a: "made a zombie",
  reap2: "taken off its allproc chain and its parent's children", // kern_proc.c:1152-1166
  reap2a: "taken off its allproc chain and its parent's children",
  reap3: "unlinked by kern_wait", // kern_exit.c:1021-1030 ("don't do anything really bad until all references go away")
  reap4: "given up by kern_wait (vmspace_exitfree)", // kern_exit.c:1117-1119
  reap5: "freed by kern_wait", // kern_exit.c:1121-1130
  exec1: "given a new image by exec", // kern_exec.c:819 (the vfork parent's hold excepted)
};

/**
 * proc-held: a PSTALL(p, wmesg, n) has returned, so at most n holds are left on p -- the kernel
 * moves, unlinks, strips or frees the record next, relying on no holder being left to use it
 * (kern_proc.c:245-262: "the kernel waits for the hold count to drop to 0 (or 1 in some cases) at
 * various critical points in the fork/exec and exit paths before proceeding"). Checked at that
 * instant, where the drain guarantees it, rather than by a later use-after-free the holder may
 * never make. Exact in controlled modes; in free mode another cpu may PHOLD between the drain and
 * the check, which the kernel allows (a hold taken after the drain is the taker's to re-check).
 */
export function dragonflyProcDrained(p: KernelRecord, n: number, wmesg: string): void {
  if (!sched.alone()) return;
  const holds = image.i32[p.ptr("p_lock")] & PLOCK_MASK;
  if (holds > n) violation("proc-held", `pid ${image.i32[p.ptr("p_pid")]} ${DRAINED_FOR[wmesg] ?? wmesg} with ${holds} hold(s) on it (PSTALL "${wmesg}" leaves at most ${n})`);
}

/**
 * lwp-held: lwp_exit's "lwpexit" and kern_wait's "zomblwp" loops have waited lwp_lock down to 0
 * (kern_exit.c:697-699, 1005-1013: "make sure no one is using this lwp before it is removed from
 * the tree"; an LWPHOLDer iterating the tree across a block relies on it). Checked where the loop
 * is left, in controlled modes (in free mode a new LWPHOLD may come right after, as it may in the
 * kernel: the lwp is still in the tree).
 */
export function dragonflyLwpDrained(lp: KernelRecord, wmesg: string): void {
  if (!sched.alone()) return;
  const holds = image.i32[lp.ptr("lwp_lock")];
  if (holds !== 0) violation("lwp-held", `tid ${image.i32[lp.ptr("lwp_tid")]} past "${wmesg}" with ${holds} LWPHOLD(s) on it`);
}

/**
 * vfork-left-early: a vfork parent leaves its wait only once its child has exec'd or exited --
 * the flag it waits on is clear (DragonFly P_PPWAIT, 000:924-929; NetBSD PL_PPWAIT under
 * proc_lock, 001:588-593); the parent then returns to user mode on the address space the child
 * still uses. The flag is only ever cleared once set, so the check is exact in every mode. A child
 * already reaped (NetBSD: reparented to init by PK_NOCLDWAIT) has left the wait's reason behind.
 */
export function vforkWaited(p2: KernelRecord, kernel: "dragonfly" | "netbsd"): void {
  const [t, field, flag, name] = kernel === "dragonfly" ? [image.table(PROC), "p_flags", P_PPWAIT, "P_PPWAIT"] : [image.table(NB_PROC), "p_lflag", PL_PPWAIT, "PL_PPWAIT"];
  if (!t.valid(p2.h)) return;
  if (image.i32[p2.ptr(field)] & flag) violation("vfork-left-early", `the vfork parent of pid ${image.i32[p2.ptr("p_pid")]} left its wait while the child still has ${name}: it returns to user mode before the child exec'd or exited`);
}

/**
 * stopped-lwp-runs (NetBSD): an lwp leaves its stop wait only once its process is no longer SSTOP,
 * or SIGKILL is pending, or the lwp is told to exit (lwp_stopwait's loop, kern_sig.c sigswitch /
 * issignal; the model's kern_sig.ts) -- else it runs on in a stopped process. Called where the wait
 * is left, p_lock held (what the loop's test reads changes only under it): exact in every mode.
 */
export function netbsdStopWaited(p: KernelRecord, l: KernelRecord): void {
  const stopped = image.i32[p.ptr("p_stat")] === NB_SSTOP && !(image.i32[p.ptr("p_siglist")] & sigmask(SIGKILL)) && !(image.i32[l.ptr("l_flag")] & LW_WEXIT);
  if (stopped) violation("stopped-lwp-runs", `lid ${image.i32[l.ptr("l_lid")]} of pid ${image.i32[p.ptr("p_pid")]} left its stop wait while the process is still stopped`);
}

/**
 * exit-not-alone (DragonFly): killalllwps returns only once the exiting thread is its process's
 * last (kern_exit.c:180-278: "wait for the other lwps to be gone"); the master exit that follows
 * tears down what they would still use. p_token held, under which p_nthreads changes: exact.
 */
export function dragonflyLastThread(p: KernelRecord): void {
  const n = image.i32[p.ptr("p_nthreads")];
  if (n > 1) violation("exit-not-alone", `pid ${image.i32[p.ptr("p_pid")]} goes on with its exit while ${n - 1} other thread(s) of it remain`);
}
