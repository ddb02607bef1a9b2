// Retirement's view of the clusters, run as the rotation function's own identity: the list-only
// role of infra/k8s/rbac-rotation.yaml is enough to find every version a workload still uses, and
// nothing more (no patches, no Secrets).
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
import { kubeApiFromKubeconfig } from '../../../functions/cluster/inventory';
import type { KubeApi } from '../../../functions/cluster/kubeApi';
import { ProjectMap, parseSecretName } from '../../../functions/core/secretName';
import { clusterPins } from '../../../functions/rotation/clusterPins';
import { ExplainedPins } from '../../../functions/rotation/retire';
import { environmentFromEnv } from '../../../functions/rotation/rotateSecretFunction';
import type { SecretMetadata, SecretVersionInfo } from '../../../functions/secretmanager/types';

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

  it("keeps a version a pod of the revision before Rotor's restart still serves, naming the pod; frees it once none runs", async () => {
    // Pods are made by the real controllers (no scheduler: they stay Pending, which is enough to
    // exist); the Deployment reads db-env through an ExternalSecret into an env variable.
    const ns = 'envs';
    const key = 'projects/my-proj/secrets/db-env';
    await admin('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await admin('POST', '/apis/external-secrets.io/v1/clustersecretstores', {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'gcp-env' },
      spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
    });
    await admin('POST', `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db-env' },
      spec: {
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-env' },
        target: { name: 'db-env' },
        data: [{ secretKey: 'password', remoteRef: { key: 'db-env' } }],
      },
    });
    const deployment = (name: string, applied?: string): object => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name,
        ...(applied ? { annotations: { 'rotor.dev/applied': JSON.stringify({ [key]: applied }) } } : {}),
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'example.invalid/app:1',
                env: [{ name: 'DB', valueFrom: { secretKeyRef: { name: 'db-env', key: 'password' } } }],
              },
            ],
          },
        },
      },
    });
    interface PodList {
      items: Array<{ metadata: { name: string; annotations?: Record<string, string> } }>;
    }
    const pods = async (app: string): Promise<PodList['items']> =>
      (await cp.admin<PodList>('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`)).items;
    const id = parseSecretName(key).id;
    // Version 4 an hour before the pods start, version 5 once they run; 3 is disabled already.
    const versionsAt = (now: number): SecretVersionInfo[] =>
      [3, 4, 5].map((v) => ({
        id,
        version: v,
        name: `${key}/versions/${v}`,
        state: v === 3 ? ('DISABLED' as const) : ('ENABLED' as const),
        createTime: new Date(v === 5 ? now : Date.now() - (6 - v) * 3_600_000),
        etag: '"v"',
      }));
    const pins = clusterPins(() => Promise.resolve([api]), new ProjectMap([['my-proj', '42']]));
    const secret = { id, versionAliases: { current: 5 } } as unknown as SecretMetadata;

    // A workload Rotor never acted on (say it waits for a person's approval): no record, no
    // rollout, no numeric pin; but its pod started on version 4 and still serves it.
    await admin('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment('unacted'));
    await waitFor(async () => (await pods('unacted')).length === 1, { what: 'the unacted pod' });
    const [unacted] = await pods('unacted');
    const byUnacted = await pins(secret, versionsAt(Date.now() + 1000));
    assert.ok(byUnacted instanceof ExplainedPins);
    assert.deepEqual([...byUnacted], [4]);
    assert.equal(
      byUnacted.why.get(4),
      `still served by local ${ns}/Deployment/unacted: pod ${unacted?.metadata.name} Rotor recorded no version on its workload`,
    );
    await cp.admin(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/unacted`,
      { spec: { replicas: 0 } },
      'application/merge-patch+json',
    );
    await waitFor(async () => (await pods('unacted')).length === 0, { what: 'unacted scaled to zero' });

    await admin('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment('envapp', '4'));
    await waitFor(async () => (await pods('envapp')).length === 1, { what: 'the first pod' });
    const [old] = await pods('envapp');
    // Rotor restarts it onto version 5: the new pod never becomes available, so the old one stays.
    const restart = new Date().toISOString();
    await cp.admin(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/envapp`,
      {
        metadata: { annotations: { 'rotor.dev/applied': JSON.stringify({ [key]: '5' }) } },
        spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restart } } } },
      },
      'application/merge-patch+json',
    );
    await waitFor(async () => (await pods('envapp')).length === 2, {
      what: 'the new pod beside the old one',
    });
    const versions = versionsAt(Date.now());
    const held = await pins(secret, versions);
    assert.ok(held instanceof ExplainedPins);
    assert.deepEqual(
      [...held].sort((a, b) => a - b),
      [4, 5],
    );
    // The pod is named first; the rollout that is not done holds it too.
    assert.match(
      held.why.get(4) ?? '',
      new RegExp(
        `^still served by local ${ns}/Deployment/envapp: pod ${old?.metadata.name} of a revision before Rotor's restart to version 5; the rollout of local ${ns}/Deployment/envapp to version 5 is not done`,
      ),
    );

    // Scaled to zero: no pod serves anything; only what rotor.dev/applied records (5) is in use.
    await cp.admin(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/envapp`,
      { spec: { replicas: 0 } },
      'application/merge-patch+json',
    );
    await waitFor(async () => (await pods('envapp')).length === 0, { what: 'no pod left' });
    const freed = await pins(secret, versions);
    assert.deepEqual([...freed], [5]);
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
