// The state Rotor keeps on the secret itself (annotations), so that any invocation, on any
// instance, can see whether a rotation is under way, resume it, or leave it to its owner.
//
// `rotor-rotation` is both the record of the rotation in progress and its lock: it is written
// with the secret's etag (compare-and-set), so of two invocations that read the same secret only
// one can write it; every later step rewrites it with the etag it got back, so an invocation that
// lost the lock (it expired and someone took over) finds out at its next step and stops.
import { randomUUID } from 'node:crypto';
import { STATE_ANNOTATIONS } from './names';

/**
 * Forward steps, then `abandoning`: the backend refused the pending value for good and the
 * rotation is being withdrawn (a resume continues the withdrawal, never the rotation).
 */
export type RotationStep = 'claimed' | 'created' | 'set' | 'tested' | 'abandoning';

export interface InProgress {
  /** Identifies this rotation attempt across resumes (a new owner keeps it). */
  readonly id: string;
  /** Who holds the lock now: one id per invocation. */
  readonly owner: string;
  readonly step: RotationStep;
  /** The highest version number when the rotation was claimed: anything newer is ours. */
  readonly base: number;
  /** The version that was `current` when the rotation started (0: none). */
  readonly from: number;
  /** The pending version, once created. */
  readonly pending?: number;
  /** The trigger (Pub/Sub message id, `cli`, ...) that started it. */
  readonly trigger?: string;
  readonly started: string;
  /** The lock is free after this instant; each step pushes it forward. */
  readonly expires: string;
  /** The last failure, for people reading the annotation; when abandoning, the refusal. Never contains a value. */
  readonly error?: string;
  /** Abandoning after the backend may have taken the pending value (refused at test): put the value in use back. */
  readonly restoreBackend?: boolean;
}

export interface LastRotation {
  readonly id: string;
  readonly version: number;
  readonly previous: number;
  readonly finished: string;
  readonly trigger?: string;
  /** A different trigger that resumed and finished the rotation. */
  readonly resumedBy?: string;
}

/** A rotation withdrawn because the backend refused its value (see the protocol's abandon). */
export interface LastAbandoned {
  readonly id: string;
  /** The refused version (now disabled). */
  readonly version: number;
  readonly finished: string;
  /** Why, in short; never a value. */
  readonly reason: string;
  readonly trigger?: string;
  /** A different trigger that resumed and finished the withdrawal. */
  readonly resumedBy?: string;
}

/**
 * How many triggers a secret remembers. Pub/Sub redelivers a message until it is acked (days, with
 * a dead-letter topic after some attempts), and a batch message that failed for one secret comes
 * back after others rotated this secret again: remembering only the last trigger would take that
 * redelivery for a new rotation. Message ids are ~17 characters; 20 of them fit Secret Manager's
 * annotation budget many times over.
 */
export const RECENT_TRIGGERS = 20;

/** The triggers that finished or withdrew a rotation of this secret, newest first. */
export function readRecentTriggers(annotations: Readonly<Record<string, string>>): string[] {
  const raw = annotations[STATE_ANNOTATIONS.recentTriggers];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    // Hand-edited into something unparseable: forget the window rather than wedge rotation.
    return [];
  }
}

/** The window after a rotation settled for these triggers (its own and a resuming one). */
function withRecentTriggers(
  annotations: Readonly<Record<string, string>>,
  triggers: ReadonlyArray<string | undefined>,
): Record<string, string> {
  const added = triggers.filter((t): t is string => t !== undefined);
  if (added.length === 0) return { ...annotations };
  const kept = readRecentTriggers(annotations).filter((t) => !added.includes(t));
  return {
    ...annotations,
    [STATE_ANNOTATIONS.recentTriggers]: JSON.stringify([...added, ...kept].slice(0, RECENT_TRIGGERS)),
  };
}

export function newRotationId(): string {
  return randomUUID();
}

export function readInProgress(annotations: Readonly<Record<string, string>>): InProgress | undefined {
  const parsed = parseJson(annotations[STATE_ANNOTATIONS.inProgress]);
  if (
    !parsed ||
    typeof parsed.id !== 'string' ||
    typeof parsed.step !== 'string' ||
    typeof parsed.expires !== 'string'
  )
    return undefined;
  return parsed as unknown as InProgress;
}

export function readLastRotation(annotations: Readonly<Record<string, string>>): LastRotation | undefined {
  const parsed = parseJson(annotations[STATE_ANNOTATIONS.last]);
  if (!parsed || typeof parsed.version !== 'number' || typeof parsed.finished !== 'string') return undefined;
  return parsed as unknown as LastRotation;
}

export function readLastAbandoned(annotations: Readonly<Record<string, string>>): LastAbandoned | undefined {
  const parsed = parseJson(annotations[STATE_ANNOTATIONS.lastAbandoned]);
  if (!parsed || typeof parsed.version !== 'number' || typeof parsed.finished !== 'string') return undefined;
  return parsed as unknown as LastAbandoned;
}

/** The claim released and the withdrawn rotation recorded (its trigger must not start another). */
export function withAbandoned(
  annotations: Readonly<Record<string, string>>,
  abandoned: LastAbandoned,
): Record<string, string> {
  const next: Record<string, string> = {
    ...withRecentTriggers(annotations, [abandoned.trigger, abandoned.resumedBy]),
    [STATE_ANNOTATIONS.lastAbandoned]: JSON.stringify(abandoned),
  };
  delete next[STATE_ANNOTATIONS.inProgress];
  return next;
}

export function withInProgress(
  annotations: Readonly<Record<string, string>>,
  state: InProgress,
): Record<string, string> {
  return { ...annotations, [STATE_ANNOTATIONS.inProgress]: JSON.stringify(state) };
}

export function withFinished(
  annotations: Readonly<Record<string, string>>,
  last: LastRotation,
): Record<string, string> {
  const next: Record<string, string> = {
    ...withRecentTriggers(annotations, [last.trigger, last.resumedBy]),
    [STATE_ANNOTATIONS.last]: JSON.stringify(last),
  };
  delete next[STATE_ANNOTATIONS.inProgress];
  return next;
}

export function isLive(state: InProgress, now: Date): boolean {
  return Date.parse(state.expires) > now.getTime();
}

function parseJson(raw: string | undefined): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    // A hand-edited, unparseable annotation is treated as absent rather than wedging rotation.
    return undefined;
  }
}
