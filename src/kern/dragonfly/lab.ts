/*
 * Lab programs of the DragonFly model, for tests that need a kernel thread to stop at a chosen
 * point (the scripted user threads cannot). Registered by entry.ts; never used by stress runs.
 */
import { THREAD } from "../../shm/core.js";
import { NULL } from "../../shm/table.js";
import { curthread, image, type KGen } from "../../sync/seam.js";
import { lockmgr, LK_EXCLUSIVE, LK_RELEASE } from "../../sync/lockmgr.js";
import { PINTERLOCKED, tsleep, tsleep_interlock } from "../../sync/sleep.js";
import { G, pgrpV, procV } from "./globals.js";
import { pgfind, pgrel } from "./kern_proc.js";
import { ksignal } from "./kern_sig.js";

/** td_arg2 of a lab thread: 1 while it holds its lock and waits for the go, 2 once done. */
export const LAB_HOLDING = 1, LAB_DONE = 2;

/**
 * pgsignal stopped half-way: take pgrp pgid's pg_lock EXCLUSIVE (as pgsignal/dokillpg do),
 * report it in td_arg2, sleep until the orchestrator sets td_arg3 and wakes &td_arg3, then
 * ksignal every member but init and release (kern_sig.c pgsignal / dokillpg). args: pgid, sig.
 */
export function* lab_pgsignal_paused([pgid, sig]: readonly number[]): KGen {
  const pg = yield* pgfind(pgid);
  if (pg === NULL) return;
  yield* lockmgr(pgrpV(pg).ptr("pg_lock"), LK_EXCLUSIVE);
  yield* holdUntilGo();
  for (let h = pgrpV(pg).pg_members; h !== NULL; h = procV(h).p_pglist) {
    if (procV(h).p_pid > 1) yield* ksignal(procV(h), sig);
  }
  yield* lockmgr(pgrpV(pg).ptr("pg_lock"), LK_RELEASE);
  yield* pgrel(pg);
  labThread().td_arg2 = LAB_DONE;
}

/**
 * reaper_lock held EXCLUSIVE, as reaper_drop holds it while it frees a reaper (000:1025-1042),
 * until the orchestrator says go: a reaper_sigtest of another thread sleeps behind it meanwhile.
 */
export function* lab_reaper_lock_paused(): KGen {
  yield* lockmgr(G().ptr("reaper_lock"), LK_EXCLUSIVE);
  yield* holdUntilGo();
  yield* lockmgr(G().ptr("reaper_lock"), LK_RELEASE);
  labThread().td_arg2 = LAB_DONE;
}

const labThread = () => image.table(THREAD).view(curthread().h);

/** Report LAB_HOLDING in td_arg2, then sleep until the orchestrator sets td_arg3 and wakes &td_arg3. */
function* holdUntilGo(): KGen {
  const me = labThread();
  me.td_arg2 = LAB_HOLDING;
  for (;;) {
    tsleep_interlock(me.ptr("td_arg3"), 0); // before the test, or the go wakeup can be lost
    if (me.td_arg3 !== 0) return;
    yield* tsleep(me.ptr("td_arg3"), PINTERLOCKED, "labgo", 0);
  }
}
