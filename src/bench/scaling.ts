/*
 * Fork throughput as cpus are added, DragonFly's fine-grained tokens against NetBSD's one global
 * proc_lock, side by side in one run: the fork-exit-wait scenario for a few seconds per kernel and
 * cpu count, free-running without chaos, with each kernel's most contended lock.
 */
import { stress } from "../run/stress.js";

export interface ScalingRow {
  kernel: string;
  cpus: number;
  forksPerSecond: number;
  syscallsPerSecond: number;
  topLock: string;
}

export async function forkScaling(cpuCounts: readonly number[], seconds: number): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  for (const cpus of cpuCounts)
    for (const kernel of ["dragonfly", "netbsd"] as const) {
      const { report } = await stress({ kernel, scenario: "fork-exit-wait", cpus, seconds, mode: "free", seed: 1, chaos: 0, bugs: [], keepGoing: false });
      if (report.verdict !== "clean") throw new Error(`bench: ${kernel} fork-exit-wait on ${cpus} cpus ended ${report.verdict}`);
      const forks = report.ops.bySyscall.fork?.ok ?? 0;
      const top = report.lockstat[0];
      rows.push({
        kernel,
        cpus,
        forksPerSecond: Math.round(forks / report.elapsedSeconds),
        syscallsPerSecond: Math.round(report.ops.total / report.elapsedSeconds),
        topLock: top ? `${top.lock} (${top.contended}/${top.acquisitions} contended)` : "-",
      });
    }
  return rows;
}
