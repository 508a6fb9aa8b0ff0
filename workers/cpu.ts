/*
 * A simulated cpu: one worker thread of the pool. Attach to the kernel image, load the modules
 * that register the programs threads run, and run this cpu's scheduler until the machine stops.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Cpu, type CpuResult } from "../src/sched/cpu.js";
import type { MachineSpec } from "../src/sched/spec.js";

export interface CpuTask {
  sab: SharedArrayBuffer;
  /** The detectors' shadow memory, when the spec turns any on. */
  shadow: SharedArrayBuffer | null;
  spec: MachineSpec;
  cpu: number;
  /** Package root: module paths in the spec are relative to its dist/ folder. */
  root: string;
}

export default async function runCpu(task: CpuTask): Promise<CpuResult> {
  for (const m of task.spec.modules) await import(pathToFileURL(join(task.root, "dist", m)).href);
  return new Cpu(task.cpu, task.spec, task.sab, task.shadow).run();
}
