// The two kinds of failure the pipeline distinguishes. Pub/Sub semantics hang on this:
// bad input is acked (retrying cannot fix it); transient trouble is thrown for redelivery.

/** Input that can never succeed: a malformed message, manifest, flag or name. Ack, never retry. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    message: string,
    readonly where?: string,
  ) {
    super(where ? `${where}: ${message}` : message);
  }
}

/** Something that may succeed later: a network failure, a 5xx, a conflict, a `wait`. Retry. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An error's message, whatever was thrown. The one way Rotor turns an error into text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether retrying may succeed: the one classification the event pipeline, the rotation protocol
 * and the strategies share. Bad input never becomes good (InputError: false); a TransientError is
 * (true); an error that classifies itself (`transient`: a Kubernetes API status, a Secret Manager
 * gRPC code) says so. Anything else — an unexpected failure, a bug — is retried: every step Rotor
 * takes is idempotent, so a retry is safe, while acking would silently drop the work.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof InputError) return false;
  if (err instanceof TransientError) return true;
  if (typeof err === 'object' && err !== null && 'transient' in err && typeof err.transient === 'boolean')
    return err.transient;
  return true;
}
