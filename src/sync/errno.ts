/* errno values (sys/errno.h); ERESTART is the kernel-internal -1. */
export const EPERM = 1;
export const ESRCH = 3;
export const EINTR = 4;
export const ECHILD = 10;
export const EAGAIN = 35;
export const EWOULDBLOCK = EAGAIN;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EINVAL = 22;
export const EDEADLK = 11;
export const EALREADY = 37;
export const ENOTCONN = 57;
export const ERESTART = -1;

export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM",
  [ESRCH]: "ESRCH",
  [EINTR]: "EINTR",
  [ECHILD]: "ECHILD",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [EINVAL]: "EINVAL",
  [EDEADLK]: "EDEADLK",
  [EALREADY]: "EALREADY",
  [ENOTCONN]: "ENOTCONN",
  [ERESTART]: "ERESTART",
};

export const errnoName = (e: number): string => ERRNO_NAMES[e] ?? `E${e}`;
