// The reconcile side of rolling back (issue 22.1; decisions in core/rollback.ts). onSecretEvent
// never reads a payload, so it cannot restore one: when its event halts under the rollback policy
// it asks rotateSecret, on the rotation topic, to do it (a request keyed by secret and bad
// version: the rotation function finds a second one done). And when an event is about a
// rollback's version, the secret's rotor-rollback mark scopes it to the workloads that applied
// the version it replaces. Both read the secret's metadata once per delivery (secrets.get).
import { PubSub } from '@google-cloud/pubsub';
import type { EventContext } from '../core/decision';
import type { HaltPolicy, SecretPolicy } from '../core/rollback';
import {
  ROLLBACK_MARK_KEY,
  onHalt,
  parseRollbackMark,
  rollbackScopeOf,
  secretHaltPolicy,
} from '../core/rollback';
import { formatSecretId } from '../core/secretName';
import { TransientError, errorMessage, isTransient } from '../errors';
import type { Logger } from '../log';
import { rollbackMessageData } from '../rotation/schedulerMessage';
import type { SecretMetadataReader } from '../secretmanager/types';
import type { EventOutcome } from '../core/outcome';
import { withHaltNote } from '../core/outcome';

/** Publishes a rollback request to rotateSecret's topic (ROTOR_ROTATION_TOPIC). */
export interface RollbackRequester {
  /** Publishes the request; resolves to its Pub/Sub message id. */
  request(data: string): Promise<string>;
  close(): Promise<void>;
}

export function pubsubRollbackRequester(topicName: string, client: PubSub = new PubSub()): RollbackRequester {
  const topic = client.topic(topicName);
  return {
    request: (data) => topic.publishMessage({ data: Buffer.from(data, 'utf8') }),
    close: () => client.close(),
  };
}

/** The event with its rollback scope (when it is a rollback's), and the secret's halt policy. */
export interface RollbackContext {
  readonly ctx: EventContext;
  readonly policy: SecretPolicy;
}

/**
 * Reads the secret's rotor-rollback mark and rotor-on-halt setting. A secret that cannot be read
 * for good (it was deleted meanwhile, permission) has neither: the deployment's policy applies.
 */
export async function rollbackContext(
  ctx: EventContext,
  reader: SecretMetadataReader,
  deployment: HaltPolicy,
  log: Logger,
): Promise<RollbackContext> {
  let secret;
  try {
    secret = await reader.getSecret(ctx.secret);
  } catch (e) {
    if (isTransient(e))
      throw new TransientError(`reading the secret's rollback settings failed: ${errorMessage(e)}`, {
        cause: e,
      });
    log.warn(`the secret's rollback settings are unreadable (${errorMessage(e)}): ROTOR_ON_HALT applies`);
    return { ctx, policy: { policy: deployment, source: 'ROTOR_ON_HALT' } };
  }
  const policy = secretHaltPolicy(secret, deployment);
  if (policy.warning) log.warn(policy.warning);
  const scope = rollbackScopeOf(parseRollbackMark(secret.annotations[ROLLBACK_MARK_KEY]), ctx);
  return { ctx: scope ? { ...ctx, rollback: scope } : ctx, policy };
}

/**
 * The outcome of a halted pass with what the halt did: under the rollback policy the request is
 * published first (a failure throws: the redelivery asks again, and the request is idempotent).
 * Each halted workload's reason (and so its Halted Event) says it, in onHalt's words.
 */
export async function respondToHalt(
  outcome: EventOutcome,
  rollback: RollbackContext,
  requester: RollbackRequester | undefined,
  dryRun: boolean,
  log: Logger,
): Promise<EventOutcome> {
  const halted = (outcome.halted ?? []).map((h) => h.workload);
  const response = onHalt(halted, rollback.policy, rollback.ctx, dryRun, requester !== undefined);
  if (response.kind === 'none') return outcome;
  const noted = { ...outcome, workloads: outcome.workloads.map((w) => withHaltNote(w, response.note)) };
  if (response.kind === 'hold' || !requester)
    return { ...noted, onHalt: { response: 'held', reason: response.reason } };
  let id: string;
  try {
    id = await requester.request(rollbackMessageData(formatSecretId(rollback.ctx.secret), response.replaces));
  } catch (e) {
    throw new TransientError(`publishing the rollback request failed: ${errorMessage(e)}`, { cause: e });
  }
  log.notice(`rollback requested as message ${id}: ${response.reason}`);
  return { ...noted, onHalt: { response: 'rolled-back', reason: response.reason, request: id } };
}
