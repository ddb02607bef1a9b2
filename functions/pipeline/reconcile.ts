// One secret event against live clusters: discover, decide with live readiness, act, report.
// Reconcile-until-converged: everything that is ready is done now and recorded on the workload
// (rotor.dev/applied); what is still waiting is counted as pending so the caller can throw and
// let Pub/Sub redeliver. Redelivery re-runs this and finds finished work already recorded.
import * as annotations from '../core/annotations';
import type { Decision, EventContext } from '../core/decision';
import { decide } from '../core/decision';
import type { WorkloadDependencies } from '../core/discovery';
import { DependencyIndex } from '../core/discovery';
import { forcedSyncTime } from '../core/forcedSync';
import type { KubeObject } from '../core/kube';
import { isObject, str, workloadAnnotation } from '../core/kube';
import { isReadyPod, selectorOf } from '../core/pods';
import { readinessCheck } from '../core/readiness';
import type { ProjectMap } from '../core/secretName';
import { formatSecretId } from '../core/secretName';
import { TransientError, errorMessage } from '../errors';
import type { Logger } from '../log';
import {
  forceSync,
  getWorkload,
  isPaused,
  recordApplied,
  reloadPods,
  restartWorkload,
} from '../cluster/actions';
import type { KubeApi } from '../cluster/kubeApi';
import { KubeApiError, isConflict, isNotFound } from '../cluster/kubeApi';
import { liveInventory } from '../cluster/inventory';
import type { LiveInventory } from '../cluster/inventory';
import type { NamespaceFilter } from '../cluster/namespaces';
import { RESOURCES, listAll } from '../cluster/resources';
import { mapLimit } from '../concurrency';
import type { EventOutcome, WorkloadOutcome } from './outcome';

/** Conflicts are normal when many deliveries touch one workload; each retry re-decides. */
const MAX_CONFLICT_ATTEMPTS = 12;

export interface ReconcileConfig {
  readonly clusters: readonly KubeApi[];
  readonly projects: ProjectMap;
  readonly defaultProject?: string;
  readonly namespaces?: NamespaceFilter;
  readonly dryRun: boolean;
  /** Give up waiting for ESO / the CSI driver this long after the event (ms). */
  readonly maxWaitMs: number;
  readonly concurrency: number;
  readonly reload: { retries: number; backoffMs: number };
  readonly logger: Logger;
  readonly now?: () => Date;
}

export interface EventInfo {
  readonly messageId?: string;
}

export async function reconcileEvent(
  ctx: EventContext,
  info: EventInfo,
  cfg: ReconcileConfig,
): Promise<EventOutcome> {
  const started = Date.now();
  const workloads: WorkloadOutcome[] = [];
  const clusterErrors: Array<{ cluster: string; error: string }> = [];
  const warnings: string[] = [];
  let transient = 0;
  await Promise.all(
    cfg.clusters.map(async (api) => {
      try {
        const r = await reconcileCluster(api, ctx, cfg);
        workloads.push(...r.outcomes);
        transient += r.transient;
      } catch (e) {
        // The cluster could not be listed: nothing was decided there; retry the whole event.
        clusterErrors.push({ cluster: api.cluster, error: errorMessage(e) });
        cfg.logger.error(`cluster ${api.cluster}: ${errorMessage(e)}`, { cluster: api.cluster });
      }
    }),
  );
  for (const w of workloads) if (w.warning) warnings.push(`${w.kind} ${w.namespace}/${w.name}: ${w.warning}`);
  const waiting = workloads.filter((w) => w.result === 'waiting').length;
  const pending = waiting + transient + clusterErrors.length;
  return {
    event: {
      type: ctx.type,
      secret: formatSecretId({ ...ctx.secret, project: cfg.projects.canonical(ctx.secret.project) }),
      ...(ctx.version !== undefined ? { version: ctx.version } : {}),
      ...(info.messageId ? { messageId: info.messageId } : {}),
      ...(ctx.time ? { time: ctx.time } : {}),
    },
    dryRun: cfg.dryRun,
    workloads,
    clusterErrors,
    warnings,
    pending,
    converged: pending === 0,
    durationMs: Date.now() - started,
  };
}

async function reconcileCluster(
  api: KubeApi,
  ctx: EventContext,
  cfg: ReconcileConfig,
): Promise<{ outcomes: WorkloadOutcome[]; transient: number }> {
  const inventory = await liveInventory(api, cfg.namespaces ?? {});
  const log = cfg.logger.with({ cluster: api.cluster });
  const problems = new Set<string>();
  const indexOf = (inv: LiveInventory): DependencyIndex =>
    new DependencyIndex(inv, {
      projects: cfg.projects,
      ...(cfg.defaultProject ? { defaultProject: cfg.defaultProject } : {}),
      onProblem: (m) => problems.add(m),
    });
  const index = indexOf(inventory);
  const dependents = index.dependentsOf(ctx.secret);
  for (const p of problems) log.warn(p);
  const externalSecrets = new Map(
    inventory.externalSecrets.map((o) => [
      `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`,
      o,
    ]),
  );
  // SecretProviderClassPodStatuses, listed once per namespace that needs them.
  const statusCache = new Map<string, Promise<KubeObject[]>>();
  const podStatuses = (namespace: string): Promise<KubeObject[]> => {
    let p = statusCache.get(namespace);
    if (!p) {
      p = listAll(api, RESOURCES.spcPodStatuses, { namespace }).then((r) => r?.items ?? []);
      statusCache.set(namespace, p);
    }
    return p;
  };
  const env: WorkloadEnv = {
    api,
    ctx,
    cfg,
    externalSecrets,
    podStatuses,
    secretKey: index.keyOf(ctx.secret),
    log,
    nudged: new Set(),
  };

  let transient = 0;
  const outcomes = await mapLimit(dependents, cfg.concurrency, async (wd) => {
    let current = wd;
    // The action decided before a failure, so a failed outcome says what was being attempted.
    const attempted: { action: Decision['action'] } = { action: 'none' };
    for (let attempt = 1; ; attempt++) {
      try {
        try {
          return await handleWorkload(current, env, attempted);
        } catch (e) {
          if (!isConflict(e) || attempt >= MAX_CONFLICT_ATTEMPTS) throw e;
          // Someone else wrote the workload since we listed it (often another delivery of a
          // secret rotated in the same batch): back off a little, re-read, re-discover, re-decide.
          await new Promise((r) => setTimeout(r, Math.random() * 50 * attempt));
          let fresh: KubeObject;
          try {
            fresh = await getWorkload(api, wd.ref, wd.object);
          } catch (g) {
            if (isNotFound(g))
              return outcome(wd, 'none', 'unchanged', 'the workload was deleted while Rotor acted on it');
            throw g;
          }
          const again = indexOf({ ...inventory, workloads: [fresh] }).dependentsOf(ctx.secret)[0];
          if (!again)
            return outcome(
              wd,
              'none',
              'unchanged',
              'after a concurrent change the workload no longer depends on the secret',
            );
          current = again;
        }
      } catch (e) {
        // Every failure is this workload's outcome; none may abort the others mid-flight.
        const transientError = e instanceof TransientError || (e instanceof KubeApiError && e.transient);
        if (transientError) transient++;
        const message = errorMessage(e);
        log.error(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${message}`, { workload: wd.ref });
        return outcome(
          wd,
          attempted.action,
          'failed',
          transientError ? `transient failure, will retry: ${message}` : message,
        );
      }
    }
  });
  return { outcomes, transient };
}

interface WorkloadEnv {
  readonly api: KubeApi;
  readonly ctx: EventContext;
  readonly cfg: ReconcileConfig;
  readonly externalSecrets: ReadonlyMap<string, KubeObject>;
  readonly podStatuses: (namespace: string) => Promise<KubeObject[]>;
  readonly secretKey: string;
  readonly log: Logger;
  readonly nudged: Set<string>;
}

function outcome(
  wd: WorkloadDependencies,
  action: Decision['action'],
  result: WorkloadOutcome['result'],
  reason: string,
  extra: { warning?: string; detail?: string } = {},
): WorkloadOutcome {
  return {
    cluster: wd.ref.cluster,
    kind: wd.ref.kind,
    namespace: wd.ref.namespace,
    name: wd.ref.name,
    action,
    result,
    reason,
    ...(extra.warning ? { warning: extra.warning } : {}),
    ...(extra.detail ? { detail: extra.detail } : {}),
  };
}

async function readyPodsOf(api: KubeApi, wd: WorkloadDependencies): Promise<KubeObject[]> {
  const selector = selectorOf(wd.object);
  if (!selector) return [];
  const pods = await listAll(api, RESOURCES.pods, { namespace: wd.ref.namespace, labelSelector: selector });
  return (pods?.items ?? []).filter(isReadyPod);
}

async function handleWorkload(
  wd: WorkloadDependencies,
  env: WorkloadEnv,
  attempted: { action: Decision['action'] },
): Promise<WorkloadOutcome> {
  const { api, ctx, cfg, log } = env;
  const now = cfg.now ?? (() => new Date());
  // Live state costs requests, so read only what this workload's decision can use: ready pods
  // only when it may reload (to ping them, and to check the driver mounted the new version in
  // each); CSI pod statuses when it reads a CSI-synced Secret, or may reload a CSI mount. A restart
  // needs neither: new pods mount the volume afresh. (Reading them for every CSI workload cost two
  // lists per workload per event.)
  const mayReload = Boolean(workloadAnnotation(wd.object, annotations.RELOAD_ENDPOINT));
  const readsCsiSync = wd.dependencies.some((d) => d.source.kind === 'csi-sync');
  const mountsCsi = wd.dependencies.some((d) => d.source.kind === 'csi');
  const [readyPods, spcPodStatuses] = await Promise.all([
    mayReload ? readyPodsOf(api, wd) : Promise.resolve([]),
    readsCsiSync || (mountsCsi && mayReload) ? env.podStatuses(wd.ref.namespace) : Promise.resolve([]),
  ]);
  const readiness = readinessCheck(
    { externalSecrets: env.externalSecrets, spcPodStatuses, readyPods },
    { ...(ctx.time ? { eventTime: ctx.time } : {}), projects: cfg.projects },
  );
  const decision = decide(wd, ctx, { secretKey: env.secretKey, readiness });
  attempted.action = decision.action;
  const extra = decision.warning ? { warning: decision.warning } : {};
  if (decision.warning) log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${decision.warning}`);
  const write = { dryRun: cfg.dryRun };
  // Everything this action settles: one entry per secret version or moved alias.
  const records = decision.records ?? (decision.record ? [decision.record] : []);

  switch (decision.action) {
    case 'none': {
      if (decision.recordOnly && records.length > 0) {
        await recordApplied(api, wd.ref, wd.object, records, write);
        return outcome(wd, 'none', cfg.dryRun ? 'dry-run' : 'recorded', decision.reason, extra);
      }
      return outcome(wd, 'none', 'unchanged', decision.reason, extra);
    }
    case 'wait': {
      const synced = await nudgeExternalSecrets(decision, env, now);
      if (cfg.dryRun) {
        // Nothing was really asked of ESO, so waiting would never end: report what would happen.
        return outcome(wd, 'wait', 'dry-run', `would wait, then act: ${decision.reason}`, {
          ...extra,
          ...(synced.length ? { detail: `would force a sync of ExternalSecret ${synced.join(', ')}` } : {}),
        });
      }
      // The wait is measured from when Rotor started waiting: the event, or the sync it forced
      // later (a first delivery may come long after the event: a backlog, an outage, a replayed
      // dead letter), never from before Rotor could have asked.
      const started = Math.max(
        ctx.time ? Date.parse(ctx.time) : now().getTime(),
        synced.length ? now().getTime() : 0,
        lastForcedSync(decision, env, now().getTime()),
      );
      const age = now().getTime() - started;
      if (age > cfg.maxWaitMs) {
        log.error(
          `${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: gave up after ${Math.round(age / 1000)}s: ${decision.reason}`,
        );
        return outcome(
          wd,
          'wait',
          'gave-up',
          `never converged within ${Math.round(cfg.maxWaitMs / 1000)}s: ${decision.reason}`,
          extra,
        );
      }
      return outcome(wd, 'wait', 'waiting', decision.reason, {
        ...extra,
        ...(synced.length ? { detail: `forced a sync of ExternalSecret ${synced.join(', ')}` } : {}),
      });
    }
    case 'restart': {
      if (isPaused(wd.object)) {
        return outcome(
          wd,
          'restart',
          'skipped',
          `${wd.ref.kind} is paused: Rotor leaves it alone (${decision.reason})`,
          extra,
        );
      }
      await restartWorkload(api, wd.ref, wd.object, now().toISOString(), records, write);
      return outcome(wd, 'restart', cfg.dryRun ? 'dry-run' : 'restarted', decision.reason, extra);
    }
    case 'reload': {
      if (cfg.dryRun)
        return outcome(wd, 'reload', 'dry-run', decision.reason, {
          ...extra,
          detail: `would POST to ${readyPods.length} ready pod(s)`,
        });
      const results = await reloadPods(
        api,
        wd.ref.namespace,
        readyPods,
        decision.reloadEndpoint!,
        cfg.reload,
      );
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) {
        const cause = `reload failed on ${failed.map((f) => `${f.pod} (${f.error ?? 'error'})`).join(', ')}`;
        if (isPaused(wd.object))
          return outcome(
            wd,
            'reload',
            'failed',
            `${cause}; the ${wd.ref.kind} is paused, so no restart either`,
            extra,
          );
        log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${cause}; restarting instead`);
        await restartWorkload(api, wd.ref, wd.object, now().toISOString(), records, write);
        return outcome(wd, 'restart', 'restarted', `${cause}; restarted instead (${decision.reason})`, extra);
      }
      await recordApplied(api, wd.ref, wd.object, records, write);
      return outcome(wd, 'reload', 'reloaded', decision.reason, {
        ...extra,
        detail: results.length
          ? `reloaded ${results.length} pod(s): ${results.map((r) => r.pod).join(', ')}`
          : 'no ready pods to reload',
      });
    }
  }
}

/** When Rotor last forced a sync of an ExternalSecret this decision waits on (ms; 0 if never). */
function lastForcedSync(decision: Decision, env: WorkloadEnv, nowMs: number): number {
  let latest = 0;
  for (const d of decision.affected) {
    if (d.source.kind !== 'eso') continue;
    const forcedAt = env.externalSecrets.get(`${d.source.namespace}/${d.source.externalSecret}`)?.metadata
      ?.annotations?.[annotations.ESO_FORCE_SYNC];
    const t = forcedSyncTime(forcedAt, nowMs);
    if (t !== undefined && t > latest) latest = t;
  }
  return latest;
}

/** Forces an ESO sync for each ExternalSecret the decision waits on, once per event. */
async function nudgeExternalSecrets(
  decision: Decision,
  env: WorkloadEnv,
  now: () => Date,
): Promise<string[]> {
  const nudged: string[] = [];
  for (const d of decision.affected) {
    if (d.source.kind !== 'eso') continue;
    const key = `${d.source.namespace}/${d.source.externalSecret}`;
    const es = env.externalSecrets.get(key);
    // One nudge per ExternalSecret per delivery, however many workloads read its Secret.
    if (!es || env.nudged.has(key)) continue;
    env.nudged.add(key);
    const eventTime = env.ctx.time ? Date.parse(env.ctx.time) : undefined;
    const refreshTime = isObject(es.status) ? str(es.status.refreshTime) : undefined;
    // Synced after the event already (it is waiting on something else): nothing to ask ESO for.
    if (refreshTime && eventTime !== undefined && Date.parse(refreshTime) > eventTime) continue;
    const forcedAt = forcedSyncTime(es.metadata?.annotations?.[annotations.ESO_FORCE_SYNC], now().getTime());
    if (forcedAt !== undefined && eventTime !== undefined && forcedAt > eventTime) {
      // Forced after the event already. Until ESO answers, forcing again would only churn. But
      // refreshTime has whole seconds: an answer within the event's own second (a refresh at or
      // after the second we asked in) cannot prove it read the new version, and ESO will not sync
      // again by itself before its refreshInterval, so ask once more; that sync lands later.
      const answered =
        refreshTime !== undefined && Date.parse(refreshTime) >= Math.floor(forcedAt / 1000) * 1000;
      if (!answered) continue;
    }
    await forceSync(env.api, es, now().toISOString(), { dryRun: env.cfg.dryRun });
    nudged.push(key);
  }
  return nudged;
}
