/*
 * Helpers for the NetBSD model's tests: run a JSON script from stress/scripts/netbsd, or drive a
 * booted machine directly (for calls a script cannot name yet, e.g. the child of a vfork that is
 * still blocked in its parent).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { callNumber, type Limits, type RawResult } from "../../src/kern/kernel.js";
import { netbsd } from "../../src/kern/netbsd/model.js";
import { GLOBALS, PROC, UAREA, UIDINFO } from "../../src/kern/netbsd/structs.js";
import { Machine, PACKAGE_ROOT } from "../../src/sched/machine.js";
// The runner from the build: its kernel registry imports models by a variable path, which
// vite resolves only against the compiled .js files.
import { runScript, type ScriptOutput } from "../../dist/src/script/runner.js";
import type { Handle } from "../../src/shm/table.js";

export const SCRIPTS = join(PACKAGE_ROOT, "stress", "scripts", "netbsd");

export function loadScript(name: string): unknown {
  return JSON.parse(readFileSync(join(SCRIPTS, name), "utf8"));
}

export function runNamed(name: string): Promise<ScriptOutput> {
  return runScript(loadScript(name));
}

export const laws = (o: ScriptOutput): string[] => o.violations.map((v) => v.law);

/** A booted NetBSD machine, 2 cpus, logical clock, driven call by call. */
export class Direct {
  private constructor(readonly m: Machine) {}

  static async boot(over: Partial<Limits> = {}): Promise<Direct> {
    const d = netbsd.defaultLimits();
    const limits: Limits = { ...d, ...over, tables: { ...d.tables, ...(over.tables ?? {}) } };
    const m = new Machine({
      cpus: 2,
      maxThreads: 64,
      tables: netbsd.tables(limits),
      modules: [netbsd.module],
      strategy: { name: "free", seed: 1, chaos: 0 },
      clock: "logical",
      hz: 100,
      stopOnViolation: false,
    } as ConstructorParameters<typeof Machine>[0]);
    netbsd.boot(m, limits);
    await m.start();
    return new Direct(m);
  }

  /** The first thread of process pid. */
  td(pid: number): Handle {
    const p = netbsd.ps(this.m.image).find((e) => e.pid === pid);
    if (!p || p.threads.length === 0) throw new Error(`pid ${pid} has no thread`);
    return [...p.threads].sort((a, b) => a.tid - b.tid)[0].td;
  }

  /** Post a call and let it run until it returns or everything is quiet. */
  post(pid: number, call: string, args: Record<string, unknown> = {}): Handle {
    const td = this.td(pid);
    this.m.postCall(td, callNumber(netbsd, call), netbsd.calls[call].encode(args, { pid: (v) => v as number }));
    return td;
  }

  async settle(td: Handle): Promise<RawResult | "pending"> {
    for (let i = 0; i < 400; i++) {
      const r = this.m.callResult(td);
      if (r) return r;
      if (await this.m.quiesce(5)) return this.m.callResult(td) ?? "pending";
    }
    return "pending";
  }

  async call(pid: number, call: string, args: Record<string, unknown> = {}): Promise<RawResult | "pending"> {
    return this.settle(this.post(pid, call, args));
  }

  stat(pid: number): string | undefined {
    return netbsd.ps(this.m.image).find((e) => e.pid === pid)?.stat;
  }

  /** Kernel counters the fork path must give back on failure. */
  counts(): { nprocs: number; procs: number; uareas: number; rootProcs: number } {
    const img = this.m.image;
    const g = img.table(GLOBALS);
    const ui = img.table(UIDINFO);
    let rootProcs = -1;
    for (let s = 0; s < ui.capacity; s++) {
      const h = ui.handleAt(s);
      if (h && ui.view(h).ui_uid === 0) rootProcs = ui.view(h).ui_proccnt;
    }
    return { nprocs: g.view(g.handleAt(0)).nprocs, procs: img.table(PROC).inUse(), uareas: img.table(UAREA).inUse(), rootProcs };
  }

  async stop(): Promise<string[]> {
    const r = await this.m.stop();
    return r.flatMap((c) => c.violations.map((v) => `${v.law}: ${v.message}`));
  }
}
