/*
 * A simulated kernel thread on its cpu: the generator that is its kernel stack, its token stack,
 * the locks it holds, and what the scheduler needs to resume it. The thread record in the image
 * (struct thread) holds what other cpus must see: sleep-queue state, wait channel, timeout.
 */
import type { Handle } from "../shm/table.js";
import type { Addr } from "../shm/table.js";
import { tokRef, type HeldLock, type KGen, type SyncThread, type TokRef } from "../sync/seam.js";

export class Thread implements SyncThread {
  readonly toks: TokRef[] = [tokRef()];
  ntoks = 0;
  readonly held: HeldLock[] = [];
  waitfor: Addr = 0;
  sleptAt: Error | null = null;
  sleepWmesg: string | null = null;
  owes: Addr = 0;
  sigcheck: (() => number) | null = null;
  /** Value handed to the generator when it resumes. */
  resume = 0;
  /** Switched out: every token must be re-taken before it runs (lwkt_getalltokens). */
  needTokens = false;
  /** Parked with a timeout (counted in rt_timed). */
  timed = false;
  /** When it last parked on its cpu (the cpu's count of parks), for hang dumps' order. */
  parkedAt = 0;
  /** src/sites/runtime.ts keeps the thread's open interlock regions here (null until it needs them). */
  sites: object | null = null;
  /** For reports: the process and the syscall in progress. */
  pid = 0;
  syscall = "";

  constructor(
    readonly h: Handle,
    readonly cpu: number,
    readonly program: string,
    public gen: KGen,
  ) {}
}
