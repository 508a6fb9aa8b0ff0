/*
 * Files of the command line: inputs read and parsed, or one usage error saying why not; the
 * JUnit report written after a run.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../kern/kernel.js";
import { describeWriteFailure, writeTextOrSave } from "../report/report.js";
import { EXIT } from "./exit.js";

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

/**
 * Write --junit's file once the command has its results (`exit` its exit code so far). A file
 * that cannot be written is said on stderr -- the results are on stdout all the same -- and makes
 * a clean exit 4.
 */
export function writeJunit(file: string | undefined, xml: () => string, exit: number, say: (line: string) => void): number {
  if (file === undefined) return exit;
  const failure = writeTextOrSave(file, xml());
  if (!failure) return exit;
  say(describeWriteFailure(failure));
  return exit === EXIT.clean ? EXIT.internal : exit;
}
