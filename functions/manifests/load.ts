// Loads Kubernetes manifests from files and directories (recursively): multi-document YAML,
// `kind: List` (and typed lists such as DeploymentList), and JSON. Every error names the file
// (and document) and the problem; nothing is silently dropped.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { InputError } from '../errors';
import type { KubeObject } from '../core/kube';
import { isObject } from '../core/kube';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Every manifest file under `paths`, in a stable order. */
export function manifestFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError(`no such file or directory`, p);
    }
    if (st.isDirectory()) {
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir).sort()) {
          if (name.startsWith('.')) continue;
          const full = join(dir, name);
          const s = statSync(full);
          if (s.isDirectory()) walk(full);
          else if (MANIFEST_EXTENSIONS.has(extname(name).toLowerCase())) files.push(full);
        }
      };
      walk(p);
    } else {
      files.push(p);
    }
  }
  return files;
}

export function loadManifests(paths: readonly string[]): KubeObject[] {
  return manifestFiles(paths).flatMap((f) => parseManifestText(readFileSync(f, 'utf8'), f));
}

/** Parses one file's text; `source` names it in errors and on each object (`file#doc`). */
export function parseManifestText(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  if (extname(source).toLowerCase() === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (e) {
      throw new InputError(`invalid JSON: ${(e as Error).message}`, source);
    }
    collect(value, source, out);
    return out;
  }
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const line = err.linePos?.[0];
      throw new InputError(`YAML syntax error${line ? ` at line ${line.line}, column ${line.col}` : ''}: ${err.message.split('\n')[0]}`, source);
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
    collect(value, where, out);
  });
  return out;
}

function collect(value: unknown, where: string, out: KubeObject[]): void {
  if (!isObject(value)) throw new InputError(`expected a Kubernetes object (a mapping with apiVersion and kind), found ${Array.isArray(value) ? 'a list' : typeof value}`, where);
  const kind = value.kind;
  if (typeof kind !== 'string' || kind.length === 0) throw new InputError('object has no "kind"', where);
  if (typeof value.apiVersion !== 'string') throw new InputError(`${kind} has no "apiVersion"`, where);
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(value.items))) {
    const items = value.items;
    if (!Array.isArray(items)) throw new InputError(`${kind} has no "items" list`, where);
    items.forEach((item, i) => collect(item, `${where} items[${i}]`, out));
    return;
  }
  const metadata = value.metadata;
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name.length === 0) {
    throw new InputError(`${kind} has no metadata.name`, where);
  }
  Object.defineProperty(value, '__source', { value: where, enumerable: false });
  out.push(value);
}
