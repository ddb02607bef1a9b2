// Loads Kubernetes manifests from files and directories (recursively): multi-document YAML,
// `kind: List` (and typed lists such as DeploymentList), and JSON. Every error names the file
// (and document) and the problem; nothing is silently dropped.
//
// YAML goes through js-yaml (core/yaml.ts): on 10 000 workloads about ten times faster than `yaml`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InputError } from '../errors';
import { isExternalSecret, isSecretStore } from '../core/externalSecret';
import type { KubeObject } from '../core/kube';
import { describeObject, isObject } from '../core/kube';
import { isWorkload } from '../core/workloadKinds';
import { isSecretProviderClass } from '../core/secretProviderClass';
import { YamlSyntaxError, parseYamlDocuments } from '../core/yaml';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface ManifestFile {
  readonly path: string;
  /** Named on the command line (true) or found by walking a directory (false). */
  readonly explicit: boolean;
}

export interface LoadOptions {
  /**
   * Called for documents that are not Kubernetes objects (a Helm `values.yaml`, a `Chart.yaml`,
   * a dashboard `.json`) in files found by walking a directory: skipped, and said so. In files
   * named explicitly they are errors.
   */
  readonly onSkip?: (message: string) => void;
}

/** Every manifest file under `paths`, in a stable order. */
export function manifestFiles(paths: readonly string[]): ManifestFile[] {
  const files: ManifestFile[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new InputError(fsProblem(e), p);
    }
    if (st.isDirectory()) {
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir).sort()) {
          if (name.startsWith('.')) continue;
          const full = join(dir, name);
          let s;
          try {
            s = statSync(full);
          } catch (e) {
            throw new InputError(`${fsProblem(e)} (a broken symbolic link?)`, full);
          }
          if (s.isDirectory()) walk(full);
          else if (MANIFEST_EXTENSIONS.has(extname(name).toLowerCase()))
            files.push({ path: full, explicit: false });
        }
      };
      walk(p);
    } else {
      files.push({ path: p, explicit: true });
    }
  }
  return files;
}

export function loadManifests(paths: readonly string[], opts: LoadOptions = {}): KubeObject[] {
  return manifestFiles(paths).flatMap((f) => loadManifestFile(f, opts));
}

/** Reads and parses one file found by manifestFiles. */
export function loadManifestFile(f: ManifestFile, opts: LoadOptions = {}): KubeObject[] {
  let text: string;
  try {
    text = readFileSync(f.path, 'utf8');
  } catch (e) {
    throw new InputError(fsProblem(e), f.path);
  }
  return parseManifestText(text, f.path, f.explicit ? {} : opts);
}

/** The objects of a YAML file's parsed documents (empty documents skipped), named `file (document N)`. */
export function objectsOfDocuments(
  docs: readonly unknown[],
  source: string,
  opts: LoadOptions = {},
): KubeObject[] {
  const out: KubeObject[] = [];
  docs.forEach((value, i) => {
    if (value === null || value === undefined) return; // an empty document (a trailing ---, a comment-only Helm doc)
    collect(value, docs.length > 1 ? `${source} (document ${i + 1})` : source, out, opts);
  });
  return out;
}

/**
 * Parses one file's text; `source` names it in errors and on each object (`file (document N)`).
 * With `onSkip`, documents that are not Kubernetes objects are reported and skipped, not errors.
 */
export function parseManifestText(text: string, source: string, opts: LoadOptions = {}): KubeObject[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (extname(source).toLowerCase() === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(body) as unknown;
    } catch (e) {
      throw new InputError(`invalid JSON: ${(e as Error).message}`, source);
    }
    const out: KubeObject[] = [];
    collect(value, source, out, opts);
    return out;
  }
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(body);
  } catch (e) {
    if (e instanceof YamlSyntaxError) {
      const doc = e.line !== undefined ? documentAt(body, e.line - 1) : undefined;
      const where = e.line !== undefined ? ` at line ${e.line}, column ${e.column ?? 1}` : '';
      throw new InputError(
        `YAML syntax error${where}${doc && doc > 1 ? ` (document ${doc})` : ''}: ${e.reason}`,
        source,
      );
    }
    throw e;
  }
  return objectsOfDocuments(docs, source, opts);
}

/** Which document (1-based) of a multi-document YAML text holds 0-based `line`. */
function documentAt(text: string, line: number): number {
  const lines = text.split('\n');
  let doc = 1;
  let content = false;
  for (let i = 0; i < line && i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (/^---(\s|$)/.test(l)) {
      if (content) doc++;
      content = true; // a document starts here, even if it stays empty
    } else if (!content && l.trim() !== '' && !l.trimStart().startsWith('#') && !l.startsWith('%')) {
      content = true;
    }
  }
  return doc;
}

/** Kinds Rotor reads: these must be well-formed objects. Anything else only passes through. */
function readByRotor(o: KubeObject): boolean {
  return isWorkload(o) || isSecretProviderClass(o) || isExternalSecret(o) || isSecretStore(o);
}

/**
 * Deeper than any real manifest (CRD schemas nest a few dozen levels), shallow enough that the
 * recursive walks over objects (nested Lists here, discovery's scans) cannot overflow the stack.
 */
export const MAX_DEPTH = 256;

/**
 * The path of the first value nested deeper than `limit` (an explicit stack: no recursion), or
 * undefined. Every object of every manifest goes through here, so the walk allocates nothing per
 * value (two parallel stacks, no path strings: building a path for each of ~20 MB of values was
 * most of the check's time and garbage); the path is built only for a value found too deep.
 */
export function tooDeep(value: unknown, limit = MAX_DEPTH): string | undefined {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop() ?? 0;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return pathTooDeep(value, limit);
    if (Array.isArray(v))
      for (const x of v as unknown[]) {
        values.push(x);
        depths.push(depth + 1);
      }
    else
      for (const k in v)
        if (Object.prototype.hasOwnProperty.call(v, k)) {
          values.push((v as Record<string, unknown>)[k]);
          depths.push(depth + 1);
        }
  }
  return undefined;
}

/** The same walk with paths, for the message (only once a value is known to be too deep). */
function pathTooDeep(value: unknown, limit: number): string | undefined {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { v, depth, path } = top;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return path || '(top)';
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, depth: depth + 1, path: `${path}[${i}]` }));
    else
      for (const [k, x] of Object.entries(v))
        stack.push({ v: x, depth: depth + 1, path: path ? `${path}.${k}` : k });
  }
  return undefined;
}

function collect(value: unknown, where: string, out: KubeObject[], opts: LoadOptions, checked = false): void {
  if (!checked) {
    const deep = tooDeep(value);
    if (deep !== undefined) {
      const what = isObject(value) && typeof value.kind === 'string' ? `${describeObject(value)}: ` : '';
      throw new InputError(
        `${what}nested deeper than ${MAX_DEPTH} levels (at ${deep.length > 120 ? `${deep.slice(0, 120)}…` : deep})`,
        where,
      );
    }
  }
  const notAnObject = (problem: string): void => {
    if (opts.onSkip) opts.onSkip(`${where}: skipped, not a Kubernetes object (${problem})`);
    else
      throw new InputError(
        `expected a Kubernetes object (a mapping with apiVersion and kind), ${problem}`,
        where,
      );
  };
  if (!isObject(value)) return notAnObject(`found ${Array.isArray(value) ? 'a list' : typeof value}`);
  const kind = value.kind;
  if (typeof kind !== 'string' || kind.length === 0) return notAnObject('no "kind"');
  if (typeof value.apiVersion !== 'string') return notAnObject(`${kind} has no "apiVersion"`);
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(value.items))) {
    const items = value.items;
    if (!Array.isArray(items)) throw new InputError(`${kind} has no "items" list`, where);
    // Items of a List must be objects, wherever the file came from.
    items.forEach((item, i) => collect(item, `${where} items[${i}]`, out, {}, true));
    return;
  }
  const metadata = value.metadata;
  const named =
    isObject(metadata) &&
    ((typeof metadata.name === 'string' && metadata.name.length > 0) ||
      typeof metadata.generateName === 'string');
  if (!named && readByRotor(value)) throw new InputError(`${kind} has no metadata.name`, where);
  // A YAML alias (`- *app`) makes two places of a file one object: listing it twice is a mistake,
  // and the object can carry only one source.
  const earlier = value.__source;
  if (typeof earlier === 'string')
    throw new InputError(
      `${describeObject(value)} is the same object as ${earlier} (a YAML alias reused as a whole object)`,
      where,
    );
  Object.defineProperty(value, '__source', { value: where, enumerable: false });
  out.push(value);
}

function fsProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}
