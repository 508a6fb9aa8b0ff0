/* The sysctl nodes a script may write (kern_proc.c sysctl_proc_stop, kern_fork.c forkfsleep, maxproc). */
export const SYSCTL_STOPFORK = 1;
export const SYSCTL_STOPEXEC = 2;
export const SYSCTL_FORKFSLEEP = 3;
export const SYSCTL_MAXPROC = 4;
export const SYSCTL_NAMES: Record<string, number> = {
  "proc.curproc.stopfork": SYSCTL_STOPFORK,
  "proc.curproc.stopexec": SYSCTL_STOPEXEC,
  "kern.forkfsleep": SYSCTL_FORKFSLEEP,
  "kern.maxproc": SYSCTL_MAXPROC,
};
