// The real functions-framework HTTP server running one of Rotor's entry points, in a child process,
// for end-to-end tests and the demo.
//
// What runs: node_modules/@google-cloud/functions-framework's own `main.js` (the program the Cloud
// Functions runtime starts) with --target, --signature-type and --source, and the given environment
// (ROTOR_* configuration, PUBSUB_EMULATOR_HOST, ...). The source is an esbuild bundle of
// functions/index.ts, as `npm run package` ships, with dependencies left in node_modules: the bundle
// builds in well under a second and the server starts in one or two, where loading the TypeScript
// through tsx costs five to eight seconds per start on a busy two-core machine. The bundle goes to
// node_modules/.cache/rotor-functions/ (module resolution needs it inside the repo), one file per
// process, removed on stop.
//
// Logs: every stdout/stderr line is kept; lines that are JSON objects (Rotor's structured log) are
// also parsed into `entries`. `waitForLog` polls them, `logTail` is for failure messages.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { build } from 'esbuild';
import { deathSignalPrefix, onExit } from './cleanup';
import { REPO_ROOT } from './controlPlane';
import { freePort } from './freePort';
import { Arrivals } from './arrivals';

export interface LogEntry {
  severity?: string;
  message?: string;
  [key: string]: unknown;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  at: number;
  /** The parsed object when the line is JSON. */
  entry?: LogEntry;
}

export interface FunctionsServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  readonly target: string;
  /** Every output line so far, in order (a live array). */
  readonly lines: LogLine[];
  /** The structured (JSON) log entries so far. */
  entries(): LogEntry[];
  /** Resolves with the first entry (from index `from` on) matching `match`; rejects after `timeoutMs` with the log tail. */
  waitForLog(
    match: (e: LogEntry) => boolean,
    options?: { timeoutMs?: number; from?: number; what?: string },
  ): Promise<LogEntry>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface FunctionsServerOptions {
  /** The registered function: `onSecretEvent` or `rotateSecret`. */
  target: string;
  signatureType?: 'cloudevent' | 'http' | 'event';
  /** Added to a minimal environment (PATH, HOME, ...); ROTOR_* from this process are not inherited. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

const FRAMEWORK_MAIN = join(
  REPO_ROOT,
  'node_modules',
  '@google-cloud',
  'functions-framework',
  'build',
  'src',
  'main.js',
);
const BUNDLE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'rotor-functions');

let bundlePromise: Promise<string> | undefined;

/** Bundles functions/index.ts once per process; returns the bundle's path. */
export function functionsBundle(): Promise<string> {
  bundlePromise ??= (async () => {
    mkdirSync(BUNDLE_DIR, { recursive: true });
    const outfile = join(BUNDLE_DIR, `index-${process.pid}.js`);
    onExit(() => {
      rmSync(outfile, { force: true });
      rmSync(`${outfile}.map`, { force: true });
    });
    await build({
      entryPoints: [join(REPO_ROOT, 'functions', 'index.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      format: 'cjs',
      // node_modules stay where they are: functions-framework in particular must be the copy
      // main.js runs, or the functions would register in a registry nobody reads.
      packages: 'external',
      sourcemap: true,
      logLevel: 'warning',
    });
    return outfile;
  })();
  return bundlePromise;
}

/** Only what a process needs to run: the test's own ROTOR_* or GOOGLE_* settings must not leak in. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS', 'SSL_CERT_FILE'];
  const out: Record<string, string> = {};
  for (const k of keep) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export async function startFunctionsServer(options: FunctionsServerOptions): Promise<FunctionsServer> {
  const source = await functionsBundle();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(source, options);
    } catch (err) {
      if (!(err instanceof PortClash) || attempt >= 3) throw err;
    }
  }
}

class PortClash extends Error {}

async function startOnce(source: string, options: FunctionsServerOptions): Promise<FunctionsServer> {
  const port = await freePort();
  const args = [
    '--enable-source-maps',
    FRAMEWORK_MAIN,
    `--target=${options.target}`,
    `--signature-type=${options.signatureType ?? 'cloudevent'}`,
    `--source=${source}`,
    `--port=${port}`,
  ];
  const command = [...deathSignalPrefix(), process.execPath, ...args];
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(command[0], command.slice(1), {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // FUNCTION_TARGET as the Cloud Functions runtime sets it: functions/index.ts loads the target's code at start.
    env: { ...baseEnv(), FUNCTION_TARGET: options.target, ...options.env },
  });
  const lines: LogLine[] = [];
  const arrivals = new Arrivals();
  const collect = (stream: 'stdout' | 'stderr', input: Readable): void => {
    createInterface({ input }).on('line', (text) => {
      let entry: LogEntry | undefined;
      if (text.startsWith('{')) {
        try {
          const parsed = JSON.parse(text) as unknown;
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) entry = parsed as LogEntry;
        } catch {
          // not JSON after all
        }
      }
      lines.push({ stream, text, at: Date.now(), ...(entry ? { entry } : {}) });
      arrivals.notify();
    });
  };
  collect('stdout', child.stdout);
  collect('stderr', child.stderr);
  let exited = false;
  let exitCode: number | null = null;
  const exitPromise = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      exitCode = code;
      arrivals.notify();
      resolve();
    }),
  );
  const killSync = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  const removeExitHook = onExit(killSync);
  const logTail = (n = 40): string =>
    `--- functions-framework ${options.target} (port ${port})\n` +
    lines
      .slice(-n)
      .map((l) => (l.stream === 'stderr' ? `[stderr] ${l.text}` : l.text))
      .join('\n');

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const started = Date.now();
  try {
    for (;;) {
      if (exited) {
        const tailText = logTail();
        if (/EADDRINUSE/.test(tailText)) throw new PortClash(tailText);
        throw new Error(
          `functions-framework (${options.target}) exited with ${exitCode} while starting:\n${tailText}`,
        );
      }
      if (lines.some((l) => l.text.startsWith('Serving function'))) break;
      if (Date.now() - started > timeoutMs)
        throw new Error(
          `functions-framework (${options.target}) not serving within ${timeoutMs} ms:\n${logTail()}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    killSync();
    await exitPromise;
    removeExitHook();
    throw err;
  }

  const entries = (): LogEntry[] => lines.flatMap((l) => (l.entry ? [l.entry] : []));
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    target: options.target,
    lines,
    entries,
    waitForLog(match, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 30_000;
      return arrivals.until(
        () =>
          entries()
            .slice(opts.from ?? 0)
            .find(match),
        timeoutMs,
        () => new Error(`no log entry ${opts.what ?? 'matching'} within ${timeoutMs} ms:\n${logTail()}`),
        () =>
          exited
            ? new Error(
                `functions-framework exited (${exitCode}) before logging ${opts.what ?? 'the expected entry'}:\n${logTail()}`,
              )
            : undefined,
      );
    },
    logTail,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        // The framework's SIGTERM handler answers an in-flight request and exits.
        child.kill('SIGTERM');
        const timer = setTimeout(killSync, 3000);
        await exitPromise;
        clearTimeout(timer);
      }
      removeExitHook();
    },
  };
}
