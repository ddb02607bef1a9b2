// Confirms a notification with Secret Manager before Rotor acts on it or records anything
// (issue 18, item 4): reads the metadata it speaks of, hands it to the pure check
// (core/notificationCheck.ts) and logs what does not check out. Anyone who can publish to the
// topic can forge a notification; only what Secret Manager itself holds is believed.
import type { SecretEvent } from './core/event';
import type { MetadataAnswer, MetadataLookup, NotificationCheck } from './core/notificationCheck';
import { checkNotification, metadataLookup } from './core/notificationCheck';
import type { SecretId } from './core/secretName';
import { formatSecretId } from './core/secretName';
import { TransientError, errorMessage, isTransient } from './errors';
import type { Logger } from './log';
import { SecretManagerError } from './secretmanager/errors';
import type { SecretMetadataReader } from './secretmanager/types';

/**
 * True when Secret Manager confirms `event`. False when it does not: one ERROR line saying why,
 * and the caller acks without acting (a retry cannot make a forged notification true). A failure
 * that may pass (UNAVAILABLE, a deadline) is thrown as a TransientError: Pub/Sub redelivers.
 */
export async function confirmedBySecretManager(
  event: SecretEvent & { readonly secret: SecretId },
  secretManager: SecretMetadataReader,
  log: Logger,
  now: Date,
): Promise<boolean> {
  const check = await verifyNotification(event, secretManager, now);
  if (check.kind === 'confirmed') return true;
  log.error(`notification not confirmed by Secret Manager, acked without acting: ${check.reason}`, {
    secret: formatSecretId(event.secret),
  });
  return false;
}

/** What Secret Manager says of `event` (the CLI's `rotor apply --notification` reports it itself). */
export async function verifyNotification(
  event: SecretEvent & { readonly secret: SecretId },
  secretManager: SecretMetadataReader,
  now: Date,
): Promise<NotificationCheck> {
  return checkNotification(event, await readMetadata(metadataLookup(event), secretManager), now);
}

async function readMetadata(
  lookup: MetadataLookup,
  secretManager: SecretMetadataReader,
): Promise<MetadataAnswer> {
  try {
    if (lookup.kind === 'version') {
      const v = await secretManager.getVersion(lookup.secret, lookup.version);
      return { kind: 'version', version: { state: v.state, createTime: v.createTime.toISOString() } };
    }
    const s = await secretManager.getSecret(lookup.secret);
    return {
      kind: 'secret',
      secret: {
        versionAliases: s.versionAliases,
        ...(s.createTime ? { createTime: s.createTime.toISOString() } : {}),
      },
    };
  } catch (e) {
    if (isTransient(e))
      throw new TransientError(
        `confirming the notification with Secret Manager failed (${errorMessage(e)}): Pub/Sub will redeliver`,
        { cause: e },
      );
    if (e instanceof SecretManagerError && e.kind === 'not-found') return { kind: 'not-found' };
    return { kind: 'refused', why: errorMessage(e) };
  }
}
