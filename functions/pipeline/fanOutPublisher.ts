// Publishes a fanned-out event's per-cluster messages (core/fanOut.ts) to ROTOR_FANOUT_TOPIC.
import { PubSub } from '@google-cloud/pubsub';
import type { FanOut } from '../core/fanOut';
import { fanOutMessage } from '../core/fanOut';

export interface FanOutPublisher {
  /** Publishes one message per entry; resolves to their Pub/Sub ids, rejects if any one failed. */
  publish(messages: readonly FanOut[]): Promise<string[]>;
  close(): Promise<void>;
}

export function pubsubFanOutPublisher(topicName: string, client: PubSub = new PubSub()): FanOutPublisher {
  if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(topicName))
    throw new Error(`fan-out topic "${topicName}" is not projects/P/topics/T`);
  // The client batches the messages of one event into few publish requests.
  const topic = client.topic(topicName);
  return {
    async publish(messages) {
      const results = await Promise.allSettled(
        messages.map((m) => {
          const { data, attributes } = fanOutMessage(m);
          return topic.publishMessage({ data: Buffer.from(data), attributes });
        }),
      );
      const failed = results.flatMap((r, i) =>
        r.status === 'rejected' ? [`${messages[i]?.cluster ?? '?'}: ${String(r.reason)}`] : [],
      );
      if (failed.length)
        throw new Error(
          `${failed.length} of ${messages.length} fan-out message(s) not published (${failed.slice(0, 3).join('; ')}${failed.length > 3 ? '; …' : ''})`,
        );
      return results.map((r) => (r.status === 'fulfilled' ? r.value : ''));
    },
    close: () => client.close(),
  };
}
