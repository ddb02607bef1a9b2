// Rotation keeps its way back, on the real control plane as the rotation identity: a dependent
// whose rollout to the new version is halted (its pods crashloop until ProgressDeadlineExceeded,
// written by the real deployment controller from the kubelet stand-in's pods) keeps the previous
// version enabled; once the rollout is healthy, the previous version retires.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import {
  applyManifests,
  installCrds,
  REPO_ROOT,
  startControlPlane,
  waitFor,
} from '../../harness/controlPlane';
import type { ControlPlane } from '../../harness/controlPlane';
import { startKubelet } from '../../harness/kubelet';
import type { Kubelet } from '../../harness/kubelet';
import { kubeApiFromKubeconfig } from '../../../functions/cluster/inventory';
import type { KubeApi } from '../../../functions/cluster/kubeApi';
import { ProjectMap } from '../../../functions/core/secretName';
import { clusterPins } from '../../../functions/rotation/clusterPins';
import { planRetirement } from '../../../functions/rotation/retire';
import type { SecretMetadata, SecretVersionInfo } from '../../../functions/secretmanager/types';

const NS = 'shop';
const H = 3_600_000;
const t0 = Date.parse('2030-01-01T00:00:00Z');
const id = { project: 'my-proj', secret: 'db' };
const versions: SecretVersionInfo[] = [1, 2, 3].map((v) => ({
  id,
  version: v,
  name: `projects/my-proj/secrets/db/versions/${v}`,
  state: 'ENABLED' as const,
  createTime: new Date(t0 + v * H),
  etag: '"v"',
}));
// Rotated from 2 to 3, grace long over: without the hold, 1 and 2 would both be disabled.
const secret: SecretMetadata = {
  id,
  name: 'projects/my-proj/secrets/db',
  etag: '"e"',
  labels: {},
  annotations: {},
  versionAliases: { current: 3, previous: 2 },
  topics: [],
};

interface DeploymentView {
  metadata?: { generation?: number };
  status?: {
    observedGeneration?: number;
    availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}

describe(
  'a halted rollout keeps the previous version enabled (rotation identity)',
  { timeout: 240_000 },
  () => {
    let cp: ControlPlane;
    let api: KubeApi;
    let kubelet: Kubelet;
    const get = (): Promise<DeploymentView> =>
      cp.admin<DeploymentView>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/api`);

    before(async () => {
      cp = await startControlPlane({ users: ['rotor-rotation'] });
      const kc = cp.kubeConfig();
      await installCrds(kc);
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac-rotation.yaml'));
      await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      await cp.admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClass',
        metadata: { name: 'db' },
        spec: {
          provider: 'gke',
          parameters: {
            secrets: '- resourceName: projects/my-proj/secrets/db/versions/latest\n  path: db\n',
          },
        },
      });
      // The new value breaks the app: its pods crashloop.
      kubelet = await startKubelet(cp, {
        namespace: NS,
        pollMs: 100,
        policy: () => ({ kind: 'crashloop', restartCount: 3 }),
      });
      await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'api',
          annotations: { 'rotor.dev/applied': JSON.stringify({ 'projects/my-proj/secrets/db': '3' }) },
        },
        spec: {
          replicas: 1,
          progressDeadlineSeconds: 2,
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'example.invalid/app:1',
                  volumeMounts: [{ name: 's', mountPath: '/s' }],
                },
              ],
              volumes: [
                {
                  name: 's',
                  csi: {
                    driver: 'secrets-store-gke.csi.k8s.io',
                    volumeAttributes: { secretProviderClass: 'db' },
                  },
                },
              ],
            },
          },
        },
      });
      api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor-rotation'), undefined, 'local');
    });

    after(async () => {
      api?.close();
      await kubelet?.stop();
      await cp?.stop();
    });

    it('halted: version 2 is kept, saying which rollout holds it; healthy: version 2 retires', async () => {
      await waitFor(
        async () =>
          (await get()).status?.conditions?.some(
            (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
          ),
        { timeoutMs: 60_000, what: `ProgressDeadlineExceeded (${kubelet.lastError()})` },
      );
      const pins = clusterPins(() => Promise.resolve([api]), new ProjectMap([['my-proj', '42']]));
      const held = await planRetirement(secret, versions, 0, new Date(t0 + 100 * H), pins);
      assert.deepEqual(
        held.disable.map((v) => v.version),
        [1],
      );
      const kept = held.kept.find((k) => k.version === 2);
      assert.ok(kept, JSON.stringify(held.kept));
      assert.match(
        kept.why,
        /^the rollout of local shop\/Deployment\/api to version 3 is halted \(.*ProgressDeadlineExceeded/,
      );

      // Fixed: the pods come up, the controller reports the rollout done, the way back may close.
      kubelet.setPolicy(() => ({ kind: 'ready' }));
      await waitFor(
        async () => {
          const d = await get();
          return (
            (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
            d.status?.availableReplicas === 1 &&
            d.status.conditions?.some(
              (c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable',
            )
          );
        },
        { timeoutMs: 60_000, what: 'api available' },
      );
      const retired = await planRetirement(secret, versions, 0, new Date(t0 + 100 * H), pins);
      assert.deepEqual(
        retired.disable.map((v) => v.version),
        [1, 2],
      );
    });
  },
);
