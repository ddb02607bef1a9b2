// The deployable: `npm run package` (scripts/package.mjs) must produce a zip that Cloud Functions can
// run as is. The zip is unpacked into a directory outside the repository whose node_modules holds
// only the dependencies its package.json declares, exactly what the Cloud Functions build installs;
// a require() the bundle missed would fail there instead of in production. Then, in fresh Node
// processes:
//   - loading index.js registers onSecretEvent, onClusterEvent and rotateSecret with functions-framework, as
//     CloudEvent functions (what Pub/Sub push and Eventarc deliveries need);
//   - the framework's own launcher (what the nodejs22 runtime runs) starts serving each target.
// Size and load times are measured and printed; they are not asserted (the machine may be busy).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../harness/freePort';
import { fanOutMessage } from '../../functions/core/fanOut';
import type { SecretManagerStandIn } from '../harness/secretManagerStandIn';
import { startSecretManagerStandIn } from '../harness/secretManagerStandIn';

const ROOT = resolve(__dirname, '..', '..');
const ENTRY_POINTS = ['onSecretEvent', 'onClusterEvent', 'rotateSecret'] as const;
const FRAMEWORK = '@google-cloud/functions-framework';

interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
}

/** Reads a zip (stored or deflated entries) from its central directory; enough for the package. */
function readZip(buf: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'zip: no end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, `zip: bad central directory entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    assert.equal(buf.readUInt32LE(localOffset), 0x04034b50, `zip: bad local header for ${name}`);
    const dataStart = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    const raw = buf.subarray(dataStart, dataStart + compressed);
    assert.ok(method === 0 || method === 8, `zip: ${name} uses compression method ${method}`);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    assert.equal(data.length, size, `zip: ${name} inflates to ${data.length} bytes, header says ${size}`);
    entries.push({ name, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

interface FunctionPackageJson {
  readonly main?: unknown;
  readonly dependencies?: Record<string, string>;
}

function installedVersion(name: string): string {
  const pkg: unknown = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
  assert.ok(typeof pkg === 'object' && pkg !== null && typeof (pkg as { version?: unknown }).version === 'string');
  return (pkg as { version: string }).version;
}

/** The environment the functions get from Terraform (terraform/modules/rotor/functions.tf), with safe values. */
const DEPLOYED_ENV: Record<string, string> = {
  ROTOR_PROJECT_MAP: 'my-proj=123456789012',
  ROTOR_DEFAULT_PROJECT: 'my-proj',
  ROTOR_LOG_LEVEL: 'ERROR',
  ROTOR_DRY_RUN: 'true',
  ROTOR_OUTCOME_TOPIC: 'projects/my-proj/topics/rotor-outcomes',
  ROTOR_CLUSTERS: '',
  ROTOR_NAMESPACES: '',
  ROTOR_EXCLUDE_NAMESPACES: 'kube-system',
};

/** A child environment without the developer's Google credentials or project. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...DEPLOYED_ENV, ...extra };
  return env;
}


async function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const c = connect({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

/**
 * Raw push bodies as a Pub/Sub push subscription delivers Secret Manager notifications:
 * the topic's test message (no data) and a new version (data: the SecretVersion as JSON).
 */
/**
 * A push body per message kind: Secret Manager's notifications, or for onClusterEvent the fan-out
 * messages onSecretEvent would publish for them (naming a cluster this environment does not
 * configure: acked with an error that names the event, nothing to act on).
 */
function pushBodies(target: (typeof ENTRY_POINTS)[number]): Record<string, unknown> {
  const bodies = notificationPushBodies();
  if (target !== 'onClusterEvent') return bodies;
  return Object.fromEntries(
    Object.entries(bodies).map(([what, body], i) => {
      const { data, attributes } = fanOutMessage({ cluster: 'projects/my-proj/locations/europe-west1/clusters/prod', notification: body.message });
      return [
        what,
        {
          message: { data: Buffer.from(data).toString('base64'), attributes, messageId: `fan-${i}`, publishTime: body.message.publishTime },
          subscription: 'projects/my-proj/subscriptions/rotor-clusters-push',
        },
      ];
    }),
  );
}

interface NotificationPush {
  readonly message: { attributes: Record<string, string>; data?: string; messageId: string; publishTime: string };
  readonly subscription: string;
}

function notificationPushBodies(): Record<string, NotificationPush> {
  const publishTime = new Date().toISOString();
  const version = { name: 'projects/123456789012/secrets/db-password/versions/7', createTime: publishTime, state: 'ENABLED' };
  return {
    TOPIC_CONFIGURED: {
      message: { attributes: { eventType: 'TOPIC_CONFIGURED' }, messageId: '1001', publishTime },
      subscription: 'projects/my-proj/subscriptions/rotor-events-push',
    },
    SECRET_VERSION_ADD: {
      message: {
        data: Buffer.from(JSON.stringify(version)).toString('base64'),
        attributes: {
          eventType: 'SECRET_VERSION_ADD',
          secretId: 'projects/123456789012/secrets/db-password',
          versionId: version.name,
          dataFormat: 'JSON_API_V1',
          timestamp: publishTime,
        },
        messageId: '1002',
        publishTime,
      },
      subscription: 'projects/my-proj/subscriptions/rotor-events-push',
    },
  };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe('function bundle (npm run package)', () => {
  let work = '';
  let zipPath = '';
  let app = '';
  let entries: ZipEntry[] = [];
  /** The Secret Manager the functions confirm the SECRET_VERSION_ADD with (it holds version 7). */
  let secretManager: SecretManagerStandIn | undefined;

  before(async () => {
    secretManager = await startSecretManagerStandIn();
    secretManager.hold('projects/123456789012/secrets/db-password', { version: 7, createTime: new Date(Date.now() - 60_000) });
    // Outside the repository on purpose: Node must not find the repo's node_modules by walking up.
    work = mkdtempSync(join(tmpdir(), 'rotor-bundle-'));
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs'), '--outdir', join(work, 'dist')], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(r.status, 0, `scripts/package.mjs failed (exit ${r.status})\n${r.stderr}\n${r.stdout}`);
    process.stderr.write(r.stderr);
    zipPath = r.stdout.trim().split('\n').pop() ?? '';
    assert.ok(zipPath.endsWith('.zip'), `package.mjs should print the zip path last, printed: ${r.stdout}`);
    entries = readZip(readFileSync(zipPath));

    // Unpack, then install the declared dependencies the way the Cloud Functions build would, but
    // offline: link each one to the copy the tests installed (same version, see the assertion below).
    app = join(work, 'app');
    for (const e of entries) {
      mkdirSync(dirname(join(app, e.name)), { recursive: true });
      writeFileSync(join(app, e.name), e.data);
    }
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as FunctionPackageJson;
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      const target = join(app, 'node_modules', dep);
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dep), target, 'dir');
    }
  });

  after(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await secretManager?.close();
  });

  it('zips index.js and a package.json whose only dependency is functions-framework', (t) => {
    const names = entries.map((e) => e.name).sort();
    assert.ok(names.includes('index.js'), `zip holds ${names.join(', ')}`);
    assert.ok(names.includes('package.json'), `zip holds ${names.join(', ')}`);
    assert.ok(names.every((n) => !n.startsWith('node_modules/')), 'node_modules must not be shipped: the bundle has everything but the framework');
    const pkg = JSON.parse(entries.find((e) => e.name === 'package.json')?.data.toString('utf8') ?? '{}') as FunctionPackageJson;
    assert.equal(pkg.main, 'index.js');
    // The framework must stay external (the runtime's launcher and the bundle must share its
    // function registry) and be the exact version the tests exercised.
    assert.deepEqual(pkg.dependencies, { [FRAMEWORK]: installedVersion(FRAMEWORK) });

    const bundle = statSync(join(dirname(zipPath), 'function', 'index.js')).size;
    const zip = statSync(zipPath).size;
    t.diagnostic(`bundle index.js: ${(bundle / 1024).toFixed(1)} KiB; zip: ${(zip / 1024).toFixed(1)} KiB; entries: ${names.join(', ')}`);
  });

  it('is reproducible: packaging twice gives the same zip bytes', () => {
    const again = spawnSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs'), '--outdir', join(work, 'dist2')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.ok(readFileSync(zipPath).equals(readFileSync(join(work, 'dist2', 'rotor-function.zip'))), 'two builds of the same tree differ: Terraform would redeploy on every apply');
  });

  it('loads in a fresh Node process and registers every entry point as a CloudEvent function', (t) => {
    // Runs in the unpacked directory; the only package it can resolve is the declared framework.
    const probe = `
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      require('./index.js');
      const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const c1 = process.cpuUsage(c0);
      const cpuMs = (c1.user + c1.system) / 1000;
      // The registry module by path (the package's exports map hides it); Node resolves the
      // symlink to the same file the framework itself loads, so it is the same registry.
      const registry = require(${JSON.stringify(`./node_modules/${FRAMEWORK}/build/src/function_registry.js`)});
      const { getFunction } = require('${FRAMEWORK}/testing');
      const out = {};
      for (const name of ${JSON.stringify(ENTRY_POINTS)}) {
        const reg = registry.getRegisteredFunction(name);
        out[name] = { handler: typeof getFunction(name), signatureType: reg ? reg.signatureType : null };
      }
      process.stdout.write(JSON.stringify({ loadMs, cpuMs, out }));
    `;
    const loads: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = spawnSync(process.execPath, ['-e', probe], { cwd: app, encoding: 'utf8', env: childEnv() });
      assert.equal(r.status, 0, `loading the bundle failed (exit ${r.status})\n${r.stderr}`);
      const result = JSON.parse(r.stdout) as { loadMs: number; cpuMs: number; out: Record<string, { handler: string; signatureType: string | null }> };
      for (const name of ENTRY_POINTS) {
        assert.deepEqual(result.out[name], { handler: 'function', signatureType: 'cloudevent' }, `${name} is not registered as a CloudEvent function: ${r.stdout}`);
      }
      loads.push(result.loadMs);
      cpus.push(result.cpuMs);
    }
    // Wall time depends on what else the machine is doing; CPU time is the steadier figure.
    t.diagnostic(
      `require('./index.js') in a fresh process: median ${median(loads).toFixed(0)} ms wall, ${median(cpus).toFixed(0)} ms CPU ` +
        `(runs: ${loads.map((x) => x.toFixed(0)).join(', ')} ms wall)`,
    );
  });

  // Started the way the runtime starts a function deployed without an Eventarc trigger (the
  // module's default push delivery): no --signature-type, so the framework assumes `http` and the
  // code's own cloudEvent registration must win. Then a raw Pub/Sub push body, as the push
  // subscription sends it (to the path naming the topic), must be handled and acknowledged.
  for (const target of ENTRY_POINTS) {
    it(`the functions-framework launcher serves ${target} and acks a raw Pub/Sub push delivery`, async (t) => {
      const port = await freePort();
      const launcher = join(app, 'node_modules', FRAMEWORK, 'build', 'src', 'main.js');
      const started = Date.now();
      const child = spawn(process.execPath, [launcher, `--target=${target}`, `--port=${port}`, `--source=${app}`], {
        cwd: app,
        // No outcome topic: publishing would need Google credentials. No clusters: nothing to act on.
        // Secret Manager: the stand-in, which holds the version the notification announces.
        env: childEnv({ ROTOR_OUTCOME_TOPIC: '', ROTOR_LOG_LEVEL: 'INFO', ROTOR_SECRET_MANAGER_ENDPOINT: secretManager?.endpoint ?? '' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
      try {
        let serving = false;
        while (!serving && Date.now() - started < 60_000 && child.exitCode === null) {
          await new Promise((r) => setTimeout(r, 50));
          // The framework prints four lines once listening; the URL line is the last of them.
          serving = stdout.includes(`URL: http://localhost:${port}/`) && (await canConnect(port));
        }
        const readyMs = Date.now() - started;
        assert.ok(serving, `framework did not start serving ${target} (exit ${child.exitCode})\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
        assert.match(stdout, new RegExp(`Function: ${target}\\b`));
        assert.match(stdout, /Signature type: cloudevent/);
        t.diagnostic(`${target}: launcher start to listening on :${port} in ${readyMs} ms`);

        for (const [what, body] of Object.entries(pushBodies(target))) {
          const res = await fetch(`http://127.0.0.1:${port}/projects/my-proj/topics/rotor-secret-events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          assert.ok(res.status >= 200 && res.status < 300, `${target}: push of ${what} answered ${res.status} (a non-2xx makes Pub/Sub redeliver)\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
        }
        // Handled, not merely acked as malformed: the framework's push conversion must produce
        // something the intake parses.
        // The child's log lines reach this process through a pipe, possibly after the response:
        // wait (bounded) for the line about the event before judging.
        for (const deadline = Date.now() + 10_000; !/SECRET_VERSION_ADD/.test(stdout) && Date.now() < deadline; ) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.doesNotMatch(stdout + stderr, /malformed/i, `${target} could not parse a push delivery\n${stdout}\n${stderr}`);
        assert.match(stdout, /SECRET_VERSION_ADD/, `${target} logged nothing about the delivered event\n${stdout}\n${stderr}`);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });
  }
});
