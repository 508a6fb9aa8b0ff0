/*
 * Programs for the primitives' tests and benchmarks (see lab.ts). Each reads its arguments from
 * the thread record: args[0] is usually an iteration count.
 */
import { point } from "../shm/hooks.js";
import { NULL, slotOf, type Handle } from "../shm/table.js";
import { programId, registerProgram } from "../sched/programs.js";
import { atomic_add_int } from "../sync/atomic.js";
import { cv_broadcast, cv_wait } from "../sync/condvar.js";
import { mutex_enter, mutex_exit, mutex_owned } from "../sync/kmutex.js";
import { LKC_SHREQ, LKC_UPREQ, lockinfo, lockmgr, lockstatus, LK_CANRECURSE, LK_DOWNGRADE, LK_EXCLUPGRADE, LK_EXCLUSIVE, LK_RELEASE, LK_SHARED, LK_UPGRADE } from "../sync/lockmgr.js";
import { EINTR } from "../sync/errno.js";
import { holdcount, PHOLD, PHOLDZOMB, PLOCK_WAITING, PLOCK_ZOMB, PRELE, PRELEZOMB, PSTALL } from "../sync/phold.js";
import { refcount_acquire, refcount_release } from "../sync/refcount.js";
import { THREAD } from "../shm/core.js";
import { curthread, image, startThread, type KGen } from "../sync/seam.js";
import { PCATCH, PINTERLOCKED, tsleep, tsleep_interlock, tsleep_signal, tsleep_threadexit, wakeup } from "../sync/sleep.js";
import { spin_lock, spin_unlock } from "../sync/spinlock.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken, lwkt_token_held_excl, lwkt_yield } from "../sync/token.js";
import * as sites from "../sites/runtime.js";
import { LAB, SCRATCH } from "./lab.js";

const lab = () => image.table(LAB).view(image.table(LAB).handleAt(0));

/** The unprotected read-modify-write every locked variant wraps (a plain load and store). */
function bump(l: ReturnType<typeof lab>): void {
  const c = l.counter;
  l.counter = c + 1;
}

function finish(): void {
  atomic_add_int(lab().ptr("done"), 1);
}

registerProgram("lab.unprotected", function* ([n]) {
  const l = lab();
  for (let i = 0; i < n; i++) bump(l);
  finish();
});

/** Scheduling points and nothing else: what the scheduler itself costs per step. */
registerProgram("lab.points", function* ([n]) {
  for (let i = 0; i < n; i++) point();
  finish();
});

/**
 * lab.points timed: n points in batches of `batch`; the fastest batch's ns are stored in
 * res0 + args[2] (the baton hand-off bench: every point hands the baton over and back).
 */
registerProgram("lab.timedPoints", function* ([n, batch, slot]) {
  let fastest = 0x7fffffff;
  let t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    point();
    if (i % batch !== 0) continue;
    const t = performance.now();
    fastest = Math.min(fastest, Math.round((t - t0) * 1e6));
    t0 = t;
  }
  Atomics.store(image.i32, lab().ptr("res0") + slot, fastest);
  finish();
});

registerProgram("lab.atomic", function* ([n]) {
  const l = lab();
  for (let i = 0; i < n; i++) atomic_add_int(l.ptr("counter"), 1);
  finish();
});

/*
 * The interlock-site wrappers, called as instrumented kernel code calls them (src/sites): an
 * atomic increment at site 0, a token-protected increment acquired at site 1 and released at
 * site 2. A machine whose spec names site 0 or 1's mutant runs the wrong variant.
 */
registerProgram("lab.site-atomic", function* ([n]) {
  const l = lab();
  for (let i = 0; i < n; i++) sites.atomic_add_int(0, l.ptr("counter"), 1);
  finish();
});

registerProgram("lab.site-token", function* ([n]) {
  const l = lab();
  const tok = l.ptr("tok");
  for (let i = 0; i < n; i++) {
    yield* sites.lwkt_gettoken(1, tok);
    bump(l);
    sites.lwkt_reltoken(2, tok);
  }
  finish();
});

registerProgram("lab.token", function* ([n]) {
  const l = lab();
  const tok = l.ptr("tok");
  for (let i = 0; i < n; i++) {
    yield* lwkt_gettoken(tok);
    bump(l);
    lwkt_reltoken(tok);
  }
  finish();
});

registerProgram("lab.spin", function* ([n]) {
  const l = lab();
  const spin = l.ptr("spin");
  for (let i = 0; i < n; i++) {
    spin_lock(spin);
    bump(l);
    spin_unlock(spin);
  }
  finish();
});

registerProgram("lab.lockmgr", function* ([n]) {
  const l = lab();
  const lk = l.ptr("lk");
  for (let i = 0; i < n; i++) {
    yield* lockmgr(lk, LK_EXCLUSIVE);
    bump(l);
    yield* lockmgr(lk, LK_RELEASE);
  }
  finish();
});

registerProgram("lab.mutex", function* ([n]) {
  const l = lab();
  const mtx = l.ptr("mtx");
  for (let i = 0; i < n; i++) {
    yield* mutex_enter(mtx);
    bump(l);
    mutex_exit(mtx);
  }
  finish();
});

registerProgram("lab.refcount", function* ([n]) {
  const l = lab();
  for (let i = 0; i < n; i++) {
    refcount_acquire(l.ptr("refs"));
    refcount_release(l.ptr("refs"));
  }
  finish();
});

/** Inside a section: count ourselves in, look for an exclusive holder, linger, count out. */
function* section(l: ReturnType<typeof lab>, exclusive: boolean): KGen {
  if (exclusive) {
    if (l.writers !== 0 || l.readers !== 0) l.exclBroken = l.exclBroken + 1;
    atomic_add_int(l.ptr("writers"), 1);
  } else {
    if (l.writers !== 0) l.exclBroken = l.exclBroken + 1;
    const r = Atomics.add(image.i32, l.ptr("readers"), 1) + 1;
    if (r > l.maxReaders) l.maxReaders = r;
  }
  for (let k = 0; k < 20; k++) point();
  if (exclusive) {
    if (l.readers !== 0) l.exclBroken = l.exclBroken + 1;
    atomic_add_int(l.ptr("writers"), -1);
  } else atomic_add_int(l.ptr("readers"), -1);
}

/** args: n, 1 = writer (exclusive) else reader (shared); lock kind 0 = token, 1 = lockmgr. */
registerProgram("lab.rw", function* ([n, writer, kind]) {
  const l = lab();
  for (let i = 0; i < n; i++) {
    if (kind === 0) {
      yield* (writer ? lwkt_gettoken(l.ptr("tok")) : lwkt_gettoken_shared(l.ptr("tok")));
      yield* section(l, writer === 1);
      lwkt_reltoken(l.ptr("tok"));
    } else {
      yield* lockmgr(l.ptr("lk"), writer ? LK_EXCLUSIVE : LK_SHARED);
      yield* section(l, writer === 1);
      yield* lockmgr(l.ptr("lk"), LK_RELEASE);
    }
  }
  finish();
});

/**
 * A token holder that sleeps: its token must be free for others while it sleeps (sawOther), and
 * held again when it resumes (heldAfter).
 */
registerProgram("lab.token-sleeper", function* () {
  const l = lab();
  const tok = l.ptr("tok");
  yield* lwkt_gettoken(tok);
  const before = l.counter;
  l.phase = 1;
  while (l.phase !== 2) yield* tsleep(l.ptr("phase"), 0, "tsleeper", 1);
  l.sawOther = l.counter !== before ? 1 : 0;
  l.heldAfter = lwkt_token_held_excl(tok) ? 1 : 0;
  lwkt_reltoken(tok);
  finish();
});

registerProgram("lab.token-taker", function* () {
  const l = lab();
  const tok = l.ptr("tok");
  while (l.phase !== 1) yield* tsleep(l.ptr("flag"), 0, "twait", 1);
  yield* lwkt_gettoken(tok); // the sleeper holds it, but is asleep: its tokens were released
  bump(l);
  lwkt_reltoken(tok);
  l.phase = 2;
  wakeup(l.ptr("phase"));
  finish();
});

/**
 * Check-then-sleep, as start_forked_proc waits for P_PPWAIT to clear (000:924-929): the sleeper
 * waits for `flag`, the waker sets it and calls wakeup. args: rounds, interlocked (1/0; 2: through
 * the interlock-site wrappers, sites 3 (tsleep_interlock) and 4 (tsleep), as instrumented kernel
 * code calls them). Without the interlock, a wakeup landing between the test and the sleep is
 * lost for good.
 */
registerProgram("lab.ppwait-sleeper", function* ([rounds, interlocked]) {
  const l = lab();
  const ident = l.ptr("flag");
  for (let i = 0; i < rounds; i++) {
    while (Atomics.load(image.i32, ident) === 0) {
      if (interlocked === 2) {
        sites.tsleep_interlock(3, ident, 0);
        if (Atomics.load(image.i32, ident) === 0) yield* sites.tsleep(4, ident, PINTERLOCKED, "ppwait", 0);
      } else if (interlocked) {
        tsleep_interlock(ident, 0);
        if (Atomics.load(image.i32, ident) === 0) yield* tsleep(ident, PINTERLOCKED, "ppwait", 0);
      } else {
        for (let k = 0; k < 8; k++) point(); // the window between the test and the sleep
        yield* tsleep(ident, 0, "ppwait", 0);
      }
    }
    Atomics.store(image.i32, ident, 0);
    atomic_add_int(l.ptr("rounds"), 1);
  }
  finish();
});

registerProgram("lab.ppwait-waker", function* ([rounds]) {
  const l = lab();
  const ident = l.ptr("flag");
  for (let i = 0; i < rounds; i++) {
    for (let spins = 0; Atomics.load(image.i32, ident) !== 0 || Atomics.load(image.i32, l.ptr("rounds")) !== i; spins++) {
      if (Atomics.load(image.i32, l.ptr("done")) !== 0) return;
      point();
      // Give the cpu back now and then, so a machine whose sleeper lost its wakeup can be stopped.
      if ((spins & 1023) === 1023) yield* lwkt_yield();
    }
    Atomics.store(image.i32, ident, 1);
    wakeup(ident);
  }
  finish();
});

/**
 * The thread destruction interlock (DragonFly lwp_wait): each round starts a thread on cpu
 * `other` that passes a few points and ends, then waits for its end by tsleep_threadexit alone
 * -- no yield, no timed sleep -- and counts the round; res0 counts the rounds where the thread was
 * still there at the first look. handshake 0: a plain untimed sleep on the thread instead, which
 * no end wakes. args: rounds, other, handshake.
 */
registerProgram("lab.exit-waiter", function* ([rounds, other, handshake]) {
  const l = lab();
  const threads = image.table(THREAD);
  for (let i = 0; i < rounds; i++) {
    const td = threads.alloc();
    const v = threads.view(td);
    v.td_gd = other;
    v.td_prog = programId("lab.exit-quick");
    v.td_arg0 = i % 8;
    startThread(td);
    if (threads.valid(td)) atomic_add_int(l.ptr("res0"), 1);
    while (threads.valid(td)) {
      if (handshake) yield* tsleep_threadexit(td, "lwpxt");
      else yield* tsleep(v.ptr(), 0, "lwpxt", 0);
    }
    atomic_add_int(l.ptr("rounds"), 1);
  }
  finish();
});

/**
 * Sleep-queue churn on a small thread table: each round queues this thread interruptibly on one
 * of four channels (then sleeps a tick, or leaves the interlock queued), wakes one, or signals a
 * recent thread named in log0..log2 the way the kernels do -- valid(td), then tsleep_signal(td) --
 * so that thread may end, and its slot go to another, in between. Before it ends, queued, each
 * thread starts its successor (generation - 1) on the other cpu; `hits` counts the threads
 * started (the test sets it to the ones it spawned), `done` those ended. args: rounds, generation.
 */
registerProgram("lab.sq-churn", function* ([rounds, generation]) {
  const l = lab();
  const threads = image.table(THREAD);
  const me = curthread();
  me.sigcheck = () => 0;
  const chans = [l.ptr("flag"), l.ptr("phase"), l.ptr("refs"), l.ptr("counter")];
  const recent = l.ptr("log0");
  Atomics.store(image.i32, recent + (slotOf(me.h) % 3), me.h);
  let x = me.h | 1;
  for (let i = 0; i < rounds; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const chan = chans[x & 3];
    const act = (x >>> 8) % 3;
    if (act === 0) {
      tsleep_interlock(chan, PCATCH);
      if (x & 0x40000) yield* tsleep(chan, PCATCH | PINTERLOCKED, "churn", 1);
    } else if (act === 1) wakeup(chan);
    else {
      const td = Atomics.load(image.i32, recent + ((x >>> 12) % 3));
      if (td !== NULL && td !== me.h && threads.valid(td)) tsleep_signal(td);
    }
  }
  if (generation > 0) {
    const td = threads.alloc();
    if (td !== NULL) {
      const v = threads.view(td);
      v.td_gd = 1 - threads.view(me.h).td_gd;
      v.td_prog = programId("lab.sq-churn");
      [v.td_arg0, v.td_arg1] = [rounds, generation - 1];
      atomic_add_int(l.ptr("hits"), 1);
      startThread(td);
    }
  }
  tsleep_interlock(chans[x & 3], PCATCH); // ends queued: its exit takes it off
  finish();
});

registerProgram("lab.exit-quick", function* ([n]) {
  for (let k = 0; k < n; k++) point();
});

/** Writer preference: the lock order log must read reader1-release, writer, reader2. */
registerProgram("lab.wp-reader1", function* () {
  const l = lab();
  const lk = l.ptr("lk");
  yield* lockmgr(lk, LK_SHARED);
  l.phase = 1;
  while (l.phase !== 3) yield* tsleep(l.ptr("phase"), 0, "wp1", 1);
  yield* tsleep(l.ptr("refs"), 0, "wp1b", 20); // the second reader has had time to try
  // Writer preference: the second reader is kept out of a lock held only shared, because a
  // writer is queued. res0 = holds just before this release (ours alone), res1 = SHREQ posted.
  res(l, 0, lockinfo(lk).count);
  res(l, 1, Atomics.load(image.i32, lk) & LKC_SHREQ ? 1 : 0);
  log(l, 1);
  yield* lockmgr(lk, LK_RELEASE);
  finish();
});

registerProgram("lab.wp-writer", function* () {
  const l = lab();
  const lk = l.ptr("lk");
  while (l.phase !== 1) yield* tsleep(l.ptr("phase"), 0, "wpw", 1);
  yield* lockmgr(lk, LK_EXCLUSIVE);
  log(l, 2);
  yield* lockmgr(lk, LK_RELEASE);
  finish();
});

registerProgram("lab.wp-reader2", function* () {
  const l = lab();
  const lk = l.ptr("lk");
  // Wait until the writer is queued (EXREQ set) behind the first reader.
  while (!(Atomics.load(image.i32, lk) & 0x80000000)) yield* tsleep(l.ptr("phase"), 0, "wp2", 1);
  l.phase = 3;
  yield* lockmgr(lk, LK_SHARED);
  log(l, 3);
  yield* lockmgr(lk, LK_RELEASE);
  finish();
});

function log(l: ReturnType<typeof lab>, who: number): void {
  const i = Atomics.add(image.i32, l.ptr("seq"), 1);
  Atomics.store(image.i32, l.ptr("log0") + i, who);
}

/** Lock the two lockmgr locks in order A,B (args[0] = 0) or B,A (args[0] = 1). */
registerProgram("lab.order", function* ([reversed]) {
  const l = lab();
  const [first, second] = reversed ? [l.ptr("lkB"), l.ptr("lkA")] : [l.ptr("lkA"), l.ptr("lkB")];
  while (reversed && l.done === 0) yield* tsleep(l.ptr("phase"), 0, "order", 1); // strictly after the first
  yield* lockmgr(first, LK_EXCLUSIVE);
  yield* lockmgr(second, LK_EXCLUSIVE);
  yield* lockmgr(second, LK_RELEASE);
  yield* lockmgr(first, LK_RELEASE);
  finish();
});

/** Allocate, own, check, free: args n. Counts records whose owner changed under their owner. */
registerProgram("lab.alloc", function* ([n, me]) {
  const l = lab();
  const t = image.table(SCRATCH);
  for (let i = 0; i < n; i++) {
    const h = t.alloc();
    if (h === NULL) continue;
    const r = t.view(h);
    r.owner = me;
    for (let k = 0; k < 4; k++) point();
    if (r.owner !== me) atomic_add_int(l.ptr("conflicts"), 1);
    t.free(h, "lab.alloc");
  }
  finish();
});

/** Use-after-free: args[0] = 1 dereferences a freed record through its stale handle. */
registerProgram("lab.uaf", function* ([stale]) {
  const t = image.table(SCRATCH);
  const h = t.alloc();
  const r = t.view(h);
  lab().res0 = slotOf(h);
  r.value = 7;
  const again = t.view(h).value; // a good dereference
  t.free(h, "lab.uaf free");
  if (stale) t.view(h).value = again + 1;
  finish();
});

/** A condvar handshake: waiter waits for phase under the mutex; signaller sets it and broadcasts. */
registerProgram("lab.cv", function* ([waiter]) {
  const l = lab();
  const mtx = l.ptr("mtx");
  yield* mutex_enter(mtx);
  if (waiter) {
    while (l.phase === 0) yield* cv_wait(l.ptr("cv"), mtx);
    l.rounds = l.rounds + 1;
  } else {
    l.phase = 1;
    cv_broadcast(l.ptr("cv"));
  }
  mutex_exit(mtx);
  finish();
});

import "./races.js";

export { lockinfo };

/*
 * Programs added for the foundation tests (test/foundation). Results go to lab.res0..res7,
 * orderings to the log (log0..log2), so the test can read them from the main thread.
 */

function res(l: ReturnType<typeof lab>, i: number, v: number): void {
  Atomics.store(image.i32, l.ptr("res0") + i, v);
}

/** Sleep one tick at a time until `cond` holds (a polite poll that gives the cpu away). */
function* until(l: ReturnType<typeof lab>, cond: () => boolean): KGen {
  while (!cond()) yield* tsleep(l.ptr("res7"), 0, "until", 1);
}

/**
 * lockmgr modes in one thread. args[0] selects the case:
 *  0: SHARED, UPGRADE (sole sharer: at once), DOWNGRADE, RELEASE
 *  1: EXCLUSIVE, EXCLUSIVE|LK_CANRECURSE, RELEASE, RELEASE
 *  2: EXCLUSIVE, EXCLUSIVE without LK_CANRECURSE ("locking against myself"), RELEASE
 *  3: EXCLUSIVE, UPGRADE (already exclusive: a no-op), RELEASE
 *  4: EXCLUSIVE, SHARED|LK_CANRECURSE (counts as one more hold), RELEASE, RELEASE
 */
registerProgram("lab.lk-single", function* ([which]) {
  const l = lab();
  const lk = l.ptr("lk");
  const count = () => lockinfo(lk).count;
  switch (which) {
    case 0:
      yield* lockmgr(lk, LK_SHARED);
      res(l, 0, yield* lockmgr(lk, LK_UPGRADE));
      res(l, 1, lockstatus(lk) === LK_EXCLUSIVE ? 1 : 0);
      res(l, 2, yield* lockmgr(lk, LK_DOWNGRADE));
      res(l, 3, lockinfo(lk).excl ? 1 : 0);
      res(l, 4, count());
      yield* lockmgr(lk, LK_RELEASE);
      res(l, 5, count());
      break;
    case 1:
      yield* lockmgr(lk, LK_EXCLUSIVE);
      res(l, 0, yield* lockmgr(lk, LK_EXCLUSIVE | LK_CANRECURSE));
      res(l, 1, count());
      yield* lockmgr(lk, LK_RELEASE);
      res(l, 2, count());
      res(l, 3, lockstatus(lk) === LK_EXCLUSIVE ? 1 : 0);
      yield* lockmgr(lk, LK_RELEASE);
      res(l, 4, count());
      res(l, 5, lockinfo(lk).excl ? 1 : 0);
      break;
    case 2:
      yield* lockmgr(lk, LK_EXCLUSIVE);
      res(l, 0, yield* lockmgr(lk, LK_EXCLUSIVE));
      res(l, 1, count());
      yield* lockmgr(lk, LK_RELEASE);
      res(l, 2, count());
      break;
    case 3:
      yield* lockmgr(lk, LK_EXCLUSIVE);
      res(l, 0, yield* lockmgr(lk, LK_UPGRADE));
      res(l, 1, count());
      res(l, 2, lockstatus(lk) === LK_EXCLUSIVE ? 1 : 0);
      yield* lockmgr(lk, LK_RELEASE);
      res(l, 3, count());
      break;
    case 4:
      yield* lockmgr(lk, LK_EXCLUSIVE);
      res(l, 0, yield* lockmgr(lk, LK_SHARED | LK_CANRECURSE));
      res(l, 1, count());
      yield* lockmgr(lk, LK_RELEASE);
      yield* lockmgr(lk, LK_RELEASE);
      res(l, 2, count());
      break;
  }
  finish();
});

/**
 * Two sharers, both upgrading. args: [role, how]. Role 0 upgrades first (LK_UPGRADE: it gives up
 * its share, posts UPREQ and waits for the grant). Role 1 then asks with LK_EXCLUPGRADE (how=1:
 * must fail EBUSY and release its share, which grants role 0) or LK_UPGRADE (how=0: it gives its
 * share to role 0 and waits for exclusive behind it). Log: 1 = role 0 exclusive, 2 = role 1 done.
 */
registerProgram("lab.lk-upg", function* ([role, how]) {
  const l = lab();
  const lk = l.ptr("lk");
  yield* lockmgr(lk, LK_SHARED);
  atomic_add_int(l.ptr("readers"), 1);
  yield* until(l, () => Atomics.load(image.i32, l.ptr("readers")) === 2);
  if (role === 0) {
    res(l, 0, yield* lockmgr(lk, LK_UPGRADE));
    res(l, 1, lockstatus(lk) === LK_EXCLUSIVE ? 1 : 0);
    log(l, 1);
    yield* lockmgr(lk, LK_RELEASE);
  } else {
    yield* until(l, () => (Atomics.load(image.i32, lk) & LKC_UPREQ) !== 0);
    const e = yield* lockmgr(lk, how ? LK_EXCLUPGRADE : LK_UPGRADE);
    res(l, 2, e);
    res(l, 3, curthread().held.length); // an EBUSY leaves nothing held; a success holds it once
    res(l, 4, lockstatus(lk) === LK_EXCLUSIVE ? 1 : 0);
    log(l, 2);
    if (e === 0) yield* lockmgr(lk, LK_RELEASE);
  }
  finish();
});

/**
 * LK_DOWNGRADE lets a waiting reader in while the downgrader still holds its share.
 * Role 0: EXCLUSIVE, wait for the reader to queue (SHREQ), DOWNGRADE, see the reader inside.
 * Role 1: SHARED (waits for the downgrade).
 */
registerProgram("lab.lk-down", function* ([role]) {
  const l = lab();
  const lk = l.ptr("lk");
  if (role === 0) {
    yield* lockmgr(lk, LK_EXCLUSIVE);
    l.phase = 1;
    yield* until(l, () => (Atomics.load(image.i32, lk) & LKC_SHREQ) !== 0);
    res(l, 0, yield* lockmgr(lk, LK_DOWNGRADE));
    yield* until(l, () => Atomics.load(image.i32, l.ptr("readers")) === 1);
    res(l, 1, lockinfo(lk).count); // both of us share it
    res(l, 2, lockinfo(lk).excl ? 1 : 0);
    atomic_add_int(l.ptr("phase"), 1);
    yield* lockmgr(lk, LK_RELEASE);
  } else {
    yield* until(l, () => l.phase === 1);
    yield* lockmgr(lk, LK_SHARED);
    atomic_add_int(l.ptr("readers"), 1);
    yield* until(l, () => l.phase === 2);
    yield* lockmgr(lk, LK_RELEASE);
  }
  finish();
});

/** A timed sleep nobody wakes: res0 = what tsleep returned. args[0] = ticks. */
registerProgram("lab.sleep-timeout", function* ([ticks]) {
  const l = lab();
  res(l, 0, yield* tsleep(l.ptr("res6"), 0, "timeout", ticks));
  finish();
});

/** Sleep on `flag` until woken (interlocked, so `readers` counts only queued sleepers). */
registerProgram("lab.sleep-one", function* () {
  const l = lab();
  const ident = l.ptr("flag");
  tsleep_interlock(ident, 0);
  atomic_add_int(l.ptr("readers"), 1);
  const e = yield* tsleep(ident, PINTERLOCKED, "one", 0);
  if (e === 0) atomic_add_int(l.ptr("rounds"), 1);
  finish();
});

/**
 * A sleep a signal may end: args [pcatch, slot]. The thread's sigcheck reports EINTR once the
 * test sets `hits`. res[slot] = what tsleep returned.
 */
registerProgram("lab.sleep-sig", function* ([pcatch, slot]) {
  const l = lab();
  const ident = l.ptr("flag");
  const hits = l.ptr("hits");
  curthread().sigcheck = () => (Atomics.load(image.i32, hits) !== 0 ? EINTR : 0);
  const pf = pcatch ? PCATCH : 0;
  tsleep_interlock(ident, pf);
  atomic_add_int(l.ptr("readers"), 1);
  res(l, slot, yield* tsleep(ident, PINTERLOCKED | pf, "sig", 0));
  atomic_add_int(l.ptr("rounds"), 1);
  finish();
});

/**
 * A condvar ping-pong under the mutex, args [role, rounds]: role 1 sets phase 1 and counts,
 * role 0 waits for phase 1 and resets it. After every cv_wait the waiter must own the mutex
 * again (res1 counts the times it did not).
 */
registerProgram("lab.cv-pingpong", function* ([role, rounds]) {
  const l = lab();
  const mtx = l.ptr("mtx");
  const cv = l.ptr("cv");
  const want = role === 0 ? 1 : 0;
  for (let i = 0; i < rounds; i++) {
    yield* mutex_enter(mtx);
    while (l.phase !== want) {
      yield* cv_wait(cv, mtx);
      if (!mutex_owned(mtx)) atomic_add_int(l.ptr("res1"), 1);
    }
    if (role === 1) bump(l);
    l.phase = 1 - want;
    cv_broadcast(cv);
    mutex_exit(mtx);
  }
  finish();
});

/**
 * cv_wait gives the mutex up while it waits and re-enters it: role 0 waits holding the mutex;
 * role 1 can only enter the mutex because cv_wait released it. res0 = role 0 owned the mutex
 * after cv_wait; res1 = role 1 got the mutex while role 0 was inside cv_wait.
 */
registerProgram("lab.cv-reenter", function* ([role]) {
  const l = lab();
  const mtx = l.ptr("mtx");
  const cv = l.ptr("cv");
  if (role === 0) {
    yield* mutex_enter(mtx);
    l.readers = 1; // inside, about to wait
    while (l.phase === 0) yield* cv_wait(cv, mtx);
    res(l, 0, mutex_owned(mtx) ? 1 : 0);
    mutex_exit(mtx);
  } else {
    yield* until(l, () => Atomics.load(image.i32, l.ptr("readers")) === 1);
    yield* mutex_enter(mtx);
    res(l, 1, 1);
    l.phase = 1;
    cv_broadcast(cv);
    mutex_exit(mtx);
  }
  finish();
});

/** mutex_exit by a thread that does not own the mutex (role 1) while role 0 holds it. */
registerProgram("lab.mutex-nonowner", function* ([role]) {
  const l = lab();
  const mtx = l.ptr("mtx");
  if (role === 0) {
    yield* mutex_enter(mtx);
    l.phase = 1;
    yield* until(l, () => l.phase === 2);
    mutex_exit(mtx);
  } else {
    yield* until(l, () => l.phase === 1);
    mutex_exit(mtx); // not ours: reported, and the owner keeps it
    res(l, 0, Atomics.load(image.i32, mtx) !== 0 ? 1 : 0);
    l.phase = 2;
  }
  finish();
});

/** Misused refcounts: args[0] 0 = release below zero, 1 = acquire from zero. */
registerProgram("lab.refbad", function* ([mode]) {
  const l = lab();
  if (mode === 0) refcount_release(l.ptr("refs"));
  else refcount_acquire(l.ptr("refs"));
  finish();
});

/** n releases of a shared count: exactly one caller in the whole machine sees 1 -> 0 (hits). */
registerProgram("lab.refdrop", function* ([n]) {
  const l = lab();
  for (let i = 0; i < n; i++) if (refcount_release(l.ptr("refs"))) atomic_add_int(l.ptr("hits"), 1);
  finish();
});

/** n PHOLD/PRELE pairs on p_lock. */
registerProgram("lab.phold", function* ([n]) {
  const l = lab();
  const p = l.ptr("p_lock");
  for (let i = 0; i < n; i++) {
    PHOLD(p);
    PRELE(p);
  }
  finish();
});

/** PSTALL waits for the holds to drain: role 0 holds until role 1 waits; log 1 = PRELE, 2 = stall over. */
registerProgram("lab.pstall", function* ([role]) {
  const l = lab();
  const p = l.ptr("p_lock");
  if (role === 0) {
    PHOLD(p);
    l.phase = 1;
    yield* until(l, () => (Atomics.load(image.i32, p) & PLOCK_WAITING) !== 0);
    log(l, 1);
    PRELE(p);
  } else {
    yield* until(l, () => l.phase === 1);
    yield* PSTALL(p, "pstall", 0);
    res(l, 0, holdcount(p));
    log(l, 2);
  }
  finish();
});

/**
 * PHOLDZOMB: role 0 takes the zombie hold; role 1's attempt sleeps and returns 1 (restart your
 * scan) once role 0 drops it, and its retry then returns 0.
 */
registerProgram("lab.pholdzomb", function* ([role]) {
  const l = lab();
  const p = l.ptr("p_lock");
  if (role === 0) {
    res(l, 0, yield* PHOLDZOMB(p));
    l.phase = 1;
    yield* until(l, () => (Atomics.load(image.i32, p) & PLOCK_WAITING) !== 0);
    log(l, 1);
    PRELEZOMB(p);
  } else {
    yield* until(l, () => l.phase === 1);
    res(l, 1, yield* PHOLDZOMB(p));
    log(l, 2);
    res(l, 2, yield* PHOLDZOMB(p));
    res(l, 3, Atomics.load(image.i32, p) & PLOCK_ZOMB ? 1 : 0);
    PRELEZOMB(p);
    res(l, 4, Atomics.load(image.i32, p));
  }
  finish();
});

/** Misused holds: args[0] 0 = PRELE with no hold, 1 = PRELEZOMB without the zombie hold. */
registerProgram("lab.phold-bad", function* ([mode]) {
  const l = lab();
  if (mode === 0) PRELE(l.ptr("p_lock"));
  else PRELEZOMB(l.ptr("p_lock"));
  finish();
});

/** Allocate the scratch table dry: hits = records obtained, res0 = 1 when the next alloc was NULL. */
registerProgram("lab.exhaust", function* () {
  const l = lab();
  const t = image.table(SCRATCH);
  const got: Handle[] = [];
  for (let h = t.alloc(); h !== NULL; h = t.alloc()) got.push(h);
  l.hits = got.length;
  res(l, 0, t.alloc() === NULL ? 1 : 0);
  for (const h of got) t.free(h, "lab.exhaust");
  res(l, 1, t.alloc() !== NULL ? 1 : 0); // freed records can be had again
  finish();
});

/** A thread that ends holding a token (args[0] = 0) or releases tokens out of order (1). */
registerProgram("lab.token-misuse", function* ([mode]) {
  const l = lab();
  const tok = l.ptr("tok");
  const tok2 = l.ptr("tok2");
  yield* lwkt_gettoken(tok);
  if (mode === 0) return; // ends holding tok
  yield* lwkt_gettoken(tok2);
  lwkt_reltoken(tok); // not the top of the stack
  res(l, 0, curthread().ntoks);
  lwkt_reltoken(tok2);
  res(l, 1, curthread().ntoks);
  finish();
});

/**
 * A planted hang for the hang dump's `show locks`: the holder takes the token and lockmgr lk and
 * sleeps for good on `flag`; the waiter then blocks on lk. args: [role] (0 holder, 1 waiter).
 */
registerProgram("lab.hold-and-sleep", function* ([role]) {
  const l = lab();
  if (role === 0) {
    yield* lwkt_gettoken(l.ptr("tok"));
    yield* lockmgr(l.ptr("lk"), LK_EXCLUSIVE);
    l.phase = 1;
    wakeup(l.ptr("phase"));
    for (;;) yield* tsleep(l.ptr("flag"), 0, "forever", 0);
  }
  while (l.phase !== 1) yield* tsleep(l.ptr("phase"), 0, "phase", 1);
  yield* lockmgr(l.ptr("lk"), LK_EXCLUSIVE);
});
