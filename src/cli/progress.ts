/*
 * Progress of a stress run on stderr: a bar on a terminal, a plain line every few seconds
 * otherwise (CI logs).
 */
import cliProgress from "cli-progress";

export interface Progress {
  update(p: { seconds: number; ops: number; violations: number }): void;
  stop(): void;
}

export function progressReporter(total: number, unit: "s" | "ops"): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format: "stress [{bar}] {percentage}% | {ops} syscalls | {violations} violations", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { ops: 0, violations: 0 });
    return {
      update: (p) => bar.update(Math.min(total, unit === "s" ? p.seconds : p.ops), { ops: p.ops, violations: p.violations }),
      stop: () => bar.stop(),
    };
  }
  let next = 0;
  return {
    update: (p) => {
      if (p.seconds < next) return;
      next = p.seconds + 5;
      process.stderr.write(`stress: ${p.seconds.toFixed(0)} s, ${p.ops} syscalls, ${p.violations} violations\n`);
    },
    stop: () => {},
  };
}
