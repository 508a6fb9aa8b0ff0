#!/usr/bin/env node
/*
 * The `forkstorm` command (package.json bin): runs the compiled command line in dist/. It is
 * plain JavaScript, not built, so that the command exists right after a clone and, if the
 * TypeScript has not been built yet, says how instead of "forkstorm: not found".
 */
import { existsSync } from "node:fs";

const cli = new URL("../dist/src/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("forkstorm: not built yet: run `npm run build` in the package directory (npm ci and npm install build it)\n");
  process.exit(4);
}
await import(cli.href);
