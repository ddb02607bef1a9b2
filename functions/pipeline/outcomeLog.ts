// The structured fields of onSecretEvent's per-event summary line (`jsonPayload.outcome` in Cloud
// Logging). terraform/modules/rotor/monitoring.tf builds log-based metrics on these names: renaming
// one silently empties a metric, so test/unit/outcomeLog.test.ts pins them.
import type { EventOutcome, OutcomeScope } from '../core/outcome';

export interface OutcomeLogFields {
  /** OutcomeScope's kind: `event`, `fanned-out` (onSecretEvent handed it on) or `cluster` (onClusterEvent). */
  readonly scope: OutcomeScope['kind'];
  /** The cluster of a `cluster` outcome. */
  readonly cluster?: string;
  readonly secret?: string;
  readonly version?: string;
  readonly converged: boolean;
  readonly pending: number;
  /** Of `pending`, the rollouts Rotor started that have not finished (everything else is acted on). */
  readonly awaitingRollouts: number;
  /** This delivery's reconcile time. */
  readonly durationMs: number;
  /**
   * From the event (Secret Manager's event time, else Pub/Sub's publish time) to this delivery
   * converging: what an operator waits for, redeliveries and waits included. Only on the
   * delivery that converged, so the latency distribution counts each event once; a fanned-out
   * event once per cluster (each cluster converges on its own), and never for the fan-out itself,
   * which converges nothing.
   */
  readonly convergedAfterMs?: number;
}

export function outcomeLogFields(outcome: EventOutcome, now: Date): OutcomeLogFields {
  const eventMs = outcome.event.time !== undefined ? Date.parse(outcome.event.time) : Number.NaN;
  return {
    scope: outcome.scope.kind,
    ...(outcome.scope.kind === 'cluster' ? { cluster: outcome.scope.cluster } : {}),
    ...(outcome.event.secret !== undefined ? { secret: outcome.event.secret } : {}),
    ...(outcome.event.version !== undefined ? { version: outcome.event.version } : {}),
    converged: outcome.converged,
    pending: outcome.pending,
    awaitingRollouts: outcome.awaitingRollouts,
    durationMs: outcome.durationMs,
    // A clock behind the event's would give a negative latency: count it as immediate.
    ...(outcome.converged && outcome.scope.kind !== 'fanned-out' && Number.isFinite(eventMs)
      ? { convergedAfterMs: Math.max(0, now.getTime() - eventMs) }
      : {}),
  };
}
