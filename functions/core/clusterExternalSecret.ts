// ClusterExternalSecret (external-secrets.io/v1, cluster-scoped): ESO writes one ExternalSecret,
// named spec.externalSecretName (default: the ClusterExternalSecret's name), with spec
// externalSecretSpec and metadata externalSecretMetadata, into every namespace that
// spec.namespaceSelectors (ORed label selectors), the deprecated spec.namespaceSelector, or the
// deprecated spec.namespaces list picks; each child carries a controller owner reference to it
// (external-secrets v0.16, pkg/controllers/clusterexternalsecret). Pure.
//
// Offline, Rotor expands it into those children itself, picking namespaces from the Namespace
// objects among the manifests. Live, ESO has created them: they are listed as ExternalSecrets, and
// a namespace that already holds an ExternalSecret of the child's name is not expanded again, so
// no workload is counted twice.
import { InputError } from '../errors';
import type { KubeObject } from './kube';
import { apiGroup, asArray, describeObject, isObject, str } from './kube';
import { quoteTenant } from './tenantText';

export const CLUSTER_EXTERNAL_SECRET = 'ClusterExternalSecret';

export function isClusterExternalSecret(o: KubeObject): boolean {
  return o.kind === CLUSTER_EXTERNAL_SECRET && apiGroup(o.apiVersion) === 'external-secrets.io';
}

export function isNamespace(o: KubeObject): boolean {
  return o.kind === 'Namespace' && o.apiVersion === 'v1';
}

/**
 * A ClusterExternalSecret as an ExternalSecret's owner reference names it. The name alone proves
 * nothing: anyone who may write the ExternalSecret (a tenant) may name any ClusterExternalSecret
 * there. The uid is the one ESO copied from its owner; Rotor's force-sync of the parent sends it as
 * a precondition (metadata.uid), so the API server refuses the patch unless the object of that name
 * is that very owner.
 */
export interface ClusterExternalSecretRef {
  readonly name: string;
  /** Absent on children Rotor expanded offline from a manifest without one. */
  readonly uid?: string;
}

/** The ClusterExternalSecret that owns an ExternalSecret (its controller owner reference), if any. */
export function owningClusterExternalSecret(es: KubeObject): ClusterExternalSecretRef | undefined {
  const owner = (es.metadata?.ownerReferences ?? []).find(
    (r) => r.controller === true && r.kind === CLUSTER_EXTERNAL_SECRET && typeof r.name === 'string',
  );
  if (owner?.name === undefined) return undefined;
  return { name: owner.name, ...(owner.uid ? { uid: owner.uid } : {}) };
}

/**
 * A Kubernetes label selector (matchLabels and matchExpressions, ANDed) against a label set. An
 * empty selector matches everything, as metav1.LabelSelectorAsSelector has it.
 */
export function matchesSelector(
  selector: Record<string, unknown>,
  labels: Readonly<Record<string, string>>,
  where: string,
): boolean {
  const matchLabels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== String(v)) return false;
  for (const e of asArray(selector.matchExpressions)) {
    if (!isObject(e)) throw new InputError(`${where}: a matchExpressions entry is not an object`);
    const key = str(e.key);
    if (!key) throw new InputError(`${where}: a matchExpressions entry has no key`);
    const values = asArray(e.values).map(String);
    const has = Object.hasOwn(labels, key);
    switch (str(e.operator)) {
      case 'In':
        if (!has || !values.includes(labels[key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new InputError(
          `${where}: matchExpressions operator ${quoteTenant(str(e.operator) ?? '')} is not In, NotIn, Exists or DoesNotExist`,
        );
    }
  }
  return true;
}

/** A Namespace's labels, with the `kubernetes.io/metadata.name` label the API server sets on every one. */
function namespaceLabels(ns: KubeObject): Record<string, string> {
  const name = ns.metadata?.name ?? '';
  return { ...(ns.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': name };
}

/**
 * The ExternalSecrets ESO would create from each ClusterExternalSecret, in the namespaces it picks
 * from `namespaces` (Namespace objects). Skips a namespace that already has an ExternalSecret of
 * the child's name (ESO's own child, listed live; or another one, which ESO reports as failed).
 * `problem` hears what cannot be expanded, e.g. selectors with no Namespace objects to pick from.
 */
export function expandClusterExternalSecrets(
  clusterExternalSecrets: readonly KubeObject[],
  namespaces: readonly KubeObject[],
  externalSecrets: readonly KubeObject[],
  problem: (message: string) => void,
): KubeObject[] {
  const existing = new Set(
    externalSecrets.map((es) => `${es.metadata?.namespace ?? 'default'}/${es.metadata?.name ?? ''}`),
  );
  const out: KubeObject[] = [];
  for (const ces of clusterExternalSecrets) {
    const where = describeObject(ces);
    const spec = isObject(ces.spec) ? ces.spec : {};
    const cesName = ces.metadata?.name;
    if (!cesName) throw new InputError(`${where}: metadata.name is missing`);
    if (!isObject(spec.externalSecretSpec))
      throw new InputError(`${where}: spec.externalSecretSpec is missing or not an object`);
    const childName = str(spec.externalSecretName) ?? cesName;
    const selectors = [
      ...asArray(spec.namespaceSelectors),
      ...(spec.namespaceSelector !== undefined ? [spec.namespaceSelector] : []),
    ];
    for (const s of selectors)
      if (!isObject(s)) throw new InputError(`${where}: a namespace selector is not an object`);
    const picked = new Set<string>();
    for (const n of asArray(spec.namespaces)) {
      if (typeof n !== 'string' || n === '')
        throw new InputError(`${where}: spec.namespaces holds a non-name`);
      picked.add(n);
    }
    if (selectors.length > 0 && namespaces.length === 0)
      problem(
        `${where}: no Namespace objects were given, so its namespace selectors pick no namespace (add the Namespace manifests to expand it)`,
      );
    for (const ns of namespaces) {
      const labels = namespaceLabels(ns);
      if (selectors.some((s) => isObject(s) && matchesSelector(s, labels, where)))
        picked.add(ns.metadata?.name ?? '');
    }
    const metadata = isObject(spec.externalSecretMetadata) ? spec.externalSecretMetadata : {};
    for (const namespace of [...picked].sort()) {
      if (existing.has(`${namespace}/${childName}`)) continue;
      out.push({
        apiVersion: ces.apiVersion ?? 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: {
          name: childName,
          namespace,
          ...(isObject(metadata.labels) ? { labels: stringMap(metadata.labels) } : {}),
          ...(isObject(metadata.annotations) ? { annotations: stringMap(metadata.annotations) } : {}),
          ownerReferences: [
            {
              kind: CLUSTER_EXTERNAL_SECRET,
              name: cesName,
              ...(ces.metadata?.uid ? { uid: ces.metadata.uid } : {}),
              controller: true,
            },
          ],
        },
        spec: spec.externalSecretSpec,
        ...(ces.__source ? { __source: ces.__source } : {}),
      });
    }
  }
  return out;
}

function stringMap(m: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
