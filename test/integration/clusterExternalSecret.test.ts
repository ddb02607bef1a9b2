// ClusterExternalSecret on the real control plane: the children ESO created (ExternalSecrets with a
// controller owner reference to it) are followed, each workload once, and forced to sync through
// the parent's spec.externalSecretMetadata.annotations with Rotor's own RBAC (patch only). An
// ExternalSecret that only names the parent (a tenant's, with another uid) cannot make Rotor patch
// it: the owner's uid is the patch's precondition (issue 18).
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

const ESO = '/apis/external-secrets.io/v1';
const NAMESPACES = ['team-a', 'team-b'];

describe(
  'ClusterExternalSecret: children followed and force-synced through the parent',
  { timeout: 300_000 },
  () => {
    let cp: ControlPlane;
    let api: KubeApi;
    const esSpec = {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
      target: { name: 'db' },
      data: [{ secretKey: 'password', remoteRef: { key: 'db-password' } }],
    };

    before(async () => {
      cp = await startControlPlane({ users: ['rotor'] });
      const kc = cp.kubeConfig();
      await installCrds(kc);
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
      await cp.admin('POST', `${ESO}/clustersecretstores`, {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterSecretStore',
        metadata: { name: 'gcp' },
        spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
      });
      const ces = await cp.admin('POST', `${ESO}/clusterexternalsecrets`, {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterExternalSecret',
        metadata: { name: 'db' },
        spec: {
          externalSecretMetadata: { annotations: { team: 'platform' } },
          namespaceSelectors: [{ matchLabels: { db: 'yes' } }],
          externalSecretSpec: esSpec,
        },
      });
      const uid = (ces.metadata as { uid: string }).uid;
      for (const ns of NAMESPACES) {
        await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: ns, labels: { db: 'yes' } } });
        // What ESO's ClusterExternalSecret controller writes into each namespace.
        await cp.admin('POST', `${ESO}/namespaces/${ns}/externalsecrets`, {
          apiVersion: 'external-secrets.io/v1',
          kind: 'ExternalSecret',
          metadata: {
            name: 'db',
            annotations: { team: 'platform' },
            ownerReferences: [
              {
                apiVersion: 'external-secrets.io/v1',
                kind: 'ClusterExternalSecret',
                name: 'db',
                uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: esSpec,
        });
        await cp.admin('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
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
                      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
                    ],
                  },
                ],
              },
            },
          },
        });
      }
      api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
    });

    after(async () => {
      api?.close();
      await cp?.stop();
    });

    it('each namespace`s workload once, waiting on its child; one force-sync on the parent', async () => {
      const outcome = await reconcileEvent(
        {
          type: 'SECRET_VERSION_ADD',
          secret: parseSecretName('projects/my-proj/secrets/db-password').id,
          version: '3',
          time: new Date().toISOString(),
        },
        {},
        {
          clusters: [api],
          projects: new ProjectMap(),
          dryRun: false,
          maxWaitMs: 30 * 60_000,
          concurrency: 1,
          reload: { retries: 0, backoffMs: 0 },
          logger: memoryLogger(),
        },
      );
      assert.deepEqual(outcome.workloads.map((w) => `${w.namespace}/${w.name}:${w.result}`).sort(), [
        'team-a/api:waiting',
        'team-b/api:waiting',
      ]);
      const details = outcome.workloads.map((w) => w.detail).filter((d) => d !== undefined);
      assert.equal(details.length, 1, 'the parent is patched once for both children');
      assert.match(
        details[0],
        /^forced a sync of ClusterExternalSecret db \(parent of ExternalSecret team-[ab]\/db\)$/,
      );
      const ces = await cp.admin('GET', `${ESO}/clusterexternalsecrets/db`);
      const metadata = (ces.spec as { externalSecretMetadata: { annotations: Record<string, string> } })
        .externalSecretMetadata;
      assert.equal(metadata.annotations.team, 'platform', 'the merge patch keeps the other annotations');
      assert.ok(!Number.isNaN(Date.parse(metadata.annotations['force-sync'] ?? '')), 'force-sync is a time');
      for (const ns of NAMESPACES) {
        const child = await cp.admin('GET', `${ESO}/namespaces/${ns}/externalsecrets/db`);
        assert.equal(
          (child.metadata as { annotations: Record<string, string> }).annotations['force-sync'],
          undefined,
          'the child itself is not patched (ESO would revert it)',
        );
      }
    });
    it("a tenant's ExternalSecret naming the ClusterExternalSecret as owner (another uid): the parent is not touched, the ExternalSecret itself is forced", async () => {
      await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: 'team-c' } });
      // A second, real owner keeps the garbage collector from deleting the ExternalSecret whose
      // claimed owner does not exist under that uid.
      const anchor = await cp.admin('POST', '/api/v1/namespaces/team-c/configmaps', {
        metadata: { name: 'anchor' },
      });
      const tenantSpec = {
        ...esSpec,
        data: [{ secretKey: 'password', remoteRef: { key: 'tenant-password' } }],
      };
      await cp.admin('POST', `${ESO}/namespaces/team-c/externalsecrets`, {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: {
          name: 'db',
          ownerReferences: [
            {
              apiVersion: 'external-secrets.io/v1',
              kind: 'ClusterExternalSecret',
              name: 'db',
              uid: '00000000-0000-0000-0000-000000000001',
              controller: true,
            },
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: 'anchor',
              uid: (anchor.metadata as { uid: string }).uid,
            },
          ],
        },
        spec: tenantSpec,
      });
      await cp.admin('POST', '/apis/apps/v1/namespaces/team-c/deployments', {
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
                    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
                  ],
                },
              ],
            },
          },
        },
      });
      const parentBefore = await cp.admin('GET', `${ESO}/clusterexternalsecrets/db`);
      const outcome = await reconcileEvent(
        {
          type: 'SECRET_VERSION_ADD',
          secret: parseSecretName('projects/my-proj/secrets/tenant-password').id,
          version: '2',
          time: new Date().toISOString(),
        },
        {},
        {
          clusters: [api],
          projects: new ProjectMap(),
          dryRun: false,
          maxWaitMs: 30 * 60_000,
          concurrency: 1,
          reload: { retries: 0, backoffMs: 0 },
          logger: memoryLogger(),
        },
      );
      assert.deepEqual(
        outcome.workloads.map((w) => `${w.namespace}/${w.name}:${w.result}`),
        ['team-c/api:waiting'],
      );
      assert.match(
        outcome.workloads[0]?.detail ?? '',
        /^forced a sync of ExternalSecret team-c\/db \(ExternalSecret team-c\/db names ClusterExternalSecret db \(uid 00000000-0000-0000-0000-000000000001\) as its owner, which is not that object \(.*\)\)$/,
      );
      const parentAfter = await cp.admin('GET', `${ESO}/clusterexternalsecrets/db`);
      assert.equal(
        (parentAfter.metadata as { resourceVersion: string }).resourceVersion,
        (parentBefore.metadata as { resourceVersion: string }).resourceVersion,
        'the ClusterExternalSecret is not changed',
      );
      const tenantEs = await cp.admin('GET', `${ESO}/namespaces/team-c/externalsecrets/db`);
      assert.ok(
        !Number.isNaN(
          Date.parse(
            (tenantEs.metadata as { annotations?: Record<string, string> }).annotations?.['force-sync'] ?? '',
          ),
        ),
        'the tenant ExternalSecret itself is forced',
      );
    });
  },
);
