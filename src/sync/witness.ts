/*
 * witness: the lock-class order graph. Acquiring B while holding A records the edge A -> B; a
 * cycle in the graph is a potential deadlock and is reported even when this run did not
 * deadlock. Only locks that stay held while their holder waits make edges (lockmgr locks,
 * mutexes, spin locks): a thread waiting for anything holds no token, so tokens never deadlock,
 * and fork's p_token -> pg_lock against pgsignal's pg_lock -> p_token is legal (DESIGN.md).
 * Edges between two locks of one class are not recorded (same-class order is by address, as
 * WITNESS treats "duplicate" locks).
 */
import { violation } from "../shm/hooks.js";
import type { Addr } from "../shm/table.js";
import { image, type HeldLock } from "./seam.js";

const edges = new Map<string, Set<string>>();
const reported = new Set<string>();
const cycles: string[][] = [];
/** False: witness switched off (bench measures its cost). */
let ordering = true;

/** Called before `lock` is taken while `held` are held. */
export function witness_order(lock: Addr, held: readonly HeldLock[]): void {
  if (held.length === 0 || !ordering) return;
  const to = image.classOf(lock);
  for (const h of held) {
    const from = image.classOf(h.lock);
    if (from === to) continue;
    let out = edges.get(from);
    if (out === undefined) edges.set(from, (out = new Set()));
    if (out.has(to)) continue;
    out.add(to);
    const back = pathBetween(edges, to, from);
    if (back) noteCycle([from, ...back.slice(0, -1)]);
  }
}

function noteCycle(cycle: string[]): void {
  const key = canonical(cycle);
  if (reported.has(key)) return;
  reported.add(key);
  cycles.push(cycle);
  violation("witness-lock-order", `lock order reversal: ${[...cycle, cycle[0]].join(" -> ")}`);
}

/** Rotate a cycle to start at its smallest class, so one cycle has one key. */
function canonical(cycle: readonly string[]): string {
  let k = 0;
  for (let i = 1; i < cycle.length; i++) if (cycle[i] < cycle[k]) k = i;
  return [...cycle.slice(k), ...cycle.slice(0, k)].join(" -> ");
}

/** A path from `a` to `b` in the graph (the nodes from a to b inclusive), or null. */
function pathBetween(g: ReadonlyMap<string, ReadonlySet<string>>, a: string, b: string): string[] | null {
  const prev = new Map<string, string>([[a, a]]);
  const queue = [a];
  while (queue.length) {
    const n = queue.shift()!;
    if (n === b) {
      const path = [n];
      for (let x = n; x !== a; ) path.unshift((x = prev.get(x)!));
      return path;
    }
    for (const m of g.get(n) ?? []) if (!prev.has(m)) prev.set(m, n), queue.push(m);
  }
  return null;
}

export type WitnessEdges = [string, string][];

export function witnessEdges(): WitnessEdges {
  return [...edges].flatMap(([a, out]) => [...out].map((b): [string, string] => [a, b]));
}

export function witnessCycles(): string[][] {
  return cycles.map((c) => [...c]);
}

/** Cycles in the union of every cpu's edges (a reversal can be split across cpus). */
export function cyclesIn(all: readonly WitnessEdges[]): { cycle: string[] }[] {
  const g = new Map<string, Set<string>>();
  for (const list of all) for (const [a, b] of list) (g.get(a) ?? g.set(a, new Set()).get(a)!).add(b);
  const seen = new Set<string>();
  const out: { cycle: string[] }[] = [];
  for (const [a, outs] of g)
    for (const b of outs) {
      const back = pathBetween(g, b, a);
      if (!back) continue;
      const cycle = [a, ...back.slice(0, -1)];
      const key = canonical(cycle);
      if (!seen.has(key)) seen.add(key), out.push({ cycle });
    }
  return out;
}

export function resetWitness(on = true): void {
  ordering = on;
  edges.clear();
  reported.clear();
  cycles.length = 0;
}
