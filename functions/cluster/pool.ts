// One set of cluster connections per function instance, reused across invocations. A failed
// connect is forgotten, so the next delivery tries again.
import type { RotorConfig } from '../config';
import type { ClusterSpec, TokenSource } from './access';
import { connectCluster } from './access';
import type { KubeApi } from './kubeApi';

export function clusterPool(specs: readonly ClusterSpec[], config: RotorConfig, tokens: TokenSource): () => Promise<KubeApi[]> {
  let pool: Promise<KubeApi[]> | undefined;
  return () => {
    pool ??= Promise.all(
      specs.map((spec) =>
        connectCluster(spec, {
          tokens,
          endpoint: config.gkeEndpoint,
          projects: config.projects,
          ...(config.apis.gke ? { gkeApi: config.apis.gke } : {}),
          ...(config.apis.connectGateway ? { connectGatewayApi: config.apis.connectGateway } : {}),
          ...(config.apis.resourceManager ? { resourceManagerApi: config.apis.resourceManager } : {}),
        }),
      ),
    ).catch((e: unknown) => {
      pool = undefined; // try again on the next delivery
      throw e;
    });
    return pool;
  };
}

