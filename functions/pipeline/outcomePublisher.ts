// Publishes each event's outcome as JSON to a Pub/Sub topic, for alerting and audit. The
// message carries names, versions, actions and reasons only, never a secret value.
import { PubSub } from '@google-cloud/pubsub';
import type { EventOutcome } from '../core/outcome';

export interface OutcomePublisher {
  publish(outcome: EventOutcome): Promise<string>;
  close(): Promise<void>;
}

export function pubsubOutcomePublisher(topicName: string, client: PubSub = new PubSub()): OutcomePublisher {
  const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(topicName);
  if (!m) throw new Error(`outcome topic "${topicName}" is not projects/P/topics/T`);
  const topic = client.topic(topicName);
  return {
    publish: (outcome) =>
      topic.publishMessage({
        json: outcome,
        attributes: {
          eventType: outcome.event.type,
          ...(outcome.event.secret ? { secret: outcome.event.secret } : {}),
          ...(outcome.event.version ? { version: outcome.event.version } : {}),
          converged: String(outcome.converged),
          // For subscription filters: a fanned-out event's outcomes by cluster, or without the fan-out's.
          scope: outcome.scope.kind,
          ...(outcome.scope.kind === 'cluster' ? { cluster: outcome.scope.cluster } : {}),
          ...(outcome.event.messageId ? { messageId: outcome.event.messageId } : {}),
        },
      }),
    close: () => client.close(),
  };
}
