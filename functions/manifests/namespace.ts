// `rotor plan -n NS` offline: kubectl's rule for objects that name no namespace. Namespaced kinds
// get NS; cluster-scoped kinds never get one; an object's own metadata.namespace always wins.
// Without a cluster to ask, "cluster-scoped" is this list of the kinds repositories hold.
import type { KubeObject } from '../core/kube';
import { isObject } from '../core/kube';

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'CustomResourceDefinition',
  'APIService',
  'ClusterRole',
  'ClusterRoleBinding',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'CSIDriver',
  'VolumeSnapshotClass',
  // External Secrets Operator's cluster-wide kinds.
  'ClusterSecretStore',
  'ClusterExternalSecret',
  'ClusterGenerator',
  'ClusterPushSecret',
]);

export function isClusterScoped(o: KubeObject): boolean {
  return CLUSTER_SCOPED.has(o.kind ?? '');
}

/** Gives namespace-less objects of namespaced kinds `namespace` (in place: the objects are the loader's). */
export function defaultNamespace(objects: readonly KubeObject[], namespace: string): void {
  for (const o of objects) {
    if (isClusterScoped(o) || !isObject(o.metadata)) continue;
    const own = o.metadata.namespace;
    if (typeof own === 'string' && own !== '') continue;
    (o.metadata as { namespace?: string }).namespace = namespace;
  }
}
