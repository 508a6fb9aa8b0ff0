/*
 * `forkstorm mutate`: its options, a line per mutant on stderr, the summary or the JSON report.
 */
import { availableParallelism } from "node:os";
import { parseShard } from "../api/options.js";
import { describeWriteFailure, writeJsonOrSave } from "../report/report.js";
import { EQUIVALENTS_FILE, MIN_SCORE, mutate, mutateSummary } from "../run/mutate.js";
import { HUNT_DEPTH, type Shard } from "../run/hunt.js";
import { MAX_DEPTH } from "../sched/pct.js";
import { PACKAGE_ROOT } from "../sched/machine.js";
import { OPERATOR_MEANING } from "../sites/kinds.js";
import { manifest } from "../sites/manifest.js";
import { mutantsOf } from "../sites/mutant.js";
import { EXIT } from "./exit.js";
import { command, flag, int, oneOf, outputFile, texts, type Option } from "./options.js";
import { SEED_MAX } from "../sched/strategy.js";

const shardOption: Option<Shard | undefined> = {
  arg: "K/N",
  help: "run every N-th mutant, starting with the K-th (each shard runs the whole reach phase)",
  absent: undefined,
  read: (t, f) => parseShard(t, f),
};

export const mutateCommand = command({
  name: "mutate",
  summary: "the mutation score: each interlock site's \"forgot it\" mutant, killed or survived?",
  about: `Every interlock site of the kernel model (each token, lock and mutex acquisition, re-check
after a blocking point, atomic and refcount operation, tsleep_interlock and wakeup) gets its
"forgot it" mutant, run under PCT for at most --executions executions on the scenarios that reach
it (a reach phase of --reach clean executions per scenario finds them). A mutant is killed (by
which law, after how many executions), survived, equivalent (${EQUIVALENTS_FILE} says why), or
not reached. The score is killed / (reached - equivalent); below ${MIN_SCORE} the exit code is 1.`,
  interruptible: true,
  options: {
    kernel: oneOf(["dragonfly", "netbsd"], "the kernel model"),
    executions: int("N", "PCT executions per mutant before it counts as survived", 1, 10_000, 10),
    reach: int("N", "clean executions per scenario in the reach phase", 1, 1000, 2),
    cpus: int("N", "simulated cpus = worker threads per execution", 2, 64, 2),
    ops: int("N", "system calls per execution", 10, 1e7, 200),
    depth: { ...int("D", "pct: the bug depth d", 1, MAX_DEPTH), defaultText: String(HUNT_DEPTH) },
    seed: int("N", "the first execution's seed", 0, SEED_MAX, 1),
    jobs: { ...int("N", "executions run at once, each on a pool of its own", 1, 64), defaultText: "the machine's cores" },
    shard: shardOption,
    only: texts("TEXT", "run only the mutants whose name contains TEXT"),
    list: flag("list the kernel's mutants (KEY:OPERATOR) and exit"),
    report: outputFile("write the JSON mutate report there"),
    json: flag("print the JSON report on stdout instead of the summary"),
  },
  async run(v, _pos, ctx) {
    if (v.list) {
      for (const mu of mutantsOf(v.kernel, manifest(PACKAGE_ROOT))) process.stdout.write(`${mu.name}  (line ${mu.site.line}: ${OPERATOR_MEANING[mu.op]})\n`);
      return EXIT.clean;
    }
    const out = await mutate({
      kernel: v.kernel,
      executions: v.executions,
      reachExecutions: v.reach,
      cpus: v.cpus,
      ops: v.ops,
      depth: v.depth,
      seed: v.seed,
      jobs: v.jobs ?? availableParallelism(),
      shard: v.shard,
      only: v.only,
      signal: ctx.signal,
      onMutant: v.json ? undefined : (r, done, of) => ctx.say(`[${done}/${of}] ${r.mutant}: ${r.status}${r.law ? ` by ${r.law}` : ""} (${r.executions} executions)`),
    });
    const failure = v.report ? writeJsonOrSave(v.report, out.report) : null;
    process.stdout.write((v.json ? JSON.stringify(out.report, null, 2) : mutateSummary(out.report)) + "\n");
    if (failure) ctx.say(describeWriteFailure(failure));
    return failure && out.exitCode === EXIT.clean ? EXIT.internal : out.exitCode;
  },
});
