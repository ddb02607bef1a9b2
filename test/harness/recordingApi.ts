// A KubeApi wrapper for integration tests: forwards every request to a real client and records it,
// so a test can assert what Rotor sent (methods, paths, patch content types, dry-run flags) and
// not only what the API server ended up storing. An optional hook runs before each request
// (to interleave another writer, for example).
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';

export class RecordingApi implements KubeApi {
  readonly log: KubeRequest[] = [];
  beforeRequest?: (req: KubeRequest) => Promise<void>;
  constructor(private readonly inner: KubeApi) {}
  get cluster(): string {
    return this.inner.cluster;
  }
  async request<T>(req: KubeRequest): Promise<T> {
    const hook = this.beforeRequest;
    if (hook) await hook(req);
    this.log.push(req);
    return this.inner.request<T>(req);
  }
  requestCount(): number {
    return this.inner.requestCount();
  }
  close(): void {
    this.inner.close();
  }
  /** Every PATCH so far; with `path`, only those sent to that path. */
  patches(path?: string): KubeRequest[] {
    return this.log.filter((r) => r.method === 'PATCH' && (path === undefined || r.path === path));
  }
}
