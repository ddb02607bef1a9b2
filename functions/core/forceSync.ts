// Which ExternalSecrets to force-sync while a workload waits for ESO, and since when Rotor has
// been waiting. Pure: it reads the ExternalSecrets' annotations and status.
import * as annotations from './annotations';
import type { ClusterExternalSecretRef } from './clusterExternalSecret';
import { owningClusterExternalSecret } from './clusterExternalSecret';
import type { Dependency } from './discovery';
import { forcedSyncTime } from './forcedSync';
import type { KubeObject } from './kube';
import { isObject, str } from './kube';

/** An ExternalSecret to annotate with ESO's force-sync annotation, and the value to write. */
export interface ForceSync {
  /** `namespace/name`. */
  readonly key: string;
  readonly externalSecret: KubeObject;
  readonly at: string;
  /**
   * The ClusterExternalSecret whose child it is: ESO replaces a child's annotations with the
   * parent's spec.externalSecretMetadata on every reconcile, so the force-sync annotation goes
   * there (and reaches every child at once). Only with the owner's uid, which the patch sends as
   * a precondition: a name alone could be any ClusterExternalSecret (see clusterExternalSecret.ts).
   */
  readonly clusterExternalSecret?: Required<ClusterExternalSecretRef>;
}

/** What a force-sync patches, once per delivery: the ExternalSecret, or its ClusterExternalSecret. */
export function forceSyncTarget(n: ForceSync): string {
  return n.clusterExternalSecret !== undefined
    ? `ClusterExternalSecret ${n.clusterExternalSecret.name}`
    : `ExternalSecret ${n.key}`;
}

/** The ExternalSecrets that `affected` reads through, once each, with their objects. */
function externalSecretsOf(
  affected: readonly Dependency[],
  externalSecrets: ReadonlyMap<string, KubeObject>,
): Array<{ key: string; es: KubeObject }> {
  const out: Array<{ key: string; es: KubeObject }> = [];
  for (const d of affected) {
    if (d.source.kind !== 'eso') continue;
    const key = `${d.source.namespace}/${d.source.externalSecret}`;
    const es = externalSecrets.get(key);
    if (es && !out.some((o) => o.key === key)) out.push({ key, es });
  }
  return out;
}

/**
 * The ExternalSecrets worth asking ESO to sync now, for a wait on `affected`:
 *   - synced after the event already: no (the wait is about something else);
 *   - forced after the event already and not answered yet: no, forcing again only churns;
 *   - forced after the event and answered within the second it was asked in: yes, once more.
 *     refreshTime has whole seconds, so that answer cannot prove it read the new version, and
 *     ESO will not sync again by itself before its refreshInterval;
 *   - otherwise: yes.
 */
export function forceSyncTargets(
  affected: readonly Dependency[],
  externalSecrets: ReadonlyMap<string, KubeObject>,
  eventTime: string | undefined,
  now: number,
): ForceSync[] {
  const at = new Date(now).toISOString();
  const event = eventTime !== undefined ? Date.parse(eventTime) : undefined;
  const out: ForceSync[] = [];
  for (const { key, es } of externalSecretsOf(affected, externalSecrets)) {
    const refreshTime = isObject(es.status) ? str(es.status.refreshTime) : undefined;
    if (refreshTime && event !== undefined && Date.parse(refreshTime) > event) continue;
    // Tenant-writable: a value in the future counts as never forced (see forcedSync.ts).
    const forcedAt = forcedSyncTime(es.metadata?.annotations?.[annotations.ESO_FORCE_SYNC], now);
    if (forcedAt !== undefined && event !== undefined && forcedAt > event) {
      const answered =
        refreshTime !== undefined && Date.parse(refreshTime) >= Math.floor(forcedAt / 1000) * 1000;
      if (!answered) continue;
    }
    const parent = owningClusterExternalSecret(es);
    out.push({
      key,
      externalSecret: es,
      at,
      ...(parent?.uid !== undefined ? { clusterExternalSecret: { name: parent.name, uid: parent.uid } } : {}),
    });
  }
  return out;
}

/**
 * When a sync of a source `affected` reads through was last forced (ms; 0 if never): ESO's
 * force-sync annotation on an ExternalSecret, GKE's spec.forceSynchronization on a SecretSync.
 * Either is what Rotor writes when it asks, so a wait measured from it never starts before Rotor
 * could ask, for every kind of sync.
 */
export function lastForcedSync(
  affected: readonly Dependency[],
  sources: {
    readonly externalSecrets: ReadonlyMap<string, KubeObject>;
    readonly secretSyncs: ReadonlyMap<string, KubeObject>;
  },
  now: number,
): number {
  const values = [
    ...externalSecretsOf(affected, sources.externalSecrets).map(
      ({ es }) => es.metadata?.annotations?.[annotations.ESO_FORCE_SYNC],
    ),
    ...secretSyncsOf(affected, sources.secretSyncs).map((sync) =>
      isObject(sync.spec) ? str(sync.spec.forceSynchronization) : undefined,
    ),
  ];
  let latest = 0;
  for (const value of values) {
    // A time in the future would stretch the wait's bound as far as a tenant likes: ignored.
    const t = forcedSyncTime(value, now);
    if (t !== undefined && t > latest) latest = t;
  }
  return latest;
}

/** The SecretSyncs that `affected` reads through, once each. */
function secretSyncsOf(
  affected: readonly Dependency[],
  secretSyncs: ReadonlyMap<string, KubeObject>,
): KubeObject[] {
  const keys = new Set(
    affected.flatMap((d) =>
      d.source.kind === 'gke-sync' ? [`${d.source.namespace}/${d.source.secretSync}`] : [],
    ),
  );
  return [...keys].flatMap((k) => secretSyncs.get(k) ?? []);
}

/**
 * When the wait began: the event, or the sync Rotor forced later (a first delivery may come long
 * after the event: a backlog, an outage, a replayed dead letter), never before Rotor could ask.
 */
export function waitStart(input: {
  readonly eventTime: string | undefined;
  readonly now: number;
  /** Rotor forces a sync now. */
  readonly forcingNow: boolean;
  readonly lastForcedSync: number;
}): number {
  return Math.max(
    input.eventTime ? Date.parse(input.eventTime) : input.now,
    input.forcingNow ? input.now : 0,
    input.lastForcedSync,
  );
}
