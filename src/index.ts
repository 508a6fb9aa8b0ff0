/*
 * The library API (CONTRACTS.md): what the command line wraps, returning the same objects the
 * JSON reports hold, so a vitest suite can assert on them.
 */
export { stress, type StressOptions, type StressOutcome } from "./run/stress.js";
export { hunt, type HuntOptions, type HuntReport } from "./run/hunt.js";
export { replay, type ReplayOutcome } from "./run/replay.js";
export { runScript, type ScriptOutput } from "./script/runner.js";
export { listCatalog, type Catalog } from "./run/list.js";
export type { StressReport } from "./report/report.js";
