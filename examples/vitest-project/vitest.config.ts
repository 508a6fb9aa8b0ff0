import { defineConfig } from "vitest/config";

// Each test starts simulated cpus as worker threads: give a run time on a busy CI machine.
export default defineConfig({
  test: {
    testTimeout: 120_000,
  },
});
