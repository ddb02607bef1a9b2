// Asking Pub/Sub for a redelivery without breaking the one-JSON-object-a-line log contract.
import { TransientError, errorMessage } from './errors';

/**
 * What the handler throws to make the framework answer 500 (Pub/Sub redelivers). The framework
 * prints a thrown error's `stack` on stderr; left alone that is a multi-line trace per redelivery,
 * outside the one-JSON-object-a-line log contract, and a routine wait would look like a crash to
 * Error Reporting. So the stack becomes one structured line: NOTICE for transient trouble and
 * waiting (already explained by the entries before it), ERROR with the trace for anything else
 * (a configuration error, a bug). The message is kept: outside production the framework returns it
 * as the response body.
 */
export function nackError(e: unknown, component: string): Error {
  // A routine wait or retry (TransientError) is NOTICE; anything else carries its trace.
  const transient = e instanceof TransientError;
  const message = errorMessage(e);
  const entry = {
    severity: transient ? 'NOTICE' : 'ERROR',
    message: `${transient ? 'retry' : 'failed, will retry'}: ${message}`,
    component,
    ...(!transient && e instanceof Error && e.stack ? { stack_trace: e.stack } : {}),
  };
  const out = new Error(message, { cause: e });
  out.stack = JSON.stringify(entry);
  return out;
}
