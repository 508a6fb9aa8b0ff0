/*
 * The kernel models, by name. Each lives in src/kern/<name>/model.ts and exports itself under its
 * name; loading is lazy so a command pays only for the kernel it runs.
 */
import type { KernelModel, KernelName } from "./kernel.js";

export const KERNELS: readonly KernelName[] = ["dragonfly", "netbsd"];

export const KERNEL_DESCRIPTIONS: Readonly<Record<KernelName, string>> = {
  dragonfly: "DragonFly BSD kern_fork.c (d9d67b59): LWKT tokens, lockmgr pg_lock/reaper locks, P_PPWAIT interlock, procctl reapers",
  netbsd: "NetBSD kern_fork.c 1.209: one global proc_lock mutex, p_waitcv vfork wait, __clone, PS_STOPFORK, fork tracing",
};

export function isKernelName(s: unknown): s is KernelName {
  return typeof s === "string" && (KERNELS as readonly string[]).includes(s);
}

export async function loadKernel(name: KernelName): Promise<KernelModel> {
  switch (name) {
    case "dragonfly":
      return (await import("./dragonfly/model.js")).dragonfly;
    case "netbsd":
      return (await import("./netbsd/model.js")).netbsd;
  }
}
