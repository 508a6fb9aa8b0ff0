/*
 * Interlock coverage reports (issue 16 item 5): which kernel functions and interlock sites a run
 * reached, and which sites it reached concurrently -- another cpu inside code guarded by the same
 * object at the same moment (runtime.ts says what that means for each kind of site). Whatever a
 * hunt never reaches concurrently, no detector can find: this is how scenarios are judged.
 *
 * A report is keyed by site key (manifest.ts), so reports of different runs, hunts and builds
 * merge by key. docs/coverage.md gives, for the seeds' sites a hunt does not reach concurrently,
 * the reason; the table printed by `forkstorm coverage` shows it beside the site.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KernelName } from "../kern/kernel.js";
import { KERNELS } from "../kern/registry.js";
import type { CpuResult } from "../sched/cpu.js";
import { isInterlock, SEED_FILES, type Manifest } from "./manifest.js";

export interface SiteCoverage {
  site: string;
  kind: string;
  line: number;
  hits: number;
  concurrent: number;
}

export interface CoverageReport {
  kernel: KernelName;
  /** Interlock sites (sites with a mutant): how many, how many reached, how many concurrently. */
  sites: { total: number; reached: number; concurrent: number };
  functions: { total: number; reached: number };
  /** Every interlock site of the kernel, in source order. */
  rows: SiteCoverage[];
  /** Every kernel function with its calls (0: never called). */
  calls: Record<string, number>;
}

/** Sum what every cpu counted (CpuResult.extras.sites, see runtime.ts collectCounts). */
export function coverageOf(kernel: KernelName, results: readonly CpuResult[], m: Manifest): CoverageReport {
  const hits = new Map<number, number>();
  const conc = new Map<number, number>();
  const calls = new Map<number, number>();
  for (const r of results) {
    const c = r.extras.sites as { sites: number[]; functions: number[] } | undefined;
    if (!c) continue;
    for (let i = 0; i < c.sites.length; i += 3) {
      hits.set(c.sites[i], (hits.get(c.sites[i]) ?? 0) + c.sites[i + 1]);
      conc.set(c.sites[i], (conc.get(c.sites[i]) ?? 0) + c.sites[i + 2]);
    }
    for (let i = 0; i < c.functions.length; i += 2) calls.set(c.functions[i], (calls.get(c.functions[i]) ?? 0) + c.functions[i + 1]);
  }
  const rows = m.sites.filter((s) => s.kernel === kernel && isInterlock(s)).map((s) => ({ site: s.key, kind: s.kind, line: s.line, hits: hits.get(s.id) ?? 0, concurrent: conc.get(s.id) ?? 0 }));
  const fns = m.functions.filter((f) => f.kernel === kernel);
  return tally(kernel, rows, Object.fromEntries(fns.map((f) => [f.key, calls.get(f.id) ?? 0])));
}

function tally(kernel: KernelName, rows: SiteCoverage[], calls: Record<string, number>): CoverageReport {
  const counts = Object.values(calls);
  return {
    kernel,
    sites: { total: rows.length, reached: rows.filter((r) => r.hits > 0).length, concurrent: rows.filter((r) => r.concurrent > 0).length },
    functions: { total: counts.length, reached: counts.filter((n) => n > 0).length },
    rows,
    calls,
  };
}

/** Two runs' coverage of one kernel, together (by key: rows of either build are kept). */
export function mergeCoverage(a: CoverageReport, b: CoverageReport): CoverageReport {
  if (a.kernel !== b.kernel) throw new Error(`coverage of ${a.kernel} and ${b.kernel} cannot merge`);
  const rows = new Map(a.rows.map((r) => [r.site, { ...r }]));
  for (const r of b.rows) {
    const had = rows.get(r.site);
    if (had) {
      had.hits += r.hits;
      had.concurrent += r.concurrent;
    } else rows.set(r.site, { ...r });
  }
  const calls = { ...a.calls };
  for (const [k, n] of Object.entries(b.calls)) calls[k] = (calls[k] ?? 0) + n;
  return tally(a.kernel, [...rows.values()], calls);
}

/** The coverage of many runs, merged per kernel (a hunt's, or its shards'), in the kernels' order. */
export class CoverageTally {
  private readonly byKernel = new Map<KernelName, CoverageReport>();

  add(c: CoverageReport): void {
    const had = this.byKernel.get(c.kernel);
    this.byKernel.set(c.kernel, had ? mergeCoverage(had, c) : c);
  }

  reports(): CoverageReport[] {
    return KERNELS.flatMap((k) => this.byKernel.get(k) ?? []);
  }
}

export function coverageLine(c: CoverageReport): string {
  return `coverage (${c.kernel}): ${c.sites.reached}/${c.sites.total} interlock sites reached, ${c.sites.concurrent} concurrently; ${c.functions.reached}/${c.functions.total} kernel functions`;
}

/** Why a seed site is not reached concurrently, from docs/coverage.md (`| key | reason |` rows). */
export function coverageReasons(root: string): Map<string, string> {
  return keyedRows(join(root, "docs", "coverage.md"), 2).reduce((m, [key, reason]) => m.set(key, reason), new Map<string, string>());
}

/** Rows of the markdown tables in a doc whose first cell is a site key in backquotes. */
export function keyedRows(file: string, cells: number): string[][] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const rows: string[][] = [];
  for (const line of text.split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const rest = m[2].split("|").map((c) => c.trim().replace(/^`|`$/g, ""));
    if (rest.length >= cells - 1) rows.push([m[1], ...rest.slice(0, cells - 1)]);
  }
  return rows;
}

/**
 * The per-site table: every interlock site (or, with seedsOnly, those of the seeds' files), its
 * hits and concurrent hits, and for a seed site not reached concurrently, the documented reason.
 */
export function coverageTable(c: CoverageReport, reasons: ReadonlyMap<string, string>, seedsOnly: boolean): string {
  const seedFile = SEED_FILES[c.kernel].split("/").pop()!;
  const rows = c.rows.filter((r) => !seedsOnly || r.site.startsWith(`${c.kernel}/${seedFile}:`));
  const width = Math.max(20, ...rows.map((r) => r.site.length));
  const lines = [coverageLine(c), `${"site".padEnd(width)}  ${"line".padStart(5)}  ${"kind".padEnd(9)} ${"hits".padStart(9)} ${"concurrent".padStart(10)}`];
  for (const r of rows) {
    const why = r.concurrent === 0 && r.site.startsWith(`${c.kernel}/${seedFile}:`) ? `  -- ${reasons.get(r.site) ?? "NO REASON GIVEN"}` : "";
    lines.push(`${r.site.padEnd(width)}  ${String(r.line).padStart(5)}  ${r.kind.padEnd(9)} ${String(r.hits).padStart(9)} ${String(r.concurrent).padStart(10)}${why}`);
  }
  const seeds = c.rows.filter((r) => r.site.startsWith(`${c.kernel}/${seedFile}:`));
  const unexplained = seeds.filter((r) => r.concurrent === 0 && !reasons.has(r.site)).length;
  lines.push(`seed sites (${seedFile}): ${seeds.filter((r) => r.concurrent > 0).length}/${seeds.length} reached concurrently, ${seeds.length - seeds.filter((r) => r.concurrent > 0).length - unexplained} with a stated reason, ${unexplained} unexplained`);
  return lines.join("\n");
}
