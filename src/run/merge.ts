/*
 * `forkstorm merge`: the reports of a hunt's shards (hunt --shard k/N, one per machine) put
 * together into the report of the whole hunt. Every run's seeds depend only on its place in the
 * plan (hunt.ts), so the merged report equals the unsharded hunt's, timings aside: the same rows,
 * detections, executions, reproductions and verdict.
 */
import { UsageError } from "../errors.js";
import { VERSION } from "../report/report.js";
import { CoverageTally } from "../sites/coverage.js";
import { tabulate, type HuntReport } from "./hunt.js";

/** The report of the whole hunt from every shard's; `names` (file names) label the inputs in errors. */
export function mergeHunts(reports: readonly unknown[], names: readonly string[] = reports.map((_, i) => `report ${i + 1}`)): HuntReport {
  if (reports.length === 0) throw new UsageError("nothing to merge: give the shards' hunt reports");
  const shards = reports.map((r, i) => checkHuntReport(r, names[i]));
  const { shard: _first, ...config } = shards[0].config;
  const count = shards[0].config.shard!.count;
  const seen = new Map<number, string>();
  shards.forEach((r, i) => {
    const { shard, ...rest } = r.config;
    if (JSON.stringify(rest) !== JSON.stringify(config)) throw new UsageError(`${names[i]} is from another hunt than ${names[0]} (their configurations differ)`);
    if (shard!.count !== count) throw new UsageError(`${names[i]} is shard ${shard!.index}/${shard!.count}, ${names[0]} one of ${count}`);
    const twin = seen.get(shard!.index);
    if (twin !== undefined) throw new UsageError(`${names[i]} and ${twin} are both shard ${shard!.index}/${count}`);
    seen.set(shard!.index, names[i]);
  });
  const missing = Array.from({ length: count }, (_, k) => k + 1).filter((k) => !seen.has(k));
  if (missing.length) throw new UsageError(`shard${missing.length > 1 ? "s" : ""} ${missing.map((k) => `${k}/${count}`).join(", ")} missing`);
  const interlocks = new CoverageTally();
  for (const c of shards.flatMap((r) => r.interlocks ?? [])) interlocks.add(c);
  return tabulate(
    config,
    shards.flatMap((r) => r.runLog),
    shards.reduce((n, r) => n + r.coverage.cut, 0),
    interlocks.reports(),
  );
}

function checkHuntReport(raw: unknown, name: string): HuntReport {
  const r = raw as Partial<HuntReport>;
  if (typeof raw !== "object" || raw === null || r.schema !== 1 || r.command !== "hunt" || typeof r.config !== "object" || !Array.isArray(r.runLog) || typeof r.coverage !== "object") {
    throw new UsageError(`${name} is not a forkstorm hunt report (schema 1, with its runLog)`);
  }
  if (r.version !== VERSION) throw new UsageError(`${name} was written by forkstorm ${String(r.version)}, this is ${VERSION}: merge with the version that ran the shards`);
  if (!r.config.shard) throw new UsageError(`${name} is not a shard's report (hunt --shard K/N writes those)`);
  return r as HuntReport;
}
