/*
 * Drive a booted kernel call by call (as src/script/runner.ts does), then stop it and hand back
 * its image for the audits: after stop() nothing runs, so a test may corrupt the image through
 * the struct views and put it back (snapshot / restore) between laws.
 */
import { callNumber, type KernelModel, type Limits, type RawResult } from "../../src/kern/kernel.js";
import type { Image } from "../../src/shm/image.js";
import type { Handle } from "../../src/shm/table.js";
import { Machine } from "../../src/sched/machine.js";

export class Driver {
  private constructor(
    readonly model: KernelModel,
    readonly m: Machine,
  ) {}

  static async boot(model: KernelModel, cpus = 2, over: Partial<Limits> = {}): Promise<Driver> {
    const d = model.defaultLimits();
    const limits: Limits = { ...d, ...over, tables: { ...d.tables, ...(over.tables ?? {}) } };
    const m = new Machine({
      cpus,
      maxThreads: limits.tables.thread ?? 256,
      tables: model.tables(limits),
      modules: [model.module],
      strategy: { name: "free", seed: 1, chaos: 0 },
      clock: "logical",
      hz: 100,
      stopOnViolation: false,
    } as ConstructorParameters<typeof Machine>[0]);
    model.boot(m, limits);
    await m.start();
    return new Driver(model, m);
  }

  get image(): Image {
    return this.m.image;
  }

  /** The lowest-tid thread of pid that is not busy in a call. */
  private td(pid: number, busy: ReadonlySet<Handle>): Handle {
    const p = this.model.ps(this.m.image).find((e) => e.pid === pid);
    if (!p) throw new Error(`no pid ${pid}`);
    const t = [...p.threads].sort((a, b) => a.tid - b.tid).find((x) => !busy.has(x.td));
    if (!t) throw new Error(`pid ${pid} has no free thread`);
    return t.td;
  }

  private readonly pending = new Set<Handle>();

  /** Make a call as pid; wait until it returns or the machine is quiescent ("pending"). */
  async call(pid: number, call: string, args: Record<string, unknown> = {}): Promise<RawResult | "pending"> {
    const td = this.td(pid, this.pending);
    this.m.postCall(td, callNumber(this.model, call), this.model.calls[call].encode(args, { pid: (v) => v as number }));
    for (let i = 0; i < 400; i++) {
      const r = this.m.callResult(td);
      if (r) return r;
      if (await this.m.quiesce(5)) {
        const r2 = this.m.callResult(td);
        if (r2) return r2;
        this.pending.add(td);
        return "pending";
      }
    }
    this.pending.add(td);
    return "pending";
  }

  /** A call that must succeed; its ret (a new pid for fork-like calls). */
  async ok(pid: number, call: string, args: Record<string, unknown> = {}): Promise<number> {
    const r = await this.call(pid, call, args);
    if (r === "pending" || r.errno !== 0) throw new Error(`${call} by pid ${pid}: ${JSON.stringify(r)}`);
    return r.ret;
  }

  async quiesce(): Promise<void> {
    for (let i = 0; i < 400 && !(await this.m.quiesce(5)); i++);
  }

  /** Stop the cpus; returns the laws the cpus reported while running. */
  async stop(): Promise<string[]> {
    return (await this.m.stop()).flatMap((r) => r.violations.map((v) => v.law));
  }
}

/** A snapshot of the image words, to undo a corruption. */
export function snapshot(img: Image): () => void {
  const copy = img.i32.slice();
  return () => img.i32.set(copy);
}

/** A stopped machine with one process forked by init (`parent`) and its child, to corrupt by hand. */
export interface ParentAndChild {
  img: Image;
  parent: number;
  child: number;
  /** What `check` says of the image as `corrupt` leaves it; the image is then put back. */
  after<T>(corrupt: () => void, check: () => T): T;
  restore(): void;
}

export async function parentAndChild(model: KernelModel): Promise<ParentAndChild> {
  const d = await Driver.boot(model, 2);
  const parent = await d.ok(1, "fork");
  const child = await d.ok(parent, "fork");
  await d.quiesce();
  const bad = await d.stop();
  if (bad.length) throw new Error(`the clean machine broke ${bad.join(", ")}`);
  const restore = snapshot(d.image);
  const after = <T>(corrupt: () => void, check: () => T): T => {
    corrupt();
    try {
      return check();
    } finally {
      restore();
    }
  };
  return { img: d.image, parent, child, after, restore };
}
