// The writes Rotor makes to a cluster, each one idempotent:
//   restart     patch the pod template's kubectl.kubernetes.io/restartedAt (CronJob: the job
//               template's; Argo Rollout: spec.restartAt) with rotor.dev/applied in the same patch
//   record      write rotor.dev/applied alone (a newer restart already covered this version)
//   reload      POST to each ready pod's reload endpoint through the API server's pod proxy
//   forceSync   annotate an ExternalSecret so ESO syncs it now
// Patches carry metadata.resourceVersion, so a concurrent writer makes them fail with 409 and
// the caller re-reads and re-decides instead of overwriting.
import * as annotations from '../core/annotations';
import type { KubeObject, WorkloadRef } from '../core/kube';
import { MERGE_PATCH, kindOf } from '../core/workloadKinds';
import { appliedVersions } from '../core/discovery';
import { appliedValue } from '../core/appliedAlias';
import type { AppliedRecord } from '../core/decision';
import type { ReloadEndpoint } from '../core/reloadEndpoint';
import type { AppliedBy } from '../core/appliedBy';
import { appliedByAnnotation } from '../core/appliedBy';
import { resolvePort } from '../core/pods';
import type { KubeApi } from './kubeApi';
import { KubeApiError, isNotFound } from './kubeApi';
import { ProxyPathRefused, podProxyPrefix } from './podProxy';
import { RESOURCES, resourcePath, workloadResource } from './resources';

export interface WriteOptions {
  readonly dryRun: boolean;
}

function workloadPath(ref: WorkloadRef, object: KubeObject): string {
  const res = workloadResource(ref.kind);
  const version = (object.apiVersion ?? '').split('/')[1] ?? res.versions[0];
  return resourcePath(res, version, ref.namespace, ref.name);
}

/** rotor.dev/applied after this action: what was there, plus every record of the decision. */
function appliedAnnotation(object: KubeObject, records: readonly AppliedRecord[]): string {
  const applied = appliedVersions(object);
  for (const r of records) applied[r.key] = appliedValue(r.version, r.movedAt);
  return JSON.stringify(applied);
}

/** The annotations every acting patch writes: rotor.dev/applied, and rotor.dev/applied-by when known. */
function appliedAnnotations(
  object: KubeObject,
  records: readonly AppliedRecord[],
  by: AppliedBy | undefined,
): Record<string, string> {
  return {
    [annotations.APPLIED]: appliedAnnotation(object, records),
    ...(by ? { [annotations.APPLIED_BY]: appliedByAnnotation(object, records, by) } : {}),
  };
}

/** Patch body and content type that restart `ref` (pure: tested without a cluster). */
export function restartPatch(
  ref: WorkloadRef,
  object: KubeObject,
  restartedAt: string,
  records: readonly AppliedRecord[],
  by?: AppliedBy,
): { contentType: string; body: unknown } {
  const metadata = {
    resourceVersion: object.metadata?.resourceVersion,
    annotations: appliedAnnotations(object, records, by),
  };
  const { contentType, spec } = kindOf(ref.kind).restartPatch(restartedAt);
  return { contentType, body: { metadata, spec } };
}

export async function restartWorkload(
  api: KubeApi,
  ref: WorkloadRef,
  object: KubeObject,
  restartedAt: string,
  records: readonly AppliedRecord[],
  opts: WriteOptions & { by?: AppliedBy },
): Promise<KubeObject> {
  const patch = restartPatch(ref, object, restartedAt, records, opts.by);
  return api.request<KubeObject>({
    method: 'PATCH',
    path: workloadPath(ref, object),
    query: { fieldManager: 'rotor', ...(opts.dryRun ? { dryRun: 'All' } : {}) },
    contentType: patch.contentType,
    body: patch.body,
  });
}

export async function recordApplied(
  api: KubeApi,
  ref: WorkloadRef,
  object: KubeObject,
  records: readonly AppliedRecord[],
  opts: WriteOptions & { by?: AppliedBy },
): Promise<KubeObject> {
  return api.request<KubeObject>({
    method: 'PATCH',
    path: workloadPath(ref, object),
    query: { fieldManager: 'rotor', ...(opts.dryRun ? { dryRun: 'All' } : {}) },
    contentType: MERGE_PATCH,
    body: {
      metadata: {
        resourceVersion: object.metadata?.resourceVersion,
        annotations: appliedAnnotations(object, records, opts.by),
      },
    },
  });
}

export async function getWorkload(api: KubeApi, ref: WorkloadRef, object: KubeObject): Promise<KubeObject> {
  const fresh = await api.request<KubeObject>({ method: 'GET', path: workloadPath(ref, object) });
  return { ...fresh, apiVersion: fresh.apiVersion ?? object.apiVersion, kind: ref.kind };
}

export interface PodReloadResult {
  readonly pod: string;
  readonly ok: boolean;
  readonly attempts: number;
  readonly error?: string;
}

export interface ReloadOptions {
  readonly retries: number;
  readonly backoffMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** POSTs the reload endpoint of every given pod through the API server's pod proxy. */
export async function reloadPods(
  api: KubeApi,
  namespace: string,
  pods: readonly KubeObject[],
  endpoint: ReloadEndpoint,
  opts: ReloadOptions,
): Promise<PodReloadResult[]> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return Promise.all(
    pods.map(async (pod): Promise<PodReloadResult> => {
      const name = pod.metadata?.name ?? '';
      const port = resolvePort(pod, endpoint.port);
      if (port === undefined)
        return { pod: name, ok: false, attempts: 0, error: `no container port named "${endpoint.port}"` };
      const confinedTo = podProxyPrefix(namespace, name, port);
      const path = `${confinedTo}${endpoint.path.replace(/^\//, '')}`;
      let lastError = '';
      let attempts = 0;
      for (let attempt = 1; attempt <= opts.retries + 1; attempt++) {
        attempts = attempt;
        try {
          await api.request<string>({
            method: 'POST',
            path,
            raw: true,
            body: '',
            contentType: 'text/plain',
            timeoutMs: 10_000,
            confinedTo,
          });
          return { pod: name, ok: true, attempts: attempt };
        } catch (e) {
          lastError = (e as Error).message;
          // RBAC, or a path that would leave the pod: retrying cannot help.
          if ((e instanceof KubeApiError && e.status === 403) || e instanceof ProxyPathRefused) break;
          if (attempt <= opts.retries) await sleep(opts.backoffMs * 2 ** (attempt - 1));
        }
      }
      return { pod: name, ok: false, attempts, error: lastError };
    }),
  );
}

/** Asks ESO to sync an ExternalSecret now (its documented force-sync annotation). */
/**
 * Forces a sync of every child of a ClusterExternalSecret: ESO copies
 * spec.externalSecretMetadata.annotations onto each child, so the force-sync annotation set there
 * changes every child's metadata (which ESO refreshes on) and stays on them. `owner.uid` (from the
 * child's owner reference) goes in as metadata.uid, a precondition: the API server refuses the
 * patch (409) when the object of that name is not that owner, so an ExternalSecret that merely
 * names a ClusterExternalSecret cannot make Rotor touch it.
 */
export async function forceSyncClusterExternalSecret(
  api: KubeApi,
  owner: { readonly name: string; readonly uid: string },
  at: string,
  opts: WriteOptions,
): Promise<void> {
  await api.request({
    method: 'PATCH',
    path: resourcePath(RESOURCES.clusterExternalSecrets, 'v1', undefined, owner.name),
    query: { fieldManager: 'rotor', ...(opts.dryRun ? { dryRun: 'All' } : {}) },
    contentType: MERGE_PATCH,
    body: {
      metadata: { uid: owner.uid },
      spec: { externalSecretMetadata: { annotations: { [annotations.ESO_FORCE_SYNC]: at } } },
    },
  });
}

/** Forces GKE's secret sync to re-read Secret Manager: it syncs when spec.forceSynchronization changes. */
export async function forceSecretSync(
  api: KubeApi,
  secretSync: KubeObject,
  at: string,
  opts: WriteOptions,
): Promise<void> {
  await api.request({
    method: 'PATCH',
    path: resourcePath(
      RESOURCES.secretSyncs,
      'v1',
      secretSync.metadata?.namespace,
      secretSync.metadata?.name,
    ),
    query: { fieldManager: 'rotor', ...(opts.dryRun ? { dryRun: 'All' } : {}) },
    contentType: MERGE_PATCH,
    body: { spec: { forceSynchronization: at } },
  });
}

export async function forceSync(
  api: KubeApi,
  externalSecret: KubeObject,
  at: string,
  opts: WriteOptions,
): Promise<void> {
  const version = (externalSecret.apiVersion ?? '').split('/')[1] ?? 'v1';
  await api.request({
    method: 'PATCH',
    path: resourcePath(
      RESOURCES.externalSecrets,
      version,
      externalSecret.metadata?.namespace,
      externalSecret.metadata?.name,
    ),
    query: { fieldManager: 'rotor', ...(opts.dryRun ? { dryRun: 'All' } : {}) },
    contentType: MERGE_PATCH,
    body: { metadata: { annotations: { [annotations.ESO_FORCE_SYNC]: at } } },
  });
}

/** Bound on an annotation Rotor reads from a Namespace (the same as parseRestartWindows' text bound). */
const MAX_NAMESPACE_ANNOTATION = 1024;

/**
 * One annotation of a Namespace (cluster-scoped: written by the operator, not by tenants), or
 * undefined when the namespace or the annotation is absent. Longer than the bound: refused.
 */
export async function namespaceAnnotation(
  api: KubeApi,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  let ns: KubeObject;
  try {
    ns = await api.request<KubeObject>({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}`,
    });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  const value = ns.metadata?.annotations?.[name];
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_NAMESPACE_ANNOTATION ? value.slice(0, MAX_NAMESPACE_ANNOTATION + 1) : value;
}
