/*
 * Programs for the primitives' tests and benchmarks (see lab.ts). Each reads its arguments from
 * the thread record: args[0] is usually an iteration count.
 */
import { point } from "../shm/hooks.js";
import { NULL } from "../shm/table.js";
import { registerProgram } from "../sched/programs.js";
import { atomic_add_int } from "../sync/atomic.js";
import { cv_broadcast, cv_wait } from "../sync/condvar.js";
import { mutex_enter, mutex_exit } from "../sync/kmutex.js";
import { lockinfo, lockmgr, LK_EXCLUSIVE, LK_RELEASE, LK_SHARED } from "../sync/lockmgr.js";
import { refcount_acquire, refcount_release } from "../sync/refcount.js";
import { image, type KGen } from "../sync/seam.js";
import { PINTERLOCKED, tsleep, tsleep_interlock, wakeup } from "../sync/sleep.js";
import { spin_lock, spin_unlock } from "../sync/spinlock.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken, lwkt_token_held_excl } from "../sync/token.js";
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

registerProgram("lab.atomic", function* ([n]) {
  const l = lab();
  for (let i = 0; i < n; i++) atomic_add_int(l.ptr("counter"), 1);
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
 * waits for `flag`, the waker sets it and calls wakeup. args: rounds, interlocked (1/0).
 * Without the interlock, a wakeup landing between the test and the sleep is lost for good.
 */
registerProgram("lab.ppwait-sleeper", function* ([rounds, interlocked]) {
  const l = lab();
  const ident = l.ptr("flag");
  for (let i = 0; i < rounds; i++) {
    while (Atomics.load(image.i32, ident) === 0) {
      if (interlocked) {
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
    while (Atomics.load(image.i32, ident) !== 0 || Atomics.load(image.i32, l.ptr("rounds")) !== i) {
      if (Atomics.load(image.i32, l.ptr("done")) !== 0) return;
      point();
    }
    Atomics.store(image.i32, ident, 1);
    wakeup(ident);
  }
  finish();
});

/** Writer preference: the lock order log must read reader1-release, writer, reader2. */
registerProgram("lab.wp-reader1", function* () {
  const l = lab();
  const lk = l.ptr("lk");
  yield* lockmgr(lk, LK_SHARED);
  l.phase = 1;
  while (l.phase !== 3) yield* tsleep(l.ptr("phase"), 0, "wp1", 1);
  yield* tsleep(l.ptr("refs"), 0, "wp1b", 20); // the second reader has had time to try
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

export { lockinfo };
