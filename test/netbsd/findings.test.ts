/*
 * NetBSD defects the faithful p_opptr and p_nstopchild expose (issue 10 item 6, docs/findings.md
 * N3 and N4): their scripts keep reproducing them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";
import { allproc, procView } from "../../src/kern/netbsd/walk.js";
import { Direct } from "./helpers.js";

const DIR = join(import.meta.dirname, "..", "..", "stress", "scripts", "netbsd", "findings");
const run = (f: string) => runScript(JSON.parse(readFileSync(join(DIR, f), "utf8")));

describe("netbsd defects (docs/findings.md)", () => {
  it("N3: exit1 forgets p_opptr on allproc only; the tracer's reap hands a traced zombie to its freed original parent", async () => {
    const out = await run("traced-zombie-stale-opptr.json");
    expect(out.unmet).toEqual([]);
    const uaf = out.violations[0];
    expect(uaf?.law).toBe("use-after-free");
    expect(uaf?.syscall).toBe("wait");
    expect(uaf?.message).toMatch(/^use-after-free: proc\[\d+\]/);
  }, 30_000);

  it("N4: a child reparented to init while SDEAD leaves its count with the old parent; init's goes below zero", async () => {
    const out = await run("nocldwait-nstopchild-drift.json");
    expect(out.unmet).toEqual([]);
    expect(out.violations.map((v) => [v.law, v.message])).toEqual([
      ["nstopchild", expect.stringMatching(/pid 2 has p_nstopchild 1 but 0/)],
      ["nstopchild", expect.stringMatching(/pid 1 has p_nstopchild -1 but 0/)],
    ]);
  }, 30_000);
});

describe("netbsd wait as find_stopped_child has it", () => {
  it("a zombie moves to the front of its parent's children; with p_nstopchild 0 the scan stops at the first live child (kern_exit.c 497-501, 790-793)", async () => {
    const d = await Direct.boot();
    try {
      expect(await d.call(1, "fork")).toMatchObject({ ret: 2 });
      expect(await d.call(2, "fork")).toMatchObject({ ret: 3 }); // b: will be a zombie
      expect(await d.call(2, "fork")).toMatchObject({ ret: 4 }); // c: in front of b
      await d.call(3, "exit");
      const img = d.m.image;
      const sh = procView(img, allproc(img).find((h) => procView(img, h).p_pid === 2)!);
      expect(procView(img, sh.p_children).p_pid).toBe(3); // the zombie went to the front
      expect(await d.call(2, "fork")).toMatchObject({ ret: 5 }); // e: live, now in front of b
      expect(sh.p_nstopchild).toBe(1);
      sh.p_nstopchild = 0; // as N4's drift leaves a count
      expect(await d.call(2, "wait", { pid: -1, options: ["WNOHANG"] })).toMatchObject({ ret: 0, errno: 0 }); // b not seen behind e
      sh.p_nstopchild = 1;
      expect(await d.call(2, "wait", { pid: -1, options: ["WNOHANG"] })).toMatchObject({ ret: 3, errno: 0 });
    } finally {
      await d.stop();
    }
  }, 60_000);
});
