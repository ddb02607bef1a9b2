// Whether a new secret version is visible where a dependency reads it: the verdict every readiness
// source gives (ESO's sync in readiness.ts, SecretSync's in secretSync.ts, the CSI driver's mounts
// in csiRotation.ts) and the decision's readiness gate reads. Its own file so that the readers of
// each source need not import the decision table. Pure.

export interface Readiness {
  readonly ready: boolean;
  /** Why (not) ready: "ExternalSecret shop/db refreshed at 10:02:11 after the event". */
  readonly detail: string;
  /** When the new value became visible to new pods (for coalescing several rotations into one restart). */
  readonly since?: string;
  /** Ready by indirect evidence: said in the decision's reason (e.g. a rotation interval waited out). */
  readonly evidence?: string;
  /** Not ready because the kubelet has yet to project a synced Secret (kubeletProjection.ts), not the sync. */
  readonly waitsFor?: 'kubelet';
}
