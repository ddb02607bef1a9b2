// The `rotateSecret` entry point (functions-framework CloudEvent handler): a Cloud Scheduler
// message or a SECRET_ROTATE notification in, one rotation per named secret out.
// Pub/Sub semantics: bad input is logged and acked (return); if any secret failed in a way a
// retry can fix, the handler throws after all secrets ran, so Pub/Sub redelivers the message.
// The redelivery is cheap and safe: secrets this message already rotated are skipped (the
// message id is recorded on each), interrupted ones resume.
import type { CloudEvent } from '@google-cloud/functions-framework';
import { InputError, TransientError } from '../errors';
import type { Logger } from '../log';
import { createLogger } from '../log';
import { secretManagerFromEnv } from '../secretmanager/client';
import { googleTokenSource } from '../cluster/access';
import { loadConfig, logLevel } from '../config';
import { clusterPool } from '../cluster/pool';
import { clusterPins } from './clusterPins';
import { envBool } from '../envValues';
import { nackError } from '../nack';
import { keepEveryVersion } from './retire';
import type { SecretManager } from '../secretmanager/types';
import type { BatchReport } from './batch';
import { rotateAll } from './batch';
import type { RotationDeps } from './protocol';
import type { PinnedVersions } from './retire';
import type { RollbackRequest } from './schedulerMessage';
import { parseRotationTrigger } from './schedulerMessage';
import type { RollbackResult } from './rollback';
import { rollbackOne } from './rollback';
import type { RotationSettings } from './settings';
import { rotationSettingsFromEnv } from './settings';
import type { StrategyRegistry } from './strategies';
import { defaultStrategies } from './strategies';

export interface RotateSecretEnvironment {
  readonly secretManager: SecretManager;
  readonly strategies: StrategyRegistry;
  readonly settings: RotationSettings;
  readonly logger: Logger;
  readonly pinnedVersions?: PinnedVersions;
  readonly now?: () => Date;
  readonly afterStep?: RotationDeps['afterStep'];
}

/** Builds the production environment from process.env (once per instance: clients are reused). */
export function environmentFromEnv(env: NodeJS.ProcessEnv = process.env): RotateSecretEnvironment {
  const settings = rotationSettingsFromEnv(env);
  // With clusters configured, retirement also keeps every version a workload still uses.
  const config = loadConfig(env);
  // Without a view of the clusters Rotor cannot know which versions workloads still pin, so it
  // keeps them all unless told retirement may go ahead on aliases alone.
  const pinnedVersions: PinnedVersions | undefined =
    config.clusters.length > 0
      ? clusterPins(clusterPool(config.clusters, config, googleTokenSource()), config.projects)
      : envBool(env.ROTOR_RETIRE_WITHOUT_CLUSTERS, 'ROTOR_RETIRE_WITHOUT_CLUSTERS')
        ? undefined
        : keepEveryVersion;
  return {
    secretManager: secretManagerFromEnv(env),
    strategies: defaultStrategies({
      cloudSql: settings.cloudSqlEndpoint ? { endpoint: settings.cloudSqlEndpoint } : {},
    }),
    settings,
    logger: createLogger({ base: { component: 'rotateSecret' }, minSeverity: logLevel(env) }),
    ...(pinnedVersions ? { pinnedVersions } : {}),
  };
}

export function createRotateSecretHandler(
  environment: () => RotateSecretEnvironment,
): (event: CloudEvent<unknown>) => Promise<void> {
  let cached: RotateSecretEnvironment | undefined;
  return async (event) => {
    try {
      cached ??= environment();
      await handleRotationTrigger(event, cached);
    } catch (e) {
      throw nackError(e, 'rotateSecret');
    }
  };
}

/** Processes one trigger; exported for the CLI and tests. Returns the report, or undefined if ignored. */
export async function handleRotationTrigger(
  body: unknown,
  env: RotateSecretEnvironment,
): Promise<BatchReport | undefined> {
  const { settings } = env;
  const eventId = typeof body === 'object' && body !== null && 'id' in body ? String(body.id) : undefined;
  const logger = env.logger.with(eventId ? { event: eventId } : {});
  let trigger;
  try {
    trigger = parseRotationTrigger(
      body,
      settings.defaultProject ? { defaultProject: settings.defaultProject } : {},
    );
  } catch (err) {
    if (err instanceof InputError) {
      logger.error(`rotation trigger rejected: ${err.message}`);
      return undefined;
    }
    throw err;
  }
  if (trigger.kind === 'ignore') {
    logger.info(`ignored: ${trigger.reason}`);
    return undefined;
  }
  if (trigger.kind === 'rollback') {
    await handleRollback(trigger.request, env, logger);
    return undefined;
  }
  const { request } = trigger;
  logger.info(`${request.retireOnly ? 'retiring' : 'rotating'} ${request.secrets.length} secret(s)`, {
    source: request.source,
    trigger: request.trigger,
    concurrency: settings.concurrency,
    dryRun: settings.dryRun,
  });
  const deps: RotationDeps = {
    secretManager: env.secretManager,
    strategies: env.strategies,
    logger,
    defaults: settings.defaults,
    lockTtlMs: settings.lockTtlMs,
    ...(env.pinnedVersions ? { pinnedVersions: env.pinnedVersions } : {}),
    ...(env.now ? { now: env.now } : {}),
    ...(env.afterStep ? { afterStep: env.afterStep } : {}),
  };
  const report = await rotateAll(
    request.secrets,
    deps,
    {
      ...(request.trigger ? { trigger: request.trigger } : {}),
      force: request.force,
      retireOnly: request.retireOnly,
      dryRun: settings.dryRun,
    },
    settings.concurrency,
  );
  const summary = `rotation summary: ${Object.entries(report.counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ')}`;
  const fields = {
    counts: report.counts,
    results: report.results.map((r) => ({
      secret: r.secret,
      outcome: r.outcome,
      version: r.version,
      reason: r.reason,
    })),
  };
  if (report.failed) logger.error(summary, fields);
  else logger.notice(summary, fields);
  if (report.retry) {
    const failed = report.results.filter((r) => r.outcome === 'failed' && r.retry).map((r) => r.secret);
    throw new TransientError(
      `${failed.length} secret(s) need a retry: ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', ...' : ''}`,
    );
  }
  return report;
}

/**
 * Rolls one secret back (rotation/rollback.ts). Idempotent: a redelivered request finds the
 * rollback done (`skipped`) or resumes it. A failure a retry can fix throws (redelivery).
 */
export async function handleRollback(
  request: RollbackRequest,
  env: Pick<RotateSecretEnvironment, 'secretManager' | 'settings' | 'now'>,
  logger: Logger,
): Promise<RollbackResult> {
  const result = await rollbackOne(
    request.secret,
    { secretManager: env.secretManager, logger, ...(env.now ? { now: env.now } : {}) },
    {
      ...(request.replaces !== undefined ? { replaces: request.replaces } : {}),
      ...(request.to !== undefined ? { to: request.to } : {}),
      ...(request.trigger !== undefined ? { trigger: request.trigger } : {}),
      dryRun: env.settings.dryRun,
    },
  );
  if (result.outcome === 'failed' && result.retry)
    throw new TransientError(`the rollback of ${result.secret} needs a retry: ${result.reason}`);
  return result;
}

/** Registered by functions/index.ts as `functions.cloudEvent('rotateSecret', rotateSecret)`. */
export const rotateSecret: (event: CloudEvent<unknown>) => Promise<void> = createRotateSecretHandler(() =>
  environmentFromEnv(),
);
