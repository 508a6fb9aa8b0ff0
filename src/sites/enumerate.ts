/*
 * Finding the interlock sites of a kernel model, at build time, from its source's syntax tree
 * (TypeScript compiler API). Nothing is listed by hand: a site is a call of a src/sync primitive
 * (kinds.ts PRIMITIVES, through whatever local name the file imports it as), a re-check after a
 * blocking point, or a sleep loop's predicate. The same walk runs over a model's .ts source (for
 * the line a reader looks at) and over its compiled .js (for the edits instrument.ts makes), so
 * both see the same sites in the same order.
 *
 * Re-check rules (the DragonFly rule: state guarded by a token must be checked again after
 * anything that can block, because the tokens dropped). In a generator (code that can block):
 *  - recheck: an `if` placed after a `yield*` earlier in the same loop iteration or function, or
 *    with a `yield*` in its own test, whose branch gives up the attempt (`continue`, `break label`)
 *    and whose test compares state with a value this function read before (`p.p_pptr !== opp`),
 *    asks a predicate (`CURSIG_NOBLOCK(lp)`) or is a blocking call's result. Forgetting it reads
 *    the test as false: "nothing changed".
 *  - revalidate: an `if` nested under an `if` or `while` that tested some of the same conditions
 *    before a `yield*` in between (reaper_get's collapse after the shared -> exclusive gap).
 *    Forgetting it reads the test as true: "still as it was".
 *  - retest: a `while` whose body sleeps (tsleep, cv_wait...): its predicate is tested again after
 *    every wakeup. Forgetting it ends the loop after one sleep.
 * The catalogue's wrong variants (`if (bug(..)) wrong`, `if (!bug(..)) right else wrong`) are not
 * the model's code: nothing inside them is a site.
 */
import ts from "typescript";
import { FAILPOINT_CALL, LOCKMGR_RELEASE, PRIMITIVES, RECHECK_ROLE, RETEST_ROLE, REVALIDATE_ROLE, SLEEP_CALLS, type PrimitiveRole } from "./kinds.js";

/** A site found in one file: where it is, and the edit that routes it through its wrapper. */
export interface FoundSite {
  /** The enclosing named function (`<module>` at top level). */
  fn: string;
  /** The primitive's exported name, or "recheck" / "revalidate" / "retest". */
  label: string;
  role: PrimitiveRole;
  /** 1-based line in the text walked. */
  line: number;
  /** The wrapper this site calls (runtime.ts export). */
  wrapper: string;
  /** Node positions the edit needs (instrument.ts). */
  at: { start: number; end: number; argsPos: number; hasArgs: boolean } | { testStart: number; testEnd: number; stmtStart: number };
}

export interface FoundFunction {
  name: string;
  line: number;
  /** Position right after the body's `{`. */
  bodyPos: number;
}

export interface FileSites {
  sites: FoundSite[];
  functions: FoundFunction[];
}

/** Walk one file's text (TypeScript or the JavaScript tsc made of it). */
export function enumerate(fileName: string, text: string): FileSites {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, fileName.endsWith(".ts") ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const imports = syncImports(sf);
  const sites: FoundSite[] = [];
  const functions: FoundFunction[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;

  const visit = (node: ts.Node): void => {
    if (isWrongVariant(node)) return;
    if (ts.isFunctionDeclaration(node) && node.name && node.body) {
      functions.push({ name: node.name.text, line: lineOf(node.getStart(sf)), bodyPos: node.body.getStart(sf) + 1 });
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
      const exported = imports.get(node.expression.text);
      const role = exported === undefined ? undefined : PRIMITIVES[exported];
      if (exported !== undefined && role !== undefined) {
        const released = exported === "lockmgr" && node.arguments.length > 1 && node.arguments[1].getText(sf).includes(LOCKMGR_RELEASE);
        sites.push({
          fn: functionName(node),
          label: exported,
          role: released ? PRIMITIVES.lwkt_reltoken : role,
          line: lineOf(node.getStart(sf)),
          wrapper: exported,
          at: { start: node.expression.getStart(sf), end: node.expression.end, argsPos: node.arguments.pos, hasArgs: node.arguments.length > 0 },
        });
      }
    }
    if (ts.isIfStatement(node) && insideGenerator(node) && !callsFailpoint(node.expression)) {
      const kind = revalidates(node) ? "revalidate" : isRecheck(node) ? "recheck" : null;
      if (kind) sites.push({ fn: functionName(node), label: kind, role: kind === "recheck" ? RECHECK_ROLE : REVALIDATE_ROLE, line: lineOf(node.getStart(sf)), wrapper: kind, at: testAt(node, sf) });
    }
    if (ts.isWhileStatement(node) && insideGenerator(node) && sleepsIn(node.statement, imports)) {
      sites.push({ fn: functionName(node), label: "retest", role: RETEST_ROLE, line: lineOf(node.getStart(sf)), wrapper: "retest", at: testAt(node, sf) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { sites, functions };
}

const testAt = (node: ts.IfStatement | ts.WhileStatement, sf: ts.SourceFile) => ({ testStart: node.expression.getStart(sf), testEnd: node.expression.end, stmtStart: node.getStart(sf) });

/** Local name -> exported name, for every binding imported from src/sync. */
function syncImports(sf: ts.SourceFile): Map<string, string> {
  const m = new Map<string, string>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    if (!/(^|\/)sync\/[A-Za-z_]+\.js$/.test(st.moduleSpecifier.text)) continue;
    const named = st.importClause?.namedBindings;
    if (!named || !ts.isNamedImports(named)) continue;
    for (const el of named.elements) m.set(el.name.text, (el.propertyName ?? el.name).text);
  }
  return m;
}

function isFunctionLike(n: ts.Node): n is ts.SignatureDeclaration & { asteriskToken?: ts.AsteriskToken } {
  return ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n);
}

/** The name a reader knows the enclosing code by: a function, a method, or a const holding one. */
function functionName(node: ts.Node): string {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) return n.name.getText();
    if (!(ts.isArrowFunction(n) || ts.isFunctionExpression(n))) continue;
    if (ts.isVariableDeclaration(n.parent) && ts.isIdentifier(n.parent.name)) return n.parent.name.text;
    // registerProgram(LWPSTART, function* ...): named by the call and its first argument
    if (ts.isCallExpression(n.parent) && n.parent.arguments[0] !== n) return `${n.parent.expression.getText()}(${n.parent.arguments[0].getText()})`;
  }
  return "<module>";
}

function enclosingFunction(node: ts.Node): ts.Node | undefined {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) if (isFunctionLike(n)) return n;
  return undefined;
}

function insideGenerator(node: ts.Node): boolean {
  const f = enclosingFunction(node) as { asteriskToken?: ts.AsteriskToken } | undefined;
  return f?.asteriskToken !== undefined;
}

/** Does the subtree block (a `yield*`), not counting nested functions? */
function blocks(node: ts.Node): boolean {
  if (ts.isYieldExpression(node) && node.asteriskToken) return true;
  if (isFunctionLike(node)) return false;
  return ts.forEachChild(node, blocks) === true;
}

function callsFailpoint(node: ts.Node): boolean {
  if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === FAILPOINT_CALL) return true;
  if (isFunctionLike(node)) return false;
  return ts.forEachChild(node, callsFailpoint) === true;
}

function readsState(node: ts.Node): boolean {
  if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node) || ts.isCallExpression(node) || ts.isYieldExpression(node)) return true;
  return ts.forEachChild(node, readsState) === true;
}

/** The branch gives up this attempt: `continue` (to retry) or `break label` (the C `goto`). */
function givesUp(st: ts.Statement): boolean {
  const last = ts.isBlock(st) ? st.statements[st.statements.length - 1] : st;
  if (last === undefined) return false;
  return ts.isContinueStatement(last) || (ts.isBreakStatement(last) && last.label !== undefined);
}

function isIteration(n: ts.Node): boolean {
  return ts.isForStatement(n) || ts.isForOfStatement(n) || ts.isForInStatement(n) || ts.isWhileStatement(n) || ts.isDoStatement(n);
}

/**
 * Did this thread possibly block earlier in the same loop iteration (or function), or, given
 * `upTo`, between that enclosing statement's test and `node`?
 */
function blockedBefore(node: ts.Node, upTo?: ts.Node): boolean {
  let cur = node;
  for (let p = node.parent; p && p !== upTo && !isFunctionLike(p) && (upTo || !isIteration(p)); cur = p, p = p.parent) {
    if (ts.isBlock(p) || ts.isCaseClause(p) || ts.isDefaultClause(p)) {
      for (const st of p.statements) {
        if (st === cur) break;
        if (blocks(st)) return true;
      }
    } else if (ts.isIfStatement(p) && cur !== p.expression && blocks(p.expression)) return true;
  }
  return false;
}

function isRecheck(node: ts.IfStatement): boolean {
  if (!givesUp(node.thenStatement)) return false;
  const test = node.expression;
  if (blocks(test)) return true;
  if (!blockedBefore(node)) return false;
  return isCall(test) || comparesWithLocal(test);
}

const isCall = (e: ts.Expression): boolean => ts.isCallExpression(e) || (ts.isPrefixUnaryExpression(e) && isCall(e.operand)) || (ts.isParenthesizedExpression(e) && isCall(e.expression));

const EQUALITY = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);

/** `state !== local` (either way round, possibly inside && / ||): a value read before, compared again. */
function comparesWithLocal(e: ts.Expression): boolean {
  if (ts.isParenthesizedExpression(e)) return comparesWithLocal(e.expression);
  if (!ts.isBinaryExpression(e)) return false;
  const op = e.operatorToken.kind;
  if (op === ts.SyntaxKind.AmpersandAmpersandToken || op === ts.SyntaxKind.BarBarToken) return comparesWithLocal(e.left) || comparesWithLocal(e.right);
  if (!EQUALITY.has(op)) return false;
  const locals = declaredIn(enclosingFunction(e));
  const local = (x: ts.Expression) => rootIdentifier(x) !== undefined && locals.has(rootIdentifier(x)!);
  return (readsState(e.left) && local(e.right)) || (readsState(e.right) && local(e.left));
}

/** `opp` of `opp`, `opp.h`: the variable an operand starts from. */
function rootIdentifier(e: ts.Expression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return rootIdentifier(e.expression);
  if (ts.isParenthesizedExpression(e)) return rootIdentifier(e.expression);
  return undefined;
}

/** Names declared (parameters, variables) in a function, its nested blocks included. */
function declaredIn(fn: ts.Node | undefined): Set<string> {
  const names = new Set<string>();
  const bind = (b: ts.BindingName) => {
    if (ts.isIdentifier(b)) names.add(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) bind(el.name);
  };
  const walk = (n: ts.Node): void => {
    if (ts.isParameter(n) || ts.isVariableDeclaration(n)) bind(n.name);
    ts.forEachChild(n, walk);
  };
  if (fn) walk(fn);
  return names;
}

/** The top-level conjuncts of a test, as text. */
function conjuncts(e: ts.Expression): string[] {
  if (ts.isParenthesizedExpression(e)) return conjuncts(e.expression);
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e.getText()];
}

/** An `if` repeating part of an enclosing test after a blocking point in between. */
function revalidates(node: ts.IfStatement): boolean {
  const mine = new Set(conjuncts(node.expression));
  let cur: ts.Node = node;
  for (let p = node.parent; p && !isFunctionLike(p); cur = p, p = p.parent) {
    const outer = ts.isIfStatement(p) && cur === p.thenStatement ? p.expression : ts.isWhileStatement(p) && cur === p.statement ? p.expression : null;
    if (outer && conjuncts(outer).some((c) => mine.has(c)) && blockedBefore(node, p)) return true;
  }
  return false;
}

/** Is `node` the catalogue's wrong variant: the then-branch of `if (bug(..) ...)`, the else of `if (!bug(..))`? */
function isWrongVariant(node: ts.Node): boolean {
  const p = node.parent;
  if (!p || !(ts.isIfStatement(p) || ts.isConditionalExpression(p))) return false;
  const test = ts.isIfStatement(p) ? p.expression : p.condition;
  const then = ts.isIfStatement(p) ? p.thenStatement : p.whenTrue;
  const otherwise = ts.isIfStatement(p) ? p.elseStatement : p.whenFalse;
  const failpoint = (e: ts.Node) => ts.isCallExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === FAILPOINT_CALL;
  if (node === then) return conjunctNodes(test).some(failpoint);
  if (node === otherwise) return ts.isPrefixUnaryExpression(test) && test.operator === ts.SyntaxKind.ExclamationToken && failpoint(test.operand);
  return false;
}

function conjunctNodes(e: ts.Expression): ts.Expression[] {
  if (ts.isParenthesizedExpression(e)) return conjunctNodes(e.expression);
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) return [...conjunctNodes(e.left), ...conjunctNodes(e.right)];
  return [e];
}

/** Does the loop body sleep (outside nested loops and functions)? */
function sleepsIn(body: ts.Node, imports: ReadonlyMap<string, string>): boolean {
  const walk = (n: ts.Node): boolean => {
    if (isFunctionLike(n) || isIteration(n)) return false;
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && SLEEP_CALLS.has(imports.get(n.expression.text) ?? "")) return true;
    return ts.forEachChild(n, walk) === true;
  };
  return walk(body);
}
