// Is the new version visible where a workload's pods will read it? Acting too early keeps the old
// credential in use: a restart before ESO synced its Secret restarts into the old value, a reload
// ping before the CSI driver rewrote the file re-reads the old file. Pure: it reads object status.
//   ESO:  ExternalSecret status.refreshTime after the event (after Rotor's force-sync when the
//         event has no time), and Ready=True; a refreshPolicy/refreshInterval under which ESO
//         never refreshes is named as such.
//   CSI:  SecretProviderClassPodStatus status.objects[].version (the driver's record of the
//         version it mounted, `projects/N/secrets/S/versions/V`) at or past the target, for every
//         ready pod (reload), or for any pod mounting the class (secretObjects sync).
//   A synced Secret read as a volume by a reload: also the kubelet's sync period after the Secret
//         changed, before the files show it (kubeletProjection.ts).
import { ESO_FORCE_SYNC } from './annotations';
import type { ReadinessCheck } from './decision';
import type { Readiness } from './readinessVerdict';
import { esoNeverRefreshes } from './esoRefresh';
import type { Dependency } from './discovery';
import type { KubeObject } from './kube';
import { asArray, isObject, str } from './kube';
import type { ProjectMap, SecretId } from './secretName';
import { secretSyncReadiness } from './secretSync';
import { rotationIntervalReadiness } from './csiRotation';
import { DEFAULT_KUBELET_SYNC_SECONDS, kubeletProjectionReadiness } from './kubeletProjection';
import { parseSecretName, secretKey, versionKind } from './secretName';

export interface LiveState {
  /** ExternalSecrets by `namespace/name`, with status. */
  readonly externalSecrets: ReadonlyMap<string, KubeObject>;
  /** SecretProviderClassPodStatuses of the namespaces involved. */
  readonly spcPodStatuses: readonly KubeObject[];
  /** Ready pods of the workload being decided. */
  readonly readyPods: readonly KubeObject[];
  /** GKE SecretSyncs by `namespace/name`, with status. */
  readonly secretSyncs?: ReadonlyMap<string, KubeObject>;
}

export interface ReadinessContext {
  /** The event's time: a sync must have happened after it. */
  readonly eventTime?: string;
  readonly projects: ProjectMap;
  /** The clock and the CSI driver's rotation interval, for pods without mount status (csiRotation.ts). */
  readonly now?: number;
  readonly csiRotationIntervalMs?: number;
  /** The kubelet's sync period (ms; default DEFAULT_KUBELET_SYNC_SECONDS): Secret volumes lag by it. */
  readonly kubeletSyncMs?: number;
}

export function readinessCheck(state: LiveState, ctx: ReadinessContext): ReadinessCheck {
  return (dep: Dependency, action: 'restart' | 'reload', target: string): Readiness | undefined => {
    const synced = syncReadiness(state, ctx, dep, action, target);
    // A restarted pod mounts the Secret as it is now; a running one sees it on its kubelet's sync.
    if (synced === undefined || action !== 'reload' || dep.via !== 'volume') return synced;
    if (dep.source.kind !== 'eso' && dep.source.kind !== 'gke-sync' && dep.source.kind !== 'csi-sync')
      return synced;
    return kubeletProjectionReadiness(`${dep.source.namespace}/${dep.source.secretName}`, synced, {
      ...(ctx.eventTime !== undefined ? { eventTime: ctx.eventTime } : {}),
      ...(ctx.now !== undefined ? { now: ctx.now } : {}),
      kubeletSyncMs: ctx.kubeletSyncMs ?? DEFAULT_KUBELET_SYNC_SECONDS * 1000,
    });
  };
}

/** Whether the new version reached where the dependency's source puts it (the synced Secret, the CSI mount). */
function syncReadiness(
  state: LiveState,
  ctx: ReadinessContext,
  dep: Dependency,
  action: 'restart' | 'reload',
  target: string,
): Readiness | undefined {
  switch (dep.source.kind) {
    case 'eso':
      return esoReadiness(state, dep.source.namespace, dep.source.externalSecret, ctx);
    case 'csi-sync':
      return csiSyncReadiness(state, dep, dep.source.namespace, dep.source.spc, target, ctx);
    case 'csi':
      // A restarted pod mounts the volume afresh and reads the newest version: only an in-place
      // reload has to wait for the driver's rotation.
      if (action !== 'reload' || dep.via !== 'csi') return undefined;
      return csiPodsReadiness(state, dep, dep.source.namespace, dep.source.spc, target, ctx);
    case 'gke-sync': {
      const key = `${dep.source.namespace}/${dep.source.secretSync}`;
      return secretSyncReadiness(state.secretSyncs?.get(key), key, ctx.eventTime);
    }
    case 'api':
      return undefined;
  }
}

/** The force-sync annotation's time (Rotor writes an ISO timestamp), when it is one. */
function forceSyncRequestedAt(es: KubeObject): string | undefined {
  const value = es.metadata?.annotations?.[ESO_FORCE_SYNC];
  return value !== undefined && !Number.isNaN(Date.parse(value)) ? value : undefined;
}

function esoReadiness(state: LiveState, namespace: string, name: string, ctx: ReadinessContext): Readiness {
  const es = state.externalSecrets.get(`${namespace}/${name}`);
  if (!es) return { ready: false, detail: `ExternalSecret ${namespace}/${name} not found` };
  const status = isObject(es.status) ? es.status : {};
  const refreshTime = str(status.refreshTime);
  const readyCond = asArray(status.conditions).find((c) => isObject(c) && c.type === 'Ready') as
    Record<string, unknown> | undefined;
  if (readyCond && readyCond.status !== 'True') {
    return {
      ready: false,
      detail: `ExternalSecret ${namespace}/${name} is not Ready (${str(readyCond.reason) ?? ''}: ${str(readyCond.message) ?? ''})`,
    };
  }
  if (!refreshTime) return { ready: false, detail: `ExternalSecret ${namespace}/${name} has not synced yet` };
  // ESO stamps refreshTime with the start of the sync, before it reads Secret Manager (see
  // esoRefresh.ts), so a refresh after the event read the new version; a sync in flight across the
  // event carries a refreshTime before it. refreshTime has second precision: only a refresh in a
  // later second than the event is provably after it.
  // Without an event time, "after the event" cannot be told: only a refresh after the force-sync
  // Rotor requested (for this event, or a later one) cannot predate it.
  const after = ctx.eventTime ?? forceSyncRequestedAt(es);
  if (!after || Date.parse(refreshTime) <= Date.parse(after)) {
    const never = esoNeverRefreshes(es);
    if (never) {
      return {
        ready: false,
        detail: `ExternalSecret ${namespace}/${name} has ${never}: ESO does not refresh it after its first sync (force-sync included), so its Secret keeps the value synced at ${refreshTime}`,
      };
    }
    if (!after)
      return { ready: false, detail: `ExternalSecret ${namespace}/${name} has not been asked to sync yet` };
    const sameSecond = Math.floor(Date.parse(refreshTime) / 1000) === Math.floor(Date.parse(after) / 1000);
    const what = ctx.eventTime ? 'the event' : 'the force-sync Rotor requested';
    return {
      ready: false,
      detail: sameSecond
        ? `ExternalSecret ${namespace}/${name} last synced at ${refreshTime}, within ${what}'s second (${after}): not provably after it`
        : `ExternalSecret ${namespace}/${name} last synced at ${refreshTime}, before ${what} (${after})`,
    };
  }
  // A whole-second refreshTime may stand for a sync up to a second later: decide() compares it as
  // its latest instant when coalescing restarts.
  return {
    ready: true,
    detail: `ExternalSecret ${namespace}/${name} synced at ${refreshTime}`,
    since: refreshTime,
  };
}

/** Every version of `secret` one SecretProviderClassPodStatus records as mounted, with the entry id. */
export function mountedVersions(
  podStatus: KubeObject,
  secret: SecretId,
  projects: ProjectMap,
): Array<{ id?: string; version: number }> {
  const status = isObject(podStatus.status) ? podStatus.status : {};
  const want = secretKey(secret, projects);
  const out: Array<{ id?: string; version: number }> = [];
  for (const o of asArray(status.objects)) {
    if (!isObject(o)) continue;
    const version = str(o.version);
    if (!version) continue;
    try {
      const ref = parseSecretName(version);
      if (secretKey(ref.id, projects) !== want || !ref.version || !/^[0-9]+$/.test(ref.version)) continue;
      const id = str(o.id);
      out.push(id ? { id, version: Number(ref.version) } : { version: Number(ref.version) });
    } catch {
      // Not a Secret Manager version name (another provider's object): skip it.
    }
  }
  return out;
}

/**
 * The version the driver mounted for one entry of a class. The provider records each entry's
 * `resourceName` as the object's id, so a class that mounts the same secret twice (say
 * `versions/3` and `versions/latest`) is told apart by id; without an exact id, an id with the
 * same version selector, then the first entry for the secret.
 */
function mountedVersion(
  podStatus: KubeObject,
  secret: SecretId,
  projects: ProjectMap,
  entry: { resourceName?: string; selector?: string } = {},
): number | undefined {
  const all = mountedVersions(podStatus, secret, projects);
  const exact = entry.resourceName !== undefined ? all.find((m) => m.id === entry.resourceName) : undefined;
  if (exact) return exact.version;
  if (entry.selector !== undefined) {
    const sameSelector = all.find((m) => {
      if (!m.id) return false;
      try {
        return parseSecretName(m.id).version === entry.selector;
      } catch {
        return false;
      }
    });
    if (sameSelector) return sameSelector.version;
  }
  return all[0]?.version;
}

/**
 * Whether a mounted version serves the target: `latest` is served by the target or anything newer;
 * an alias only by exactly the version it now points at (an alias can move back to an older one).
 */
function reached(mounted: number, want: number, dep: Dependency): boolean {
  return versionKind(dep.version) === 'alias' ? mounted === want : mounted >= want;
}

function statusesFor(state: LiveState, namespace: string, spc: string): KubeObject[] {
  return state.spcPodStatuses.filter((s) => {
    const st = isObject(s.status) ? s.status : {};
    return (s.metadata?.namespace ?? 'default') === namespace && st.secretProviderClassName === spc;
  });
}

function csiPodsReadiness(
  state: LiveState,
  dep: Dependency,
  namespace: string,
  spc: string,
  target: string,
  ctx: ReadinessContext,
): Readiness {
  if (!/^[0-9]+$/.test(target)) return { ready: true, detail: 'no version number to compare' };
  const want = Number(target);
  const statuses = statusesFor(state, namespace, spc);
  // The driver wrote no mount status for any pod of the class (a driver that writes none, as GKE's
  // add-on may): evidence by time. Statuses for other pods prove it writes them: then wait for ours.
  if (state.readyPods.length > 0 && statuses.length === 0)
    return rotationIntervalReadiness(
      `the ${state.readyPods.length} ready pod(s) mounting SecretProviderClass ${namespace}/${spc}`,
      {
        ...(ctx.eventTime !== undefined ? { eventTime: ctx.eventTime } : {}),
        ...(ctx.now !== undefined ? { now: ctx.now } : {}),
        ...(ctx.csiRotationIntervalMs !== undefined ? { rotationIntervalMs: ctx.csiRotationIntervalMs } : {}),
      },
    );
  const lagging: string[] = [];
  for (const pod of state.readyPods) {
    const podName = pod.metadata?.name ?? '';
    const st = statuses.find((s) => isObject(s.status) && s.status.podName === podName);
    const v = st
      ? mountedVersion(st, dep.secret, ctx.projects, {
          ...(dep.source.kind === 'csi' ? { resourceName: dep.source.resourceName } : {}),
          selector: dep.version,
        })
      : undefined;
    if (v === undefined || !reached(v, want, dep))
      lagging.push(`${podName} (${v === undefined ? 'no mount status' : `version ${v}`})`);
  }
  if (lagging.length > 0) {
    return {
      ready: false,
      detail: `the CSI driver has not mounted version ${want} of SecretProviderClass ${namespace}/${spc} in ${lagging.length} pod(s): ${lagging.slice(0, 3).join(', ')}${lagging.length > 3 ? ', …' : ''}`,
    };
  }
  return {
    ready: true,
    detail: `every ready pod mounts version ${want}`,
    evidence: `evidence: every ready pod's SecretProviderClassPodStatus records version ${want}`,
  };
}

function csiSyncReadiness(
  state: LiveState,
  dep: Dependency,
  namespace: string,
  spc: string,
  target: string,
  ctx: ReadinessContext,
): Readiness {
  if (!/^[0-9]+$/.test(target)) return { ready: true, detail: 'no version number to compare' };
  const want = Number(target);
  // The driver rewrites the synced Secret when it rotates a mount of the class.
  const synced = statusesFor(state, namespace, spc).some((s) =>
    reached(mountedVersion(s, dep.secret, ctx.projects, { selector: dep.version }) ?? 0, want, dep),
  );
  return synced
    ? {
        ready: true,
        detail: `SecretProviderClass ${namespace}/${spc} mounted version ${want}, so its synced Secret holds it`,
      }
    : {
        ready: false,
        detail: `no pod has mounted version ${want} of SecretProviderClass ${namespace}/${spc} yet, so its synced Secret still holds the old value`,
      };
}
