/*
 * The current call stack as V8 call sites, for code that names the kernel function it was called
 * from (lockstat's lock classes by caller, the race detector's accesses by function).
 */
import { findSourceMap } from "node:module";

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

/**
 * Where a call site is, as "file.ts:LINE" in the TypeScript source when the module has a source map
 * (the workers run with --enable-source-maps): a name for a frame whose function has none, such as
 * the arrow a list walk is handed, which would otherwise read as a line of the compiled dist/ file.
 */
export function sourceLine(site: NodeJS.CallSite): string {
  const file = site.getFileName() ?? "";
  const line = site.getLineNumber() ?? 0;
  // findEntry answers {} for a position the map does not cover; lines and columns are 0-based there.
  const entry: { originalSource?: string; originalLine?: number } | undefined = file ? findSourceMap(file)?.findEntry(line - 1, (site.getColumnNumber() ?? 1) - 1) : undefined;
  if (entry?.originalSource !== undefined && entry.originalLine !== undefined) return `${baseName(entry.originalSource)}:${entry.originalLine + 1}`;
  return `${baseName(file)}:${line}`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
