// keel's layer rule holds (src/README.md, "Layers"): no import runs from a lower layer to a
// higher one, shared code imports only shared code, the far side (worker/, transport/far-side/)
// imports nothing of the caller's side, and the caller's side imports the far side only to
// name its types. Reads every src/**/*.ts and each of its relative imports: static
// `import ... from`, `export ... from`, and `import()` of a string literal (in code and in types).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const kSrc = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

type Side = 'both' | 'caller' | 'far';

interface Place {
  /** A folder (ending in '/') or a file, relative to src/. */
  readonly path: string;
  /** Higher layers may import lower ones and their own; never the reverse. */
  readonly layer: number;
  readonly side: Side;
}

/**
 * src/README.md's layer table, bottom first. A file takes the longest path that contains it;
 * a file that none contains fails the test (a new folder gets its row here and in the README).
 */
const kPlaces: readonly Place[] = [
  { path: 'errors.ts', layer: 1, side: 'both' },
  { path: 'options/', layer: 2, side: 'both' },
  { path: 'timers/', layer: 2, side: 'both' },
  { path: 'metrics/', layer: 2, side: 'both' },
  { path: 'protocol/', layer: 2, side: 'both' },
  { path: 'platform/', layer: 2, side: 'both' },
  { path: 'values/', layer: 3, side: 'both' },
  { path: 'tensors/', layer: 3, side: 'both' },
  { path: 'memory/', layer: 4, side: 'both' },
  { path: 'transport/', layer: 5, side: 'both' },
  { path: 'transport/caller/', layer: 5, side: 'caller' },
  { path: 'transport/far-side/', layer: 5, side: 'far' },
  { path: 'execution/', layer: 6, side: 'caller' },
  { path: 'worker/', layer: 6, side: 'far' },
  { path: 'streams/', layer: 7, side: 'caller' },
  { path: 'realtime/', layer: 7, side: 'caller' },
  { path: 'index.ts', layer: 8, side: 'caller' },
  { path: 'queue/', layer: 8, side: 'caller' },
];

interface Import {
  /** The imported file, relative to src/ ('memory/arena/index.ts'). */
  readonly target: string;
  /** As written. */
  readonly specifier: string;
  readonly line: number;
  /** Erased from the JavaScript: `import type`, `export type`, `typeof import('...')`. */
  readonly typeOnly: boolean;
}

function sourceFiles(): string[] {
  return readdirSync(kSrc, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split(sep).join('/'))
    .sort();
}

function placeOf(file: string): Place | undefined {
  let best: Place | undefined;
  for (const place of kPlaces) {
    const contains = place.path.endsWith('/') ? file.startsWith(place.path) : file === place.path;
    if (contains && (best === undefined || place.path.length > best.path.length)) best = place;
  }
  return best;
}

/** Every relative import of `file` (a path relative to src/). */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(kSrc, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const add = (literal: ts.Node, typeOnly: boolean): void => {
    if (!ts.isStringLiteralLike(literal) || !literal.text.startsWith('.')) return;
    const target = posix.normalize(posix.join(posix.dirname(file), literal.text));
    found.push({
      target: target.replace(/\.js$/, '.ts'),
      specifier: literal.text,
      line: source.getLineAndCharacterOfPosition(literal.getStart()).line + 1,
      typeOnly,
    });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      if (node.arguments[0]) add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Why `file` may not import `imported`, or undefined when it may. */
function violation(from: Place, to: Place, imported: Import): string | undefined {
  if (to.layer > from.layer) {
    return `imports upward: layer ${from.layer} (${from.path}) -> layer ${to.layer} (${to.path})`;
  }
  if (from.side === to.side || to.side === 'both') return undefined;
  if (from.side === 'both') return `is shared by both sides but imports ${to.side}-side code`;
  if (from.side === 'far') return 'is far-side code but imports caller-side code';
  // A caller may name the far side's types (`spawn<typeof import('...')>`): nothing runs.
  if (imported.typeOnly) return undefined;
  return 'is caller-side code but imports far-side code (only its types may be named)';
}

function brokenRules(): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles()) {
    const from = placeOf(file);
    if (!from) {
      problems.push(`src/${file} has no layer (add its folder to src/README.md and this test)`);
      continue;
    }
    for (const imported of importsOf(file)) {
      const to = placeOf(imported.target);
      const why = to
        ? violation(from, to, imported)
        : `imports src/${imported.target}, which has no layer`;
      if (why) problems.push(`src/${file}:${imported.line} '${imported.specifier}' ${why}`);
    }
  }
  return problems;
}

describe('layers', () => {
  it('no file imports a higher layer or the other side of a thread boundary', () => {
    const problems = brokenRules();
    assert.deepEqual(problems, [], `\n${problems.join('\n')}\n`);
  });

  it('reads every kind of relative import, so that the rule above checks them all', () => {
    const imports = importsOf('index.ts');
    assert.ok(imports.some((entry) => entry.target === 'errors.ts' && !entry.typeOnly));
    assert.ok(imports.some((entry) => entry.typeOnly));
    const all = sourceFiles().flatMap(importsOf);
    assert.ok(all.length > 300, `only ${all.length} imports found`);
    // Each file found exists: a wrong path would hide an import from the rule.
    const files = new Set(sourceFiles());
    const missing = all.filter((entry) => !files.has(entry.target)).map((entry) => entry.target);
    assert.deepEqual(missing, []);
    assert.equal(relative(kSrc, join(kSrc, 'index.ts')), 'index.ts');
  });
});
