// Pub/Sub's redelivery played by the harness, for tests and benches that call onSecretEvent's
// handler in process: a throw of TransientError is a nack (redeliver), a return an ack. The
// emulator's own redelivery is not relied on where several messages wait (README: it stops
// redelivering them).
import { TransientError } from '../../functions/errors';
import type { SecretEventEnvironment } from '../../functions/onSecretEvent';
import { handleSecretEvent } from '../../functions/onSecretEvent';
import type { EventOutcome } from '../../functions/pipeline/outcome';

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
