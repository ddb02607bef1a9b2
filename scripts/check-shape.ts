// The code-shape check behind `npm test` (issue 23): three rules over functions/, read with the
// TypeScript compiler API (syntax only, no type checking, so it takes about a second).
//
//   1. length: no function, method, constructor, accessor or arrow function is longer than 80 lines.
//      A function's length is the lines its text spans, from its first token (`function`, `async`,
//      the method name, the arrow's parameters; leading comments and JSDoc excluded) to its closing
//      brace, both included: the lines a reader scrolls through. Blank and comment lines inside
//      count; a nested function counts towards its parent too, so splitting means moving steps out,
//      not nesting them. Named `outer.inner` (enclosing functions and classes, then the function's
//      own name: declaration, method, or the variable / property an arrow is assigned to;
//      `(anonymous)` otherwise).
//   2. core imports: functions/core/ is the pure core. Its files may import only other core files,
//      the pure shared modules in PURE_SHARED (which obey the same rule) and the pure packages in
//      PURE_PACKAGES. Type-only imports and `export … from` count: a type from pipeline/ ties the
//      core to the shell just the same.
//   3. cycles: no import cycle among the files of functions/ (every relative import, type-only ones
//      included, and re-exports).
//
// No rule has an allowlist: a function over the limit is split into named steps.
//
//   node --import tsx scripts/check-shape.ts     (exit 1 and one line per violation)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 80;
/** Shared modules outside core/ that core may import: pure, and held to the core's own rule. */
export const PURE_SHARED = new Set(['errors.ts']);
/** Packages core may import: parsing and hashing, no I/O. */
export const PURE_PACKAGES = new Set(['js-yaml', 're2js', 'node:crypto']);

export interface Violation {
  rule: 'length' | 'core-import' | 'cycle';
  /** Path under functions/, posix separators. */
  file: string;
  message: string;
}

export interface FunctionLength {
  file: string;
  name: string;
  lines: number;
  line: number;
}

/** Sources keyed by their path under functions/ (posix separators, e.g. `core/decision.ts`). */
export type Sources = ReadonlyMap<string, string>;

export function checkShape(sources: Sources): Violation[] {
  const parsed = new Map<string, ts.SourceFile>();
  for (const [file, text] of sources) {
    parsed.set(file, ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
  }
  const imports = new Map<string, ImportRef[]>();
  for (const [file, sf] of parsed) imports.set(file, importsOf(sf, sources));
  return [
    ...lengthViolations([...parsed.values()].flatMap(functionLengths)),
    ...coreImportViolations(imports),
    ...cycleViolations(imports),
  ];
}

// ── rule 1: function length ────────────────────────────────────────────────────────────────────

export function functionLengths(sf: ts.SourceFile): FunctionLength[] {
  const out: FunctionLength[] = [];
  const visit = (node: ts.Node, scope: readonly string[]): void => {
    let inner = scope;
    if (isFunctionLike(node)) {
      const name = [...scope, ownName(node)].join('.');
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ file: sf.fileName, name, lines: end - start + 1, line: start + 1 });
      inner = [...scope, ownName(node)];
    } else if (ts.isClassLike(node)) {
      inner = [...scope, node.name?.text ?? '(anonymous class)'];
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(sf, []);
  return out;
}

function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node)) &&
    node.body !== undefined
  );
}

function ownName(node: ts.FunctionLikeDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) return node.name.text;
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) &&
    ts.isIdentifier(parent.name)
  ) {
    return parent.name.text;
  }
  return '(anonymous)';
}

function lengthViolations(lengths: FunctionLength[]): Violation[] {
  return lengths
    .filter((f) => f.lines > MAX_FUNCTION_LINES)
    .map((f) => ({
      rule: 'length',
      file: f.file,
      message: `${f.file}:${f.line} ${f.name} is ${f.lines} lines (limit ${MAX_FUNCTION_LINES}): split it into named steps`,
    }));
}

// ── rule 2: what core may import ───────────────────────────────────────────────────────────────

interface ImportRef {
  specifier: string;
  /** The imported file under functions/ when the specifier is relative and resolves; else undefined. */
  target: string | undefined;
  line: number;
}

function importsOf(sf: ts.SourceFile, sources: Sources): ImportRef[] {
  const out: ImportRef[] = [];
  const add = (spec: ts.Expression, at: ts.Node) => {
    if (!ts.isStringLiteralLike(spec)) return;
    out.push({
      specifier: spec.text,
      target: resolveRelative(sf.fileName, spec.text, sources),
      line: sf.getLineAndCharacterOfPosition(at.getStart(sf)).line + 1,
    });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isDynamicImport || isRequire) add(node.arguments[0], node);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function resolveRelative(from: string, specifier: string, sources: Sources): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (sources.has(candidate)) return candidate;
  }
  return undefined;
}

const inCore = (file: string) => file.startsWith('core/');

function coreImportViolations(imports: ReadonlyMap<string, ImportRef[]>): Violation[] {
  const violations: Violation[] = [];
  for (const [file, refs] of imports) {
    if (!inCore(file) && !PURE_SHARED.has(file)) continue;
    for (const ref of refs) {
      const why = forbiddenCoreImport(ref);
      if (why) {
        violations.push({
          rule: 'core-import',
          file,
          message: `${file}:${ref.line} imports '${ref.specifier}' (${why}): ${inCore(file) ? 'functions/core/' : file} must stay pure`,
        });
      }
    }
  }
  return violations;
}

function forbiddenCoreImport(ref: ImportRef): string | undefined {
  if (ref.specifier.startsWith('.')) {
    if (ref.target === undefined) return 'not a file under functions/';
    if (inCore(ref.target) || PURE_SHARED.has(ref.target)) return undefined;
    return `${ref.target} is outside the pure core`;
  }
  if (PURE_PACKAGES.has(ref.specifier)) return undefined;
  return 'not one of the pure packages';
}

// ── rule 3: import cycles ──────────────────────────────────────────────────────────────────────

function cycleViolations(imports: ReadonlyMap<string, ImportRef[]>): Violation[] {
  const edges = new Map<string, string[]>();
  for (const [file, refs] of imports) {
    edges.set(file, [...new Set(refs.flatMap((r) => (r.target ? [r.target] : [])))].sort());
  }
  return stronglyConnected(edges)
    .filter((group) => group.length > 1 || (edges.get(group[0]) ?? []).includes(group[0]))
    .map((group) => ({
      rule: 'cycle',
      file: group[0],
      message: `import cycle: ${cyclePath(group, edges).join(' → ')}`,
    }));
}

/** Tarjan's strongly connected components; each component sorted, components in a stable order. */
function stronglyConnected(edges: ReadonlyMap<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const strongConnect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      groups.push(group.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) strongConnect(v);
  return groups.sort((a, b) => a[0].localeCompare(b[0]));
}

/** One concrete cycle through the group's first file, for the message (breadth-first, shortest). */
function cyclePath(group: string[], edges: ReadonlyMap<string, string[]>): string[] {
  const members = new Set(group);
  const start = group[0];
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return group;
}

// ── reading the tree ───────────────────────────────────────────────────────────────────────────

export function readSources(functionsDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        out.set(relative(functionsDir, path).split(/[\\/]/).join('/'), readFileSync(path, 'utf8'));
      }
    }
  };
  walk(functionsDir);
  return out;
}

function main(): void {
  const root = resolve(__dirname, '..');
  const sources = readSources(join(root, 'functions'));
  const violations = checkShape(sources);
  for (const v of violations) console.error(`✖ ${v.rule}: ${v.message}`);
  if (violations.length > 0) process.exit(1);
  console.log(
    `code shape: ${sources.size} files under functions/, no import cycle, core pure, every function ≤ ${MAX_FUNCTION_LINES} lines`,
  );
}

if (require.main === module) main();
