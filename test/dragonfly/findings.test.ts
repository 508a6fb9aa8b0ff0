/*
 * The seed defects of docs/findings.md ("## DragonFly") stay reproduced: the model follows the
 * seed, so each findings script's expectations (written to show the defect) must hold.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";

const DIR = join(import.meta.dirname, "..", "..", "stress", "scripts", "dragonfly", "findings");

describe("dragonfly seed defects (docs/findings.md)", () => {
  for (const f of readdirSync(DIR).filter((n) => n.endsWith(".json")).sort()) {
    it(f, async () => {
      const out = await runScript(JSON.parse(readFileSync(join(DIR, f), "utf8")));
      expect(out.unmet).toEqual([]);
      expect(out.violations).toEqual([]);
    }, 30_000);
  }

  it("fdcopy failure leaves SIDL orphans on allproc (D1)", async () => {
    const out = await runScript(JSON.parse(readFileSync(join(DIR, "fdcopy-enomem-sidl-leak.json"), "utf8")));
    expect(out.ps.filter((p) => p.stat === "SIDL").map((p) => p.ppid)).toEqual([0, 0, 0]);
  }, 30_000);

  it("an RFNOWAIT|RFLINUXTHPN child stays a zombie of init (D2)", async () => {
    const out = await runScript(JSON.parse(readFileSync(join(DIR, "rfnowait-linuxthpn-zombie.json"), "utf8")));
    expect(out.ps.map((p) => [p.pid, p.ppid, p.stat])).toEqual([[1, 0, "SACTIVE"], [3, 1, "SZOMB"]]);
  }, 30_000);
});
