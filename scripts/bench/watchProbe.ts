// `npm run bench -- --watch-probe`: what a warm instance could save on a redelivery (issue 14,
// item 4), measured on the bench's seeded control plane after its events. Per round (as the admin:
// Rotor's role has no `watch` verb): a re-list of every Deployment streamed through the same
// forEachPage Rotor uses (what a redelivery does today), then a watch from that list's
// resourceVersion with allowWatchBookmarks and the shortest server-side timeout (timeoutSeconds=1:
// the API's unit is a whole second), the catch-up a cached inventory would need; and once a watch
// from resourceVersion 1: 410 Gone (a cache's fallback to a list) once etcd has compacted that far,
// else the history replayed (on the bench's young control plane: thousands of events).
// A watch has no "caught up" signal short of its timeout (bookmarks come at the server's
// discretion; sendInitialEvents replays every object, i.e. a list), so its time is bounded below by
// the timeout whatever the number of changes.
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import { forEachPage } from '../../functions/cluster/listing';
import { workloadResource } from '../../functions/cluster/resources';
import { INVENTORY_PAGE_SIZE } from '../../functions/cluster/inventory';

export interface WatchProbe {
  readonly rounds: number;
  readonly relist: { readonly p50Ms: number; readonly requests: number };
  readonly watchCatchUp: { readonly p50Ms: number; readonly requests: number; readonly events: number };
  /** What a watch from resourceVersion 1 answered: 410 Gone, or the number of lines replayed. */
  readonly tooOld: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor((s.length - 1) / 2)] ?? 0);
};

async function watchFrom(api: KubeApi, rv: string): Promise<{ lines: string[] }> {
  const text = await api.request<string>({
    method: 'GET',
    path: '/apis/apps/v1/deployments',
    query: { watch: 1, resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: 1 },
    raw: true,
    timeoutMs: 10_000,
  });
  return { lines: text.split('\n').filter((l) => l.trim()) };
}

export async function runWatchProbe(api: KubeApi, rounds: number): Promise<WatchProbe> {
  const res = workloadResource('Deployment');
  const relistMs: number[] = [];
  const watchMs: number[] = [];
  let relistRequests = 0;
  let events = 0;
  for (let i = 0; i < rounds; i++) {
    const before = api.requestCount();
    const t0 = performance.now();
    const served = await forEachPage(
      api,
      res,
      { limit: INVENTORY_PAGE_SIZE },
      () => undefined,
      () => false,
    );
    relistMs.push(performance.now() - t0);
    relistRequests = api.requestCount() - before;
    const t1 = performance.now();
    const { lines } = await watchFrom(api, served?.resourceVersion ?? '');
    watchMs.push(performance.now() - t1);
    events += lines.filter((l) => !l.includes('"BOOKMARK"')).length;
  }
  let tooOld: string;
  try {
    const { lines } = await watchFrom(api, '1');
    tooOld = lines.find((l) => l.includes('"ERROR"'))?.slice(0, 200) ?? `no error (${lines.length} lines)`;
  } catch (e) {
    tooOld = e instanceof KubeApiError ? `${e.status} ${e.reason}` : String(e);
  }
  return {
    rounds,
    relist: { p50Ms: median(relistMs), requests: relistRequests },
    watchCatchUp: { p50Ms: median(watchMs), requests: 1, events },
    tooOld,
  };
}
