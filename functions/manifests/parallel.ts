// Loading large manifest trees on several cores. Parsing YAML is most of an offline plan's time
// (10 000 workloads are ~20 MB of YAML); with idle cores (workerCount), worker threads parse part of
// the files while the main thread parses the rest. The result is exactly loadManifests' result: the
// same objects in the same order, the same errors (a file a worker could not parse is parsed again
// here, so its error reads the same), and the same notes.
import { availableParallelism, loadavg } from 'node:os';
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KubeObject } from '../core/kube';
import { InputError } from '../errors';
import type { LoadOptions, ManifestFile } from './load';
import { loadManifestFile, manifestFiles, objectsOfDocuments } from './load';

export interface ParallelLoadOptions extends LoadOptions {
  /** Below this many bytes of YAML, threads cost more than they save (default 4 MB). */
  readonly thresholdBytes?: number;
  /**
   * Worker threads at most. Default: one per idle core beyond the main thread's, up to 3 (see
   * workerCount); given, that many whatever the load (still one core left to the main thread).
   */
  readonly maxWorkers?: number;
  /**
   * Called with the InputError of a file that does not parse (YAML or JSON syntax, nesting, a
   * reused alias): the file is left out and the others are still loaded. Without it, the first
   * such error is thrown.
   */
  readonly onFileError?: (error: InputError) => void;
}

/** What a worker sends back per file: the documents as JSON, or that it failed (parse it here). */
type WorkerResult =
  { readonly file: string; readonly json: string } | { readonly file: string; readonly failed: true };

// The worker parses with the same js-yaml schema as core/yaml.ts (core types + merge keys). It is
// plain JavaScript evaluated in the thread, so it runs the same from TypeScript sources and builds.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const yaml = require(workerData.jsYaml);
const merge = new yaml.Type('tag:yaml.org,2002:merge', { kind: 'scalar', resolve: (d) => d === '<<' || d === null });
const schema = yaml.CORE_SCHEMA.extend({ implicit: [merge] });
parentPort.postMessage(workerData.files.map((file) => {
  try {
    let text = readFileSync(file, 'utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { file, json: JSON.stringify(yaml.loadAll(text, undefined, { schema })) };
  } catch {
    return { file, failed: true };
  }
}));
`;

/**
 * How many worker threads pay for themselves. A worker's share still costs the main thread a
 * JSON.parse of its result (about 40% of parsing the YAML), and the worker's start and its
 * JSON.stringify cost CPU too: 10 000 workloads took 1.1 s of CPU on one thread and 1.5-1.8 s with
 * one worker on 2 shared cores, for no shorter wall time. A worker helps only on a core nobody else
 * is using, so by default there is one per idle core (cores minus the 1-minute load average, the
 * main thread's core kept), up to 3; on 2 cores, none. An explicit `requested` (tests) ignores the
 * load. Never more than one per file beyond the main thread's first.
 */
export function workerCount(cores: number, load: number, yamlFiles: number, requested?: number): number {
  const idle = requested === undefined ? Math.floor(cores - load) : cores;
  return Math.max(0, Math.min(requested ?? 3, idle - 1, cores - 1, yamlFiles - 1));
}

function runWorker(files: readonly string[]): Promise<WorkerResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { files, jsYaml: require.resolve('js-yaml') },
    });
    worker.once('message', (m: WorkerResult[]) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      code === 0 ? undefined : reject(new Error(`manifest worker exited ${code}`)),
    );
  });
}

/** loadManifests, with YAML parsing spread over worker threads when the input is large. */
export async function loadManifestsParallel(
  paths: readonly string[],
  opts: ParallelLoadOptions = {},
): Promise<KubeObject[]> {
  const files = manifestFiles(paths);
  const yamlFiles = files.filter((f) => extname(f.path).toLowerCase() !== '.json');
  const sizes = new Map(yamlFiles.map((f) => [f.path, sizeOf(f.path)]));
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const workers = workerCount(availableParallelism(), loadavg()[0] ?? 0, yamlFiles.length, opts.maxWorkers);
  if (total < (opts.thresholdBytes ?? 4_000_000) || workers < 1)
    return files.flatMap((f) => {
      try {
        return loadManifestFile(f, opts);
      } catch (e) {
        if (!opts.onFileError || !(e instanceof InputError)) throw e;
        opts.onFileError(e);
        return [];
      }
    });

  // Greedy split by size into workers + 1 shares; the main thread keeps the first.
  const shares: ManifestFile[][] = Array.from({ length: workers + 1 }, () => []);
  const load = new Array<number>(workers + 1).fill(0);
  for (const f of [...yamlFiles].sort((a, b) => (sizes.get(b.path) ?? 0) - (sizes.get(a.path) ?? 0))) {
    const i = load.indexOf(Math.min(...load));
    shares[i].push(f);
    load[i] += sizes.get(f.path) ?? 0;
  }
  const pending = shares.slice(1).map((share) => runWorker(share.map((f) => f.path)).catch(() => undefined));

  // Per file: its objects or its error, and its notes, replayed in file order at the end so that
  // notes and the first error are the ones a sequential load gives.
  const outcome = new Map<
    string,
    { objects: KubeObject[]; notes: string[] } | { error: unknown; notes: string[] }
  >();
  const attempt = (f: ManifestFile, parse: (o: LoadOptions) => KubeObject[]): void => {
    const notes: string[] = [];
    const o: LoadOptions = opts.onSkip ? { onSkip: (m) => notes.push(m) } : {};
    try {
      outcome.set(f.path, { objects: parse(f.explicit ? {} : o), notes });
    } catch (error) {
      outcome.set(f.path, { error, notes });
    }
  };
  for (const f of [...shares[0], ...files.filter((x) => !sizes.has(x.path))])
    attempt(f, (o) => loadManifestFile(f, o));
  for (const [i, done] of (await Promise.all(pending)).entries()) {
    const results = new Map((done ?? []).map((r) => [r.file, r]));
    for (const f of shares[i + 1]) {
      const r = results.get(f.path);
      // A worker that failed, or a file it could not parse: parse it here, for the exact error.
      attempt(f, (o) =>
        r && 'json' in r
          ? objectsOfDocuments(JSON.parse(r.json) as unknown[], f.path, o)
          : loadManifestFile(f, o),
      );
    }
  }
  const objects: KubeObject[] = [];
  for (const f of files) {
    const r = outcome.get(f.path);
    if (!r) continue;
    for (const n of r.notes) opts.onSkip?.(n);
    if ('error' in r) {
      if (!opts.onFileError || !(r.error instanceof InputError)) throw r.error;
      opts.onFileError(r.error);
      continue;
    }
    objects.push(...r.objects);
  }
  return objects;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
