// A synced Kubernetes Secret (ESO, GKE's SecretSync, the CSI driver's secretObjects) read as a
// volume without subPath changes in running pods only when the kubelet next syncs the pod:
// Kubernetes documents the delay as "the kubelet sync period + cache propagation delay", and the
// kubelet requeues each pod at wait.Jitter(syncFrequency, 0.5) (pkg/kubelet/pod_workers.go), so up
// to 1.5 × syncFrequency after the Secret changed. A reload ping sent as soon as the Secret holds
// the new value can reach the app before the file changed: it re-reads the old value. So a reload
// waits out that bound after the Secret got the new value (ROTOR_KUBELET_SYNC_SECONDS, default the
// kubelet's and GKE's 1 minute). A restart needs no wait: a new pod mounts the current Secret. Pure.
import type { Readiness } from './readinessVerdict';

/** The kubelet's default syncFrequency (GKE does not change it). */
export const DEFAULT_KUBELET_SYNC_SECONDS = 60;

/** The kubelet requeues a pod at its sync period jittered by up to this factor more. */
const KUBELET_RESYNC_JITTER = 1.5;

/**
 * Beyond the jittered sync period: the kubelet's Secret cache learns of the change by a watch
 * (its default change-detection strategy), which lags by well under a second; the synced time
 * (ESO's refreshTime, SecretSync's lastSuccessfulSyncTime) has whole seconds and is stamped when
 * the sync starts, a moment before the Secret is written; and the atomic write of the files
 * themselves. 5 s covers these with room, and is small next to the period.
 */
export const KUBELET_PROPAGATION_MARGIN_MS = 5_000;

/** How long after a Secret changed its volume may still show the old value (ms). */
function kubeletProjectionBoundMs(kubeletSyncMs: number): number {
  return KUBELET_RESYNC_JITTER * kubeletSyncMs + KUBELET_PROPAGATION_MARGIN_MS;
}

export interface ProjectionClock {
  /** When the new version appeared in Secret Manager: counted from when the sync gives no time. */
  readonly eventTime?: string;
  /** The clock (ms since the epoch). */
  readonly now?: number;
  /** The kubelet's sync period (ms). */
  readonly kubeletSyncMs: number;
}

/**
 * Readiness of a Secret volume for an in-place reload, once the sync wrote the Secret (`synced`
 * ready): ready when the kubelet's projection bound has passed since `synced.since` (else the event).
 */
export function kubeletProjectionReadiness(
  secret: string,
  synced: Readiness,
  clock: ProjectionClock,
): Readiness {
  if (!synced.ready) return synced;
  const from = synced.since ?? clock.eventTime;
  const seconds = Math.round(clock.kubeletSyncMs / 1000);
  const period = `the kubelet's sync period (${seconds}s, ROTOR_KUBELET_SYNC_SECONDS)`;
  if (from === undefined || Number.isNaN(Date.parse(from)) || clock.now === undefined)
    return {
      ready: false,
      waitsFor: 'kubelet',
      detail: `${synced.detail}, but no time to count ${period} from before Secret ${secret} reaches the pods' volumes`,
    };
  const when = `${synced.since !== undefined ? 'the sync' : 'the event'} at ${from}`;
  const due = Date.parse(from) + kubeletProjectionBoundMs(clock.kubeletSyncMs);
  if (clock.now < due)
    return {
      ready: false,
      waitsFor: 'kubelet',
      detail: `${synced.detail}; Secret ${secret} reaches the pods' volumes only on the kubelet's next sync of each pod: waiting ${period} ×1.5 + ${KUBELET_PROPAGATION_MARGIN_MS / 1000}s after ${when}, until ${new Date(due).toISOString()}`,
    };
  return {
    ...synced,
    detail: `${synced.detail}; ${period} ×1.5 + ${KUBELET_PROPAGATION_MARGIN_MS / 1000}s has passed since`,
    evidence: `evidence: Rotor waited the kubelet's sync period (${seconds}s ×1.5 + ${KUBELET_PROPAGATION_MARGIN_MS / 1000}s) after ${when} for Secret ${secret} to reach the pods' volumes`,
  };
}
