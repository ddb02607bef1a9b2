// Reaching clusters the way the function does in Google Cloud, against the real local API server:
// a GKE cluster name resolved through (a faithful local stand-in of) the GKE API's clusters.get,
// a Connect Gateway membership through a path-prefix gateway, and kubeconfig files for the CLI.
// The GKE and Connect Gateway APIs cannot run here; their stand-ins speak the same wire protocol
// (paths, JSON fields, bearer tokens) and forward to the real kube-apiserver.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { GOOGLE_SCOPES, connectCluster, parseClusterSpec } from '../../functions/cluster/access';
import { liveInventory } from '../../functions/cluster/inventory';
import { ProjectMap } from '../../functions/core/secretName';
import { main } from '../../functions/cli/main';
import type { CliIo } from '../../functions/cli/io';

const NS = 'shop';

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function capture(env: NodeJS.ProcessEnv = {}): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    stdout: (s: string) => void (io.out += s),
    stderr: (s: string) => void (io.err += s),
  };
  return io;
}

describe('cluster access: GKE API, Connect Gateway, kubeconfig', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let token: string;
  const servers: http.Server[] = [];
  const seen: Array<{ path: string; auth: string | undefined }> = [];

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.request('admin', 'POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'examples', '30-secret-provider-classes.yaml'));
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'examples', '10-secret-stores.yaml'));
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'examples', '20-external-secrets.yaml'));
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'examples', '40-workloads.yaml'));
    for (const f of ['50-manual.yaml', '60-refresh-once.yaml', '80-gke-secret-sync.yaml'])
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'examples', f));
    // The ClusterExternalSecret, and the child ESO would create from it in shop (no ESO runs here).
    const [ces] = await applyManifests(
      kc,
      join(REPO_ROOT, 'infra', 'examples', '70-cluster-external-secret.yaml'),
    );
    const cesSpec = (ces as { spec?: { externalSecretSpec?: Record<string, unknown> } }).spec;
    await cp.admin('POST', `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: {
        name: 'db-shared',
        ownerReferences: [
          {
            apiVersion: 'external-secrets.io/v1',
            kind: 'ClusterExternalSecret',
            name: 'db-shared',
            uid: ces.metadata?.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: cesSpec?.externalSecretSpec,
    });
    token = cp.tokenFor('rotor');
  });

  after(async () => {
    for (const s of servers) s.close();
    await cp?.stop();
  });

  /** GKE API clusters.get: only for the right bearer token, with the fields Rotor reads. */
  async function fakeGkeApi(): Promise<string> {
    const apiserver = new URL(cp.server);
    const server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      if (req.headers.authorization !== `Bearer ${token}`) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 401, status: 'UNAUTHENTICATED' } }));
        return;
      }
      if (req.url === '/v1/projects/my-proj/locations/europe-west1/clusters/prod') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            name: 'prod',
            endpoint: apiserver.host,
            masterAuth: { clusterCaCertificate: Buffer.from(cp.caPem).toString('base64') },
            controlPlaneEndpointsConfig: {
              dnsEndpointConfig: { endpoint: `localhost:${apiserver.port}`, allowExternalTraffic: true },
            },
          }),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: { code: 404, message: `cluster ${req.url} not found`, status: 'NOT_FOUND' },
        }),
      );
    });
    servers.push(server);
    return listen(server);
  }

  it('asks Google for tokens that carry the userinfo.email scope (so RBAC on the SA email matches)', () => {
    assert.ok(GOOGLE_SCOPES.includes('https://www.googleapis.com/auth/userinfo.email'));
    assert.ok(GOOGLE_SCOPES.includes('https://www.googleapis.com/auth/cloud-platform'));
  });

  it('connects to a GKE cluster by name: endpoint and CA from clusters.get, a bearer token per request', async () => {
    const gke = await fakeGkeApi();
    const api = await connectCluster(
      parseClusterSpec('projects/my-proj/locations/europe-west1/clusters/prod'),
      { tokens: () => Promise.resolve(token), gkeApi: gke },
    );
    try {
      const inv = await liveInventory(api);
      assert.equal(inv.cluster, 'projects/my-proj/locations/europe-west1/clusters/prod');
      assert.ok(inv.workloads.some((w) => w.metadata?.name === 'api' && w.kind === 'Deployment'));
      assert.ok(inv.secretProviderClasses.length >= 4);
      assert.deepEqual(inv.absent, []);
      assert.ok(seen.some((s) => s.path.endsWith('/clusters/prod') && s.auth === `Bearer ${token}`));
    } finally {
      api.close();
    }
    await assert.rejects(
      connectCluster(parseClusterSpec('projects/my-proj/locations/europe-west1/clusters/missing'), {
        tokens: () => Promise.resolve(token),
        gkeApi: gke,
      }),
      /HTTP 404/,
    );
  });

  it('uses the DNS endpoint when asked: publicly trusted TLS, so the cluster CA is not used', async () => {
    const gke = await fakeGkeApi();
    const api = await connectCluster(
      parseClusterSpec('projects/my-proj/locations/europe-west1/clusters/prod'),
      { tokens: () => Promise.resolve(token), gkeApi: gke, endpoint: 'dns' },
    );
    try {
      // The local API server's certificate is not publicly trusted: reaching `localhost` without
      // the cluster CA must fail TLS verification, which proves the DNS path skipped the CA.
      await assert.rejects(liveInventory(api), /certificate|self.signed|unable to verify/i);
    } finally {
      api.close();
    }
  });

  it('reaches a private cluster through Connect Gateway: membership path by project number, token forwarded', async () => {
    const apiserver = new URL(cp.server);
    const ca = cp.caPem;
    const prefix = '/v1/projects/123456789012/locations/global/gkeMemberships/private-1';
    const gatewaySeen: string[] = [];
    const gateway = http.createServer((req, res) => {
      const url = req.url ?? '';
      gatewaySeen.push(url);
      if (!url.startsWith(prefix + '/')) {
        res.writeHead(404).end('unknown membership');
        return;
      }
      const upstream = https.request(
        {
          host: apiserver.hostname,
          port: apiserver.port,
          path: url.slice(prefix.length),
          method: req.method,
          headers: { ...req.headers, host: apiserver.host },
          ca,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (e) => res.writeHead(502).end(e.message));
      req.pipe(upstream);
    });
    servers.push(gateway);
    const gatewayUrl = await listen(gateway);
    // Project id → number through the Resource Manager API when the map does not know it.
    const rm = http.createServer((req, res) => {
      if (req.url === '/v1/projects/my-proj' && req.headers.authorization === `Bearer ${token}`) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ projectId: 'my-proj', projectNumber: '123456789012' }));
      } else {
        res.writeHead(404).end('{}');
      }
    });
    servers.push(rm);
    const rmUrl = await listen(rm);
    const spec = parseClusterSpec('projects/my-proj/locations/global/memberships/private-1');
    for (const opts of [
      { resourceManagerApi: rmUrl },
      { projects: new ProjectMap([['my-proj', '123456789012']]) },
    ]) {
      const api = await connectCluster(spec, {
        tokens: () => Promise.resolve(token),
        connectGatewayApi: gatewayUrl,
        ...opts,
      });
      try {
        const inv = await liveInventory(api);
        assert.ok(inv.workloads.some((w) => w.metadata?.name === 'web'));
      } finally {
        api.close();
      }
    }
    assert.ok(
      gatewaySeen.every((u) => u.startsWith(prefix)),
      gatewaySeen.join('\n'),
    );
  });

  it('rotor plan --kubeconfig: the live plan equals the offline plan of the same manifests', async () => {
    const args = [
      '--secret',
      'projects/my-proj/secrets/db-password',
      '--version',
      '7',
      '--project-map',
      'my-proj=123456789012',
      '--output',
      'json',
    ];
    const live = capture();
    assert.equal(
      await main(['plan', ...args, '--kubeconfig', cp.kubeconfigPathFor('rotor')], live),
      0,
      live.err,
    );
    const offline = capture();
    assert.equal(
      await main(
        ['plan', ...args, '--manifests', join(REPO_ROOT, 'infra', 'examples'), '--cluster', 'X'],
        offline,
      ),
      0,
      offline.err,
    );
    type P = {
      workloads: Array<{ kind: string; namespace: string; name: string; action: string; reason: string }>;
    };
    const strip = (p: P) =>
      p.workloads.map((w) => `${w.kind}/${w.namespace}/${w.name} ${w.action}: ${w.reason}`).sort();
    const livePlan = JSON.parse(live.out) as P;
    assert.ok(livePlan.workloads.length >= 10);
    assert.deepEqual(strip(livePlan), strip(JSON.parse(offline.out) as P));
    const missing = capture();
    assert.equal(await main(['plan', ...args, '--kubeconfig', '/nonexistent/kubeconfig'], missing), 2);
    assert.match(missing.err, /\/nonexistent\/kubeconfig/);
  });

  it('rotor apply --kubeconfig acts and reports per workload; a second apply is a no-op', async () => {
    const args = [
      'apply',
      '--kubeconfig',
      cp.kubeconfigPathFor('rotor'),
      '--secret',
      'projects/my-proj/secrets/db-password',
      '--version',
      '7',
      '--project-map',
      'my-proj=123456789012',
      '--output',
      'json',
    ];
    const first = capture();
    const code = await main(args, first);
    const outcome = JSON.parse(first.out) as {
      workloads: Array<{ name: string; result: string; reason: string }>;
    };
    const byName = new Map(outcome.workloads.map((w) => [w.name, w]));
    assert.equal(byName.get('legacy')?.result, 'restarted', byName.get('legacy')?.reason);
    assert.equal(byName.get('orders-db-client')?.result, 'waiting', 'env from ESO waits for the sync');
    assert.equal(byName.get('pinned')?.result, 'unchanged');
    assert.equal(code, 1, 'not converged yet: exit 1');
    const second = capture();
    await main(args, second);
    const again = JSON.parse(second.out) as {
      workloads: Array<{ name: string; result: string; reason: string; waitingFor?: string }>;
    };
    // Not restarted again: rotor.dev/applied records version 7. The first apply's rollout is not
    // waited for: its applied-by record names the first run, and a run trusts only its own records
    // (a tenant could write any other), so the second run sees the version applied and is done.
    const legacy = again.workloads.find((w) => w.name === 'legacy');
    assert.equal(legacy?.result, 'unchanged');
    assert.match(legacy.reason, /^version 7 of \S+ already applied \(rotor\.dev\/applied; /);
    const bad = capture();
    assert.equal(
      await main(
        [
          'apply',
          '--kubeconfig',
          cp.kubeconfigPathFor('rotor'),
          '--secret',
          'projects/my-proj/secrets/db-password',
        ],
        bad,
      ),
      2,
    );
    assert.match(bad.err, /--version is required/);
  });
});
