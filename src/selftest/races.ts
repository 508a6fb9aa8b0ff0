/*
 * Programs for the field-level detectors' tests (test/detect): each comes in a right and a wrong
 * variant, so a test shows a detector firing on a real bad state and silent on the good one.
 * Registered with the other lab programs (programs.ts imports this module).
 */
import { registerProgram } from "../sched/programs.js";
import { atomic_load_int, atomic_store_int, atomic_swap_int, atomic_add_int, atomic_cmpset_int, atomic_set_int } from "../sync/atomic.js";
import { refcount_acquire, refcount_release } from "../sync/refcount.js";
import { mutex_enter, mutex_exit } from "../sync/kmutex.js";
import { image, type KGen } from "../sync/seam.js";
import { data_race, syncObs } from "../sync/observe.js";
import { PINTERLOCKED, tsleep, tsleep_interlock, wakeup } from "../sync/sleep.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken, lwkt_yield } from "../sync/token.js";
import { NULL, slotOf, type Addr, type Handle, type Table, type View } from "../shm/table.js";
import { LAB, SCRATCH } from "./lab.js";

const lab = () => image.table(LAB).view(image.table(LAB).handleAt(0));
const done = () => atomic_add_int(lab().ptr("done"), 1);

/**
 * Readers and a writer of lab.counter under lab.tok. args: n, writer (1/0), the writer's hold
 * (0 exclusive: right; 1 shared: wrong, two holders of a shared token may both be in).
 */
registerProgram("lab.race-rw", function* ([n, writer, sharedWriter]) {
  const l = lab();
  const tok = l.ptr("tok");
  for (let i = 0; i < n; i++) {
    yield* (writer && !sharedWriter ? lwkt_gettoken(tok) : lwkt_gettoken_shared(tok));
    if (writer) l.counter = l.counter + 1;
    else void l.counter;
    lwkt_reltoken(tok);
    yield* lwkt_yield();
  }
  done();
});

/**
 * A hand-off of lab.res0 from a producer to a consumer. args: role (0 producer, 1 consumer), how:
 *  0 the consumer sleeps (interlocked, then says so in lab.phase) and the producer writes, then
 *    wakes it (right: the wakeup orders the write before the read);
 *  1 the same, but the producer writes after the wakeup (wrong);
 *  2 published with atomic_swap, polled with atomic_cmpset (right: both are fully ordered);
 *  3 published with a relaxed store, polled with a relaxed load (wrong: they order nothing).
 */
registerProgram("lab.race-handoff", function* ([role, how]) {
  const l = lab();
  const flag = l.ptr("flag");
  const phase = l.ptr("phase");
  if (how <= 1) {
    if (role === 0) {
      while (atomic_load_int(phase) === 0) yield* lwkt_yield();
      if (how === 0) l.res0 = 42;
      wakeup(flag);
      if (how === 1) l.res0 = 42;
    } else {
      tsleep_interlock(flag, 0);
      atomic_store_int(phase, 1);
      yield* tsleep(flag, PINTERLOCKED, "handoff", 0);
      l.res1 = l.res0;
    }
  } else if (role === 0) {
    l.res0 = 42;
    if (how === 2) atomic_swap_int(flag, 1);
    else atomic_store_int(flag, 1);
  } else {
    while (!(how === 2 ? atomic_cmpset_int(flag, 1, 1) : atomic_load_int(flag) !== 0)) yield* lwkt_yield();
    l.res1 = l.res0;
  }
  done();
});

/**
 * A writer under lab.tok and a reader without it. args: role (0 writer, 1 reader), field (0
 * lab.racyword, declared racy: right; 1 lab.counter: wrong; 2 lab.markedword, declared racy where
 * marked, read inside data_race(): right; 3 the same field read unmarked: wrong; 4 lab.markedword
 * tested by a compare-and-set that fails -- an atomic read, start_forked_proc's cmpset of a child's
 * p_flags, 000:927 -- inside data_race(): right; 5 the same cmpset unmarked: wrong). An atomic
 * read is checked against the writes before it only, so the cmpset reader starts once the writer
 * has written (told by a relaxed atomic, which orders nothing).
 */
registerProgram("lab.race-unlocked-read", function* ([role, field, n]) {
  const l = lab();
  while (role === 1 && field >= 4 && atomic_load_int(l.ptr("res1")) === 0) yield* lwkt_yield();
  for (let i = 0; i < n; i++) {
    if (role === 0) {
      yield* lwkt_gettoken(l.ptr("tok"));
      if (field === 0) l.racyword = i;
      else if (field === 1) l.counter = i;
      else l.markedword = i;
      lwkt_reltoken(l.ptr("tok"));
      atomic_store_int(l.ptr("res1"), 1);
    } else {
      const cmpset = () => Number(atomic_cmpset_int(l.ptr("markedword"), -1, -1));
      l.res2 = [() => l.racyword, () => l.counter, () => data_race(() => l.markedword), () => l.markedword, () => data_race(cmpset), cmpset][field]();
    }
    yield* lwkt_yield();
  }
  done();
});

/**
 * DragonFly's re-check rule on lab.link (a handle to a scratch record, guarded by lab.tok). The
 * thread loads it under the token, blocks (the token is dropped), takes the token back and uses
 * the record. args: how -- 0 uses the handle it loaded before the block (wrong); 1 loads it again
 * first (right); 2 took a reference on the record before blocking (right); 3 drops that reference
 * after the block and then uses the record, as killlwps goes on from the lwp it held (right: the
 * token is back and nothing blocked since); 4 blocks once more between the drop and the use (wrong).
 */
registerProgram("lab.stale", function* ([how]) {
  const l = lab();
  const tok = l.ptr("tok");
  yield* lwkt_gettoken(tok);
  let h = l.link;
  const rec = () => image.table(SCRATCH).view(h);
  if (how >= 2) refcount_acquire(rec().ptr("refs"));
  yield* tsleep(l.ptr("phase"), 0, "stale", 1); // any block: every token is dropped
  if (how === 1) h = l.link;
  if (how >= 3) refcount_release(rec().ptr("refs"));
  if (how === 4) yield* tsleep(l.ptr("phase"), 0, "stale", 1);
  rec().value = rec().value + 1;
  if (how === 2) refcount_release(rec().ptr("refs"));
  lwkt_reltoken(tok);
  done();
});

/**
 * The same rule for a write: the thread reads lab.link under the token, blocks, and overwrites
 * it. args: how -- 0 overwrites on what it read before the block (wrong); 1 reads it again
 * first, as reaper_get re-checks reap->parent (right).
 */
registerProgram("lab.stale-write", function* ([how]) {
  const l = lab();
  const tok = l.ptr("tok");
  yield* lwkt_gettoken(tok);
  const h = l.link;
  yield* tsleep(l.ptr("phase"), 0, "stale", 1);
  if (how === 0 || l.link === h) l.link = 0;
  lwkt_reltoken(tok);
  done();
});

/**
 * missed-recheck's record generation (detector.ts handleWrite): the thread reads lab.link's
 * record's `next` under lab.tok, blocks, loads lab.link again and clears that record's `next`.
 * args: how -- 0 the record is the one it read (wrong: the decision rests on a value read before
 * the block); 1 the record was freed and its slot allocated again meanwhile (right: the write is
 * to a new record, as lwp_fork initialises a fresh lwp in a slot the forker had read under another
 * lwp, and no decision rests on the old record's field).
 */
registerProgram("lab.recheck-realloc", function* ([how]) {
  const l = lab();
  const tok = l.ptr("tok");
  const t = image.table(SCRATCH);
  yield* lwkt_gettoken(tok);
  const next = t.view(l.link).next;
  yield* tsleep(l.ptr("phase"), 0, "stale", 1); // any block: every token is dropped
  let h = l.link;
  if (how === 1) {
    t.free(h, "lab.recheck-realloc");
    h = allocSlot(t, slotOf(h));
    l.link = h;
  }
  if (next !== 0) t.view(h).next = 0;
  lwkt_reltoken(tok);
  done();
});

/** A record in the given slot (free): the allocator is run until it hands that slot out. */
function allocSlot(t: Table, slot: number): Handle {
  const others: Handle[] = [];
  let h = t.alloc();
  for (; h !== NULL && slotOf(h) !== slot; h = t.alloc()) others.push(h);
  for (const o of others) t.free(o, "lab.recheck-realloc");
  return h;
}

/**
 * A scratch record handed over under lab.mtx: role 0 allocates it, `init`s it and publishes it in
 * lab.link; role 1 waits for it there and `use`s it. Both under the mutex, which orders the two.
 */
function* handOver(role: number, init: (h: Handle, mtx: Addr) => KGen, use: (rec: View<typeof SCRATCH.fields>) => void): KGen {
  const l = lab();
  const mtx = l.ptr("mtx");
  const t = image.table(SCRATCH);
  yield* mutex_enter(mtx);
  if (role === 0) {
    const h = t.alloc();
    yield* init(h, mtx);
    l.link = h;
  } else {
    while (l.link === 0) {
      mutex_exit(mtx);
      yield* lwkt_yield();
      yield* mutex_enter(mtx);
    }
    use(t.view(l.link));
  }
  mutex_exit(mtx);
  done();
}

/**
 * A reference count used the kernel's way and not: thread 0 allocates a scratch record (a plain
 * store initialises its count, as vmspace_alloc does), takes a second reference for thread 1 and
 * publishes the record in lab.link, all under lab.mtx; thread 1 takes the mutex after it and drops
 * its reference. args: role (0, 1), how -- 0 drops it with refcount_release (right); 1 with a
 * plain decrement (wrong: the mutex orders the two threads, so no data race shows, but a holder
 * that drops its reference without that mutex -- a count needs none -- loses its update).
 */
registerProgram("lab.count-plain", ([role, how]) =>
  handOver(
    role,
    function* (h) {
      const t = image.table(SCRATCH);
      t.view(h).refs = 1;
      refcount_acquire(t.view(h).ptr("refs"));
    },
    (rec) => {
      if (how === 0) refcount_release(rec.ptr("refs"));
      else rec.refs = rec.refs - 1;
    },
  ),
);

/**
 * A flag word its struct declares changed only with atomics (scratch.flags): thread 0 allocates
 * a scratch record, initialises the word with two plain stores (a fresh record's: no one else can
 * reach it yet), sets a bit atomically and publishes the record in lab.link under lab.mtx; thread
 * 1 takes the mutex after it and sets its own bit. args: role (0, 1), how -- 0 with
 * atomic_set_int (right); 1 thread 1 with a plain load and store under the mutex (wrong: the
 * mutex orders the two threads, so no data race shows, but a holder setting its bit without that
 * mutex -- the word needs none -- is lost); 2 thread 0 with a plain load and store before it
 * publishes the record (wrong by the declaration: the kernel never changes the word so).
 */
registerProgram("lab.flags-plain", ([role, how]) =>
  handOver(
    role,
    function* (h, mtx) {
      const rec = image.table(SCRATCH).view(h);
      rec.flags = 6; // more than one bit: a flag word's value counts no holders
      mutex_exit(mtx); // a new epoch: the next store is checked, not this one's repeat
      yield* mutex_enter(mtx);
      rec.flags = 4;
      if (how !== 2) return atomic_set_int(rec.ptr("flags"), 1);
      mutex_exit(mtx);
      yield* mutex_enter(mtx);
      rec.flags = rec.flags | 1; // wrong: a plain read-modify-write, though no one else has the record yet
    },
    (rec) => {
      if (how === 1) rec.flags = rec.flags | 8;
      else atomic_set_int(rec.ptr("flags"), 8);
    },
  ),
);

/**
 * lab.counter read and written back plus one, against another cpu's atomic adds (lab.atomic).
 * args: n, how -- 0 the load and the store in one kernel path (wrong: an add between is lost); 1 a
 * return to user mode and a new system call between them (the detectors' kernelEntry): no kernel
 * path carries a value across that, so the pair is no update of one path (exit1's SIGEMPTYSET
 * after the previous userret looked at p_siglist), and non-atomic-update stays silent.
 */
registerProgram("lab.rmw-entry", function* ([n, how]) {
  const l = lab();
  for (let i = 0; i < n; i++) {
    const c = l.counter;
    if (how === 1 && syncObs !== null) syncObs.kernelEntry();
    l.counter = c + 1;
  }
  done();
});

/**
 * lab.counter read under lab.mtx, the mutex dropped and taken again with no switch between, and
 * the counter stored under the new hold (expand_pid_table rewriting a pid_table entry after
 * proc_alloc_pid read its link under an earlier hold of proc_lock). Another cpu's store under the
 * mutex (lab.mutex) meanwhile reaches this thread through the retake: no lost update is claimed.
 * Its stores without the mutex (lab.unprotected) reach it through nothing: that one is. args: n.
 */
registerProgram("lab.relock", function* ([n]) {
  const l = lab();
  const mtx = l.ptr("mtx");
  for (let i = 0; i < n; i++) {
    yield* mutex_enter(mtx);
    void l.counter;
    mutex_exit(mtx);
    yield* mutex_enter(mtx);
    l.counter = i;
    mutex_exit(mtx);
  }
  done();
});

/**
 * reaper_get's collapse (000:1151-1164), reduced to its ordering: thread 0, a walker standing on
 * a node, reads its link (lab.counter, "next->parent") under its own lock (lab.tok, shared),
 * lets it go and drops its reference (refcount_release of lab.racyword, a count declared racy);
 * thread 1, under another lock (lab.tok2), then clears the link, as the collapse clears
 * next->parent under reap's lock. Each says what it did in lab.phase with relaxed atomics, which
 * order nothing. The test sets lab.racyword to 3 (the walker's reference, the collapser's, the
 * child node's link). args: role (0 walker, 1 collapser), how -- 0 the collapser reads the count
 * until it sees the walker's drop (2) and then writes (right: on x86-64 that load orders it
 * after the drop, so after the walker's read); 1 it writes once the walker said it dropped, with
 * no read of the count (wrong: nothing orders the two); 2 it reads the count before the drop
 * (3), and writes once the walker said it dropped (wrong: the read saw another value).
 */
registerProgram("lab.racy-order", function* ([role, how]) {
  const l = lab();
  const phase = l.ptr("phase");
  if (role === 0) {
    yield* lwkt_gettoken_shared(l.ptr("tok"));
    l.res0 = l.counter;
    lwkt_reltoken(l.ptr("tok"));
    while (how === 2 && atomic_load_int(phase) === 0) yield* lwkt_yield(); // the collapser looked
    refcount_release(l.ptr("racyword"));
    atomic_store_int(phase, 2);
  } else {
    yield* lwkt_gettoken(l.ptr("tok2"));
    if (how === 0) {
      while (l.racyword !== 2) yield* lwkt_yield();
    } else {
      if (how === 2) {
        l.res1 = l.racyword;
        atomic_store_int(phase, 1);
      }
      while (atomic_load_int(phase) !== 2) yield* lwkt_yield();
    }
    l.counter = 0;
    lwkt_reltoken(l.ptr("tok2"));
  }
  done();
});
