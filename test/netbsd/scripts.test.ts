/* Every example script in stress/scripts/netbsd meets its expectations with no violation. */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { laws, runNamed, SCRIPTS } from "./helpers.js";

describe("stress/scripts/netbsd examples", () => {
  const files = readdirSync(SCRIPTS).filter((f) => f.endsWith(".json"));
  it("there are at least six", () => expect(files.length).toBeGreaterThanOrEqual(6));
  for (const f of files) {
    it(f, async () => {
      const o = await runNamed(f);
      expect(o.unmet).toEqual([]);
      expect(laws(o)).toEqual([]);
      expect(o.exitCode).toBe(0);
    }, 30_000);
  }
});
