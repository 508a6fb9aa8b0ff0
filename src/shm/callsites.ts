/*
 * The current call stack as V8 call sites, for code that names the kernel function it was called
 * from (lockstat's lock classes by caller, the race detector's accesses by function).
 */

/** At most `limit` call sites of the current stack, the innermost first, from `below`'s caller out. */
export function callSites(limit: number, below: (...args: never[]) => unknown): NodeJS.CallSite[] {
  const savedLimit = Error.stackTraceLimit;
  const savedPrepare = Error.prepareStackTrace;
  Error.stackTraceLimit = limit;
  Error.prepareStackTrace = (_e, cs) => cs;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, below);
  const frames = holder.stack as NodeJS.CallSite[];
  Error.stackTraceLimit = savedLimit;
  Error.prepareStackTrace = savedPrepare;
  return frames;
}
