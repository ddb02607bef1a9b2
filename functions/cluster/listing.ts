// Cluster-wide paginated listing of the API resources in resources.ts, page by page, each object
// parsed on its own as it arrives (listItems.ts).
import type { KubeObject } from '../core/kube';
import type { KubeApi } from './kubeApi';
import { KubeApiError, isNotFound } from './kubeApi';
import type { Resource } from './resources';
import { resourcePath } from './resources';

interface ListBody {
  apiVersion?: string;
  items?: KubeObject[];
  metadata?: { continue?: string; resourceVersion?: string };
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Page size; the API server caps work per request, `continue` fetches the rest. */
  readonly limit?: number;
}

/**
 * Lists every object of a resource (cluster-wide unless a namespace is given), page by page, with
 * the list's resourceVersion (a watch from it sees every change since). Returns undefined when an
 * optional CRD is not installed.
 */
export async function listAll(
  api: KubeApi,
  res: Resource,
  opts: ListOptions = {},
): Promise<{ items: KubeObject[]; version: string; resourceVersion: string } | undefined> {
  const items: KubeObject[] = [];
  const served = await forEachPage(api, res, opts, (page) => {
    items.push(...page);
  });
  return served ? { items, ...served } : undefined;
}

/**
 * Streams a list: calls `onPage` with each page's objects that `keep` keeps, as the page arrives,
 * so a caller that keeps only some of them holds one page's kept objects at a time. Each object is
 * parsed on its own and offered to `keep` as soon as it arrives (listItems.ts): what is dropped
 * never outlives its own parse. Returns the version served, or undefined when an optional CRD is
 * not installed.
 */
export async function forEachPage(
  api: KubeApi,
  res: Resource,
  opts: ListOptions,
  onPage: (items: KubeObject[]) => void,
  keep: (o: KubeObject) => boolean = () => true,
  /** A byte-level pre-filter of the items (KubeRequest.mayKeepItem): false only where `keep` is. */
  mayKeepItem?: (bytes: Buffer) => boolean,
): Promise<{ version: string; resourceVersion: string } | undefined> {
  let lastNotFound: unknown;
  for (const version of res.versions) {
    let delivered = false;
    let cont: string | undefined;
    // List items carry no apiVersion/kind: restore them so the core can recognise objects.
    // managedFields are never read and are about half of each object: dropped, so that what is
    // kept holds half the memory (and the collector moves half as much). Idempotent, so a KubeApi
    // that ignores eachItem (or a retried request) gets the same result from the second pass.
    const apiVersion = res.group ? `${res.group}/${version}` : version;
    const accept = (item: KubeObject): KubeObject | undefined => {
      if (item.metadata) delete (item.metadata as { managedFields?: unknown }).managedFields;
      item.apiVersion = apiVersion;
      item.kind = res.kind;
      return keep(item) ? item : undefined;
    };
    try {
      let resourceVersion = '';
      do {
        const page = await api.request<ListBody>({
          method: 'GET',
          path: resourcePath(res, version, opts.namespace),
          query: {
            limit: opts.limit ?? 500,
            continue: cont,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
          },
          eachItem: accept,
          ...(mayKeepItem ? { mayKeepItem } : {}),
        });
        const items: KubeObject[] = [];
        for (const item of page.items ?? []) if (accept(item)) items.push(item);
        delivered = true;
        onPage(items);
        // Every page of one list is served at the list's first resourceVersion.
        resourceVersion ||= page.metadata?.resourceVersion ?? '';
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return { version, resourceVersion };
    } catch (e) {
      if (isNotFound(e) && !delivered) {
        lastNotFound = e;
        continue; // this version (or the whole CRD) is not served: try the next
      }
      throw e;
    }
  }
  if (res.optional) return undefined;
  throw lastNotFound instanceof KubeApiError
    ? lastNotFound
    : new Error(`${res.plural}.${res.group} is not served`);
}
