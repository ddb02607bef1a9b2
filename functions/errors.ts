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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
