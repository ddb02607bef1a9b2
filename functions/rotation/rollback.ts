// Rolling a secret back (issue 22.1), by the rotation function, which alone may read payloads:
// asked by onSecretEvent when an event halted under the rollback policy, or by `rotor rollback`.
// core/rollback.ts decides which version to restore (or why none may be); this performs it:
//
//   1. mark   the secret's `rotor-rollback` annotation records "restoring P in place of B, above
//             version N" (with the secret's etag: of two concurrent requests one writes it, the
//             other re-reads and finds the rollback under way);
//   2. add    a new version R carrying P's payload (after a crash, a version above N holding P's
//             payload is adopted instead of adding a second);
//   3. finish the mark names R; `current` (where the secret has one) moves to R.
//
// A new version, not the alias moved back to P: consumers of `latest` and of `current` both get
// the restored value, and every record Rotor keeps (rotor.dev/applied, the rotation's) only ever
// moves forward, so nothing mistakes the way back for a stale event. R's event moves only the
// workloads that applied B (core/rollback.ts, rollbackStep). Nothing changes on any backend: the
// strategies whose old credential no longer works there are refused by the plan.
import { InputError, TransientError, errorMessage, isTransient } from '../errors';
import type { Logger } from '../log';
import type { SecretId } from '../core/secretName';
import { formatSecretId } from '../core/secretName';
import type { RollbackAsk, RollbackMark, RollbackPlan } from '../core/rollback';
import { ROLLBACK_MARK_KEY, parseRollbackMark, planRollback } from '../core/rollback';
import { SecretManagerError } from '../secretmanager/errors';
import type { SecretManager, SecretMetadata, SecretVersionInfo } from '../secretmanager/types';
import { strategyOf } from './config';
import { ALIASES } from './names';
import { isLive, readInProgress, readLastAbandoned, readLastRotation } from './rotationState';

export type RollbackOutcome = 'rolled-back' | 'skipped' | 'dry-run' | 'refused' | 'failed';

export interface RollbackResult {
  readonly secret: string;
  readonly outcome: RollbackOutcome;
  /** R: the version carrying the restored payload. */
  readonly version?: number;
  /** P. */
  readonly restores?: number;
  /** B. */
  readonly replaces?: number;
  /** One human line: what happened and why. */
  readonly reason: string;
  /** For failed: whether a retry can help. */
  readonly retry?: boolean;
}

export interface RollbackDeps {
  readonly secretManager: SecretManager;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export interface RollbackOptions extends RollbackAsk {
  /** The request (Pub/Sub message id, `cli:...`), recorded in the mark. */
  readonly trigger?: string;
  readonly dryRun?: boolean;
}

/** How often a write that meets someone else's edit (etag) is planned again. */
const MAX_ATTEMPTS = 5;

/** Rolls one secret back; every failure is the result (transient ones say retry). */
export async function rollbackOne(
  id: SecretId,
  deps: RollbackDeps,
  options: RollbackOptions,
): Promise<RollbackResult> {
  const name = formatSecretId(id);
  const logger = deps.logger.with({ secret: name, ...(options.trigger ? { trigger: options.trigger } : {}) });
  try {
    const result = await rollbackWithRetries(id, name, deps, options, logger);
    const line = `rollback ${result.outcome}: ${result.reason}`;
    if (result.outcome === 'refused') logger.error(line, fields(result));
    else logger.notice(line, fields(result));
    return result;
  } catch (err) {
    const retry = isTransient(err);
    const result: RollbackResult = { secret: name, outcome: 'failed', reason: errorMessage(err), retry };
    if (retry) logger.warn(`rollback failed (will retry): ${result.reason}`, fields(result));
    else logger.error(`rollback failed: ${result.reason}`, fields(result));
    return result;
  }
}

function fields(r: RollbackResult): Record<string, unknown> {
  return { outcome: r.outcome, version: r.version, restores: r.restores, replaces: r.replaces };
}

async function rollbackWithRetries(
  id: SecretId,
  name: string,
  deps: RollbackDeps,
  options: RollbackOptions,
  logger: Logger,
): Promise<RollbackResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rollbackAttempt(id, name, deps, options, logger);
    } catch (err) {
      if (!(err instanceof SecretManagerError && err.kind === 'conflict')) throw err;
      if (attempt >= MAX_ATTEMPTS)
        throw new TransientError(`the secret kept changing under the rollback; retry later`, { cause: err });
      logger.notice('the secret changed during the rollback: planning again', { attempt });
    }
  }
}

/** One attempt: read, plan, perform. A conflicting write throws (SecretManagerError conflict). */
async function rollbackAttempt(
  id: SecretId,
  name: string,
  deps: RollbackDeps,
  options: RollbackOptions,
  logger: Logger,
): Promise<RollbackResult> {
  const sm = deps.secretManager;
  const now = deps.now?.() ?? new Date();
  const secret = await sm.getSecret(id);
  const versions = await sm.listVersions(id);
  const plan = planRollback(options, factsOf(secret, versions, now));
  const result = (
    outcome: RollbackOutcome,
    reason: string,
    extra: Partial<RollbackResult> = {},
  ): RollbackResult => ({
    secret: name,
    outcome,
    reason,
    ...extra,
  });
  switch (plan.kind) {
    case 'refused':
      return result(
        'refused',
        plan.reason,
        options.replaces !== undefined ? { replaces: options.replaces } : {},
      );
    case 'busy':
      // A rotation finishes within its claim: the request is retried (Pub/Sub redelivers).
      throw new TransientError(plan.reason);
    case 'done':
      return result('skipped', plan.reason, summaryOf(plan.mark, plan.mark.version));
    case 'rollback':
      if (options.dryRun)
        return result(
          'dry-run',
          `would restore version ${plan.restores} in place of version ${plan.replaces}: ${plan.reason}`,
          {
            restores: plan.restores,
            replaces: plan.replaces,
          },
        );
      return perform(
        id,
        secret,
        markOf(plan, versions, now, options.trigger),
        deps,
        logger,
        result,
        plan.reason,
      );
    case 'resume':
      if (options.dryRun) return result('dry-run', `would resume: ${plan.reason}`, summaryOf(plan.mark));
      return perform(id, secret, plan.mark, deps, logger, result, plan.reason);
  }
}

/** The facts the plan needs, from the secret's metadata and versions (never a payload). */
function factsOf(
  secret: SecretMetadata,
  versions: readonly SecretVersionInfo[],
  now: Date,
): Parameters<typeof planRollback>[1] {
  const claim = readInProgress(secret.annotations);
  const last = readLastRotation(secret.annotations);
  const abandoned = readLastAbandoned(secret.annotations);
  const mark = parseRollbackMark(secret.annotations[ROLLBACK_MARK_KEY]);
  const current = secret.versionAliases[ALIASES.current];
  const strategy = strategyOf(secret);
  return {
    versions: versions.map((v) => ({ version: v.version, state: v.state })),
    ...(current !== undefined ? { current } : {}),
    ...(strategy !== undefined ? { strategy } : {}),
    ...(last ? { lastRotation: { version: last.version, previous: last.previous } } : {}),
    ...(abandoned ? { abandoned: abandoned.version } : {}),
    rotationInProgress: claim !== undefined && isLive(claim, now),
    ...(mark ? { mark } : {}),
  };
}

function markOf(
  plan: Extract<RollbackPlan, { kind: 'rollback' }>,
  versions: readonly SecretVersionInfo[],
  now: Date,
  trigger: string | undefined,
): RollbackMark {
  return {
    replaces: plan.replaces,
    restores: plan.restores,
    base: Math.max(0, ...versions.map((v) => v.version)),
    at: now.toISOString(),
    ...(trigger !== undefined ? { trigger } : {}),
  };
}

function summaryOf(mark: RollbackMark, version?: number): Partial<RollbackResult> {
  return { restores: mark.restores, replaces: mark.replaces, ...(version !== undefined ? { version } : {}) };
}

/** Steps 1-3 (see the top): mark, add (or adopt) R, finish. Each write carries the etag it read. */
async function perform(
  id: SecretId,
  secret: SecretMetadata,
  mark: RollbackMark,
  deps: RollbackDeps,
  logger: Logger,
  result: (outcome: RollbackOutcome, reason: string, extra?: Partial<RollbackResult>) => RollbackResult,
  why: string,
): Promise<RollbackResult> {
  const sm = deps.secretManager;
  // 1. Mark: before the version exists, so R's notification finds the mark whenever it arrives.
  let marked = secret;
  if (parseRollbackMark(secret.annotations[ROLLBACK_MARK_KEY])?.replaces !== mark.replaces)
    marked = await sm.updateSecret(id, { annotations: withMark(secret.annotations, mark) }, secret.etag);
  // 2. P's payload as R: read here only, never logged.
  const restored = await sm.accessVersion(id, String(mark.restores)).catch((err: unknown) => {
    if (err instanceof SecretManagerError && err.kind === 'failed-precondition')
      throw new InputError(
        `version ${mark.restores} can no longer be read (disabled meanwhile): not restored`,
      );
    throw err;
  });
  let version: number | undefined;
  for (const v of (await sm.listVersions(id)).filter((v) => v.version > mark.base && v.state === 'ENABLED')) {
    if ((await sm.accessVersion(id, String(v.version))).value.equals(restored.value)) {
      version = v.version;
      logger.notice('adopting the version an interrupted rollback added', { version });
      break;
    }
  }
  version ??= (await sm.addVersion(id, restored.value)).version;
  // 3. Finish: the mark names R, and `current` follows it where the secret has one.
  const done: RollbackMark = { ...mark, version };
  const aliases =
    marked.versionAliases[ALIASES.current] !== undefined
      ? { versionAliases: { ...marked.versionAliases, [ALIASES.current]: version } }
      : {};
  await sm.updateSecret(id, { annotations: withMark(marked.annotations, done), ...aliases }, marked.etag);
  return result(
    'rolled-back',
    `version ${version} restores version ${mark.restores} in place of version ${mark.replaces}: ${why}`,
    summaryOf(mark, version),
  );
}

function withMark(annotations: Readonly<Record<string, string>>, mark: RollbackMark): Record<string, string> {
  return { ...annotations, [ROLLBACK_MARK_KEY]: JSON.stringify(mark) };
}
