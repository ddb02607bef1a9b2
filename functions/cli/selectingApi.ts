// `-l/--selector` on a live cluster: the API server filters the workload lists. Every list of a
// workload kind that goes through this KubeApi carries the selector, whoever sends it (the plan's
// inventory, apply's reconcile), so the selection needs no option anywhere else.
import type { KubeApi, KubeRequest } from '../cluster/kubeApi';
import { WORKLOAD_RESOURCES } from '../cluster/resources';

const WORKLOAD_PLURALS = WORKLOAD_RESOURCES.map((r) => r.plural);
/** A collection path (no object name after the plural): `/apis/apps/v1[/namespaces/NS]/deployments`. */
const WORKLOAD_LIST = new RegExp(`/(${WORKLOAD_PLURALS.join('|')})$`);

export function selectingWorkloads(api: KubeApi, selector: string): KubeApi {
  return {
    cluster: api.cluster,
    request: <T>(req: KubeRequest): Promise<T> =>
      api.request<T>(
        req.method === 'GET' && WORKLOAD_LIST.test(req.path) && req.query?.labelSelector === undefined
          ? { ...req, query: { ...req.query, labelSelector: selector } }
          : req,
      ),
    requestCount: () => api.requestCount(),
    close: () => api.close(),
  };
}
