// GKE's secret sync on the real control plane (the SecretSync CRD of infra/crds): Rotor, with its
// own RBAC, follows Secret Manager → SecretProviderClass → SecretSync → Secret → Deployment, waits
// while the sync's lastSuccessfulSyncTime predates the event, and restarts once the sync reports.
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
import type { ReconcileConfig } from '../../functions/pipeline/reconcile';

const NS = 'shop';
const SYNC = `/apis/secret-sync.gke.io/v1/namespaces/${NS}/secretsyncs/app-db`;
const seconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

describe('GKE secret sync: restart after the sync reports', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  const eventTime = Date.now() - 60_000;
  const config = (): ReconcileConfig => ({
    clusters: [api],
    projects: new ProjectMap(),
    dryRun: false,
    maxWaitMs: 30 * 60_000,
    concurrency: 1,
    reload: { retries: 0, backoffMs: 0 },
    logger: memoryLogger(),
  });
  const event = {
    type: 'SECRET_VERSION_ADD' as const,
    secret: parseSecretName('projects/my-proj/secrets/db-password').id,
    version: '9',
    time: seconds(eventTime),
  };
  const syncedAt = (ms: number) =>
    cp.admin(
      'PATCH',
      `${SYNC}/status`,
      { status: { lastSuccessfulSyncTime: seconds(ms), syncHash: `h${ms}` } },
      'application/merge-patch+json',
    );

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await cp.admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'app-spc' },
      spec: {
        provider: 'gke',
        parameters: {
          secrets:
            '- resourceName: "projects/my-proj/secrets/db-password/versions/latest"\n  path: "db-password"\n',
        },
      },
    });
    await cp.admin('POST', `/apis/secret-sync.gke.io/v1/namespaces/${NS}/secretsyncs`, {
      apiVersion: 'secret-sync.gke.io/v1',
      kind: 'SecretSync',
      metadata: { name: 'app-db' },
      spec: {
        serviceAccountName: 'app-ksa',
        secretProviderClassName: 'app-spc',
        secretObject: { type: 'Opaque', data: [{ sourcePath: 'db-password', targetKey: 'DB_PASSWORD' }] },
      },
    });
    await syncedAt(eventTime - 120_000);
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
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
                env: [
                  {
                    name: 'DB_PASSWORD',
                    valueFrom: { secretKeyRef: { name: 'app-db', key: 'DB_PASSWORD' } },
                  },
                ],
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

  it('waits while the last sync predates the event', async () => {
    const outcome = await reconcileEvent(event, {}, config());
    const [w] = outcome.workloads;
    assert.equal(w.name, 'api');
    assert.equal(w.result, 'waiting', w.reason);
    assert.equal(w.waitingFor, 'gke-sync');
    assert.match(w.reason, /SecretSync shop\/app-db last synced at .*, not after the event/);
    assert.equal(w.detail, 'forced a sync of SecretSync shop/app-db');
    const forced = await cp.admin('GET', SYNC);
    const at = (forced.spec as { forceSynchronization?: string }).forceSynchronization ?? '';
    assert.ok(Date.parse(at) > eventTime, `spec.forceSynchronization is a time after the event: ${at}`);
  });

  it('restarts once the sync reports a sync after the event', async () => {
    await syncedAt(eventTime + 30_000);
    const outcome = await reconcileEvent(event, {}, config());
    assert.equal(outcome.workloads[0].result, 'restarted', outcome.workloads[0].reason);
    const d = await cp.admin('GET', `/apis/apps/v1/namespaces/${NS}/deployments/api`);
    const template = (d.spec as { template: { metadata: { annotations?: Record<string, string> } } })
      .template;
    assert.ok(template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']);
  });
});
