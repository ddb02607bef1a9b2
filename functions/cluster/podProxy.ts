// Requests through the API server's pod proxy, confined to the pod they name. The proxy path ends
// in tenant input (rotor.dev/reload-endpoint); parseReloadEndpoint already refuses anything URL
// normalisation could reinterpret, and this is the second, independent check at the request: the
// URL actually sent, normalised as `new URL` does and under the cluster's base path (a Connect
// Gateway server URL has one), must still start with the pod's own proxy prefix, with no query or
// fragment smuggled in. Pure.
import { RESOURCES, resourcePath } from './resources';

/** `/api/v1/namespaces/NS/pods/NAME:PORT/proxy/`: everything a reload of this pod may reach. */
export function podProxyPrefix(namespace: string, pod: string, port: number): string {
  return `${resourcePath(RESOURCES.pods, 'v1', namespace, `${pod}:${port}`)}/proxy/`;
}

/** The URL a request for `path` goes to on `server` (its base path kept, as kubectl does). */
export function requestUrl(server: URL, path: string): URL {
  return new URL(server.pathname.replace(/\/$/, '') + path, server);
}

/**
 * Why a request for `path` on `server` would leave `prefix` (an API path such as
 * podProxyPrefix's), or undefined when it stays inside.
 */
export function confinementProblem(server: URL, path: string, prefix: string): string | undefined {
  const url = requestUrl(server, path);
  const allowed = server.pathname.replace(/\/$/, '') + prefix;
  if (url.origin !== server.origin) return `it would go to ${url.origin}, not ${server.origin}`;
  if (!url.pathname.startsWith(allowed)) return `its normalised path leaves ${allowed}`;
  if (url.search !== '') return 'it carries a query string';
  if (url.hash !== '') return 'it carries a fragment';
  return undefined;
}

/** A request refused before it was sent because it would leave the pod it names. */
export class ProxyPathRefused extends Error {
  override readonly name = 'ProxyPathRefused';
}
