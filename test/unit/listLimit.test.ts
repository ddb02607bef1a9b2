// One instance's lists to a cluster are bounded (cluster/listLimit.ts): at most the bound in
// flight, whatever the number of callers; other requests pass at once; a failed list frees its slot.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { ListLimitedKubeApi, isListRequest } from '../../functions/cluster/listLimit';

/** A cluster whose requests finish when released, counting the lists in flight. */
function heldCluster() {
  const held: Array<{ req: KubeRequest; done: (fail?: boolean) => void }> = [];
  let lists = 0;
  let maxLists = 0;
  const api: KubeApi = {
    cluster: 'c1',
    request: <T>(req: KubeRequest): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const list = isListRequest(req);
        if (list) maxLists = Math.max(maxLists, ++lists);
        held.push({
          req,
          done: (fail) => {
            if (list) lists--;
            if (fail) reject(new Error('429 Too Many Requests'));
            else resolve({ path: req.path } as T);
          },
        });
      }),
    requestCount: () => held.length,
    close: () => undefined,
  };
  return { api, held, maxLists: () => maxLists };
}

const list = (i: number): KubeRequest => ({
  method: 'GET',
  path: `/api/v1/namespaces/n${i}/pods`,
  query: { limit: 500 },
});
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ListLimitedKubeApi: a bounded number of lists in flight per instance and cluster', () => {
  it('tells lists (GET with a page size) from other requests', () => {
    assert.equal(isListRequest(list(1)), true);
    assert.equal(isListRequest({ method: 'GET', path: '/apis/apps/v1/namespaces/a/deployments/b' }), false);
    assert.equal(isListRequest({ method: 'PATCH', path: '/x', query: { limit: 1 } }), false);
  });

  it('holds lists beyond the bound until one ends; gets and patches pass at once', async () => {
    const c = heldCluster();
    const limited = new ListLimitedKubeApi(c.api, 3);
    assert.equal(limited.cluster, 'c1');
    const lists = Array.from({ length: 7 }, (_, i) => limited.request<{ path: string }>(list(i)));
    const patch = limited.request({ method: 'PATCH', path: '/apis/apps/v1/namespaces/a/deployments/b' });
    await tick();
    assert.deepEqual(c.held.map((h) => h.req.method).sort(), ['GET', 'GET', 'GET', 'PATCH']);
    for (let released = 0; released < 7; released++) {
      c.held.find((h) => h.req.method === 'GET')?.done();
      c.held.splice(
        c.held.findIndex((h) => h.req.method === 'GET'),
        1,
      );
      await tick();
    }
    const got = await Promise.all(lists);
    assert.deepEqual(
      got.map((g) => g.path),
      Array.from({ length: 7 }, (_, i) => `/api/v1/namespaces/n${i}/pods`),
    );
    assert.equal(c.maxLists(), 3);
    c.held[0]?.done();
    await patch;
  });

  it('a failed list frees its slot for the next one', async () => {
    const c = heldCluster();
    const limited = new ListLimitedKubeApi(c.api, 1);
    const first = limited.request(list(1));
    const second = limited.request<{ path: string }>(list(2));
    await tick();
    assert.equal(c.held.length, 1);
    c.held.shift()?.done(true);
    await assert.rejects(first, /429/);
    await tick();
    assert.equal(c.held.length, 1);
    c.held.shift()?.done();
    assert.equal((await second).path, '/api/v1/namespaces/n2/pods');
  });
});
