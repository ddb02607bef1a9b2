// The benchmark's Reloader peer and its exact request counting, without a Reloader binary: the
// audit-log parser both contenders are counted with, the skip path, Reloader's RBAC, memory
// sampling and the Secret references Reloader matches on.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { AUDIT_POLICY, AuditLog, parseAuditLines, requestsIn } from '../../scripts/bench/audit';
import {
  RELOADER_BUILD_SCRIPT,
  RELOADER_RBAC,
  buildReloader,
  reloaderBinary,
  vmRssMb,
} from '../../scripts/bench/reloader';
import { buildFleet } from '../../scripts/bench/fleet';
import { referencedSecrets, syncedSecretTargets } from '../../scripts/bench/reloaderScenario';

const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-peers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function event(
  id: string,
  user: string,
  stage: string,
  at: string,
  verb = 'get',
  uri = '/api/v1/namespaces/a/secrets/s',
): string {
  return JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: id,
    stage,
    requestURI: uri,
    verb,
    user: { username: user, groups: ['system:authenticated'] },
    requestReceivedTimestamp: at,
    stageTimestamp: at,
  });
}

describe('bench: audit-log request counting', () => {
  it('counts one request per auditID (a watch logs two stages), by user, in a window of receipt times', () => {
    const text = [
      event('a1', 'reloader', 'ResponseComplete', '2026-12-01T10:00:00.100000Z'),
      event(
        'w1',
        'reloader',
        'ResponseStarted',
        '2026-12-01T10:00:00.200000Z',
        'watch',
        '/api/v1/secrets?watch=true',
      ),
      event(
        'w1',
        'reloader',
        'ResponseComplete',
        '2026-12-01T10:00:00.200000Z',
        'watch',
        '/api/v1/secrets?watch=true',
      ),
      event('r1', 'rotor', 'ResponseComplete', '2026-12-01T10:00:00.300000Z', 'patch'),
      event('a2', 'reloader', 'ResponseComplete', '2026-12-01T10:00:05.000000Z', 'update'),
      '{"kind":"Event","auditID":"torn',
      'not json',
    ].join('\n');
    const all = parseAuditLines(text);
    assert.deepEqual(
      all.map((r) => [r.auditId, r.user, r.verb]),
      [
        ['a1', 'reloader', 'get'],
        ['w1', 'reloader', 'watch'],
        ['r1', 'rotor', 'patch'],
        ['a2', 'reloader', 'update'],
      ],
    );
    const from = Date.parse('2026-12-01T10:00:00.150Z');
    const to = Date.parse('2026-12-01T10:00:05Z');
    assert.deepEqual(
      requestsIn(all, 'reloader', from, to).map((r) => r.auditId),
      ['w1', 'a2'],
    );
    assert.equal(requestsIn(all, 'rotor', from, to).length, 1);
    assert.equal(requestsIn(all, 'baseline', 0, Infinity).length, 0);
  });

  it('reads a growing log by complete lines only, never counting a request twice', () => {
    const path = join(dir, 'audit.log');
    const first = event('x1', 'rotor', 'ResponseComplete', '2026-12-01T10:00:01Z');
    const second = event('x2', 'rotor', 'ResponseComplete', '2026-12-01T10:00:02Z');
    writeFileSync(path, `${first}\n${second.slice(0, 20)}`);
    const log = new AuditLog(path);
    assert.equal(log.count('rotor', 0, Infinity), 1);
    writeFileSync(path, `${first}\n${second}\n${first}\n`);
    assert.equal(log.count('rotor', 0, Infinity), 2);
    assert.equal(log.count('rotor', Date.parse('2026-12-01T10:00:01.500Z'), Infinity), 1);
  });

  it('logs metadata only, and only for the contenders (never a request body: Secret values stay out)', () => {
    const policy = parse(AUDIT_POLICY) as {
      omitStages: string[];
      rules: Array<{ level: string; users?: string[] }>;
    };
    assert.deepEqual(policy.omitStages, ['RequestReceived']);
    assert.deepEqual(policy.rules, [
      { level: 'Metadata', users: ['rotor', 'baseline', 'reloader'] },
      { level: 'None' },
    ]);
  });
});

describe('bench: the Reloader peer', () => {
  it('without ROTOR_RELOADER_BIN, runs the build and takes `reloader` from the directory it printed', () => {
    const seen: Array<string | undefined> = [];
    const found = reloaderBinary({ ROTOR_CACHE: '/c' }, (env) => {
      seen.push(env.ROTOR_CACHE);
      return { dir: '/c/reloader/v1.4.22' };
    });
    assert.deepEqual(found, { bin: '/c/reloader/v1.4.22/reloader' });
    assert.deepEqual(seen, ['/c']);
  });

  it('is skipped, naming the build script, Go and ROTOR_RELOADER_BIN, when the build fails', () => {
    const found = reloaderBinary({}, () => ({ failed: 'exit 1' }));
    assert.ok('skipped' in found);
    assert.match(found.skipped, /build-reloader\.sh failed \(exit 1\)/);
    assert.match(found.skipped, /Go/);
    assert.match(found.skipped, /ROTOR_RELOADER_BIN/);
  });

  it('build-reloader.sh takes a prebuilt ROTOR_RELOADER_BIN into its cache, once, and prints the directory last', () => {
    const cache = join(dir, 'cache');
    const bin = join(dir, 'prebuilt-reloader');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    const env = { PATH: process.env.PATH, ROTOR_CACHE: cache, ROTOR_RELOADER_BIN: bin };
    const first = buildReloader(env);
    assert.ok('dir' in first, JSON.stringify(first));
    assert.ok(first.dir.startsWith(join(cache, 'reloader', 'prebuilt-')), first.dir);
    assert.equal(realpathSync(join(first.dir, 'reloader')), realpathSync(bin));
    assert.deepEqual(buildReloader(env), first);
    assert.deepEqual(buildReloader({ ...env, ROTOR_RELOADER_BIN: join(dir, 'missing') }), {
      failed: 'exit 1',
    });
    assert.match(
      readFileSync(RELOADER_BUILD_SCRIPT, 'utf8'),
      /github\.com\/openshift\/api v3\.9\.0\+incompatible/,
    );
  });

  it('refuses a variable that names no executable file, and takes one that does', () => {
    assert.throws(() => reloaderBinary({ ROTOR_RELOADER_BIN: join(dir, 'missing') }), /is not a file/);
    const plain = join(dir, 'not-executable');
    writeFileSync(plain, '');
    chmodSync(plain, 0o644);
    assert.throws(() => reloaderBinary({ ROTOR_RELOADER_BIN: plain }), /is not executable/);
    const bin = join(dir, 'reloader');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    assert.deepEqual(reloaderBinary({ ROTOR_RELOADER_BIN: bin }), { bin });
  });

  it("binds the reloader user to the rules of Reloader's own ClusterRole (reloader-reloader-role)", () => {
    const [role, binding] = parseAllDocuments(RELOADER_RBAC).map((d) => d.toJS() as Record<string, unknown>);
    // Written out from deployments/kubernetes/reloader.yaml of stakater/Reloader.
    assert.deepEqual((role as { rules: unknown }).rules, [
      { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['list', 'get', 'watch'] },
      {
        apiGroups: ['apps'],
        resources: ['deployments', 'daemonsets', 'statefulsets'],
        verbs: ['list', 'get', 'update', 'patch'],
      },
      {
        apiGroups: ['extensions'],
        resources: ['deployments', 'daemonsets'],
        verbs: ['list', 'get', 'update', 'patch'],
      },
      { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['list', 'get'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'delete', 'list', 'get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    assert.deepEqual((binding as { subjects: unknown }).subjects, [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'reloader' },
    ]);
  });

  it('reads resident memory from /proc/PID/status', () => {
    assert.equal(vmRssMb('Name:\tmanager\nVmPeak:\t  900000 kB\nVmRSS:\t   61440 kB\nThreads:\t9\n'), 60);
    assert.equal(vmRssMb('Name:\tzombie\nState:\tZ (zombie)\n'), undefined);
    const own = vmRssMb(readFileSync('/proc/self/status', 'utf8'));
    assert.ok(own !== undefined && own > 10, `this process's RSS (${own} MB)`);
  });

  it('matches the Secrets a pod template references by name: env, envFrom, volumes, init containers', () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'shop' },
      spec: {
        template: {
          spec: {
            initContainers: [
              {
                name: 'init',
                env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'init-creds', key: 'a' } } }],
              },
            ],
            containers: [
              {
                name: 'app',
                env: [
                  { name: 'B', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } },
                  { name: 'C', valueFrom: { configMapKeyRef: { name: 'not-a-secret', key: 'c' } } },
                  { name: 'D', value: 'db-two' },
                ],
                envFrom: [{ secretRef: { name: 'bulk' } }, { configMapRef: { name: 'cm' } }],
              },
            ],
            volumes: [
              { name: 'v', secret: { secretName: 'files' } },
              { name: 'c', csi: { driver: 'x' } },
            ],
          },
        },
      },
    };
    assert.deepEqual([...referencedSecrets(d)].sort(), ['bulk', 'db', 'files', 'init-creds']);
  });

  it('gives every synced Secret data to change, dataFrom ones included (a Secret without data never changes)', () => {
    const fleet = buildFleet({ workloads: 400, namespaces: 20 });
    const targets = syncedSecretTargets(fleet);
    const byName = new Map(targets.map((t) => [`${t.namespace}/${t.externalSecret}`, t]));
    const dataFrom = fleet.phases
      .flatMap((p) => p.objects)
      .filter((o) => o.body.kind === 'ExternalSecret' && (o.body.spec as { dataFrom?: unknown }).dataFrom);
    assert.ok(dataFrom.length > 0, 'the fleet has dataFrom ExternalSecrets');
    for (const o of dataFrom) {
      const key = (o.body.spec as { dataFrom: Array<{ extract: { key: string } }> }).dataFrom[0].extract.key;
      const t = byName.get(`${o.body.metadata?.namespace ?? ''}/${o.body.metadata?.name ?? ''}`);
      assert.deepEqual(t?.keys, [key]);
    }
    assert.deepEqual(
      targets.filter((t) => t.keys.length === 0),
      [],
    );
  });
});
