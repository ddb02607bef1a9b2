// The API resources Rotor reads and writes, and cluster-wide paginated listing.
import type { KubeObject } from '../core/kube';
import type { WorkloadKind } from '../core/workloadKinds';
import { KINDS, WORKLOAD_KIND_NAMES } from '../core/workloadKinds';
import type { KubeApi } from './kubeApi';
import { KubeApiError, isNotFound } from './kubeApi';

export interface Resource {
  readonly group: string;
  /** Versions to try in order: the first one served wins (e.g. ESO v1, then v1beta1). */
  readonly versions: readonly string[];
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** A CRD that may not be installed: absent means "none", not an error. */
  readonly optional: boolean;
}

const r = (
  group: string,
  versions: string[],
  plural: string,
  kind: string,
  optional: boolean,
  namespaced = true,
): Resource => ({
  group,
  versions,
  plural,
  kind,
  namespaced,
  optional,
});

export const RESOURCES = {
  secretProviderClasses: r(
    'secrets-store.csi.x-k8s.io',
    ['v1', 'v1alpha1'],
    'secretproviderclasses',
    'SecretProviderClass',
    true,
  ),
  spcPodStatuses: r(
    'secrets-store.csi.x-k8s.io',
    ['v1', 'v1alpha1'],
    'secretproviderclasspodstatuses',
    'SecretProviderClassPodStatus',
    true,
  ),
  externalSecrets: r('external-secrets.io', ['v1', 'v1beta1'], 'externalsecrets', 'ExternalSecret', true),
  secretStores: r('external-secrets.io', ['v1', 'v1beta1'], 'secretstores', 'SecretStore', true),
  clusterSecretStores: r(
    'external-secrets.io',
    ['v1', 'v1beta1'],
    'clustersecretstores',
    'ClusterSecretStore',
    true,
    false,
  ),
  clusterExternalSecrets: r(
    'external-secrets.io',
    ['v1'],
    'clusterexternalsecrets',
    'ClusterExternalSecret',
    true,
    false,
  ),
  secretSyncs: r('secret-sync.gke.io', ['v1'], 'secretsyncs', 'SecretSync', true),
  pods: r('', ['v1'], 'pods', 'Pod', false),
} as const;

/** The API resource of a workload kind, from the table of kinds. */
export function workloadResource(kind: WorkloadKind): Resource {
  const k = KINDS[kind];
  return r(k.group, [...k.versions], k.plural, k.kind, k.optional);
}

/** Every workload kind's resource, in the table's order. */
export const WORKLOAD_RESOURCES: readonly Resource[] = WORKLOAD_KIND_NAMES.map(workloadResource);

/** The resource of the kind through which a workload owns its pods (its ReplicaSets, its Jobs). */
export function podOwnerResource(owner: { group: string; plural: string; kind: string }): Resource {
  return r(owner.group, ['v1'], owner.plural, owner.kind, false);
}

export function resourcePath(res: Resource, version: string, namespace?: string, name?: string): string {
  const base = res.group ? `/apis/${res.group}/${version}` : `/api/${version}`;
  const ns = res.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${res.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

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
