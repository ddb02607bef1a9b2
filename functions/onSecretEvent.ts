// The `onSecretEvent` entry point: a Secret Manager notification (Eventarc CloudEvent of a Pub/Sub
// message) in; restarts, reloads and waits in the configured clusters out.
// Ack/retry contract with Pub/Sub:
//   malformed message          log ERROR, return (ack): retrying cannot fix it
//   not confirmed by Secret    log ERROR, return (ack): a forged or overtaken notification never
//   Manager                    becomes true (notificationVerifier.ts); Secret Manager unavailable:
//                              throw (redelivery)
//   TOPIC_CONFIGURED, ROTATE   log, return
//   done / given up / halted   publish the outcome, return (a halted namespace is fixed by a person,
//                              then continued with rotor apply: a retry cannot fix it; the other
//                              namespaces' waits still count as waiting). Under the rollback policy
//                              (ROTOR_ON_HALT, core/rollback.ts) a halt first asks rotateSecret to
//                              restore the previous value (outcome onHalt rolled-back); publishing
//                              that request fails: throw (redelivery; the request is idempotent)
//   waiting                    wait inside the delivery for a change on what it waits on, and act
//                              on the next step at once (pipeline/converge.ts), up to the budget
//                              (ROTOR_DELIVERY_BUDGET_SECONDS); then, with work left:
//     after progress           publish the outcome and a continuation of the event (same topic,
//                              next step: core/converge.ts), return (ack): a healthy rollout never
//                              uses up the subscription's attempts
//     without progress         publish the outcome, throw: Pub/Sub redelivers with backoff and the
//     (or transient only)      next delivery skips what this one finished (rotor.dev/applied)
//   a duplicate continuation   (a later step of the event is running) return
//   a fleet to fan out         publish one message per cluster to ROTOR_FANOUT_TOPIC, then the
//   (core/fanOut.ts)           outcome `fanned-out`, return; onClusterEvent.ts reconciles each
//                              cluster. Any message not published: throw, so the whole event is
//                              redelivered and published again (see fanOutEvent)
import { hostname } from 'node:os';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { TokenSource } from './cluster/access';
import { googleTokenSource } from './cluster/access';
import { clusterPool } from './cluster/pool';
import { stageOf } from './cluster/clusterSpec';
import type { KubeApi } from './cluster/kubeApi';
import { KnownEvents } from './cluster/events';
import type { RotorConfig } from './config';
import { loadConfig } from './config';
import { parsePubsubMessage, pubsubMessageOf } from './core/event';
import type { PubsubMessage, SecretEvent } from './core/event';
import type { EventContext } from './core/decision';
import type { ChainPosition } from './core/converge';
import { chainOf, continuationMessage, waitClockOf } from './core/converge';
import { decideFanOut, isFanOutMessage } from './core/fanOut';
import { eventContext } from './core/plan';
import { InputError, TransientError, errorMessage } from './errors';
import { nackError } from './nack';
import type { Logger } from './log';
import { createLogger } from './log';
import type { FanOutPublisher } from './pipeline/fanOutPublisher';
import { pubsubFanOutPublisher } from './pipeline/fanOutPublisher';
import type { EventOutcome, OutcomeScope } from './core/outcome';
import { boundedOutcome, outcomeEvent, outcomeWithoutWorkloads, summarize } from './core/outcome';
import { outcomeLogFields } from './pipeline/outcomeLog';
import type { OutcomePublisher } from './pipeline/outcomePublisher';
import { pubsubOutcomePublisher } from './pipeline/outcomePublisher';
import type { Converged } from './pipeline/converge';
import { convergeEvent } from './pipeline/converge';
import { groupSettings } from './pipeline/secretGroups';
import type { ReconcileConfig, StageSettings } from './pipeline/reconcile';
import type { ContinuationPublisher } from './pipeline/continuationPublisher';
import { pubsubContinuationPublisher } from './pipeline/continuationPublisher';
import type { RollbackRequester } from './pipeline/rollbackRequests';
import { pubsubRollbackRequester, respondToHalt, rollbackContext } from './pipeline/rollbackRequests';
import { ProjectNumberResolver, resourceManagerProjectIds } from './projectLookup';
import { confirmedBySecretManager } from './notificationVerifier';
import { secretManagerFromEnv } from './secretmanager/client';
import type { SecretMetadataReader } from './secretmanager/types';

export interface SecretEventEnvironment {
  readonly config: RotorConfig;
  readonly logger: Logger;
  readonly clusters: () => Promise<KubeApi[]>;
  /** Confirms each notification before anything is done (metadata calls only). */
  readonly secretManager: SecretMetadataReader;
  readonly publisher?: OutcomePublisher;
  /** Publishes to ROTOR_FANOUT_TOPIC: present when config.fanOut is on. */
  readonly fanOut?: FanOutPublisher;
  readonly now?: () => Date;
  /** Maps a notification's project number missing from ROTOR_PROJECT_MAP (into config.projects). */
  readonly projectNumbers?: ProjectNumberResolver;
  /** The Kubernetes Events this instance created or found: what a warm instance's redelivery reuses. */
  readonly knownEvents?: KnownEvents;
  /** Publishes continuations to ROTOR_EVENT_TOPIC; absent: a delivery with work left throws. */
  readonly continuation?: ContinuationPublisher;
  /** Asks rotateSecret for rollbacks on ROTOR_ROTATION_TOPIC; absent: a halt is only held. */
  readonly rollbackRequests?: RollbackRequester;
}

/** What reconciling and reporting need, in either entry point (onClusterEvent.ts too). */
export type ReportingEnvironment = Pick<
  SecretEventEnvironment,
  'config' | 'publisher' | 'now' | 'knownEvents' | 'continuation' | 'secretManager' | 'rollbackRequests'
>;

/** The message a delivery received and its place in the event's chain (core/converge.ts). */
export interface ReceivedDelivery {
  readonly message: PubsubMessage;
  readonly chain?: ChainPosition;
}

/**
 * The cluster stages of the configuration (core/clusterStages.ts); undefined when every cluster is
 * stage 0 (every cluster at once, as without stages). `observe`: clusters of earlier stages this
 * delivery reads but never acts on (a fanned-out cluster's earlier stages).
 */
export function stageSettings(
  config: Pick<RotorConfig, 'clusters' | 'stageMaxWaitMs'>,
  observe: readonly KubeApi[] = [],
): StageSettings | undefined {
  if (config.clusters.every((c) => stageOf(c) === 0)) return undefined;
  return {
    fleet: config.clusters.map((c) => ({ name: c.raw, stage: stageOf(c) })),
    ...(observe.length ? { observe } : {}),
    maxWaitMs: config.stageMaxWaitMs,
  };
}

export function environmentFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  tokens: TokenSource = googleTokenSource(),
): SecretEventEnvironment {
  const config = loadConfig(env);
  const logger = createLogger({ base: { component: 'onSecretEvent' }, minSeverity: config.logLevel });
  if (config.clusters.length === 0)
    logger.warn('ROTOR_CLUSTERS is empty: events are parsed and logged, but no cluster is acted on');
  return {
    config,
    logger,
    clusters: clusterPool(config.clusters, config, tokens, {
      onRefresh: (cluster, cause) =>
        logger.warn(`${cluster}: connection failed (${cause}); looking up its endpoint and CA again`, {
          cluster,
        }),
    }),
    secretManager: secretManagerFromEnv(env),
    projectNumbers: new ProjectNumberResolver(
      config.projects,
      resourceManagerProjectIds(tokens, config.apis.resourceManager),
    ),
    ...(config.outcomeTopic ? { publisher: pubsubOutcomePublisher(config.outcomeTopic) } : {}),
    ...(config.fanOut.kind === 'on' ? { fanOut: pubsubFanOutPublisher(config.fanOut.topic) } : {}),
    ...(config.eventTopic ? { continuation: pubsubContinuationPublisher(config.eventTopic) } : {}),
    ...(config.rotationTopic ? { rollbackRequests: pubsubRollbackRequester(config.rotationTopic) } : {}),
    knownEvents: new KnownEvents(),
  };
}

/** Handles one delivery; returns the outcome (undefined when the message needed no work). */
export async function handleSecretEvent(
  body: unknown,
  env: SecretEventEnvironment,
): Promise<EventOutcome | undefined> {
  let message: PubsubMessage;
  let event: SecretEvent;
  let chain: ChainPosition | undefined;
  try {
    message = pubsubMessageOf(body);
    if (isFanOutMessage(message))
      throw new InputError(
        'this is a fan-out message (ROTOR_FANOUT_TOPIC): its subscription must deliver to onClusterEvent, not onSecretEvent',
      );
    event = parsePubsubMessage(message);
    chain = chainOfMessage(message, message.messageId);
  } catch (e) {
    if (e instanceof InputError) {
      // Ack: a malformed message never becomes valid. Log enough to find it, nothing more.
      env.logger.error(`malformed notification acked: ${e.message}`, { messageId: messageIdOf(body) });
      return undefined;
    }
    throw e;
  }
  // A continuation is the event itself: its identity (outcomes, records) is the notification's id.
  if (chain) event = { ...event, messageId: chain.event };
  const log = env.logger.with({
    eventType: event.type,
    ...(event.messageId ? { messageId: event.messageId } : {}),
    ...(chain && chain.step > 0 ? { step: chain.step, deliveryId: chain.delivery } : {}),
  });
  const ctx = eventContext(event);
  // Events that need no cluster work still get an outcome: the audit trail shows every event.
  const noWork = !ctx
    ? 'TOPIC_CONFIGURED: the topic is wired to Secret Manager; nothing to do'
    : event.type === 'SECRET_ROTATE'
      ? 'SECRET_ROTATE is handled by rotateSecret; the version it adds will arrive as SECRET_VERSION_ADD'
      : undefined;
  if (!ctx || noWork) {
    // The header only: a TOPIC_CONFIGURED or SECRET_ROTATE version is not the event's to report.
    const header = outcomeEvent(
      {
        type: event.type,
        ...(event.secret ? { secret: event.secret } : {}),
        ...((event.eventTime ?? event.publishTime) ? { time: event.eventTime ?? event.publishTime } : {}),
      },
      event.messageId,
      env.config.projects,
    );
    log.info(noWork ?? '', header.secret ? { secret: header.secret } : {});
    await publish(env, outcomeWithoutWorkloads(header, { kind: 'event' }, env.config.dryRun, 0, noWork));
    return undefined;
  }
  // Before anything is decided, recorded or fanned out (and before any wait loop around the
  // reconcile): only a notification Secret Manager confirms is acted on.
  if (!(await confirmedBySecretManager({ ...event, secret: ctx.secret }, env.secretManager, log, nowOf(env))))
    return undefined;
  await env.projectNumbers?.resolve(ctx.secret.project, log);
  const fanOut = decideFanOut(
    env.config.clusters.map((c) => c.raw),
    env.config.fanOut,
  );
  if (fanOut.kind === 'fan-out') return fanOutEvent(message, event, ctx, fanOut, env, log);
  return reconcileDelivery(
    event,
    ctx,
    await env.clusters(),
    { kind: 'event' },
    env,
    log,
    chain ? { message, chain } : { message },
    stageSettings(env.config),
  );
}

/**
 * The chain position of a received message (core/converge.ts), when it has a message id; a
 * malformed continuation is refused as bad input. `eventId`: the event's own id (the message's,
 * or for a fan-out message the notification's inside).
 */
export function chainOfMessage(
  message: PubsubMessage,
  eventId: string | undefined,
): ChainPosition | undefined {
  if (!message.messageId || !eventId) return undefined;
  const chain = chainOf(message.attributes, { event: eventId, delivery: message.messageId });
  if (!chain.ok) throw new InputError(`malformed continuation: ${chain.problem}`);
  return chain.chain;
}

/**
 * Hands the event to one message per cluster on the fan-out topic, then reports `fanned-out`.
 *
 * At-least-once, both ways: if any message fails to publish, this throws before the outcome, and
 * Pub/Sub redelivers the original, which publishes every cluster's message again. So a cluster may
 * get two messages for one event (as a redelivered notification may reach onSecretEvent twice):
 * harmless, because reconciling is idempotent (rotor.dev/applied makes the second a no-op that
 * reports `unchanged`, and two at once conflict on the workload's resourceVersion and re-decide).
 * Publishing is the whole job here, so nothing is retried in-process and nothing is half-reported.
 */
async function fanOutEvent(
  message: PubsubMessage,
  event: SecretEvent,
  ctx: EventContext,
  fanOut: { readonly topic: string; readonly clusters: readonly string[] },
  env: SecretEventEnvironment,
  log: Logger,
): Promise<EventOutcome> {
  const started = Date.now();
  if (!env.fanOut) throw new Error('ROTOR_FANOUT_TOPIC is set but no fan-out publisher was configured');
  try {
    // Each message says its cluster's stage; onClusterEvent gates on its own configuration's.
    const stages = new Map(env.config.clusters.map((c) => [c.raw, stageOf(c)]));
    await env.fanOut.publish(
      fanOut.clusters.map((cluster) => {
        const stage = stages.get(cluster) ?? 0;
        return { cluster, ...(stage ? { stage } : {}), notification: message };
      }),
    );
  } catch (e) {
    throw new TransientError(`fanning out to ${fanOut.topic} failed: ${errorMessage(e)}`, { cause: e });
  }
  // This delivery's work (publishing) is done: ack. The clusters' own outcomes say what they did.
  const outcome = outcomeWithoutWorkloads(
    outcomeEvent(ctx, event.messageId, env.config.projects),
    { kind: 'fanned-out', topic: fanOut.topic, clusters: fanOut.clusters },
    env.config.dryRun,
    Date.now() - started,
  );
  log.notice(summarize(outcome), {
    outcome: outcomeLogFields(outcome, env.now?.() ?? new Date()),
    fanOut: { topic: fanOut.topic, clusters: fanOut.clusters.length },
  });
  await publish(env, outcome);
  return outcome;
}

/**
 * Reconciles `clusters` for one event and reports: per-workload lines, the summary line, the
 * outcome topic. Waits inside the delivery (pipeline/converge.ts) and ends as core/converge.ts
 * says: returns when done (or a duplicate stood down), publishes a continuation and returns after
 * progress, throws otherwise (Pub/Sub redelivers). The one path of both entry points.
 */
export async function reconcileDelivery(
  event: SecretEvent,
  ctx: EventContext,
  clusters: readonly KubeApi[],
  scope: OutcomeScope,
  env: ReportingEnvironment,
  log: Logger,
  received?: ReceivedDelivery,
  stages?: StageSettings,
): Promise<EventOutcome> {
  const chain = received?.chain;
  // The wait clock: carried by a continuation, or started now (core/converge.ts, waitClockOf).
  const clock = waitClockOf(received?.message.attributes ?? {}, chain, ctx.time, nowOf(env).getTime());
  if (clock.problem) log.warn(`continuation: ${clock.problem}`);
  // A rollback's version moves only what applied the bad one; a halt may ask for a rollback.
  const rollback = await rollbackContext(ctx, env.secretManager, env.config.onHalt, log);
  let reported: EventOutcome | undefined;
  const converged = await convergeEvent(
    rollback.ctx,
    {
      ...(event.messageId ? { messageId: event.messageId } : {}),
      scope,
      ...(chain ? { chain } : {}),
      waitSince: clock.since,
    },
    reconcileConfig(clusters, env, log, stages),
    {
      settings: env.config.loop,
      canContinue: Boolean(env.continuation && received && chain),
      startsClock: !clock.carried,
    },
    async (o) => {
      const responded = await respondToHalt(o, rollback, env.rollbackRequests, env.config.dryRun, log);
      reported = responded;
      await reportOutcome(responded, env, log);
      return responded;
    },
  );
  // The last pass is always reported: what it reported includes what a halt did.
  const outcome = reported ?? converged.outcome;
  await endDelivery(converged, received, clock.since, env, log);
  return outcome;
}

/** What a pass of this delivery reconciles and how, from the configuration read once. */
function reconcileConfig(
  clusters: readonly KubeApi[],
  env: ReportingEnvironment,
  log: Logger,
  stages: StageSettings | undefined,
): ReconcileConfig {
  return {
    clusters,
    projects: env.config.projects,
    ...(env.config.defaultProject ? { defaultProject: env.config.defaultProject } : {}),
    namespaces: env.config.namespaces,
    dryRun: env.config.dryRun,
    maxWaitMs: env.config.maxWaitMs,
    concurrency: env.config.concurrency,
    clusterConcurrency: env.config.clusterConcurrency,
    reload: env.config.reload,
    csiRotationIntervalMs: env.config.csiRotationIntervalMs,
    kubeletSyncMs: env.config.kubeletSyncMs,
    waves: env.config.waves,
    windows: env.config.windows,
    ...groupSettings(env.config.groups, env.secretManager, log),
    ...(stages ? { stages } : {}),
    reportLeaseMs: env.config.loop.reportLeaseMs,
    events: {
      instance: reportingInstance(),
      ...(env.knownEvents ? { known: env.knownEvents } : {}),
    },
    logger: log,
    ...(env.now ? { now: env.now } : {}),
  };
}

/**
 * Ends the delivery as core/converge.ts said: returns to ack (done, a duplicate standing down, a
 * give-up), publishes a continuation and returns, or throws so that Pub/Sub redelivers.
 */
async function endDelivery(
  { end, passes }: Converged,
  received: ReceivedDelivery | undefined,
  waitSince: number,
  env: ReportingEnvironment,
  log: Logger,
): Promise<void> {
  const chain = received?.chain;
  const fields = { delivery: { passes, end: end.end, ...(chain ? { step: chain.step } : {}) } };
  switch (end.end) {
    case 'done':
      return;
    case 'stand-down':
      log.notice(`duplicate continuation acked: ${end.reason}`, fields);
      return;
    case 'give-up':
      log.error(`event left unfinished: ${end.reason}`, fields);
      return;
    case 'continue': {
      if (!env.continuation || !received) throw new TransientError(end.reason);
      try {
        const id = await env.continuation.publish(continuationMessage(received.message, end.next, waitSince));
        log.notice(`continued as message ${id}: ${end.reason}`, fields);
      } catch (e) {
        // Not continued: the redelivery repeats this step (idempotent) and continues then.
        throw new TransientError(`publishing the continuation failed: ${errorMessage(e)}`, { cause: e });
      }
      return;
    }
    case 'retry':
      throw new TransientError(end.reason);
  }
}

/** Logs a pass's outcome (a line per workload, the summary) and publishes it. */
async function reportOutcome(outcome: EventOutcome, env: ReportingEnvironment, log: Logger): Promise<void> {
  for (const w of outcome.workloads) {
    const line = `${w.result}: ${w.kind} ${w.namespace}/${w.name} (${w.cluster}): ${w.reason}`;
    const fields = { workload: w };
    if (['failed', 'gave-up', 'halted', 'never-synced'].includes(w.result)) log.error(line, fields);
    else if (w.warning) log.warn(line, fields);
    else log.info(line, fields);
  }
  const summary = {
    outcome: {
      ...outcomeLogFields(outcome, env.now?.() ?? new Date()),
      ...(outcome.halted ? { halted: outcome.halted } : {}),
      ...(outcome.onHalt ? { onHalt: outcome.onHalt } : {}),
    },
  };
  if (outcome.halted) log.error(summarize(outcome), summary);
  else log.notice(summarize(outcome), summary);
  await publish(env, outcome);
}

/** Publishes to the outcome topic when one is configured; a failure is transient (redelivery). */
async function publish(env: ReportingEnvironment, outcome: EventOutcome): Promise<void> {
  if (!env.publisher) return;
  try {
    await env.publisher.publish(boundedOutcome(outcome));
  } catch (e) {
    throw new TransientError(`publishing the outcome failed: ${errorMessage(e)}`, { cause: e });
  }
}

/** The environment's clock (tests move it), else the real one. */
export function nowOf(env: Pick<SecretEventEnvironment, 'now'>): Date {
  return env.now?.() ?? new Date();
}

/** This function instance, for the Events it reports: the Cloud Run revision and the instance's host. */
function reportingInstance(): string {
  return `${process.env.K_REVISION ?? 'onSecretEvent'}/${hostname()}`;
}

export function messageIdOf(body: unknown): string | undefined {
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
