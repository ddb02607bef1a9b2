// An ExternalSecret ESO never refreshes after its first sync (refreshPolicy CreatedOnce), on the
// real control plane: onSecretEvent's reconcile reports it at once (never-synced, acked) instead of
// forcing a sync ESO ignores and waiting out the bound; an ExternalSecret that refreshes still waits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';

const NS = 'shop';
const ESO = '/apis/external-secrets.io/v1';

describe('ExternalSecrets that never refresh: reported at once', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;

  const externalSecret = async (name: string, refresh: Record<string, unknown>): Promise<void> => {
    await cp.admin('POST', `${ESO}/namespaces/${NS}/externalsecrets`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name },
      spec: {
        ...refresh,
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
        target: { name },
        data: [{ secretKey: 'password', remoteRef: { key: 'db-password' } }],
      },
    });
    // ESO's first sync, an hour before the event.
    await cp.admin(
      'PATCH',
      `${ESO}/namespaces/${NS}/externalsecrets/${name}/status`,
      {
        status: {
          refreshTime: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
          syncedResourceVersion: '1-abc',
          conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced' }],
        },
      },
      'application/merge-patch+json',
    );
  };
  const deployment = async (name: string, secretName: string): Promise<void> => {
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
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
                env: [
                  { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: secretName, key: 'password' } } },
                ],
              },
            ],
          },
        },
      },
    });
  };

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await cp.admin('POST', `${ESO}/clustersecretstores`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'gcp' },
      spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
    });
    await externalSecret('once', { refreshPolicy: 'CreatedOnce' });
    await externalSecret('hourly', { refreshInterval: '1h' });
    await deployment('frozen', 'once');
    await deployment('api', 'hourly');
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await cp?.stop();
  });

  it('CreatedOnce: never-synced at the first delivery, no force-sync; the refreshing one waits', async () => {
    const outcome = await reconcileEvent(
      {
        type: 'SECRET_VERSION_ADD',
        secret: parseSecretName('projects/my-proj/secrets/db-password').id,
        version: '4',
        time: new Date().toISOString(),
      },
      {},
      {
        clusters: [api],
        projects: new ProjectMap(),
        dryRun: false,
        maxWaitMs: 30 * 60_000,
        concurrency: 2,
        reload: { retries: 0, backoffMs: 0 },
        logger: memoryLogger(),
      },
    );
    const byName = new Map(outcome.workloads.map((w) => [w.name, w]));
    const frozen = byName.get('frozen');
    assert.equal(frozen?.result, 'never-synced', frozen?.reason);
    assert.match(
      frozen.reason,
      /ExternalSecret shop\/once has refreshPolicy CreatedOnce: ESO does not refresh it/,
    );
    assert.equal(byName.get('api')?.result, 'waiting');
    assert.equal(outcome.pending, 1, 'only the refreshing one is pending');
    const once = await cp.admin('GET', `${ESO}/namespaces/${NS}/externalsecrets/once`);
    const annotations = (once.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    assert.equal(annotations['force-sync'], undefined, 'no force-sync ESO would ignore');
    const hourly = await cp.admin('GET', `${ESO}/namespaces/${NS}/externalsecrets/hourly`);
    assert.ok((hourly.metadata as { annotations?: Record<string, string> }).annotations?.['force-sync']);
  });
});
