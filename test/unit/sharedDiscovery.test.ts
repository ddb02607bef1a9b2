// Concurrent events on one instance share one discovery (cluster/sharedDiscovery.ts): events that
// ask together are served by one round of lists, an event asking while a round lists waits for the
// next one, a cluster never has two rounds listing at once, and a failed round fails its events only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveInventory, SecretScope } from '../../functions/cluster/inventory';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { MAX_EVENTS_PER_ROUND, SharedDiscovery } from '../../functions/cluster/sharedDiscovery';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';

const projects = new ProjectMap();
const scope = (name: string): SecretScope => ({
  kind: 'secret',
  secret: parseSecretName(`projects/p/secrets/${name}`).id,
  projects,
});
const api = (cluster: string): KubeApi => ({
  cluster,
  request: <T>(_req: KubeRequest): Promise<T> => Promise.reject(new Error('no requests here')),
  requestCount: () => 0,
  close: () => undefined,
});
/** An inventory naming the secret it was listed for, so each event can tell it got its own. */
const inventoryOf = (cluster: string, s: SecretScope): LiveInventory => ({
  cluster,
  workloads: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: s.secret.secret } }],
  secretProviderClasses: [],
  externalSecrets: [],
  secretStores: [],
  absent: [],
});

/** A discovery that lists until released, recording each round's secrets and the rounds in flight. */
function fakeDiscovery() {
  const rounds: Array<{ cluster: string; secrets: string[] }> = [];
  const releases: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let failNext = false;
  const discover = async (
    a: KubeApi,
    _filter: unknown,
    scopes: readonly SecretScope[],
  ): Promise<LiveInventory[]> => {
    rounds.push({ cluster: a.cluster, secrets: scopes.map((s) => s.secret.secret) });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((r) => releases.push(r));
    inFlight--;
    if (failNext) {
      failNext = false;
      throw new Error('429 Too Many Requests');
    }
    return scopes.map((s) => inventoryOf(a.cluster, s));
  };
  return {
    discover,
    rounds,
    release: () => releases.shift()?.(),
    failNextRound: () => (failNext = true),
    maxInFlight: () => maxInFlight,
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const names = (inv: LiveInventory): string[] => inv.workloads.map((w) => w.metadata?.name ?? '');

describe('SharedDiscovery: concurrent events share one discovery per cluster', () => {
  it('events asking together are served by one round, each with its own inventory', async () => {
    const f = fakeDiscovery();
    const shared = new SharedDiscovery(f.discover);
    const c = api('c1');
    const asked = ['a', 'b', 'c'].map((n) => shared.inventory(c, {}, scope(n)));
    await turn();
    f.release();
    const got = await Promise.all(asked);
    assert.deepEqual(f.rounds, [{ cluster: 'c1', secrets: ['a', 'b', 'c'] }]);
    assert.deepEqual(got.map(names), [['a'], ['b'], ['c']]);
  });

  it('an event asking while a round lists waits for the next round; never two rounds at once', async () => {
    const f = fakeDiscovery();
    const shared = new SharedDiscovery(f.discover);
    const c = api('c1');
    const first = shared.inventory(c, {}, scope('a'));
    await turn();
    const late = [shared.inventory(c, {}, scope('b')), shared.inventory(c, {}, scope('c'))];
    await turn();
    assert.deepEqual(
      f.rounds,
      [{ cluster: 'c1', secrets: ['a'] }],
      'b and c wait: the round started before them',
    );
    f.release();
    assert.deepEqual(names(await first), ['a']);
    await turn();
    assert.deepEqual(f.rounds[1], { cluster: 'c1', secrets: ['b', 'c'] });
    f.release();
    assert.deepEqual((await Promise.all(late)).map(names), [['b'], ['c']]);
    assert.equal(f.maxInFlight(), 1);
  });

  it('clusters and namespace filters have rounds of their own', async () => {
    const f = fakeDiscovery();
    const shared = new SharedDiscovery(f.discover);
    const c1 = api('c1');
    const asked = [
      shared.inventory(c1, {}, scope('a')),
      shared.inventory(api('c2'), {}, scope('b')),
      shared.inventory(c1, { allow: ['team-*'] }, scope('c')),
    ];
    await turn();
    assert.deepEqual(
      f.rounds.map((r) => r.secrets),
      [['a'], ['b'], ['c']],
    );
    f.release();
    f.release();
    f.release();
    assert.deepEqual(
      (await Promise.all(asked)).map((i) => i.cluster),
      ['c1', 'c2', 'c1'],
    );
  });

  it('a failed round fails the events it served, and the next round serves the later ones', async () => {
    const f = fakeDiscovery();
    const shared = new SharedDiscovery(f.discover);
    const c = api('c1');
    f.failNextRound();
    const failing = [shared.inventory(c, {}, scope('a')), shared.inventory(c, {}, scope('b'))];
    await turn();
    const later = shared.inventory(c, {}, scope('c'));
    f.release();
    for (const p of failing) await assert.rejects(p, /429/);
    await turn();
    f.release();
    assert.deepEqual(names(await later), ['c']);
    assert.deepEqual(
      f.rounds.map((r) => r.secrets),
      [['a', 'b'], ['c']],
    );
  });

  it(`serves at most ${MAX_EVENTS_PER_ROUND} events a round; the rest in the next`, async () => {
    const f = fakeDiscovery();
    const shared = new SharedDiscovery(f.discover);
    const c = api('c1');
    const asked = Array.from({ length: MAX_EVENTS_PER_ROUND + 3 }, (_, i) =>
      shared.inventory(c, {}, scope(`s${i}`)),
    );
    await turn();
    f.release();
    await turn();
    await turn();
    f.release();
    const got = await Promise.all(asked);
    assert.deepEqual(
      f.rounds.map((r) => r.secrets.length),
      [MAX_EVENTS_PER_ROUND, 3],
    );
    assert.deepEqual(got.map(names)[MAX_EVENTS_PER_ROUND + 2], [`s${MAX_EVENTS_PER_ROUND + 2}`]);
  });
});
