/* The DragonFly call list: call numbers are positions here (model.ts and entry.ts share it). */
export const CALL_NAMES = [
  "fork", "vfork", "exit", "wait", "exec", "kill", "killpg", "setpgid", "sigaction", "setrlimit", "setuid",
  "getpid", "getppid", "lwp_create", "lwp_exit", "ps", "rfork", "lwp_create2", "procctl",
  // model extras: the fork callout list and the statistics counters
  "at_fork", "rm_at_fork", "vmstat", "forklog",
  // sysctl kern.proc (KERN_PROC_ALL, or KERN_PROC_PID), what ps(1) and top(1) read; after the
  // extras so that the older calls keep their numbers
  "sysctl_proc",
] as const;
export type CallName = (typeof CALL_NAMES)[number];
