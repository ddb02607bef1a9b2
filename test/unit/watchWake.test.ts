// The wait between passes wakes a pass only for an event that can change its decision
// (core/converge.ts wakesPass): the HTTP client reads past the others on one watch stream, a
// client that cannot filter has its refused event watched past from that event's version, and a
// watch that lost its place (410 Gone) ends the wait at once instead of at the next poll.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import type { HttpKubeApi } from '../../functions/cluster/kubeApi';
import { listVersionOf, liveInventory } from '../../functions/cluster/inventory';
import type { WaitStats } from '../../functions/cluster/watch';
import { waitForChange } from '../../functions/cluster/watch';
import type { WatchTarget } from '../../functions/core/converge';
import { memoryLogger } from '../../functions/log';
import { kubeApiOn } from './localKubeApi';

const rolling = (name: string, rv: string) => ({
  type: 'MODIFIED',
  object: {
    kind: 'Deployment',
    metadata: { name, generation: 2, resourceVersion: rv },
    spec: { replicas: 1 },
    status: { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1 },
  },
});
const finished = (name: string, rv: string) => ({
  type: 'MODIFIED',
  object: {
    kind: 'Deployment',
    metadata: { name, generation: 2, resourceVersion: rv },
    spec: { replicas: 1 },
    status: { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  },
});
const waited = (name: string): WatchTarget => ({
  cluster: 'c',
  namespace: 'storm',
  resource: 'workload',
  kind: 'Deployment',
  name,
  resourceVersion: '100',
});

/** A KubeApi that answers each watch with the next of `events` (ignoring `accept`, as it may). */
function scripted(events: object[]): KubeApi & { versions: string[] } {
  const versions: string[] = [];
  return {
    cluster: 'c',
    versions,
    request<T>(req: KubeRequest): Promise<T> {
      versions.push(String(req.query?.resourceVersion));
      const next = events.shift();
      return next ? Promise.resolve(next as T) : new Promise<T>(() => undefined);
    },
    requestCount: () => versions.length,
    close: () => undefined,
  };
}

describe('the wait between passes', () => {
  it("a client that cannot filter: the rollout's advance is watched past from its version, its end wakes the pass", async () => {
    const api = scripted([rolling('w1-00', '101'), finished('w1-00', '102')]);
    const stats: WaitStats = { ignored: 0 };
    const end = await waitForChange([api], [waited('w1-00')], Date.now() + 10_000, memoryLogger(), 16, stats);
    assert.equal(end, 'changed');
    assert.deepEqual(api.versions, ['100', '101']);
    assert.equal(stats.ignored, 1);
  });

  it('a watch whose version is gone (410) ends the wait at once: the next pass lists afresh', async () => {
    const api = scripted([{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }]);
    const started = Date.now();
    const end = await waitForChange([api], [waited('w1-00')], Date.now() + 10_000, memoryLogger());
    assert.equal(end, 'changed');
    assert.ok(Date.now() - started < 5_000, 'not at the deadline');
  });

  describe('HttpKubeApi reads past the events the wait does not take, on one stream', () => {
    const lines = [rolling('w1-00', '101'), finished('w3-07', '102'), finished('w1-00', '103')];
    let watches = 0;
    const server = createServer((_req, res) => {
      watches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const l of lines) res.write(JSON.stringify(l) + '\n');
      // Held open, as a watch is: the client must not need the stream to end.
    });
    let api: HttpKubeApi;
    before(async () => {
      api = await kubeApiOn(server);
    });
    after(async () => {
      api.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it("the waited workload's end wakes the pass; its advance and another workload's end do not", async () => {
      const stats: WaitStats = { ignored: 0 };
      const group: WatchTarget[] = [waited('w1-00'), waited('w1-01')];
      const end = await waitForChange([api], group, Date.now() + 10_000, memoryLogger(), 16, stats);
      assert.equal(end, 'changed');
      assert.equal(watches, 1, 'one watch request');
      assert.equal(stats.ignored, 2);
    });

    it('the answer to a watch with `accept` is the first event it takes', async () => {
      const event = await api.request<{ object?: { metadata?: { resourceVersion?: string } } }>({
        method: 'GET',
        path: '/apis/apps/v1/namespaces/storm/deployments',
        query: { watch: 1 },
        watch: {
          accept: (e) =>
            (e as { object?: { metadata?: { resourceVersion?: string } } }).object?.metadata
              ?.resourceVersion === '102',
        },
      });
      assert.equal(event.object?.metadata?.resourceVersion, '102');
    });
  });
});

describe('the version a pass read a workload at', () => {
  it("is the version of the list it came in (one for the namespace's waited workloads), not the object's own", async () => {
    const api: KubeApi = {
      cluster: 'c',
      request<T>(req: KubeRequest): Promise<T> {
        const deployments = req.path.endsWith('/deployments');
        const items = deployments
          ? ['a', 'b'].map((name, i) => ({
              metadata: { name, namespace: 'storm', resourceVersion: String(10 + i) },
              spec: { template: { spec: { containers: [] } } },
            }))
          : [];
        return Promise.resolve({ metadata: { resourceVersion: deployments ? '77' : '5' }, items } as T);
      },
      requestCount: () => 0,
      close: () => undefined,
    };
    const inventory = await liveInventory(api);
    const listed = inventory.workloads.filter((w) => w.kind === 'Deployment');
    assert.deepEqual(
      listed.map((w) => [w.metadata?.name, listVersionOf(w)]),
      [
        ['a', '77'],
        ['b', '77'],
      ],
    );
    assert.equal(listVersionOf({ metadata: { name: 'not-listed', resourceVersion: '3' } }), undefined);
  });
});
