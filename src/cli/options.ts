/*
 * Command-line options as tables: each command declares its options once (src/cli/*.ts), and the
 * table gives the parser, the precise one-line errors and the command's --help. A new option is
 * one line in its command's table; a new command is one file and one line in src/cli.ts.
 *
 * Values are taken as written: `--cpus -3` is "-3" given to --cpus (then refused for what it is,
 * an integer out of range), never an ambiguity. Output files are checked before anything runs.
 */
import { resolve } from "node:path";
import { UsageError } from "../kern/kernel.js";
import { checkOutputPath } from "../report/report.js";

/**
 * An option: how it reads in --help, and how its text becomes a value (or a UsageError). V is the
 * option's value; R what one written value reads as (the same, except for a repeatable option,
 * whose value is the list of them).
 */
export interface Option<V, R = V> {
  /** The placeholder after the option in --help ("N", "FILE"); none for a flag. */
  readonly arg?: string;
  readonly help: string;
  /** The value when the option is not given. */
  readonly absent: V;
  /** How --help states the default, when there is one worth stating. */
  readonly defaultText?: string;
  /** May be given more than once; the value is then the list. */
  readonly repeatable?: boolean;
  /** A file the command writes: checked before the command runs. */
  readonly output?: boolean;
  /** Left out of --help (harness self-tests). */
  readonly hidden?: boolean;
  /** Turns one written value into the option's value; throws UsageError saying what is allowed. */
  readonly read: (text: string, flag: string) => R;
}

export type OptionTable = Record<string, Option<unknown, unknown>>;
export type Values<T extends OptionTable> = { [K in keyof T]: T[K]["absent"] };

/** A positional argument: its name in --help and the error when it is missing. */
export interface Positional {
  readonly name: string;
  readonly missing: string;
  /** The last positional only: it takes every remaining argument (one at least). */
  readonly rest?: boolean;
}

export interface CommandContext {
  /** Aborted on SIGINT or SIGTERM: the command stops, still writes what it has, exits 130. */
  readonly signal: AbortSignal;
  /** One line on stderr for the user (progress, warnings), prefixed with the command. */
  readonly say: (line: string) => void;
}

export interface Command<T extends OptionTable = OptionTable> {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Paragraph(s) after the usage line of `forkstorm COMMAND --help`. */
  readonly about?: string;
  readonly positionals?: readonly Positional[];
  readonly options: T;
  /** Does the command stop cleanly on a signal (else the signal ends the process at once)? */
  readonly interruptible?: boolean;
  readonly run: (values: Values<T>, positionals: string[], ctx: CommandContext) => Promise<number>;
}

/** Any command, whatever its table (a command's run reads its own table's values). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = Command<any>;

/** Declare a command with its option values typed from its table. */
export function command<T extends OptionTable>(c: Command<T>): Command<T> {
  return c;
}

// ---- option constructors ---------------------------------------------------------------------

export function flag(help: string): Option<boolean> {
  return { help, absent: false, read: (_t, f) => usage(`${f} takes no value`) };
}

export function int(arg: string, help: string, min: number, max: number): Option<number | undefined>;
export function int(arg: string, help: string, min: number, max: number, dflt: number): Option<number>;
export function int(arg: string, help: string, min: number, max: number, dflt?: number): Option<number | undefined> {
  return numeric("an integer", arg, help, min, max, dflt);
}

export function num(arg: string, help: string, min: number, max: number): Option<number | undefined>;
export function num(arg: string, help: string, min: number, max: number, dflt: number): Option<number>;
export function num(arg: string, help: string, min: number, max: number, dflt?: number): Option<number | undefined> {
  return numeric("a number", arg, help, min, max, dflt);
}

/** An integer or number in [min, max]; the error says which, and the range. */
function numeric(kind: "an integer" | "a number", arg: string, help: string, min: number, max: number, dflt?: number): Option<number | undefined> {
  const range = max >= Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  const valid = kind === "an integer" ? (t: string) => /^[+-]?\d+$/.test(t.trim()) && Number.isSafeInteger(Number(t)) : (t: string) => t.trim() !== "" && Number.isFinite(Number(t));
  return {
    arg,
    help,
    absent: dflt,
    defaultText: dflt === undefined ? undefined : String(dflt),
    read: (t, f) => (valid(t) && Number(t) >= min && Number(t) <= max ? Number(t) : usage(`${f} must be ${kind} ${range}, got "${t}"`)),
  };
}

/** One of a fixed set of words; absent, the first of them unless `dflt` says otherwise. */
export function oneOf<const W extends string>(words: readonly W[], help: string, dflt: W = words[0]): Option<W> {
  const list = words.length === 2 ? words.join(" or ") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
  return {
    arg: words.join("|"),
    help,
    absent: dflt,
    defaultText: dflt,
    read: (t, f) => (words.includes(t as W) ? (t as W) : usage(`${f} must be ${list}, got "${t}"`)),
  };
}

/** A comma-separated subset of a fixed set of words, or "none"; absent: undefined (the library's default, all of them). */
export function subsetOf<const W extends string>(words: readonly W[], help: string): Option<readonly W[] | undefined> {
  return {
    arg: `${words.join(",")}|none`,
    help,
    absent: undefined,
    defaultText: words.join(","),
    read: (t, f) => {
      if (t === "none") return [];
      const got = t.split(",");
      for (const w of got) if (!words.includes(w as W)) usage(`${f} takes a comma-separated list of ${words.join(", ")}, or none; got "${w}"`);
      return words.filter((w) => got.includes(w));
    },
  };
}

export function text(arg: string, help: string, defaultText?: string): Option<string | undefined> {
  return { arg, help, absent: undefined, defaultText, read: (t, f) => (t === "" ? usage(`${f} needs a non-empty ${arg}`) : t) };
}

/** A repeatable text option: the list of its values, in order. */
export function texts(arg: string, help: string, defaultText?: string): Option<string[], string> {
  return { arg, help, absent: [], defaultText, repeatable: true, read: (t, f) => (t === "" ? usage(`${f} needs a non-empty ${arg}`) : t) };
}

/** A file the command writes. */
export function outputFile(help: string): Option<string | undefined> {
  return { ...text("FILE", help), output: true };
}

export function hidden<V, R>(o: Option<V, R>): Option<V, R> {
  return { ...o, hidden: true };
}

function usage(message: string): never {
  throw new UsageError(message);
}

// ---- parsing ------------------------------------------------------------------------------------

export type Parsed<T extends OptionTable> = { help: true } | { help: false; values: Values<T>; positionals: string[] };

/**
 * Read argv against a command's table: `--name value`, `--name=value`, flags, `--` before
 * positionals that start with a dash, `-h`/`--help` anywhere. Then check the output files.
 */
export function parseCommand<T extends OptionTable>(c: Command<T>, argv: readonly string[]): Parsed<T> {
  if (argv.includes("--help") || argv.includes("-h")) return { help: true };
  const given = new Map<string, unknown>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--")) {
      if (a.startsWith("-") && a !== "-") usage(`unknown option ${a} (forkstorm ${c.name} --help lists the options)`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const o = c.options[name];
    if (!o) usage(`unknown option --${name} (forkstorm ${c.name} --help lists the options)`);
    const f = `--${name}`;
    let value: unknown;
    if (o.arg === undefined) {
      value = eq < 0 ? true : o.read(a.slice(eq + 1), f);
    } else {
      const t = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (t === undefined) usage(`${f} needs a value (${o.arg})`);
      if (eq < 0 && t.startsWith("--") && t.slice(2).split("=")[0] in c.options) usage(`${f} needs a value (${o.arg}) before ${t}`);
      value = o.read(t, f);
    }
    if (o.repeatable) given.set(name, [...((given.get(name) as unknown[]) ?? []), value]);
    else if (given.has(name)) usage(`${f} is given twice`);
    else given.set(name, value);
  }
  const wanted = c.positionals ?? [];
  if (positionals.length > wanted.length && !wanted.at(-1)?.rest) usage(`unexpected argument "${positionals[wanted.length]}"`);
  for (let i = positionals.length; i < wanted.length; i++) usage(wanted[i].missing);
  const values = Object.fromEntries(Object.entries(c.options).map(([k, o]) => [k, given.has(k) ? given.get(k) : o.absent])) as Values<T>;
  checkOutputs(c.options, values);
  return { help: false, values, positionals };
}

/** Every output file writable where it is going, and no two options writing the same file. */
function checkOutputs(options: OptionTable, values: Record<string, unknown>): void {
  const seen = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) {
    const file = values[name];
    if (!o.output || typeof file !== "string") continue;
    const problem = checkOutputPath(file);
    if (problem) usage(`--${name} ${file}: ${problem}`);
    const other = seen.get(resolve(file));
    if (other) usage(`--${other} and --${name} both name ${file}: give each its own file`);
    seen.set(resolve(file), name);
  }
}

// ---- help ---------------------------------------------------------------------------------------

/** Where option descriptions start in --help; a longer option name gets a line of its own. */
const HELP_COLUMN = 32;

export function commandHelp(c: Command): string {
  const pos = (c.positionals ?? []).map((p) => ` ${p.name}`).join("");
  const lines = [`usage: forkstorm ${c.name}${pos}${Object.keys(c.options).length ? " [options]" : ""}`, "", c.summary];
  if (c.about) lines.push("", c.about);
  const shown = Object.entries(c.options).filter(([, o]) => !o.hidden);
  const rows: [string, string][] = shown.map(([name, o]) => [
    `  --${name}${o.arg ? ` ${o.arg}` : ""}`,
    `${o.help}${o.defaultText !== undefined ? `; default ${o.defaultText}` : ""}${o.repeatable ? " (repeatable)" : ""}`,
  ]);
  rows.push(["  -h, --help", "this help"]);
  const width = Math.min(HELP_COLUMN, Math.max(...rows.map(([head]) => head.length)) + 2);
  lines.push("", "options:");
  for (const [head, tail] of rows) lines.push(head.length + 2 > width ? `${head}\n${" ".repeat(width)}${tail}` : `${head.padEnd(width)}${tail}`);
  return lines.join("\n");
}
