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

/** The uid of the object's controller (the owner reference with `controller: true`), if any. */
function controllerUid(o: KubeObject): string | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.controller === true)?.uid;
}

/**
 * The pods that belong to `workload` by controller owner references: pods it controls directly
 * (StatefulSet, DaemonSet), or pods controlled by an `intermediates` object it controls (a
 * Deployment's or Rollout's ReplicaSets, a CronJob's Jobs). A pod its selector merely matches, of
 * another ReplicaSet or of nobody, is not its own.
 */
export function ownedPods(
  workload: KubeObject,
  pods: readonly KubeObject[],
  intermediates?: readonly KubeObject[],
): KubeObject[] {
  const uid = workload.metadata?.uid;
  if (!uid) return [];
  const owners = new Set<string>();
  if (intermediates === undefined) owners.add(uid);
  else
    for (const o of intermediates) {
      const own = o.metadata?.uid;
      if (own && controllerUid(o) === uid) owners.add(own);
    }
  return pods.filter((p) => {
    const owner = controllerUid(p);
    return owner !== undefined && owners.has(owner);
  });
}
