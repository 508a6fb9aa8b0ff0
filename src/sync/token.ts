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
import { curthread, DONE, image, mem, sched, SWITCH_TOKEN, SWITCH_YIELD, type KGen, type SyncThread, type TokRef } from "./seam.js";

export const TOK_EXCLUSIVE = 0x1;
export const TOK_EXCLREQ = 0x2;
export const TOK_INCR = 0x4;
export const LWKT_MAXTOKENS = 32;

/**
 * Take the word for one reference; true when this thread now holds it. The uncontended case --
 * a free word -- is one compare-and-swap from 0 with no load before it (an Atomics call costs
 * as much as the rest of the path); a miss goes on from the value the CAS saw (trySeen).
 */
function trytoken(td: SyncThread, tok: Addr, shared: boolean): boolean {
  syncPoint();
  const m = mem; // one load of the module binding: each costs about a nanosecond on this path
  const c = Atomics.compareExchange(m, tok, 0, shared ? TOK_INCR : TOK_EXCLUSIVE);
  if (c !== 0) return trySeen(td, tok, shared, c);
  if (!shared) m[tok + 1] = td.h;
  return true;
}

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
  for (const r of td.toks) if (r.tok === tok && r.shared && r.since >= 0) return true;
  return false;
}

/** Does an earlier reference of this thread already hold the token's word? */
function coveredBelow(td: SyncThread, ref: TokRef): boolean {
  for (const r of td.toks) {
    if (r === ref) return false;
    if (r.tok === ref.tok && r.since !== HELD_NOT) return true;
  }
  return false;
}

/** `since` of a reference whose word is not held (contended, or released at a switch). */
const HELD_NOT = -1;
/** `since` of a reference covered by an earlier one of the same thread (recursion). */
const HELD_BELOW = -2;

/**
 * Give back the word one reference holds; `traced`: record the release (not a failed switch-in's).
 * Kept small, as is everything an uncontended get+release runs: V8 inlines only short functions,
 * and a call costs as much as a field store or two (issue 13).
 */
function untake(td: SyncThread, ref: TokRef, traced: boolean): void {
  const since = ref.since;
  if (since < 0) return; // HELD_NOT, HELD_BELOW
  const tok = ref.tok;
  if (since > 0) lockstat_released(tok, since);
  const m = mem;
  const shared = ref.shared && givesShare(td, m, tok);
  if (syncObs !== null) syncObs.release(td, tok, shared ? HOW_TOKEN | HOW_SHARED : HOW_TOKEN);
  let old: number;
  if (shared) {
    old = Atomics.sub(m, tok, TOK_INCR);
  } else {
    m[tok + 1] = 0;
    old = Atomics.and(m, tok, ~TOK_EXCLUSIVE);
  }
  ref.since = HELD_NOT;
  if (traced) evTokenReleased(td, tok);
  // A contender may have parked its cpu on the word (see the scheduler's token wait): tell it.
  if (old & TOK_EXCLREQ) Atomics.notify(m, tok);
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
 * References are recycled: a token stack only grows and shrinks at its top, so a reference
 * popped off one is free, and fork takes and drops a dozen tokens. Per cpu, like the stacks.
 */
const spareRefs: TokRef[] = [];

function newRef(tok: Addr, shared: boolean, since: number): TokRef {
  if (spareRefs.length === 0) return { tok, shared, since };
  const ref = spareRefs.pop()!;
  ref.tok = tok;
  ref.shared = shared;
  ref.since = since;
  return ref;
}

/** lwkt_gettoken and lwkt_gettoken_shared. The common case first: nothing held below, so no recursion to look for. */
function acquire(tok: Addr, shared: boolean): KGen {
  const td = curthread();
  if (td.toks.length !== 0) return acquireNested(td, tok, shared);
  if (trytoken(td, tok, shared)) return took(td, tok, shared);
  const ref = newRef(tok, shared, HELD_NOT);
  td.toks.push(ref);
  return contended(td, ref);
}

/** The word is this thread's: push the reference holding it, count and trace the hold. */
function took(td: SyncThread, tok: Addr, shared: boolean): KGen {
  td.toks.push(newRef(tok, shared, lockstat_acquired(tok)));
  evToken(EV.LOCK_GOT, td, tok);
  if (syncObs !== null) syncObs.acquire(td, tok, shared ? HOW_TOKEN | HOW_SHARED : HOW_TOKEN);
  return DONE;
}

function acquireNested(td: SyncThread, tok: Addr, shared: boolean): KGen {
  const ref = newRef(tok, shared, HELD_NOT);
  const depth = td.toks.push(ref);
  if (depth > LWKT_MAXTOKENS) violation("token-stack-overflow", `more than ${LWKT_MAXTOKENS} tokens held`);
  if (coveredBelow(td, ref)) {
    if (!shared && holdsShared(td, tok) && !(Atomics.load(mem, tok) & TOK_EXCLUSIVE)) {
      violation("token-excl-after-shared", `exclusive ${image.describe(tok)} requested while holding it shared: livelock`);
    }
    ref.since = HELD_BELOW;
    return DONE;
  }
  if (trytoken(td, tok, shared)) {
    ref.since = lockstat_acquired(tok);
    evToken(EV.LOCK_GOT, td, tok);
    if (syncObs !== null) syncObs.acquire(td, tok, shared ? HOW_TOKEN | HOW_SHARED : HOW_TOKEN);
    return DONE;
  }
  return contended(td, ref);
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
  const toks = td.toks;
  const n = toks.length;
  if (n === 0 || toks[n - 1].tok !== tok) return releaseOutOfOrder(td, tok);
  const ref = toks[n - 1];
  untake(td, ref, true);
  toks.pop();
  spareRefs.push(ref);
  syncPoint();
}

/** A release that is not of the top of the stack: reported, then the reference is given back where it is. */
function releaseOutOfOrder(td: SyncThread, tok: Addr): void {
  const top = td.toks.at(-1);
  violation("token-release-order", `lwkt_reltoken(${image.describe(tok)}) is not the top of the token stack${top ? ` (top: ${image.describe(top.tok)})` : " (no token held)"}`);
  const i = td.toks.findLastIndex((r) => r.tok === tok);
  if (i < 0) return;
  untake(td, td.toks[i], true);
  spareRefs.push(td.toks.splice(i, 1)[0]);
}

/** LWKT_TOKEN_HELD_ANY: the current thread holds the token (in either mode). */
export function lwkt_token_held(tok: Addr): boolean {
  for (const r of curthread().toks) if (r.tok === tok) return true;
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
  for (let i = td.toks.length - 1; i >= 0; i--) {
    const ref = td.toks[i];
    if (ref.since === HELD_BELOW) ref.since = HELD_NOT;
    else untake(td, ref, traced);
  }
}

/**
 * Switch-in: take every token of the stack, in address order so two re-acquiring threads cannot
 * hold-and-wait on each other. All or nothing: on a miss, what was taken is given back and the
 * thread stays runnable. Only a complete switch-in is traced: the holds it starts.
 */
export function lwkt_getalltokens(td: SyncThread): boolean {
  const n = td.toks.length;
  if (n === 0) return true;
  const order = n === 1 ? td.toks : [...td.toks].sort((a, b) => a.tok - b.tok);
  for (let i = 0; i < n; i++) {
    const ref = order[i];
    if (ref.since !== HELD_NOT) continue;
    const first = td.toks.find((r) => r.tok === ref.tok)!;
    if (first !== ref) {
      ref.since = HELD_BELOW;
      continue;
    }
    const shared = td.toks.every((r) => r.tok !== ref.tok || r.shared);
    if (!trytoken(td, ref.tok, shared)) {
      releaseAll(td, false);
      return false;
    }
    ref.since = lockstat_acquired(ref.tok);
    if (syncObs !== null) syncObs.acquire(td, ref.tok, shared ? HOW_TOKEN | HOW_SHARED : HOW_TOKEN);
  }
  for (const ref of td.toks) if (ref.since !== HELD_BELOW) evToken(EV.LOCK_GOT, td, ref.tok);
  return true;
}

/** The tokens a thread holds, for hang dumps. */
export function tokensHeld(td: SyncThread): Addr[] {
  return td.toks.filter((r) => r.since !== HELD_NOT).map((r) => r.tok);
}
