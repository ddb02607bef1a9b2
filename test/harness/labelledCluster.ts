// One API server seen as several clusters: each view has its own cluster name and sees only the
// objects carrying its label (every list request gets the label selector, AND-ed with the
// caller's), so N views of one local API server stand in for N clusters whose workloads do not
// overlap, in-process (the benchmark does the same server-side: scripts/bench/clusterProxy.ts).
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { CLUSTER_LABEL } from '../../scripts/bench/clusterProxy';

export { CLUSTER_LABEL };

export class LabelledCluster implements KubeApi {
  constructor(
    private readonly inner: KubeApi,
    readonly cluster: string,
  ) {}

  request<T>(req: KubeRequest): Promise<T> {
    // Lists are the requests with a page size (listAll always sets one); gets and patches pass.
    const isList = req.method === 'GET' && req.query?.limit !== undefined;
    if (!isList) return this.inner.request<T>(req);
    const own = `${CLUSTER_LABEL}=${this.cluster}`;
    const given = req.query?.labelSelector;
    return this.inner.request<T>({
      ...req,
      query: { ...req.query, labelSelector: typeof given === 'string' && given ? `${given},${own}` : own },
    });
  }

  requestCount(): number {
    return this.inner.requestCount();
  }

  close(): void {
    this.inner.close();
  }
}
