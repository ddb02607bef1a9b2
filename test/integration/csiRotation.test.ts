// CSI without per-pod status on the real control plane: the workload's pods (created by the real
// ReplicaSet controller, marked ready as a kubelet would) have no SecretProviderClassPodStatus, so
// a reload waits the driver's rotation interval after the event, then goes ahead and its reason
// names that evidence. Dry runs: nothing is pinged, every decision is reported.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';

const NS = 'shop';

describe(
  'CSI reload without mount status: the rotation interval is the evidence',
  { timeout: 300_000 },
  () => {
    let cp: ControlPlane;
    let api: KubeApi;
    const reconcileAt = (eventAgoMs: number) =>
      reconcileEvent(
        {
          type: 'SECRET_VERSION_ADD',
          secret: parseSecretName('projects/my-proj/secrets/db-password').id,
          version: '5',
          time: new Date(Date.now() - eventAgoMs).toISOString(),
        },
        {},
        {
          clusters: [api],
          projects: new ProjectMap(),
          dryRun: true,
          maxWaitMs: 30 * 60_000,
          concurrency: 1,
          reload: { retries: 0, backoffMs: 0 },
          logger: memoryLogger(),
          csiRotationIntervalMs: 120_000,
        },
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
        metadata: { name: 'db' },
        spec: {
          provider: 'gke',
          parameters: {
            secrets: '- resourceName: "projects/my-proj/secrets/db-password/versions/latest"\n  path: "pw"\n',
          },
        },
      });
      await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', annotations: { 'rotor.dev/reload-endpoint': '8080/-/reload' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
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
                    readOnly: true,
                    volumeAttributes: { secretProviderClass: 'db' },
                  },
                },
              ],
            },
          },
        },
      });
      const pod = await waitFor(
        async () => {
          const list = await cp.admin('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`);
          const items = Array.isArray(list.items)
            ? (list.items as Array<{ metadata: { name: string } }>)
            : [];
          return items[0]?.metadata.name;
        },
        { timeoutMs: 30_000, what: 'the ReplicaSet controller to create the pod' },
      );
      // What a kubelet reports for a running pod. No CSI driver runs: no SecretProviderClassPodStatus.
      await cp.admin(
        'PATCH',
        `/api/v1/namespaces/${NS}/pods/${pod}/status`,
        {
          status: {
            phase: 'Running',
            podIP: '198.18.0.20',
            podIPs: [{ ip: '198.18.0.20' }],
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
        'application/merge-patch+json',
      );
      api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
    });

    after(async () => {
      api?.close();
      await cp?.stop();
    });

    it('30 s after the event: waits for the rotation interval, not the 30-minute bound', async () => {
      const [w] = (await reconcileAt(30_000)).workloads;
      assert.equal(w.result, 'dry-run', w.reason);
      assert.equal(w.waitingFor, 'csi');
      assert.match(
        w.reason,
        /^would wait, then act: reload waits: no SecretProviderClassPodStatus for the 1 ready pod\(s\) mounting SecretProviderClass shop\/db: waiting the CSI driver's rotation interval \(120s/,
      );
    });

    it('past the interval: reloads, naming the evidence', async () => {
      const [w] = (await reconcileAt(130_000)).workloads;
      assert.equal(w.action, 'reload', w.reason);
      assert.equal(w.detail, 'would POST to 1 ready pod(s)');
      assert.match(
        w.reason,
        /\(evidence: no SecretProviderClassPodStatus for the 1 ready pod\(s\) mounting SecretProviderClass shop\/db, so Rotor waited the driver's rotation interval \(120s\) after the event\)$/,
      );
    });
  },
);
