// Retirement's view of the clusters, run as the rotation function's own identity: the list-only
// role of infra/k8s/rbac-rotation.yaml is enough to find every version a workload still uses, and
// nothing more (no patches, no Secrets).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../../harness/controlPlane';
import type { ControlPlane } from '../../harness/controlPlane';
import { kubeApiFromKubeconfig } from '../../../functions/cluster/inventory';
import type { KubeApi } from '../../../functions/cluster/kubeApi';
import { ProjectMap, parseSecretName } from '../../../functions/core/secretName';
import { clusterPins } from '../../../functions/rotation/clusterPins';
import { environmentFromEnv } from '../../../functions/rotation/rotateSecretFunction';
import type { SecretMetadata } from '../../../functions/secretmanager/types';

const NS = 'shop';

function csiDeployment(name: string, spc: string, applied?: string): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      ...(applied
        ? { annotations: { 'rotor.dev/applied': JSON.stringify({ 'projects/my-proj/secrets/db': applied }) } }
        : {}),
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image: 'example.invalid/app:1', volumeMounts: [{ name: 's', mountPath: '/s' }] },
          ],
          volumes: [
            {
              name: 's',
              csi: { driver: 'secrets-store-gke.csi.k8s.io', volumeAttributes: { secretProviderClass: spc } },
            },
          ],
        },
      },
    },
  };
}

describe('cluster pins as the rotation identity (infra/k8s/rbac-rotation.yaml)', { timeout: 240_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  const admin = async (method: string, path: string, body?: object): Promise<void> => {
    await cp.admin(method, path, body);
  };

  before(async () => {
    cp = await startControlPlane({ users: ['rotor-rotation'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac-rotation.yaml'));
    await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    const spc = (name: string, version: string) => ({
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name },
      spec: {
        provider: 'gke',
        parameters: {
          secrets: `- resourceName: projects/my-proj/secrets/db/versions/${version}\n  path: db\n`,
        },
      },
    });
    await admin(
      'POST',
      `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`,
      spc('pinned', '3'),
    );
    await admin(
      'POST',
      `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`,
      spc('latest', 'latest'),
    );
    await admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, csiDeployment('old', 'pinned'));
    await admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, csiDeployment('moved', 'latest', '9'));
    await admin(
      'POST',
      `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasspodstatuses`,
      {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClassPodStatus',
        metadata: { name: `moved-1-${NS}-latest` },
        status: {
          podName: 'moved-1',
          secretProviderClassName: 'latest',
          objects: [
            {
              id: 'projects/my-proj/secrets/db/versions/latest',
              version: 'projects/42/secrets/db/versions/8',
            },
          ],
        },
      },
    );
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor-rotation'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await cp?.stop();
  });

  it('finds the numeric pin, the last applied version and the mounted version with list permissions only', async () => {
    const pins = clusterPins(() => Promise.resolve([api]), new ProjectMap([['my-proj', '42']]));
    const secret = { id: parseSecretName('projects/my-proj/secrets/db').id } as SecretMetadata;
    const found = await pins(secret, []);
    assert.deepEqual(
      [...found].sort((a, b) => a - b),
      [3, 8, 9],
    );
  });

  it('as rotateSecret configures it: namespaces ROTOR_NAMESPACES / ROTOR_EXCLUDE_NAMESPACES leave out still count', async () => {
    // The allow and deny lists limit where Rotor acts; a version pinned where it may not act is
    // still in use, and disabling it would break that workload's next mount.
    const { pinnedVersions } = environmentFromEnv({
      ROTOR_CLUSTERS: `kubeconfig:${cp.kubeconfigPathFor('rotor-rotation')}`,
      ROTOR_NAMESPACES: 'team-*',
      ROTOR_EXCLUDE_NAMESPACES: NS,
      ROTOR_PROJECT_MAP: 'my-proj=42',
      ROTOR_SECRET_MANAGER_ENDPOINT: '127.0.0.1:9',
    });
    assert.ok(pinnedVersions, 'with ROTOR_CLUSTERS set, retirement asks the clusters');
    const secret = { id: parseSecretName('projects/my-proj/secrets/db').id } as SecretMetadata;
    const found = await pinnedVersions(secret, []);
    assert.deepEqual(
      [...found].sort((a, b) => a - b),
      [3, 8, 9],
    );
  });

  it('may not patch workloads or read Secrets', async () => {
    const patch = await cp.request(
      'rotor-rotation',
      'PATCH',
      `/apis/apps/v1/namespaces/${NS}/deployments/old`,
      { body: { metadata: { labels: { x: 'y' } } }, contentType: 'application/merge-patch+json' },
    );
    assert.equal(patch.status, 403);
    const secrets = await cp.request('rotor-rotation', 'GET', `/api/v1/namespaces/${NS}/secrets`);
    assert.equal(secrets.status, 403);
  });
});
