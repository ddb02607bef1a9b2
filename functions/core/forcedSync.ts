// ESO's `force-sync` annotation on an ExternalSecret says when a sync was last asked for. Rotor
// writes it (the current time), but so can anyone who may edit the ExternalSecret: it is tenant
// input. It decides only whether Rotor asks again (a value in the future would otherwise keep Rotor
// from ever asking); how long Rotor waits runs from the chain's own wait clock (core/converge.ts,
// waitClockOf), which only Rotor writes.

/**
 * When a sync was forced (ms since the epoch), from the annotation's value; undefined when the
 * value is missing, not a time, or later than `nowMs` (nobody can have asked in the future: the
 * value is treated as if no sync had been forced).
 */
export function forcedSyncTime(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t) || t > nowMs) return undefined;
  return t;
}
