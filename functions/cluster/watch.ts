// Waiting for a change on what a reconcile pass waits on (core/converge.ts: WatchTarget): one
// Kubernetes watch per target group, all at once; the first event on any of them that can change
// the next pass's decision (core/converge.ts: wakesPass) ends the wait, the others are read past.
// A watch that loses its place (410 Gone) ends the wait: the next pass lists afresh. One that
// cannot start or breaks (a network error, an API that does not stream) falls back to the poll:
// the wait then ends at its deadline.
import type { WatchEvent, WatchGroup, WatchTarget } from '../core/converge';
import { wakesPass, watchGroups } from '../core/converge';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { KubeApi } from './kubeApi';
import { isNotFound } from './kubeApi';
import type { Resource } from './resources';
import { RESOURCES, resourcePath, workloadResource } from './resources';

/** Why a wait ended. */
export type WaitEnd = 'changed' | 'deadline';

/** What a wait saw (for the loop's per-pass figures): the events read past, which woke no pass. */
export interface WaitStats {
  ignored: number;
}

/**
 * Waits until one of `targets` changes or `untilMs` (epoch ms) passes. Targets are grouped (one
 * watch per object, or per namespace and resource when many objects of it are waited on), at most
 * `maxWatches` watches; without targets the wait is a plain poll.
 */
export async function waitForChange(
  apis: readonly KubeApi[],
  targets: readonly WatchTarget[],
  untilMs: number,
  log: Logger,
  maxWatches = 16,
  stats: WaitStats = { ignored: 0 },
): Promise<WaitEnd> {
  const ms = untilMs - Date.now();
  if (ms <= 0) return 'deadline';
  const controller = new AbortController();
  const byCluster = new Map(apis.map((a) => [a.cluster, a]));
  const groups = watchGroups(targets, maxWatches);
  const deadline = new Promise<WaitEnd>((resolve) => {
    const t = setTimeout(() => resolve('deadline'), ms);
    controller.signal.addEventListener('abort', () => clearTimeout(t));
  });
  const watches = groups.flatMap((g) => {
    const api = byCluster.get(g.cluster);
    return api ? [watchOne(api, g, ms, controller.signal, log, stats)] : [];
  });
  try {
    return await Promise.race([deadline, ...watches]);
  } finally {
    controller.abort();
  }
}

/**
 * Resolves 'changed' on the first event that wakes a pass; never resolves when the watch fails
 * or its stream ends (the poll ends the wait).
 */
async function watchOne(
  api: KubeApi,
  target: WatchGroup,
  ms: number,
  signal: AbortSignal,
  log: Logger,
  stats: WaitStats,
): Promise<WaitEnd> {
  const res = resourceOf(target);
  const accept = (event: unknown): boolean => {
    const wakes = wakesPass(target, event ?? {});
    if (!wakes) stats.ignored++;
    return wakes;
  };
  try {
    for (const version of res.versions) {
      try {
        let resourceVersion = target.resourceVersion ?? (await currentVersion(api, res, version, target));
        for (;;) {
          const event = await api.request<WatchEvent>({
            method: 'GET',
            path: resourcePath(res, version, target.namespace),
            query: {
              watch: 1,
              resourceVersion,
              allowWatchBookmarks: 'false',
              timeoutSeconds: Math.max(1, Math.ceil(ms / 1000)),
              ...(target.name ? { fieldSelector: `metadata.name=${target.name}` } : {}),
            },
            timeoutMs: ms + 5_000,
            watch: { signal, accept },
          });
          if (event.type === undefined) return new Promise<WaitEnd>(() => undefined); // no event: the poll
          if (wakesPass(target, event)) return 'changed';
          // A KubeApi that answered an event `accept` refused: watched again from just after it.
          stats.ignored++;
          const after = versionOf(event);
          if (after === undefined) return new Promise<WaitEnd>(() => undefined);
          resourceVersion = after;
        }
      } catch (e) {
        if (isNotFound(e)) continue; // this version is not served: the next
        throw e;
      }
    }
  } catch (e) {
    if (!signal.aborted)
      log.debug(`watch of ${res.plural} in ${target.namespace} failed (${errorMessage(e)}); polling instead`);
  }
  return new Promise<WaitEnd>(() => undefined);
}

/** The resourceVersion of a watch event's object, if it has one. */
function versionOf(event: WatchEvent): string | undefined {
  const o = event.object as { metadata?: { resourceVersion?: unknown } } | undefined;
  const v = o?.metadata?.resourceVersion;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The collection's current resourceVersion: a watch from it sees only what changes next. */
async function currentVersion(
  api: KubeApi,
  res: Resource,
  version: string,
  target: WatchTarget,
): Promise<string> {
  const list = await api.request<{ metadata?: { resourceVersion?: string } }>({
    method: 'GET',
    path: resourcePath(res, version, target.namespace),
    query: { limit: 1, ...(target.name ? { fieldSelector: `metadata.name=${target.name}` } : {}) },
  });
  return list.metadata?.resourceVersion ?? '';
}

function resourceOf(target: WatchTarget): Resource {
  switch (target.resource) {
    case 'workload':
      return workloadResource(target.kind);
    case 'external-secret':
      return RESOURCES.externalSecrets;
    case 'secret-sync':
      return RESOURCES.secretSyncs;
    case 'spc-pod-status':
      return RESOURCES.spcPodStatuses;
    case 'pod':
      return RESOURCES.pods;
  }
}
