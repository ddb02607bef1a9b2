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

/** Every workload kind Rotor acts on; what each one is and does lives in workloadKinds.ts. */
export const WORKLOAD_KIND_NAMES = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'CronJob',
  'Rollout',
  'Job',
  'Pod',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KIND_NAMES)[number];

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

export function objectName(o: KubeObject): string {
  return o.metadata?.name ?? '<unnamed>';
}

export function describeObject(o: KubeObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind ?? '<no kind>'} ${ns}${objectName(o)}`;
}
