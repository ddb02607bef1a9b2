// Publishes an event's continuation (core/converge.ts) to the topic its deliveries arrive on:
// ROTOR_EVENT_TOPIC for onSecretEvent, ROTOR_FANOUT_TOPIC for onClusterEvent.
import { PubSub } from '@google-cloud/pubsub';

export interface ContinuationPublisher {
  /** Publishes the message (data base64, as received); resolves to its Pub/Sub id. */
  publish(message: { readonly data?: string; readonly attributes: Record<string, string> }): Promise<string>;
  close(): Promise<void>;
}

export function pubsubContinuationPublisher(
  topicName: string,
  client: PubSub = new PubSub(),
): ContinuationPublisher {
  if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(topicName))
    throw new Error(`continuation topic "${topicName}" is not projects/P/topics/T`);
  const topic = client.topic(topicName);
  return {
    publish: (m) =>
      topic.publishMessage({
        data: m.data !== undefined ? Buffer.from(m.data, 'base64') : Buffer.alloc(0),
        attributes: m.attributes,
      }),
    close: () => client.close(),
  };
}
