// docs/configuration.md lists every environment variable the code reads and every input of the
// Terraform module, each once, and nothing else: read from the sources, not from a list here.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '../..');
const doc = readFileSync(join(root, 'docs/configuration.md'), 'utf8');

/** The first-column names (`NAME`) of the table under the heading `## title`, in order. */
function tableNames(markdown: string, title: string): string[] {
  const start = markdown.indexOf(`\n## ${title}`);
  assert.ok(start >= 0, `docs/configuration.md has a "## ${title}" section`);
  const rest = markdown.slice(start + 1);
  const next = rest.indexOf('\n## ');
  const section = next < 0 ? rest : rest.slice(0, next);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** `env.NAME` and `env['NAME']` (process.env, io.env, …) in the given sources. */
function envReads(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]*)/g)) names.add(m[1]);
  }
  return names;
}

const sorted = (names: Iterable<string>) => [...names].sort();

describe('docs/configuration.md', () => {
  const documented = tableNames(doc, 'Environment variables');

  it('lists every environment variable functions/ reads, once, and no other', () => {
    assert.deepEqual(sorted(new Set(documented)), sorted(envReads(tsFiles(join(root, 'functions')))));
    assert.equal(new Set(documented).size, documented.length, 'each variable once');
  });

  it('covers every variable functions/config.ts reads (the one config module of the event functions)', () => {
    const configReads = envReads([join(root, 'functions/config.ts')]);
    assert.ok(configReads.size >= 25, `functions/config.ts reads ${configReads.size} variables`);
    for (const name of configReads) assert.ok(documented.includes(name), `${name} is documented`);
  });

  it('lists every variable of terraform/modules/rotor/variables.tf, once, and no other', () => {
    const tf = readFileSync(join(root, 'terraform/modules/rotor/variables.tf'), 'utf8');
    const defined = [...tf.matchAll(/^variable "([^"]+)"/gm)].map((m) => m[1]);
    const listed = tableNames(doc, 'Terraform variables (`terraform/modules/rotor`)');
    assert.deepEqual(sorted(listed), sorted(defined));
    assert.equal(new Set(listed).size, listed.length, 'each variable once');
  });

  it('reads the tables as intended: a hand-checked sample', () => {
    assert.ok(documented.includes('ROTOR_CLUSTERS'));
    assert.ok(documented.includes('ROTOR_DISABLE_AFTER'));
    assert.deepEqual(tableNames('x\n## T\n| `A` | 1 |\n| `B` | 2 |\n## U\n| `C` | 3 |\n', 'T'), ['A', 'B']);
  });
});
