import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScript } from "../../dist/src/script/runner.js";

const DIR = join(import.meta.dirname, "..", "..", "stress", "scripts", "dragonfly");

describe("dragonfly example scripts", () => {
  for (const f of readdirSync(DIR).filter((n) => n.endsWith(".json")).sort()) {
    it(f, async () => {
      const out = await runScript(JSON.parse(readFileSync(join(DIR, f), "utf8")));
      expect(out.unmet).toEqual([]);
      expect(out.violations).toEqual([]);
      expect(out.exitCode).toBe(0);
    }, 30_000);
  }
});
