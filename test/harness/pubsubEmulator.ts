// Google's Pub/Sub emulator (the one `gcloud beta emulators pubsub start` runs), on a free loopback
// port, for end-to-end tests and the demo: topics, push subscriptions with retry policies,
// publishing and pulling, through the emulator's REST surface (the same Pub/Sub v1 API clients use).
//
// Process: the emulator's own launcher script (platform/pubsub-emulator/bin/cloud-pubsub-emulator in
// the Cloud SDK) `exec`s Java, so the child we spawn *is* the JVM: one pid to kill, no gcloud/python
// wrapper holding a grandchild. It runs under PDEATHSIG (cleanup.ts) so it dies with this process
// even on SIGKILL. The emulator keeps everything in memory; its temp dir holds the log and is removed
// on stop.
//
// Clients: `env` holds PUBSUB_EMULATOR_HOST (and PUBSUB_PROJECT_ID) for child processes such as the
// functions-framework server, whose @google-cloud/pubsub client then talks to the emulator.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deathSignalPrefix, onExit } from './cleanup';
import { freePort } from './freePort';

export interface PushSubscriptionOptions {
  /** Seconds the push endpoint has to answer before the delivery counts as failed (10..600). */
  ackDeadlineSeconds?: number;
  /** Retry policy: redelivery backoff after a nack (non-2xx) or timeout. */
  minimumBackoffSeconds?: number;
  maximumBackoffSeconds?: number;
}

export interface PulledMessage {
  ackId: string;
  messageId: string;
  publishTime: string;
  attributes: Record<string, string>;
  /** The decoded payload. */
  data: string;
}

export interface PublishedMessage {
  /** UTF-8 payload (encoded to base64 on the wire); omit for attribute-only messages. */
  data?: string | Buffer;
  attributes?: Record<string, string>;
}

export interface PubsubEmulator {
  /** `127.0.0.1:PORT` — the value of PUBSUB_EMULATOR_HOST. */
  readonly host: string;
  readonly projectId: string;
  /** PUBSUB_EMULATOR_HOST, PUBSUB_PROJECT_ID, GOOGLE_CLOUD_PROJECT, METADATA_SERVER_DETECTION: for child processes. */
  readonly env: Readonly<Record<string, string>>;
  /** `projects/PROJECT/topics/NAME` */
  topicPath(name: string): string;
  subscriptionPath(name: string): string;
  createTopic(name: string): Promise<string>;
  /** A push subscription delivering to `endpoint` (http URL), as Pub/Sub push does: POST of `{message, subscription}`. */
  createPushSubscription(
    name: string,
    topic: string,
    endpoint: string,
    options?: PushSubscriptionOptions,
  ): Promise<string>;
  createPullSubscription(
    name: string,
    topic: string,
    options?: { ackDeadlineSeconds?: number },
  ): Promise<string>;
  /** Publishes one message; returns its message id. */
  publish(topic: string, message: PublishedMessage): Promise<string>;
  /** Pulls (and acks) what is available, waiting up to `timeoutMs` for at least `min` messages. */
  pull(subscription: string, options?: { min?: number; timeoutMs?: number }): Promise<PulledMessage[]>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** The emulator's launcher: $ROTOR_PUBSUB_EMULATOR, else the Cloud SDK's copy. */
export function locatePubsubEmulator(): string {
  const fromEnv = process.env.ROTOR_PUBSUB_EMULATOR;
  if (fromEnv) return fromEnv;
  const roots = [
    '/usr/lib/google-cloud-sdk',
    '/usr/share/google-cloud-sdk',
    '/google-cloud-sdk',
    '/opt/google-cloud-sdk',
  ];
  const info = spawnSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (info.status === 0 && info.stdout.trim()) roots.unshift(info.stdout.trim());
  for (const root of roots) {
    const launcher = join(root, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');
    if (existsSync(launcher)) return launcher;
  }
  throw new Error(
    'the Pub/Sub emulator is not installed: run `gcloud components install pubsub-emulator beta` ' +
      'or set ROTOR_PUBSUB_EMULATOR to its launcher script',
  );
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startPubsubEmulator(
  options: { projectId?: string; startTimeoutMs?: number } = {},
): Promise<PubsubEmulator> {
  const launcher = locatePubsubEmulator();
  const projectId = options.projectId ?? 'rotor-local';
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(launcher, projectId, options.startTimeoutMs ?? 60_000);
    } catch (err) {
      // A free port can be taken by someone else between picking and binding: retry with another.
      if (!(err instanceof PortClash) || attempt >= 3) throw err;
    }
  }
}

class PortClash extends Error {}

async function startOnce(launcher: string, projectId: string, timeoutMs: number): Promise<PubsubEmulator> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-pubsub-'));
  const log = join(dir, 'emulator.log');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const base = `http://${host}/v1`;
  const fd = openSync(log, 'a');
  const command = [...deathSignalPrefix(), launcher, '--host=127.0.0.1', `--port=${port}`];
  const child: ChildProcess = spawn(command[0], command.slice(1), {
    cwd: dir,
    stdio: ['ignore', fd, fd],
    env: {
      ...process.env,
      // A small, quick-starting JVM: the emulator holds a handful of messages; C1 only saves a
      // second of start-up on two shared cores.
      JAVA_OPTS:
        `${process.env.JAVA_OPTS ?? ''} -Xms32m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC`.trim(),
    },
  });
  closeSync(fd);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const killSync = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  const removeExitHook = onExit(() => {
    killSync();
    rmSync(dir, { recursive: true, force: true });
  });
  const started = Date.now();
  try {
    for (;;) {
      if (exited) {
        const text = tail(log, 30);
        if (/Address already in use|BindException/i.test(text)) throw new PortClash(text);
        throw new Error(`the Pub/Sub emulator exited while starting:\n${text}`);
      }
      try {
        const r = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() - started > timeoutMs)
        throw new Error(`the Pub/Sub emulator was not ready within ${timeoutMs} ms:\n${tail(log, 30)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  } catch (err) {
    killSync();
    await exitPromise;
    removeExitHook();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${base}/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`Pub/Sub emulator ${method} ${path}: ${r.status} ${text.trim()}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
  const topicPath = (name: string): string =>
    name.startsWith('projects/') ? name : `projects/${projectId}/topics/${name}`;
  const subscriptionPath = (name: string): string =>
    name.startsWith('projects/') ? name : `projects/${projectId}/subscriptions/${name}`;
  let stopped = false;

  return {
    host,
    projectId,
    // GOOGLE_CLOUD_PROJECT and METADATA_SERVER_DETECTION=none too: off Google Cloud the client
    // otherwise probes the GCE metadata server for a project and credentials it does not need with
    // an emulator (a failed lookup, and a MetadataLookupWarning on stderr, on every cold start).
    env: {
      PUBSUB_EMULATOR_HOST: host,
      PUBSUB_PROJECT_ID: projectId,
      GOOGLE_CLOUD_PROJECT: projectId,
      METADATA_SERVER_DETECTION: 'none',
    },
    topicPath,
    subscriptionPath,
    async createTopic(name) {
      const path = topicPath(name);
      await call('PUT', path);
      return path;
    },
    async createPushSubscription(name, topic, endpoint, opts = {}) {
      const path = subscriptionPath(name);
      await call('PUT', path, {
        topic: topicPath(topic),
        ackDeadlineSeconds: opts.ackDeadlineSeconds ?? 60,
        pushConfig: { pushEndpoint: endpoint },
        retryPolicy: {
          minimumBackoff: `${opts.minimumBackoffSeconds ?? 1}s`,
          maximumBackoff: `${opts.maximumBackoffSeconds ?? 10}s`,
        },
      });
      return path;
    },
    async createPullSubscription(name, topic, opts = {}) {
      const path = subscriptionPath(name);
      await call('PUT', path, { topic: topicPath(topic), ackDeadlineSeconds: opts.ackDeadlineSeconds ?? 60 });
      return path;
    },
    async publish(topic, message) {
      const data = message.data === undefined ? undefined : Buffer.from(message.data).toString('base64');
      const r = await call<{ messageIds: string[] }>('POST', `${topicPath(topic)}:publish`, {
        messages: [{ ...(data !== undefined ? { data } : {}), attributes: message.attributes ?? {} }],
      });
      const id = r.messageIds[0];
      if (!id) throw new Error(`Pub/Sub emulator returned no message id publishing to ${topic}`);
      return id;
    },
    async pull(subscription, opts = {}) {
      const min = opts.min ?? 1;
      const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
      const out: PulledMessage[] = [];
      const sub = subscriptionPath(subscription);
      for (;;) {
        const r = await call<{
          receivedMessages?: Array<{
            ackId: string;
            message: {
              messageId: string;
              publishTime: string;
              data?: string;
              attributes?: Record<string, string>;
            };
          }>;
        }>('POST', `${sub}:pull`, { maxMessages: 100, returnImmediately: true });
        const got = r.receivedMessages ?? [];
        if (got.length > 0) {
          await call('POST', `${sub}:acknowledge`, { ackIds: got.map((m) => m.ackId) });
          for (const m of got) {
            out.push({
              ackId: m.ackId,
              messageId: m.message.messageId,
              publishTime: m.message.publishTime,
              attributes: m.message.attributes ?? {},
              data: Buffer.from(m.message.data ?? '', 'base64').toString('utf8'),
            });
          }
        }
        if (out.length >= min || Date.now() > deadline) return out;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    logTail: (lines = 30) => `--- pubsub emulator (${log})\n${tail(log, lines)}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(killSync, 3000);
        await exitPromise;
        clearTimeout(timer);
      }
      removeExitHook();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
