/*
 * Input files of the command line: read and parsed, or one usage error saying why not.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../kern/kernel.js";

/** The JSON in `file` (`-` is standard input). */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}
