/*
 * Programs a thread can be started with. A thread's record names its program by a hash of the
 * program's name (the same in every worker, since every worker loads the same modules), and
 * carries up to four integer arguments.
 */
import type { KGen } from "../sync/seam.js";

export type Program = (args: readonly number[]) => KGen;

const programs = new Map<number, { name: string; run: Program }>();

export function programId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}

export function registerProgram(name: string, run: Program): void {
  const id = programId(name);
  const had = programs.get(id);
  if (had && had.name !== name) throw new Error(`program ids collide: ${had.name} / ${name}`);
  programs.set(id, { name, run });
}

export function programById(id: number): { name: string; run: Program } | undefined {
  return programs.get(id);
}

/**
 * Per-cpu figures a module wants in the cpu's result (merged by the orchestrator), and how to
 * start them afresh: a pooled worker runs one machine after another.
 */
const collectors = new Map<string, { collect: () => unknown; reset: () => void }>();

export function registerCollector(name: string, collect: () => unknown, reset: () => void): void {
  collectors.set(name, { collect, reset });
}

export function collect(): Record<string, unknown> {
  return Object.fromEntries([...collectors].map(([k, c]) => [k, c.collect()]));
}

export function resetCollectors(): void {
  for (const c of collectors.values()) c.reset();
}
