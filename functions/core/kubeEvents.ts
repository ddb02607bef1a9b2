// Kubernetes Events (events.k8s.io/v1) for what Rotor did to a workload, so `kubectl describe` and
// `kubectl get events` show it: Restarted, Reloaded, ReloadFailed, Waiting, Halted, GaveUp, with
// the secret and version in the note. Pure: the Event object for one workload outcome.
//
// An Event's name is derived from what it reports (workload, secret, version, reason, and what a
// wait is for), so a redelivery that reports the same thing again makes the same name and the API
// server refuses the duplicate: one Event per fact, however often Pub/Sub redelivers.
import { createHash } from 'node:crypto';
import type { WorkloadOutcome } from './outcome';
import type { KubeObject } from './kube';
import { fitUtf8, utf8Prefix } from './tenantText';
import { kindOf } from './workloadKinds';

export const REPORTING_CONTROLLER = 'rotor';
/**
 * The API server's limits (pkg/apis/core/validation/events.go): Go's len(), so bytes of UTF-8,
 * not characters. The name is validated as any object name: a DNS-1123 subdomain.
 */
const NOTE_LIMIT = 1024;
const FIELD_LIMIT = 128;
const NAME_LIMIT = 253;
/** `.rotor-` and 16 hex digits: the part of an Event's name that tells one fact from another. */
const NAME_SUFFIX_LENGTH = '.rotor-'.length + 16;
/** A DNS-1123 subdomain: lowercase alphanumeric labels of [-a-z0-9], joined by dots. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export type EventReason = 'Restarted' | 'Reloaded' | 'ReloadFailed' | 'Waiting' | 'Halted' | 'GaveUp';

interface Reported {
  readonly reason: EventReason;
  readonly type: 'Normal' | 'Warning';
  /** What Rotor did or tried (the Event's required `action`). */
  readonly action: string;
}

/** Which Event an outcome is worth, if any (nothing for unchanged, recorded, skipped, dry runs). */
export function reportedAs(o: WorkloadOutcome): Reported | undefined {
  switch (o.result) {
    case 'restarted':
      return { reason: 'Restarted', type: 'Normal', action: 'Restart' };
    case 'reloaded':
      return { reason: 'Reloaded', type: 'Normal', action: 'Reload' };
    case 'failed':
      return o.action === 'reload'
        ? { reason: 'ReloadFailed', type: 'Warning', action: 'Reload' }
        : undefined;
    case 'waiting':
      // Waiting for another delivery's report is no news for the workload's owner.
      return o.waitingFor === 'report' ? undefined : { reason: 'Waiting', type: 'Normal', action: 'Wait' };
    case 'halted':
      return { reason: 'Halted', type: 'Warning', action: 'Halt' };
    case 'gave-up':
      return { reason: 'GaveUp', type: 'Warning', action: 'Wait' };
    case 'unchanged':
    case 'recorded':
    case 'skipped':
    case 'dry-run':
      return undefined;
  }
}

export interface EventSource {
  readonly secret: string;
  readonly version?: string;
  /** A SECRET_UPDATE's moved aliases (alias → the version it now names). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** The function instance or CLI run reporting it (≤ 128 characters). */
  readonly instance: string;
  readonly now: Date;
}

/** RFC 3339 with exactly six fractional digits (metav1.MicroTime), as the API server requires. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** An events.k8s.io/v1 Event, with the fields the API server requires on create. */
export interface KubeEvent {
  readonly apiVersion: 'events.k8s.io/v1';
  readonly kind: 'Event';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly eventTime: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: EventReason;
  readonly action: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly regarding: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    readonly uid?: string;
  };
  readonly note: string;
}

export function workloadEvent(
  workload: KubeObject,
  o: WorkloadOutcome,
  src: EventSource,
): KubeEvent | undefined {
  const reported = reportedAs(o);
  if (!reported) return undefined;
  const what = `${src.secret}${src.version !== undefined ? ` version ${src.version}` : ''}`;
  const note = `${what}: ${o.reason}${o.detail ? ` [${o.detail}]` : ''}`;
  // An alias move has no version: the targets it moved to tell one rotation from the next.
  const moved = Object.entries(src.aliases ?? {})
    .map(([alias, v]) => `${alias}=${v}`)
    .sort()
    .join(',');
  const identity = [o.kind, o.namespace, o.name, src.secret, src.version ?? '', moved, reported.reason];
  // A wait is reported once per thing it waits for; everything else once per workload and event.
  if (o.result === 'waiting') identity.push(o.waitingFor ?? '', String(o.wave ?? ''));
  const hash = createHash('sha256').update(identity.join('\n')).digest('hex').slice(0, 16);
  const info = kindOf(o.kind);
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(o.name, hash), namespace: o.namespace },
    eventTime: microTime(src.now),
    type: reported.type,
    reason: reported.reason,
    action: reported.action,
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: utf8Prefix(src.instance, FIELD_LIMIT),
    regarding: {
      apiVersion: workload.apiVersion ?? `${info.group}/${info.versions[0] ?? 'v1'}`,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      ...(workload.metadata?.uid ? { uid: workload.metadata.uid } : {}),
    },
    note: fitUtf8(note, NOTE_LIMIT, ' ...'),
  };
}

/**
 * `WORKLOAD.rotor-HASH`, a name the API server accepts for any workload name: the workload's name
 * is cut to leave room for the suffix (within 253 characters) and never ends in `-` or `.` where
 * the suffix joins it. A name that is no DNS subdomain even so is left out: `rotor-HASH`.
 */
export function eventName(workload: string, hash: string): string {
  const stem = workload.slice(0, NAME_LIMIT - NAME_SUFFIX_LENGTH).replace(/[-.]+$/, '');
  return DNS_SUBDOMAIN.test(stem) ? `${stem}.rotor-${hash}` : `rotor-${hash}`;
}
