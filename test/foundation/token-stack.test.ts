/*
 * The token stack (src/sync/token.ts): a thread's references are its own for good and its stack
 * is toks[0..ntoks). Nested, recursive and shared holds, a switch's release of every word and the
 * switch-in's re-take, contention, an out-of-order release, a stack past LWKT_MAXTOKENS; the
 * trace's token entries (three words, the thread in the type word) read back as the events they
 * stand for; lockstat counts each hold and times one in 64.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { THREAD } from "../../src/shm/core.js";
import { installViolationSink } from "../../src/shm/hooks.js";
import { Image } from "../../src/shm/image.js";
import { slotOf } from "../../src/shm/table.js";
import { EVENTS_PER_CPU, installTrace, lastEvents } from "../../src/shm/trace.js";
import { imageTables } from "../../src/sched/spec.js";
import { Thread } from "../../src/sched/thread.js";
import { LAB, labSpec } from "../../src/selftest/lab.js";
import { lockstatSnapshot, resetLockstat } from "../../src/sync/lockstat.js";
import { installSync, SWITCH_TOKEN, type KGen } from "../../src/sync/seam.js";
import {
  lwkt_getalltokens,
  lwkt_gettoken,
  lwkt_gettoken_shared,
  lwkt_relalltokens,
  lwkt_reltoken,
  lwkt_token_held,
  lwkt_token_held_excl,
  LWKT_MAXTOKENS,
  tokensHeld,
  tokenStack,
} from "../../src/sync/token.js";

/** Two threads on one image, no machine: `cur` says which one runs; every law broken is kept. */
function setUp() {
  const image = Image.create(imageTables(labSpec(1)));
  const [a, b] = [0, 1].map((i) => new Thread(image.table(THREAD).alloc(), 0, `t${i}`, undefined as never));
  const s = { cur: a };
  installSync(image, { current: () => s.cur, ready: () => {}, ticks: () => 0, spinWait: () => {}, nanotime: () => 0, newThreadCpu: () => 0, alone: () => true });
  const laws: string[] = [];
  installViolationSink((v) => laws.push(v.law));
  installTrace(() => s.cur, 0);
  resetLockstat();
  const labs = image.table(LAB);
  const lab = labs.view(labs.alloc());
  return { i32: image.i32, a, b, s, laws, tok: lab.ptr("tok"), tok2: lab.ptr("tok2") };
}

/** Run a KGen that must not block (the uncontended path returns a finished one). */
function get(g: KGen): void {
  expect(g.next().done).toBe(true);
}

let t: ReturnType<typeof setUp>;
beforeEach(() => {
  t = setUp();
});

describe("the token stack", () => {
  it("nested holds fill and leave the thread's own references: none is made again", () => {
    const { a, tok, tok2, i32 } = t;
    get(lwkt_gettoken(tok));
    get(lwkt_gettoken(tok2));
    expect(a.ntoks).toBe(2);
    expect(tokenStack(a).map((r) => r.tok)).toEqual([tok, tok2]);
    expect(lwkt_token_held_excl(tok) && lwkt_token_held_excl(tok2)).toBe(true);
    const refs = [...a.toks];
    lwkt_reltoken(tok2);
    expect(a.ntoks).toBe(1);
    expect(lwkt_token_held(tok2)).toBe(false); // the reference above the stack still names tok2: not a hold
    lwkt_reltoken(tok);
    expect(a.ntoks).toBe(0);
    expect([i32[tok], i32[tok2]]).toEqual([0, 0]);
    get(lwkt_gettoken_shared(tok2));
    expect(a.toks[0]).toBe(refs[0]);
    expect(a.toks).toEqual(refs);
    expect(tokenStack(a)).toEqual([{ tok: tok2, shared: true, since: 0 }]);
    lwkt_reltoken(tok2);
    expect(i32[tok2]).toBe(0);
    expect(t.laws).toEqual([]);
  });

  it("a recursive hold is covered by the first: the word goes back with the bottom reference only", () => {
    const { a, tok, i32 } = t;
    get(lwkt_gettoken(tok));
    get(lwkt_gettoken(tok));
    expect(a.ntoks).toBe(2);
    lwkt_reltoken(tok);
    expect(lwkt_token_held_excl(tok)).toBe(true);
    lwkt_reltoken(tok);
    expect(i32[tok]).toBe(0);
    expect(t.laws).toEqual([]);
  });

  it("a switch gives back every word and the switch-in takes them all again, recursion included", () => {
    const { a, b, s, tok, tok2, i32 } = t;
    get(lwkt_gettoken(tok));
    get(lwkt_gettoken_shared(tok2));
    get(lwkt_gettoken(tok));
    lwkt_relalltokens(a);
    expect([i32[tok], i32[tok2]]).toEqual([0, 0]);
    expect(a.ntoks).toBe(3); // the stack stays: the thread resumes only once it holds it again
    expect(tokensHeld(a)).toEqual([]);
    // Meanwhile b takes tok: a's switch-in fails and takes nothing.
    s.cur = b;
    get(lwkt_gettoken(tok));
    expect(lwkt_getalltokens(a)).toBe(false);
    expect(i32[tok2]).toBe(0);
    lwkt_reltoken(tok);
    s.cur = a;
    expect(lwkt_getalltokens(a)).toBe(true);
    expect(tokensHeld(a)).toEqual([tok, tok2, tok]);
    expect(lwkt_token_held_excl(tok)).toBe(true);
    lwkt_reltoken(tok);
    expect(lwkt_token_held_excl(tok)).toBe(true); // the recursive reference was covered again
    lwkt_reltoken(tok2);
    lwkt_reltoken(tok);
    expect([a.ntoks, i32[tok], i32[tok2]]).toEqual([0, 0, 0]);
    expect(t.laws).toEqual([]);
  });

  it("a contended token switches out with its reference on the stack, not holding the word", () => {
    const { a, b, s, tok, tok2 } = t;
    s.cur = b;
    get(lwkt_gettoken(tok2));
    s.cur = a;
    get(lwkt_gettoken(tok));
    const g = lwkt_gettoken(tok2);
    expect(g.next()).toEqual({ done: false, value: SWITCH_TOKEN });
    expect(a.waitfor).toBe(tok2);
    expect(tokenStack(a).map((r) => r.tok)).toEqual([tok, tok2]);
    lwkt_relalltokens(a); // what the scheduler does at the switch
    expect(lwkt_getalltokens(a)).toBe(false);
    s.cur = b;
    lwkt_reltoken(tok2);
    s.cur = a;
    expect(lwkt_getalltokens(a)).toBe(true);
    expect(g.next().done).toBe(true);
    expect(a.waitfor).toBe(0);
    expect(tokensHeld(a)).toEqual([tok, tok2]);
    lwkt_reltoken(tok2);
    lwkt_reltoken(tok);
    expect(a.ntoks).toBe(0);
    expect(t.laws).toEqual([]);
  });

  it("an out-of-order release is reported and gives back the reference it names; the rest keep their order", () => {
    const { a, tok, tok2, i32 } = t;
    get(lwkt_gettoken(tok));
    get(lwkt_gettoken(tok2));
    lwkt_reltoken(tok);
    expect(t.laws).toEqual(["token-release-order"]);
    expect(tokenStack(a).map((r) => r.tok)).toEqual([tok2]);
    expect(i32[tok]).toBe(0);
    expect(a.toks.length).toBe(2);
    lwkt_reltoken(tok2);
    expect([a.ntoks, i32[tok2]]).toEqual([0, 0]);
    lwkt_reltoken(tok);
    expect(t.laws).toEqual(["token-release-order", "token-release-order"]); // nothing held
  });

  it("the stack grows past LWKT_MAXTOKENS (reported) and comes back down", () => {
    const { a, tok, i32 } = t;
    const n = LWKT_MAXTOKENS + 3;
    for (let i = 0; i < n; i++) get(lwkt_gettoken(tok));
    expect(t.laws).toEqual(["token-stack-overflow", "token-stack-overflow", "token-stack-overflow"]);
    expect([a.ntoks, a.toks.length]).toEqual([n, n]);
    for (let i = 0; i < n; i++) lwkt_reltoken(tok);
    expect([a.ntoks, i32[tok]]).toEqual([0, 0]);
  });
});

describe("token events and lockstat", () => {
  it("a get+release reads back as LOCK_GOT then LOCK_REL of the thread, nested ones in order", () => {
    const { a, tok, tok2 } = t;
    a.pid = 77;
    get(lwkt_gettoken(tok));
    lwkt_reltoken(tok);
    get(lwkt_gettoken(tok));
    get(lwkt_gettoken_shared(tok2));
    lwkt_reltoken(tok2);
    lwkt_reltoken(tok);
    const ev = (type: string, lock: number) => ({ type, tid: slotOf(a.h), pid: 77, a: lock, b: 0 });
    expect(lastEvents().map(({ us: _, ...e }) => e)).toEqual([
      ev("lock_got", tok), ev("lock_rel", tok),
      ev("lock_got", tok), ev("lock_got", tok2), ev("lock_rel", tok2), ev("lock_rel", tok),
    ]);
  });

  it("a thread whose slot needs the type word's sign bit is named right", () => {
    const { s, tok } = t;
    const far = new Thread(((3 << 16) | 40_001) as never, 0, "far", undefined as never);
    s.cur = far;
    far.pid = 5;
    get(lwkt_gettoken(tok));
    lwkt_reltoken(tok);
    expect(lastEvents().map((e) => [e.type, e.tid, e.pid, e.a, e.b])).toEqual([
      ["lock_got", 40_000, 5, tok, 0],
      ["lock_rel", 40_000, 5, tok, 0],
    ]);
  });

  it("another thread's event between a get and its release keeps both entries", () => {
    const { a, b, s, tok, tok2 } = t;
    get(lwkt_gettoken(tok));
    s.cur = b;
    get(lwkt_gettoken(tok2));
    s.cur = a;
    lwkt_reltoken(tok);
    expect(lastEvents().map((e) => [e.type, e.tid, e.a])).toEqual([
      ["lock_got", slotOf(a.h), tok],
      ["lock_got", slotOf(b.h), tok2],
      ["lock_rel", slotOf(a.h), tok],
    ]);
  });

  it("the ring goes round and gives back its newest events; installed afresh, only the new ones", () => {
    const { s, tok, tok2 } = t;
    for (let i = 0; i < 3000; i++) {
      // Three entries: LOCK_GOT tok, LOCK_GOT tok2 with its LOCK_REL folded in, LOCK_REL tok.
      get(lwkt_gettoken(tok));
      get(lwkt_gettoken(tok2));
      lwkt_reltoken(tok2);
      lwkt_reltoken(tok);
    }
    const all = lastEvents();
    expect(all.length).toBe(EVENTS_PER_CPU);
    expect(all.slice(-4).map((e) => [e.type, e.a])).toEqual([["lock_got", tok], ["lock_got", tok2], ["lock_rel", tok2], ["lock_rel", tok]]);
    installTrace(() => s.cur, 0);
    get(lwkt_gettoken(tok));
    lwkt_reltoken(tok);
    expect(lastEvents().map((e) => e.type)).toEqual(["lock_got", "lock_rel"]);
  });

  it("lockstat counts every hold and times one in 64", () => {
    const { tok } = t;
    for (let i = 0; i < 200; i++) {
      get(lwkt_gettoken(tok));
      lwkt_reltoken(tok);
    }
    const [cls] = lockstatSnapshot();
    expect(cls.acquisitions).toBe(200);
    expect(cls.holdSamples).toBe(3);
  });
});
