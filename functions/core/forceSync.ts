// Which ExternalSecrets to force-sync while a workload waits for ESO, and since when Rotor has
// been waiting. Pure: it reads the ExternalSecrets' annotations and status (which decide only
// whether to force again) and the chain's wait clock (which alone bounds the wait).
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
 * When the wait began: the event, or, when the chain's first delivery came later (a backlog, an
 * outage, a replayed dead letter), the time that delivery started waiting, never before Rotor could
 * ask. `waitSince` is the chain's wait clock (core/converge.ts, waitClockOf): only Rotor writes it,
 * in the continuation message. The force-sync times on ExternalSecrets and SecretSyncs are
 * tenant-writable, so they decide only whether to force a sync again, never how long to wait.
 */
export function waitStart(input: {
  readonly eventTime: string | undefined;
  readonly waitSince: number;
}): number {
  const event = input.eventTime !== undefined ? Date.parse(input.eventTime) : Number.NaN;
  return Number.isNaN(event) ? input.waitSince : Math.max(event, input.waitSince);
}
