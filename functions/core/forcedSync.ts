// ESO's `force-sync` annotation on an ExternalSecret says when a sync was last asked for. Rotor
// writes it (the current time), but so can anyone who may edit the ExternalSecret: it is tenant
// input. Rotor measures a wait from the latest sync it asked for, so a value in the future would
// move the start of the wait, and with it the ROTOR_MAX_WAIT_SECONDS bound, as far as the tenant
// likes, and would keep Rotor from ever asking ESO again.

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
