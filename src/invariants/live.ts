/*
 * Live laws: checked from the orchestrator while the cpus run, so they read a state in flux. A
 * finding is only a candidate; stress reports it when it persists over several samples (see
 * src/run/stress.ts), which tells a lost wakeup from one still in flight.
 *
 * vfork-lost-wakeup, wait-lost-wakeup: a sleeper whose condition already holds (./sleepers.ts,
 * which also checks them at a controlled run's quiet points).
 *
 * uid-proccnt-leak (NetBSD): a uid's ui_proccnt above its processes by more than the system
 * calls in flight could explain. chgproccnt counts before the process exists (001:247-256) and
 * proc_free uncounts after it is gone, so the excess at any instant is bounded by the threads
 * inside a call (plus init, which reaps on its way back to user mode); a leaked count stays.
 *
 * nprocs-undercount (DragonFly): nprocs below the proc records in use. fork1 counts before it
 * allocates (000:405-409, 438) and kern_wait frees before it uncounts, so at every instant
 * nprocs >= records (+ process 0); a count lost for good (an undo of what was never counted) stays below.
 */
import { TDF_DESCHED, THREAD } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import { NULL } from "../shm/table.js";
import type { AuditFinding } from "../kern/kernel.js";
import { KGLOBALS, PROC as DF_PROC } from "../kern/dragonfly/structs.js";
import { PROC as NB_PROC, UIDINFO } from "../kern/netbsd/structs.js";
import { CALL_NAMES as NB_CALLS } from "../kern/netbsd/calls.js";
import { PROC0 } from "./common.js";
import { dragonflySleepLaws, netbsdSleepLaws } from "./sleepers.js";

/** Run a law over a moving state: a stale handle met mid-change gives no finding this time. */
function guarded(law: () => AuditFinding[]): AuditFinding[] {
  try {
    return law();
  } catch {
    return [];
  }
}

export function dragonflyLiveLaws(img: Image): AuditFinding[] {
  return guarded(() => {
    const procs = img.table(DF_PROC);
    const out = dragonflySleepLaws(img);
    const g = img.table(KGLOBALS);
    const before = g.view(g.handleAt(0)).nprocs;
    const records = procs.inUse();
    // A fork that counts and allocates between the first load and the records would look like a
    // lost count, and the constant message would join such sightings into one streak; fork1 counts
    // before it allocates, so a second look after the records sees that fork's count.
    const nprocs = Math.max(before, g.view(g.handleAt(0)).nprocs);
    if (nprocs < records + PROC0) out.push({ law: "nprocs-undercount", message: `nprocs is below the proc records in use (and process 0): a count was lost` });
    return out;
  });
}

/** Calls that count a process before it exists, or move counts (setuid). */
const NB_COUNTING = new Set(["fork", "vfork", "__vfork14", "clone", "fork1", "setuid"].map((n) => (NB_CALLS as readonly string[]).indexOf(n)).filter((i) => i >= 0));

/** Each uid's ui_proccnt now. */
function proccnts(img: Image): Map<number, number> {
  const uis = img.table(UIDINFO);
  const out = new Map<number, number>();
  for (const h of uis.handles()) out.set(uis.view(h).ui_uid, uis.view(h).ui_proccnt);
  return out;
}

/**
 * In flight: init (it reaps on its way back to user mode), every thread in a counting call, and
 * every other thread inside a call except one parked on its own p_waitcv (a wait with nothing to
 * reap holds no count). The thread table walked slot by slot: a sample allocates nothing per
 * thread (60,000 at fork-hold).
 */
function callsInFlight(img: Image): number {
  const threads = img.table(THREAD);
  const procs = img.table(NB_PROC);
  let inflight = 1;
  for (let s = threads.nextUsed(0); s >= 0; s = threads.nextUsed(s + 1)) {
    const td = threads.handleAt(s);
    if (td === NULL) continue;
    const v = threads.view(td);
    if (v.td_syscall === 0) continue;
    const parked = v.td_flags & TDF_DESCHED && procs.valid(v.td_proc) && v.td_wchan === procs.view(v.td_proc).ptr("p_waitcv");
    if (NB_COUNTING.has(v.td_syscall - 1) || !parked) inflight++;
  }
  return inflight;
}

/** Each uid's processes now, the proc table walked slot by slot. */
function processesByUid(img: Image): Map<number, number> {
  const procs = img.table(NB_PROC);
  const byUid = new Map<number, number>();
  for (let s = procs.nextUsed(0); s >= 0; s = procs.nextUsed(s + 1)) {
    const p = procs.handleAt(s);
    if (p === NULL) continue;
    const uid = procs.view(p).p_uid;
    byUid.set(uid, (byUid.get(uid) ?? 0) + 1);
  }
  return byUid;
}

/**
 * The counts are read before and after the walk of the process table, and the lower taken: the
 * walk is not a snapshot (60,000 slots take a while), and a fork into a slot already walked
 * raises the count read after it, an exit from a slot not yet walked the count read before it.
 * A leaked count is in both.
 */
function uidLeaks(img: Image): AuditFinding[] {
  const before = proccnts(img);
  const inflight = callsInFlight(img);
  const byUid = processesByUid(img);
  const out: AuditFinding[] = [];
  for (const [uid, after] of proccnts(img)) {
    const count = Math.min(after, before.get(uid) ?? after);
    if (count - (byUid.get(uid) ?? 0) - (uid === 0 ? PROC0 : 0) > inflight) out.push({ law: "uid-proccnt-leak", message: `uid ${uid}: ui_proccnt exceeds its processes by more than the calls in flight: counts were leaked` });
  }
  return out;
}

export function netbsdLiveLaws(img: Image): AuditFinding[] {
  return guarded(() => {
    const out = netbsdSleepLaws(img);
    out.push(...uidLeaks(img));
    return out;
  });
}
