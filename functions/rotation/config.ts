// What a secret asks for, read from its labels and annotations once, validated, with the
// deployment-wide defaults (environment) filled in. Errors are InputErrors naming the key, so a
// misconfigured secret is reported and acked instead of retried forever.
import { InputError } from '../errors';
import type { SecretId } from '../core/secretName';
import { parseSecretArg } from '../core/secretName';
import type { SecretMetadata } from '../secretmanager/types';
import { DEFAULT_ALPHABET, DEFAULT_LENGTH, resolveAlphabet } from './alphabet';
import { parseDuration } from './duration';
import { CONFIG_ANNOTATIONS, STRATEGY_KEY } from './names';

export const STRATEGY_NAMES = ['random', 'postgres', 'postgres-alternating', 'cloudsql'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Deployment-wide defaults (environment variables; see settings.ts). */
export interface RotationDefaults {
  /** How long a superseded version stays enabled; null = never disable. */
  readonly graceMs: number | null;
  /** Triggers closer together than this after a finished rotation are skipped. */
  readonly minIntervalMs: number;
}

export interface SecretRotationConfig {
  readonly strategy: StrategyName;
  readonly length: number;
  /** The characters generated values are drawn from. */
  readonly alphabet: string;
  readonly graceMs: number | null;
  readonly minIntervalMs: number;
  /** postgres, postgres-alternating: the secret holding the admin credential. */
  readonly adminSecret?: SecretId;
  /** postgres-alternating: the two roles used in turn. */
  readonly users?: readonly [string, string];
  /** cloudsql: `project` and `instance` of the Cloud SQL instance. */
  readonly cloudSqlInstance?: { readonly project: string; readonly instance: string };
}

export function isStrategyName(v: string): v is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(v);
}

/** Undefined when the secret is not managed by Rotor's rotation (no `rotor-strategy`). */
export function strategyOf(secret: SecretMetadata): string | undefined {
  return secret.annotations[STRATEGY_KEY] ?? secret.labels[STRATEGY_KEY];
}

export function readRotationConfig(secret: SecretMetadata, defaults: RotationDefaults): SecretRotationConfig {
  const a = secret.annotations;
  const where = secret.name;
  const strategy = strategyOf(secret);
  if (strategy === undefined) {
    throw new InputError(
      `no "${STRATEGY_KEY}" label or annotation: say how to rotate it (${STRATEGY_NAMES.join(', ')})`,
      where,
    );
  }
  if (!isStrategyName(strategy)) {
    throw new InputError(`${STRATEGY_KEY} "${strategy}" is not one of ${STRATEGY_NAMES.join(', ')}`, where);
  }

  const lengthRaw = a[CONFIG_ANNOTATIONS.length];
  const length = lengthRaw === undefined ? DEFAULT_LENGTH : Number(lengthRaw);
  if (!Number.isInteger(length) || length < 8 || length > 4096) {
    throw new InputError(
      `${CONFIG_ANNOTATIONS.length} "${lengthRaw}" must be a whole number from 8 to 4096`,
      where,
    );
  }
  const alphabet = resolveAlphabet(
    a[CONFIG_ANNOTATIONS.alphabet] ?? DEFAULT_ALPHABET,
    `${where} ${CONFIG_ANNOTATIONS.alphabet}`,
  );
  const graceRaw = a[CONFIG_ANNOTATIONS.grace];
  const graceMs =
    graceRaw === undefined
      ? defaults.graceMs
      : parseDuration(graceRaw, `${where} ${CONFIG_ANNOTATIONS.grace}`, true);
  const intervalRaw = a[CONFIG_ANNOTATIONS.minInterval];
  const minIntervalMs =
    intervalRaw === undefined
      ? defaults.minIntervalMs
      : (parseDuration(intervalRaw, `${where} ${CONFIG_ANNOTATIONS.minInterval}`) ?? 0);

  const base = { strategy, length, alphabet, graceMs, minIntervalMs };
  switch (strategy) {
    case 'random':
      return base;
    case 'postgres':
      return { ...base, adminSecret: adminSecretOf(secret) };
    case 'postgres-alternating':
      return { ...base, adminSecret: adminSecretOf(secret), users: usersOf(secret) };
    case 'cloudsql':
      return { ...base, cloudSqlInstance: instanceOf(secret) };
  }
}

function adminSecretOf(secret: SecretMetadata): SecretId {
  const raw = secret.annotations[CONFIG_ANNOTATIONS.adminSecret];
  if (!raw)
    throw new InputError(
      `${CONFIG_ANNOTATIONS.adminSecret} is required: name the secret holding the admin credential`,
      secret.name,
    );
  // A short name lives next to the rotated secret: same project, same location.
  const ref = raw.startsWith('projects/')
    ? parseSecretArg(raw)
    : secret.id.location
      ? parseSecretArg(`projects/${secret.id.project}/locations/${secret.id.location}/secrets/${raw}`)
      : parseSecretArg(raw, secret.id.project);
  if (ref.version !== undefined)
    throw new InputError(`${CONFIG_ANNOTATIONS.adminSecret} must name a secret, not a version`, secret.name);
  return ref.id;
}

function usersOf(secret: SecretMetadata): readonly [string, string] {
  const raw = secret.annotations[CONFIG_ANNOTATIONS.users] ?? '';
  const users = raw
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (users.length !== 2 || users[0] === users[1]) {
    throw new InputError(
      `${CONFIG_ANNOTATIONS.users} must name two different roles, like "app_a,app_b" (got "${raw}")`,
      secret.name,
    );
  }
  return [users[0], users[1]];
}

function instanceOf(secret: SecretMetadata): { project: string; instance: string } {
  const raw = secret.annotations[CONFIG_ANNOTATIONS.cloudSqlInstance];
  if (!raw)
    throw new InputError(
      `${CONFIG_ANNOTATIONS.cloudSqlInstance} is required (PROJECT:INSTANCE or INSTANCE)`,
      secret.name,
    );
  const full = /^projects\/([^/]+)\/instances\/([^/]+)$/.exec(raw);
  if (full) return { project: full[1], instance: full[2] };
  const colon = /^([^:]+):(?:[a-z0-9-]+:)?([a-z0-9-]+)$/.exec(raw);
  if (colon) return { project: colon[1], instance: colon[2] };
  if (/^[a-z][a-z0-9-]*$/.test(raw)) return { project: secret.id.project, instance: raw };
  throw new InputError(
    `${CONFIG_ANNOTATIONS.cloudSqlInstance} "${raw}" is not PROJECT:INSTANCE, PROJECT:REGION:INSTANCE or INSTANCE`,
    secret.name,
  );
}
