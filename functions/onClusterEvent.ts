// The `onClusterEvent` entry point: one cluster of a fanned-out event (core/fanOut.ts). A second
// gen2 function built from the same source, triggered by ROTOR_FANOUT_TOPIC. Its own function,
// not onSecretEvent recognising fan-out messages, because a gen2 function has exactly one
// Eventarc trigger (one topic), and because its sizing differs: many small instances, each
// holding one cluster, where onSecretEvent needs one instance that can hold a whole small fleet.
// It runs as onSecretEvent's service account (the Kubernetes RBAC binds that one identity) with
// the same configuration: ROTOR_CLUSTERS says which clusters it may act on.
//
// Ack/retry contract, as onSecretEvent's, per cluster:
//   not a fan-out message, a malformed one, a cluster not in ROTOR_CLUSTERS, a malformed
//   notification inside, a notification
//   Secret Manager does not confirm      log ERROR, return (ack): retrying cannot fix it
//   done / given up / halted              publish the outcome (scope `cluster`), return
//   waiting                               wait inside the delivery, as onSecretEvent; with work
//                                         left at the budget: after progress, publish a
//                                         continuation of this cluster's message to the fan-out
//                                         topic and return; without progress (or transient
//                                         only), throw: Pub/Sub redelivers this cluster's message
//                                         alone, with its own backoff and dead-letter budget
// Waves (core/waves.ts) are planned per cluster, so a cluster's waves gate only that cluster.
import type { RollbackRequester } from './pipeline/rollbackRequests';
import { pubsubRollbackRequester } from './pipeline/rollbackRequests';
// Stages (core/clusterStages.ts) order the clusters: a cluster of a later stage reads the clusters
// of the earlier stages each pass (read-only: the evidence `rotor status` reads, Rotor's records
// and the rollouts' state) and acts only once they converged; until then its dependents are
// reported waiting (waitingFor "stage", bounded by ROTOR_STAGE_MAX_WAIT_SECONDS, continued like
// any wait), and a halt there holds them (reported, acked, not waited for).
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { ClusterSpec, TokenSource } from './cluster/access';
import { googleTokenSource } from './cluster/access';
import type { KubeApi } from './cluster/kubeApi';
import { KnownEvents } from './cluster/events';
import { clusterPool } from './cluster/pool';
import type { RotorConfig } from './config';
import { loadConfig } from './config';
import type { SecretEvent } from './core/event';
import { parsePubsubMessage, pubsubMessageOf } from './core/event';
import type { ReceivedFanOut } from './core/fanOut';
import { configuredCluster, parseFanOut } from './core/fanOut';
import { eventContext } from './core/plan';
import { InputError } from './errors';
import type { Logger } from './log';
import { createLogger } from './log';
import { nackError } from './nack';
import { chainOfMessage, messageIdOf, nowOf, reconcileDelivery, stageSettings } from './onSecretEvent';
import { stageOf } from './cluster/clusterSpec';
import type { ContinuationPublisher } from './pipeline/continuationPublisher';
import { pubsubContinuationPublisher } from './pipeline/continuationPublisher';
import type { ChainPosition } from './core/converge';
import type { PubsubMessage } from './core/event';
import { confirmedBySecretManager } from './notificationVerifier';
import { secretManagerFromEnv } from './secretmanager/client';
import type { SecretMetadataReader } from './secretmanager/types';
import type { EventOutcome } from './core/outcome';
import type { OutcomePublisher } from './pipeline/outcomePublisher';
import { pubsubOutcomePublisher } from './pipeline/outcomePublisher';
import { ProjectNumberResolver, resourceManagerProjectIds } from './projectLookup';

export interface ClusterEventEnvironment {
  readonly config: RotorConfig;
  readonly logger: Logger;
  /** The connection to one configured cluster (only the one a message names is connected). */
  readonly cluster: (spec: ClusterSpec) => Promise<KubeApi>;
  /**
   * Confirms the notification a fan-out message carries, as onSecretEvent did: the fan-out topic
   * is one more topic someone could publish to, so its word is not taken for it.
   */
  readonly secretManager: SecretMetadataReader;
  readonly publisher?: OutcomePublisher;
  readonly now?: () => Date;
  readonly projectNumbers?: ProjectNumberResolver;
  /** The Kubernetes Events this instance created or found (onSecretEvent.ts). */
  readonly knownEvents?: KnownEvents;
  /** Asks rotateSecret for rollbacks when this cluster's part halts (onSecretEvent.ts). */
  readonly rollbackRequests?: RollbackRequester;
  /** Publishes continuations to ROTOR_FANOUT_TOPIC; absent: a delivery with work left throws. */
  readonly continuation?: ContinuationPublisher;
}

export function clusterEnvironmentFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  tokens: TokenSource = googleTokenSource(),
): ClusterEventEnvironment {
  const config = loadConfig(env);
  const logger = createLogger({ base: { component: 'onClusterEvent' }, minSeverity: config.logLevel });
  // One pool per cluster, made on its first message: an instance connects only to the clusters
  // its messages name (one, mostly), not to the whole fleet.
  const pools = new Map<string, () => Promise<KubeApi[]>>();
  return {
    config,
    logger,
    async cluster(spec) {
      let pool = pools.get(spec.raw);
      if (!pool) {
        pool = clusterPool([spec], config, tokens, {
          onRefresh: (cluster, cause) =>
            logger.warn(`${cluster}: connection failed (${cause}); looking up its endpoint and CA again`, {
              cluster,
            }),
        });
        pools.set(spec.raw, pool);
      }
      const [api] = await pool();
      if (!api) throw new Error(`no connection made for ${spec.raw}`);
      return api;
    },
    secretManager: secretManagerFromEnv(env),
    projectNumbers: new ProjectNumberResolver(
      config.projects,
      resourceManagerProjectIds(tokens, config.apis.resourceManager),
    ),
    ...(config.outcomeTopic ? { publisher: pubsubOutcomePublisher(config.outcomeTopic) } : {}),
    ...(config.fanOut.kind === 'on'
      ? { continuation: pubsubContinuationPublisher(config.fanOut.topic) }
      : {}),
    ...(config.rotationTopic ? { rollbackRequests: pubsubRollbackRequester(config.rotationTopic) } : {}),
    knownEvents: new KnownEvents(),
  };
}

/** Handles one fan-out delivery; returns the cluster's outcome (undefined when acked unread). */
export async function handleClusterEvent(
  body: unknown,
  env: ClusterEventEnvironment,
): Promise<EventOutcome | undefined> {
  let fanOut: ReceivedFanOut | undefined;
  let event: SecretEvent | undefined;
  let spec: ClusterSpec;
  let message: PubsubMessage;
  let chain: ChainPosition | undefined;
  try {
    message = pubsubMessageOf(body);
    fanOut = parseFanOut(message);
    event = parsePubsubMessage(fanOut.notification);
    spec = configuredCluster(fanOut, env.config.clusters);
    // A continuation of this cluster's message carries the event's id in its notification.
    chain = chainOfMessage(message, event.messageId);
  } catch (e) {
    if (e instanceof InputError) {
      // Ack: none of these heals. What was readable is logged, to find the message and its event.
      env.logger.error(`fan-out message acked without acting: ${e.message}`, {
        messageId: fanOut?.messageId ?? messageIdOf(body),
        ...(event ? { eventType: event.type } : {}),
        ...(event?.messageId ? { eventMessageId: event.messageId } : {}),
      });
      return undefined;
    }
    throw e;
  }
  const log = env.logger.with({
    eventType: event.type,
    ...(event.messageId ? { messageId: event.messageId } : {}),
    fanOutMessageId: fanOut.messageId,
    cluster: spec.raw,
  });
  const ctx = eventContext(event);
  if (!ctx || event.type === 'SECRET_ROTATE') {
    // onSecretEvent fans out only events with cluster work; another sender's message is refused.
    log.error(`fan-out message acked without acting: ${event.type} has no cluster work`);
    return undefined;
  }
  if (!(await confirmedBySecretManager({ ...event, secret: ctx.secret }, env.secretManager, log, nowOf(env))))
    return undefined;
  await env.projectNumbers?.resolve(ctx.secret.project, log);
  const stage = stageOf(spec);
  if ((fanOut.stage ?? 0) !== stage)
    log.warn(
      `the fan-out message says stage ${fanOut.stage ?? 0}, ROTOR_CLUSTERS says stage ${stage}: stage ${stage} applies (the message was published under another configuration)`,
    );
  // A later stage reads its earlier stages' clusters (never acts there) for its gate's evidence.
  const earlier = env.config.clusters.filter((c) => stageOf(c) < stage);
  return reconcileDelivery(
    event,
    ctx,
    [await env.cluster(spec)],
    { kind: 'cluster', cluster: spec.raw, fanOutMessageId: fanOut.messageId },
    env,
    log,
    chain ? { message, chain } : { message },
    stageSettings(env.config, await Promise.all(earlier.map((c) => env.cluster(c)))),
  );
}

export function createClusterEventHandler(
  environment: () => ClusterEventEnvironment,
): (event: CloudEvent<unknown>) => Promise<void> {
  let env: ClusterEventEnvironment | undefined;
  return async (cloudEvent) => {
    try {
      env ??= environment();
      await handleClusterEvent(cloudEvent, env);
    } catch (e) {
      throw nackError(e, 'onClusterEvent');
    }
  };
}

export const onClusterEvent: (event: CloudEvent<unknown>) => Promise<void> = createClusterEventHandler(() =>
  clusterEnvironmentFromEnv(),
);
