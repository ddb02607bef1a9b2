// The local control plane itself: that it is a real cluster in the ways Rotor's tests depend on.
// Controllers react (Deployment -> ReplicaSet), RBAC is enforced for the `rotor` user exactly as
// infra/k8s/rbac.yaml says, the CRDs are served the way Rotor reads them, and a pods/proxy POST
// reaches a server behind a fake pod's IP (the reload ping path).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { V1Deployment } from '@kubernetes/client-node';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { createPodNetwork, podNetworkSkipReason } from '../harness/podNetwork';
import type { PodNetwork } from '../harness/podNetwork';

const NS = 'shop';
const RBAC = join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml');

function deployment(name: string, replicas: number): V1Deployment {
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      },
    },
  };
}

/** The HTTP status of a rejected client-node call (its ApiException carries `code`). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

describe('local control plane', { timeout: 240_000 }, () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane({ users: ['rotor', 'nobody'] });
    const admin = cp.kubeConfig();
    await installCrds(admin);
    await applyManifests(admin, RBAC);
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  });

  after(async () => {
    await cp?.stop();
  });

  it('runs the controller manager: a Deployment gets a ReplicaSet owned by it', async () => {
    const apps = cp.kubeConfig().makeApiClient(AppsV1Api);
    const created = await apps.createNamespacedDeployment({ namespace: NS, body: deployment('web', 0) });
    const rs = await waitFor(
      async () => {
        const list = await apps.listNamespacedReplicaSet({ namespace: NS });
        return list.items.find((r) =>
          r.metadata?.ownerReferences?.some(
            (o) => o.kind === 'Deployment' && o.uid === created.metadata?.uid,
          ),
        );
      },
      { timeoutMs: 30_000, what: 'a ReplicaSet for Deployment web' },
    );
    assert.equal(rs.spec?.replicas, 0);
    assert.equal(rs.spec?.template?.metadata?.labels?.app, 'web');
    // The controller also reports back on the Deployment: its status is observed, not just stored.
    const observed = await waitFor(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
        return (d.status?.observedGeneration ?? 0) >= 1 ? d : undefined;
      },
      { what: 'Deployment web observed' },
    );
    assert.equal(observed.status?.observedGeneration, observed.metadata?.generation);
  });

  it('enforces infra/k8s/rbac.yaml for the rotor user: workloads yes, secrets never', async () => {
    const admin = cp.kubeConfig();
    await admin.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'db-password' }, stringData: { password: 'not-for-rotor' } },
    });
    await admin
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace: NS, body: deployment('api', 0) });

    const rotor = cp.kubeConfigFor('rotor');
    const apps = rotor.makeApiClient(AppsV1Api);
    const core = rotor.makeApiClient(CoreV1Api);

    const all = await apps.listDeploymentForAllNamespaces();
    assert.ok(
      all.items.some((d) => d.metadata?.name === 'api' && d.metadata.namespace === NS),
      'rotor lists deployments cluster-wide',
    );
    assert.equal(await statusOf(apps.listStatefulSetForAllNamespaces()), 200);
    assert.equal(await statusOf(apps.listDaemonSetForAllNamespaces()), 200);
    assert.equal(await statusOf(rotor.makeApiClient(BatchV1Api).listCronJobForAllNamespaces()), 200);
    assert.equal(await statusOf(apps.readNamespacedDeployment({ name: 'api', namespace: NS })), 200);
    assert.equal(await statusOf(core.listPodForAllNamespaces()), 200);

    // Restart-style strategic merge patch of the pod template is allowed. (client-node 1.x sends
    // patches as JSON Patch unless told otherwise: the content type must be set explicitly.)
    const patched = await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: {
          spec: {
            template: {
              metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2030-01-01T00:00:00Z' } },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    assert.equal(
      patched.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
      '2030-01-01T00:00:00Z',
    );

    // ...and nothing about Secrets is: not one, not a list, not a watch.
    assert.equal(await statusOf(core.readNamespacedSecret({ name: 'db-password', namespace: NS })), 403);
    assert.equal(await statusOf(core.listNamespacedSecret({ namespace: NS })), 403);
    assert.equal(await statusOf(core.listSecretForAllNamespaces()), 403);
    const denied = await cp.request('rotor', 'GET', `/api/v1/namespaces/${NS}/secrets/db-password`);
    assert.equal(denied.status, 403);
    assert.match(denied.body, /User \\"rotor\\" cannot get resource \\"secrets\\"/);

    // Least privilege in the other direction too: no deletes, no creates of workloads.
    assert.equal(await statusOf(apps.deleteNamespacedDeployment({ name: 'api', namespace: NS })), 403);
    assert.equal(
      await statusOf(apps.createNamespacedDeployment({ namespace: NS, body: deployment('rogue', 0) })),
      403,
    );
    assert.equal(await statusOf(core.listNamespace()), 403);
  });

  it('serves the CRDs with upstream names, versions, scopes and subresources; rotor may read them', async () => {
    const admin = cp.kubeConfig().makeApiClient(CustomObjectsApi);
    const rotor = cp.kubeConfigFor('rotor').makeApiClient(CustomObjectsApi);
    const eso = 'external-secrets.io';

    // ClusterSecretStore is cluster-scoped; v1 objects read back through v1beta1 too.
    await admin.createClusterCustomObject({
      group: eso,
      version: 'v1',
      plural: 'clustersecretstores',
      body: {
        apiVersion: `${eso}/v1`,
        kind: 'ClusterSecretStore',
        metadata: { name: 'gcp' },
        spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
      },
    });
    // Rotor lists (its role has no `get` on stores: it never reads one by name).
    const viaBeta = (await rotor.listClusterCustomObject({
      group: eso,
      version: 'v1beta1',
      plural: 'clustersecretstores',
    })) as {
      apiVersion: string;
      items: Array<{ metadata: { name: string }; spec: { provider: { gcpsm: { projectID: string } } } }>;
    };
    assert.equal(viaBeta.apiVersion, `${eso}/v1beta1`);
    assert.deepEqual(
      viaBeta.items.map((i) => [i.metadata.name, i.spec.provider.gcpsm.projectID]),
      [['gcp', 'my-proj']],
    );

    // ExternalSecret: status is a subresource, so a main-resource write ignores status and the
    // /status endpoint sets it; rotor may patch the force-sync annotation.
    await admin.createNamespacedCustomObject({
      group: eso,
      version: 'v1',
      namespace: NS,
      plural: 'externalsecrets',
      body: {
        apiVersion: `${eso}/v1`,
        kind: 'ExternalSecret',
        metadata: { name: 'db' },
        spec: {
          secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
          target: { name: 'db-password' },
          data: [{ secretKey: 'password', remoteRef: { key: 'db-password' } }],
        },
        status: { refreshTime: 'ignored-on-create' },
      },
    });
    const statusWrite = await cp.request(
      'admin',
      'PATCH',
      `/apis/${eso}/v1/namespaces/${NS}/externalsecrets/db/status`,
      {
        contentType: 'application/merge-patch+json',
        body: { status: { syncedResourceVersion: '1-abc' } },
      },
    );
    assert.equal(statusWrite.status, 200, statusWrite.body);
    const forceSync = await cp.request(
      'rotor',
      'PATCH',
      `/apis/${eso}/v1/namespaces/${NS}/externalsecrets/db`,
      {
        contentType: 'application/merge-patch+json',
        body: { metadata: { annotations: { 'force-sync': '1' } } },
      },
    );
    assert.equal(forceSync.status, 200, forceSync.body);
    const es = JSON.parse(forceSync.body) as {
      metadata: { annotations: Record<string, string> };
      status: Record<string, string>;
    };
    assert.equal(es.metadata.annotations['force-sync'], '1');
    assert.deepEqual(es.status, { syncedResourceVersion: '1-abc' });
    // ...but rotor may not write status (the operator's job).
    const rotorStatus = await cp.request(
      'rotor',
      'PATCH',
      `/apis/${eso}/v1/namespaces/${NS}/externalsecrets/db/status`,
      {
        contentType: 'application/merge-patch+json',
        body: { status: { syncedResourceVersion: 'forged' } },
      },
    );
    assert.equal(rotorStatus.status, 403);

    // SecretProviderClass: parameters are strings (the `secrets` YAML rides in one), served as v1 and v1alpha1.
    await admin.createNamespacedCustomObject({
      group: 'secrets-store.csi.x-k8s.io',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'secretproviderclasses',
      body: {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1alpha1',
        kind: 'SecretProviderClass',
        metadata: { name: 'app-secrets' },
        spec: {
          provider: 'gcp',
          parameters: { secrets: '- resourceName: projects/p/secrets/s/versions/latest\n  path: s.txt\n' },
        },
      },
    });
    const spcs = (await rotor.listCustomObjectForAllNamespaces({
      group: 'secrets-store.csi.x-k8s.io',
      version: 'v1',
      plural: 'secretproviderclasses',
    })) as {
      items: Array<{ spec: { parameters: { secrets: string } } }>;
    };
    assert.equal(spcs.items.length, 1);
    assert.match(spcs.items[0].spec.parameters.secrets, /resourceName: projects\/p\/secrets\/s/);
    const badSpc = await cp.request(
      'admin',
      'POST',
      `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`,
      {
        body: {
          apiVersion: 'secrets-store.csi.x-k8s.io/v1',
          kind: 'SecretProviderClass',
          metadata: { name: 'bad' },
          spec: { parameters: { secrets: [] } },
        },
      },
    );
    assert.equal(badSpc.status, 422, 'a non-string parameter is rejected as by the real CRD');

    // SecretProviderClassPodStatus: no status subresource, the driver writes status on create.
    await admin.createNamespacedCustomObject({
      group: 'secrets-store.csi.x-k8s.io',
      version: 'v1',
      namespace: NS,
      plural: 'secretproviderclasspodstatuses',
      body: {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClassPodStatus',
        metadata: { name: 'api-1-shop-app-secrets' },
        status: {
          podName: 'api-1',
          secretProviderClassName: 'app-secrets',
          mounted: true,
          objects: [
            { id: 'projects/p/secrets/s/versions/latest', version: 'projects/p/secrets/s/versions/7' },
          ],
        },
      },
    });
    const podStatuses = (await rotor.listNamespacedCustomObject({
      group: 'secrets-store.csi.x-k8s.io',
      version: 'v1',
      namespace: NS,
      plural: 'secretproviderclasspodstatuses',
    })) as { items: Array<{ metadata: { name: string }; status: { objects: Array<{ version: string }> } }> };
    const podStatus = podStatuses.items.find((i) => i.metadata.name === 'api-1-shop-app-secrets');
    assert.equal(podStatus?.status.objects[0]?.version, 'projects/p/secrets/s/versions/7');

    // Argo Rollout: scale subresource maps spec.replicas; rotor may restart it via spec.restartAt.
    await admin.createNamespacedCustomObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'rollouts',
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'canary' },
        spec: { replicas: 3, template: { spec: { containers: [{ name: 'app', image: 'x' }] } } },
      },
    });
    const scale = await cp.request(
      'admin',
      'GET',
      `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts/canary/scale`,
    );
    assert.equal(scale.status, 200, scale.body);
    assert.equal((JSON.parse(scale.body) as { spec: { replicas: number } }).spec.replicas, 3);
    const restart = await cp.request(
      'rotor',
      'PATCH',
      `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts/canary`,
      {
        contentType: 'application/merge-patch+json',
        body: { spec: { restartAt: '2030-01-01T00:00:00Z' } },
      },
    );
    assert.equal(restart.status, 200, restart.body);

    // Short names and categories, as kubectl users type them.
    const discovery = await cp.request('rotor', 'GET', `/apis/${eso}/v1`);
    const resources = (
      JSON.parse(discovery.body) as {
        resources: Array<{ name: string; shortNames?: string[]; namespaced: boolean }>;
      }
    ).resources;
    const byName = new Map(resources.map((r) => [r.name, r]));
    assert.deepEqual(byName.get('externalsecrets')?.shortNames, ['es']);
    assert.deepEqual(byName.get('secretstores')?.shortNames, ['ss']);
    assert.deepEqual(byName.get('clustersecretstores')?.shortNames, ['css']);
    assert.equal(byName.get('clustersecretstores')?.namespaced, false);
    assert.equal(byName.get('secretstores')?.namespaced, true);
  });

  // Skipped without CAP_NET_ADMIN, except under CI: there createPodNetwork fails the hook, saying why.
  describe('pod proxy to a fake pod in a network namespace', { skip: podNetworkSkipReason() }, () => {
    let net: PodNetwork;

    before(async () => {
      net = await createPodNetwork();
    });

    after(async () => {
      await net?.close();
    });

    /** A Pod that looks running and ready at `ip`, the way a kubelet would report it. */
    async function fakePod(name: string, ip: string): Promise<void> {
      const created = await cp.request('admin', 'POST', `/api/v1/namespaces/${NS}/pods`, {
        body: {
          metadata: { name, labels: { app: 'api' } },
          spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
        },
      });
      assert.equal(created.status, 201, created.body);
      const status = await cp.request('admin', 'PATCH', `/api/v1/namespaces/${NS}/pods/${name}/status`, {
        contentType: 'application/merge-patch+json',
        body: {
          status: {
            phase: 'Running',
            podIP: ip,
            podIPs: [{ ip }],
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
      });
      assert.equal(status.status, 200, status.body);
    }

    it('delivers the rotor user POST through the API server to the pod IP, and relays the answer', async () => {
      const server = await net.startServer({ port: 8080 });
      const secondIp = await net.addPodIp();
      await fakePod('api-1', net.podIp);
      await fakePod('api-2', secondIp);

      const first = await cp.request(
        'rotor',
        'POST',
        `/api/v1/namespaces/${NS}/pods/api-1:8080/proxy/-/reload?reason=rotation`,
        {
          body: '{"secret":"db-password"}',
        },
      );
      assert.equal(first.status, 200, first.body);
      assert.equal(first.body, 'ok\n');

      // The pod's answer comes back unchanged, errors included: what a reload ping's retry decides on.
      await server.queueResponses({ status: 503, body: 'reloading' });
      const second = await cp.request(
        'rotor',
        'POST',
        `/api/v1/namespaces/${NS}/pods/api-2:8080/proxy/-/reload`,
      );
      assert.equal(second.status, 503);
      assert.equal(second.body, 'reloading');

      const [a, b] = await server.waitForRequests(2);
      assert.equal(a?.method, 'POST');
      assert.equal(a?.url, '/-/reload?reason=rotation');
      assert.equal(a?.body, '{"secret":"db-password"}');
      assert.equal(a?.localAddress, net.podIp);
      // The API server strips the caller's credentials before proxying.
      assert.equal(a?.headers.authorization, undefined);
      assert.equal(b?.localAddress, secondIp);
    });

    it('is refused by the API server for a loopback pod IP (why the network namespace exists)', async () => {
      await fakePod('local', '127.0.0.1');
      const r = await cp.request('rotor', 'POST', `/api/v1/namespaces/${NS}/pods/local:8080/proxy/-/reload`);
      assert.equal(r.status, 400);
      assert.match(r.body, /address not allowed/);
    });

    it('takes exactly pods/proxy create: other users and other verbs are forbidden', async () => {
      const stranger = await cp.request(
        'nobody',
        'POST',
        `/api/v1/namespaces/${NS}/pods/api-1:8080/proxy/-/reload`,
      );
      assert.equal(stranger.status, 403);
      const r = await cp.request('admin', 'GET', `/apis/rbac.authorization.k8s.io/v1/clusterroles/rotor`);
      const role = JSON.parse(r.body) as { rules: Array<{ resources: string[]; verbs: string[] }> };
      assert.deepEqual(role.rules.find((rule) => rule.resources.includes('pods/proxy'))?.verbs, ['create']);
      // GET through the proxy is a different verb (get) and is not granted.
      const get = await cp.request('rotor', 'GET', `/api/v1/namespaces/${NS}/pods/api-1:8080/proxy/-/reload`);
      assert.equal(get.status, 403);
    });
  });
});
