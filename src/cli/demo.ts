/*
 * `forkstorm demo`: the primitives' contention demo.
 */
import { contentionDemo } from "../selftest/demo.js";
import { command } from "./options.js";

export const demoCommand = command({
  name: "demo",
  summary: "the primitives' contention demo: a race the harness catches",
  options: {},
  run: async () => contentionDemo((line) => process.stdout.write(line + "\n")),
});
