/*
 * LWKT tokens (sys/kern/lwkt_token.c, NOTES A1).
 *
 * t_count: TOK_EXCLUSIVE | TOK_EXCLREQ | shared count in units of TOK_INCR; t_ref: the owning
 * thread while exclusive. Each thread keeps a LIFO stack of token references.
 *
 * The rule everything in DragonFly leans on: a thread that switches out -- tsleep, a lockmgr
 * wait, a contended token, a yield -- releases every token it holds, and is resumed only once all
 * of them are re-acquired (lwkt_relalltokens / lwkt_getalltokens, done by the scheduler). A
 * contended acquisition does not block the cpu: the thread switches out and its cpu runs others.
 * So a token serializes only the code between two blocking points; state it guards must be
 * re-checked after anything that can block.
 *
 * Every hold and wait goes to the cpu's event ring (LOCK_GOT, LOCK_WAIT, LOCK_REL), the switch's
 * releases and re-acquisitions too, so a trace shows who held p_token when. They are the most
 * frequent events there are, so they are recorded without reading the clock (evToken).
 */
import { syncPoint, violation } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { EV, evToken, evTokenReleased } from "../shm/trace.js";
import { lockstat_acquired, lockstat_contended, lockstat_released } from "./lockstat.js";
import { HOW_SHARED, HOW_TOKEN, syncObs } from "./observe.js";
import { curthread, DONE, image, mem, sched, SWITCH_TOKEN, SWITCH_YIELD, tokRef, type KGen, type SyncThread, type TokRef } from "./seam.js";

export const TOK_EXCLUSIVE = 0x1;
export const TOK_EXCLREQ = 0x2;
export const TOK_INCR = 0x4;
export const LWKT_MAXTOKENS = 32;

/** trytoken after its first CAS saw `c` (not 0): recursion, a share to add, or contention. */
function trySeen(td: SyncThread, tok: Addr, shared: boolean, c: number): boolean {
  for (;;) {
    if (c & TOK_EXCLUSIVE) return mem[tok + 1] === td.h; // recursion on our own exclusive hold
    if (shared) {
      const seen = Atomics.compareExchange(mem, tok, c, c + TOK_INCR);
      if (seen === c) return true;
      c = seen;
      continue;
    }
    if (c >= TOK_INCR) {
      if (holdsShared(td, tok)) violation("token-excl-after-shared", `exclusive ${image.describe(tok)} requested while holding it shared: livelock`);
      return false;
    }
    const seen = Atomics.compareExchange(mem, tok, c, TOK_EXCLUSIVE);
    if (seen === c) {
      mem[tok + 1] = td.h;
      return true;
    }
    c = seen;
  }
}

function holdsShared(td: SyncThread, tok: Addr): boolean {
  for (let i = 0; i < td.ntoks; i++) {
    const r = td.toks[i];
    if (r.tok === tok && r.shared && r.since >= 0) return true;
  }
  return false;
}

/** Does a reference below depth d already hold the token's word? */
function coveredBelow(td: SyncThread, d: number, tok: Addr): boolean {
  for (let i = 0; i < d; i++) {
    const r = td.toks[i];
    if (r.tok === tok && r.since !== HELD_NOT) return true;
  }
  return false;
}

/** `since` of a reference whose word is not held (contended, or released at a switch). */
const HELD_NOT = -1;
/** `since` of a reference covered by an earlier one of the same thread (recursion). */
const HELD_BELOW = -2;

/**
 * Give back the word one reference holds; `traced`: record the release (not a failed switch-in's).
 * The reference's `since` is left as it was: a release lowers the stack below it, and a switch
 * (releaseAll) marks what it gave back.
 * Kept small, as is everything an uncontended get+release runs: V8 inlines a caller's callees
 * only up to a total size, and a call costs as much as a field store or two (issue 13).
 */
function untake(td: SyncThread, ref: TokRef, traced: boolean): void {
  const since = ref.since;
  if (since < 0) return; // HELD_NOT, HELD_BELOW
  const tok = ref.tok;
  if (since > 0) lockstat_released(tok, since);
  const old = ref.shared ? giveShare(td, tok) : giveWord(td, tok);
  if (traced) evTokenReleased(td, tok);
  // A contender may have parked its cpu on the word (see the scheduler's token wait): tell it.
  if (old & TOK_EXCLREQ) Atomics.notify(mem, tok);
}

/** Give back an exclusive hold; returns the word as it was. */
function giveWord(td: SyncThread, tok: Addr): number {
  if (syncObs !== null) syncObs.release(td, tok, HOW_TOKEN);
  const m = mem;
  m[tok + 1] = 0;
  return Atomics.and(m, tok, ~TOK_EXCLUSIVE);
}

/** Give back a shared reference's share, or the thread's exclusive hold it recursed on; returns the word as it was. */
function giveShare(td: SyncThread, tok: Addr): number {
  if (!givesShare(td, mem, tok)) return giveWord(td, tok);
  if (syncObs !== null) syncObs.release(td, tok, HOW_TOKEN | HOW_SHARED);
  return Atomics.sub(mem, tok, TOK_INCR);
}

/**
 * A shared reference gives back a share unless the thread holds the word exclusively (a shared
 * request recursing on its own exclusive hold). The holder word is only ever this thread's own
 * while it holds the token exclusively, so test it (a plain load) before the Atomics load.
 */
function givesShare(td: SyncThread, m: Int32Array, tok: Addr): boolean {
  return !(m[tok + 1] === td.h && Atomics.load(m, tok) & TOK_EXCLUSIVE);
}

/*
 * The token stack is the thread's array of references (td_toks_array) and a depth (td_toks_stop):
 * a reference is the thread's for good, filled when the stack grows onto it and left as it is
 * when the stack shrinks below it, so a get+release makes, pushes and pops nothing. Only
 * toks[0..ntoks) is the stack. A thread starts with one reference (tokRef, seam.ts); the array
 * grows by one when a push finds no more.
 */
function push(td: SyncThread, tok: Addr, shared: boolean, since: number): TokRef {
  const d = td.ntoks;
  if (d === td.toks.length) td.toks.push(tokRef());
  const ref = td.toks[d];
  ref.tok = tok;
  ref.shared = shared;
  ref.since = since;
  td.ntoks = d + 1;
  return ref;
}

/**
 * lwkt_gettoken and lwkt_gettoken_shared. Only the common case is here -- nothing held yet, and
 * a free word -- in one function with no layers below it (trytoken and took, in place): V8
 * inlines a caller's callees only up to a total size, and a path cut part way into calls is the
 * slowest there is (issue 13). Nesting, recursion, a word already taken and contention go on in
 * acquireNested and acquireSeen.
 */
function acquire(tok: Addr, shared: boolean): KGen {
  const td = curthread();
  if (td.ntoks !== 0) return acquireNested(td, tok, shared);
  syncPoint();
  const m = mem;
  const c = Atomics.compareExchange(m, tok, 0, shared ? TOK_INCR : TOK_EXCLUSIVE);
  if (c !== 0) return acquireSeen(td, tok, shared, c);
  if (!shared) m[tok + 1] = td.h;
  const ref = td.toks[0]; // a thread has one reference from its start
  ref.tok = tok;
  ref.shared = shared;
  ref.since = lockstat_acquired(tok);
  td.ntoks = 1;
  evToken(EV.LOCK_GOT, td, tok);
  if (syncObs !== null) observeAcquire(td, tok, shared);
  return DONE;
}

/**
 * Take the word for one reference: 0 when this thread now holds it, else the value the CAS saw.
 * The uncontended case -- a free word -- is one compare-and-swap from 0 with no load before it
 * (an Atomics call costs as much as the rest of the path).
 */
function trytoken(td: SyncThread, tok: Addr, shared: boolean): number {
  syncPoint();
  const m = mem; // one load of the module binding: each costs about a nanosecond on this path
  const c = Atomics.compareExchange(m, tok, 0, shared ? TOK_INCR : TOK_EXCLUSIVE);
  if (c === 0 && !shared) m[tok + 1] = td.h;
  return c;
}

/** The word is this thread's: push the reference holding it, count and trace the hold. */
function took(td: SyncThread, tok: Addr, shared: boolean): KGen {
  push(td, tok, shared, lockstat_acquired(tok));
  evToken(EV.LOCK_GOT, td, tok);
  if (syncObs !== null) observeAcquire(td, tok, shared);
  return DONE;
}

/** The detectors' acquire hook; apart, so that the token path stays short when there are none. */
function observeAcquire(td: SyncThread, tok: Addr, shared: boolean): void {
  syncObs!.acquire(td, tok, shared ? HOW_TOKEN | HOW_SHARED : HOW_TOKEN);
}

/** A first token whose CAS saw `c`: a share to add, or contention. */
function acquireSeen(td: SyncThread, tok: Addr, shared: boolean, c: number): KGen {
  if (trySeen(td, tok, shared, c)) return took(td, tok, shared);
  return contended(td, push(td, tok, shared, HELD_NOT));
}

/** A token taken over others: recursion (an earlier reference holds the word) is no new hold. */
function acquireNested(td: SyncThread, tok: Addr, shared: boolean): KGen {
  const d = td.ntoks;
  if (d >= LWKT_MAXTOKENS) violation("token-stack-overflow", `more than ${LWKT_MAXTOKENS} tokens held`);
  if (coveredBelow(td, d, tok)) {
    if (!shared && holdsShared(td, tok) && !(Atomics.load(mem, tok) & TOK_EXCLUSIVE)) {
      violation("token-excl-after-shared", `exclusive ${image.describe(tok)} requested while holding it shared: livelock`);
    }
    push(td, tok, shared, HELD_BELOW);
    return DONE;
  }
  const c = trytoken(td, tok, shared);
  if (c === 0 || trySeen(td, tok, shared, c)) return took(td, tok, shared);
  return contended(td, push(td, tok, shared, HELD_NOT));
}

function* contended(td: SyncThread, ref: TokRef): KGen {
  // TOK_EXCLREQ blocks nobody in this revision (NOTES A1); the model also sets it for a shared
  // contender, as the "someone waits" hint that makes the releaser notify the word.
  Atomics.or(mem, ref.tok, TOK_EXCLREQ);
  const t0 = sched.nanotime();
  td.waitfor = ref.tok;
  evToken(EV.LOCK_WAIT, td, ref.tok);
  yield SWITCH_TOKEN; // resumed only once lwkt_getalltokens() took every reference
  td.waitfor = 0;
  lockstat_contended(ref.tok, sched.nanotime() - t0);
}

/** lwkt_gettoken: exclusive (recursive for the owner). Use as `yield* lwkt_gettoken(tok)`. */
export function lwkt_gettoken(tok: Addr): KGen {
  return acquire(tok, false);
}

/** lwkt_gettoken_shared: excluded only by another thread's exclusive hold. */
export function lwkt_gettoken_shared(tok: Addr): KGen {
  return acquire(tok, true);
}

/** lwkt_reltoken: releases must come in reverse order of acquisition. */
export function lwkt_reltoken(tok: Addr): void {
  const td = curthread();
  const d = td.ntoks - 1;
  if (d < 0 || td.toks[d].tok !== tok) return releaseOutOfOrder(td, tok);
  untake(td, td.toks[d], true);
  td.ntoks = d;
  syncPoint();
}

/**
 * A release that is not of the top of the stack: reported, then the reference is given back
 * where it is, and moved to just above the stack's new top (the references stay the thread's).
 */
function releaseOutOfOrder(td: SyncThread, tok: Addr): void {
  const n = td.ntoks;
  violation("token-release-order", `lwkt_reltoken(${image.describe(tok)}) is not the top of the token stack${n > 0 ? ` (top: ${image.describe(td.toks[n - 1].tok)})` : " (no token held)"}`);
  let i = n - 1;
  while (i >= 0 && td.toks[i].tok !== tok) i--;
  if (i < 0) return;
  const ref = td.toks[i];
  untake(td, ref, true);
  td.toks.copyWithin(i, i + 1, n);
  td.toks[n - 1] = ref;
  td.ntoks = n - 1;
}

/** LWKT_TOKEN_HELD_ANY: the current thread holds the token (in either mode). */
export function lwkt_token_held(tok: Addr): boolean {
  const td = curthread();
  for (let i = 0; i < td.ntoks; i++) if (td.toks[i].tok === tok) return true;
  return false;
}

/** LWKT_TOKEN_HELD_EXCL */
export function lwkt_token_held_excl(tok: Addr): boolean {
  const td = curthread();
  return (Atomics.load(mem, tok) & TOK_EXCLUSIVE) !== 0 && mem[tok + 1] === td.h;
}

/** lwkt_yield: let other threads of this cpu run (tokens drop and come back). */
export function* lwkt_yield(): KGen {
  yield SWITCH_YIELD;
}

/** Switch-out: release every held token (the scheduler calls this at every switch). */
export function lwkt_relalltokens(td: SyncThread): void {
  releaseAll(td, true);
}

function releaseAll(td: SyncThread, traced: boolean): void {
  for (let i = td.ntoks - 1; i >= 0; i--) {
    const ref = td.toks[i];
    if (ref.since !== HELD_BELOW) untake(td, ref, traced);
    ref.since = HELD_NOT;
  }
}

/**
 * Switch-in: take every token of the stack, in address order so two re-acquiring threads cannot
 * hold-and-wait on each other. All or nothing: on a miss, what was taken is given back and the
 * thread stays runnable. Only a complete switch-in is traced: the holds it starts.
 */
export function lwkt_getalltokens(td: SyncThread): boolean {
  const n = td.ntoks;
  if (n === 0) return true;
  const stack = tokenStack(td);
  const order = n === 1 ? stack : [...stack].sort((a, b) => a.tok - b.tok);
  for (let i = 0; i < n; i++) {
    const ref = order[i];
    if (ref.since !== HELD_NOT) continue;
    const first = stack.find((r) => r.tok === ref.tok)!;
    if (first !== ref) {
      ref.since = HELD_BELOW;
      continue;
    }
    const shared = stack.every((r) => r.tok !== ref.tok || r.shared);
    const c = trytoken(td, ref.tok, shared);
    if (c !== 0 && !trySeen(td, ref.tok, shared, c)) {
      releaseAll(td, false);
      return false;
    }
    ref.since = lockstat_acquired(ref.tok);
    if (syncObs !== null) observeAcquire(td, ref.tok, shared);
  }
  for (const ref of stack) if (ref.since !== HELD_BELOW) evToken(EV.LOCK_GOT, td, ref.tok);
  return true;
}

/** The tokens a thread holds, for hang dumps. */
export function tokensHeld(td: SyncThread): Addr[] {
  return tokenStack(td).filter((r) => r.since !== HELD_NOT).map((r) => r.tok);
}

/** The token stack: every reference the thread has pushed and not yet released, bottom first. */
export function tokenStack(td: SyncThread): readonly TokRef[] {
  return td.toks.slice(0, td.ntoks);
}
