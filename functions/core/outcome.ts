// What happened, per workload and per event: logged, published to the outcome topic, printed by
// the CLI. The action is the decision; the result is what running it did.
import type { Action, WaitingFor } from './decision';
import type { SecretEventType } from './event';
import type { WorkloadKind } from './kube';
import type { ProjectMap, SecretId } from './secretName';
import { secretKey } from './secretName';

export type Result =
  | 'restarted'
  | 'reloaded'
  /** rotor.dev/applied written without acting: a restart after the version already covered it. */
  | 'recorded'
  /** Nothing to do (action none). */
  | 'unchanged'
  /** Waiting for ESO or the CSI driver to make the new version visible; redelivery continues. */
  | 'waiting'
  /** Left alone on purpose (paused Deployment). */
  | 'skipped'
  /** rotor.dev/on-rotate: manual: a person approves with `rotor apply --workload` (acked, not retried). */
  | 'awaiting-approval'
  /** A kind Rotor never acts on (bare Pod, Job): it keeps the old value until replaced (acked). */
  | 'awaiting-replacement'
  | 'failed'
  /** The bounded wait ran out before the new version became visible. */
  | 'gave-up'
  /**
   * Its namespace's part of the event halted (core/waves.ts): this workload's rollout failed, or
   * it was left alone because another one's in its namespace (or a canary's) did. Not pending;
   * `rotor apply` continues once a person fixed the cause.
   */
  | 'halted'
  /** ESO will never refresh the ExternalSecret (refreshInterval 0, CreatedOnce): reported at once, acked. */
  | 'never-synced'
  | 'dry-run';

export interface WorkloadOutcome {
  readonly cluster: string;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly action: Action;
  readonly result: Result;
  readonly reason: string;
  readonly warning?: string;
  /** Extra facts: pods reloaded, fallback cause, error. */
  readonly detail?: string;
  /** A wait's (or dry run's wait's) cause: ESO's sync, the CSI driver's mount, or ready pods to ping. */
  readonly waitingFor?: WaitingFor;
  /** Waiting for a maintenance window: when it opens (ISO 8601), and the restart or reload happens. */
  readonly opensAt?: string;
  /** Its wave (rotor.dev/wave; the default wave is 100), when waves are planned. */
  readonly wave?: number;
}

/** A workload whose failed rollout halted the event, and why (its pods' reasons). */
export interface HaltCause {
  readonly cluster: string;
  readonly workload: string;
  readonly reasons: readonly string[];
}

/**
 * What part of the event this outcome reports (fan-out, core/fanOut.ts). Every outcome of one
 * event carries the same `event.messageId`, the Secret Manager notification's Pub/Sub id, whichever
 * function published it: that id joins a fanned-out event's outcomes on the outcome topic.
 */
export type OutcomeScope =
  /** One delivery of onSecretEvent handled the whole event: every cluster (or none was needed). */
  | { readonly kind: 'event' }
  /**
   * onSecretEvent published one message per cluster to `topic` and acked; nothing was reconciled
   * here. Each cluster reports its own outcome (scope `cluster`), in no particular order.
   */
  | { readonly kind: 'fanned-out'; readonly topic: string; readonly clusters: readonly string[] }
  /** onClusterEvent reconciled one cluster of a fanned-out event, from fan-out message `fanOutMessageId`. */
  | { readonly kind: 'cluster'; readonly cluster: string; readonly fanOutMessageId: string };

export interface EventOutcome {
  readonly event: {
    readonly type: SecretEventType;
    readonly secret?: string;
    readonly version?: string;
    readonly messageId?: string;
    readonly time?: string;
  };
  readonly scope: OutcomeScope;
  readonly dryRun: boolean;
  /** Why there was no cluster work at all (TOPIC_CONFIGURED, SECRET_ROTATE). */
  readonly note?: string;
  readonly workloads: WorkloadOutcome[];
  /** Clusters that could not be reached or listed this time (retried). */
  readonly clusterErrors: Array<{ cluster: string; error: string }>;
  readonly warnings: string[];
  /**
   * The failed rollouts that halted their namespaces (absent: none halted). Nothing more is acted
   * on there; in every namespace when the failure is in a canary namespace (core/waves.ts).
   */
  readonly halted?: readonly HaltCause[];
  /**
   * What the halt did (core/rollback.ts; absent: nothing halted). `rolled-back`: rotateSecret was
   * asked (message `request`) to restore the value before the halted version; its new version's
   * event moves the workloads that applied the bad one. `held`: halted for a person, and why.
   */
  readonly onHalt?: {
    readonly response: 'rolled-back' | 'held';
    readonly reason: string;
    readonly request?: string;
  };
  /** Still waiting or transiently failed: the event must be redelivered. */
  readonly pending: number;
  /**
   * Of `pending`: rollouts Rotor started for the event that have not finished yet (waves and the
   * brake). When it equals `pending`, everything has been acted on and only rollouts are awaited.
   */
  readonly awaitingRollouts: number;
  /** Everything is done, or given up on: ack. */
  readonly converged: boolean;
  readonly durationMs: number;
  /**
   * Set when the outcome was too big to publish whole (boundedOutcome): how many workload
   * outcomes and warnings are not in this message. Every count above is still complete.
   */
  readonly leftOut?: { readonly workloads: number; readonly warnings: number; readonly note: string };
}

/**
 * Pub/Sub refuses a message over 10 MB, and a refused outcome is retried until dead-lettered, so
 * every tenant's report for the event is lost. An outcome is published at most this big.
 */
export const OUTCOME_LIMIT_BYTES = 4 * 1024 * 1024;

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

/**
 * The outcome as published: whole when its JSON fits `limit` bytes; otherwise its workload
 * outcomes, then its warnings, in order while they fit, and `leftOut` says how many were left out.
 */
export function boundedOutcome(o: EventOutcome, limit: number = OUTCOME_LIMIT_BYTES): EventOutcome {
  if (jsonBytes(o) <= limit) return o;
  const leftOut = (workloads: number, warnings: number): NonNullable<EventOutcome['leftOut']> => ({
    workloads,
    warnings,
    note: `… ${workloads} of ${o.workloads.length} workload outcome(s) and ${warnings} of ${o.warnings.length} warning(s) left out: the outcome message is bounded to ${limit} bytes (the log has each workload's line)`,
  });
  // Room for everything else, with the widest note it can carry.
  let room =
    limit -
    jsonBytes({ ...o, workloads: [], warnings: [], leftOut: leftOut(o.workloads.length, o.warnings.length) });
  const keep = <T>(items: readonly T[]): T[] => {
    const kept: T[] = [];
    for (const item of items) {
      const cost = jsonBytes(item) + 1;
      if (cost > room) break;
      room -= cost;
      kept.push(item);
    }
    return kept;
  };
  const workloads = keep(o.workloads);
  const warnings = keep(o.warnings);
  return {
    ...o,
    workloads,
    warnings,
    leftOut: leftOut(o.workloads.length - workloads.length, o.warnings.length - warnings.length),
  };
}

/** What an outcome says of its event; its secret by project id (a notification may carry the number). */
export function outcomeEvent(
  event: {
    readonly type: SecretEventType;
    readonly secret?: SecretId;
    readonly version?: string;
    readonly time?: string;
  },
  messageId: string | undefined,
  projects: ProjectMap,
): EventOutcome['event'] {
  return {
    type: event.type,
    ...(event.secret ? { secret: secretKey(event.secret, projects) } : {}),
    ...(event.version !== undefined ? { version: event.version } : {}),
    ...(messageId ? { messageId } : {}),
    ...(event.time ? { time: event.time } : {}),
  };
}

/** The outcome of a delivery that reports no workload (no cluster work, or handed on): nothing pending. */
export function outcomeWithoutWorkloads(
  event: EventOutcome['event'],
  scope: OutcomeScope,
  dryRun: boolean,
  durationMs: number,
  note?: string,
): EventOutcome {
  return {
    event,
    scope,
    dryRun,
    ...(note ? { note } : {}),
    workloads: [],
    clusterErrors: [],
    warnings: [],
    pending: 0,
    awaitingRollouts: 0,
    converged: true,
    durationMs,
  };
}

export function summarize(o: EventOutcome): string {
  const counts = new Map<string, number>();
  for (const w of o.workloads) counts.set(w.result, (counts.get(w.result) ?? 0) + 1);
  const parts = [...counts.entries()].map(([r, n]) => `${n} ${r}`);
  const what =
    o.scope.kind === 'fanned-out'
      ? `fanned out to ${o.scope.clusters.length} cluster(s) on ${o.scope.topic}; each reports its own outcome`
      : parts.length
        ? parts.join(', ')
        : (o.note ?? 'no dependent workloads');
  const where = o.scope.kind === 'cluster' ? ` in ${o.scope.cluster}` : '';
  const halted = o.halted?.length
    ? `; HALTED on ${o.halted.map((h) => `${h.workload} (${h.reasons.join('; ')})`).join(', ')}`
    : '';
  const onHalt = o.onHalt?.response === 'rolled-back' ? `; ROLLED BACK: ${o.onHalt.reason}` : '';
  return `${o.event.type}${o.event.secret ? ` ${o.event.secret}` : ''}${o.event.version ? ` version ${o.event.version}` : ''}${where}: ${what}${o.clusterErrors.length ? `; ${o.clusterErrors.length} cluster(s) unreachable` : ''}${halted}${onHalt}`;
}

/**
 * A halted workload's outcome with what the halt did (core/rollback.ts onHalt's note) in its
 * reason, and so in its Halted Event. First, so that the Event's bounded note never cuts it off
 * behind a long list of failing pods.
 */
export function withHaltNote(o: WorkloadOutcome, note: string): WorkloadOutcome {
  return o.result === 'halted' ? { ...o, reason: `${note}; ${o.reason}` } : o;
}
