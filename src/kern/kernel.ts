/*
 * What every kernel model provides, in two halves:
 *  - KernelModel (main thread): the tables it needs, how to boot it into a fresh image, how its
 *    script calls are encoded, how to list its processes, and its full-state audits.
 *  - KernelEntry (each cpu, see usermode.ts): the system-call dispatcher and the return-to-user
 *    path, registered by the kernel's worker module.
 */
import type { Image, TableSpec } from "../shm/image.js";
import type { Handle } from "../shm/table.js";
import type { Machine } from "../sched/machine.js";

export type KernelName = "dragonfly" | "netbsd";

export interface Limits {
  maxproc: number;
  /** RLIMIT_NPROC */
  nproc: number;
  /** Capacities of the image's tables, by table name. */
  tables: Record<string, number>;
  /**
   * Boot state, as if the system had been up a while (DragonFly; stress scenarios start near the
   * wrap points so that wrap code runs in every run): the last pid handed out (pids wrap past
   * PID_MAX), and init's lwp tid and p_lasttid (a vfork child's first lwp takes the vforker's tid,
   * its next ones count on from there and wrap past INT_MAX). Default 1 for both.
   */
  lastpid?: number;
  inittid?: number;
  /**
   * DragonFly's kern.randompid (kern_proc.c 142, 163-182), set before the run: each fork's pid base
   * is nextpid plus a random offset below it, clamped as the sysctl does. Default 0 (off).
   */
  randompid?: number;
}

/** A system call's outcome as the trapframe carries it. */
export interface RawResult {
  ret: number;
  errno: number;
  /** Call-specific values (wait: pid, status; REAP_STATUS: flags, refs, pid_head...). */
  out: number[];
}

/** Thrown by a CallSpec when a script's arguments are malformed (usage error, exit 2). */
export { UsageError } from "../errors.js";

export interface ArgContext {
  /** A process name (or number) in a pid/pgid position, resolved to a pid. */
  pid(v: unknown, what: string): number;
}

export interface CallSpec {
  /** Encode the script's args object as the call's integer arguments (throws UsageError). */
  encode(args: Record<string, unknown>, ctx: ArgContext): number[];
  /** Extra result fields from the raw outcome (beyond ret and errno). */
  decode?(raw: RawResult): Record<string, unknown>;
  /** The call creates a process (its ret is the child's pid) or an lwp (ret is the tid). */
  creates?: "process" | "lwp";
}

export interface PsEntry {
  pid: number;
  ppid: number;
  stat: string;
  flags: number;
  pgid: number;
  uid: number;
  nthreads: number;
  pendingSignals: number[];
  reaper: boolean;
  /** Threads of the process's lwps (by tid), for posting script calls. */
  threads: { tid: number; td: Handle }[];
}

export interface AuditFinding {
  law: string;
  message: string;
  /** The thread the law is about, when it is about one (a live law's sleeper): where to look. */
  thread?: { cpu: number; tid: number; pid: number; syscall: string };
}

export interface KernelModel {
  readonly name: KernelName;
  /** Module (dist-relative) that registers the kernel's programs and entry in every worker. */
  readonly module: string;
  /** Every call a script may make, by its script name (CONTRACTS.md). */
  readonly calls: Readonly<Record<string, CallSpec>>;
  /** The kernel's may-block points, by the names scripts' "blockAt" uses (src/sync/mayblock.ts). */
  readonly mayBlockSites: readonly string[];
  /**
   * Variants of the model a script may choose for comparison (its "variants"), by name, with what
   * each changes. Kernel code reads them through the bug switch as `variant.<name>`.
   */
  readonly variants?: Readonly<Record<string, string>>;
  defaultLimits(): Limits;
  tables(limits: Limits): TableSpec[];
  /**
   * Build init (pid 1) and the kernel's globals into a fresh image; start init's thread running
   * `init.program` (default: the scripted program `<kernel>.script`).
   */
  boot(m: Machine, limits: Limits, init?: { program: string; args: readonly number[] }): void;
  ps(img: Image): PsEntry[];
  /** Full-state audits; meaningful when the machine is quiescent. */
  audit(img: Image): AuditFinding[];
  /**
   * Laws checked while the machine runs, from the orchestrator, on a state in flux: a finding
   * counts only when it persists over several samples (a wakeup in flight is not a lost one).
   */
  liveLaws?(img: Image): AuditFinding[];
  /**
   * Tables whose records the kernel never gives back (NetBSD's uidinfo): the conservation audit
   * skips them; the kernel's own audits check their contents instead.
   */
  readonly persistentTables?: readonly string[];
}

/** Call numbers are positions in the kernel's call list (the same in every worker). */
export function callNumber(model: Pick<KernelModel, "calls">, name: string): number {
  return Object.keys(model.calls).indexOf(name);
}
