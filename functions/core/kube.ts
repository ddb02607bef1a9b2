// Plain Kubernetes objects as Rotor reads them: from manifests on disk or from a live cluster.
// Only the fields discovery needs are typed; everything arrives untrusted, so readers check shapes.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  ownerReferences?: Array<{ kind?: string; name?: string; uid?: string; controller?: boolean }>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  /** Where the object came from (file path, or `cluster/NAME`), for error messages. */
  readonly __source?: string;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Rollout'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WorkloadRef {
  readonly cluster: string;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function apiGroup(apiVersion: string | undefined): string {
  if (typeof apiVersion !== 'string') return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function isWorkloadKind(kind: string | undefined): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind ?? '');
}

/** Is this object a workload kind Rotor handles (matching on group, not just kind)? */
export function isWorkload(o: KubeObject): boolean {
  const g = apiGroup(o.apiVersion);
  switch (o.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      return g === 'apps';
    case 'CronJob':
      return g === 'batch';
    case 'Rollout':
      return g === 'argoproj.io';
    default:
      return false;
  }
}

export function objectName(o: KubeObject): string {
  return o.metadata?.name ?? '<unnamed>';
}

export function namespaceOf(o: KubeObject, fallback = 'default'): string {
  return o.metadata?.namespace ?? fallback;
}

export function describeObject(o: KubeObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind ?? '<no kind>'} ${ns}${objectName(o)}`;
}

/** The pod template of a workload (CronJob: its job template's). */
export function podTemplate(
  o: KubeObject,
): { metadata?: ObjectMeta; spec?: Record<string, unknown> } | undefined {
  const spec = o.spec;
  if (!isObject(spec)) return undefined;
  if (o.kind === 'CronJob') {
    const jt = spec.jobTemplate;
    if (!isObject(jt) || !isObject(jt.spec) || !isObject(jt.spec.template)) return undefined;
    return jt.spec.template;
  }
  // Argo Rollouts may reference a Deployment's template (workloadRef) instead of embedding one.
  if (!isObject(spec.template)) return undefined;
  return spec.template;
}

/**
 * An annotation set on the workload, or failing that on its pod template. Manifests are untrusted:
 * an unquoted `true` or `8080` arrives as a boolean or number and is read as its text; anything
 * else that is not a string counts as absent.
 */
export function workloadAnnotation(o: KubeObject, key: string): string | undefined {
  return (
    annotationText(o.metadata?.annotations?.[key]) ??
    annotationText(podTemplate(o)?.metadata?.annotations?.[key])
  );
}

function annotationText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  return undefined;
}
