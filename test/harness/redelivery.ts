// Pub/Sub's redelivery played by the harness, for tests and benches that call onSecretEvent's
// handler in process: a throw of TransientError is a nack (redeliver), a return an ack. The
// emulator's own redelivery is not relied on where several messages wait (docs/testing.md: it stops
// redelivering them).
import { TransientError } from '../../functions/errors';
import type { SecretEventEnvironment } from '../../functions/onSecretEvent';
import { handleSecretEvent } from '../../functions/onSecretEvent';
import type { EventOutcome } from '../../functions/core/outcome';

export type Delivery = { readonly acked: true; readonly outcome: EventOutcome } | { readonly acked: false };

/** One delivery of `body`: acked with its outcome, or nacked (still pending). */
export async function deliverOnce(body: unknown, env: SecretEventEnvironment): Promise<Delivery> {
  try {
    const outcome = await handleSecretEvent(body, env);
    if (!outcome) throw new Error('the message had no outcome: it needed no cluster work');
    return { acked: true, outcome };
  } catch (e) {
    if (e instanceof TransientError) return { acked: false };
    throw e;
  }
}

/**
 * Delivers again after `pollMs` (Pub/Sub would wait its backoff) until a delivery is acked, or
 * throws once `deadline` (epoch ms) has passed, with `why()` in the message.
 */
export async function redeliverUntilAcked(
  deliver: () => Promise<Delivery>,
  options: { readonly deadline: number; readonly pollMs: number; readonly why: () => string },
): Promise<{ readonly outcome: EventOutcome; readonly deliveries: number }> {
  for (let deliveries = 1; ; deliveries++) {
    const r = await deliver();
    if (r.acked) return { outcome: r.outcome, deliveries };
    if (Date.now() > options.deadline) throw new Error(`not acked in time: ${options.why()}`);
    await new Promise((res) => setTimeout(res, options.pollMs));
  }
}

/**
 * A subscription as Terraform deploys it, played in process: each message is delivered until
 * acked, a nack brought back after `backoffMs` (the fixed retry_backoff_seconds); continuations
 * the handler publishes (env.continuation is set here) join the queue and are delivered next.
 * Counts every delivery, and the attempts of the message that needed the most (what the
 * dead-letter policy's max_delivery_attempts is measured against). Throws after `deadline`.
 */
export async function deliverAsDeployed(
  first: { readonly body: unknown; readonly id: string },
  env: SecretEventEnvironment,
  options: { readonly backoffMs: number; readonly deadline: number; readonly why: () => string },
): Promise<{
  readonly outcome: EventOutcome;
  readonly deliveries: number;
  readonly continuations: number;
  readonly mostAttempts: number;
}> {
  const queue = [first];
  const attempts = new Map<string, number>();
  let continuations = 0;
  let deliveries = 0;
  let outcome: EventOutcome | undefined;
  const continuing: SecretEventEnvironment = {
    ...env,
    continuation: {
      publish: (m) => {
        const id = `${first.id}-c${++continuations}`;
        queue.push({ body: { message: { ...m, messageId: id, publishTime: new Date().toISOString() } }, id });
        return Promise.resolve(id);
      },
      close: () => Promise.resolve(),
    },
  };
  for (let m = queue.shift(); m; m = queue.shift()) {
    for (;;) {
      if (Date.now() > options.deadline) throw new Error(`not acked in time: ${options.why()}`);
      deliveries++;
      attempts.set(m.id, (attempts.get(m.id) ?? 0) + 1);
      const r = await deliverOnce(m.body, continuing);
      if (r.acked) {
        outcome = r.outcome;
        break;
      }
      await new Promise((res) => setTimeout(res, options.backoffMs));
    }
  }
  if (!outcome) throw new Error('no delivery was acked');
  return { outcome, deliveries, continuations, mostAttempts: Math.max(...attempts.values()) };
}
