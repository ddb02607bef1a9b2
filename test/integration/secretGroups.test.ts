// One restart for related secrets on the real control plane (issue 22, item 4): two secrets of one
// `rotor-group` (Secret Manager label, on the stand-in through the real client) rotated together,
// each synced by its own ExternalSecret. A Deployment reading both is restarted exactly once, after
// both new versions are visible to it; one reading only one of them is restarted at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { startSecretManagerStandIn } from '../harness/secretManagerStandIn';
import type { SecretManagerStandIn } from '../harness/secretManagerStandIn';
import type { EventContext } from '../../functions/core/decision';
import type { SecretId } from '../../functions/core/secretName';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap } from '../../functions/core/secretName';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import { secretFactsReader } from '../../functions/pipeline/secretGroups';
import type { ReconcileConfig } from '../../functions/pipeline/reconcile';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import { memoryLogger } from '../../functions/log';
import { createSecretManager } from '../../functions/secretmanager/client';
import type { SecretManager } from '../../functions/secretmanager/types';
import { SecretValue } from '../../functions/secretmanager/secretValue';
import { rotateAll } from '../../functions/rotation/batch';
import { startWorld } from './rotation/fixtures';
import { runApply } from '../../functions/cli/apply';
import * as grpc from '@grpc/grpc-js';

const NS = 'grouped';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const USER = { project: 'my-proj', secret: 'db-user' };
const PASS = { project: 'my-proj', secret: 'db-pass' };

function envDeployment(name: string, secrets: readonly string[]): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example.invalid/app:1',
              env: secrets.map((s) => ({
                name: s.toUpperCase().replace('-', '_'),
                valueFrom: { secretKeyRef: { name: s, key: 'value' } },
              })),
            },
          ],
        },
      },
    },
  };
}

/** `2026-12-07T21:00:05Z`: ESO's refreshTime has whole seconds. */
function wholeSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

function find(outcome: EventOutcome, name: string): WorkloadOutcome {
  const w = outcome.workloads.find((x) => x.name === name);
  assert.ok(w, `no outcome for ${name}: ${JSON.stringify(outcome.workloads.map((x) => x.name))}`);
  return w;
}

describe('one restart for secrets rotated together (rotor-group)', { timeout: 240_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  let standIn: SecretManagerStandIn;
  let sm: SecretManager;
  const logger = memoryLogger();

  const admin = (method: string, path: string, body?: object, contentType?: string): Promise<KubeObject> =>
    cp.admin<KubeObject>(method, path, body, contentType);
  const template = async (name: string): Promise<Record<string, string>> => {
    const d = (await admin('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`)) as {
      spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
    };
    return d.spec?.template?.metadata?.annotations ?? {};
  };
  const applied = async (name: string): Promise<Record<string, string>> => {
    const d = await admin('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
    return JSON.parse(d.metadata?.annotations?.['rotor.dev/applied'] ?? '{}') as Record<string, string>;
  };
  /** ESO synced the ExternalSecret at `at` (whole seconds; default: after the event), Ready. */
  const synced = (es: string, at = new Date(Date.now() + 2000)): Promise<KubeObject> =>
    admin(
      'PATCH',
      `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/${es}/status`,
      {
        status: {
          refreshTime: wholeSeconds(at),
          conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced' }],
        },
      },
      'application/merge-patch+json',
    );
  const config = (): ReconcileConfig => ({
    clusters: [api],
    projects: new ProjectMap([['my-proj', '123456789012']]),
    dryRun: false,
    maxWaitMs: 600_000,
    concurrency: 4,
    reload: { retries: 0, backoffMs: 10 },
    logger,
    groups: { windowMs: 300_000, maxWaitMs: 600_000 },
    secretFacts: secretFactsReader(sm, logger),
  });

  /** `rotor apply --secret S --version V` as a person runs it, Secret Manager at the stand-in. */
  const rotorApply = async (
    id: SecretId,
    version: number,
  ): Promise<{ code: number; err: string; outcome: EventOutcome }> => {
    let out = '';
    let err = '';
    const code = await runApply(
      [
        '--secret',
        `projects/${id.project}/secrets/${id.secret}`,
        '--version',
        String(version),
        '--kubeconfig',
        cp.kubeconfigPathFor('rotor'),
        '--project-map',
        'my-proj=123456789012',
        '-o',
        'json',
      ],
      {
        stdout: (text) => void (out += text),
        stderr: (text) => void (err += text),
        env: { ROTOR_SECRET_MANAGER_ENDPOINT: standIn.endpoint },
      },
    );
    return { code, err, outcome: JSON.parse(out) as EventOutcome };
  };

  before(async () => {
    standIn = await startSecretManagerStandIn();
    sm = createSecretManager({ endpoint: standIn.endpoint });
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await admin('POST', `/apis/external-secrets.io/v1/clustersecretstores`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'gcp' },
      spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
    });
    for (const s of ['db-user', 'db-pass'])
      await admin('POST', `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets`, {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: s },
        spec: {
          secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
          target: { name: s },
          data: [{ secretKey: 'value', remoteRef: { key: s } }],
        },
      });
    await admin(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      envDeployment('both', ['db-user', 'db-pass']),
    );
    await admin(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      envDeployment('pass-only', ['db-pass']),
    );
    // The operator grouped the two secrets; each has a first version.
    for (const id of [USER, PASS]) {
      await sm.createSecret(id, { labels: { 'rotor-group': 'db' } });
      await sm.addVersion(id, SecretValue.fromString(`${id.secret}-1`));
    }
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await cp?.stop();
    await sm?.close();
    await standIn?.close();
  });

  it('waits for the other member, restarts once when both are visible; the second event changes nothing', async () => {
    // Rotated together: version 2 of each.
    const user2 = await sm.addVersion(USER, SecretValue.fromString('db-user-2'));
    const pass2 = await sm.addVersion(PASS, SecretValue.fromString('db-pass-2'));
    const event = (id: typeof USER, time: Date): EventContext => ({
      type: 'SECRET_VERSION_ADD',
      secret: id,
      version: '2',
      time: time.toISOString(),
    });

    // ESO synced the password first; the user name is not visible yet.
    await synced('db-pass');
    const first = await reconcileEvent(event(PASS, pass2.createTime), {}, config());
    const both1 = find(first, 'both');
    assert.equal(both1.result, 'waiting', both1.reason);
    assert.equal(both1.waitingFor, 'group');
    assert.match(
      both1.reason,
      /the restart waits for projects\/my-proj\/secrets\/db-user version 2 \(group "db"\), rotated with it and not visible yet \(/,
    );
    assert.equal(
      (await template('both'))[RESTARTED_AT],
      undefined,
      'not restarted while db-user is not visible',
    );
    // A workload reading only one member does not wait.
    assert.equal(find(first, 'pass-only').result, 'restarted');

    // The user name's sync lands; its event restarts the workload once, recording both versions.
    await synced('db-user');
    const second = await reconcileEvent(event(USER, user2.createTime), {}, config());
    const both2 = find(second, 'both');
    assert.equal(both2.result, 'restarted', both2.reason);
    assert.match(
      both2.reason,
      /one restart for projects\/my-proj\/secrets\/db-pass version 2 \(group "db"\), all visible$/,
    );
    const marker = (await template('both'))[RESTARTED_AT];
    assert.ok(marker, 'restarted');
    assert.deepEqual(await applied('both'), {
      'projects/my-proj/secrets/db-user': '2',
      'projects/my-proj/secrets/db-pass': '2',
    });

    // The password's event, redelivered (or continued): already applied, no second restart.
    const third = await reconcileEvent(event(PASS, pass2.createTime), {}, config());
    const both3 = find(third, 'both');
    assert.equal(both3.result, 'unchanged', both3.reason);
    assert.match(both3.reason, /^version 2 of projects\/my-proj\/secrets\/db-pass already applied/);
    assert.equal((await template('both'))[RESTARTED_AT], marker, 'restarted exactly once');
  });
  it('secrets of one rotateSecret batch are grouped without a label: one restart, naming the batch', async () => {
    // Two secrets rotated by one request (the `random` strategy, through the real protocol): the
    // batch's trigger is recorded in each secret's rotor-last-rotation.
    const w = await startWorld();
    try {
      const ids = [];
      for (const name of ['api-key', 'api-id']) {
        ids.push(
          await w.secret(name, { 'rotor-strategy': 'random' }, { 'rotor-min-interval': '0' }, `${name}-1`),
        );
        await admin('POST', `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets`, {
          apiVersion: 'external-secrets.io/v1',
          kind: 'ExternalSecret',
          metadata: { name },
          spec: {
            secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-test' },
            target: { name },
            data: [{ secretKey: 'value', remoteRef: { key: name } }],
          },
        });
      }
      await admin('POST', `/apis/external-secrets.io/v1/clustersecretstores`, {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterSecretStore',
        metadata: { name: 'gcp-test' },
        spec: { provider: { gcpsm: { projectID: 'test-proj' } } },
      });
      await admin(
        'POST',
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        envDeployment('batched', ['api-key', 'api-id']),
      );
      const [key, appId] = ids as [SecretId, SecretId];
      const report = await rotateAll([key, appId], w.deps(), { trigger: 'batch-1' }, 2);
      assert.deepEqual(
        report.results.map((r) => r.outcome),
        ['rotated', 'rotated'],
      );
      const event = async (id: SecretId): Promise<EventContext> => ({
        type: 'SECRET_VERSION_ADD',
        secret: id,
        version: '2',
        time: (await w.sm.getVersion(id, '2')).createTime.toISOString(),
      });
      const cfg = (): ReconcileConfig => ({ ...config(), secretFacts: secretFactsReader(w.sm, logger) });

      await synced('api-key');
      const first = find(await reconcileEvent(await event(key), {}, cfg()), 'batched');
      assert.equal(first.waitingFor, 'group', first.reason);
      assert.match(
        first.reason,
        /waits for projects\/test-proj\/secrets\/api-id version 2 \(rotation batch batch-1\)/,
      );

      await synced('api-id');
      const second = find(await reconcileEvent(await event(appId), {}, cfg()), 'batched');
      assert.equal(second.result, 'restarted', second.reason);
      assert.match(
        second.reason,
        /one restart for projects\/test-proj\/secrets\/api-key version 2 \(rotation batch batch-1\), all visible$/,
      );
      const third = find(await reconcileEvent(await event(key), {}, cfg()), 'batched');
      assert.equal(third.result, 'unchanged', third.reason);
    } finally {
      await w.close();
    }
  });

  it('rotor apply decides groups as onSecretEvent does: the restart waits for the member not visible yet', async () => {
    // Rotated together again; `rotor apply` runs for the password's new version.
    const user = await sm.addVersion(USER, SecretValue.fromString('db-user-3'));
    const pass = await sm.addVersion(PASS, SecretValue.fromString('db-pass-3'));
    // The password's sync is after the run's event time (now); the user name last synced a
    // minute before its new version was created.
    const userSync = new Date(user.createTime.getTime() - 60_000);
    await synced('db-user', userSync);
    await synced('db-pass', new Date(Date.now() + 30_000));
    const marker = (await template('both'))[RESTARTED_AT];

    const run = await rotorApply(PASS, pass.version);
    // No warning (Secret Manager was read), only the pass line of a run with a workload waiting.
    assert.deepEqual(run.err.split('\n'), [
      `pass 1: SECRET_VERSION_ADD projects/my-proj/secrets/db-pass version ${pass.version}: 1 waiting, 1 restarted — waiting…`,
      '',
    ]);
    assert.equal(run.code, 1, 'exit 1: not converged, a workload waits');
    const both = find(run.outcome, 'both');
    assert.equal(both.result, 'waiting');
    assert.equal(both.waitingFor, 'group');
    assert.equal(
      both.reason,
      `env DB_PASS (key value) in app (Secret db-pass from ExternalSecret db-pass) only changes when the pod restarts; the restart waits for projects/my-proj/secrets/db-user version ${user.version} (group "db"), rotated with it and not visible yet (ExternalSecret ${NS}/db-user last synced at ${wholeSeconds(userSync)}, before the event (${user.createTime.toISOString()}))`,
    );
    assert.equal((await template('both'))[RESTARTED_AT], marker, 'not restarted');
    // A workload reading only the password is not held.
    assert.equal(find(run.outcome, 'pass-only').result, 'restarted');
  });

  it('rotor apply that cannot read Secret Manager says so in one line and restarts without the group', async () => {
    const user = await sm.addVersion(USER, SecretValue.fromString('db-user-4'));
    await synced('db-user', new Date(Date.now() + 30_000));
    const before = await applied('both');
    // As a CLI without credentials: the first read of Secret Manager is refused.
    standIn.fail('GetSecret', grpc.status.UNAUTHENTICATED, 1);

    const run = await rotorApply(USER, user.version);
    // The log lines (JSON) of the run: only the one saying why restarts are not grouped.
    const lines = run.err.split('\n').filter((l) => l.startsWith('{'));
    assert.deepEqual(
      lines
        .map((l) => JSON.parse(l) as { severity: string; message: string })
        .map((l) => [l.severity, l.message]),
      [
        [
          'WARNING',
          'projects/my-proj/secrets/db-user: Secret Manager could not be read (get projects/my-proj/secrets/db-user: 16 UNAUTHENTICATED: injected fault on GetSecret), so restarts are not grouped with it (rotor-group, rotation batch): a workload reading it and another secret rotated with it may restart once per secret',
        ],
      ],
    );
    const both = find(run.outcome, 'both');
    assert.equal(both.result, 'restarted', both.reason);
    assert.equal(
      both.reason,
      'env DB_USER (key value) in app (Secret db-user from ExternalSecret db-user) only changes when the pod restarts',
    );
    // Only its own version is recorded: the password's stays as it was, for its own event.
    assert.deepEqual(await applied('both'), {
      ...before,
      'projects/my-proj/secrets/db-user': String(user.version),
    });
  });
});
