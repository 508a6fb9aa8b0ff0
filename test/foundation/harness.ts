/*
 * Shared set-up for the foundation tests: a fresh machine with the lab table (labSpec), its one
 * lab record, and a run helper that always stops the machine -- every wait is bounded, so a test
 * that goes wrong fails instead of hanging the suite.
 */
import { Machine } from "../../src/sched/machine.js";
import type { CpuResult, ViolationRecord } from "../../src/sched/cpu.js";
import type { MachineSpec } from "../../src/sched/spec.js";
import { LAB, labSpec } from "../../src/selftest/lab.js";
import type { View } from "../../src/shm/table.js";

export type LabView = View<(typeof LAB)["fields"]>;

export interface Lab {
  m: Machine;
  l: LabView;
  /** lab.res0 + i, read atomically. */
  res(i: number): number;
  /** The order log (log0..log2) as far as it was written. */
  log(): number[];
}

export function boot(cpus = 4, over: Partial<MachineSpec> = {}): Lab {
  const m = new Machine(labSpec(cpus, over));
  const t = m.image.table(LAB);
  t.alloc();
  const l = t.view(t.handleAt(0));
  const i32 = m.image.i32;
  return {
    m,
    l,
    res: (i) => Atomics.load(i32, l.ptr("res0") + i),
    log: () => {
      const n = Atomics.load(i32, l.ptr("seq"));
      return Array.from({ length: n }, (_, i) => Atomics.load(i32, l.ptr("log0") + i));
    },
  };
}

export type Spawn = [program: string, args: number[], cpu: number];

export interface Outcome {
  /** Every spawned thread called finish() (lab.done reached the count) in time. */
  finished: boolean;
  results: CpuResult[];
  violations: ViolationRecord[];
}

/**
 * Spawn the threads, start, wait (bounded) until `expectDone` threads (default: all) finished --
 * or until `until` holds -- then stop the machine.
 */
export async function run(lab: Lab, threads: Spawn[], opts: { expectDone?: number; ms?: number; until?: () => boolean } = {}): Promise<Outcome> {
  const { m, l } = lab;
  for (const [prog, args, cpu] of threads) m.spawn(prog, args, cpu);
  await m.start();
  const want = opts.expectDone ?? threads.length;
  const cond = opts.until ?? (() => Atomics.load(m.image.i32, l.ptr("done")) >= want);
  const finished = await m.until(cond, opts.ms ?? 30_000);
  const results = await m.stop();
  return { finished, results, violations: results.flatMap((r) => r.violations) };
}

export const laws = (o: Outcome): string[] => o.violations.map((v) => v.law);
