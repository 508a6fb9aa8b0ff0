import { defineConfig } from "vitest/config";

// Concurrency tests start real worker threads (one per simulated cpu) and contend for 2 cores:
// test files run one at a time so their timing bounds hold on a busy machine.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
