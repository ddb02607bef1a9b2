// Disabling superseded versions, the last part of a rotation. A version is disabled only when
// all of these hold: the secret is managed (has a `current` alias); the version is older than
// `current`, enabled, not `latest`, not pending; no consumer pins it (`pinnedVersions`, which the
// cluster side supplies from live references, plus every alias except previous/pending, always);
// and it was superseded longer ago than the grace period.
import type { Logger } from '../log';
import type { SecretManager, SecretMetadata, SecretVersionInfo } from '../secretmanager/types';
import { SecretManagerError } from '../secretmanager/errors';
import { ALIASES } from './names';
import { readInProgress } from './rotationState';

/** Version numbers that some consumer still reads and that must therefore stay enabled. */
export type PinnedVersions = (
  secret: SecretMetadata,
  versions: readonly SecretVersionInfo[],
) => Promise<ReadonlySet<number>>;

/** Pinned versions that say why each is kept (the cluster side names the rollout that holds it). */
export class ExplainedPins extends Set<number> {
  constructor(readonly why: ReadonlyMap<number, string>) {
    super(why.keys());
  }
}

/** Fail safe when no cluster is configured: every version counts as in use, nothing is disabled. */
export const keepEveryVersion: PinnedVersions = (_secret, versions) =>
  Promise.resolve(new Set(versions.map((v) => v.version)));

/** Default: a version named by any alias other than `previous`/`pending` is pinned. */
export const aliasPins: PinnedVersions = (secret) => {
  const pinned = new Set<number>();
  for (const [alias, version] of Object.entries(secret.versionAliases)) {
    if (alias !== ALIASES.previous && alias !== ALIASES.pending) pinned.add(version);
  }
  return Promise.resolve(pinned);
};

/**
 * postgres-alternating's next rotation re-passwords the role the `previous` version holds: that
 * drops the old user as surely as disabling its version. While the clusters say some consumer
 * still uses that version (a pod serves it, a rollout holds it: `ExplainedPins`), the rotation
 * waits, naming what holds it. Without cluster evidence (no clusters configured: a plain set, the
 * fail-safe that keeps every version enabled), nothing tells, and rotation goes on as before.
 */
export function reusedUserHold(
  strategy: string,
  secret: SecretMetadata,
  pins: ReadonlySet<number>,
): { readonly version: number; readonly why: string } | undefined {
  const previous = secret.versionAliases[ALIASES.previous];
  if (strategy !== 'postgres-alternating' || previous === undefined) return undefined;
  if (!(pins instanceof ExplainedPins) || !pins.has(previous)) return undefined;
  return { version: previous, why: pins.why.get(previous) ?? 'a consumer uses it' };
}

export interface RetirePlan {
  /** Versions to disable now. */
  readonly disable: readonly SecretVersionInfo[];
  /** Versions kept, with why (for logs and dry runs). */
  readonly kept: ReadonlyArray<{ version: number; why: string }>;
}

export async function planRetirement(
  secret: SecretMetadata,
  versions: readonly SecretVersionInfo[],
  graceMs: number | null,
  now: Date,
  pinnedVersions: PinnedVersions,
): Promise<RetirePlan> {
  const current = secret.versionAliases[ALIASES.current];
  if (graceMs === null || current === undefined) return { disable: [], kept: [] };
  const byNumber = [...versions].sort((a, b) => a.version - b.version);
  const latest = byNumber[byNumber.length - 1]?.version;
  const inProgress = readInProgress(secret.annotations);
  // Alias pins always count, whatever the injected source says: an alias may serve consumers the
  // cluster side cannot see (other clusters, VMs, people).
  const injected = await pinnedVersions(secret, versions);
  const reasons: ReadonlyMap<number, string> = injected instanceof ExplainedPins ? injected.why : new Map();
  const pinned = new Set([...(await aliasPins(secret, versions)), ...injected]);
  const disable: SecretVersionInfo[] = [];
  const kept: Array<{ version: number; why: string }> = [];
  for (let i = 0; i < byNumber.length; i++) {
    const v = byNumber[i];
    if (v.state !== 'ENABLED' || v.version >= current) continue;
    if (v.version === latest) kept.push({ version: v.version, why: 'it is latest' });
    else if (
      v.version === secret.versionAliases[ALIASES.pending] ||
      v.version === inProgress?.pending ||
      v.version === inProgress?.from
    ) {
      kept.push({ version: v.version, why: 'a rotation in progress uses it' });
    } else if (pinned.has(v.version))
      kept.push({ version: v.version, why: reasons.get(v.version) ?? 'a consumer pins it' });
    else {
      // Superseded when the next version was created: from then on it was no longer the newest.
      const supersededAt = byNumber[i + 1].createTime.getTime();
      const age = now.getTime() - supersededAt;
      if (age >= graceMs) disable.push(v);
      else kept.push({ version: v.version, why: `grace period: ${Math.ceil((graceMs - age) / 1000)}s left` });
    }
  }
  return { disable, kept };
}

/** Disables what the plan says; a version changed meanwhile (etag) is left for the next run. */
export async function retire(
  sm: SecretManager,
  secret: SecretMetadata,
  plan: RetirePlan,
  logger: Logger,
): Promise<number[]> {
  const done: number[] = [];
  // Say why each superseded version stays enabled (a halted rollout holds its way back).
  for (const k of plan.kept)
    logger.info('kept superseded version', { secret: secret.name, version: k.version, why: k.why });
  for (const v of plan.disable) {
    try {
      await sm.disableVersion(secret.id, v.version, v.etag);
      done.push(v.version);
      logger.info('disabled superseded version', { secret: secret.name, version: v.version });
    } catch (err) {
      if (err instanceof SecretManagerError && err.kind === 'conflict') {
        logger.warn('version changed while retiring it; left for the next run', {
          secret: secret.name,
          version: v.version,
        });
        continue;
      }
      throw err;
    }
  }
  return done;
}
