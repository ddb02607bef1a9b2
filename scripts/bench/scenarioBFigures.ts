// Scenario B's figures (./scenarioB.ts), pure: from what the watches saw (the writes that put the
// new value in a synced Secret, the ReplicaSets created) to when every dependent ran the new value,
// and what went wrong. One etcd serves the bench's control plane, so every object's resourceVersion
// is its write's global revision: "created after the Secret held the new value" is a comparison.

/** A write after which a synced Secret (`ns/name`) held the new value. */
export interface SecretWrite {
  readonly secret: string;
  readonly resourceVersion: number;
  /** When the watch delivered it (ms). */
  readonly at: number;
}

/** A ReplicaSet created for a Deployment (`ns/name`): a restart. */
export interface ReplicaSetCreated {
  readonly deployment: string;
  readonly resourceVersion: number;
  readonly at: number;
}

export interface EventVerdict {
  /** From the new version to the last dependent's restart into it (null: not every one was). */
  readonly allRestartedMs: number | null;
  /** Dependents restarted at least once after their Secret held the new value. */
  readonly restarted: number;
  /** Dependents with no restart after their Secret held the new value. */
  readonly missed: readonly string[];
  /** Dependents restarted before their Secret held the new value (into the old one). */
  readonly violations: readonly string[];
  /** Restarts of Deployments that are no dependent. */
  readonly needless: number;
  /** Restarts of a dependent after its first one into the new value. */
  readonly repeated: number;
}

/** The first write, per Secret, that put the new value in it. */
function firstWrites(writes: readonly SecretWrite[]): Map<string, SecretWrite> {
  const first = new Map<string, SecretWrite>();
  for (const w of writes) {
    const seen = first.get(w.secret);
    if (!seen || w.resourceVersion < seen.resourceVersion) first.set(w.secret, w);
  }
  return first;
}

/**
 * Judges one rotation from `t0` (the new version): `dependents` maps each Deployment that must
 * restart to the Secret it reads; `writes` are the writes holding the new value; `replicaSets` the
 * ReplicaSets created since `t0`.
 */
export function judgeEvent(o: {
  t0: number;
  dependents: ReadonlyMap<string, string>;
  writes: readonly SecretWrite[];
  replicaSets: readonly ReplicaSetCreated[];
}): EventVerdict {
  const first = firstWrites(o.writes);
  const byDeployment = new Map<string, ReplicaSetCreated[]>();
  let needless = 0;
  for (const rs of o.replicaSets) {
    if (!o.dependents.has(rs.deployment)) {
      needless++;
      continue;
    }
    const list = byDeployment.get(rs.deployment) ?? [];
    list.push(rs);
    byDeployment.set(rs.deployment, list);
  }
  const missed: string[] = [];
  const violations: string[] = [];
  let repeated = 0;
  let last = o.t0;
  for (const [deployment, secret] of o.dependents) {
    const written = first.get(secret)?.resourceVersion;
    const restarts = byDeployment.get(deployment) ?? [];
    const into = restarts.filter((r) => written !== undefined && r.resourceVersion > written);
    if (restarts.length > into.length) violations.push(deployment);
    if (into.length === 0) {
      missed.push(deployment);
      continue;
    }
    repeated += into.length - 1;
    last = Math.max(last, Math.min(...into.map((r) => r.at)));
  }
  return {
    allRestartedMs: missed.length === 0 && o.dependents.size > 0 ? last - o.t0 : null,
    restarted: o.dependents.size - missed.length,
    missed,
    violations,
    needless,
    repeated,
  };
}

/** From `t0` until every Secret in `secrets` held the new value (null: some never did). */
export function allSyncedMs(
  t0: number,
  secrets: readonly string[],
  writes: readonly SecretWrite[],
): number | null {
  if (secrets.length === 0) return null;
  const first = firstWrites(writes);
  let last = t0;
  for (const s of secrets) {
    const w = first.get(s);
    if (!w) return null;
    last = Math.max(last, w.at);
  }
  return last - t0;
}

export interface Spread {
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly maxMs: number | null;
}

/** Nearest-rank percentiles of the times that exist (nulls are events that never completed). */
export function spread(times: ReadonlyArray<number | null>): Spread {
  const sorted = times.filter((t): t is number => t !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return { p50Ms: null, p95Ms: null, maxMs: null };
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50Ms: at(50), p95Ms: at(95), maxMs: sorted[sorted.length - 1] };
}

/**
 * A polling time measured at `measuredSeconds` of refreshInterval, estimated at `targetSeconds`
 * (rounded to seconds). Each ExternalSecret picks the version up at its next poll, a point spread
 * evenly over the interval: that part grows in proportion to the interval. What the measured time
 * exceeds the interval by is ESO's own processing (its queue and reconciles), which does not: it
 * is added as it is.
 */
export function scaledToInterval(
  ms: number | null,
  measuredSeconds: number,
  targetSeconds: number,
): number | null {
  if (ms === null) return null;
  const interval = measuredSeconds * 1000;
  const polling = (Math.min(ms, interval) * targetSeconds) / measuredSeconds;
  return Math.round((polling + Math.max(0, ms - interval)) / 1000) * 1000;
}

/**
 * Whether ESO answered a sync forced at `forcedAt` (the force-sync annotation, RFC 3339): its
 * refreshTime, whole seconds, is in the second the sync was asked in or later (Rotor's own test).
 */
export function forceAnswered(forcedAt: string, refreshTime: string | undefined): boolean {
  const forced = Date.parse(forcedAt);
  if (Number.isNaN(forced)) return true; // not a time: nothing Rotor would wait on
  return refreshTime !== undefined && Date.parse(refreshTime) >= Math.floor(forced / 1000) * 1000;
}
