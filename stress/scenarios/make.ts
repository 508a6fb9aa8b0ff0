/*
 * How a scenario is made: a workload mix run by `population` workers (0: one per cpu) under the
 * scenario's limits, with the kernel's program module. index.ts lists them.
 */
import { PID_MAX } from "../../src/kern/dragonfly/structs.js";
import { PID_MAX as NB_PID_MAX } from "../../src/kern/netbsd/structs.js";
import type { KernelName, Limits } from "../../src/kern/kernel.js";
import { mixIndex, type Mix } from "../programs/mixes.js";
import type { Scenario, ScenarioLimits, SeedDefect } from "./types.js";

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
 * init, so their lwps count on from it and wrap to 1: lwp_fork's `if (++tid <= 0) tid = 1`).
 * NetBSD's pid table slots hand out pids from use counts 64 below its PID_MAX (model.ts procinit):
 * the first round of pids is just below it, and each slot's next pid wraps to the slot number
 * (proc_alloc_pid's `pid &= pid_tbl_mask`). Its lids count from ++p_nlwpid with no LID_SCAN:
 * nothing to start near there.
 */
export const NEAR_WRAP: Readonly<Record<KernelName, Partial<Limits>>> = {
  dragonfly: { lastpid: PID_MAX - 64, inittid: 0x7fffffff - 64 },
  netbsd: { lastpid: NB_PID_MAX - 64 },
};

/**
 * Room for `held` sleeping processes beside the shells: maxproc and RLIMIT_NPROC (init is root,
 * but the limits are set for any uid), and every per-process table. DragonFly sizes its tables
 * from maxproc (model.ts); NetBSD's pools are given their sizes, as its defaults are fixed.
 */
export function holdLimits(kernel: KernelName, held: number): ScenarioLimits {
  const n = held + holdersOf(held) + HOLD_ROOM;
  const perProcess = ["proc", "lwp", "uarea", "pgrp", "sigacts", "filedesc", "cwdinfo", "plimit", "vmspace", "kmutexobj"];
  // DragonFly's lwp and ucred tables would be 2 and 3 times maxproc (model.ts): past a table's
  // 65,534 records (16-bit slots) at 60,000. Fork shares a ucred (crhold) and gives one lwp.
  const most = (x: number) => Math.min(x, 0xfffe);
  const tables = kernel === "netbsd" ? Object.fromEntries(perProcess.map((t) => [t, n])) : { lwp: most(2 * n + 32), ucred: most(3 * n + 32) };
  const nproc = kernel === "dragonfly" ? nprocAtForkerDepth(n) : n;
  return { ...NEAR_WRAP[kernel], maxproc: n, nproc, tables: { ...tables, thread: n } };
}

/**
 * The fork depth of fork-hold's forkers: init is at 1, the holders and shells it vforks at 2.
 * DragonFly's fork1 checks RLIMIT_NPROC through plimit_getadjvalue, which cuts it by depth/320
 * (kern_plimit.c 458-467): at 60,000 held a plain limit of `n` lost 378 slots, more than the
 * 256 spare ones -- the holders stopped short and every shell fork failed with EAGAIN after
 * fork1's half-second "fork" sleep (000:430).
 */
export const HOLD_FORKER_DEPTH = 2;

/** An RLIMIT_NPROC that still allows `n` processes to a forker at HOLD_FORKER_DEPTH after the cut. */
const nprocAtForkerDepth = (n: number): number => Math.ceil((n * 320) / (320 - HOLD_FORKER_DEPTH));

/** The processes the held ones hang from (stress/programs/user.ts holdInit): about sqrt(held). */
export const holdersOf = (held: number): number => Math.ceil(Math.sqrt(held));

/** Slots past the held processes and their holders: init, a shell per cpu (64 at most) and each shell's child. */
const HOLD_ROOM = 256;

/** docs/findings.md D6: kern_wait reaps a zombie that reparented itself, unlinking it under the old parent's token. */
export const D6: SeedDefect = { finding: "D6", laws: ["token-not-held"] };
/** docs/findings.md D8: children given to a reaper past its exit loop outlive it (its freed record read through their p_pptr). */
export const D8: SeedDefect = { finding: "D8", laws: ["use-after-free", "parent-child", "conservation", "lwp-tree"] };
/** docs/findings.md D9: the RFTHREAD peer chain changed by two exits with no lock in common (a peer ended by the drain's kill races the other's unlink). */
export const D9: SeedDefect = { finding: "D9", laws: ["data-race", "non-atomic-update", "use-after-free", "null-deref", "conservation", "lwp-tree"] };
/** docs/findings.md D12: the RFTHREAD leader tests p_peers and sleeps with no interlock; the last peer's wakeup falls between. */
export const D12: SeedDefect = { finding: "D12", laws: ["lost-wakeup"] };

export function scenario(kernel: KernelName, name: string, description: string, mix: Mix, population: number, limits: Scenario["limits"] = ROOMY, targets?: readonly string[]): Scenario {
  return { kernel, name, description, limits: { ...NEAR_WRAP[kernel], ...limits }, module: MODULE[kernel], init: `${kernel}.init`, initArgs: [population, mixIndex(mix), 0], ...(targets ? { targets } : {}) };
}
