/*
 * Where a new lwp's thread starts (the model's usched): MachineSpec.placement.
 *  - spread: round-robin over the cpus (rtctl.rt_nextcpu). A forked child usually starts on
 *    another cpu than its parent, so parent and child meet across cpus: what race hunting wants.
 *  - affine: on its creator's cpu, as DragonFly's lwp_fork places it (000:778) and NetBSD's
 *    lwp_create inherits l_cpu, with no balancer moving it after. Init's children -- the
 *    workers -- are still spread: init stands for the harness that pins one shell per cpu, as
 *    will-it-scale does. Nothing crosses cpus but the kernel's own shared state, so this is the
 *    workload that shows what the kernel's locks let scale.
 *  - spread-shells: spread, but init's children go round the cpus in the order init makes them,
 *    whatever other processes fork meanwhile: the harness pins one shell per cpu. Under spread a
 *    shell that starts forking before init makes the next one moves the shared count on, and two
 *    shells could share a cpu while the other idled (fork-hold's 2-cpu rate was bimodal by it).
 * Either way the choice is a scheduling point, like the atomic it was in the kernel code.
 */
import { syncPoint } from "../shm/hooks.js";
import { atomic_fetchadd_int } from "../sync/atomic.js";

export type Placement = "spread" | "affine" | "spread-shells";

/** The pid of init, whose children are spread under every placement. */
const INIT_PID = 1;

/**
 * The cpu a new thread starts on, created by a thread of process creatorPid on cpu cpuid. `made`
 * counts init's children for spread-shells: init's one thread never leaves its cpu (no balancer),
 * so that cpu's count is the whole count.
 */
export function placeNewThread(placement: Placement, nextcpu: number, cpus: number, cpuid: number, creatorPid: number, made: { initChildren: number }): number {
  if (placement === "spread-shells" && creatorPid === INIT_PID) {
    syncPoint();
    return made.initChildren++ % cpus;
  }
  if (placement !== "affine" || creatorPid === INIT_PID) return (atomic_fetchadd_int(nextcpu, 1) >>> 0) % cpus;
  syncPoint();
  return cpuid;
}
