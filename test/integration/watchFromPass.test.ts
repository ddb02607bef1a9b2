// The in-delivery loop's wait is watched from the versions the pass read (issue 19 item 1), on the
// real API server: a change that lands between the pass and the start of the wait (here ESO's
// sync, written as ESO writes it, to the status) ends the wait at once. Watched from the
// collection's version at the wait's start instead, it would be missed until the next poll.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { waitForChange } from '../../functions/cluster/watch';
import { listVersionOf, liveInventory } from '../../functions/cluster/inventory';
import { watchTargetsOf } from '../../functions/core/converge';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcilePass } from '../../functions/pipeline/reconcile';

const NS = 'shop';
const ES = `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets`;

describe('the wait is watched from what the pass read (real API server)', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  const admin = (method: string, path: string, body?: object, contentType?: string) =>
    cp.admin(method, path, body, contentType);

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await admin('POST', '/apis/external-secrets.io/v1/clustersecretstores', {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'gcp' },
      spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
    });
    await admin('POST', ES, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db' },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
        target: { name: 'db' },
        data: [{ secretKey: 'password', remoteRef: { key: 'db-password' } }],
      },
    });
    await admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'example.invalid/app:1',
                env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
              },
            ],
          },
        },
      },
    });
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await cp?.stop();
  });

  it("ESO's sync between the pass and the wait ends the wait at once (not at its deadline)", async () => {
    const eventTime = new Date(Date.now() - 60_000).toISOString();
    // ESO last synced before the event, and Rotor already asked it again (so this pass writes
    // nothing: the only change after it is ESO's).
    await admin(
      'PATCH',
      `${ES}/db/status`,
      { status: { refreshTime: new Date(Date.now() - 3_600_000).toISOString() } },
      'application/merge-patch+json',
    );
    await admin(
      'PATCH',
      `${ES}/db`,
      { metadata: { annotations: { 'force-sync': new Date(Date.now() - 30_000).toISOString() } } },
      'application/merge-patch+json',
    );
    const pass = await reconcilePass(
      {
        type: 'SECRET_VERSION_ADD',
        secret: parseSecretName('projects/my-proj/secrets/db-password').id,
        version: '2',
        time: eventTime,
      },
      {},
      {
        clusters: [api],
        projects: new ProjectMap(),
        dryRun: false,
        maxWaitMs: 1_800_000,
        concurrency: 2,
        reload: { retries: 0, backoffMs: 0 },
        logger: memoryLogger(),
      },
    );
    const w = pass.outcome.workloads.find((x) => x.name === 'api');
    assert.equal(w?.result, 'waiting', w?.reason);
    assert.equal(w.waitingFor, 'eso');
    assert.equal(pass.acted, 0, 'the sync was already asked for: nothing written');
    const [target] = pass.waits;
    assert.deepEqual(
      { ...target, resourceVersion: typeof target?.resourceVersion },
      { cluster: 'local', namespace: NS, resource: 'external-secret', name: 'db', resourceVersion: 'string' },
    );

    // ESO answers before the loop starts waiting.
    await admin(
      'PATCH',
      `${ES}/db/status`,
      { status: { refreshTime: new Date().toISOString() } },
      'application/merge-patch+json',
    );
    const end = await waitForChange([api], pass.waits, Date.now() + 5_000, memoryLogger());
    assert.equal(end, 'changed', 'the sync the pass had not seen yet ends the wait');
  });

  it("waited rollouts, watched from the pass's list: another workload's end and a rollout's advance wake nothing; a waited one's end, even before the wait, wakes the pass", async () => {
    const DEPLOYMENTS = `/apis/apps/v1/namespaces/${NS}/deployments`;
    for (const name of ['w1', 'w2', 'w3'])
      await admin('POST', DEPLOYMENTS, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
          },
        },
      });
    // No controller manager here: the controller's status is written as it would write it.
    const status = (name: string, available: number) =>
      admin(
        'PATCH',
        `${DEPLOYMENTS}/${name}/status`,
        {
          status: {
            observedGeneration: 1,
            replicas: 1,
            updatedReplicas: 1,
            readyReplicas: available,
            availableReplicas: available,
          },
        },
        'application/merge-patch+json',
      );
    for (const name of ['w1', 'w2', 'w3']) await status(name, 0);
    // The pass reads the workloads (one list) and waits on w1 and w2's rollouts.
    const inventory = await liveInventory(api);
    const listed = inventory.workloads.filter((w) => w.metadata?.namespace === NS && w.kind === 'Deployment');
    const targets = listed
      .filter((w) => w.metadata?.name === 'w1' || w.metadata?.name === 'w2')
      .flatMap((w) =>
        watchTargetsOf(
          { cluster: 'local', kind: 'Deployment', namespace: NS, name: w.metadata?.name ?? '' },
          { workload: listVersionOf(w) ?? '' },
          'rollout',
          [],
        ),
      );
    assert.equal(targets.length, 2);
    assert.ok(
      targets.every((t) => t.resourceVersion && t.resourceVersion === listVersionOf(listed[0] ?? {})),
    );

    // After the pass: w3 (not waited on) finishes, w1's status is written again still rolling.
    await status('w3', 1);
    await admin(
      'PATCH',
      `${DEPLOYMENTS}/w1/status`,
      { status: { observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 0 } },
      'application/merge-patch+json',
    );
    const quiet = await waitForChange([api], targets, Date.now() + 3_000, memoryLogger());
    assert.equal(quiet, 'deadline', 'nothing waited on ended');

    // w2 finishes before the next wait starts: seen from the list's version, it ends the wait at once.
    await status('w2', 1);
    const end = await waitForChange([api], targets, Date.now() + 20_000, memoryLogger());
    assert.equal(end, 'changed');
  });
});
