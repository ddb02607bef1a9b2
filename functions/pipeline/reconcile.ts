// One secret event against live clusters: discover, decide with live readiness, act, report.
// Reconcile-until-converged: everything that is ready is done now and recorded on the workload
// (rotor.dev/applied); what is still waiting is counted as pending so the caller can throw and
// let Pub/Sub redeliver. Redelivery re-runs this and finds finished work already recorded.
import * as annotations from '../core/annotations';
import type { Action, EventContext, WaitingFor } from '../core/decision';
import type { WorkloadDependencies } from '../core/discovery';
import { DependencyIndex } from '../core/discovery';
import type { KubeObject } from '../core/kube';
import type { LiveDecision } from '../core/liveDecision';
import { decideLive, outcomeAction } from '../core/liveDecision';
import { ownedPods, selectorOf } from '../core/pods';
import { afterReload } from '../core/reloadResult';
import { kindOf, workloadAnnotation } from '../core/workloadKinds';
import type { ProjectMap } from '../core/secretName';
import { formatSecretId } from '../core/secretName';
import { errorMessage, isTransient } from '../errors';
import type { Logger } from '../log';
import { forceSync, getWorkload, recordApplied, reloadPods, restartWorkload } from '../cluster/actions';
import type { KubeApi } from '../cluster/kubeApi';
import { isConflict, isNotFound } from '../cluster/kubeApi';
import { liveInventory } from '../cluster/inventory';
import type { LiveInventory } from '../cluster/inventory';
import type { NamespaceFilter } from '../cluster/namespaces';
import { RESOURCES, listAll, podOwnerResource } from '../cluster/resources';
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
  /** Clusters reconciled at once (ROTOR_CLUSTER_CONCURRENCY); unset: one at a time. */
  readonly clusterConcurrency?: number;
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
  // A bounded number of clusters at once, each independent of the others: memory holds that many
  // clusters' dependents, and a slow or unreachable cluster takes one slot (until its requests
  // time out) while the others go on through the rest. Outcomes are in cluster order.
  const perCluster = await mapLimit(cfg.clusters, cfg.clusterConcurrency ?? 1, async (api) => {
    try {
      return await reconcileCluster(api, ctx, cfg);
    } catch (e) {
      // The cluster could not be listed: nothing was decided there; retry the whole event.
      clusterErrors.push({ cluster: api.cluster, error: errorMessage(e) });
      cfg.logger.error(`cluster ${api.cluster}: ${errorMessage(e)}`, { cluster: api.cluster });
      return { outcomes: [], transient: 0 };
    }
  });
  for (const r of perCluster) {
    workloads.push(...r.outcomes);
    transient += r.transient;
  }
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
  // Only the workloads that can depend on the event's secret are kept: memory follows dependents.
  const inventory = await liveInventory(api, cfg.namespaces ?? {}, {
    kind: 'secret',
    secret: ctx.secret,
    projects: cfg.projects,
    ...(cfg.defaultProject ? { defaultProject: cfg.defaultProject } : {}),
  });
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
    for (let attempt = 1; ; attempt++) {
      try {
        try {
          return await handleWorkload(current, env);
        } catch (e) {
          if (!isConflict(causeOf(e)) || attempt >= MAX_CONFLICT_ATTEMPTS) throw e;
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
        // Every failure is this workload's outcome; none may abort the others mid-flight. It names
        // the action that was being performed (none when deciding itself failed).
        const cause = causeOf(e);
        const transientError = isTransient(cause);
        if (transientError) transient++;
        const message = errorMessage(cause);
        log.error(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${message}`, { workload: wd.ref });
        return outcome(
          wd,
          e instanceof ActionFailed ? e.action : 'none',
          'failed',
          transientError ? `transient failure, will retry: ${message}` : message,
        );
      }
    }
  });
  return { outcomes, transient };
}

/** A failure while performing a decision: carries the action, so the outcome can name it. */
class ActionFailed extends Error {
  constructor(
    readonly action: Action,
    override readonly cause: unknown,
  ) {
    super(errorMessage(cause));
  }
}

function causeOf(e: unknown): unknown {
  return e instanceof ActionFailed ? e.cause : e;
}

interface WorkloadEnv {
  readonly api: KubeApi;
  readonly ctx: EventContext;
  readonly cfg: ReconcileConfig;
  readonly externalSecrets: ReadonlyMap<string, KubeObject>;
  readonly podStatuses: (namespace: string) => Promise<KubeObject[]>;
  readonly secretKey: string;
  readonly log: Logger;
  /** ExternalSecrets force-synced in this delivery: one patch each, however many workloads wait on it. */
  readonly nudged: Set<string>;
}

function outcome(
  wd: WorkloadDependencies,
  action: Action,
  result: WorkloadOutcome['result'],
  reason: string,
  extra: { warning?: string; detail?: string; waitingFor?: WaitingFor } = {},
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
    ...(extra.waitingFor ? { waitingFor: extra.waitingFor } : {}),
  };
}

/** The workload's own pods (by controller owner references), in any state. */
async function ownPodsOf(api: KubeApi, wd: WorkloadDependencies): Promise<KubeObject[]> {
  const { podOwner } = kindOf(wd.ref.kind);
  // The selector narrows the lists; ownership decides. A CronJob has none: its namespace is listed.
  const selector = selectorOf(wd.object);
  const where = { namespace: wd.ref.namespace, ...(selector ? { labelSelector: selector } : {}) };
  const [pods, owners] = await Promise.all([
    listAll(api, RESOURCES.pods, where),
    podOwner.via === 'intermediate' ? listAll(api, podOwnerResource(podOwner), where) : undefined,
  ]);
  return ownedPods(
    wd.object,
    pods?.items ?? [],
    podOwner.via === 'intermediate' ? (owners?.items ?? []) : undefined,
  );
}

/** Reads the live state the workload's decision can use, decides, and performs the decision. */
async function handleWorkload(wd: WorkloadDependencies, env: WorkloadEnv): Promise<WorkloadOutcome> {
  const { api, ctx, cfg } = env;
  const now = cfg.now ?? (() => new Date());
  // Live state costs requests, so read only what this workload's decision can use: its pods only
  // when it may reload (to ping them, and to check the driver mounted the new version in each);
  // CSI pod statuses when it reads a CSI-synced Secret, or may reload a CSI mount. A restart
  // needs neither: new pods mount the volume afresh. (Reading them for every CSI workload cost two
  // lists per workload per event.)
  const mayReload = Boolean(workloadAnnotation(wd.object, annotations.RELOAD_ENDPOINT));
  const readsCsiSync = wd.dependencies.some((d) => d.source.kind === 'csi-sync');
  const mountsCsi = wd.dependencies.some((d) => d.source.kind === 'csi');
  const [pods, spcPodStatuses] = await Promise.all([
    mayReload ? ownPodsOf(api, wd) : Promise.resolve([]),
    readsCsiSync || (mountsCsi && mayReload) ? env.podStatuses(wd.ref.namespace) : Promise.resolve([]),
  ]);
  const decision = decideLive(wd, ctx, {
    secretKey: env.secretKey,
    projects: cfg.projects,
    externalSecrets: env.externalSecrets,
    spcPodStatuses,
    pods,
    dryRun: cfg.dryRun,
    now: now().getTime(),
    maxWaitMs: cfg.maxWaitMs,
  });
  if (decision.warning)
    env.log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${decision.warning}`);
  try {
    return await perform(wd, decision, env);
  } catch (e) {
    throw new ActionFailed(outcomeAction(decision), e);
  }
}

/** Does what the decision says, and reports it. No policy here: decideLive made every choice. */
async function perform(
  wd: WorkloadDependencies,
  decision: LiveDecision,
  env: WorkloadEnv,
): Promise<WorkloadOutcome> {
  const { api, cfg, log } = env;
  const action = outcomeAction(decision);
  const extra = decision.warning ? { warning: decision.warning } : {};
  const write = { dryRun: cfg.dryRun };
  const done = (result: WorkloadOutcome['result']): WorkloadOutcome['result'] =>
    cfg.dryRun ? 'dry-run' : result;
  switch (decision.action) {
    case 'none':
      return outcome(wd, action, 'unchanged', decision.reason, extra);
    case 'skip':
      return outcome(wd, action, 'skipped', decision.reason, extra);
    case 'record':
      await recordApplied(api, wd.ref, wd.object, decision.records, write);
      return outcome(wd, action, done('recorded'), decision.reason, extra);
    case 'restart':
      await restartWorkload(api, wd.ref, wd.object, decision.at, decision.records, write);
      return outcome(wd, action, done('restarted'), decision.reason, extra);
    case 'give-up':
      log.error(
        `${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: gave up after ${Math.round(decision.waitedMs / 1000)}s: ${decision.reason}`,
      );
      return outcome(wd, action, 'gave-up', decision.reason, extra);
    case 'wait': {
      const synced: string[] = [];
      for (const n of decision.nudge) {
        if (env.nudged.has(n.key)) continue;
        env.nudged.add(n.key);
        await forceSync(api, n.externalSecret, n.at, write);
        synced.push(n.key);
      }
      const forced = synced.length ? `force a sync of ExternalSecret ${synced.join(', ')}` : undefined;
      // A dry run asked ESO for nothing, so waiting would never end: it reports what would happen.
      if (cfg.dryRun)
        return outcome(wd, action, 'dry-run', `would wait, then act: ${decision.reason}`, {
          ...extra,
          waitingFor: decision.waitingFor,
          ...(forced ? { detail: `would ${forced}` } : {}),
        });
      return outcome(wd, action, 'waiting', decision.reason, {
        ...extra,
        waitingFor: decision.waitingFor,
        ...(synced.length ? { detail: `forced a sync of ExternalSecret ${synced.join(', ')}` } : {}),
      });
    }
    case 'reload': {
      if (cfg.dryRun)
        return outcome(wd, action, 'dry-run', decision.reason, {
          ...extra,
          detail: `would POST to ${decision.pods.length} ready pod(s)`,
        });
      const pings = await reloadPods(api, wd.ref.namespace, decision.pods, decision.endpoint, cfg.reload);
      const after = afterReload(decision, wd.ref.kind, pings);
      switch (after.kind) {
        case 'reloaded':
          await recordApplied(api, wd.ref, wd.object, decision.records, write);
          return outcome(wd, action, 'reloaded', decision.reason, { ...extra, detail: after.detail });
        case 'failed':
          return outcome(wd, action, 'failed', after.reason, extra);
        case 'restart':
          log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${after.cause}; restarting instead`);
          await restartWorkload(api, wd.ref, wd.object, after.at, decision.records, write);
          return outcome(wd, 'restart', 'restarted', after.reason, extra);
      }
    }
  }
}
