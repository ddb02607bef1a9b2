// The second check on a reload: the URL actually sent, normalised as `new URL` does and under the
// cluster's base path, must stay inside the pod's own proxy prefix. Checked on paths the parser
// already refuses (this check must hold on its own), and on the real HTTP client against a local
// server: a refused request never leaves the process.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { reloadPods } from '../../functions/cluster/actions';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import type { HttpKubeApi } from '../../functions/cluster/kubeApi';
import { ProxyPathRefused, confinementProblem, podProxyPrefix } from '../../functions/cluster/podProxy';
import type { KubeObject } from '../../functions/core/kube';
import { kubeApiOn } from './localKubeApi';

const PREFIX = '/api/v1/namespaces/shop/pods/web-1%3A8080/proxy/';
const GKE = new URL('https://203.0.113.7');
const GATEWAY = new URL(
  'https://connectgateway.googleapis.com/v1/projects/123/locations/global/gkeMemberships/a',
);

describe('podProxyPrefix', () => {
  it('names the pod and port, ending in /proxy/', () => {
    assert.equal(podProxyPrefix('shop', 'web-1', 8080), PREFIX);
  });
});

describe('confinementProblem', () => {
  it('a path inside the prefix passes, with or without a base path', () => {
    assert.equal(confinementProblem(GKE, `${PREFIX}-/reload`, PREFIX), undefined);
    assert.equal(confinementProblem(GKE, PREFIX, PREFIX), undefined);
    assert.equal(confinementProblem(GATEWAY, `${PREFIX}-/reload`, PREFIX), undefined);
  });
  it('dot segments, in any spelling URL parsing collapses, are caught after normalisation', () => {
    const climb = '../../../../kube-system/pods/coredns-abc:9153/proxy/admin/shutdown';
    for (const tail of [
      climb,
      climb.replaceAll('..', '%2e%2e'),
      climb.replaceAll('..', '.%2E'),
      climb.replaceAll('/', '\\'),
    ]) {
      assert.match(
        confinementProblem(GKE, `${PREFIX}${tail}`, PREFIX) ?? 'passed',
        /^its normalised path leaves \/api\/v1\/namespaces\/shop\/pods\/web-1%3A8080\/proxy\/$/,
        tail,
      );
    }
  });
  it('through a Connect Gateway base path, climbing to another membership is caught', () => {
    const otherCluster = `${PREFIX}${'../'.repeat(9)}gkeMemberships/b/api/v1/namespaces/kube-system/pods/x:1/proxy/`;
    assert.equal(
      new URL(GATEWAY.pathname + otherCluster, GATEWAY).pathname,
      '/v1/projects/123/locations/global/gkeMemberships/b/api/v1/namespaces/kube-system/pods/x:1/proxy/',
      'the attack this guards against: the path really leaves the membership',
    );
    assert.equal(
      confinementProblem(GATEWAY, otherCluster, PREFIX),
      'its normalised path leaves /v1/projects/123/locations/global/gkeMemberships/a/api/v1/namespaces/shop/pods/web-1%3A8080/proxy/',
    );
  });
  it('a query string or a fragment is refused', () => {
    assert.equal(confinementProblem(GKE, `${PREFIX}reload?x=1`, PREFIX), 'it carries a query string');
    assert.equal(confinementProblem(GKE, `${PREFIX}reload#x`, PREFIX), 'it carries a fragment');
  });
  it('a path that changes the host is refused', () => {
    assert.equal(
      confinementProblem(GKE, '//198.51.100.1/api/v1/namespaces/shop/pods/web-1%3A8080/proxy/', PREFIX),
      'it would go to https://198.51.100.1, not https://203.0.113.7',
    );
  });
});

describe('HttpKubeApi with confinedTo', () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.end('ok');
  });
  let api: HttpKubeApi;
  before(async () => {
    api = await kubeApiOn(server, '/gateway/m-a');
  });
  after(async () => {
    api.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends a request that stays inside, under the base path', async () => {
    seen.length = 0;
    const req: KubeRequest = {
      method: 'POST',
      path: `${PREFIX}-/reload`,
      raw: true,
      body: '',
      confinedTo: PREFIX,
    };
    assert.equal(await api.request<string>(req), 'ok');
    assert.deepEqual(seen, [`POST /gateway/m-a${PREFIX}-/reload`]);
  });
  it('refuses one that would leave the membership, before anything is sent', async () => {
    seen.length = 0;
    const path = `${PREFIX}../../../../../../../m-b${PREFIX}admin/shutdown`;
    await assert.rejects(
      api.request({ method: 'POST', path, raw: true, body: '', confinedTo: PREFIX }),
      (e: unknown) =>
        e instanceof ProxyPathRefused &&
        /refused: its normalised path leaves \/gateway\/m-a\/api\//.test(e.message),
    );
    assert.deepEqual(seen, [], 'the server received nothing');
  });
});

describe('reloadPods', () => {
  const pod: KubeObject = {
    metadata: { name: 'web-1', namespace: 'shop' },
    spec: { containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] },
  };
  const fake = (answer: (req: KubeRequest) => Promise<unknown>): KubeApi & { log: KubeRequest[] } => {
    const log: KubeRequest[] = [];
    return {
      cluster: 'c',
      log,
      request: <T>(req: KubeRequest): Promise<T> => {
        log.push(req);
        return answer(req) as Promise<T>;
      },
      requestCount: () => log.length,
      close: () => undefined,
    };
  };
  const opts = { retries: 3, backoffMs: 0, sleep: () => Promise.resolve() };

  it('confines every POST to the pod it names, resolving a named port', async () => {
    const api = fake(() => Promise.resolve('ok'));
    const results = await reloadPods(api, 'shop', [pod], { port: 'http', path: '/-/reload' }, opts);
    assert.deepEqual(results, [{ pod: 'web-1', ok: true, attempts: 1 }]);
    assert.equal(api.log[0]?.path, `${PREFIX}-/reload`);
    assert.equal(api.log[0]?.confinedTo, PREFIX);
  });
  it('a refused path is not retried', async () => {
    const api = fake(() => Promise.reject(new ProxyPathRefused('refused: its normalised path leaves it')));
    const [r] = await reloadPods(api, 'shop', [pod], { port: '8080', path: '/x' }, opts);
    assert.equal(r?.ok, false);
    assert.match(r?.error ?? '', /refused/);
    assert.equal(r?.attempts, 1, 'the result says how many attempts were made');
    assert.equal(api.log.length, 1);
  });
});
