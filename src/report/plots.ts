/*
 * Plots for the HTML reports, rendered to SVG here in Node with vega + vega-lite (their SVG
 * renderer needs no canvas), so a report is a self-contained page: no script, nothing fetched.
 * Each plot is a vega-lite spec built from report rows; svgOf() compiles and renders it.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** Render a vega-lite spec to an SVG string. */
export async function svgOf(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const CONFIG = { font: "system-ui, sans-serif", axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 } };

/** A spec with the reports' schema and style around its own title, size, data and marks. */
function spec(body: Record<string, unknown>): TopLevelSpec {
  return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", ...body, config: CONFIG } as TopLevelSpec;
}

export interface ScalingPoint {
  /** The series: a kernel, or kernel and workload. */
  series: string;
  cpus: number;
  forksPerSecond: number;
}

/**
 * Throughput against cpus, one line per series, each with its linear reference (its one-cpu
 * throughput times the cpus) dashed in the same colour. `log`: log2 axes (a 1..64 sweep).
 */
export function scalingSpec(title: string, points: readonly ScalingPoint[], log: boolean): TopLevelSpec {
  const base = new Map<string, number>();
  for (const p of points) if (p.cpus === 1) base.set(p.series, p.forksPerSecond);
  const rows = points.flatMap((p) => {
    const one = base.get(p.series);
    const measured = { series: p.series, cpus: p.cpus, forks: p.forksPerSecond, line: "measured" };
    return one === undefined ? [measured] : [measured, { series: p.series, cpus: p.cpus, forks: one * p.cpus, line: "linear" }];
  });
  const scale = log ? { type: "log" as const, base: 2 } : { type: "linear" as const };
  return spec({
    title,
    width: 420,
    height: 260,
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "cpus", type: "quantitative", scale: { ...scale, nice: false }, axis: { values: [...new Set(points.map((p) => p.cpus))] }, title: "cpus" },
      y: { field: "forks", type: "quantitative", scale: log ? { type: "log" } : {}, title: "forks per second" },
      color: { field: "series", type: "nominal", title: null },
      strokeDash: { field: "line", type: "nominal", title: null, scale: { domain: ["measured", "linear"], range: [[1, 0], [4, 4]] } },
    },
  });
}

export interface HistogramBar {
  series: string;
  /** log2 bucket: times in [2^bucket, 2^(bucket+1)) ns. */
  bucket: number;
  count: number;
}

const bucketLabel = (b: number): string => {
  const ns = 2 ** b;
  return ns >= 1e9 ? `${ns / 1e9} s` : ns >= 1e6 ? `${Math.round(ns / 1e6)} ms` : ns >= 1e3 ? `${Math.round(ns / 1e3)} µs` : `${ns} ns`;
};

/** A log2 histogram of wait or hold times, one bar colour per series (lock class). */
export function histogramSpec(title: string, bars: readonly HistogramBar[]): TopLevelSpec {
  const used = bars.filter((b) => b.count > 0).map((b) => b.bucket);
  const lo = Math.min(...used, 10);
  const hi = Math.max(...used, lo + 1);
  const rows = bars.filter((b) => b.bucket >= lo && b.bucket <= hi).map((b) => ({ ...b, from: bucketLabel(b.bucket) }));
  return spec({
    title,
    width: 420,
    height: 200,
    data: { values: rows },
    mark: "bar",
    encoding: {
      x: { field: "from", type: "ordinal", sort: { field: "bucket" }, title: "time from (log2 buckets)" },
      xOffset: { field: "series", type: "nominal" },
      y: { field: "count", type: "quantitative", title: "count" },
      color: { field: "series", type: "nominal", title: null },
    },
  });
}

export interface TimelineSpan {
  cpu: string;
  /** What ran: a system call, a lock wait, a sleep. */
  what: string;
  kind: string;
  startMs: number;
  endMs: number;
}

/** One row per cpu, a lane per kind of span (system call, sleep, lock wait, hold), marks for violations. */
export function timelineSpec(title: string, spans: readonly TimelineSpan[], marks: readonly { cpu: string; atMs: number; what: string }[]): TopLevelSpec {
  return spec({
    title,
    width: 720,
    height: { step: 44 },
    layer: [
      {
        data: { values: spans.map((s) => ({ ...s, endMs: Math.max(s.endMs, s.startMs + 0.001) })) },
        mark: { type: "bar" },
        encoding: {
          y: { field: "cpu", type: "nominal", title: null },
          yOffset: { field: "kind", type: "nominal", scale: { domain: ["system call", "sleep", "wait", "hold"] } },
          x: { field: "startMs", type: "quantitative", title: "ms (last events of each cpu)", scale: { zero: false } },
          x2: { field: "endMs" },
          color: { field: "kind", type: "nominal", title: null },
        },
      },
      {
        data: { values: marks.length ? [...marks] : [{ cpu: spans[0]?.cpu ?? "cpu 0", atMs: spans[0]?.startMs ?? 0, what: "" }] },
        mark: { type: "tick", color: "#c00", thickness: 3, size: 40, opacity: marks.length ? 1 : 0 },
        encoding: { y: { field: "cpu", type: "nominal" }, x: { field: "atMs", type: "quantitative" } },
      },
    ],
  });
}
