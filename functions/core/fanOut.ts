// Fan-out (issue 14, "fleets beyond one instance"). One onSecretEvent delivery reconciles every
// cluster of ROTOR_CLUSTERS, ROTOR_CLUSTER_CONCURRENCY at a time: its time grows with the fleet,
// and one slow, waiting or unreachable cluster makes Pub/Sub redeliver the whole event, which
// lists every healthy cluster again. From ROTOR_FANOUT_MIN_CLUSTERS clusters on, onSecretEvent
// instead publishes one message per cluster to ROTOR_FANOUT_TOPIC and acks; onClusterEvent, a
// function of its own on that topic, reconciles the one cluster its message names. Cloud
// Functions scales those instances, and Pub/Sub retries (and dead-letters) each cluster on its own.
//
// The message carries the original notification as Pub/Sub delivered it (attributes, data,
// messageId, publishTime), so the per-cluster handler parses the very same SecretEvent
// (core/event.ts): the same secret, version, event time for the wait bounds, and the original
// messageId, which every outcome of the event carries as `event.messageId` and which
// rotor.dev/applied-by records. Pure: deciding, encoding and decoding; no I/O.
import { InputError, errorMessage } from '../errors';
import type { PubsubMessage } from './event';
import { pubsubMessageOf } from './event';
import { parseStage } from './clusterStages';

/** ROTOR_FANOUT_TOPIC and ROTOR_FANOUT_MIN_CLUSTERS (config.ts). */
export type FanOutSetting =
  /** No fan-out topic: every event is reconciled by the instance that received it. */
  | { readonly kind: 'off' }
  /** Fan out the events of a fleet of at least `minClusters` clusters to `topic`. */
  | { readonly kind: 'on'; readonly topic: string; readonly minClusters: number };

export type FanOutDecision =
  | { readonly kind: 'in-process'; readonly reason: string }
  | { readonly kind: 'fan-out'; readonly topic: string; readonly clusters: readonly string[] };

/**
 * Whether an event with cluster work is handed to one message per cluster. `clusters` are the
 * ROTOR_CLUSTERS entries as written (each message names its cluster so).
 */
export function decideFanOut(clusters: readonly string[], setting: FanOutSetting): FanOutDecision {
  if (setting.kind === 'off') return { kind: 'in-process', reason: 'ROTOR_FANOUT_TOPIC is not set' };
  // A cluster listed twice is one cluster: one message, not two deliveries racing on it.
  const distinct = [...new Set(clusters)];
  if (distinct.length < setting.minClusters)
    return {
      kind: 'in-process',
      reason: `${distinct.length} cluster(s), fewer than ROTOR_FANOUT_MIN_CLUSTERS (${setting.minClusters})`,
    };
  return { kind: 'fan-out', topic: setting.topic, clusters: distinct };
}

/** The attribute that marks a fan-out message, and its format's version. */
export const FAN_OUT_ATTRIBUTE = 'rotorFanOut';
export const FAN_OUT_FORMAT = '1';

/** What one fan-out message says: reconcile `notification` in `cluster`. */
export interface FanOut {
  /** A ROTOR_CLUSTERS entry, as written there (without its stage). */
  readonly cluster: string;
  /**
   * The cluster's stage (core/clusterStages.ts), when not 0: for people and subscription filters.
   * The receiver gates on the stage its own ROTOR_CLUSTERS gives the cluster, never on this one.
   */
  readonly stage?: number;
  /** The Secret Manager notification onSecretEvent received, unchanged. */
  readonly notification: PubsubMessage;
}

/** A fan-out message as delivered to onClusterEvent. */
export interface ReceivedFanOut extends FanOut {
  /** The fan-out message's own Pub/Sub id (not the event's: that is notification.messageId). */
  readonly messageId: string;
}

/**
 * The Pub/Sub message for one cluster. The data (JSON) is authoritative; the attributes are for
 * people and subscription filters: `cluster` and `eventMessageId` (the original messageId).
 * The notification's own attributes are not copied up, so a fan-out message routed to
 * onSecretEvent by mistake is never taken for a notification.
 */
export function fanOutMessage(m: FanOut): {
  readonly data: string;
  readonly attributes: Record<string, string>;
} {
  const n = m.notification;
  return {
    data: JSON.stringify({
      cluster: m.cluster,
      ...(m.stage ? { stage: m.stage } : {}),
      notification: {
        attributes: n.attributes,
        ...(n.data !== undefined ? { data: n.data } : {}),
        ...(n.messageId !== undefined ? { messageId: n.messageId } : {}),
        ...(n.publishTime !== undefined ? { publishTime: n.publishTime } : {}),
      },
    }),
    attributes: {
      [FAN_OUT_ATTRIBUTE]: FAN_OUT_FORMAT,
      cluster: m.cluster,
      ...(m.stage ? { stage: String(m.stage) } : {}),
      ...(n.messageId !== undefined ? { eventMessageId: n.messageId } : {}),
    },
  };
}

export function isFanOutMessage(message: PubsubMessage): boolean {
  return message.attributes[FAN_OUT_ATTRIBUTE] !== undefined;
}

/** Decodes a delivered fan-out message. Anything malformed is an InputError (acked: it never heals). */
export function parseFanOut(message: PubsubMessage): ReceivedFanOut {
  const format = message.attributes[FAN_OUT_ATTRIBUTE];
  if (format === undefined)
    throw new InputError(
      `not a fan-out message (no ${FAN_OUT_ATTRIBUTE} attribute): onClusterEvent only takes what onSecretEvent publishes to ROTOR_FANOUT_TOPIC; Secret Manager's notifications go to onSecretEvent`,
    );
  if (format !== FAN_OUT_FORMAT)
    throw new InputError(
      `fan-out format ${FAN_OUT_ATTRIBUTE}="${format}" is not supported (this version reads ${FAN_OUT_FORMAT}): deploy onSecretEvent and onClusterEvent from the same source`,
    );
  if (!message.messageId) throw new InputError('the fan-out message has no messageId');
  if (message.data === undefined) throw new InputError('the fan-out message has no data');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch (e) {
    throw new InputError(`the fan-out message's data is not base64 of JSON: ${errorMessage(e)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InputError("the fan-out message's data must be a JSON object");
  const { cluster, stage, notification } = body as {
    cluster?: unknown;
    stage?: unknown;
    notification?: unknown;
  };
  if (typeof cluster !== 'string' || cluster.trim() === '')
    throw new InputError("the fan-out message's data.cluster must name a cluster");
  const parsedStage = stageOfMessage(stage);
  if (typeof notification !== 'object' || notification === null)
    throw new InputError("the fan-out message's data.notification must be the original Pub/Sub message");
  let original: PubsubMessage;
  try {
    // The same normalisation a Pub/Sub push body gets: the notification is checked exactly as if
    // Secret Manager's topic had delivered it.
    original = pubsubMessageOf({ message: notification });
  } catch (e) {
    throw new InputError(`the fan-out message's notification: ${errorMessage(e)}`);
  }
  return {
    cluster,
    ...(parsedStage?.ok && parsedStage.stage ? { stage: parsedStage.stage } : {}),
    notification: original,
    messageId: message.messageId,
  };
}

/** The message's data.stage: absent is stage 0; anything but a number 0..9 is refused. */
function stageOfMessage(stage: unknown): { readonly ok: true; readonly stage: number } | undefined {
  if (stage === undefined) return undefined;
  if (typeof stage !== 'number') throw new InputError("the fan-out message's data.stage: must be a number");
  const parsed = parseStage(String(stage));
  if (!parsed.ok) throw new InputError(`the fan-out message's data.stage: ${parsed.error}`);
  return parsed;
}

/**
 * The ROTOR_CLUSTERS entry a fan-out message names (`raw`: as written there). A cluster not
 * configured here is refused (acked with this error): a message published before ROTOR_CLUSTERS
 * changed, by a function with other settings, or by someone else; acting on a cluster this
 * function was not given is not its call, and a retry cannot change the answer.
 */
export function configuredCluster<C extends { readonly raw: string }>(
  m: ReceivedFanOut,
  configured: readonly C[],
): C {
  const found = configured.find((c) => c.raw === m.cluster);
  if (found) return found;
  throw new InputError(
    `fan-out message ${m.messageId} names cluster "${m.cluster}", which is not in ROTOR_CLUSTERS (${configured.length} cluster(s) configured): event ${m.notification.messageId ?? '(no id)'} is not reconciled there`,
  );
}
