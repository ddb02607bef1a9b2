// `npm run bench -- --clusters N`: one local API server seen as N clusters. Each cluster is a
// plain-HTTP proxy on loopback that forwards to the API server and adds a label selector to every
// list (GET with a page size), so cluster cK sees only the objects labelled cK (and the
// cluster-scoped ones labelled `shared`): N clusters with fleets that do not overlap. The proxy
// also counts the requests and patches Rotor sends to its cluster, so the Rotor process (running
// the packaged bundle) needs no instrumentation.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Fleet } from './fleet';

export const CLUSTER_LABEL = 'bench.rotor.dev/cluster';
export const SHARED = 'shared';

export interface ClusterProxy {
  readonly name: string;
  readonly url: string;
  readonly requests: number;
  readonly patches: number;
  /** List requests (GETs with a page size) and the bytes their responses carried. */
  readonly lists: number;
  readonly listBytes: number;
  /** The most list requests in flight at once through this proxy. */
  readonly peakConcurrentLists: number;
  /** Of `lists`, those of a whole cluster (no namespace in the path): discovery's inventory lists. */
  readonly clusterWideLists: number;
  /** Summed duration of the whole-cluster lists (request → last byte through the proxy), and when the last one ended (ms). */
  readonly clusterWideListMs: number;
  readonly lastClusterWideListEnd: number;
  /** Responses with status 429 (Too Many Requests). */
  readonly throttled: number;
  close(): Promise<void>;
}

export async function startClusterProxy(name: string, server: string, caPem: string): Promise<ClusterProxy> {
  const target = new URL(server);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: caPem });
  const counts = {
    requests: 0,
    clusterWideLists: 0,
    patches: 0,
    lists: 0,
    listBytes: 0,
    listsInFlight: 0,
    peakConcurrentLists: 0,
    throttled: 0,
    clusterWideListMs: 0,
    lastClusterWideListEnd: 0,
  };
  const proxy = http.createServer((req, res) => {
    counts.requests++;
    if (req.method === 'PATCH') counts.patches++;
    const url = new URL(req.url ?? '/', 'http://proxy');
    const isList = req.method === 'GET' && url.searchParams.has('limit');
    if (isList) {
      counts.lists++;
      const wide = !url.pathname.includes('/namespaces/');
      if (wide) counts.clusterWideLists++;
      counts.peakConcurrentLists = Math.max(counts.peakConcurrentLists, ++counts.listsInFlight);
      const from = performance.now();
      res.once('close', () => {
        counts.listsInFlight--;
        if (!wide) return;
        counts.clusterWideListMs += performance.now() - from;
        counts.lastClusterWideListEnd = Date.now();
      });
      const own = `${CLUSTER_LABEL} in (${name},${SHARED})`;
      const given = url.searchParams.get('labelSelector');
      url.searchParams.set('labelSelector', given ? `${given},${own}` : own);
    }
    const upstream = https.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: url.pathname + url.search,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (up) => {
        if (up.statusCode === 429) counts.throttled++;
        if (isList) up.on('data', (chunk: Buffer) => (counts.listBytes += chunk.length));
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e.message}`);
    });
    req.pipe(upstream);
  });
  // Idle keep-alive sockets stay open longer than the client keeps them: otherwise the server's 5 s
  // default closes one just as Rotor reuses it between events ("socket hang up").
  proxy.keepAliveTimeout = 10 * 60_000;
  proxy.headersTimeout = proxy.keepAliveTimeout + 1000;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return counts.requests;
    },
    get patches() {
      return counts.patches;
    },
    get lists() {
      return counts.lists;
    },
    get listBytes() {
      return counts.listBytes;
    },
    get peakConcurrentLists() {
      return counts.peakConcurrentLists;
    },
    get clusterWideLists() {
      return counts.clusterWideLists;
    },
    get clusterWideListMs() {
      return counts.clusterWideListMs;
    },
    get lastClusterWideListEnd() {
      return counts.lastClusterWideListEnd;
    },
    get throttled() {
      return counts.throttled;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

/** A kubeconfig with one context per proxy (named after its cluster), all as the same token user. */
export function proxiesKubeconfig(proxies: readonly ClusterProxy[], token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // Plain HTTP on loopback: the client library wants skip-TLS-verify said explicitly for http://.
    clusters: proxies.map((p) => ({
      name: p.name,
      cluster: { server: p.url, 'insecure-skip-tls-verify': true },
    })),
    users: [{ name: 'rotor', user: { token } }],
    contexts: proxies.map((p) => ({ name: p.name, context: { cluster: p.name, user: 'rotor' } })),
    'current-context': proxies[0]?.name ?? '',
  });
}

/** Labels every object with its cluster: namespace i is cluster i mod C; cluster-scoped ones are shared. */
export function labelByCluster(fleet: Fleet, clusterNames: readonly string[]): Fleet {
  const clusterOf = new Map(
    fleet.namespaces.map((ns, i) => [ns, clusterNames[i % clusterNames.length] ?? SHARED]),
  );
  for (const phase of fleet.phases)
    for (const o of phase.objects) {
      const meta = (o.body.metadata ??= {});
      const ns = meta.namespace ?? /\/namespaces\/([^/]+)\//.exec(o.path)?.[1];
      meta.labels = { ...meta.labels, [CLUSTER_LABEL]: ns ? (clusterOf.get(ns) ?? SHARED) : SHARED };
    }
  return fleet;
}
