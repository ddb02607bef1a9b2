// The contract between the rotation protocol and a backend. It follows the four steps of AWS
// Secrets Manager's rotation (create pending → set on backend → test → finish); the protocol
// owns create's bookkeeping and finish, a strategy owns what only the backend knows.
import type { Logger } from '../../log';
import type { SecretManager } from '../../secretmanager/types';
import type { SecretMetadata } from '../../secretmanager/types';
import type { SecretValue } from '../../secretmanager/secretValue';
import type { SecretRotationConfig, StrategyName } from '../config';

export interface StrategyContext {
  readonly secret: SecretMetadata;
  readonly config: SecretRotationConfig;
  /** For strategies that read another secret (the admin credential). */
  readonly secretManager: SecretManager;
  readonly logger: Logger;
  /** The value in use now (the `current` alias, else the newest enabled version); undefined if none. */
  readonly current: SecretValue | undefined;
}

export interface RotationStrategy {
  readonly name: StrategyName;
  /**
   * Reads what the strategy needs and checks that the backend answers, before anything is
   * changed: a backend that is down (TransientError) or misconfigured (InputError) must leave
   * the secret exactly as it was, with no new version.
   */
  prepare(ctx: StrategyContext): Promise<PreparedRotation>;
}

export interface PreparedRotation {
  /** A fresh value for the pending version. */
  create(): SecretValue;
  /**
   * Whether a version found after a crash (added, but the crash came before it was recorded as
   * pending) looks like one this strategy generated, so a rerun adopts it instead of adding a
   * second value.
   */
  adoptable(value: SecretValue): boolean;
  /** Makes the backend accept `pending`. Idempotent: a resumed rotation may call it again. */
  set(pending: SecretValue): Promise<void>;
  /** Proves `pending` works, by a real login where there is a backend. Throws if it does not. */
  test(pending: SecretValue): Promise<void>;
  close(): Promise<void>;
}
