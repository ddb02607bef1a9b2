// An Inventory is everything discovery looks at in one cluster, as plain objects: the same shape
// whether it came from manifests on disk or from cluster-wide lists on a live API server.
import type { KubeObject } from './kube';
import { isWorkload } from './workloadKinds';
import { isExternalSecret, isSecretStore } from './externalSecret';
import { isSecretProviderClass } from './secretProviderClass';
import { isClusterExternalSecret, isNamespace } from './clusterExternalSecret';
import { isSecretSync } from './secretSync';

export interface Inventory {
  readonly cluster: string;
  readonly workloads: readonly KubeObject[];
  readonly secretProviderClasses: readonly KubeObject[];
  readonly externalSecrets: readonly KubeObject[];
  /** SecretStores and ClusterSecretStores. */
  readonly secretStores: readonly KubeObject[];
  /** Live only: which version the CSI driver has mounted for each pod. */
  readonly spcPodStatuses?: readonly KubeObject[];
  /**
   * Offline only: ClusterExternalSecrets, expanded by discovery into the namespaces they pick from
   * `namespaces`. Live, ESO's children are among the ExternalSecrets already.
   */
  readonly clusterExternalSecrets?: readonly KubeObject[];
  /** Offline only: the Namespace objects among the manifests. */
  readonly namespaces?: readonly KubeObject[];
  /** GKE's secret sync objects (secret-sync.gke.io/v1 SecretSync). */
  readonly secretSyncs?: readonly KubeObject[];
}

function isSpcPodStatus(o: KubeObject): boolean {
  return (
    o.kind === 'SecretProviderClassPodStatus' && /^secrets-store\.csi\.x-k8s\.io\//.test(o.apiVersion ?? '')
  );
}

/** Sorts a bag of objects into an Inventory; objects of other kinds are ignored. */
export function inventoryFrom(cluster: string, objects: Iterable<KubeObject>): Inventory {
  const workloads: KubeObject[] = [];
  const secretProviderClasses: KubeObject[] = [];
  const externalSecrets: KubeObject[] = [];
  const secretStores: KubeObject[] = [];
  const spcPodStatuses: KubeObject[] = [];
  const clusterExternalSecrets: KubeObject[] = [];
  const namespaces: KubeObject[] = [];
  const secretSyncs: KubeObject[] = [];
  for (const o of objects) {
    if (isWorkload(o)) workloads.push(o);
    else if (isSecretProviderClass(o)) secretProviderClasses.push(o);
    else if (isExternalSecret(o)) externalSecrets.push(o);
    else if (isSecretStore(o)) secretStores.push(o);
    else if (isSpcPodStatus(o)) spcPodStatuses.push(o);
    else if (isClusterExternalSecret(o)) clusterExternalSecrets.push(o);
    else if (isNamespace(o)) namespaces.push(o);
    else if (isSecretSync(o)) secretSyncs.push(o);
  }
  return {
    cluster,
    workloads,
    secretProviderClasses,
    externalSecrets,
    secretStores,
    spcPodStatuses,
    clusterExternalSecrets,
    namespaces,
    secretSyncs,
  };
}
