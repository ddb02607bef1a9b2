// The code-shape check (scripts/check-shape.ts) on small fixture trees: each rule fails on the
// shape it forbids and a clean tree passes. Then the real tree.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import type { Violation } from '../../scripts/check-shape';
import { checkShape, functionLengths, readSources } from '../../scripts/check-shape';

const tree = (files: Record<string, string>) => new Map(Object.entries(files));
const messages = (vs: Violation[]) => vs.map((v) => `${v.rule}: ${v.message}`);

/** A function whose text spans exactly `lines` lines (declaration line and closing brace included). */
function fnOfLines(name: string, lines: number): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  return `export function ${name}(): void {\n${body}\n}\n`;
}

const CLEAN = {
  'core/kube.ts':
    "export interface KubeObject { kind?: string }\nexport const isObject = (v: unknown) => typeof v === 'object';\n",
  'core/decision.ts':
    "import type { KubeObject } from './kube';\nimport { isObject } from './kube';\nimport { InputError } from '../errors';\nimport { load } from 'js-yaml';\nexport const decide = (o: KubeObject) => isObject(o) && load('') && InputError;\n",
  'errors.ts': 'export class InputError extends Error {}\n',
  'pipeline/reconcile.ts':
    "import { decide } from '../core/decision';\nimport { readFileSync } from 'node:fs';\nexport const run = () => decide({}) && readFileSync;\n",
  'cluster/kubeApi.ts': "import * as http from 'node:http';\nexport const api = http;\n",
};

describe('code shape check', () => {
  it('a clean tree passes', () => {
    assert.deepEqual(checkShape(tree(CLEAN)), []);
  });

  it('length: 80 lines pass, 81 fail, named with its file and line', () => {
    assert.deepEqual(checkShape(tree({ ...CLEAN, 'core/short.ts': fnOfLines('short', 80) })), []);
    const long = tree({ ...CLEAN, 'core/long.ts': `// why\n${fnOfLines('long', 81)}` });
    assert.deepEqual(messages(checkShape(long)), [
      'length: core/long.ts:2 long is 81 lines (limit 80): split it into named steps',
    ]);
  });

  it('length: methods, constructors and arrows are named by their class, variable or property', () => {
    const src = [
      'export class Index {',
      '  constructor() {',
      '    const scan = () => {',
      '      return 1;',
      '    };',
      '    scan();',
      '  }',
      '  get size() {',
      '    return 0;',
      '  }',
      '}',
      'export const api = { fetch: async () => 1, get: function () { return 2; } };',
      'export default [1].map((n) => n);',
    ].join('\n');
    const sf = ts.createSourceFile('core/x.ts', src, ts.ScriptTarget.Latest, true);
    assert.deepEqual(
      functionLengths(sf).map((f) => [f.name, f.lines, f.line]),
      [
        ['Index.constructor', 6, 2],
        ['Index.constructor.scan', 3, 3],
        ['Index.size', 3, 8],
        ['fetch', 1, 12],
        ['get', 1, 12],
        ['(anonymous)', 1, 13],
      ],
    );
  });

  it('length: leading JSDoc is not counted; a nested function counts towards its parent', () => {
    const doc = `/**\n${' * why\n'.repeat(10)} */\n`;
    assert.deepEqual(checkShape(tree({ 'a.ts': doc + fnOfLines('documented', 80) })), []);
    const inner = fnOfLines('inner', 60).replace('export ', '');
    const outer = `export function outer(): void {\n${inner}${fnOfLines('x', 22).replace('export function x(): void {\n', '')}`;
    assert.deepEqual(
      checkShape(tree({ 'a.ts': outer })).map((v) => v.message),
      ['a.ts:1 outer is 82 lines (limit 80): split it into named steps'],
    );
  });

  it('core imports: a type import from pipeline/ fails', () => {
    const vs = checkShape(
      tree({
        ...CLEAN,
        'pipeline/outcome.ts': 'export interface Outcome { ok: boolean }\n',
        'core/events.ts': "import type { Outcome } from '../pipeline/outcome';\nexport type E = Outcome;\n",
      }),
    );
    assert.deepEqual(messages(vs), [
      "core-import: core/events.ts:1 imports '../pipeline/outcome' (pipeline/outcome.ts is outside the pure core): functions/core/ must stay pure",
    ]);
  });

  it('core imports: cluster/, I/O modules, other packages, require and import() types all fail', () => {
    const vs = checkShape(
      tree({
        ...CLEAN,
        'core/io.ts': [
          "import { api } from '../cluster/kubeApi';",
          "import { readFileSync } from 'node:fs';",
          "import * as http from 'http';",
          "export { api as kube } from '../cluster/kubeApi';",
          "import { PubSub } from '@google-cloud/pubsub';",
          "const cp = require('node:child_process');",
          "export type K = import('../cluster/kubeApi').Api;",
          'export const all = [api, readFileSync, http, PubSub, cp];',
        ].join('\n'),
      }),
    );
    assert.deepEqual(
      vs.map((v) => v.message.replace(/: functions\/core\/ must stay pure$/, '')),
      [
        "core/io.ts:1 imports '../cluster/kubeApi' (cluster/kubeApi.ts is outside the pure core)",
        "core/io.ts:2 imports 'node:fs' (not one of the pure packages)",
        "core/io.ts:3 imports 'http' (not one of the pure packages)",
        "core/io.ts:4 imports '../cluster/kubeApi' (cluster/kubeApi.ts is outside the pure core)",
        "core/io.ts:5 imports '@google-cloud/pubsub' (not one of the pure packages)",
        "core/io.ts:6 imports 'node:child_process' (not one of the pure packages)",
        "core/io.ts:7 imports '../cluster/kubeApi' (cluster/kubeApi.ts is outside the pure core)",
      ],
    );
  });

  it('core imports: a pure shared module is held to the same rule', () => {
    const vs = checkShape(
      tree({ ...CLEAN, 'errors.ts': "import { api } from './cluster/kubeApi';\nexport const e = api;\n" }),
    );
    assert.deepEqual(messages(vs), [
      "core-import: errors.ts:1 imports './cluster/kubeApi' (cluster/kubeApi.ts is outside the pure core): errors.ts must stay pure",
    ]);
  });

  it('cycles: a two-file and a three-file cycle fail, type-only imports included', () => {
    const vs = checkShape(
      tree({
        ...CLEAN,
        'core/kind.ts':
          "import type { Ref } from './ref';\nexport type Kind = 'Pod';\nexport type R = Ref;\n",
        'core/ref.ts': "import type { Kind } from './kind';\nexport interface Ref { kind: Kind }\n",
        'cluster/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
        'cluster/b.ts': "export { c as b } from './c';\n",
        'cluster/c.ts': "import { a } from './a';\nexport const c = () => a;\n",
      }),
    );
    assert.deepEqual(messages(vs), [
      'cycle: import cycle: cluster/a.ts → cluster/b.ts → cluster/c.ts → cluster/a.ts',
      'cycle: import cycle: core/kind.ts → core/ref.ts → core/kind.ts',
    ]);
  });
});

describe('code shape of functions/', () => {
  it('passes', () => {
    const sources = readSources(join(__dirname, '../../functions'));
    assert.deepEqual(messages(checkShape(sources)), []);
  });
});
