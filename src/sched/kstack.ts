/*
 * Kernel call chains for reports. A simulated thread's kernel stack is a chain of generators
 * resumed through `yield*`, so a JavaScript stack taken inside it holds the whole chain, from the
 * user program's call down to the function that broke a law -- provided the stack is deep enough
 * (V8 keeps 10 frames unless told otherwise). The workers run with source maps, so frames name the
 * TypeScript. kernelChain() keeps the kernel's frames (src/kern, the primitives of src/sync, the
 * invariants, the user programs in stress/) as "fn (src/...ts:LINE)" and drops the harness's:
 * the scheduler, tables, hooks, instrumentation and generator resumption.
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_ROOT } from "./root.js";

/** Frames kept when a stack is taken: deeper than any kernel chain plus the harness under it. */
const STACK_FRAMES = 80;

/** Paths (from the package root, without dist/) whose frames are the kernel's. */
const KERNEL_FRAME = /^(src\/kern\/|src\/invariants\/|stress\/|src\/sync\/(?!seam|lockstat|witness))/;

/** A stack taken here, deep enough for the whole chain; formatted only when read. */
export function takeStack(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_FRAMES;
  const e = new Error("kernel stack");
  Error.stackTraceLimit = limit;
  return e;
}

/** The kernel frames of a V8 stack, innermost first, one "fn (file:line)" a line. */
export function kernelChain(stack: string): string {
  const out: string[] = [];
  for (const line of stack.split("\n")) {
    const m = /^\s+at (?:(.*?) \()?(.+?):(\d+):\d+\)?$/.exec(line);
    if (!m) continue;
    const file = sourcePath(m[2]);
    if (!KERNEL_FRAME.test(file)) continue;
    const fn = (m[1] ?? "<anonymous>").replace(/^(Object|Generator|Module)\./, ""); // receivers that name no class
    out.push(`${fn} (${file}:${m[3]})`);
  }
  return out.join("\n");
}

function sourcePath(location: string): string {
  const path = location.startsWith("file://") ? fileURLToPath(location) : location;
  return relative(PACKAGE_ROOT, path).split("\\").join("/").replace(/^dist\//, "");
}
