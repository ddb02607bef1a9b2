// Secret Manager failures, classified by what the caller should do about them rather than by
// gRPC code: the rotation protocol branches on "someone else changed it" (conflict), "the version
// is disabled" (failed-precondition), "it does not exist" and "try again later".
import { TransientError, errorMessage } from '../errors';

export type SecretManagerErrorKind =
  | 'not-found'
  | 'already-exists'
  /** An etag did not match: another writer got there first. */
  | 'conflict'
  /** The resource is in the wrong state, e.g. accessing a disabled version. */
  | 'failed-precondition'
  | 'invalid-argument'
  | 'permission-denied'
  /** Network trouble, quota, 5xx: worth retrying. */
  | 'unavailable';

export class SecretManagerError extends Error {
  override readonly name = 'SecretManagerError';
  constructor(
    readonly kind: SecretManagerErrorKind,
    message: string,
    readonly grpcCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get transient(): boolean {
    return this.kind === 'unavailable';
  }
}

/** gRPC status codes (numeric, as both the client and @grpc/grpc-js report them). */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * Maps a client error to a SecretManagerError. `withEtag` tells whether the request carried an
 * etag: Secret Manager reports an etag mismatch as FAILED_PRECONDITION, which is otherwise also
 * the code for "version is disabled", so only the request can tell the two apart.
 */
export function classifyError(err: unknown, what: string, withEtag = false): SecretManagerError {
  if (err instanceof SecretManagerError) return err;
  const code = grpcCode(err);
  const detail = errorMessage(err);
  const message = `${what}: ${detail}`;
  switch (code) {
    case GRPC.NOT_FOUND:
      return new SecretManagerError('not-found', message, code, { cause: err });
    case GRPC.ALREADY_EXISTS:
      return new SecretManagerError('already-exists', message, code, { cause: err });
    case GRPC.ABORTED:
      return new SecretManagerError('conflict', message, code, { cause: err });
    case GRPC.FAILED_PRECONDITION:
      return new SecretManagerError(withEtag ? 'conflict' : 'failed-precondition', message, code, {
        cause: err,
      });
    case GRPC.INVALID_ARGUMENT:
    case GRPC.OUT_OF_RANGE:
      return new SecretManagerError('invalid-argument', message, code, { cause: err });
    case GRPC.PERMISSION_DENIED:
    case GRPC.UNAUTHENTICATED:
      return new SecretManagerError('permission-denied', message, code, { cause: err });
    default:
      return new SecretManagerError('unavailable', message, code, { cause: err });
  }
}

function grpcCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = err.code;
    if (typeof c === 'number') return c;
  }
  return undefined;
}

/** For callers that only distinguish retry from give-up (the function entry points). */
export function asPipelineError(err: SecretManagerError): Error {
  return err.transient ? new TransientError(err.message, { cause: err }) : err;
}
