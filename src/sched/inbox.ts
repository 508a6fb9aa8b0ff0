/*
 * Each cpu's inbox: a ring of thread handles made runnable there by anyone (a wakeup on another
 * cpu, a fork placing its child, the orchestrator starting a program). Pushing rings the cpu's
 * doorbell (the model's IPI). A thread is in at most one inbox at a time -- it must be drained
 * before it can run and sleep again -- so a ring of maxThreads + 1 never overflows.
 */
import { globaldataDecl, runControlWords, THREAD } from "../shm/core.js";
import type { Image } from "../shm/image.js";
import { slotOf, type Handle } from "../shm/table.js";
import { schedstat } from "./schedstat.js";

export class Inboxes {
  private readonly i32: Int32Array;
  private readonly gd: { base: number; stride: number; lock: number; head: number; tail: number; ring: number; doorbell: number; ops: number; nrun: number; nextto: number; spin: number; idle: number };
  private readonly td: { base: number; stride: number; cpu: number };
  private readonly cap: number;
  readonly runnable: number;

  /** `self`: the cpu this worker runs (its readies are counted in schedstat), -1 on the orchestrator. */
  constructor(img: Image, maxThreads: number, private readonly self = -1) {
    this.i32 = img.i32;
    const g = img.table(globaldataDecl(maxThreads));
    const o = g.layout.offsets;
    this.gd = { base: g.base, stride: g.layout.stride, lock: o.gd_inq_lock, head: o.gd_inq_head, tail: o.gd_inq_tail, ring: o.gd_inq, doorbell: o.gd_doorbell, ops: o.gd_ops, nrun: o.gd_nrun, nextto: o.gd_nextto, spin: o.gd_spin, idle: o.gd_idle };
    const t = img.table(THREAD);
    this.td = { base: t.base, stride: t.layout.stride, cpu: t.layout.offsets.td_gd };
    this.cap = maxThreads + 1;
    this.runnable = runControlWords(img).rt_runnable;
  }

  doorbell(cpu: number): number {
    return this.gd.base + cpu * this.gd.stride + this.gd.doorbell;
  }

  /** gd_ops: system calls completed on the cpu (progress, for the watchdog). */
  opsWord(cpu: number): number {
    return this.gd.base + cpu * this.gd.stride + this.gd.ops;
  }

  /** The words a controlled strategy reads of a cpu (baton.ts). */
  words(cpu: number): { nrun: number; nextto: number; spin: number; inqHead: number; inqTail: number; idle: number } {
    const g = this.gd.base + cpu * this.gd.stride;
    return { nrun: g + this.gd.nrun, nextto: g + this.gd.nextto, spin: g + this.gd.spin, inqHead: g + this.gd.head, inqTail: g + this.gd.tail, idle: g + this.gd.idle };
  }

  cpuOf(h: Handle): number {
    return this.i32[this.td.base + slotOf(h) * this.td.stride + this.td.cpu];
  }

  /** lwkt_schedule from anywhere: count it runnable, queue it on its cpu, ring the doorbell. */
  ready(h: Handle): void {
    const cpu = this.cpuOf(h);
    const g = this.gd.base + cpu * this.gd.stride;
    const i32 = this.i32;
    Atomics.add(i32, this.runnable, 1);
    while (Atomics.compareExchange(i32, g + this.gd.lock, 0, 1) !== 0);
    const tail = i32[g + this.gd.tail];
    i32[g + this.gd.ring + tail] = h;
    i32[g + this.gd.tail] = (tail + 1) % this.cap;
    Atomics.store(i32, g + this.gd.lock, 0);
    Atomics.add(i32, g + this.gd.doorbell, 1);
    // Only a cpu that said it sleeps needs the futex wake (free.ts and baton.ts set gd_idle
    // before they sleep on the doorbell, then look at it once more).
    const woke = Atomics.load(i32, g + this.gd.idle) !== 0 ? Atomics.notify(i32, g + this.gd.doorbell) : 0;
    if (cpu === this.self) schedstat.readyLocal++;
    else if (this.self >= 0) {
      schedstat.readyRemote++;
      schedstat.doorbellWakes += woke;
    }
  }

  /** Take everything queued for this cpu. */
  drain(cpu: number, into: (h: Handle) => void): void {
    const g = this.gd.base + cpu * this.gd.stride;
    const i32 = this.i32;
    if (Atomics.load(i32, g + this.gd.head) === Atomics.load(i32, g + this.gd.tail)) return;
    while (Atomics.compareExchange(i32, g + this.gd.lock, 0, 1) !== 0);
    let head = i32[g + this.gd.head];
    const tail = i32[g + this.gd.tail];
    const got: Handle[] = [];
    while (head !== tail) {
      got.push(i32[g + this.gd.ring + head]);
      head = (head + 1) % this.cap;
    }
    i32[g + this.gd.head] = head;
    Atomics.store(i32, g + this.gd.lock, 0);
    for (const h of got) into(h);
  }

  ring(cpu: number): void {
    Atomics.add(this.i32, this.doorbell(cpu), 1);
    Atomics.notify(this.i32, this.doorbell(cpu));
  }
}
