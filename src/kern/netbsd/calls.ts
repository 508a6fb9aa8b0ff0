/*
 * The NetBSD model's script calls (CONTRACTS.md, Script): how each call's JSON arguments become
 * the integer arguments of the trapframe, and what a result carries besides ret and errno.
 * The order of the keys is the call numbering (the same on the orchestrator and every cpu).
 */
import { UsageError, type ArgContext, type CallSpec, type RawResult } from "../kernel.js";
import { SYSCTL_NAMES } from "./sysctl_names.js";
import { CLONE_FLAGS, FORK_FLAGS, PT_REQUESTS, PTRACE_EVENTS, SA_FLAGS, SIG_CATCH, SIG_DFL, SIG_IGN, SIGCHLD, SIGNALS, WAIT_OPTIONS } from "./structs.js";

type Args = Record<string, unknown>;

function int(v: unknown, what: string, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (!Number.isInteger(v)) throw new UsageError(`${what} must be an integer, got ${JSON.stringify(v)}`);
  return v as number;
}

function sig(v: unknown, what: string, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v === "string") {
    const n = SIGNALS[v];
    if (n === undefined) throw new UsageError(`${what}: unknown signal ${JSON.stringify(v)}`);
    return n;
  }
  return int(v, what);
}

/** A flag set: a list of names from `table`, or a number. */
function flags(v: unknown, table: Readonly<Record<string, number>>, what: string): number {
  if (v === undefined) return 0;
  if (Number.isInteger(v)) return v as number;
  if (!Array.isArray(v)) throw new UsageError(`${what} must be a list of flag names or a number`);
  let f = 0;
  for (const name of v) {
    if (typeof name !== "string" || !(name in table)) throw new UsageError(`${what}: unknown flag ${JSON.stringify(name)} (${Object.keys(table).join(", ")})`);
    f |= table[name];
  }
  return f;
}

function only(args: Args, allowed: string[], call: string): void {
  for (const k of Object.keys(args)) if (!allowed.includes(k)) throw new UsageError(`${call}: unknown argument "${k}" (takes ${allowed.join(", ") || "none"})`);
}

const none = (call: string): CallSpec["encode"] => (args) => (only(args, [], call), []);
const forkLike = (call: string): CallSpec => ({ encode: none(call), creates: "process" });

const HANDLERS: Record<string, number> = { default: SIG_DFL, ignore: SIG_IGN, catch: SIG_CATCH };

export const CALLS = {
  fork: forkLike("fork"),
  vfork: forkLike("vfork"),
  exit: { encode: (a: Args) => (only(a, ["status"], "exit"), [int(a.status, "exit status", 0) & 0xff]) },
  wait: {
    encode: (a: Args, ctx: ArgContext) => {
      only(a, ["pid", "options"], "wait");
      const pid = a.pid === undefined ? -1 : a.pid === -1 ? -1 : ctx.pid(a.pid, "wait pid");
      return [pid, flags(a.options, WAIT_OPTIONS, "wait options")];
    },
    decode: (r: RawResult) => ({ pid: r.errno === 0 ? r.ret : 0, status: r.out[0] ?? 0 }),
  },
  exec: { encode: none("exec") },
  kill: {
    encode: (a: Args, ctx: ArgContext) => {
      only(a, ["pid", "sig"], "kill");
      const pid = Number.isInteger(a.pid) && (a.pid as number) <= 0 ? (a.pid as number) : ctx.pid(a.pid, "kill pid");
      return [pid, sig(a.sig, "kill sig", 15)];
    },
  },
  killpg: {
    encode: (a: Args, ctx: ArgContext) => {
      only(a, ["pgid", "sig"], "killpg");
      return [ctx.pid(a.pgid, "killpg pgid"), sig(a.sig, "killpg sig", 15)];
    },
  },
  setpgid: {
    encode: (a: Args, ctx: ArgContext) => {
      only(a, ["pid", "pgid"], "setpgid");
      const p = (v: unknown, w: string) => (v === undefined || v === 0 ? 0 : ctx.pid(v, w));
      return [p(a.pid, "setpgid pid"), p(a.pgid, "setpgid pgid")];
    },
  },
  sigaction: {
    encode: (a: Args) => {
      only(a, ["sig", "handler", "flags"], "sigaction");
      const h = a.handler ?? "default";
      if (typeof h !== "string" || !(h in HANDLERS)) throw new UsageError(`sigaction handler must be "default", "ignore" or "catch"`);
      return [sig(a.sig, "sigaction sig"), HANDLERS[h], flags(a.flags, SA_FLAGS, "sigaction flags")];
    },
  },
  setrlimit: {
    encode: (a: Args) => {
      only(a, ["resource", "value"], "setrlimit");
      if (a.resource !== "NPROC") throw new UsageError(`setrlimit resource must be "NPROC"`);
      return [int(a.value, "setrlimit value")];
    },
  },
  setuid: { encode: (a: Args) => (only(a, ["uid"], "setuid"), [int(a.uid, "setuid uid")]) },
  getpid: { encode: none("getpid") },
  getppid: { encode: none("getppid") },
  lwp_create: { encode: none("lwp_create"), creates: "lwp" },
  lwp_exit: { encode: none("lwp_exit") },
  ps: { encode: none("ps") },
  __vfork14: forkLike("__vfork14"),
  clone: {
    encode: (a: Args) => {
      only(a, ["flags", "sig"], "clone");
      const f = flags(a.flags, CLONE_FLAGS, "clone flags");
      const s = sig(a.sig, "clone sig", Number.isInteger(a.flags) ? 0 : SIGCHLD);
      if (s < 0 || s > 0xff) throw new UsageError(`clone sig must fit CLONE_CSIGNAL (0..255)`);
      return [f | s];
    },
    creates: "process",
  },
  ptrace: {
    encode: (a: Args, ctx: ArgContext) => {
      only(a, ["req", "pid", "events"], "ptrace");
      const req = typeof a.req === "string" ? PT_REQUESTS[a.req] : a.req;
      if (!Number.isInteger(req) || !Object.values(PT_REQUESTS).includes(req as number)) throw new UsageError(`ptrace req must be one of ${Object.keys(PT_REQUESTS).join(", ")}`);
      const pid = a.pid === undefined ? 0 : ctx.pid(a.pid, "ptrace pid");
      return [req as number, pid, flags(a.events, PTRACE_EVENTS, "ptrace events")];
    },
  },
  /** fork1 with FORK_* flags, as kernel callers use it (FORK_NOWAIT, FORK_SYSTEM, FORK_CLEANFILES). */
  fork1: {
    encode: (a: Args) => {
      only(a, ["flags", "sig"], "fork1");
      return [flags(a.flags, FORK_FLAGS, "fork1 flags"), sig(a.sig, "fork1 sig", SIGCHLD)];
    },
    creates: "process",
  },
  /** sysctl writes: proc.curproc.stopfork / stopexec, kern.forkfsleep (ms), kern.maxproc. */
  sysctl: {
    encode: (a: Args) => {
      only(a, ["name", "value"], "sysctl");
      if (typeof a.name !== "string" || !(a.name in SYSCTL_NAMES)) throw new UsageError(`sysctl name must be one of ${Object.keys(SYSCTL_NAMES).join(", ")}`);
      return [SYSCTL_NAMES[a.name], int(a.value, "sysctl value")];
    },
  },
  /** kevent(EVFILT_PROC, NOTE_FORK) on a process: fork1 then posts a KNOTE (001:517-524). */
  kevent: { encode: (a: Args, ctx: ArgContext) => (only(a, ["pid"], "kevent"), [ctx.pid(a.pid, "kevent pid")]) },
} satisfies Record<string, CallSpec>;

export type CallName = keyof typeof CALLS;
export const CALL_NAMES = Object.keys(CALLS) as CallName[];
