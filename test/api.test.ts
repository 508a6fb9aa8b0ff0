/* The library API as a package user imports it: `import { ... } from "forkstorm"`. */
import { describe, expect, it } from "vitest";

describe("library API", () => {
  it("exports stress, hunt, replay, runScript and listCatalog", async () => {
    const api = await import("forkstorm");
    for (const f of ["stress", "hunt", "replay", "runScript", "listCatalog"]) expect(typeof (api as Record<string, unknown>)[f]).toBe("function");
    const cat = api.listCatalog();
    expect(cat.kernels.map((k) => k.name)).toEqual(["dragonfly", "netbsd"]);
    expect(cat.bugs.filter((b) => b.kernel === "dragonfly").length).toBeGreaterThanOrEqual(12);
    expect(cat.bugs.filter((b) => b.kernel === "netbsd").length).toBeGreaterThanOrEqual(6);
  });

  it("runs a script and returns the script's JSON", async () => {
    const { runScript } = await import("forkstorm");
    const out = await runScript({ kernel: "netbsd", steps: [{ as: "init", call: "fork", name: "sh", expect: { errno: null } }, { as: "sh", call: "getppid", expect: { ret: 1 } }] });
    expect(out.exitCode).toBe(0);
    expect(out.ps.find((p) => p.name === "sh")?.ppid).toBe(1);
  });
});
