// Rotation keeps its way back: while a dependent's rollout to a new version is halted or not done,
// the version it is leaving stays enabled (with postgres-alternating, its user stays valid), so the
// pods not yet replaced, and a rollback, keep working on the old value. Pure.
import type { RolloutHealth } from '../core/rolloutHealth';

export interface DependentRollout {
  /** "cluster ns/Kind/name", for the reason. */
  readonly workload: string;
  /** The version rotor.dev/applied records for the secret on this workload. */
  readonly applied: number;
  readonly health: RolloutHealth;
}

function state(health: RolloutHealth): string | undefined {
  switch (health.health) {
    case 'done':
      return undefined;
    case 'progressing':
      return `not done (${health.detail})`;
    case 'failed':
      return `halted (${health.reasons.join('; ')})`;
    case 'manual':
      return `waiting for manual action (${health.detail})`;
  }
}

/**
 * The versions held by unfinished rollouts, each with why. The version a workload is leaving is the
 * newest enabled version below the one it was given (`enabled`: the secret's enabled versions).
 */
export function rolloutHolds(
  rollouts: readonly DependentRollout[],
  enabled: readonly number[],
): Map<number, string> {
  const holds = new Map<number, string>();
  for (const r of rollouts) {
    const why = state(r.health);
    if (why === undefined) continue;
    const older = enabled.filter((v) => v < r.applied);
    if (older.length === 0) continue;
    const leaving = Math.max(...older);
    const reason = `the rollout of ${r.workload} to version ${r.applied} is ${why}`;
    const earlier = holds.get(leaving);
    holds.set(leaving, earlier === undefined ? reason : `${earlier}; ${reason}`);
  }
  return holds;
}
