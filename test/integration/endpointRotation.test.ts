// Issue 9 item 14 against the real API server: a GKE control-plane IP or CA rotation under a
// function instance that cached the cluster's endpoint and CA. The GKE API stand-in (clusters.get,
// as in access.test.ts) reports what the "control plane" is now; the old endpoint is a proxy in
// front of the real kube-apiserver that is shut down (IP rotation) or starts presenting a
// certificate from a new CA (CA rotation). Rotor's cached connection must follow, with one lookup.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as tls from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { applyManifests, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { parseClusterSpec } from '../../functions/cluster/access';
import { clusterPool } from '../../functions/cluster/pool';
import { listAll } from '../../functions/cluster/listing';
import { RESOURCES } from '../../functions/cluster/resources';
import { loadConfig } from '../../functions/config';

const execFileP = promisify(execFile);
const CLUSTER = 'projects/my-proj/locations/europe-west1/clusters/prod';

interface Pki {
  readonly caPem: string;
  readonly cert: string;
  readonly key: string;
}

/** A CA and a serving certificate for 127.0.0.1 it signed (EC keys: fast). */
async function makePki(dir: string, name: string): Promise<Pki> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
  const f = (s: string): string => join(dir, `${name}-${s}`);
  await execFileP('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-subj',
    `/CN=${name}-ca`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await execFileP('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('server.key'),
    '-out',
    f('server.crt'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-subj',
    '/CN=control-plane',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'extendedKeyUsage=serverAuth',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return {
    caPem: readFileSync(f('ca.crt'), 'utf8'),
    cert: readFileSync(f('server.crt'), 'utf8'),
    key: readFileSync(f('server.key'), 'utf8'),
  };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('cluster endpoint and CA rotation under a cached connection', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let token: string;
  let dir: string;
  let apiserver: URL;
  /** What clusters.get reports now. */
  const reported = { endpoint: '', caPem: '' };
  let lookups = 0;
  let gke: http.Server;
  let gkeUrl = '';

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'], controllerManager: false });
    await applyManifests(cp.kubeConfig(), join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    token = cp.tokenFor('rotor');
    apiserver = new URL(cp.server);
    dir = mkdtempSync(join(tmpdir(), 'rotor-rotation-'));
    gke = http.createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${token}` || req.url !== `/v1/${CLUSTER}`) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":404}}');
        return;
      }
      lookups++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          name: 'prod',
          endpoint: reported.endpoint,
          masterAuth: { clusterCaCertificate: Buffer.from(reported.caPem).toString('base64') },
        }),
      );
    });
    gkeUrl = `http://127.0.0.1:${await listen(gke)}`;
  });

  after(async () => {
    gke?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Why each lookup after the first happened (RefreshOptions.onRefresh). */
  const causes: string[] = [];
  const pool = () =>
    clusterPool(
      [parseClusterSpec(CLUSTER)],
      loadConfig({ ROTOR_GKE_API: gkeUrl }),
      () => Promise.resolve(token),
      {
        minIntervalMs: 0,
        onRefresh: (_cluster, cause) => causes.push(cause),
      },
    );
  /** Lets the client see its pooled keep-alive sockets closed, so the next request connects anew. */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));
  const listPods = async (api: Awaited<ReturnType<ReturnType<typeof pool>>>[number]): Promise<void> => {
    const pods = await listAll(api, RESOURCES.pods);
    assert.ok(pods, 'pods listed');
  };

  it('IP rotation: the old endpoint is gone; one lookup finds the new one and the request succeeds', async () => {
    // The old control-plane address: a TCP relay to the real API server (TLS passes through).
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      sockets.add(client);
      const upstream = net.connect(Number(apiserver.port), apiserver.hostname);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    const oldPort = await listen(relay);
    reported.endpoint = `127.0.0.1:${oldPort}`;
    reported.caPem = cp.caPem;
    lookups = 0;
    const [api] = await pool()();
    assert.ok(api);
    try {
      await listPods(api);
      assert.equal(lookups, 1);

      await close(relay, sockets);
      await settle();
      reported.endpoint = apiserver.host;
      causes.length = 0;
      await listPods(api);
      assert.equal(lookups, 2, 'exactly one more lookup');
      assert.equal(causes.length, 1);
      assert.match(causes[0] ?? '', /API server unreachable: connect ECONNREFUSED 127\.0\.0\.1:/);
      await listPods(api);
      assert.equal(lookups, 2, 'the new endpoint is cached again');
    } finally {
      api.close();
    }
  });

  it('CA rotation: the same address presents a certificate of a new CA; one lookup gets the new CA', async () => {
    const [oldPki, newPki] = [await makePki(dir, 'old'), await makePki(dir, 'new')];
    // The control plane's address, terminating TLS with the current CA's certificate and
    // forwarding each connection to the real API server.
    const sockets = new Set<net.Socket>();
    const front = tls.createServer({ cert: oldPki.cert, key: oldPki.key }, (client) => {
      sockets.add(client);
      const upstream = tls.connect({ host: apiserver.hostname, port: Number(apiserver.port), ca: cp.caPem });
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    front.on('connection', (s: net.Socket) => sockets.add(s));
    const port = await listen(front);
    reported.endpoint = `127.0.0.1:${port}`;
    reported.caPem = oldPki.caPem;
    lookups = 0;
    const [api] = await pool()();
    assert.ok(api);
    try {
      await listPods(api);
      assert.equal(lookups, 1);

      // Rotate: new certificate on the same address, existing connections dropped.
      front.setSecureContext({ cert: newPki.cert, key: newPki.key });
      for (const s of sockets) s.destroy();
      await settle();
      reported.caPem = newPki.caPem;
      causes.length = 0;
      await listPods(api);
      assert.equal(lookups, 2, 'exactly one more lookup');
      assert.equal(causes.length, 1);
      assert.match(causes[0] ?? '', /API server unreachable: unable to verify the first certificate/);
    } finally {
      api.close();
      await close(front, sockets);
    }
  });

  it('without a rotation, an API answer causes no lookup', async () => {
    reported.endpoint = apiserver.host;
    reported.caPem = cp.caPem;
    lookups = 0;
    const [api] = await pool()();
    assert.ok(api);
    try {
      await assert.rejects(api.request({ method: 'GET', path: '/api/v1/namespaces/default/secrets' }), /403/);
      assert.equal(lookups, 1, 'only the first connect');
    } finally {
      api.close();
    }
  });
});
