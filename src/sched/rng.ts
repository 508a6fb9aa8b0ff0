/*
 * A small seeded PRNG (SplitMix32 seeding an xorshift128+ style generator would be overkill here:
 * mulberry32 is enough for schedule noise and program choices, and is fully determined by its seed).
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0;
  }
  /** Uniform in [0, 2^32). */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Points until the next event of probability p per point (geometric, at least 1). */
  gap(p: number): number {
    if (p <= 0) return Number.MAX_SAFE_INTEGER;
    if (p >= 1) return 1;
    return 1 + Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }
}

/** Derive an independent seed for a sub-stream (cpu i, thread j...). */
export function subseed(seed: number, ...path: number[]): number {
  let h = seed | 0;
  for (const x of path) {
    h = Math.imul(h ^ (x + 0x9e3779b9), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h | 0;
}
