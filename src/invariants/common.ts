/*
 * Shared machinery of the full-state audits (DESIGN.md "Finding races"): a law is one function
 * over a quiescent image that returns what it found, each finding under the law's report name.
 *
 * The audits run on the orchestrator while nothing runs (after a script, after a stress drain),
 * so they take no locks and read records directly. They must never trust the image: every handle
 * is checked with Table.valid() before it is dereferenced (a view of a stale handle would report
 * a use-after-free of its own), every list walk is bounded (a cycle is a finding, not a hang), and
 * a law that still throws is reported under its own name rather than aborting the other laws.
 */
import type { AuditFinding } from "../kern/kernel.js";
import type { Image } from "../shm/image.js";
import { NULL, slotOf, type Handle, type Table } from "../shm/table.js";
import type { FieldWidths } from "../shm/struct.js";

export type { AuditFinding };

/** One law of the kernel: its report name, what it states, and its check. */
export interface Law {
  readonly name: string;
  readonly doc: string;
  readonly check: (img: Image) => AuditFinding[];
}

/** Run laws in order; a law that throws becomes a finding under its own name. */
export function runLaws(laws: readonly Law[], img: Image): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (const law of laws) {
    try {
      out.push(...law.check(img));
    } catch (e) {
      out.push({ law: law.name, message: `audit could not complete: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  return out;
}

/** Collects findings for one law. */
export class Findings {
  readonly list: AuditFinding[] = [];
  constructor(readonly law: string) {}
  add(message: string): void {
    this.list.push({ law: this.law, message });
  }
}

/** Every allocated record of a table, by slot order. */
export function records<F extends FieldWidths>(t: Table<F>): Handle[] {
  const out: Handle[] = [];
  for (let s = 0; s < t.capacity; s++) {
    const h = t.handleAt(s);
    if (h !== NULL) out.push(h);
  }
  return out;
}

/** `table[slot]` of a handle, for messages. */
export const rec = (table: string, h: Handle): string => `${table}[${slotOf(h)}]`;

export interface Walk {
  items: Handle[];
  /** Why the walk stopped early: a stale handle or a cycle. */
  error: string | null;
}

/**
 * Follow a singly linked list through `next`, checking each handle against `t` and stopping on
 * a repeat (a cycle) or a stale handle.
 */
export function walk<F extends FieldWidths>(t: Table<F>, first: Handle, next: (h: Handle) => Handle): Walk {
  const items: Handle[] = [];
  const seen = new Set<Handle>();
  for (let h = first; h !== NULL; ) {
    if (!t.valid(h)) return { items, error: `stale ${t.name} handle ${rec(t.name, h)} (gen ${h >>> 16}) on the list` };
    if (seen.has(h)) return { items, error: `cycle through ${rec(t.name, h)}` };
    seen.add(h);
    items.push(h);
    h = next(h);
  }
  return { items, error: null };
}

/** Count how many times each key occurs. */
export function tally<K>(keys: Iterable<K>): Map<K, number> {
  const m = new Map<K, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/**
 * The shared refcount law: for every allocated record of `t`, its count field equals the number
 * of holders found; a holder naming a record that is not allocated is a dangling reference; a
 * record with no holder and a zero count is leaked (nobody can ever free it).
 */
export function refcountLaw<F extends FieldWidths>(
  f: Findings,
  t: Table<F>,
  count: (h: Handle) => number,
  holders: readonly { h: Handle; who: string }[],
  what: string,
): void {
  const byTarget = new Map<Handle, string[]>();
  for (const { h, who } of holders) {
    if (h === NULL) continue;
    if (!t.valid(h)) {
      f.add(`${who} holds ${what} ${rec(t.name, h)}, which is not allocated (dangling reference)`);
      continue;
    }
    const l = byTarget.get(h);
    if (l) l.push(who);
    else byTarget.set(h, [who]);
  }
  for (const h of records(t)) {
    const who = byTarget.get(h) ?? [];
    const c = count(h);
    if (c !== who.length) {
      const names = who.length ? who.slice(0, 6).join(", ") + (who.length > 6 ? ", ..." : "") : "none";
      f.add(`${rec(t.name, h)} ${what} count ${c}, but ${who.length} holder(s) reference it (${names})`);
    } else if (c === 0) f.add(`${rec(t.name, h)} is allocated with no reference: leaked`);
  }
}

/** What the process-list laws read of a kernel's state (both kernels keep allproc + zombproc). */
export interface ProcLists {
  readonly listErrors: readonly string[];
  readonly live: readonly Handle[];
  readonly zomb: readonly Handle[];
  readonly listed: readonly Handle[];
  readonly onList: ReadonlySet<Handle>;
  readonly P: Table;
  readonly g: { nprocs: number };
  p(h: Handle): { p_stat: number; p_pid: number };
  name(h: Handle): string;
}

/**
 * proc-lists: well-formed, disjoint lists; the right p_stat on each (`liveStat` says which are
 * allowed on allproc); unique pids; every allocated proc record listed.
 */
export function checkProcLists(s: ProcLists, f: Findings, liveStat: (st: number) => boolean, zombStat: number, statName: (st: number) => string): void {
  for (const e of s.listErrors) f.add(e);
  const zs = new Set(s.zomb);
  for (const h of s.live) {
    if (zs.has(h)) f.add(`${s.name(h)} is on both allproc and zombproc`);
    const st = s.p(h).p_stat;
    if (!liveStat(st)) f.add(`${s.name(h)} on allproc has p_stat ${statName(st)}`);
  }
  for (const h of s.zomb) if (s.p(h).p_stat !== zombStat) f.add(`${s.name(h)} on zombproc has p_stat ${statName(s.p(h).p_stat)}`);
  for (const [pid, n] of tally(s.listed.map((h) => s.p(h).p_pid))) {
    if (n > 1) f.add(`pid ${pid} is used by ${n} processes`);
    if (pid <= 0) f.add(`a listed process has pid ${pid}`);
  }
  for (const h of records(s.P)) if (!s.onList.has(h)) f.add(`${s.name(h)} is allocated but on neither allproc nor zombproc`);
}

/**
 * Process 0 (swapper): both kernels count it in nprocs (000:297, 001:109) and charge it to root's
 * ui_proccnt (init_main.c's chgproccnt), and fork init on top of it; the model has no record of
 * it, so with only init alive nprocs is 2 and root's count 2.
 */
export const PROC0 = 1;

/** nprocs: the count equals the processes on allproc plus zombproc, plus process 0. */
export function checkNprocs(s: ProcLists, f: Findings): void {
  const n = s.live.length + s.zomb.length + PROC0;
  if (s.g.nprocs !== n) f.add(`nprocs is ${s.g.nprocs} but allproc has ${s.live.length} and zombproc ${s.zomb.length} (${n} with process 0)`);
}
