// Deployment-wide rotation settings, from environment variables (documented in docs/rotation.md).
import { InputError } from '../errors';
import { envBool, envDefaultProject } from '../envValues';
import type { RotationDefaults } from './config';
import { parseDuration } from './duration';

export interface RotationSettings {
  readonly defaults: RotationDefaults;
  readonly lockTtlMs: number;
  /** Secrets rotated at once from one message. */
  readonly concurrency: number;
  /** Project for short secret names in scheduler messages and on the CLI. */
  readonly defaultProject?: string;
  readonly dryRun: boolean;
  /** Cloud SQL Admin API base URL (a fake in tests). */
  readonly cloudSqlEndpoint?: string;
}

export const DEFAULTS = {
  disableAfter: '24h',
  minInterval: '5m',
  lockTtl: '15m',
  concurrency: 8,
} as const;

export function rotationSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RotationSettings {
  const graceMs = parseDuration(
    env.ROTOR_DISABLE_AFTER ?? DEFAULTS.disableAfter,
    'ROTOR_DISABLE_AFTER',
    true,
  );
  const minIntervalMs =
    parseDuration(env.ROTOR_MIN_ROTATION_INTERVAL ?? DEFAULTS.minInterval, 'ROTOR_MIN_ROTATION_INTERVAL') ??
    0;
  const lockTtlMs =
    parseDuration(env.ROTOR_ROTATION_LOCK_TTL ?? DEFAULTS.lockTtl, 'ROTOR_ROTATION_LOCK_TTL') ?? 0;
  if (lockTtlMs < 60_000)
    throw new InputError(
      'must be at least 60s: a claim must outlive the slowest step',
      'ROTOR_ROTATION_LOCK_TTL',
    );
  const concurrency = Number(env.ROTOR_ROTATION_CONCURRENCY ?? DEFAULTS.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 100) {
    throw new InputError(
      `"${env.ROTOR_ROTATION_CONCURRENCY}" must be a whole number from 1 to 100`,
      'ROTOR_ROTATION_CONCURRENCY',
    );
  }
  const defaultProject = envDefaultProject(env);
  return {
    defaults: { graceMs, minIntervalMs },
    lockTtlMs,
    concurrency,
    ...(defaultProject ? { defaultProject } : {}),
    dryRun: envBool(env.ROTOR_DRY_RUN, 'ROTOR_DRY_RUN'),
    ...(env.ROTOR_CLOUDSQL_ENDPOINT ? { cloudSqlEndpoint: env.ROTOR_CLOUDSQL_ENDPOINT } : {}),
  };
}
