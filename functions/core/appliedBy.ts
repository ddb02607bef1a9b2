// rotor.dev/applied-by: beside rotor.dev/applied, in the same patch, which action Rotor took for
// each secret, by which message and when. An action and its record are one write, so a delivery
// that crashed right after its patches still leaves the record, and the redelivery reports that
// work as done ("restarted by message M at T") instead of "already applied".
//
// The record sits on a tenant's object, so a tenant can write one too. Rotor believes a record only
// when it names one of this event's deliveries (trustedAppliedBy): Pub/Sub redelivers a message
// under the same message id, so Rotor's own records for this event carry the id of the delivery
// now running; a tenant cannot know that id before Rotor acted (and a record it copies after
// Rotor acted only concerns its own namespace: the brake and the waves are per namespace). And
// the record's time must lie between the event and now: a record "at 2099" would hold a rollout
// wait forever, one from before the event is not about it. Pure.
import * as annotations from './annotations';
import type { AppliedRecord } from './decision';
import type { KubeObject } from './kube';
import { isObject } from './kube';

export interface AppliedBy {
  readonly action: 'restart' | 'reload' | 'record';
  /** The Pub/Sub message whose delivery acted (absent for a CLI run without one). */
  readonly message?: string;
  /** When (RFC 3339). */
  readonly at: string;
  /**
   * Which delivery of the event acted (core/converge.ts), when it is not the notification's own
   * message: a continuation's step and its own message id, or a fan-out message's (step 0).
   */
  readonly step?: number;
  readonly delivery?: string;
}

const ACTIONS: ReadonlySet<string> = new Set(['restart', 'reload', 'record']);

/** Parses rotor.dev/applied-by leniently (it is on tenant objects): bad entries are dropped. */
export function appliedBy(w: KubeObject): Record<string, AppliedBy> {
  const raw = w.metadata?.annotations?.[annotations.APPLIED_BY];
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {};
  }
  if (!isObject(parsed)) return {};
  const out: Record<string, AppliedBy> = {};
  for (const [key, v] of Object.entries(parsed)) {
    if (!isObject(v) || typeof v.action !== 'string' || !ACTIONS.has(v.action) || typeof v.at !== 'string')
      continue;
    out[key] = {
      action: v.action as AppliedBy['action'],
      at: v.at,
      ...(typeof v.message === 'string' ? { message: v.message } : {}),
      ...(typeof v.step === 'number' &&
      Number.isSafeInteger(v.step) &&
      v.step >= 0 &&
      typeof v.delivery === 'string'
        ? { step: v.step, delivery: v.delivery }
        : {}),
    };
  }
  return out;
}

/** rotor.dev/applied-by after this action: what was there, plus `by` for every record. */
export function appliedByAnnotation(w: KubeObject, records: readonly AppliedRecord[], by: AppliedBy): string {
  const current = appliedBy(w);
  for (const r of records) current[r.key] = by;
  return JSON.stringify(current);
}

/** The chain position a record names (core/converge.ts), when it names a message. */
export function chainMarkOf(b: AppliedBy): { event: string; step: number; delivery: string } | undefined {
  if (b.message === undefined) return undefined;
  return { event: b.message, step: b.step ?? 0, delivery: b.delivery ?? b.message };
}

/** The delivery now running: whose records Rotor believes. */
export interface Delivery {
  /**
   * The id this delivery records (the Pub/Sub message id, the same on every redelivery, or a CLI
   * run's own id); absent: no record is believed.
   */
  readonly id?: string;
  /** The event's time (RFC 3339), if known: no record of this event is older. */
  readonly eventTime?: string;
  /** The clock (ms since the epoch). */
  readonly now: number;
}

/** Clocks of Rotor's instances and the API server may disagree this much (ms). */
export const CLOCK_SKEW_MS = 60_000;

/**
 * Whether Rotor wrote `by` in one of this event's deliveries: it names the delivery's id, and its
 * time lies between the event and now (give or take CLOCK_SKEW_MS).
 */
export function trustedAppliedBy(by: AppliedBy, delivery: Delivery): boolean {
  if (delivery.id === undefined || by.message !== delivery.id) return false;
  const at = Date.parse(by.at);
  if (Number.isNaN(at) || at > delivery.now + CLOCK_SKEW_MS) return false;
  const event = delivery.eventTime !== undefined ? Date.parse(delivery.eventTime) : NaN;
  return Number.isNaN(event) || at >= event - CLOCK_SKEW_MS;
}

/** "restarted by message M at T". */
export function describeAppliedBy(b: AppliedBy): string {
  const done = b.action === 'restart' ? 'restarted' : b.action === 'reload' ? 'reloaded' : 'recorded';
  return `${done}${b.message ? ` by message ${b.message}` : ''} at ${b.at}`;
}
