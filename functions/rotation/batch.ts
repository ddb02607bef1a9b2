// Rotating every secret a request names, a bounded number at a time, each one's outcome kept
// apart: one secret's failure never stops the others, and the caller gets a result per secret.
import type { SecretId } from '../core/secretName';
import { mapLimit as mapBounded } from '../concurrency';
import type { RotateOptions, RotationDeps, RotationOutcome, RotationResult } from './protocol';
import { rotateOne } from './protocol';

export interface BatchReport {
  readonly results: readonly RotationResult[];
  readonly counts: Readonly<Partial<Record<RotationOutcome, number>>>;
  /** Some secret failed in a way a retry can fix. */
  readonly retry: boolean;
  /** Some secret failed or was abandoned. */
  readonly failed: boolean;
}

export async function rotateAll(
  secrets: readonly SecretId[],
  deps: RotationDeps,
  options: RotateOptions,
  concurrency: number,
): Promise<BatchReport> {
  const results = await mapBounded(secrets, concurrency, (id) => rotateOne(id, deps, options));
  const counts: Partial<Record<RotationOutcome, number>> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return {
    results,
    counts,
    retry: results.some((r) => r.outcome === 'failed' && r.retry === true),
    failed: results.some((r) => r.outcome === 'failed' || r.outcome === 'abandoned'),
  };
}
