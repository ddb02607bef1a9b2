// rotor.dev/applied maps each thing Rotor acted on to the version it acted on: the secret
// (`NAME` → "7") and each alias a workload follows (`NAME@ALIAS`). SECRET_UPDATE notifications are
// not ordered (Pub/Sub redelivers, delays, replays dead letters): a late `current=5` arriving after
// `current=6` was applied would wind the record back to 5, and the next `current=6` would restart
// the workload for nothing. So an alias record also keeps the time of the event that moved it,
// and an event older than that is stale.
//
// Value of an alias entry: `VERSION@TIME` (TIME: the RFC 3339 event time of that SECRET_UPDATE), or
// a plain `VERSION` (written before alias moves carried their time, or from an event without one).

/** The value to store: the version, with the event time when there is one. */
export function appliedValue(version: string, movedAt?: string): string {
  return movedAt !== undefined && !Number.isNaN(Date.parse(movedAt)) ? `${version}@${movedAt}` : version;
}

/** Reads a stored value (either format); undefined when there is none. */
export function readAppliedValue(raw: string | undefined): { version: string; movedAt?: string } | undefined {
  if (raw === undefined) return undefined;
  const at = raw.indexOf('@');
  if (at < 0) return { version: raw };
  return { version: raw.slice(0, at), movedAt: raw.slice(at + 1) };
}

/** The recorded version alone, whichever format it was stored in. */
export function recordedVersion(raw: string | undefined): string | undefined {
  return readAppliedValue(raw)?.version;
}

/**
 * When the alias was recorded as moved by an event later than `eventTime` (this event is stale),
 * that later time; otherwise undefined. Without both times nothing can be told: not stale.
 */
export function staleAliasMove(raw: string | undefined, eventTime: string | undefined): string | undefined {
  const movedAt = readAppliedValue(raw)?.movedAt;
  if (movedAt === undefined || eventTime === undefined) return undefined;
  const recorded = Date.parse(movedAt);
  const event = Date.parse(eventTime);
  if (Number.isNaN(recorded) || Number.isNaN(event)) return undefined;
  return event < recorded ? movedAt : undefined;
}
