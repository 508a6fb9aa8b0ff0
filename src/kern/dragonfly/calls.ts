/* The DragonFly call list: call numbers are positions here (model.ts and entry.ts share it). */
export const CALL_NAMES = [
  "fork", "vfork", "exit", "wait", "exec", "kill", "killpg", "setpgid", "sigaction", "setrlimit", "setuid",
  "getpid", "getppid", "lwp_create", "lwp_exit", "ps", "rfork", "lwp_create2", "procctl",
  // model extras: the fork callout list and the statistics counters
  "at_fork", "rm_at_fork", "vmstat", "forklog",
] as const;
export type CallName = (typeof CALL_NAMES)[number];
