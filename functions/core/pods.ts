// Pods of a workload and their readiness, from plain objects. Pure.
import type { KubeObject } from './kube';
import { asArray, isObject, str } from './kube';

/** The workload's `spec.selector` as a label selector string for list calls. */
export function selectorOf(workload: KubeObject): string | undefined {
  const spec = isObject(workload.spec) ? workload.spec : {};
  const sel = isObject(spec.selector) ? spec.selector : undefined;
  if (!sel) return undefined;
  const parts: string[] = [];
  if (isObject(sel.matchLabels)) {
    for (const [k, v] of Object.entries(sel.matchLabels)) if (typeof v === 'string') parts.push(`${k}=${v}`);
  }
  for (const e of asArray(sel.matchExpressions)) {
    if (!isObject(e)) continue;
    const key = str(e.key);
    const values = asArray(e.values).filter((v): v is string => typeof v === 'string');
    switch (str(e.operator)) {
      case 'In':
        parts.push(`${key} in (${values.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${key} notin (${values.join(',')})`);
        break;
      case 'Exists':
        parts.push(`${key}`);
        break;
      case 'DoesNotExist':
        parts.push(`!${key}`);
        break;
    }
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** Running, Ready, not being deleted, with an IP to reach. */
export function isReadyPod(pod: KubeObject): boolean {
  if ((pod.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp) return false;
  const status = isObject(pod.status) ? pod.status : {};
  if (!str(status.podIP)) return false;
  return asArray(status.conditions).some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
}

/** Resolves a reload port: a number, or the name of a container port in the pod. */
export function resolvePort(pod: KubeObject, port: string): number | undefined {
  if (/^[0-9]+$/.test(port)) return Number(port);
  const spec = isObject(pod.spec) ? pod.spec : {};
  for (const c of asArray(spec.containers)) {
    if (!isObject(c)) continue;
    for (const p of asArray(c.ports)) {
      if (isObject(p) && p.name === port && typeof p.containerPort === 'number') return p.containerPort;
    }
  }
  return undefined;
}
