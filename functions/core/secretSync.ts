// GKE's Secret Manager → Kubernetes Secret sync (GKE 1.34+, `--enable-secret-sync`), as Google's
// "Synchronize secrets to Kubernetes Secrets" defines it: a SecretSync (`secret-sync.gke.io/v1`)
// in a namespace writes the Kubernetes Secret of its own name from the SecretProviderClass
// (provider `gke`) spec.secretProviderClassName names: each spec.secretObject.data[] item puts the
// SPC entry whose `path` is `sourcePath` under the key `targetKey`. The controller reports
// status.lastSuccessfulSyncTime ("the last time the secret was retrieved from the Provider and
// updated"), status.syncHash and status.conditions. Pure.
import { InputError } from '../errors';
import type { Readiness } from './readinessVerdict';
import type { KubeObject } from './kube';
import { forcedSyncTime } from './forcedSync';
import { asArray, describeObject, isObject, str } from './kube';

export const SECRET_SYNC_API_VERSION = 'secret-sync.gke.io/v1';

export function isSecretSync(o: KubeObject): boolean {
  return o.kind === 'SecretSync' && o.apiVersion === SECRET_SYNC_API_VERSION;
}

export interface SecretSyncInfo {
  readonly namespace: string;
  /** Also the name of the Kubernetes Secret it writes. */
  readonly name: string;
  readonly secretProviderClass: string;
  /** Which SecretProviderClass path lands under which key of the Secret. */
  readonly items: ReadonlyArray<{ readonly sourcePath: string; readonly targetKey: string }>;
}

/** Parses a SecretSync; throws InputError naming it when a required field is missing. */
export function readSecretSync(o: KubeObject): SecretSyncInfo {
  const where = describeObject(o);
  const name = o.metadata?.name;
  if (!name) throw new InputError(`${where}: metadata.name is missing`, o.__source);
  const spec = isObject(o.spec) ? o.spec : {};
  const spc = str(spec.secretProviderClassName);
  if (!spc) throw new InputError(`${where}: spec.secretProviderClassName is missing`, o.__source);
  const secretObject = isObject(spec.secretObject) ? spec.secretObject : undefined;
  if (!secretObject) throw new InputError(`${where}: spec.secretObject is missing`, o.__source);
  const items = asArray(secretObject.data).map((d, i) => {
    const sourcePath = isObject(d) ? str(d.sourcePath) : undefined;
    const targetKey = isObject(d) ? str(d.targetKey) : undefined;
    if (!sourcePath || !targetKey)
      throw new InputError(
        `${where}: spec.secretObject.data[${i}] needs sourcePath and targetKey`,
        o.__source,
      );
    return { sourcePath, targetKey };
  });
  return { namespace: o.metadata?.namespace ?? 'default', name, secretProviderClass: spc, items };
}

/**
 * Whether the SecretSync has written its Secret since `eventTime`: its lastSuccessfulSyncTime is in
 * a later second (the field has whole seconds, so a sync within the event's second may have read
 * the old version). The sync happens on the controller's rotation interval (GKE default 2 minutes);
 * without rotation it never comes, and the wait is given up at its bound.
 */
export function secretSyncReadiness(
  sync: KubeObject | undefined,
  key: string,
  eventTime: string | undefined,
): Readiness {
  if (!sync) return { ready: false, detail: `SecretSync ${key} not found` };
  const status = isObject(sync.status) ? sync.status : {};
  const failed = asArray(status.conditions).find(
    (c) => isObject(c) && c.type === 'SecretUpdated' && c.status === 'False',
  );
  if (isObject(failed))
    return {
      ready: false,
      detail: `SecretSync ${key} failed to update its Secret (${str(failed.reason) ?? ''}: ${str(failed.message) ?? ''})`,
    };
  const synced = str(status.lastSuccessfulSyncTime);
  if (!synced || Number.isNaN(Date.parse(synced)))
    return { ready: false, detail: `SecretSync ${key} has not synced yet` };
  if (eventTime === undefined)
    return {
      ready: false,
      detail: `SecretSync ${key} last synced at ${synced}; without the event's time it cannot be told whether that was after it`,
    };
  if (Math.floor(Date.parse(synced) / 1000) <= Math.floor(Date.parse(eventTime) / 1000))
    return {
      ready: false,
      detail: `SecretSync ${key} last synced at ${synced}, not after the event (${eventTime})`,
    };
  return { ready: true, detail: `SecretSync ${key} synced at ${synced}`, since: synced };
}

/** A SecretSync to force a synchronization of: `spec.forceSynchronization` set to `at`. */
export interface SecretSyncNudge {
  /** `namespace/name`. */
  readonly key: string;
  readonly secretSync: KubeObject;
  readonly at: string;
}

/**
 * The SecretSyncs worth forcing while a workload waits for them: "the secret synchronization is
 * triggered by changing the value in this field" (spec.forceSynchronization), so one that has not
 * synced since the event and was not already forced since the event gets the current time.
 */
export function secretSyncNudges(
  keys: readonly string[],
  secretSyncs: ReadonlyMap<string, KubeObject>,
  eventTime: string | undefined,
  now: number,
): SecretSyncNudge[] {
  const event = eventTime !== undefined ? Date.parse(eventTime) : undefined;
  const after = (t: number | undefined): boolean =>
    t !== undefined && event !== undefined && !Number.isNaN(t) && t > event;
  const out: SecretSyncNudge[] = [];
  for (const key of new Set(keys)) {
    const sync = secretSyncs.get(key);
    if (!sync) continue;
    const status = isObject(sync.status) ? sync.status : {};
    const spec = isObject(sync.spec) ? sync.spec : {};
    const synced = str(status.lastSuccessfulSyncTime);
    // spec.forceSynchronization is tenant-writable: a time in the future counts as never forced.
    const forced = forcedSyncTime(str(spec.forceSynchronization), now);
    if (after(synced !== undefined ? Date.parse(synced) : undefined) || after(forced)) continue;
    out.push({ key, secretSync: sync, at: new Date(now).toISOString() });
  }
  return out;
}
