// What a reload's pings mean for the workload: done, restart instead, or a failure to report.
// Pure: the executor has pinged the pods and hands the answers over.
import type { LiveReload } from './liveDecision';
import type { WorkloadKind } from './kube';

/** One pod's answer to the reload ping. */
export interface PodPing {
  readonly pod: string;
  readonly ok: boolean;
  /** Why it failed (the status, never the pod's own response body). */
  readonly error?: string;
}

export type AfterReload =
  | { readonly kind: 'reloaded'; readonly detail: string }
  /** Some pod did not take the ping: restart instead (the restart records what the reload would have). */
  | { readonly kind: 'restart'; readonly reason: string; readonly cause: string; readonly at: string }
  | { readonly kind: 'failed'; readonly reason: string };

export function afterReload(
  decision: LiveReload,
  kind: WorkloadKind,
  pings: readonly PodPing[],
): AfterReload {
  const failed = pings.filter((p) => !p.ok);
  if (failed.length === 0)
    return {
      kind: 'reloaded',
      detail: `reloaded ${pings.length} pod(s): ${pings.map((p) => p.pod).join(', ')}`,
    };
  const cause = `reload failed on ${failed.map((f) => `${f.pod} (${f.error ?? 'error'})`).join(', ')}`;
  if (!decision.onFailure.restart)
    return { kind: 'failed', reason: `${cause}; the ${kind} is paused, so no restart either` };
  return {
    kind: 'restart',
    reason: `${cause}; restarted instead (${decision.reason})`,
    cause,
    at: decision.onFailure.at,
  };
}
