// When a CSI workload's pods have no SecretProviderClassPodStatus, Rotor cannot read which version
// the driver mounted. The open-source driver writes one after every mount; whether GKE's managed
// add-on (secrets-store-gke.csi.k8s.io) does is not documented by Google, so Rotor must not wait
// the full bound for evidence that may never appear. It falls back to time: the driver re-mounts
// every rotation interval (ROTOR_CSI_ROTATION_INTERVAL_SECONDS; GKE's documented default for the
// add-on's rotationConfig.rotationInterval is 2 minutes), so one interval after the event the new
// version is in the files. Pure.
import type { Readiness } from './readinessVerdict';

export interface RotationClock {
  /** When the new version appeared in Secret Manager. */
  readonly eventTime?: string;
  /** The clock (ms since the epoch). */
  readonly now?: number;
  /** The driver's rotation interval (ms). */
  readonly rotationIntervalMs?: number;
}

/** Readiness by the rotation interval, for pods the driver left no mount status for. */
export function rotationIntervalReadiness(what: string, clock: RotationClock): Readiness {
  const { eventTime, now, rotationIntervalMs } = clock;
  const noStatus = `no SecretProviderClassPodStatus for ${what}`;
  if (eventTime === undefined || now === undefined || rotationIntervalMs === undefined)
    return {
      ready: false,
      detail: `${noStatus}, and no event time to count the driver's rotation interval from`,
    };
  const seconds = Math.round(rotationIntervalMs / 1000);
  const due = Date.parse(eventTime) + rotationIntervalMs;
  if (now < due)
    return {
      ready: false,
      detail: `${noStatus}: waiting the CSI driver's rotation interval (${seconds}s, ROTOR_CSI_ROTATION_INTERVAL_SECONDS) after the event, until ${new Date(due).toISOString()}`,
    };
  return {
    ready: true,
    detail: `${noStatus}; the CSI driver's rotation interval (${seconds}s) has passed since the event`,
    evidence: `evidence: no SecretProviderClassPodStatus for ${what}, so Rotor waited the driver's rotation interval (${seconds}s) after the event`,
  };
}
