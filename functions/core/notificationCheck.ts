// Whether a notification checks out against Secret Manager (issue 18, item 4). Anyone who can
// publish to the topic Rotor subscribes to can forge a notification: a SECRET_VERSION_ADD of
// version 999999999 would restart every dependent and record that version, after which the real
// version 9 is "older"; an alias move stamped 2099 would make every real move "stale". So before
// Rotor acts or records anything, the shell reads the metadata the notification speaks of
// (versions.get or secrets.get: never a payload) and this module decides, over that plain data,
// whether the notification agrees with it. Pure: no I/O.
import type { SecretEvent, SecretEventType } from './event';
import { isVersionEvent } from './event';
import type { SecretId } from './secretName';
import { formatSecretId } from './secretName';

/** How far an event time may lie ahead of this instance's clock: the clocks of two machines. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The version states Secret Manager reports. */
export type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED';

/** What versions.get says of the announced version. */
export interface VersionFacts {
  readonly state: VersionState;
  /** ISO 8601. */
  readonly createTime: string;
}

/** What secrets.get says of the announced secret. */
export interface SecretFacts {
  /** alias → version number, as Secret Manager holds them now. */
  readonly versionAliases: Readonly<Record<string, number>>;
  /** ISO 8601; absent when the service did not say. */
  readonly createTime?: string;
}

/** What the shell asks Secret Manager for a notification. */
export type MetadataLookup =
  | { readonly kind: 'version'; readonly secret: SecretId; readonly version: string }
  | { readonly kind: 'secret'; readonly secret: SecretId };

/** What Secret Manager answered (a transient failure never gets here: the shell throws it). */
export type MetadataAnswer =
  | { readonly kind: 'version'; readonly version: VersionFacts }
  | { readonly kind: 'secret'; readonly secret: SecretFacts }
  /** NOT_FOUND: no such secret or version. */
  | { readonly kind: 'not-found' }
  /** Any other definite refusal (PERMISSION_DENIED for a secret Rotor may not read, ...). */
  | { readonly kind: 'refused'; readonly why: string };

export type NotificationCheck =
  { readonly kind: 'confirmed' } | { readonly kind: 'refuted'; readonly reason: string };

/** The call that confirms `event`: versions.get for a version event, secrets.get otherwise. */
export function metadataLookup(event: SecretEvent & { readonly secret: SecretId }): MetadataLookup {
  if (isVersionEvent(event.type) && event.version !== undefined)
    return { kind: 'version', secret: event.secret, version: event.version };
  return { kind: 'secret', secret: event.secret };
}

/**
 * Whether `event` checks out against `answer` at `now`: its times are not ahead of the clock
 * beyond CLOCK_SKEW_MS, and what it announces is what Secret Manager holds now. A notification a
 * later change overtook (a version added then disabled, an alias moved on) no longer checks out
 * either: the later change's own notification is the one to act on.
 */
export function checkNotification(
  event: SecretEvent & { readonly secret: SecretId },
  answer: MetadataAnswer,
  now: Date,
): NotificationCheck {
  const what = announced(event);
  const refuted = (why: string): NotificationCheck => ({ kind: 'refuted', reason: `${what}: ${why}` });
  const future = futureTime(event, now);
  if (future) return refuted(future);
  if (answer.kind === 'refused')
    return refuted(`Secret Manager refused to confirm it (${bounded(answer.why)})`);
  if (event.type === 'SECRET_DELETE')
    return answer.kind === 'not-found' ? { kind: 'confirmed' } : refuted('the secret still exists');
  if (answer.kind === 'not-found')
    return refuted(
      isVersionEvent(event.type) ? 'Secret Manager has no such version' : 'Secret Manager has no such secret',
    );
  const why =
    answer.kind === 'version' ? versionMismatch(event, answer.version) : secretMismatch(event, answer.secret);
  return why ? refuted(why) : { kind: 'confirmed' };
}

/** The state a version must be in now for each version event to still be true. */
const STATES_AFTER: Readonly<Partial<Record<SecretEventType, readonly VersionState[]>>> = {
  SECRET_VERSION_ADD: ['ENABLED'],
  SECRET_VERSION_ENABLE: ['ENABLED'],
  SECRET_VERSION_DISABLE: ['DISABLED', 'DESTROYED'],
  // A version scheduled for destruction is disabled until it is destroyed.
  SECRET_VERSION_DESTROY_SCHEDULED: ['DISABLED', 'DESTROYED'],
  SECRET_VERSION_DESTROY: ['DESTROYED'],
};

function versionMismatch(event: SecretEvent, version: VersionFacts): string | undefined {
  const states = STATES_AFTER[event.type];
  if (!states) return `Secret Manager answered with a version for a ${event.type}`;
  if (!states.includes(version.state))
    return `the version is ${version.state} in Secret Manager, which a ${event.type} does not leave it in`;
  return createdAfterEvent(event, version.createTime, 'version');
}

function secretMismatch(event: SecretEvent, secret: SecretFacts): string | undefined {
  if (isVersionEvent(event.type)) return `Secret Manager answered with a secret for a ${event.type}`;
  for (const [alias, claimed] of Object.entries(event.secretResource?.versionAliases ?? {})) {
    const actual = secret.versionAliases[alias];
    if (actual === undefined || String(actual) !== claimed)
      return `alias ${quoted(alias)} points at ${actual === undefined ? 'no version' : `version ${actual}`} in Secret Manager, not at version ${quoted(claimed)} as the notification says`;
  }
  return secret.createTime ? createdAfterEvent(event, secret.createTime, 'secret') : undefined;
}

/** A notification cannot announce what was created after it (beyond the clocks' skew). */
function createdAfterEvent(event: SecretEvent, createTime: string, what: string): string | undefined {
  const at = event.eventTime;
  if (!at) return undefined;
  return Date.parse(createTime) > Date.parse(at) + CLOCK_SKEW_MS
    ? `the ${what} was created at ${createTime}, after the event time ${at}`
    : undefined;
}

function futureTime(event: SecretEvent, now: Date): string | undefined {
  const limit = now.getTime() + CLOCK_SKEW_MS;
  for (const [field, time] of [
    ['event time', event.eventTime],
    ['publish time', event.publishTime],
  ] as const) {
    if (time !== undefined && Date.parse(time) > limit)
      return `its ${field} ${time} lies in the future (now ${now.toISOString()}, ${CLOCK_SKEW_MS / 60_000} min of clock skew allowed)`;
  }
  return undefined;
}

function announced(event: SecretEvent & { readonly secret: SecretId }): string {
  // Both come from the message (bounded by Pub/Sub's attribute size only): shortened for the log.
  const secret = short(formatSecretId(event.secret), 300);
  return event.version !== undefined
    ? `${event.type} of ${secret} version ${short(event.version, 24)}`
    : `${event.type} of ${secret}`;
}

/** Text from the message (an alias name, a version a forger wrote): short and quoted. */
function quoted(text: string): string {
  return JSON.stringify(short(text, 64));
}

function bounded(text: string): string {
  return short(text, 300);
}

function short(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
