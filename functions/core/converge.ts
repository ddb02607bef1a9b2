// The in-delivery loop: one delivery runs reconcile passes (discover → decide → act → report) one
// after another, waiting between them for a change on exactly what the last pass waits on, until
// the event is done or the delivery's budget (safely inside the function's timeout) is spent. Then
// work still pending is continued: a delivery that made progress publishes a continuation of the
// same event (its identity plus the next step) and acks, so the subscription's attempts count only
// deliveries that made no progress. Every choice of the loop is made here, purely; the shell
// (pipeline/converge.ts) runs passes, waits and publishes as told.
import type { WaitingFor } from './decision';
import type { DependencySource } from './discovery';
import type { PubsubMessage } from './event';
import type { KubeObject, WorkloadKind, WorkloadRef } from './kube';
import { isObject } from './kube';
import { kindOf } from './workloadKinds';

/** What one reconcile pass showed, as the loop needs it. */
export interface PassRecord {
  /** When the pass started and ended (epoch ms). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Items still to do (waits, rollouts in progress, transient failures). 0: the event is done. */
  readonly pending: number;
  /** Actions this pass performed: restarts, reloads, records, forced syncs. */
  readonly acted: number;
  /**
   * What the pass saw, in a form that changes when anything it reports changes (each workload's
   * result and reason, which carry a rollout's progress): a pass that differs from the one before
   * made progress even without acting (a rollout advanced, a sync arrived).
   */
  readonly fingerprint: string;
  /**
   * Pending items waiting only for a maintenance window, and when the first of those windows opens
   * (epoch ms). A delivery whose pending work is all such waits is on schedule, not stuck: it
   * sleeps until the window (or its budget) and is continued, never counted towards giving up.
   */
  readonly windows?: { readonly waiting: number; readonly opensAt: number };
  /**
   * Pending items waiting only for an earlier stage of clusters (core/clusterStages.ts). Those
   * waits are bounded on their own (ROTOR_STAGE_MAX_WAIT_SECONDS), and what they wait for moves
   * in other deliveries: a delivery with nothing else pending is on schedule too (it polls).
   */
  readonly stageWaits?: number;
}

export interface LoopSettings {
  /** The delivery's budget (ms from its start): no pass or wait starts that would end after it. */
  readonly budgetMs: number;
  /** The longest wait between passes without a change seen (a poll, for what no watch shows). */
  readonly pollMs: number;
  /** The shortest time between the starts of two passes: a burst of changes costs one pass. */
  readonly minIntervalMs: number;
  /**
   * How long another live delivery may take to report what it did (its pass ends, at the latest,
   * with its function's timeout): until then a concurrent delivery leaves that report to it.
   */
  readonly reportLeaseMs: number;
}

/**
 * Who reports an action another delivery took for this event, whose Kubernetes Event (the mark of
 * its report) is missing: an earlier delivery of this very message is over (Pub/Sub redelivers a
 * message only after its delivery ended or died), so its work is reported now; another delivery
 * (a duplicate notification, a continuation) may still be reporting it, so its report is waited
 * for until the lease has passed since the action, and only then taken over.
 */
export function reportOwner(
  action: { readonly delivery: string; readonly atMs: number },
  mine: string | undefined,
  now: number,
  leaseMs: number,
): 'report-now' | 'wait-for-it' {
  if (action.delivery === mine) return 'report-now';
  return Number.isFinite(action.atMs) && now - action.atMs < leaseMs ? 'wait-for-it' : 'report-now';
}

/** A continuation's place in its event: the event's identity and how many deliveries continued it. */
export interface ChainPosition {
  /** The event's identity: the original notification's message id. */
  readonly event: string;
  /** 0 for the notification itself; n for the n-th continuation. */
  readonly step: number;
  /** This delivery's own message id (a continuation's differs from the event's). */
  readonly delivery: string;
}

/** Where Rotor recorded a chain's action on a workload (rotor.dev/applied-by). */
export type ChainMark = ChainPosition;

export interface LoopState {
  /** When the delivery started (epoch ms). */
  readonly startedAt: number;
  readonly now: number;
  /** The passes run so far, in order (at least one). */
  readonly passes: readonly [PassRecord, ...PassRecord[]];
  readonly chain?: ChainPosition;
  /** Whether a continuation can be published (a topic is configured and the event has an identity). */
  readonly canContinue: boolean;
  /** Another delivery of this event that is further along (see supersededBy). */
  readonly superseded?: ChainMark;
  /**
   * This delivery started the chain's wait clock (it received none: see waitClockOf). Its
   * continuation is what carries the clock to later deliveries, so it continues the event even
   * without progress (once per chain: every continuation carries the clock).
   */
  readonly startsClock?: boolean;
}

export type LoopEnd =
  /** Nothing pending: ack. */
  | { readonly end: 'done'; readonly reason: string }
  /** Progress made, work left, budget spent: publish `next`, then ack. */
  | { readonly end: 'continue'; readonly next: ChainPosition; readonly reason: string }
  /** No progress in this delivery (or no way to continue): throw, so Pub/Sub redelivers. */
  | { readonly end: 'retry'; readonly reason: string }
  /** A later step of this event's chain is running: this duplicate acks and leaves it the work. */
  | { readonly end: 'stand-down'; readonly by: ChainMark; readonly reason: string }
  /** The chain reached MAX_CONTINUATION_STEP: ack, with the event left unfinished and said so. */
  | { readonly end: 'give-up'; readonly reason: string };

export type LoopStep =
  /** Wait for a change on what the pass waits on, at most until `untilMs`; start no pass before `notBeforeMs`. */
  | { readonly kind: 'wait'; readonly untilMs: number; readonly notBeforeMs: number }
  | { readonly kind: 'end'; readonly end: LoopEnd };

/** What to do after a pass. */
export function afterPass(state: LoopState, settings: LoopSettings): LoopStep {
  const last = state.passes[state.passes.length - 1] ?? state.passes[0];
  if (last.pending === 0) return end({ end: 'done', reason: passesDone(state.passes.length) });
  if (state.superseded)
    return end({
      end: 'stand-down',
      by: state.superseded,
      reason: `step ${state.superseded.step} of this event (delivery ${state.superseded.delivery}) is further along: this duplicate leaves it the work`,
    });
  const wait = nextWait(state, settings);
  return wait ?? end(budgetSpent(state));
}

/**
 * The next wait, if a wait and the pass after it both fit in the budget. A pass is assumed to take
 * as long as the longest one so far, so the delivery ends before its budget even if it has to run it.
 */
export function nextWait(state: LoopState, settings: LoopSettings): LoopStep | undefined {
  const deadline = state.startedAt + settings.budgetMs;
  const longestPass = Math.max(...state.passes.map((p) => p.endedAt - p.startedAt));
  const last = state.passes[state.passes.length - 1] ?? state.passes[0];
  const notBeforeMs = last.startedAt + settings.minIntervalMs;
  const latestPassStart = deadline - longestPass;
  if (Math.max(state.now, notBeforeMs) > latestPassStart) return undefined;
  // Waiting only for windows: nothing changes before one opens, so no poll before then.
  const wake = onlyWindows(last) ? Math.max(last.windows.opensAt, state.now) : state.now + settings.pollMs;
  return { kind: 'wait', untilMs: Math.min(wake, latestPassStart), notBeforeMs };
}

/** Whether everything a pass left pending waits for a maintenance window (the clock alone). */
export function onlyWindows(
  pass: PassRecord,
): pass is PassRecord & { readonly windows: { readonly waiting: number; readonly opensAt: number } } {
  return pass.pending > 0 && pass.windows !== undefined && pass.windows.waiting >= pass.pending;
}

/**
 * Whether everything a pass left pending waits for something bounded on its own that no delivery
 * of this chain can hurry: a maintenance window, or an earlier stage of clusters.
 */
export function onSchedule(pass: PassRecord): boolean {
  return pass.pending > 0 && (pass.windows?.waiting ?? 0) + (pass.stageWaits ?? 0) >= pass.pending;
}

/** The end of a delivery whose budget is spent with work still pending. */
export function budgetSpent(state: LoopState): LoopEnd {
  const last = state.passes[state.passes.length - 1] ?? state.passes[0];
  const pending = `${last.pending} item(s) pending`;
  if (
    !madeProgress(state.passes) &&
    !onSchedule(last) &&
    !(state.startsClock && state.canContinue && state.chain)
  )
    return {
      end: 'retry',
      reason: `${pending} and no progress in ${passesDone(state.passes.length)}: Pub/Sub redelivers (this counts towards the subscription's attempts)`,
    };
  if (!state.canContinue || !state.chain)
    return {
      end: 'retry',
      reason: `${pending} after progress, and no continuation topic: Pub/Sub redelivers`,
    };
  const next = continuationOf(state.chain);
  if (next.step > MAX_CONTINUATION_STEP)
    return {
      end: 'give-up',
      reason: `${pending} after ${MAX_CONTINUATION_STEP} continuations of the event: Rotor stops continuing it (a person continues with rotor apply)`,
    };
  if (!madeProgress(state.passes) && !onSchedule(last))
    return {
      end: 'continue',
      next,
      reason: `${pending} and no progress in ${passesDone(state.passes.length)}, but this delivery started the wait clock: continued as step ${next.step} of the event, which carries it`,
    };
  if (onSchedule(last) && !madeProgress(state.passes))
    return {
      end: 'continue',
      next,
      reason: `${pending}, ${onlyWindows(last) ? `waiting for a maintenance window (opens at ${new Date(last.windows.opensAt).toISOString()})` : 'waiting for an earlier stage of clusters'}: continued as step ${next.step} of the event`,
    };
  return {
    end: 'continue',
    next,
    reason: `${pending} after progress in ${passesDone(state.passes.length)}: continued as step ${next.step} of the event`,
  };
}

/**
 * Whether the delivery moved the event forward: a pass acted, or what a pass saw differs from the
 * pass before (a sync arrived, a rollout advanced). Only deliveries without progress count towards
 * giving up.
 */
export function madeProgress(passes: readonly PassRecord[]): boolean {
  return passes.some((p, i) => p.acted > 0 || (i > 0 && p.fingerprint !== passes[i - 1]?.fingerprint));
}

/** The continuation published after `chain`: the same event, the next step (its delivery is not known yet). */
export function continuationOf(chain: ChainPosition): ChainPosition {
  return { event: chain.event, step: chain.step + 1, delivery: '' };
}

/**
 * The chain that supersedes this delivery, if any, among the marks Rotor recorded for this event
 * on its workloads: one further along (a higher step), or a duplicate at the same step whose
 * delivery id sorts first (two copies of one step: exactly one goes on). Marks of other events,
 * and this delivery's own (its redeliveries share its id), never supersede it.
 */
export function supersededBy(mine: ChainPosition, marks: readonly ChainMark[]): ChainMark | undefined {
  let best: ChainMark | undefined;
  for (const m of marks) {
    if (m.event !== mine.event || m.delivery === mine.delivery) continue;
    if (m.step < mine.step || (m.step === mine.step && m.delivery > mine.delivery)) continue;
    if (!best || m.step > best.step || (m.step === best.step && m.delivery < best.delivery)) best = m;
  }
  return best;
}

/** A mark with where it was found: `cluster/namespace` of the workload that carries it. */
export interface PlacedMark {
  readonly place: string;
  readonly mark: ChainMark;
}

/**
 * The chain that supersedes this delivery everywhere it has work. A mark is an annotation on a
 * tenant's workload, and a tenant can copy the event's id into a forged one on its own workloads:
 * so one namespace's marks never stop the work of another. The delivery stands down only when
 * every `cluster/namespace` with a dependent in this pass carries a mark that supersedes it; the
 * least advanced of those is named. Anything less, and both chains go on (harmless: every action
 * is idempotent and each report has one owner), which is the safe side.
 */
export function supersededEverywhere(
  mine: ChainPosition,
  marks: readonly PlacedMark[],
  places: readonly string[],
): ChainMark | undefined {
  let weakest: ChainMark | undefined;
  for (const place of new Set(places)) {
    const by = supersededBy(
      mine,
      marks.filter((m) => m.place === place).map((m) => m.mark),
    );
    if (!by) return undefined;
    if (!weakest || by.step < weakest.step) weakest = by;
  }
  return weakest;
}

/** A continuation's Pub/Sub attributes: the event's identity, the step and the wait clock. */
export const CONTINUATION_EVENT_ATTRIBUTE = 'rotorEvent';
export const CONTINUATION_STEP_ATTRIBUTE = 'rotorStep';
export const CONTINUATION_WAIT_SINCE_ATTRIBUTE = 'rotorWaitSince';
/** How far before the event a continuation's wait clock may lie (the publisher's clock may differ). */
export const WAIT_CLOCK_SKEW_MS = 60_000;
/** Continuations of one event stop here: a healthy event never needs this many (docs/deploy.md). */
export const MAX_CONTINUATION_STEP = 10_000;

/**
 * The chain position of a received message: a continuation's attributes name its event and step;
 * a notification is step 0 of itself. Malformed continuation attributes are refused (acked with
 * an error by the caller), never guessed.
 */
export function chainOf(
  attributes: Readonly<Record<string, string>>,
  ids: { readonly event: string; readonly delivery: string },
): { readonly ok: true; readonly chain: ChainPosition } | { readonly ok: false; readonly problem: string } {
  const messageId = ids.delivery;
  const event = attributes[CONTINUATION_EVENT_ATTRIBUTE];
  const step = attributes[CONTINUATION_STEP_ATTRIBUTE];
  if (event === undefined && step === undefined)
    return { ok: true, chain: { event: ids.event, step: 0, delivery: messageId } };
  if (event === undefined || step === undefined)
    return {
      ok: false,
      problem: `a continuation needs both ${CONTINUATION_EVENT_ATTRIBUTE} and ${CONTINUATION_STEP_ATTRIBUTE}`,
    };
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(event))
    return { ok: false, problem: `${CONTINUATION_EVENT_ATTRIBUTE} is not a message id` };
  if (!/^[1-9][0-9]{0,5}$/.test(step) || Number(step) > MAX_CONTINUATION_STEP)
    return {
      ok: false,
      problem: `${CONTINUATION_STEP_ATTRIBUTE} "${step.slice(0, 20)}" is not a step from 1 to ${MAX_CONTINUATION_STEP}`,
    };
  return { ok: true, chain: { event, step: Number(step), delivery: messageId } };
}

/**
 * The chain's wait clock: when its first delivery started waiting (ms), the time every wait's bound
 * (ROTOR_MAX_WAIT_SECONDS) runs from. It lives in the continuation message (rotorWaitSince), which
 * only Rotor publishes, not in the force-sync times on ExternalSecrets and SecretSyncs, which a
 * tenant can rewrite to push the bound forward. `carried`: this delivery received the clock; a
 * delivery without one (a notification, a fan-out message, or their redelivery after a crash)
 * starts it at its own `now` and carries it on. A continuation's value is hostile input too: a
 * value that is not a time is refused (the clock starts now), and one is kept within [the event
 * minus WAIT_CLOCK_SKEW_MS, now]. `problem`: what was wrong with the value, to log.
 */
export interface WaitClock {
  readonly since: number;
  readonly carried: boolean;
  readonly problem?: string;
}

export function waitClockOf(
  attributes: Readonly<Record<string, string>>,
  chain: ChainPosition | undefined,
  eventTime: string | undefined,
  now: number,
): WaitClock {
  const value = attributes[CONTINUATION_WAIT_SINCE_ATTRIBUTE];
  // Only a continuation carries the clock: on a notification the attribute is not Rotor's.
  if (!chain || chain.step === 0 || value === undefined) return { since: now, carried: false };
  const since = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(since))
    return {
      since: now,
      carried: false,
      problem: `${CONTINUATION_WAIT_SINCE_ATTRIBUTE} "${value.slice(0, 40)}" is not a UTC time: the wait clock starts now`,
    };
  if (since > now)
    return {
      since: now,
      carried: true,
      problem: `${CONTINUATION_WAIT_SINCE_ATTRIBUTE} ${value} lies in the future: the wait clock starts now`,
    };
  const event = eventTime !== undefined ? Date.parse(eventTime) : Number.NaN;
  if (!Number.isNaN(event) && since < event - WAIT_CLOCK_SKEW_MS)
    return {
      since: event - WAIT_CLOCK_SKEW_MS,
      carried: true,
      problem: `${CONTINUATION_WAIT_SINCE_ATTRIBUTE} ${value} lies before the event (${eventTime}): the wait clock starts at the event`,
    };
  return { since, carried: true };
}

/** The attributes that make a message the continuation `next` (beside the notification's own). */
export function continuationAttributes(next: ChainPosition, waitSince: number): Record<string, string> {
  return {
    [CONTINUATION_EVENT_ATTRIBUTE]: next.event,
    [CONTINUATION_STEP_ATTRIBUTE]: String(next.step),
    [CONTINUATION_WAIT_SINCE_ATTRIBUTE]: new Date(waitSince).toISOString(),
  };
}

/**
 * The continuation of `received` (the message this delivery got: a notification, a fan-out
 * message or an earlier continuation) as step `next`: the same data and attributes, the chain's
 * attributes with the wait clock `waitSince` (waitClockOf), and the event's time kept as
 * `timestamp` when the original had none (its publish time would otherwise become the
 * continuation's).
 */
export function continuationMessage(
  received: PubsubMessage,
  next: ChainPosition,
  waitSince: number,
): { readonly data?: string; readonly attributes: Record<string, string> } {
  const time = received.attributes.timestamp ?? received.publishTime;
  return {
    ...(received.data !== undefined ? { data: received.data } : {}),
    attributes: {
      ...received.attributes,
      ...(time !== undefined ? { timestamp: time } : {}),
      ...continuationAttributes(next, waitSince),
    },
  };
}

function end(e: LoopEnd): LoopStep {
  return { kind: 'end', end: e };
}

function passesDone(n: number): string {
  return n === 1 ? '1 pass' : `${n} passes`;
}

/**
 * An object (or, without a name, every object of a resource in a namespace) whose change can let
 * the next pass act: what a pass waits on. `resourceVersion`: the version the pass saw, so a watch
 * from it misses nothing that changed since (absent: the collection's version when the wait starts).
 */
export type WatchTarget = {
  readonly cluster: string;
  readonly namespace: string;
  readonly name?: string;
  readonly resourceVersion?: string;
} & (
  | { readonly resource: 'workload'; readonly kind: WorkloadKind }
  | { readonly resource: 'external-secret' | 'secret-sync' | 'spc-pod-status' | 'pod' }
);

/**
 * The resourceVersions a pass read what it waits on at: a watch from one of them delivers every
 * change since the pass read it, so a change between the pass and the watch's start (an ESO sync,
 * a CSI rotation, a pod becoming ready) ends the wait at once instead of at the next poll.
 */
export interface SeenVersions {
  /** The workload itself. */
  readonly workload?: string;
  /** ExternalSecrets and SecretSyncs by `namespace/name`, as the pass read them. */
  readonly externalSecrets?: ReadonlyMap<string, string>;
  readonly secretSyncs?: ReadonlyMap<string, string>;
  /** The pass's list of the workload's namespace's CSI pod statuses, and of its pods. */
  readonly spcPodStatuses?: string;
  readonly pods?: string;
}

/** What a dependent's outcome waits on, as watch targets, each from the version the pass saw. */
export function watchTargetsOf(
  ref: WorkloadRef,
  seen: SeenVersions,
  waiting: WaitingFor | 'acted' | undefined,
  sources: readonly DependencySource[],
): WatchTarget[] {
  const at = { cluster: ref.cluster, namespace: ref.namespace };
  const from = (v: string | undefined) => (v ? { resourceVersion: v } : {});
  switch (waiting) {
    case undefined:
    case 'report':
    case 'wave':
    case 'window':
    case 'kubelet':
    case 'stage':
      // A wave waits on earlier waves' rollouts (targets of their own). A report is due from another
      // delivery: its Event is polled for. A window and the kubelet's sync (kubeletProjection.ts)
      // wait on the clock alone: the poll re-passes. A stage waits on the earlier stage's
      // workloads: targets of their own in one delivery, polled across fan-out.
      return [];
    case 'acted':
    case 'rollout':
      return [
        {
          ...at,
          resource: 'workload',
          kind: ref.kind,
          name: ref.name,
          ...from(seen.workload),
        },
      ];
    case 'eso':
      return sources.flatMap((s): WatchTarget[] =>
        s.kind === 'eso'
          ? [
              {
                ...at,
                namespace: s.namespace,
                resource: 'external-secret',
                ...(s.externalSecret
                  ? {
                      name: s.externalSecret,
                      ...from(seen.externalSecrets?.get(`${s.namespace}/${s.externalSecret}`)),
                    }
                  : {}),
              },
            ]
          : [],
      );
    case 'gke-sync':
      return sources.flatMap((s): WatchTarget[] =>
        s.kind === 'gke-sync'
          ? [
              {
                ...at,
                namespace: s.namespace,
                resource: 'secret-sync',
                ...(s.secretSync
                  ? { name: s.secretSync, ...from(seen.secretSyncs?.get(`${s.namespace}/${s.secretSync}`)) }
                  : {}),
              },
            ]
          : [],
      );
    case 'csi':
      return [{ ...at, resource: 'spc-pod-status', ...from(seen.spcPodStatuses) }];
    case 'group':
      // The other secrets of the group reach the workload through syncs of the kinds it already
      // reads: the namespace's ones of those kinds are watched (the bound is on the clock).
      return [
        ...(sources.some((s) => s.kind === 'eso') ? [{ ...at, resource: 'external-secret' } as const] : []),
        ...(sources.some((s) => s.kind === 'gke-sync') ? [{ ...at, resource: 'secret-sync' } as const] : []),
        ...(sources.some((s) => s.kind === 'csi-sync')
          ? [{ ...at, resource: 'spc-pod-status' } as const]
          : []),
      ];
    case 'pods':
      return [{ ...at, resource: 'pod', ...from(seen.pods) }];
  }
}

/**
 * A watch to open (watchGroups): what it watches, and for a namespace watch of several named
 * workloads, their names (`awaited`): the namespace's other workloads are not waited on.
 */
export type WatchGroup = WatchTarget & { readonly awaited?: readonly string[] };

/**
 * The watches to open for `targets`: one per object; where a namespace has several objects of one
 * resource, one watch of the namespace's resource instead; at most `max` (when more are needed, the
 * wait is a poll: the next pass lists anyway). A group is watched from its resourceVersion when all
 * its targets share it (resourceVersions are opaque: never compared); otherwise from the current one.
 */
export function watchGroups(targets: readonly WatchTarget[], max: number): WatchGroup[] {
  const groups = new Map<string, WatchTarget[]>();
  for (const t of targets) {
    const key = [t.cluster, t.resource, t.resource === 'workload' ? t.kind : '', t.namespace].join('\u0000');
    const g = groups.get(key);
    if (g) g.push(t);
    else groups.set(key, [t]);
  }
  const out: WatchGroup[] = [];
  for (const g of groups.values()) {
    const first = g[0];
    if (!first) continue;
    const names = new Set(g.map((t) => t.name));
    // One version for the whole group (one object, or one list of the namespace): watched from it.
    const sameVersion = g.every((t) => t.resourceVersion === first.resourceVersion);
    if (names.size === 1 && first.name !== undefined)
      out.push(sameVersion ? first : loosened(first, 'object'));
    else if (names.size === 1 && sameVersion) out.push(first);
    else {
      const { name: _one, ...namespace } = first;
      const base = sameVersion ? namespace : loosened(first, 'namespace');
      const awaited = [...names].filter((n): n is string => n !== undefined).sort();
      // Workloads waited on by name: only their changes are awaited (wakesPass).
      out.push(first.resource === 'workload' && !names.has(undefined) ? { ...base, awaited } : base);
    }
  }
  return out.length > max ? [] : out;
}

/** A watch event as the API server streams it: hostile input, its shape checked where it is read. */
export interface WatchEvent {
  readonly type?: unknown;
  readonly object?: unknown;
}

/**
 * Whether a watch event can change what the next pass decides, so that it wakes one. A workload
 * Rotor waits on is waited on for the end of its rollout: finished, failed, or no longer rolled by
 * its controller; or for the object going away or appearing. A rollout that advances (a replica
 * updated, ready, available: several status writes per rollout) changes only the progress text of
 * the pass's reason, and a pass costs a full discovery: it wakes none. Nor does a change of another
 * workload of the namespace (a namespace watch of several workloads: `awaited`). Any change of the
 * other things a pass waits on (a sync's status, the CSI driver's pod statuses, pods) wakes one. A
 * watch that lost its place (ERROR: 410 Gone) wakes one too: the pass lists afresh. A crash loop
 * shows in pods, not in the workload's status: the next pass finds it, at the latest one poll
 * (LoopSettings.pollMs) after the wait began; so does a new dependent.
 */
export function wakesPass(group: WatchGroup, event: WatchEvent): boolean {
  if (event.type === 'ERROR') return true;
  if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return false;
  if (group.resource !== 'workload') return true;
  const object = isObject(event.object) ? (event.object as KubeObject) : undefined;
  const name = object?.metadata?.name;
  if (group.awaited && !(typeof name === 'string' && group.awaited.includes(name))) return false;
  if (event.type !== 'MODIFIED' || !object) return true;
  return kindOf(group.kind).rollout(object).state !== 'progressing';
}

/** The target without its resourceVersion (the wait starts at the current one), for the object or the namespace. */
function loosened(t: WatchTarget, scope: 'object' | 'namespace'): WatchTarget {
  const { resourceVersion: _seen, name, ...rest } = t;
  return scope === 'object' && name !== undefined ? { ...rest, name } : rest;
}
