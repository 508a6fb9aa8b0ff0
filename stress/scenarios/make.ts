/*
 * How a scenario is made: a workload mix run by `population` workers (0: one per cpu) under the
 * scenario's limits, with the kernel's program module. index.ts lists them.
 */
import { PID_MAX } from "../../src/kern/dragonfly/structs.js";
import type { KernelName, Limits } from "../../src/kern/kernel.js";
import { mixIndex, type Mix } from "../programs/mixes.js";
import type { Scenario } from "./types.js";

const MODULE: Record<KernelName, string> = {
  dragonfly: "stress/programs/dragonfly.js",
  netbsd: "stress/programs/netbsd.js",
};

/** Limits roomy enough that only the maxproc scenario lives at the edge. */
export const ROOMY = { maxproc: 160, nproc: 120, tables: { thread: 768 } };

/**
 * The mixed scenarios (every hunt's baseline) run near maxproc and RLIMIT_NPROC, their process
 * tables near full: the EAGAIN paths and their undo run in every hunt, not only in
 * maxproc-pressure.
 */
export const AT_THE_EDGE = { maxproc: 48, nproc: 40, tables: { thread: 768 } };

/**
 * Every scenario boots near the wrap points, so wrap code runs in every run, not once in 2^31
 * forks (issue 16 item 3): DragonFly's lastpid 64 pids before PID_MAX (proc_makepid wraps to
 * PID_WRAP_TO and searches for a free pid), init's tid 64 before INT_MAX (workers are vforked by
 * init, so their lwps count on from it and wrap to 1: lwp_fork's `if (++tid <= 0) tid = 1`). The
 * NetBSD model hands out pids and lids from counters that never wrap (no pid_table, no LID_SCAN):
 * nothing to start near yet.
 */
export const NEAR_WRAP: Readonly<Record<KernelName, Partial<Limits>>> = {
  dragonfly: { lastpid: PID_MAX - 64, inittid: 0x7fffffff - 64 },
  netbsd: {},
};

export function scenario(kernel: KernelName, name: string, description: string, mix: Mix, population: number, limits: Scenario["limits"] = ROOMY): Scenario {
  return { kernel, name, description, limits: { ...NEAR_WRAP[kernel], ...limits }, module: MODULE[kernel], init: `${kernel}.init`, initArgs: [population, mixIndex(mix), 0] };
}
