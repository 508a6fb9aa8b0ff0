/*
 * Interlock sites: what counts as one, and each kind's "forgot it" mutant (issue 16, items 5-6).
 *
 * A site is a call, in a kernel model, of a primitive from src/sync (found by src/sites/enumerate.ts
 * at build time), or a re-check of state after a blocking point. This table says, for every
 * primitive the kernels call, what role the call plays and which mutant operators apply to it.
 * The build step (instrument.ts) routes each such call through the wrapper of the same name in
 * runtime.ts; the enumerator, the runtime and the reports all read this one table.
 */

/** What a site does, for coverage and for the report's grouping. */
export type SiteKind = "lock" | "release" | "hold" | "unhold" | "atomic" | "interlock" | "sleep" | "wakeup" | "stall" | "recheck" | "retest";

/** A mutant operator: the one way a kernel engineer forgets the interlock at that site. */
export type Operator = "skip-lock" | "skip-hold" | "split-atomic" | "skip-interlock" | "drop-wakeup" | "skip-wait" | "skip-recheck";

export const OPERATORS: readonly Operator[] = ["skip-lock", "skip-hold", "split-atomic", "skip-interlock", "drop-wakeup", "skip-wait", "skip-recheck"];

export const OPERATOR_MEANING: Readonly<Record<Operator, string>> = {
  "skip-lock": "the acquisition is skipped, and so is the release that pairs with it",
  "skip-hold": "the reference is not taken (a PHOLD's or LWPHOLD's paired release by the same thread is skipped too; a refcount_acquire's release is made: the count is one short)",
  "split-atomic": "the atomic is a load, a scheduling point and a store",
  "skip-interlock": "no early queueing: the sleep that follows queues itself late",
  "drop-wakeup": "the wakeup is not issued",
  "skip-wait": "the holders are not waited for",
  "skip-recheck": "the re-check reads as \"nothing changed\"",
};

export interface PrimitiveRole {
  readonly kind: SiteKind;
  readonly operators: readonly Operator[];
}

const role = (kind: SiteKind, ...operators: Operator[]): PrimitiveRole => ({ kind, operators });

/**
 * Every src/sync primitive a kernel may call, by its exported name. lockmgr is an acquisition or a
 * release by its flags: the enumerator reads LK_RELEASE in the call's text (LOCKMGR_RELEASE).
 * Compound waits are mutated by their effect: PSTALL's wait is skipped, PHOLDZOMB's failure is
 * ignored through the re-check on its result (`if (yield* PHOLDZOMB(..)) continue`).
 */
export const PRIMITIVES: Readonly<Record<string, PrimitiveRole>> = {
  lwkt_gettoken: role("lock", "skip-lock"),
  lwkt_gettoken_shared: role("lock", "skip-lock"),
  lwkt_reltoken: role("release"),
  lockmgr: role("lock", "skip-lock"),
  spin_lock: role("lock", "skip-lock"),
  spin_unlock: role("release"),
  mutex_enter: role("lock", "skip-lock"),
  mutex_exit: role("release"),
  PHOLD: role("hold", "skip-hold", "split-atomic"),
  PRELE: role("unhold", "split-atomic"),
  LWPHOLD: role("hold", "skip-hold", "split-atomic"),
  LWPRELE: role("unhold", "split-atomic"),
  refcount_acquire: role("hold", "skip-hold", "split-atomic"),
  refcount_release: role("unhold", "split-atomic"),
  PHOLDZOMB: role("hold"),
  PRELEZOMB: role("unhold"),
  PSTALL: role("stall", "skip-wait"),
  atomic_add_int: role("atomic", "split-atomic"),
  atomic_fetchadd_int: role("atomic", "split-atomic"),
  atomic_set_int: role("atomic", "split-atomic"),
  atomic_clear_int: role("atomic", "split-atomic"),
  atomic_cmpset_int: role("atomic", "split-atomic"),
  atomic_swap_int: role("atomic", "split-atomic"),
  tsleep_interlock: role("interlock", "skip-interlock"),
  tsleep: role("sleep"),
  wakeup: role("wakeup", "drop-wakeup"),
  wakeup_one: role("wakeup", "drop-wakeup"),
  cv_broadcast: role("wakeup", "drop-wakeup"),
  cv_signal: role("wakeup", "drop-wakeup"),
};

/** A lockmgr call whose flags name LK_RELEASE is a release, not an acquisition. */
export const LOCKMGR_RELEASE = "LK_RELEASE";

/** The re-check kinds, produced by the enumerator's structural rules rather than by a primitive. */
export const RECHECK_ROLE = role("recheck", "skip-recheck");
export const REVALIDATE_ROLE = role("recheck", "skip-recheck");
export const RETEST_ROLE = role("retest", "skip-recheck");

/** Calls that put a thread to sleep: a `while` around one re-tests its predicate after waking. */
export const SLEEP_CALLS: ReadonlySet<string> = new Set(["tsleep", "cv_wait", "cv_wait_sig", "cv_timedwait"]);

/** The fail-point switch of the bug catalogue: an `if (bug(..))` is a catalogued variant, not a re-check. */
export const FAILPOINT_CALL = "bug";

/** Capacity of the per-cpu counters (the build refuses more). */
export const MAX_SITES = 2048;
export const MAX_FUNCTIONS = 1024;

/** The wrappers' names in instrumented code: `__S_` + the runtime export. */
export const WRAPPER_PREFIX = "__S_";
