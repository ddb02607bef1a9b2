// One restart for related secrets (issue 22, item 4). Secrets rotated together — one rotateSecret
// batch, or secrets an operator grouped with the Secret Manager label (or annotation) `rotor-group`
// — restart a workload that reads several of them once, after all of their new versions are
// visible to it, instead of once per sync. Secret Manager label and annotation keys cannot hold
// `/`, so the marker is `rotor-group`, not `rotor.dev/group` (labels: lowercase letters, digits,
// `_` and `-`; the label is preferred because secrets can be filtered by it).
//
// The rule, per workload and event, for a restart the decision table already chose:
//   another secret the workload reads with `latest` is a member when it shares the event's group
//   or rotation batch; a member is in flight when its newest version is newer than what the
//   workload recorded (rotor.dev/applied) and was created within the group window of the event;
//   in flight and not yet visible where the workload reads it: wait (bounded), naming it;
//   every in-flight member visible: restart once, and record the members' versions too, so their
//   own events find them applied and change nothing;
//   the bound passed: restart with what is visible, saying which member it gave up on.
// Pure: what Secret Manager and the clusters hold is read by the shell and passed in.
import type { LiveDecision } from './liveDecision';
import type { AppliedRecord, AppliedRecords } from './decision';

/** The Secret Manager label (or annotation) an operator sets on secrets rotated together. */
export const GROUP_KEY = 'rotor-group';

/** Bounds on a group name read from Secret Manager (label values are at most 63 characters). */
const MAX_GROUP_NAME = 63;
/** Bounds on the members one decision considers (a workload reading more waits for the first ones). */
export const MAX_GROUP_MEMBERS = 16;

/** How a secret says which secrets it is rotated with. */
export interface GroupMarker {
  /** The operator's `rotor-group` label (or annotation). */
  readonly group?: string;
  /** The trigger of the rotateSecret batch that created its newest version. */
  readonly batch?: string;
}

/** ROTOR_GROUP_WINDOW_SECONDS and ROTOR_GROUP_WAIT_SECONDS (functions/config.ts). */
export interface GroupPolicy {
  /** Versions created this close to the event's count as rotated together with it. */
  readonly windowMs: number;
  /** A restart waits at most this long after the event for the other members. */
  readonly maxWaitMs: number;
}

/** Another secret the workload reads with `latest`, as the shell read it. */
export interface GroupCandidate {
  /** Its rotor.dev/applied key (DependencyIndex.keyOf). */
  readonly secretKey: string;
  readonly marker: GroupMarker;
  /** Its newest version and when Secret Manager created it; unknown: not considered. */
  readonly newest?: { readonly version: string; readonly createdAtMs: number };
  /** What rotor.dev/applied records for it on this workload. */
  readonly applied?: string;
  /** Whether `newest` is visible where the workload reads it (the readiness evidence), and why. */
  readonly visible: boolean;
  readonly detail: string;
}

export interface GroupInputs {
  readonly event: { readonly secretKey: string; readonly marker: GroupMarker; readonly timeMs: number };
  readonly candidates: readonly GroupCandidate[];
  readonly policy: GroupPolicy;
  readonly now: number;
}

/** An in-flight member: its version, and the group or batch it shares with the event. */
export interface InFlight {
  readonly secretKey: string;
  readonly version: string;
  readonly via: string;
  readonly visible: boolean;
  readonly detail: string;
}

export type GroupGate =
  /** No member in flight: the decision stands. */
  | { readonly kind: 'alone' }
  /** Every in-flight member is visible: one restart covers them all. */
  | { readonly kind: 'together'; readonly members: readonly InFlight[] }
  /** Some member is not visible yet: wait until it is, or until `giveUpAt`. */
  | { readonly kind: 'wait'; readonly waitingFor: readonly InFlight[]; readonly giveUpAt: number }
  /** The bound passed: act with the visible members, naming the ones given up on. */
  | {
      readonly kind: 'bound-passed';
      readonly visible: readonly InFlight[];
      readonly missing: readonly InFlight[];
    };

/** The marker from a secret's labels and annotations (the label wins), and its batch. */
export function groupMarker(
  labels: Readonly<Record<string, string>>,
  annotations: Readonly<Record<string, string>>,
  batch: string | undefined,
): GroupMarker {
  const raw = (labels[GROUP_KEY] ?? annotations[GROUP_KEY] ?? '').trim();
  const group = raw.length > 0 && raw.length <= MAX_GROUP_NAME ? raw : undefined;
  return { ...(group ? { group } : {}), ...(batch ? { batch } : {}) };
}

/** What two markers share, for reasons: `group "db"`, `rotation batch m-1`; nothing: undefined. */
export function sharedMarker(a: GroupMarker, b: GroupMarker): string | undefined {
  if (a.group !== undefined && a.group === b.group) return `group "${a.group}"`;
  if (a.batch !== undefined && a.batch === b.batch) return `rotation batch ${a.batch}`;
  return undefined;
}

/** The members rotated together with the event whose new version the workload has not recorded. */
export function inFlightMembers(input: GroupInputs): InFlight[] {
  const members: InFlight[] = [];
  for (const c of input.candidates) {
    if (members.length >= MAX_GROUP_MEMBERS) break;
    if (c.secretKey === input.event.secretKey || c.newest === undefined) continue;
    const via = sharedMarker(input.event.marker, c.marker);
    if (via === undefined) continue;
    if (Math.abs(c.newest.createdAtMs - input.event.timeMs) > input.policy.windowMs) continue;
    if (!newer(c.newest.version, c.applied)) continue;
    members.push({
      secretKey: c.secretKey,
      version: c.newest.version,
      via,
      visible: c.visible,
      detail: c.detail,
    });
  }
  return members;
}

/** Whether the members let the restart go now, make it wait, or have been waited for long enough. */
export function groupGate(input: GroupInputs): GroupGate {
  const members = inFlightMembers(input);
  if (members.length === 0) return { kind: 'alone' };
  const missing = members.filter((m) => !m.visible);
  if (missing.length === 0) return { kind: 'together', members };
  const giveUpAt = input.event.timeMs + input.policy.maxWaitMs;
  if (input.now <= giveUpAt) return { kind: 'wait', waitingFor: missing, giveUpAt };
  return { kind: 'bound-passed', visible: members.filter((m) => m.visible), missing };
}

/**
 * A live decision with the group applied. Only restarts are held: a reload restarts no pod, so
 * reloading once per secret costs nothing a person would notice, and a wait would only delay it.
 */
export function groupDecision(decision: LiveDecision, gate: GroupGate, policy: GroupPolicy): LiveDecision {
  if (decision.action !== 'restart') return decision;
  switch (gate.kind) {
    case 'alone':
      return decision;
    case 'together':
      return {
        ...decision,
        reason: `${decision.reason}; one restart for ${describeMembers(gate.members)}, all visible`,
        records: withMembers(decision.records, gate.members),
      };
    case 'wait':
      return {
        action: 'wait',
        reason: `${decision.reason}; the restart waits for ${describeMembers(gate.waitingFor)}, rotated with it and not visible yet (${gate.waitingFor.map((m) => m.detail).join('; ')})`,
        waitingFor: 'group',
        nudge: [],
        forceSecretSyncs: [],
        giveUpAt: gate.giveUpAt,
      };
    case 'bound-passed':
      return {
        ...decision,
        reason: `${decision.reason}; waited ${Math.round(policy.maxWaitMs / 1000)}s (ROTOR_GROUP_WAIT_SECONDS) for ${describeMembers(gate.missing)}, still not visible (${gate.missing.map((m) => m.detail).join('; ')}): restarting without ${gate.missing.length === 1 ? 'it' : 'them'}`,
        records: withMembers(decision.records, gate.visible),
      };
  }
}

/** `db-user version 4 (group "db")`, joined. */
function describeMembers(members: readonly InFlight[]): string {
  return members.map((m) => `${m.secretKey} version ${m.version} (${m.via})`).join(', ');
}

function withMembers(records: AppliedRecords, members: readonly InFlight[]): AppliedRecords {
  const extra = members.map((m): AppliedRecord => ({ key: m.secretKey, version: m.version }));
  return [records[0], ...records.slice(1), ...extra];
}

/** `version` is newer than `applied` (nothing recorded, or an older number). */
function newer(version: string, applied: string | undefined): boolean {
  if (!/^[0-9]+$/.test(version)) return false;
  if (applied === undefined || !/^[0-9]+$/.test(applied)) return true;
  return Number(version) > Number(applied);
}
