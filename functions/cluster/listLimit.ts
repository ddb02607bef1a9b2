// One instance's list requests to one cluster, a bounded number at a time. Concurrent events on an
// instance (a burst, with the request concurrency raised) share their discovery
// (sharedDiscovery.ts), but each still reads its own dependents' pods and CSI mount statuses, page
// by page: without a bound, the lists in flight from one instance would grow with the events it
// holds. Requests that are not lists (gets, patches, Events) are not held back.
import type { KubeApi, KubeRequest } from './kubeApi';

/** List requests (pages) one instance has in flight to one cluster at most. */
export const MAX_CONCURRENT_LISTS = 8;

/** A list page: a GET with a page size (every list Rotor makes goes through forEachPage, which sets one). */
export function isListRequest(req: KubeRequest): boolean {
  return req.method === 'GET' && req.query?.limit !== undefined;
}

export class ListLimitedKubeApi implements KubeApi {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly inner: KubeApi,
    private readonly max: number = MAX_CONCURRENT_LISTS,
  ) {}

  get cluster(): string {
    return this.inner.cluster;
  }

  async request<T>(req: KubeRequest): Promise<T> {
    if (!isListRequest(req)) return this.inner.request<T>(req);
    await this.acquire();
    try {
      return await this.inner.request<T>(req);
    } finally {
      this.release();
    }
  }

  requestCount(): number {
    return this.inner.requestCount();
  }

  close(): void {
    this.inner.close();
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.max) {
      this.inFlight++;
      return Promise.resolve();
    }
    // The slot is handed over by release(): inFlight stays counted for the waiter.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}
