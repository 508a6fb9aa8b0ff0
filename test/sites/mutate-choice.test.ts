/*
 * Which scenarios `forkstorm mutate` runs a mutant on (src/run/mutate.ts scenariosFor): the two
 * reaching its site most concurrently, and a third where the site's function ran most
 * concurrently -- the nearest sign that the site's partner accesses run there -- when the site's
 * own count, a global lock's or a re-check's that no clean run fired, points elsewhere; and first
 * of all the scenarios built for the site's function (their declared targets).
 */
import { describe, expect, it } from "vitest";
import { scenarioOf, scenariosFor, scenariosTargeting } from "../../src/run/mutate.js";

type Per = Record<string, [number, number]>;
const reach = (sites: Record<string, Per>) => ({
  bySite: new Map(Object.entries(sites).map(([k, per]) => [k, new Map(Object.entries(per))])),
});
const SITE = "dragonfly/kern_exit.ts:kern_wait:recheck#1";
const SIBLING = "dragonfly/kern_exit.ts:kern_wait:PSTALL#1";
const OTHER_FUNCTION = "dragonfly/kern_exit.ts:exit1:PSTALL#1";

describe("mutate: the scenarios a mutant runs on", () => {
  it("the site's most concurrent two, the function's most concurrent scenario third", () => {
    const r = reach({
      [SITE]: { hold: [90, 5], fork: [80, 3], waits: [10, 0], quiet: [5, 0] },
      [SIBLING]: { hold: [90, 0], fork: [80, 0], waits: [10, 20], quiet: [5, 0] },
      [OTHER_FUNCTION]: { quiet: [50, 40] },
    });
    expect(scenariosFor(SITE, r)).toEqual(["hold", "fork", "waits"]);
  });

  it("the function's concurrency breaks the site's ties before the hits do", () => {
    const r = reach({
      [SITE]: { hold: [90, 3], fork: [80, 0], waits: [10, 0] },
      [SIBLING]: { fork: [80, 0], waits: [10, 2] },
    });
    expect(scenariosFor(SITE, r)).toEqual(["hold", "waits"]);
  });

  it("two when the function's best is among them, or when the function never ran concurrently", () => {
    expect(scenariosFor(SITE, reach({ [SITE]: { a: [5, 4], b: [9, 1], c: [50, 0] } }))).toEqual(["a", "b"]);
    expect(scenariosFor(SITE, reach({ [SITE]: { a: [5, 0], b: [9, 0], c: [50, 0] } }))).toEqual(["c", "b"]);
    expect(scenariosFor("dragonfly/kern_exit.ts:kern_wait:retest#9", reach({ [SITE]: { a: [5, 4] } }))).toEqual([]);
  });

  it("a scenario built for the site's function comes first, if it reached the site", () => {
    const r = reach({ [SITE]: { hold: [90, 5], fork: [80, 3], ps: [4, 0] } });
    expect(scenariosFor(SITE, r, ["ps"])).toEqual(["ps", "hold", "fork"]);
    expect(scenariosFor(SITE, r, ["fork"])).toEqual(["fork", "hold"]);
    expect(scenariosFor(SITE, r, ["never-reached"])).toEqual(["hold", "fork"]);
  });

  it("every other execution runs on a scenario built for the function; without one, round robin", () => {
    const run = (scenarios: string[], built: number) => Array.from({ length: 6 }, (_, e) => scenarioOf(e, scenarios, built));
    expect(run(["ps", "hold", "fork"], 1)).toEqual(["ps", "hold", "ps", "fork", "ps", "hold"]);
    expect(run(["hold", "fork", "waits"], 0)).toEqual(["hold", "fork", "waits", "hold", "fork", "waits"]);
    expect(run(["ps"], 1)).toEqual(["ps", "ps", "ps", "ps", "ps", "ps"]);
  });

  it("the scenarios built for a function are those whose targets name it", () => {
    expect(scenariosTargeting("dragonfly", "dragonfly/kern_fork.ts:sys_vfork:PHOLD#1")).toEqual(["ps-wait"]);
    expect(scenariosTargeting("netbsd", "netbsd/kern_proc.ts:sigactsinit:mutex_enter#1")).toEqual(["sig-fork"]);
    expect(scenariosTargeting("dragonfly", "dragonfly/kern_fork.ts:fork1:lockmgr#1")).toEqual([]);
    // ... or name the one site: fork1's link under the reaper's token, which only RFNOWAIT makes another process's.
    expect(scenariosTargeting("dragonfly", "dragonfly/kern_fork.ts:fork1:lwkt_gettoken#4")).toEqual(["rfork-flags"]);
    expect(scenariosTargeting("dragonfly", "dragonfly/kern_fork.ts:fork1:lwkt_gettoken#3")).toEqual([]);
  });
});
