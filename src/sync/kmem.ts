/*
 * Sleeping allocations from a table: kmalloc(M_WAITOK) in DragonFly, pool_get(PR_WAITOK) in
 * NetBSD. Neither ever fails: the call is a may-block point (mayblock.ts), and when the zone is
 * empty the thread sleeps until memory comes back (vm_wait, the pool's wait) -- here, until a
 * record of that table is freed. The sleep has no timeout, so a machine whose only activity is a
 * fork waiting for memory is quiescent (a script step stays pending instead of polling the clock).
 * Every free of a table a sleeping allocation draws from goes through zfree, which wakes the
 * table's sleepers; the waiter count keeps frees from paying for a wakeup nobody waits for.
 */
import { NULL, type Handle, type Table } from "../shm/table.js";
import { curthread, DONE, finished, mem, type KGen } from "./seam.js";
import { mayblock, myLab } from "./mayblock.js";
import { PINTERLOCKED, sleepq_remove, tsleep, tsleep_interlock, wakeup } from "./sleep.js";
import { words } from "../shm/words.js";

/** The wait message of a thread asleep for a record of `table` (scripts and hang dumps read it). */
export const memwaitMessage = (table: string): string => `memwait:${table}`;

/** The zone's wait channel: the address of its first record (nothing else sleeps there). */
const zoneChannel = (t: Table): number => t.base;

/**
 * M_WAITOK: a may-block point named `site`, then a record -- after waiting for one if the table
 * is full. When neither blocks it returns no generator (seam.ts, finished).
 */
export function zalloc_waitok(t: Table, site: string): KGen<Handle> {
  const point = mayblock(site);
  if (point !== DONE) return allocAfter(point, t);
  const h = t.alloc();
  return h !== NULL ? finished(h) : zoneWait(t);
}

function* allocAfter(point: KGen, t: Table): KGen<Handle> {
  yield* point;
  const h = t.alloc();
  if (h !== NULL) return h;
  return yield* zoneWait(t);
}

function* zoneWait(t: Table): KGen<Handle> {
  const waiters = myLab()!.kmemWaiters;
  const chan = zoneChannel(t);
  words.add(mem, waiters, 1);
  try {
    for (;;) {
      // Count, then interlock, then look: a free that did not see us counted came before the look.
      tsleep_interlock(chan, 0);
      const h = t.alloc();
      if (h !== NULL) {
        sleepq_remove(curthread().h);
        return h;
      }
      yield* tsleep(chan, PINTERLOCKED, memwaitMessage(t.name), 0);
    }
  } finally {
    words.sub(mem, waiters, 1);
  }
}

/** kfree / pool_put: give the record back and wake whoever waits for one. */
export function zfree(t: Table, h: Handle, site: string): void {
  t.free(h, site);
  const l = myLab();
  if (l !== null && words.load(mem, l.kmemWaiters) !== 0) wakeup(zoneChannel(t));
}
