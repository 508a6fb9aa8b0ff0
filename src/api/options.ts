/*
 * The library's options (docs/api.md). Every option may be left out and then takes the command
 * line's default; every value is checked as the command line checks it, and a bad one is a
 * UsageError naming the option. The ranges and defaults here are the command line's too.
 */
import { DETECTORS, type DetectorName } from "../detect/index.js";
import { UsageError } from "../errors.js";
import type { KernelName } from "../kern/kernel.js";
import { KERNELS } from "../kern/registry.js";
import { MAX_DEPTH } from "../sched/pct.js";
import { SEED_MAX } from "../sched/strategy.js";
import { parseSchedule } from "../sched/decisions.js";
import { findScenario } from "../../stress/scenarios/index.js";
import { checkBugs, type StressOptions as StressRun } from "../run/stress.js";
import { chooseBugs, type HuntOptions as HuntRun, type Shard } from "../run/hunt.js";
import { resolveMutant } from "../sites/mutant.js";

export const MODES = ["free", "pct", "random"] as const;
export type Mode = (typeof MODES)[number];

/** An integer or number option's allowed values. */
interface Range {
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
}
const int = (min: number, max: number): Range => ({ integer: true, min, max });
const num = (min: number, max: number): Range => ({ integer: false, min, max });

/** Allowed values of the numeric options, by library name (the CLI's --flag of the same meaning). */
/**
 * The most processes a run's init keeps (fork-hold holds them asleep: 60,000 is issue 11's
 * figure): a table holds at most 65,534 records (16-bit slots, shm/table.ts), with room beside them.
 */
export const MAX_POPULATION = 65_000;

export const RANGES = {
  cpus: int(1, 64),
  seconds: num(0.1, 86400),
  ops: int(1, Number.MAX_SAFE_INTEGER),
  seed: int(0, SEED_MAX),
  chaos: num(0, 1),
  depth: int(1, MAX_DEPTH),
  stepBound: int(1, 1e9),
  watchdogSeconds: num(0.5, 3600),
  population: int(1, MAX_POPULATION),
  seeds: int(1, 1000),
  budget: num(0.5, 3600),
  timeBudget: num(1, 7 * 86400),
} as const satisfies Record<string, Range>;

export const STRESS_DEFAULTS = { kernel: "dragonfly", scenario: "mixed", cpus: 4, seconds: 10, mode: "free", chaos: 0.001, keepGoing: false } as const;
export const HUNT_DEFAULTS = { kernel: "all", bugs: "all", seeds: 5, budget: 30, cpus: 4, mode: "free", seed: 1, chaos: 0.001 } as const;

/** What a library caller gives `stress()`: everything optional (STRESS_DEFAULTS). */
export interface StressOptions {
  kernel?: KernelName;
  scenario?: string;
  cpus?: number;
  /** Run length in seconds (default 10 unless `ops` is given); give one of seconds and ops. */
  seconds?: number;
  /** Run length in system calls: in pct/random mode the run is then a function of its seed. */
  ops?: number;
  mode?: Mode;
  /** Default: random (it is in the report). */
  seed?: number;
  /** Free mode only: fraction of scheduling points that inject a delay. */
  chaos?: number;
  /** Catalogued bugs to inject (`listCatalog().bugs`). */
  bugs?: string[];
  /** One interlock site's "forgot it" mutant, `KEY:OPERATOR` (forkstorm mutate --list). */
  mutant?: string;
  keepGoing?: boolean;
  /** pct: the bug depth d (d-1 priority change points); default 3. */
  depth?: number;
  /** pct: the step bound k change points are drawn from; default 20000. */
  stepBound?: number;
  /** Seconds without a completed system call before the run is called hung; default 10. */
  watchdogSeconds?: number;
  /**
   * A controlled run under the default scheduler (each cpu runs on until it blocks) with these
   * decisions: a schedule string as `shrink` prints it ("2@1534>0,0@88.1>3"; "" for none). No `mode`.
   */
  schedule?: string;
  /** Worker processes init keeps alive; default: the scenario's. */
  population?: number;
  /** Write the JSON report there (atomically, whatever the verdict). */
  report?: string;
  /** Write a Chrome trace-event JSON (Perfetto) there. */
  trace?: string;
  /** Field-level detectors (DETECTORS: "race", "stale"); default: every one. */
  detectors?: readonly DetectorName[];
  onProgress?: StressRun["onProgress"];
  /** Aborting stops the run; its report says "interrupted". */
  signal?: AbortSignal;
}

/** What a library caller gives `hunt()`: everything optional (HUNT_DEFAULTS). */
export interface HuntOptions {
  kernel?: KernelName | "all";
  bugs?: string[] | "all";
  /** Runs per bug (default 5; with a time budget, default: rounds until the time is spent). */
  seeds?: number;
  /** Seconds per run before it counts as "not detected". */
  budget?: number;
  cpus?: number;
  mode?: Mode;
  seed?: number;
  chaos?: number;
  /** pct: the bug depth d; default HUNT_DEPTH (20). */
  depth?: number;
  /** Seconds for the whole hunt: runs share it out (every bug's i-th run before any i+1-th) and the hunt ends within it. */
  timeBudget?: number;
  /** Run shard `index` of `count` (1-based) of the hunt's runs; `parseShard("2/4")` reads the CLI's form. */
  shard?: Shard;
  /** Field-level detectors on in every run; default: every one. */
  detectors?: readonly DetectorName[];
  onRun?: HuntRun["onRun"];
  signal?: AbortSignal;
}

const STRESS_KEYS = ["kernel", "scenario", "cpus", "seconds", "ops", "mode", "seed", "chaos", "bugs", "mutant", "keepGoing", "depth", "stepBound", "watchdogSeconds", "schedule", "population", "report", "trace", "detectors", "onProgress", "signal"] as const;
const HUNT_KEYS = ["kernel", "bugs", "seeds", "budget", "cpus", "mode", "seed", "chaos", "depth", "timeBudget", "shard", "detectors", "onRun", "signal"] as const;

function onlyKnown(what: string, o: object, known: readonly string[]): void {
  if (typeof o !== "object" || o === null) throw new UsageError(`${what} options must be an object`);
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new UsageError(`${what}: unknown option "${k}" (${known.join(", ")})`);
}

function checkNumber(name: keyof typeof RANGES, v: unknown): void {
  if (v === undefined) return;
  const r = RANGES[name];
  if (typeof v !== "number" || !Number.isFinite(v) || (r.integer && !Number.isInteger(v)) || v < r.min || v > r.max) {
    throw new UsageError(`${name} must be ${r.integer ? "an integer" : "a number"} ${r.min}..${r.max}, got ${JSON.stringify(v)}`);
  }
}

function checkOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`${name} must be ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
  return v as T;
}

function checkStrings(name: string, v: unknown): void {
  if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === "string"))) throw new UsageError(`${name} must be a list of strings`);
}

function checkDetectors(v: unknown): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || !v.every((d) => (DETECTORS as readonly unknown[]).includes(d))) throw new UsageError(`detectors must be a list of ${DETECTORS.join(", ")}, got ${JSON.stringify(v)}`);
}

function checkChaosMode(chaos: unknown, mode: Mode | "schedule"): void {
  if (chaos !== undefined && mode !== "free") throw new UsageError(`chaos applies to free mode only: ${mode} mode decides every interleaving itself`);
}

/** A caller's stress options, checked and completed with the defaults. */
export function resolveStressOptions(o: StressOptions = {}): StressRun {
  onlyKnown("stress", o, STRESS_KEYS);
  for (const k of ["cpus", "seconds", "ops", "seed", "chaos", "depth", "stepBound", "watchdogSeconds", "population"] as const) checkNumber(k, o[k]);
  const kernel = checkOneOf("kernel", o.kernel, KERNELS) ?? STRESS_DEFAULTS.kernel;
  if (o.schedule !== undefined && o.mode !== undefined) throw new UsageError("schedule runs the default scheduler with its decisions: give no mode");
  if (o.schedule !== undefined && typeof o.schedule !== "string") throw new UsageError(`schedule must be a schedule string, got ${JSON.stringify(o.schedule)}`);
  const mode = checkOneOf("mode", o.mode, MODES) ?? STRESS_DEFAULTS.mode;
  checkChaosMode(o.chaos, o.schedule !== undefined ? "schedule" : mode);
  if (o.seconds !== undefined && o.ops !== undefined) throw new UsageError("give seconds or ops, not both");
  checkStrings("bugs", o.bugs);
  checkDetectors(o.detectors);
  const scenario = o.scenario ?? STRESS_DEFAULTS.scenario;
  findScenario(kernel, scenario);
  checkBugs(kernel, o.bugs ?? []);
  if (o.mutant !== undefined) resolveMutant(kernel, o.mutant);
  const { schedule, ...rest } = o;
  const cpus = o.cpus ?? STRESS_DEFAULTS.cpus;
  return {
    ...rest,
    kernel,
    scenario,
    ...(schedule !== undefined ? { mode: "schedule" as const, decisions: parseSchedule(schedule, cpus) } : { mode }),
    cpus,
    ...(o.ops === undefined ? { seconds: o.seconds ?? STRESS_DEFAULTS.seconds } : {}),
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 31),
    chaos: o.chaos ?? STRESS_DEFAULTS.chaos,
    bugs: o.bugs ?? [],
    keepGoing: o.keepGoing ?? STRESS_DEFAULTS.keepGoing,
  };
}

/** A caller's hunt options, checked and completed with the defaults. */
export function resolveHuntOptions(o: HuntOptions = {}): HuntRun {
  onlyKnown("hunt", o, HUNT_KEYS);
  for (const k of ["seeds", "budget", "cpus", "seed", "chaos", "depth", "timeBudget"] as const) checkNumber(k, o[k]);
  if (o.shard !== undefined) checkShard(o.shard);
  const kernel = checkOneOf("kernel", o.kernel, ["all", ...KERNELS]) ?? HUNT_DEFAULTS.kernel;
  const mode = checkOneOf("mode", o.mode, MODES) ?? HUNT_DEFAULTS.mode;
  checkChaosMode(o.chaos, mode);
  if (o.bugs !== undefined && o.bugs !== "all") checkStrings("bugs", o.bugs);
  checkDetectors(o.detectors);
  const bugs = o.bugs === undefined || o.bugs === "all" || o.bugs.includes("all") ? "all" : o.bugs;
  chooseBugs(kernel, bugs);
  return {
    ...o,
    kernel,
    bugs,
    mode,
    seeds: o.seeds ?? (o.timeBudget === undefined ? HUNT_DEFAULTS.seeds : null),
    budget: o.budget ?? HUNT_DEFAULTS.budget,
    cpus: o.cpus ?? HUNT_DEFAULTS.cpus,
    seed: o.seed ?? HUNT_DEFAULTS.seed,
    chaos: o.chaos ?? HUNT_DEFAULTS.chaos,
  };
}

const MAX_SHARDS = 10_000;
const shardOk = (s: Shard) => typeof s === "object" && s !== null && Number.isInteger(s.index) && Number.isInteger(s.count) && s.count <= MAX_SHARDS && s.index >= 1 && s.index <= s.count;

function checkShard(s: Shard): void {
  if (!shardOk(s)) throw new UsageError(`shard must be { index, count } with 1 <= index <= count <= ${MAX_SHARDS}, got ${JSON.stringify(s)}`);
}

/** The command line's K/N ("2/4": the second of four shards); `what` names the option in errors. */
export function parseShard(text: string, what = "shard"): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!shard || !shardOk(shard)) throw new UsageError(`${what} must be K/N with 1 <= K <= N <= ${MAX_SHARDS} (e.g. 2/4), got "${text}"`);
  return shard;
}
