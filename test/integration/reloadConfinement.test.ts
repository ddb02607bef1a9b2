// Issue 9 item 1 against the real API server: a tenant's rotor.dev/reload-endpoint cannot make
// Rotor (cluster-wide pods/proxy) POST to another pod. The attack is shown to be real first (the
// path, normalised as a URL client does, reaches a pod in another namespace through the API server
// with Rotor's own permissions); then neither the decision (the annotation is rejected: restart)
// nor the request (an endpoint that skipped the parser is refused before it is sent) lets anything
// reach that pod, while a valid endpoint still reloads.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { createPodNetwork, podNetworkSkipReason } from '../harness/podNetwork';
import type { PodNetwork, PodServer } from '../harness/podNetwork';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { reloadPods } from '../../functions/cluster/actions';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import type { ReconcileConfig } from '../../functions/pipeline/reconcile';
import { memoryLogger } from '../../functions/log';

const NS = 'shop';
const VICTIM_NS = 'victim';
const SECRET = 'projects/my-proj/secrets/db-password';
/** From the security review: climb out of web-1's proxy to another pod's admin port. */
const CLIMB = `8080/../../../../${VICTIM_NS}/pods/coredns-abc:9153/proxy/admin/shutdown`;

describe('reload endpoint confinement on the real API server', { timeout: 600_000 }, () => {
  const unsupported = podNetworkSkipReason();
  let cp: ControlPlane;
  let api: KubeApi;
  let net: PodNetwork | undefined;
  let web: PodServer | undefined;
  let victim: PodServer | undefined;
  let victimIp = '';

  const admin = (method: string, path: string, body?: object, contentType?: string): Promise<KubeObject> =>
    cp.admin<KubeObject>(method, path, body, contentType);

  const fakePod = async (ns: string, name: string, ip: string, port: number): Promise<void> => {
    await admin('POST', `/api/v1/namespaces/${ns}/pods`, {
      metadata: { name, labels: { app: name.replace(/-[^-]+$/, '') } },
      spec: {
        containers: [{ name: 'app', image: 'example.invalid/app:1', ports: [{ containerPort: port }] }],
      },
    });
    await admin(
      'PATCH',
      `/api/v1/namespaces/${ns}/pods/${name}/status`,
      {
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      },
      'application/merge-patch+json',
    );
  };

  const mounted = async (version: number): Promise<void> => {
    const name = `web-1-${NS}-db`;
    const status = {
      podName: 'web-1',
      secretProviderClassName: 'db',
      mounted: true,
      objects: [
        {
          id: `${SECRET}/versions/latest`,
          version: `projects/123456789012/secrets/db-password/versions/${version}`,
        },
      ],
    };
    const path = `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasspodstatuses`;
    if ((await cp.request('admin', 'GET', `${path}/${name}`)).status === 404)
      await admin('POST', path, {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClassPodStatus',
        metadata: { name, namespace: NS },
        status,
      });
    else await admin('PATCH', `${path}/${name}`, { status }, 'application/merge-patch+json');
  };

  const webDeployment = (endpoint: string): object => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS, annotations: { 'rotor.dev/reload-endpoint': endpoint } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example.invalid/app:1',
              ports: [{ containerPort: 8080 }],
              volumeMounts: [{ name: 'secrets', mountPath: '/var/secrets' }],
            },
          ],
          volumes: [
            {
              name: 'secrets',
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

  const config = (): ReconcileConfig => ({
    clusters: [api],
    projects: new ProjectMap([['my-proj', '123456789012']]),
    dryRun: false,
    maxWaitMs: 600_000,
    concurrency: 2,
    reload: { retries: 0, backoffMs: 10 },
    logger: memoryLogger(),
    namespaces: { allow: [NS] },
  });
  const versionAdd = (version: string) => ({
    type: 'SECRET_VERSION_ADD' as const,
    secret: parseSecretName(SECRET).id,
    version,
    time: new Date(Date.now() - 1000).toISOString(),
  });

  before(async () => {
    if (unsupported) return;
    cp = await startControlPlane({ users: ['rotor'], controllerManager: false });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    for (const ns of [NS, VICTIM_NS]) await admin('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'db', namespace: NS },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${SECRET}/versions/latest"\n  path: "pw"\n` },
      },
    });
    net = await createPodNetwork();
    web = await net.startServer({ port: 8080 });
    victim = await net.startServer({ port: 9153 });
    victimIp = await net.addPodIp();
    await fakePod(NS, 'web-1', net.podIp, 8080);
    await fakePod(VICTIM_NS, 'coredns-abc', victimIp, 9153);
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await web?.close();
    await victim?.close();
    await net?.close();
    await cp?.stop();
  });

  it(
    'the attack is real: the climbing path, normalised by a URL client, reaches the victim pod as rotor',
    { skip: unsupported },
    async () => {
      const naive = `/api/v1/namespaces/${NS}/pods/web-1:8080/proxy/${CLIMB.slice('8080/'.length)}`;
      const normalised = new URL(naive, cp.server).pathname;
      assert.equal(normalised, `/api/v1/namespaces/${VICTIM_NS}/pods/coredns-abc:9153/proxy/admin/shutdown`);
      const r = await cp.request('rotor', 'POST', normalised, { body: '', contentType: 'text/plain' });
      assert.equal(r.status, 200, r.body);
      const [hit] = await victim!.waitForRequests(1, 10_000);
      assert.equal(`${hit?.method} ${hit?.url} ${hit?.localAddress}`, `POST /admin/shutdown ${victimIp}`);
      victim!.requests.length = 0;
    },
  );

  it(
    'the annotation is rejected: Rotor restarts instead, and the victim receives nothing',
    { skip: unsupported },
    async () => {
      await admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, webDeployment(CLIMB));
      await mounted(20);
      const outcome = await reconcileEvent(versionAdd('20'), {}, config());
      const w = outcome.workloads.find((x) => x.name === 'web');
      assert.equal(w?.result, 'restarted', w?.reason);
      assert.match(
        w?.reason ?? '',
        /^rotor\.dev\/reload-endpoint was rejected \(the path has a "\.\." segment\), so /,
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(victim!.requests.length, 0, 'the pod in the other namespace received nothing');
      assert.equal(web!.requests.length, 0, 'nothing was POSTed at all');
    },
  );

  it(
    'an endpoint that skipped the parser is refused at the request, before it is sent',
    { skip: unsupported },
    async () => {
      const pod = await admin('GET', `/api/v1/namespaces/${NS}/pods/web-1`);
      for (const path of [
        CLIMB.slice('8080'.length),
        `/%2e%2e/%2e%2e/%2e%2e/%2e%2e/${VICTIM_NS}/pods/coredns-abc:9153/proxy/admin/shutdown`,
        `/..\\..\\..\\..\\${VICTIM_NS}\\pods\\coredns-abc:9153\\proxy\\admin\\shutdown`,
        '/-/reload?x=1',
      ]) {
        const [r] = await reloadPods(api, NS, [pod], { port: '8080', path }, { retries: 2, backoffMs: 1 });
        assert.equal(r?.ok, false, path);
        assert.match(
          r?.error ?? '',
          /refused: (its normalised path leaves \/api\/v1\/namespaces\/shop\/pods\/web-1%3A8080\/proxy\/|it carries a query string)$/,
          path,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(victim!.requests.length, 0, 'the pod in the other namespace received nothing');
      assert.equal(web!.requests.length, 0, 'nor did the pod itself');
    },
  );

  it('a valid endpoint still reloads the pod through the proxy', { skip: unsupported }, async () => {
    await admin(
      'PATCH',
      `/apis/apps/v1/namespaces/${NS}/deployments/web`,
      { metadata: { annotations: { 'rotor.dev/reload-endpoint': '8080/-/reload' } } },
      'application/merge-patch+json',
    );
    // Rotor pings only the Deployment's own pods (controller owner references through its
    // ReplicaSet). This test runs no controller manager, so it writes that chain itself.
    const deployment = await admin('GET', `/apis/apps/v1/namespaces/${NS}/deployments/web`);
    const rs = await admin('POST', `/apis/apps/v1/namespaces/${NS}/replicasets`, {
      metadata: {
        name: 'web-1a2b3c',
        labels: { app: 'web' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'web',
            uid: deployment.metadata?.uid,
            controller: true,
          },
        ],
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
        },
      },
    });
    await admin(
      'PATCH',
      `/api/v1/namespaces/${NS}/pods/web-1`,
      {
        metadata: {
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: 'web-1a2b3c',
              uid: rs.metadata?.uid,
              controller: true,
            },
          ],
        },
      },
      'application/merge-patch+json',
    );
    await mounted(21);
    const outcome = await reconcileEvent(versionAdd('21'), {}, config());
    const w = outcome.workloads.find((x) => x.name === 'web');
    assert.equal(w?.result, 'reloaded', w?.reason);
    const [hit] = await web!.waitForRequests(1, 10_000);
    assert.equal(`${hit?.method} ${hit?.url} ${hit?.localAddress}`, `POST /-/reload ${net!.podIp}`);
    assert.equal(victim!.requests.length, 0);
  });
});
