/*
 * The build's last step (`npm run build` runs it after tsc): route every interlock site of the
 * compiled kernel models through its wrapper in runtime.ts, and write the manifest.
 *
 * For each dist/src/kern/{dragonfly,netbsd}/*.js, the sites are found in the .ts source (for its
 * lines) and in the .js (for the edits), and must agree one for one. The edits stay on their
 * lines, so stack traces and source-map lines still point at the right source lines:
 *
 *   lwkt_gettoken(tok)   -> __S_lwkt_gettoken(17, tok)
 *   if (C)               -> if (__S_recheck(42, C))        (or __S_revalidate)
 *   while (C) body       -> for (let __n43 = 0; __S_retest(43, __n43++, C);) body
 *   function* f(..) {    -> function* f(..) {__S_fn(5);
 *
 * and one import of the wrappers is appended to the file (imports are hoisted). The source in
 * src/ is never touched.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KERNELS } from "../kern/registry.js";
import { PACKAGE_ROOT } from "../sched/machine.js";
import { enumerate, type FileSites, type FoundSite } from "./enumerate.js";
import { MAX_FUNCTIONS, MAX_SITES, WRAPPER_PREFIX } from "./kinds.js";
import { MANIFEST_FILE, type Manifest } from "./manifest.js";

/** Marks a file already instrumented (a second run of this step leaves it alone). */
const MARK = "// forkstorm: interlock sites instrumented (src/sites/instrument.ts)";

interface Edit {
  pos: number;
  end: number;
  text: string;
}

function siteEdits(s: FoundSite, id: number): Edit[] {
  const at = s.at;
  if ("argsPos" in at) {
    return [
      { pos: at.start, end: at.end, text: WRAPPER_PREFIX + s.wrapper },
      { pos: at.argsPos, end: at.argsPos, text: at.hasArgs ? `${id}, ` : `${id}` },
    ];
  }
  if (s.wrapper === "retest") {
    const n = `__n${id}`;
    return [
      { pos: at.stmtStart, end: at.testStart, text: `for (let ${n} = 0; ${WRAPPER_PREFIX}retest(${id}, ${n}++, ` },
      { pos: at.testEnd, end: at.testEnd, text: ");" },
    ];
  }
  return [
    { pos: at.testStart, end: at.testStart, text: `${WRAPPER_PREFIX}${s.wrapper}(${id}, ` },
    { pos: at.testEnd, end: at.testEnd, text: ")" },
  ];
}

/** Apply edits from the end backwards; at one position a replacement goes before insertions, inner insertions before outer. */
function applyEdits(text: string, edits: Edit[]): string {
  const order = edits.map((e, i) => ({ e, i }));
  order.sort((a, b) => b.e.pos - a.e.pos || b.e.end - b.e.pos - (a.e.end - a.e.pos) || b.i - a.i);
  let out = text;
  for (const { e } of order) out = out.slice(0, e.pos) + e.text + out.slice(e.end);
  return out;
}

const shape = (f: FileSites) => [...f.sites.map((s) => `${s.fn}:${s.label}`), ...f.functions.map((fn) => `function ${fn.name}`)];

function instrumentKernel(kernel: (typeof KERNELS)[number], m: Manifest): void {
  const distDir = join(PACKAGE_ROOT, "dist", "src", "kern", kernel);
  const srcDir = join(PACKAGE_ROOT, "src", "kern", kernel);
  for (const js of readdirSync(distDir).filter((f) => f.endsWith(".js")).sort()) {
    const base = js.replace(/\.js$/, "");
    const tsFile = join(srcDir, `${base}.ts`);
    if (!existsSync(tsFile)) continue;
    const jsFile = join(distDir, js);
    const jsText = readFileSync(jsFile, "utf8");
    if (jsText.includes(MARK)) throw new Error(`${jsFile} is instrumented already: run tsc first (npm run build does both)`);
    const fromTs = enumerate(tsFile, readFileSync(tsFile, "utf8"));
    const fromJs = enumerate(jsFile, jsText);
    const a = shape(fromTs).join("\n"), b = shape(fromJs).join("\n");
    if (a !== b) throw new Error(`${tsFile} and its compiled ${jsFile} disagree on their interlock sites: rebuild`);
    const file = `src/kern/${kernel}/${base}.ts`;
    const ordinals = new Map<string, number>();
    const edits: Edit[] = [];
    const used = new Set<string>();
    fromJs.sites.forEach((s, i) => {
      const id = m.sites.length;
      const what = `${s.fn}:${s.label}`;
      const n = (ordinals.get(what) ?? 0) + 1;
      ordinals.set(what, n);
      m.sites.push({ id, key: `${kernel}/${base}.ts:${what}#${n}`, kernel, file, line: fromTs.sites[i].line, fn: s.fn, what: s.label, kind: s.role.kind, operators: [...s.role.operators] });
      edits.push(...siteEdits(s, id));
      used.add(s.wrapper);
    });
    fromJs.functions.forEach((f, i) => {
      const id = m.functions.length;
      m.functions.push({ id, key: `${kernel}/${base}.ts:${f.name}`, kernel, file, line: fromTs.functions[i].line, name: f.name });
      edits.push({ pos: f.bodyPos, end: f.bodyPos, text: `${WRAPPER_PREFIX}fn(${id});` });
      used.add("fn");
    });
    if (edits.length === 0) continue;
    const names = [...used].sort().map((w) => `${w} as ${WRAPPER_PREFIX}${w}`);
    writeFileSync(jsFile, `${applyEdits(jsText, edits)}\n${MARK}\nimport { ${names.join(", ")} } from "../../sites/runtime.js";\n`);
  }
}

function main(): void {
  const m: Manifest = { sites: [], functions: [] };
  for (const k of KERNELS) instrumentKernel(k, m);
  if (m.sites.length > MAX_SITES || m.functions.length > MAX_FUNCTIONS) throw new Error(`${m.sites.length} sites and ${m.functions.length} functions: raise MAX_SITES / MAX_FUNCTIONS in src/sites/kinds.ts`);
  writeFileSync(join(PACKAGE_ROOT, "dist", MANIFEST_FILE), JSON.stringify(m, null, 1) + "\n");
}

main();
