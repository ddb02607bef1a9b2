// Eventarc's delivery of a Pub/Sub message to a CloudEvent function, reproduced exactly, for
// end-to-end tests and the demo.
//
// In Google Cloud a Pub/Sub-triggered function (Eventarc trigger, or a gen2 function with an event
// trigger) receives an HTTP POST in CloudEvents *binary* mode:
//   ce-id           the Pub/Sub message id
//   ce-source       //pubsub.googleapis.com/projects/P/topics/T
//   ce-specversion  1.0
//   ce-type         google.cloud.pubsub.topic.v1.messagePublished
//   ce-time         the publish time
//   content-type    application/json
//   body            {"message": {attributes, data, messageId, message_id, publishTime, publish_time},
//                    "subscription": "projects/P/subscriptions/..."}
// and Eventarc's own push subscription acks on 2xx and retries (with the subscription's backoff) on
// anything else.
//
// `startEventarcRelay` is that hop as a tiny HTTP server: the Pub/Sub emulator's push subscription
// POSTs the raw push body to it, the relay forwards it to the functions-framework server as the
// CloudEvent above, and answers the emulator with the function's status, so the emulator sees the
// same ack (2xx) or nack (non-2xx → redelivery with backoff) Eventarc would. Every delivery is
// recorded (message id, event type, status) so tests can count deliveries and retries. A test can
// also make the relay nack one delivery itself (`nackNext`), without reaching the function: a
// controlled redelivery to compare others against.
//
// `postCloudEvent` sends one such CloudEvent directly (no Pub/Sub), as a test of the function alone.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Arrivals } from './arrivals';

export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

export interface PushMessage {
  attributes?: Record<string, string>;
  /** base64 */
  data?: string;
  messageId?: string;
  message_id?: string;
  publishTime?: string;
  publish_time?: string;
}

export interface PushBody {
  message: PushMessage;
  subscription: string;
}

export interface CloudEventRequest {
  headers: Record<string, string>;
  body: string;
}

/** The HTTP request Eventarc sends for one Pub/Sub message of `topic`. */
export function eventarcRequest(push: PushBody, topic: string): CloudEventRequest {
  const id = push.message.messageId ?? push.message.message_id ?? '';
  const time = push.message.publishTime ?? push.message.publish_time ?? new Date().toISOString();
  return {
    headers: {
      'content-type': 'application/json',
      'ce-id': id,
      'ce-source': `//pubsub.googleapis.com/${topic}`,
      'ce-specversion': '1.0',
      'ce-type': MESSAGE_PUBLISHED,
      'ce-time': time,
    },
    body: JSON.stringify(push),
  };
}

export interface DeliveryRecord {
  messageId: string;
  eventType: string;
  /** The function's HTTP status, 0 when it could not be reached, or the status `nackNext` answered with. */
  status: number;
  /** Nacked by the relay itself (`nackNext`): the function never saw this delivery. */
  injected?: boolean;
  at: number;
  /** The function's response body (the error text on 500 outside production). */
  response: string;
  /** What the emulator pushed (to replay it as a duplicate delivery). */
  push: PushBody;
}

export interface EventarcRelay {
  /** The push endpoint to give the emulator's subscription. */
  readonly url: string;
  /** Every delivery so far (a live array). */
  readonly deliveries: DeliveryRecord[];
  /** Deliveries of one message. */
  deliveriesOf(messageId: string): DeliveryRecord[];
  /** Resolves once `messageId` has had a delivery matching `match` (default: acked, 2xx). */
  waitForDelivery(
    messageId: string,
    options?: { match?: (d: DeliveryRecord) => boolean; timeoutMs?: number; what?: string },
  ): Promise<DeliveryRecord>;
  /**
   * The next delivery whose push body matches is answered with `status` (default 503) by the relay
   * itself, without calling the function, as Eventarc answers when the function fails: Pub/Sub
   * redelivers it with the subscription's backoff. Register before publishing; matches once.
   */
  nackNext(match: (push: PushBody) => boolean, status?: number): void;
  close(): Promise<void>;
}

async function readBody(req: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

function isAck(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Sends one Eventarc-style CloudEvent to `url`; returns the function's status and body. */
export async function postCloudEvent(
  url: string,
  push: PushBody,
  topic: string,
  timeoutMs = 120_000,
): Promise<{ status: number; body: string }> {
  const req = eventarcRequest(push, topic);
  const r = await fetch(url, {
    method: 'POST',
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: r.status, body: await r.text() };
}

/**
 * A relay from a Pub/Sub push subscription to a CloudEvent function, as Eventarc delivers. `topic` is
 * `projects/P/topics/T` (the CloudEvent source); `onDelivery` sees every delivery as it completes.
 */
export async function startEventarcRelay(
  targetUrl: string,
  topic: string,
  onDelivery?: (d: DeliveryRecord) => void,
): Promise<EventarcRelay> {
  const deliveries: DeliveryRecord[] = [];
  const arrivals = new Arrivals();
  const faults: Array<{ match: (push: PushBody) => boolean; status: number }> = [];
  const record = (d: DeliveryRecord): void => {
    deliveries.push(d);
    onDelivery?.(d);
    arrivals.notify();
  };
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      let push: PushBody;
      try {
        push = JSON.parse(raw) as PushBody;
      } catch {
        res.writeHead(400).end('not a Pub/Sub push body');
        return;
      }
      const messageId = push.message?.messageId ?? push.message?.message_id ?? '';
      const eventType = push.message?.attributes?.eventType ?? '';
      const fault = faults.findIndex((f) => f.match(push));
      if (fault >= 0) {
        const { status } = faults.splice(fault, 1)[0];
        record({
          messageId,
          eventType,
          status,
          at: Date.now(),
          response: 'nacked by the relay (nackNext)',
          push,
          injected: true,
        });
        res.writeHead(status).end();
        return;
      }
      const ce = eventarcRequest(push, topic);
      let status = 0;
      let response: string;
      try {
        const r = await fetch(targetUrl, {
          method: 'POST',
          headers: ce.headers,
          body: ce.body,
          signal: AbortSignal.timeout(600_000),
        });
        status = r.status;
        response = await r.text();
      } catch (e) {
        response = (e as Error).message;
      }
      record({ messageId, eventType, status, at: Date.now(), response: response.slice(0, 2000), push });
      // Eventarc's answer to Pub/Sub: ack on success, nack otherwise (503 when unreachable).
      res.writeHead(status === 0 ? 503 : isAck(status) ? 204 : status).end();
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    deliveries,
    deliveriesOf: (id) => deliveries.filter((d) => d.messageId === id),
    waitForDelivery(messageId, opts = {}) {
      const match = opts.match ?? ((d: DeliveryRecord) => isAck(d.status));
      const timeoutMs = opts.timeoutMs ?? 60_000;
      return arrivals.until(
        () => deliveries.find((d) => d.messageId === messageId && match(d)),
        timeoutMs,
        () => {
          const seen = deliveries
            .filter((d) => d.messageId === messageId)
            .map((d) => `${d.status}${d.response ? ` (${d.response.slice(0, 200)})` : ''}`);
          return new Error(
            `message ${messageId}: no delivery ${opts.what ?? 'acked'} within ${timeoutMs} ms; deliveries so far: ${seen.join(', ') || 'none'}`,
          );
        },
      );
    },
    nackNext(match, status = 503) {
      if (isAck(status)) throw new Error(`nackNext: ${status} is an ack`);
      faults.push({ match, status });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
