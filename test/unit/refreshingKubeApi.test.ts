// Issue 9 item 14: a cached cluster connection follows a control-plane IP or CA rotation. A fake
// cluster "rotates" (its old connection fails at the socket or TLS level, a new lookup returns a
// working one); API answers and other failures never cause a lookup.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import { RefreshingKubeApi, isConnectionFailure } from '../../functions/cluster/refreshing';
import { TransientError } from '../../functions/errors';

/** What HttpKubeApi throws when the socket fails: a TransientError caused by the Node error. */
const socketError = (code: string): TransientError =>
  new TransientError(`GET /api on c: API server unreachable: ${code}`, {
    cause: Object.assign(new Error(code), { code }),
  });

class FakeConnection implements KubeApi {
  readonly cluster = 'c';
  sent = 0;
  closed = false;
  constructor(
    readonly name: string,
    private readonly answer: (req: KubeRequest) => Promise<unknown>,
  ) {}
  request<T>(req: KubeRequest): Promise<T> {
    this.sent++;
    return this.answer(req) as Promise<T>;
  }
  requestCount(): number {
    return this.sent;
  }
  close(): void {
    this.closed = true;
  }
}

/** A cluster whose control plane moved: the old connection fails with `code`, lookups return new ones. */
function rotatedCluster(code: string, options: { minIntervalMs?: number; now?: () => number } = {}) {
  const old = new FakeConnection('old', () => Promise.reject(socketError(code)));
  const lookups: FakeConnection[] = [];
  const api = new RefreshingKubeApi(
    'c',
    old,
    () => {
      const fresh = new FakeConnection(`new-${lookups.length + 1}`, (req) =>
        Promise.resolve({ path: req.path }),
      );
      lookups.push(fresh);
      return Promise.resolve(fresh);
    },
    options,
  );
  return { old, lookups, api };
}

describe('isConnectionFailure', () => {
  it('socket and TLS failures, as HttpKubeApi reports them', () => {
    for (const code of [
      'ECONNREFUSED',
      'EHOSTUNREACH',
      'ETIMEDOUT',
      'ECONNRESET',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ])
      assert.equal(isConnectionFailure(socketError(code)), true, code);
  });
  it('not answers from the API server, nor other errors', () => {
    assert.equal(isConnectionFailure(new KubeApiError(503, 'ServiceUnavailable', 'x', 'GET', '/api')), false);
    assert.equal(isConnectionFailure(new KubeApiError(403, 'Forbidden', 'x', 'GET', '/api')), false);
    assert.equal(isConnectionFailure(new TransientError('timed out after 30000 ms')), false);
    assert.equal(isConnectionFailure(new Error('ECONNREFUSED')), false);
    assert.equal(isConnectionFailure(socketError('EWHATEVER')), false);
  });
});

describe('RefreshingKubeApi', () => {
  for (const code of ['ECONNREFUSED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']) {
    it(`after ${code}, looks the cluster up once and retries the request there`, async () => {
      const { old, lookups, api } = rotatedCluster(code);
      assert.deepEqual(await api.request({ method: 'GET', path: '/apis/apps/v1/deployments' }), {
        path: '/apis/apps/v1/deployments',
      });
      assert.equal(lookups.length, 1);
      assert.equal(old.closed, true, 'the old connection (its agent and sockets) is released');
      // Later requests go to the new connection directly.
      await api.request({ method: 'GET', path: '/api/v1/pods' });
      assert.equal(lookups.length, 1);
      assert.deepEqual([old.sent, lookups[0]?.sent], [1, 2]);
      assert.equal(api.requestCount(), 3, 'requests on the replaced connection still count');
    });
  }

  it('requests failing together share one lookup', async () => {
    const { lookups, api } = rotatedCluster('ECONNREFUSED');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => api.request<{ path: string }>({ method: 'GET', path: `/p/${i}` })),
    );
    assert.deepEqual(
      results.map((r) => r.path),
      Array.from({ length: 8 }, (_, i) => `/p/${i}`),
    );
    assert.equal(lookups.length, 1);
  });

  it('an API server answer (403, 503, 409) never causes a lookup', async () => {
    for (const status of [403, 503, 409]) {
      let lookups = 0;
      const error = new KubeApiError(status, 'x', 'y', 'GET', '/api');
      const api = new RefreshingKubeApi('c', new FakeConnection('only', () => Promise.reject(error)), () => {
        lookups++;
        return Promise.reject(new Error('must not be called'));
      });
      await assert.rejects(api.request({ method: 'GET', path: '/api' }), (e) => e === error);
      assert.equal(lookups, 0, String(status));
    }
  });

  it('once per failure: a cluster still unreachable after the lookup fails the request, and the next lookup waits for the interval', async () => {
    let clock = 0;
    const lookups: string[] = [];
    const dead = (): FakeConnection =>
      new FakeConnection('dead', () => Promise.reject(socketError('ECONNREFUSED')));
    const api = new RefreshingKubeApi(
      'c',
      dead(),
      () => {
        lookups.push(`at ${clock}`);
        return Promise.resolve(dead());
      },
      { minIntervalMs: 10_000, now: () => clock },
    );
    await assert.rejects(api.request({ method: 'GET', path: '/api' }), /ECONNREFUSED/);
    assert.deepEqual(lookups, ['at 0'], 'one lookup, one retry, then the error');
    clock = 5_000;
    await assert.rejects(api.request({ method: 'GET', path: '/api' }), /ECONNREFUSED/);
    assert.deepEqual(lookups, ['at 0'], 'no second lookup within the interval');
    clock = 10_000;
    await assert.rejects(api.request({ method: 'GET', path: '/api' }), /ECONNREFUSED/);
    assert.deepEqual(lookups, ['at 0', 'at 10000']);
  });

  it('a failed lookup is transient and says both what failed and why the lookup did', async () => {
    const api = new RefreshingKubeApi(
      'projects/p/locations/l/clusters/c',
      new FakeConnection('old', () => Promise.reject(socketError('ECONNREFUSED'))),
      () => Promise.reject(new TransientError('GKE cluster projects/p/locations/l/clusters/c: HTTP 503')),
    );
    await assert.rejects(
      api.request({ method: 'GET', path: '/api' }),
      (e: unknown) =>
        e instanceof TransientError &&
        /ECONNREFUSED; looking projects\/p\/locations\/l\/clusters\/c up again failed too: GKE cluster .*HTTP 503$/.test(
          e.message,
        ),
    );
  });

  it('tells onRefresh which cluster and why', async () => {
    const told: string[] = [];
    const old = new FakeConnection('old', () => Promise.reject(socketError('ECONNREFUSED')));
    const api = new RefreshingKubeApi(
      'c',
      old,
      () => Promise.resolve(new FakeConnection('new', () => Promise.resolve('ok'))),
      {
        onRefresh: (cluster, cause) => told.push(`${cluster}: ${cause}`),
      },
    );
    assert.equal(await api.request({ method: 'GET', path: '/api' }), 'ok');
    assert.deepEqual(told, ['c: GET /api on c: API server unreachable: ECONNREFUSED']);
  });
});
