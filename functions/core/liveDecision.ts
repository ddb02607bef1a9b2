// The live decision: the decision table (decision.ts) with what only a live cluster knows — the
// readiness of the new version, the workload's own pods, whether it is paused, how long Rotor has
// waited — turned into exactly one thing for the executor to do. Pure: every input is a plain
// value (the clock and the wait bound included), so every rule here is a unit test.
//
//   table says      live state                                   live decision
//   none            -                                            none
//   record          -                                            record
//   restart         paused                                       skip
//   restart         -                                            restart
//   reload          no ready pod of its own, but pods wanted     wait (bounded)
//   reload          no pod at all and none wanted (scaled to 0)  record
//   reload          ready pods                                   reload (onFailure: restart, or report when paused)
//   wait            ESO synced once and never refreshes          never-synced (acked at once: no sync will come)
//   wait            waited longer than the bound (not dry-run)   give-up
//   wait            -                                            wait (force-sync the ExternalSecrets it waits on)
//   manual          -                                            manual (acked: a person approves, or replaces)
import type { Action, AppliedRecords, Decision, EventContext, ReloadEndpoint, WaitingFor } from './decision';
import { decide, describeVia } from './decision';
import type { Dependency, WorkloadDependencies } from './discovery';
import type { ForceSync } from './forceSync';
import type { SecretSyncNudge } from './secretSync';
import { secretSyncNudges } from './secretSync';
import { forceSyncTargets, waitStart } from './forceSync';
import type { KubeObject } from './kube';
import { isObject, str } from './kube';
import { isReadyPod } from './pods';
import { readinessCheck } from './readiness';
import type { ProjectMap } from './secretName';
import { isPaused, kindOf } from './workloadKinds';

export interface LiveInputs {
  /** DependencyIndex.keyOf(event.secret): keys rotor.dev/applied. */
  readonly secretKey: string;
  readonly projects: ProjectMap;
  /** ExternalSecrets by `namespace/name`, with status and annotations. */
  readonly externalSecrets: ReadonlyMap<string, KubeObject>;
  /** GKE SecretSyncs by `namespace/name`, with status. */
  readonly secretSyncs?: ReadonlyMap<string, KubeObject>;
  /** SecretProviderClassPodStatuses of the workload's namespace (when its decision can use them). */
  readonly spcPodStatuses: readonly KubeObject[];
  /** The workload's own pods, in any state (when it may reload; see ownedPods). */
  readonly pods: readonly KubeObject[];
  readonly dryRun: boolean;
  /** The clock (ms since the epoch). */
  readonly now: number;
  /** Give up waiting this long after the wait began (ms). */
  readonly maxWaitMs: number;
  /**
   * When the event's chain of deliveries started waiting (ms; core/converge.ts, waitClockOf): the
   * wait's bound runs from it (or from the event, if later). Only Rotor writes it; the force-sync
   * times on the objects waited on are tenant-writable and never move the bound.
   */
  readonly waitSince: number;
  /** The CSI driver's rotation interval (ms): the fallback evidence for pods without mount status. */
  readonly csiRotationIntervalMs?: number;
  /** The kubelet's sync period (ms): a reload of a synced Secret's volume waits for it (kubeletProjection.ts). */
  readonly kubeletSyncMs?: number;
  /** A person approved acting on this workload despite rotor.dev/on-rotate: manual. */
  readonly approved?: boolean;
}

interface Facts {
  readonly reason: string;
  readonly warning?: string;
}

/** What the executor does for one workload. One variant per action, each with exactly its fields. */
export type LiveDecision =
  | (Facts & { readonly action: 'restart'; readonly records: AppliedRecords; readonly at: string })
  | (Facts & {
      readonly action: 'reload';
      readonly endpoint: ReloadEndpoint;
      readonly pods: readonly KubeObject[];
      readonly records: AppliedRecords;
      /** When a pod does not take the ping: restart instead, or report the failure (paused). */
      readonly onFailure: { readonly restart: true; readonly at: string } | { readonly restart: false };
    })
  | (Facts & { readonly action: 'record'; readonly records: AppliedRecords })
  | (Facts & {
      readonly action: 'wait';
      readonly waitingFor: WaitingFor;
      /** ExternalSecrets to force-sync now. */
      readonly nudge: readonly ForceSync[];
      /** GKE SecretSyncs to force a synchronization of now (spec.forceSynchronization). */
      readonly forceSecretSyncs: readonly SecretSyncNudge[];
      /** When this wait is given up on (ms since the epoch). */
      readonly giveUpAt: number;
    })
  | (Facts & { readonly action: 'give-up'; readonly waitedMs: number })
  /** An ExternalSecret ESO will never refresh holds the old value: waiting cannot help. */
  | (Facts & { readonly action: 'never-synced' })
  | (Facts & { readonly action: 'skip' })
  | (Facts & { readonly action: 'manual'; readonly awaiting: 'approval' | 'replacement' })
  | (Facts & { readonly action: 'none' });

export type LiveReload = Extract<LiveDecision, { action: 'reload' }>;

export function decideLive(wd: WorkloadDependencies, event: EventContext, live: LiveInputs): LiveDecision {
  const readyPods = live.pods.filter(isReadyPod);
  const readiness = readinessCheck(
    {
      externalSecrets: live.externalSecrets,
      spcPodStatuses: live.spcPodStatuses,
      readyPods,
      ...(live.secretSyncs ? { secretSyncs: live.secretSyncs } : {}),
    },
    {
      ...(event.time ? { eventTime: event.time } : {}),
      projects: live.projects,
      now: live.now,
      ...(live.csiRotationIntervalMs !== undefined
        ? { csiRotationIntervalMs: live.csiRotationIntervalMs }
        : {}),
      ...(live.kubeletSyncMs !== undefined ? { kubeletSyncMs: live.kubeletSyncMs } : {}),
    },
  );
  return liveAction(
    wd,
    event,
    decide(wd, event, {
      secretKey: live.secretKey,
      readiness,
      ...(live.approved !== undefined ? { approved: live.approved } : {}),
    }),
    readyPods,
    live,
  );
}

function liveAction(
  wd: WorkloadDependencies,
  event: EventContext,
  d: Decision,
  readyPods: readonly KubeObject[],
  live: LiveInputs,
): LiveDecision {
  const at = new Date(live.now).toISOString();
  switch (d.action) {
    case 'none':
      return { action: 'none', reason: d.reason, ...(d.warning ? { warning: d.warning } : {}) };
    case 'record':
      return { action: 'record', reason: d.reason, records: d.records };
    case 'restart': {
      const warning = d.warning ? { warning: d.warning } : {};
      if (isPaused(wd.object))
        return {
          action: 'skip',
          reason: `${wd.ref.kind} is paused: Rotor leaves it alone (${d.reason})`,
          ...warning,
        };
      return { action: 'restart', reason: d.reason, records: d.records, at, ...warning };
    }
    case 'reload': {
      if (readyPods.length === 0) {
        // Nothing to ping. Pods that run but are not ready may be the ones the old credential broke:
        // they must get the new value, so wait for them. A workload that runs no pod has nobody
        // reading the old value; the next pods start with the new one.
        if (live.pods.length === 0 && !kindOf(wd.ref.kind).wantsPods(wd.object))
          return {
            action: 'record',
            reason: `${d.reason}; no pod of the ${wd.ref.kind} runs, so the next ones read the new version`,
            records: d.records,
          };
        const notReady = live.pods.length;
        return waitFor(
          event,
          d.affected,
          `reload waits: no ready pod of the ${wd.ref.kind} to POST to (${notReady} not ready)`,
          'pods',
          live,
        );
      }
      return {
        action: 'reload',
        reason: d.reason,
        endpoint: d.endpoint,
        pods: readyPods,
        records: d.records,
        onFailure: isPaused(wd.object) ? { restart: false } : { restart: true, at },
        ...(d.warning ? { warning: d.warning } : {}),
      };
    }
    case 'wait': {
      const stuck = neverSyncs(d.affected, live.externalSecrets);
      if (stuck)
        return {
          action: 'never-synced',
          reason: `${d.then} not done: ${stuck}`,
        };
      return waitFor(event, d.affected, d.reason, d.waitingFor, live);
    }
    case 'manual':
      return { action: 'manual', awaiting: d.awaiting, reason: d.reason };
  }
}

/**
 * Why an ExternalSecret the workload waits on will never bring the new version: ESO synced it once
 * and does not refresh it again (esoRefresh.ts), force-sync included. One that never synced yet
 * still gets its first sync, so it is waited for like any other.
 */
function neverSyncs(
  affected: readonly Dependency[],
  externalSecrets: ReadonlyMap<string, KubeObject>,
): string | undefined {
  for (const d of affected) {
    if (d.source.kind !== 'eso' || d.source.neverRefreshes === undefined) continue;
    const key = `${d.source.namespace}/${d.source.externalSecret}`;
    const es = externalSecrets.get(key);
    const status = es && isObject(es.status) ? es.status : {};
    const syncedAt = str(status.refreshTime);
    if (syncedAt === undefined) continue;
    return `ExternalSecret ${key} has ${d.source.neverRefreshes}: ESO does not refresh it after its first sync (at ${syncedAt}; force-sync included), so ${describeVia(d)} keeps the old value`;
  }
  return undefined;
}

/** A bounded wait: force the syncs worth forcing, or give up once the bound has passed. */
function waitFor(
  event: EventContext,
  affected: readonly Dependency[],
  reason: string,
  waitingFor: WaitingFor,
  live: LiveInputs,
): LiveDecision {
  const nudge = forceSyncTargets(affected, live.externalSecrets, event.time, live.now);
  const forceSecretSyncs = secretSyncNudges(
    affected.flatMap((d) =>
      d.source.kind === 'gke-sync' ? [`${d.source.namespace}/${d.source.secretSync}`] : [],
    ),
    live.secretSyncs ?? new Map(),
    event.time,
    live.now,
  );
  const started = waitStart({ eventTime: event.time, waitSince: live.waitSince });
  const giveUpAt = started + live.maxWaitMs;
  // A dry run asks ESO for nothing, so its waits never end: it reports them instead of giving up.
  if (!live.dryRun && live.now > giveUpAt) {
    return {
      action: 'give-up',
      reason: `never converged within ${Math.round(live.maxWaitMs / 1000)}s: ${reason}`,
      waitedMs: live.now - started,
    };
  }
  return { action: 'wait', reason, waitingFor, nudge, forceSecretSyncs, giveUpAt };
}

/** The action of the output contract (outcome messages) for what the executor does. */
export function outcomeAction(d: LiveDecision): Action {
  switch (d.action) {
    case 'record':
    case 'none':
      return 'none';
    case 'skip':
      return 'restart';
    case 'give-up':
    case 'never-synced':
    case 'wait':
      return 'wait';
    case 'restart':
    case 'reload':
    case 'manual':
      return d.action;
  }
}
