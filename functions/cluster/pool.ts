// One set of cluster connections per function instance, reused across invocations. Each cluster
// connects on its own: one that cannot be reached (deleted, missing IAM, a typo) must not stop
// Rotor from acting on the others. A failed connect stands in the list as an API that fails every
// request with the connect error (so the reconcile reports it as that cluster's error and retries),
// and is tried again on the next delivery. A connected cluster is looked up again when its
// connection fails at the socket or TLS level (refreshing.ts).
import type { RotorConfig } from '../config';
import { TransientError, errorMessage } from '../errors';
import type { ClusterSpec, TokenSource } from './access';
import { connectCluster } from './access';
import type { KubeApi, KubeRequest } from './kubeApi';
import type { RefreshOptions } from './refreshing';
import { RefreshingKubeApi } from './refreshing';
import { ListLimitedKubeApi } from './listLimit';

/** A cluster that could not be connected: every request fails with why. */
export class UnreachableCluster implements KubeApi {
  constructor(
    readonly cluster: string,
    private readonly cause: unknown,
  ) {}
  request<T>(_req: KubeRequest): Promise<T> {
    return Promise.reject(
      new TransientError(`cannot connect to ${this.cluster}: ${errorMessage(this.cause)}`, {
        cause: this.cause,
      }),
    );
  }
  requestCount(): number {
    return 0;
  }
  close(): void {}
}

export function clusterPool(
  specs: readonly ClusterSpec[],
  config: RotorConfig,
  tokens: TokenSource,
  refresh: RefreshOptions = {},
): () => Promise<KubeApi[]> {
  // The connection being made or made, per cluster: deliveries that arrive together on a cold
  // instance (a burst) wait for the same one instead of each connecting its own (each with its
  // own sockets, list bound and shared discovery, which would then share nothing).
  const connected = new Map<string, Promise<KubeApi>>();
  return () =>
    Promise.all(
      specs.map((spec) => {
        const cached = connected.get(spec.raw);
        if (cached) return cached;
        const connect = (): Promise<KubeApi> =>
          connectCluster(spec, {
            tokens,
            endpoint: config.gkeEndpoint,
            projects: config.projects,
            ...(config.apis.gke ? { gkeApi: config.apis.gke } : {}),
            ...(config.apis.connectGateway ? { connectGatewayApi: config.apis.connectGateway } : {}),
            ...(config.apis.resourceManager ? { resourceManagerApi: config.apis.resourceManager } : {}),
          });
        const connecting = connect().then(
          // Cached for the instance's life, so it must follow a control-plane IP or CA rotation;
          // and shared by the events the instance holds at once, so its lists are bounded.
          (first): KubeApi =>
            new ListLimitedKubeApi(new RefreshingKubeApi(spec.raw, first, connect, refresh)),
          (e: unknown): KubeApi => {
            // Not cached: the next delivery tries again.
            connected.delete(spec.raw);
            return new UnreachableCluster(spec.raw, e);
          },
        );
        connected.set(spec.raw, connecting);
        return connecting;
      }),
    );
}
