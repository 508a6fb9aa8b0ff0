/*
 * The package root, whether this code runs from src/ (vitest) or dist/src/ (the CLI, the
 * workers): worker modules and report paths are found from it.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_ROOT = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join("dist", "src")}`) ? join(here, "..", "..", "..") : join(here, "..", "..");
})();
