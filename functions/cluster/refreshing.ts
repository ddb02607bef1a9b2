// A cluster connection that survives a control-plane endpoint or CA rotation. The pool keeps one
// connection per cluster for the instance's life, with the endpoint and CA looked up once (GKE
// clusters.get); after GKE rotates the control-plane IP or the cluster CA, every request would fail
// on the old address or certificate until the instance recycled. So a request that fails at the
// connection or TLS level looks the cluster up again, once, and is retried on the new connection.
// Requests failing together share one lookup; a lookup at most every `minIntervalMs` keeps an
// outage from turning every request into a GKE API call.
import { TransientError, errorMessage } from '../errors';
import type { KubeApi, KubeRequest } from './kubeApi';

/** Socket-level failures: the address may be gone (an IP rotation) or unreachable. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPROTO',
]);

/** Certificate verification failures: the cluster CA (or the server's certificate) changed. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const code = e.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether `e` (as HttpKubeApi throws it: a TransientError caused by the socket error) means the
 * connection itself failed, at the socket or TLS level — not an answer from the API server.
 */
export function isConnectionFailure(e: unknown): boolean {
  if (!(e instanceof TransientError)) return false;
  const code = codeOf(e.cause);
  if (code === undefined) return false;
  return CONNECTION_CODES.has(code) || TLS_CODES.has(code) || code.startsWith('ERR_SSL_');
}

export interface RefreshOptions {
  /** Fewest milliseconds between two lookups (default 10 s). */
  readonly minIntervalMs?: number;
  readonly now?: () => number;
  /** Told about each lookup and why (for a log line). */
  readonly onRefresh?: (cluster: string, cause: string) => void;
}

export class RefreshingKubeApi implements KubeApi {
  private current: KubeApi;
  private refreshing: Promise<KubeApi> | undefined;
  private lastRefresh = Number.NEGATIVE_INFINITY;
  /** Requests sent on connections since replaced. */
  private retiredRequests = 0;

  constructor(
    readonly cluster: string,
    initial: KubeApi,
    /** Looks the cluster up again (endpoint, CA) and connects. */
    private readonly reconnect: () => Promise<KubeApi>,
    private readonly options: RefreshOptions = {},
  ) {
    this.current = initial;
  }

  async request<T>(req: KubeRequest): Promise<T> {
    const used = this.current;
    try {
      return await used.request<T>(req);
    } catch (e) {
      if (!isConnectionFailure(e)) throw e;
      const fresh = await this.replace(used, e);
      if (!fresh) throw e;
      return fresh.request<T>(req);
    }
  }

  /** The connection to retry on after `failed` failed with `cause`; undefined: do not retry. */
  private async replace(failed: KubeApi, cause: unknown): Promise<KubeApi | undefined> {
    // Another request already replaced it while this one was failing.
    if (this.current !== failed) return this.current;
    if (!this.refreshing) {
      const now = (this.options.now ?? Date.now)();
      if (now - this.lastRefresh < (this.options.minIntervalMs ?? 10_000)) return undefined;
      this.lastRefresh = now;
      this.options.onRefresh?.(this.cluster, errorMessage(cause));
      this.refreshing = this.reconnect()
        .then((api) => {
          this.retiredRequests += failed.requestCount();
          failed.close();
          this.current = api;
          return api;
        })
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    try {
      return await this.refreshing;
    } catch (e) {
      throw new TransientError(
        `${errorMessage(cause)}; looking ${this.cluster} up again failed too: ${errorMessage(e)}`,
        { cause },
      );
    }
  }

  requestCount(): number {
    return this.retiredRequests + this.current.requestCount();
  }

  close(): void {
    this.current.close();
  }
}
