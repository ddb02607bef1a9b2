// Durations as people write them in annotations and environment variables: `90s`, `10m`, `24h`,
// `7d`, a bare number of seconds, `0`, or `never` (only where "never" means something).
import { InputError } from '../errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or `null` for `never` when `allowNever`. */
export function parseDuration(value: string, where: string, allowNever = false): number | null {
  const v = value.trim().toLowerCase();
  if (allowNever && (v === 'never' || v === 'off')) return null;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(v);
  if (!m) {
    throw new InputError(
      `"${value}" is not a duration (like 90s, 10m, 24h, 7d${allowNever ? ', or never' : ''})`,
      where,
    );
  }
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']);
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
