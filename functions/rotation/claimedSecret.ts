// Writes to a secret by the invocation that holds (or is taking) its rotation claim.
//
// Every write carries the etag of the last state of the secret this invocation saw, so a write
// that comes after anyone else's is refused (conflict). A conflict is not always a lost race,
// though: a person or another tool may have edited a label or an annotation in between. So on a
// conflict the secret is read again: if the claim in it is still ours (our owner id), nothing of
// the rotation has changed (only the claim holder writes the claim), the write is recomputed on
// the fresh secret, which keeps the other writer's edit, and sent again: the protocol continues
// from the step it recorded. If the claim is someone else's or gone, another invocation took the
// rotation over (or finished it), and we stop.
import { TransientError } from '../errors';
import type { Logger } from '../log';
import type { SecretId } from '../core/secretName';
import { SecretManagerError } from '../secretmanager/errors';
import type { SecretManager, SecretMetadata, SecretPatch } from '../secretmanager/types';
import { readInProgress } from './rotationState';

/** Another invocation changed the rotation state between our read and our write. */
export class LostRace extends Error {}

/** Edits of other fields racing ours are retried this many times before we give up (transient). */
const MAX_WRITE_ATTEMPTS = 5;

export class ClaimedSecret {
  private latest: SecretMetadata;

  constructor(
    private readonly sm: SecretManager,
    private readonly id: SecretId,
    /** This invocation's owner id, as written into the claim. */
    private readonly owner: string,
    initial: SecretMetadata,
    private readonly logger: Logger,
  ) {
    this.latest = initial;
  }

  /** The secret as this invocation last wrote or read it. */
  get secret(): SecretMetadata {
    return this.latest;
  }

  /**
   * Writes `patch(secret)` with the secret's etag. `patch` is a function of the secret so that a
   * retry after someone else's edit builds the write on what is there now.
   */
  async update(patch: (secret: SecretMetadata) => SecretPatch, what: string): Promise<SecretMetadata> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.latest = await this.sm.updateSecret(this.id, patch(this.latest), this.latest.etag);
        return this.latest;
      } catch (err) {
        if (!(err instanceof SecretManagerError && err.kind === 'conflict')) throw err;
        const fresh = await this.sm.getSecret(this.id);
        const claim = readInProgress(fresh.annotations);
        if (claim?.owner !== this.owner)
          throw new LostRace(
            `another invocation changed the secret first (${what}); leaving the rotation to it`,
          );
        if (attempt >= MAX_WRITE_ATTEMPTS)
          throw new TransientError(`the secret kept changing under the rotation (${what}); retry later`, {
            cause: err,
          });
        this.logger.notice('the secret was edited during the rotation; the claim is still ours, continuing', {
          what,
          step: claim.step,
        });
        this.latest = fresh;
      }
    }
  }
}
