// The `onSecretEvent` entry point: a Secret Manager notification (Eventarc CloudEvent of a Pub/Sub
// message) in; restarts, reloads and waits in the configured clusters out.
// Ack/retry contract with Pub/Sub:
//   malformed message          log ERROR, return (ack): retrying cannot fix it
//   TOPIC_CONFIGURED, ROTATE   log, return
//   done / given up            publish the outcome, return
//   waiting or transient       publish the outcome, throw: Pub/Sub redelivers with backoff and the
//                              next delivery skips what this one finished (rotor.dev/applied)
import type { CloudEvent } from '@google-cloud/functions-framework';
import { googleTokenSource } from './cluster/access';
import { clusterPool } from './cluster/pool';
import type { KubeApi } from './cluster/kubeApi';
import type { RotorConfig } from './config';
import { loadConfig } from './config';
import { parseNotification } from './core/event';
import type { SecretEvent } from './core/event';
import { eventContext } from './core/plan';
import { formatSecretId } from './core/secretName';
import { InputError, TransientError, errorMessage } from './errors';
import { nackError } from './nack';
import type { Logger } from './log';
import { createLogger } from './log';
import type { EventOutcome } from './pipeline/outcome';
import { summarize } from './pipeline/outcome';
import type { OutcomePublisher } from './pipeline/outcomePublisher';
import { pubsubOutcomePublisher } from './pipeline/outcomePublisher';
import { reconcileEvent } from './pipeline/reconcile';

export interface SecretEventEnvironment {
  readonly config: RotorConfig;
  readonly logger: Logger;
  readonly clusters: () => Promise<KubeApi[]>;
  readonly publisher?: OutcomePublisher;
  readonly now?: () => Date;
}

export function environmentFromEnv(env: NodeJS.ProcessEnv = process.env): SecretEventEnvironment {
  const config = loadConfig(env);
  const logger = createLogger({ base: { component: 'onSecretEvent' }, minSeverity: config.logLevel });
  if (config.clusters.length === 0)
    logger.warn('ROTOR_CLUSTERS is empty: events are parsed and logged, but no cluster is acted on');
  return {
    config,
    logger,
    clusters: clusterPool(config.clusters, config, googleTokenSource()),
    ...(config.outcomeTopic ? { publisher: pubsubOutcomePublisher(config.outcomeTopic) } : {}),
  };
}

/** Handles one delivery; returns the outcome (undefined when the message needed no work). */
export async function handleSecretEvent(
  body: unknown,
  env: SecretEventEnvironment,
): Promise<EventOutcome | undefined> {
  let event: SecretEvent;
  try {
    event = parseNotification(body);
  } catch (e) {
    if (e instanceof InputError) {
      // Ack: a malformed message never becomes valid. Log enough to find it, nothing more.
      env.logger.error(`malformed notification acked: ${e.message}`, { messageId: messageIdOf(body) });
      return undefined;
    }
    throw e;
  }
  const log = env.logger.with({
    eventType: event.type,
    ...(event.messageId ? { messageId: event.messageId } : {}),
  });
  const ctx = eventContext(event);
  // Events that need no cluster work still get an outcome: the audit trail shows every event.
  const noWork = !ctx
    ? 'TOPIC_CONFIGURED: the topic is wired to Secret Manager; nothing to do'
    : event.type === 'SECRET_ROTATE'
      ? 'SECRET_ROTATE is handled by rotateSecret; the version it adds will arrive as SECRET_VERSION_ADD'
      : undefined;
  if (!ctx || noWork) {
    const secret = event.secret
      ? formatSecretId({ ...event.secret, project: env.config.projects.canonical(event.secret.project) })
      : undefined;
    log.info(noWork ?? '', secret ? { secret } : {});
    await publish(env, {
      event: {
        type: event.type,
        ...(secret ? { secret } : {}),
        ...(event.messageId ? { messageId: event.messageId } : {}),
        ...((event.eventTime ?? event.publishTime) ? { time: event.eventTime ?? event.publishTime } : {}),
      },
      dryRun: env.config.dryRun,
      ...(noWork ? { note: noWork } : {}),
      workloads: [],
      clusterErrors: [],
      warnings: [],
      pending: 0,
      converged: true,
      durationMs: 0,
    });
    return undefined;
  }
  const outcome = await reconcileEvent(ctx, event.messageId ? { messageId: event.messageId } : {}, {
    clusters: await env.clusters(),
    projects: env.config.projects,
    ...(env.config.defaultProject ? { defaultProject: env.config.defaultProject } : {}),
    namespaces: env.config.namespaces,
    dryRun: env.config.dryRun,
    maxWaitMs: env.config.maxWaitMs,
    concurrency: env.config.concurrency,
    clusterConcurrency: env.config.clusterConcurrency,
    reload: env.config.reload,
    logger: log,
    ...(env.now ? { now: env.now } : {}),
  });
  for (const w of outcome.workloads) {
    const line = `${w.result}: ${w.kind} ${w.namespace}/${w.name} (${w.cluster}): ${w.reason}`;
    const fields = { workload: w };
    if (w.result === 'failed' || w.result === 'gave-up') log.error(line, fields);
    else if (w.warning) log.warn(line, fields);
    else log.info(line, fields);
  }
  log.notice(summarize(outcome), {
    outcome: { converged: outcome.converged, pending: outcome.pending, durationMs: outcome.durationMs },
  });
  await publish(env, outcome);
  if (!outcome.converged) {
    throw new TransientError(
      `${outcome.pending} item(s) pending (waiting for a new version to become visible, or a transient failure): Pub/Sub will redeliver`,
    );
  }
  return outcome;
}

/** Publishes to the outcome topic when one is configured; a failure is transient (redelivery). */
async function publish(env: SecretEventEnvironment, outcome: EventOutcome): Promise<void> {
  if (!env.publisher) return;
  try {
    await env.publisher.publish(outcome);
  } catch (e) {
    throw new TransientError(`publishing the outcome failed: ${errorMessage(e)}`, { cause: e });
  }
}

function messageIdOf(body: unknown): string | undefined {
  const b = body as {
    id?: unknown;
    data?: { message?: { messageId?: unknown } };
    message?: { messageId?: unknown };
  } | null;
  const id = b?.data?.message?.messageId ?? b?.message?.messageId ?? b?.id;
  return typeof id === 'string' ? id : undefined;
}

export function createSecretEventHandler(
  environment: () => SecretEventEnvironment,
): (event: CloudEvent<unknown>) => Promise<void> {
  let env: SecretEventEnvironment | undefined;
  return async (cloudEvent) => {
    try {
      env ??= environment();
      await handleSecretEvent(cloudEvent, env);
    } catch (e) {
      throw nackError(e, 'onSecretEvent');
    }
  };
}

export const onSecretEvent: (event: CloudEvent<unknown>) => Promise<void> = createSecretEventHandler(() =>
  environmentFromEnv(),
);
