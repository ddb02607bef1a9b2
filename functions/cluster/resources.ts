// The API resources Rotor reads and writes, and their paths. A table, no requests: listing them
// page by page is listing.ts.
import type { WorkloadKind } from '../core/kube';
import { WORKLOAD_KIND_NAMES } from '../core/kube';
import { KINDS } from '../core/workloadKinds';

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
