/*
 * lwp_fork's tid allocation (000:809-821): one past p_lasttid, skipping tids in use, wrapping
 * from INT_MAX back to 1.
 */
import { describe, expect, it } from "vitest";
import { dragonfly } from "../../src/kern/dragonfly/model.js";
import { PROC } from "../../src/kern/dragonfly/structs.js";
import { procByPid } from "../../src/kern/dragonfly/walk.js";
import { Driver } from "../invariants/harness.js";

describe("dragonfly tids", () => {
  it("wrap past INT_MAX to the lowest free tid", async () => {
    const d = await Driver.boot(dragonfly);
    try {
      const pid = await d.ok(1, "fork");
      expect(await d.ok(pid, "lwp_create")).toBe(2);
      // Put the process at the end of the tid space, as after 2^31 lwp creations.
      const p = d.image.table(PROC).view(procByPid(d.image, pid));
      p.p_lasttid = 0x7fffffff;
      // The next tid wraps to 1, which the first lwp holds, and 2, which the second holds: 3.
      expect(await d.ok(pid, "lwp_create")).toBe(3);
      expect(p.p_lasttid).toBe(3);
      const tids = dragonfly.ps(d.image).find((e) => e.pid === pid)!.threads.map((t) => t.tid).sort((a, b) => a - b);
      expect(tids).toEqual([1, 2, 3]);
      expect(dragonfly.audit(d.image)).toEqual([]);
    } finally {
      expect(await d.stop()).toEqual([]);
    }
  });
});
