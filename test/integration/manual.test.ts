// `manual` on the real control plane: bare Pods and Jobs are found through Rotor's own RBAC and
// reported, never acted on; a workload that says rotor.dev/on-rotate: manual waits for a person
// (acked, not retried) and is restarted once `rotor apply --workload` approves it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { approvals } from '../../functions/cli/apply';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import type { ReconcileConfig } from '../../functions/pipeline/reconcile';

const NS = 'shop';
const DB = 'projects/my-proj/secrets/db-password';

/** A pod spec that mounts db-password from the CSI driver through a subPath: only a restart moves it. */
const podSpec = {
  containers: [
    {
      name: 'app',
      image: 'example.invalid/app:1',
      volumeMounts: [{ name: 's', mountPath: '/etc/db/pw', subPath: 'pw' }],
    },
  ],
  volumes: [
    {
      name: 's',
      csi: {
        driver: 'secrets-store-gke.csi.k8s.io',
        readOnly: true,
        volumeAttributes: { secretProviderClass: 'db' },
      },
    },
  ],
};

describe('manual: reported, never acted on without a person', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  const config = (overrides: Partial<ReconcileConfig> = {}): ReconcileConfig => ({
    clusters: [api],
    projects: new ProjectMap(),
    dryRun: false,
    maxWaitMs: 60_000,
    concurrency: 2,
    reload: { retries: 0, backoffMs: 0 },
    logger: memoryLogger(),
    ...overrides,
  });
  const event = (version: string) => ({
    type: 'SECRET_VERSION_ADD' as const,
    secret: parseSecretName(DB).id,
    version,
    time: new Date().toISOString(),
  });
  const templateAnnotations = async (): Promise<Record<string, string> | undefined> => {
    const d = await cp.admin('GET', `/apis/apps/v1/namespaces/${NS}/deployments/ledger`);
    const spec = d.spec as { template: { metadata?: { annotations?: Record<string, string> } } };
    return spec.template.metadata?.annotations;
  };

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await cp.admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'db' },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${DB}/versions/latest"\n  path: "pw"\n` },
      },
    });
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ledger', annotations: { 'rotor.dev/on-rotate': 'manual' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'ledger' } },
        template: { metadata: { labels: { app: 'ledger' } }, spec: podSpec },
      },
    });
    await cp.admin('POST', `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'debug' },
      spec: podSpec,
    });
    await cp.admin('POST', `/apis/batch/v1/namespaces/${NS}/jobs`, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate' },
      spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } },
    });
    // The Job controller creates the Job's pod; it must be counted under the Job, not as a bare Pod.
    for (let i = 0; ; i++) {
      const pods = await cp.admin('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3Dmigrate`);
      if (Array.isArray(pods.items) && pods.items.length > 0) break;
      if (i > 100) throw new Error('the Job controller created no pod');
      await new Promise((r) => setTimeout(r, 100));
    }
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await cp?.stop();
  });

  it('finds the bare Pod and the Job, reports them awaiting replacement, and holds the manual Deployment', async () => {
    const outcome = await reconcileEvent(event('5'), {}, config());
    const results = outcome.workloads
      .map((w) => [w.kind, w.name, w.action, w.result])
      .sort((a, b) => a[1].localeCompare(b[1]));
    assert.deepEqual(results, [
      ['Pod', 'debug', 'manual', 'awaiting-replacement'],
      ['Deployment', 'ledger', 'manual', 'awaiting-approval'],
      ['Job', 'migrate', 'manual', 'awaiting-replacement'],
    ]);
    assert.equal(outcome.converged, true, 'acked: nothing a redelivery could change');
    assert.equal((await templateAnnotations())?.['kubectl.kubernetes.io/restartedAt'], undefined);
  });

  it('rotor apply --workload shop/ledger restarts it; the Pod and the Job stay manual', async () => {
    const outcome = await reconcileEvent(
      event('6'),
      {},
      config({ approve: approvals(['shop/ledger', 'shop/debug'], false) }),
    );
    const byName = new Map(outcome.workloads.map((w) => [w.name, w.result]));
    assert.equal(byName.get('ledger'), 'restarted');
    assert.equal(
      byName.get('debug'),
      'awaiting-replacement',
      'approving a bare Pod does not make it restartable',
    );
    assert.equal(byName.get('migrate'), 'awaiting-replacement');
    const annotations = await templateAnnotations();
    assert.ok(annotations?.['kubectl.kubernetes.io/restartedAt'], 'the pod template was restarted');
  });
});
