// One secret event against live clusters: discover, decide with live readiness, act, report.
// Reconcile-until-converged: everything that is ready is done now and recorded on the workload
// (rotor.dev/applied); what is still waiting is counted as pending so the caller can throw and
// let Pub/Sub redeliver. Redelivery re-runs this and finds finished work already recorded.
// Per workload: read the live state its decision can use, decideLive (core/liveDecision.ts: every
// choice is made there, purely), then perform: a switch over the decision's variants, no policy.
import * as annotations from '../core/annotations';
import type { Action, EventContext, WaitingFor } from '../core/decision';
import type { WorkloadDependencies } from '../core/discovery';
import { DependencyIndex, appliedVersions } from '../core/discovery';
import { rollbackStep } from '../core/rollback';
import type { KubeObject, WorkloadRef } from '../core/kube';
import type { LiveDecision } from '../core/liveDecision';
import { decideLive, outcomeAction } from '../core/liveDecision';
import { ownedPods, selectorOf } from '../core/pods';
import { afterReload } from '../core/reloadResult';
import type { WindowPolicy } from '../core/restartGate';
import { gateDecision, windowsFor } from '../core/restartGate';
import type { ClusterProgress, StageGate, StagedCluster } from '../core/clusterStages';
import type { PassResult } from '../core/clusterStages';
import {
  clusterProgress,
  dependentState,
  gateByStage,
  stageGate,
  stagesInOrder,
} from '../core/clusterStages';
import type { HealthInputs, RolloutHealth } from '../core/rolloutHealth';
import { rolloutHealth } from '../core/rolloutHealth';
import type { WavePlan, WaveStep } from '../core/waves';
import { appliedForEvent, planWaves, rolloutToJudge, waveIntent, waveOf } from '../core/waves';
import type { WaveSettings } from '../config';
import type { EventSource } from '../core/kubeEvents';
import { workloadEvent } from '../core/kubeEvents';
import type { AppliedBy, Delivery } from '../core/appliedBy';
import { chainMarkOf, describeAppliedBy } from '../core/appliedBy';
import type { ChainPosition, PlacedMark, WatchTarget } from '../core/converge';
import { reportOwner, watchTargetsOf } from '../core/converge';
import type { KnownEvents } from '../cluster/events';
import { createEvent, eventExists } from '../cluster/events';
import { kindOf, workloadAnnotation } from '../core/workloadKinds';
import type { ProjectMap, SecretId } from '../core/secretName';
import { secretKey } from '../core/secretName';
import { errorMessage, isTransient } from '../errors';
import type { Logger } from '../log';
import type { ForceSync } from '../core/forceSync';
import { forceSyncTarget } from '../core/forceSync';
import {
  forceSync,
  forceSyncClusterExternalSecret,
  forceSecretSync,
  getWorkload,
  namespaceAnnotation,
  recordApplied,
  reloadPods,
  restartWorkload,
} from '../cluster/actions';
import type { KubeApi } from '../cluster/kubeApi';
import { KubeApiError, isConflict, isNotFound } from '../cluster/kubeApi';
import { sharedDiscovery } from '../cluster/sharedDiscovery';
import type { LiveInventory } from '../cluster/inventory';
import { listVersionOf } from '../cluster/inventory';
import type { NamespaceFilter } from '../cluster/namespaces';
import { namespaceMatcher } from '../cluster/namespaces';
import { listAll } from '../cluster/listing';
import { RESOURCES, podOwnerResource } from '../cluster/resources';
import { mapLimit } from '../concurrency';
import type { EventOutcome, HaltCause, OutcomeScope, Result, WorkloadOutcome } from '../core/outcome';
import type { GroupPolicy } from '../core/secretGroups';
import type { OtherSecret, SecretFacts } from './secretGroups';
import { withinGroup } from './secretGroups';
import { outcomeEvent } from '../core/outcome';

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
  /**
   * Waves and the brake (core/waves.ts); unset: every restart at once, never halted (the
   * benchmark's raw throughput). Dry runs do not gate: nothing they "restart" ever rolls out.
   */
  readonly waves?: WaveSettings;
  /**
   * Kubernetes Events on the workloads acted on, waited for or halted on, reported as `instance`
   * (this function instance, or a CLI run); unset: none. Dry runs create none.
   */
  readonly events?: {
    readonly instance: string;
    /** The Events this instance created or found (a warm instance's redelivery skips them). */
    readonly known?: KnownEvents;
  };
  readonly logger: Logger;
  readonly now?: () => Date;
  /** The CSI driver's rotation interval (config.ts): a reload's evidence when pods have no mount status. */
  readonly csiRotationIntervalMs?: number;
  /** The kubelet's sync period (config.ts): a reload of a Secret volume waits for its sync. */
  readonly kubeletSyncMs?: number;
  /**
   * How long another delivery's unreported action is left for it to report (core/converge.ts,
   * reportOwner); unset: 0, every unreported action is reported at once.
   */
  readonly reportLeaseMs?: number;
  /** Workloads a person approved acting on despite rotor.dev/on-rotate: manual (`rotor apply --workload`). */
  readonly approve?: (ref: WorkloadRef) => boolean;
  /** Maintenance windows (core/restartGate.ts); unset: restarts at any time, no Namespace read. */
  readonly windows?: WindowPolicy;
  /**
   * One restart for related secrets (core/secretGroups.ts), with what Secret Manager says of a
   * secret (pipeline/secretGroups.ts secretFactsReader: one per delivery, so every pass and
   * cluster shares its reads); either unset: a restart per secret.
   */
  readonly groups?: GroupPolicy;
  readonly secretFacts?: (id: SecretId) => Promise<SecretFacts | undefined>;
  /** Cluster stages (core/clusterStages.ts); unset: every cluster at once. */
  readonly stages?: StageSettings;
}

export interface StageSettings {
  /** Every configured cluster (`api.cluster`) with its stage: the fleet the gates read. */
  readonly fleet: readonly StagedCluster[];
  /**
   * Clusters of earlier stages that this pass only observes, never acts on (fan-out: their own
   * deliveries act there): their dependents are reconciled read-only, for the gates' evidence.
   */
  readonly observe?: readonly KubeApi[];
  /** ROTOR_STAGE_MAX_WAIT_SECONDS, in ms. */
  readonly maxWaitMs: number;
}

/** What this pass does in a cluster: act, under its stage gate, or only observe (an earlier stage). */
type ClusterRole = { readonly kind: 'act'; readonly gate: StageGate } | { readonly kind: 'observe' };

const ACT: ClusterRole = { kind: 'act', gate: { kind: 'go' } };

export interface EventInfo {
  /** The event's identity: the notification's message id (a continuation carries it too). */
  readonly messageId?: string;
  /** Which delivery of the event's chain this is (core/converge.ts); absent: step 0. */
  readonly chain?: ChainPosition;
  /**
   * Without a message (a CLI run): this run's own id, recorded in rotor.dev/applied-by so the run
   * believes the records it wrote itself (core/appliedBy.ts, trustedAppliedBy).
   */
  readonly runId?: string;
  /** Which part of the event cfg.clusters are (fan-out); absent: the whole event. */
  readonly scope?: OutcomeScope;
  /**
   * The chain's wait clock (epoch ms, core/converge.ts: waitClockOf): every wait's bound runs from
   * it. Absent: the pass's own start (a run that waits in-process keeps it across its passes).
   */
  readonly waitSince?: number;
}

export async function reconcileEvent(
  ctx: EventContext,
  info: EventInfo,
  cfg: ReconcileConfig,
): Promise<EventOutcome> {
  return reconcileAndReport(ctx, info, cfg, () => Promise.resolve());
}

/**
 * Reconciles, has `report` publish the outcome, and only then creates the Kubernetes Events. The
 * Events are the ledger of what was reported: a delivery that crashed (or failed to publish)
 * after acting leaves no Event, so its redelivery reports that work (rotor.dev/applied-by) as done;
 * a delivery that did report leaves the Event, and its redelivery stays quiet. If `report` throws,
 * no Event is created and the error propagates.
 */
export async function reconcileAndReport(
  ctx: EventContext,
  info: EventInfo,
  cfg: ReconcileConfig,
  report: Reporter,
): Promise<EventOutcome> {
  const pass = await reconcilePass(ctx, info, cfg);
  await pass.report(report);
  return pass.outcome;
}

/**
 * Reports a pass's outcome (publishes, logs); returns the outcome as reported when it added to it
 * (onSecretEvent: what a halt did), which the pass's Kubernetes Events then say.
 */
export type Reporter = (outcome: EventOutcome) => Promise<EventOutcome | void>;

/** A pass's workload outcome as its report said it (the same workload, by cluster and name). */
type AsReported = (o: WorkloadOutcome) => WorkloadOutcome;

function asReported(reported: EventOutcome): AsReported {
  const key = (o: WorkloadOutcome): string => `${o.cluster}\n${o.kind}\n${o.namespace}\n${o.name}`;
  const byKey = new Map(reported.workloads.map((o) => [key(o), o]));
  return (o) => byKey.get(key(o)) ?? o;
}

/** One pass: discover, decide, act. What it did, what it waits on, and how to report it. */
export interface Pass {
  readonly outcome: EventOutcome;
  /** Restarts, reloads, records and forced syncs this pass wrote. */
  readonly acted: number;
  /** What the pending work waits on (core/converge.ts). */
  readonly waits: readonly WatchTarget[];
  /** The chain positions recorded on the event's dependents (rotor.dev/applied-by). */
  readonly marks: readonly PlacedMark[];
  /** Pending dependents that wait only for an earlier stage of clusters (bounded, on schedule). */
  readonly stageWaits: number;
  /**
   * Publishes the outcome with `report`, then creates the pass's Kubernetes Events (see
   * reconcileAndReport), saying what `report` reported: the outcome it returns (a halt's
   * response added), else the pass's.
   */
  readonly report: (report: Reporter) => Promise<void>;
}

export async function reconcilePass(ctx: EventContext, info: EventInfo, cfg: ReconcileConfig): Promise<Pass> {
  const started = Date.now();
  const eventsToCreate: Array<(reported: AsReported) => Promise<void>> = [];
  const workloads: WorkloadOutcome[] = [];
  const clusterErrors: Array<{ cluster: string; error: string }> = [];
  const warnings: string[] = [];
  const halted: HaltCause[] = [];
  const waits: WatchTarget[] = [];
  const marks: PlacedMark[] = [];
  let transient = 0;
  let rollingOut = 0;
  let acted = 0;
  let held = 0;
  let stageWaits = 0;
  const perCluster = await reconcileStages(ctx, info, cfg);
  for (const r of perCluster) {
    if ('error' in r) {
      // The cluster could not be listed: nothing was decided there; retry the whole event.
      clusterErrors.push({ cluster: r.cluster, error: r.error });
      continue;
    }
    halted.push(...r.halted);
    if (r.role.kind === 'observe') continue;
    eventsToCreate.push(r.createEvents);
    workloads.push(...r.outcomes);
    waits.push(...r.waits);
    marks.push(...r.marks);
    transient += r.transient;
    rollingOut += r.rollingOut;
    acted += r.acted;
    held += r.held;
    stageWaits += r.stageWaits;
  }
  for (const w of workloads) if (w.warning) warnings.push(`${w.kind} ${w.namespace}/${w.name}: ${w.warning}`);
  // A halted namespace waits for nothing (its workloads are reported halted: a person fixes the
  // cause and runs rotor apply); the other namespaces' waits still count. So does a later stage
  // held by an earlier stage's halt: its waits are reported, not waited for.
  const awaitingRollouts =
    workloads.filter((w) => w.result === 'waiting' && w.waitingFor === 'rollout').length + rollingOut;
  const waiting = workloads.filter((w) => w.result === 'waiting').length - held + rollingOut;
  const pending = waiting + transient + clusterErrors.length;
  const outcome: EventOutcome = {
    event: outcomeEvent(ctx, info.messageId, cfg.projects),
    scope: info.scope ?? { kind: 'event' },
    dryRun: cfg.dryRun,
    workloads,
    clusterErrors,
    warnings,
    ...(halted.length ? { halted } : {}),
    pending,
    awaitingRollouts,
    converged: pending === 0,
    durationMs: Date.now() - started,
  };
  return {
    outcome,
    acted,
    waits: halted.length ? [] : waits,
    marks,
    stageWaits,
    async report(report) {
      const reported = asReported((await report(outcome)) ?? outcome);
      await Promise.all(eventsToCreate.map((create) => create(reported)));
    },
  };
}

type ClusterPass = ClusterResult | { readonly cluster: string; readonly error: string };

/**
 * Every cluster's part of the pass. Without stages: a bounded number of clusters at once, each
 * independent of the others (memory holds that many clusters' dependents, and a slow or
 * unreachable cluster takes one slot while the others go on). With stages: the clusters only
 * observed first, then stage by stage, each cluster under the gate its earlier stages' progress
 * in this very pass gives it (so a stage that converges lets the next one act at once).
 */
async function reconcileStages(
  ctx: EventContext,
  info: EventInfo,
  cfg: ReconcileConfig,
): Promise<ClusterPass[]> {
  const stages = cfg.stages;
  const one = async (api: KubeApi, role: ClusterRole): Promise<ClusterPass> => {
    try {
      return await reconcileCluster(
        api,
        ctx,
        info,
        role.kind === 'observe' ? { ...cfg, events: undefined } : cfg,
        role,
      );
    } catch (e) {
      cfg.logger.error(`cluster ${api.cluster}: ${errorMessage(e)}`, { cluster: api.cluster });
      return { cluster: api.cluster, error: errorMessage(e) };
    }
  };
  const limit = cfg.clusterConcurrency ?? 1;
  if (!stages) return mapLimit(cfg.clusters, limit, (api) => one(api, ACT));
  const progress = new Map<string, ClusterProgress>();
  const record = (passes: ClusterPass[]): ClusterPass[] => {
    for (const p of passes) progress.set(p.cluster, 'error' in p ? clusterProgress([], p.error) : p.progress);
    return passes;
  };
  const out = record(await mapLimit(stages.observe ?? [], limit, (api) => one(api, { kind: 'observe' })));
  const staged = cfg.clusters.map((api) => ({
    api,
    name: api.cluster,
    stage: stageIn(stages.fleet, api.cluster),
  }));
  for (const group of stagesInOrder(staged)) {
    out.push(
      ...record(
        await mapLimit(group, limit, (c) =>
          one(c.api, { kind: 'act', gate: stageGate(c, stages.fleet, progress) }),
        ),
      ),
    );
  }
  // Results in cluster order, as without stages.
  const order = new Map(cfg.clusters.map((api, i) => [api.cluster, i]));
  return out.sort((a, b) => (order.get(a.cluster) ?? -1) - (order.get(b.cluster) ?? -1));
}

function stageIn(fleet: readonly StagedCluster[], cluster: string): number {
  return fleet.find((c) => c.name === cluster)?.stage ?? 0;
}

interface ClusterResult {
  readonly cluster: string;
  readonly role: ClusterRole;
  readonly outcomes: WorkloadOutcome[];
  readonly halted: HaltCause[];
  readonly transient: number;
  readonly rollingOut: number;
  readonly acted: number;
  /** Waits for an earlier stage's halt: reported, not pending. */
  readonly held: number;
  /** Pending waits for an earlier stage. */
  readonly stageWaits: number;
  /** This cluster's part of the event, for the gates of later stages. */
  readonly progress: ClusterProgress;
  readonly waits: WatchTarget[];
  readonly marks: PlacedMark[];
  readonly createEvents: (reported: AsReported) => Promise<void>;
}

/**
 * One pass over one cluster: discover the event's dependents, decide each, plan the waves, act
 * (one workload's failure never aborts the others), then say what the event now waits on.
 */
async function reconcileCluster(
  api: KubeApi,
  ctx: EventContext,
  info: EventInfo,
  cfg: ReconcileConfig,
  role: ClusterRole,
): Promise<ClusterResult> {
  const found = await discoverDependents(api, ctx, cfg);
  const env = workloadEnv(found, ctx, info, cfg, role);
  const { log } = env;

  // Every dependent is decided before any is acted on: the wave plan needs all the decisions.
  const decided = await mapLimit(found.dependents, cfg.concurrency, async (wd): Promise<Decided> => {
    try {
      return { wd, failed: false, decision: await decideWorkload(wd, env) };
    } catch (e) {
      return { wd, failed: true, error: e };
    }
  });
  const plan = await planDelivery(decided, env);
  const halted = plan.halted.map((h): HaltCause => ({
    cluster: api.cluster,
    workload: h.label,
    reasons: h.reasons,
  }));
  for (const h of halted) log.error(`HALTED: the rollout of ${h.workload} failed: ${h.reasons.join('; ')}`);

  const tally: ActTally = { transient: 0, rollingOut: 0, pendingBesidesWaits: new Set() };
  const outcomes = await mapLimit(decided, cfg.concurrency, (first, i) =>
    actOnWorkload(first, i, plan, env, found, tally),
  );
  const createEvents = async (reported: AsReported): Promise<void> => {
    const source = env.eventSource;
    if (!source) return;
    await mapLimit(outcomes, cfg.concurrency, async (o, i) => {
      const workload = decided[i]?.wd.object;
      const event = workload ? workloadEvent(workload, reported(o), source) : undefined;
      if (event) await createEvent(api, event, log, cfg.events?.known);
    });
  };
  const heldBy = (o: WorkloadOutcome): boolean =>
    role.kind === 'act' && role.gate.kind === 'held' && o.result === 'waiting' && o.waitingFor === 'stage';
  const pendingAt = (o: WorkloadOutcome, i: number): boolean =>
    (o.result === 'waiting' && !heldBy(o)) || tally.pendingBesidesWaits.has(i);
  const progress = clusterProgress(
    outcomes.map((o, i) =>
      dependentState(
        `${o.kind} ${o.namespace}/${o.name}`,
        passResult(o.result),
        pendingAt(o, i),
        o.waitingFor,
      ),
    ),
  );
  return {
    cluster: api.cluster,
    role,
    outcomes,
    halted,
    transient: tally.transient,
    rollingOut: tally.rollingOut,
    acted: env.acts.count,
    held: outcomes.filter(heldBy).length,
    stageWaits: outcomes.filter((o) => o.waitingFor === 'stage' && o.result === 'waiting' && !heldBy(o))
      .length,
    progress,
    waits: role.kind === 'observe' ? [] : passWaits(outcomes, decided, plan.steps.size > 0, env),
    marks: chainMarks(decided, env),
    createEvents,
  };
}

/** What a cluster's pass found: its inventory (kept to its secret's dependents) and those dependents. */
interface FoundDependents {
  readonly api: KubeApi;
  readonly inventory: LiveInventory;
  readonly indexOf: (inv: LiveInventory) => DependencyIndex;
  readonly index: DependencyIndex;
  readonly dependents: WorkloadDependencies[];
  readonly log: Logger;
}

async function discoverDependents(
  api: KubeApi,
  ctx: EventContext,
  cfg: ReconcileConfig,
): Promise<FoundDependents> {
  // Only the workloads that can depend on the event's secret are kept: memory follows dependents.
  // Concurrent events on this instance share one round of lists (cluster/sharedDiscovery.ts).
  const inventory = await sharedDiscovery.inventory(api, cfg.namespaces ?? {}, {
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
  return { api, inventory, indexOf, index, dependents, log };
}

/** Everything deciding and acting on one workload reads: lookups memoized for the pass. */
function workloadEnv(
  found: FoundDependents,
  ctx: EventContext,
  info: EventInfo,
  cfg: ReconcileConfig,
  role: ClusterRole,
): WorkloadEnv {
  const { api, inventory, indexOf } = found;
  const byName = (objects: readonly KubeObject[]) =>
    new Map(objects.map((o) => [`${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`, o]));
  // The versions this pass read what it may wait on at: its waits are watched from them.
  const seen: PassVersions = { spcPodStatuses: new Map(), pods: new Map() };
  // SecretProviderClassPodStatuses, listed once per namespace that needs them.
  const podStatuses = memoizedPerNamespace((namespace) =>
    listAll(api, RESOURCES.spcPodStatuses, { namespace }).then((r) => {
      if (r?.resourceVersion) seen.spcPodStatuses.set(namespace, r.resourceVersion);
      return r?.items ?? [];
    }),
  );
  // Namespaces' rotor.dev/restart-windows, read once per namespace that has a restart to gate.
  const namespaceWindows = memoizedPerNamespace((namespace) =>
    namespaceAnnotation(api, namespace, annotations.RESTART_WINDOWS),
  );
  // The other secrets a workload reads: discovery over that workload alone (for groups).
  const others = (wd: WorkloadDependencies): OtherSecret[] =>
    indexOf({ ...inventory, workloads: [wd.object] })
      .secretsInUse()
      .map((s) => ({ key: s.key, secret: s.secret, dependencies: s.dependents[0]?.dependencies ?? [] }));
  return {
    api,
    ctx,
    cfg,
    externalSecrets: byName(inventory.externalSecrets),
    secretSyncs: byName(inventory.secretSyncs ?? []),
    podStatuses,
    namespaceWindows,
    others,
    ...(cfg.secretFacts ? { secretFacts: cfg.secretFacts } : {}),
    secretKey: found.index.keyOf(ctx.secret),
    log: found.log,
    role,
    nudged: new Set(),
    waitSince: info.waitSince ?? (cfg.now ?? (() => new Date()))().getTime(),
    seen,
    acts: { count: 0 },
    ...(info.chain ? { chain: info.chain } : {}),
    delivery: deliveryOf(ctx, info, cfg),
    ...(cfg.events && !cfg.dryRun
      ? {
          eventSource: {
            secret: secretKey(ctx.secret, cfg.projects),
            ...(ctx.version !== undefined ? { version: ctx.version } : {}),
            ...(ctx.aliases ? { aliases: ctx.aliases } : {}),
            instance: cfg.events.instance,
            now: (cfg.now ?? (() => new Date()))(),
          },
        }
      : {}),
  };
}

/** A per-namespace read done once per pass, however many workloads of the namespace ask. */
function memoizedPerNamespace<T>(read: (namespace: string) => Promise<T>): (namespace: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (namespace) => {
    let p = cache.get(namespace);
    if (!p) {
      p = read(namespace);
      cache.set(namespace, p);
    }
    return p;
  };
}

/** What acting on the pass's workloads left the event pending on besides waits. */
interface ActTally {
  transient: number;
  /**
   * Rollouts started by this delivery, or by an earlier one whose report was lost (the outcome says
   * restarted or reloaded, not waiting): the event is pending on them, so a redelivery reads their
   * health and a crash loop halts the event even when nothing is left to act on.
   */
  rollingOut: number;
  /** Which outcomes the event is pending on besides waits (rollouts watched, transient failures). */
  readonly pendingBesidesWaits: Set<number>;
}

/**
 * Acts on the `i`th decided workload as planned; after a conflict, re-reads, re-discovers and
 * re-decides it (a few times). Every failure is this workload's outcome.
 */
async function actOnWorkload(
  first: Decided,
  i: number,
  plan: WavePlan,
  env: WorkloadEnv,
  found: FoundDependents,
  tally: ActTally,
): Promise<WorkloadOutcome> {
  const { wd } = first;
  const { wave } = waveOf(wd.object);
  const step = plan.steps.get(workloadId(wd));
  let current = wd;
  for (let attempt = 1; ; attempt++) {
    try {
      try {
        if (attempt === 1 && first.failed) throw first.error;
        const planned = attempt === 1 && !first.failed ? first.decision : await decideWorkload(current, env);
        const result = await handleWorkload(current, planned, step, env);
        // Any restart or reload of a gated delivery counts, also one a retry after a conflict
        // re-decided into (its step was planned from the first decision). A late report of an
        // earlier delivery's work (decision none: its rollout is done) is not pending: if its
        // Event can never be created, it would otherwise hold the event until dead-lettered.
        const lateReportOfDone = planned.action === 'none' && step?.step !== 'rolling-out';
        if (
          plan.steps.size &&
          (result.result === 'restarted' || result.result === 'reloaded') &&
          !lateReportOfDone
        ) {
          tally.rollingOut++;
          tally.pendingBesidesWaits.add(i);
        }
        return plan.steps.size ? { ...result, wave } : result;
      } catch (e) {
        if (!isConflict(causeOf(e)) || attempt >= MAX_CONFLICT_ATTEMPTS) throw e;
        const again = await rediscoverAfterConflict(wd, attempt, env, found);
        if ('result' in again) return again;
        current = again;
      }
    } catch (e) {
      return failedOutcome(wd, e, i, env.log, tally);
    }
  }
}

/**
 * Someone else wrote the workload since we listed it (often another delivery of a secret rotated
 * in the same batch): back off a little, re-read, re-discover. Gone or no longer a dependent: said.
 */
async function rediscoverAfterConflict(
  wd: WorkloadDependencies,
  attempt: number,
  env: WorkloadEnv,
  found: FoundDependents,
): Promise<WorkloadDependencies | WorkloadOutcome> {
  await new Promise((r) => setTimeout(r, Math.random() * 50 * attempt));
  let fresh: KubeObject;
  try {
    fresh = await getWorkload(env.api, wd.ref, wd.object);
  } catch (g) {
    if (isNotFound(g))
      return outcome(wd, 'none', 'unchanged', 'the workload was deleted while Rotor acted on it');
    throw g;
  }
  const again = found.indexOf({ ...found.inventory, workloads: [fresh] }).dependentsOf(env.ctx.secret)[0];
  if (!again)
    return outcome(
      wd,
      'none',
      'unchanged',
      'after a concurrent change the workload no longer depends on the secret',
    );
  return again;
}

/**
 * Every failure is this workload's outcome; none may abort the others mid-flight. It names the
 * action that was being performed (none when deciding itself failed).
 */
function failedOutcome(
  wd: WorkloadDependencies,
  e: unknown,
  i: number,
  log: Logger,
  tally: ActTally,
): WorkloadOutcome {
  const cause = causeOf(e);
  const transientError = isTransient(cause);
  if (transientError) {
    tally.transient++;
    tally.pendingBesidesWaits.add(i);
  }
  const message = errorMessage(cause);
  log.error(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${message}`, { workload: wd.ref });
  return outcome(
    wd,
    e instanceof ActionFailed ? e.action : 'none',
    'failed',
    transientError ? `transient failure, will retry: ${message}` : message,
  );
}

/** What the pass waits on (and a gated delivery's rollouts), watched from the versions it read. */
function passWaits(
  outcomes: readonly WorkloadOutcome[],
  decided: readonly Decided[],
  gated: boolean,
  env: WorkloadEnv,
): WatchTarget[] {
  const { seen } = env;
  const esVersions = objectVersions(env.externalSecrets);
  const syncVersions = objectVersions(env.secretSyncs);
  return outcomes.flatMap((o, i) => {
    const wd = decided[i]?.wd;
    if (!wd) return [];
    const acting = gated && (o.result === 'restarted' || o.result === 'reloaded');
    const waiting = o.result === 'waiting' ? o.waitingFor : acting ? ('acted' as const) : undefined;
    // The version of the list the pass read it in: shared by the namespace's waited workloads, so
    // one watch of the namespace from it misses nothing that changed since (a re-read: its own).
    const workload = listVersionOf(wd.object) ?? wd.object.metadata?.resourceVersion;
    const statuses = seen.spcPodStatuses.get(wd.ref.namespace);
    const pods = seen.pods.get(workloadId(wd));
    return watchTargetsOf(
      wd.ref,
      {
        ...(workload ? { workload } : {}),
        externalSecrets: esVersions,
        secretSyncs: syncVersions,
        ...(statuses ? { spcPodStatuses: statuses } : {}),
        ...(pods ? { pods } : {}),
      },
      waiting,
      wd.dependencies.map((d) => d.source),
    );
  });
}

/** Where this event's chain left its mark (rotor.dev/applied-by), for duplicate deliveries to see. */
function chainMarks(decided: readonly Decided[], env: WorkloadEnv): PlacedMark[] {
  return decided.flatMap(({ wd }) => {
    const by = appliedForEvent(wd.object, env.secretKey, env.ctx, env.delivery);
    const mark = by ? chainMarkOf(by) : undefined;
    return mark ? [{ place: `${wd.ref.cluster}/${wd.ref.namespace}`, mark }] : [];
  });
}

/** Every outcome result is one core/clusterStages.ts knows (checked by the compiler). */
function passResult(result: Result): PassResult {
  return result;
}

/** The resourceVersions of the lists a pass read, by namespace (CSI pod statuses) and by workload (pods). */
interface PassVersions {
  readonly spcPodStatuses: Map<string, string>;
  readonly pods: Map<string, string>;
}

/** Each object's resourceVersion by its key. */
function objectVersions(objects: ReadonlyMap<string, KubeObject>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, o] of objects) if (o.metadata?.resourceVersion) out.set(key, o.metadata.resourceVersion);
  return out;
}

/** A dependent decided (or whose decision failed: it is retried, reported failed, and holds later waves). */
type Decided =
  | { readonly wd: WorkloadDependencies; readonly failed: false; readonly decision: LiveDecision }
  | { readonly wd: WorkloadDependencies; readonly failed: true; readonly error: unknown };

function workloadId(wd: WorkloadDependencies): string {
  return `${wd.ref.cluster}/${wd.ref.kind}/${wd.ref.namespace}/${wd.ref.name}`;
}

const NO_WAVES: WavePlan = { steps: new Map(), halted: [] };

/** The delivery whose rotor.dev/applied-by records this pass writes, and believes. */
function deliveryOf(ctx: EventContext, info: EventInfo, cfg: ReconcileConfig): Delivery {
  const id = info.messageId ?? info.runId;
  return {
    ...(id !== undefined ? { id } : {}),
    ...(ctx.time !== undefined ? { eventTime: ctx.time } : {}),
    now: (cfg.now ?? (() => new Date()))().getTime(),
  };
}

/**
 * The wave plan of this delivery: each dependent's wave, what its decision would do, and the
 * rollout health of what Rotor already did for this event (read from the controller's status,
 * and the new revision's pods while the rollout is not done).
 */
async function planDelivery(decided: readonly Decided[], env: WorkloadEnv): Promise<WavePlan> {
  const { cfg, ctx } = env;
  const waves = cfg.waves;
  if (!waves || cfg.dryRun) return NO_WAVES;
  // The rollouts of what Rotor already did are read even when nothing is left to act on: the
  // event is done only when they have finished, and a crash loop in the last wave halts it. A
  // finished rollout costs no request (the controller's status is in the listed object); pods are
  // listed only for rollouts still going.
  const now = (cfg.now ?? (() => new Date()))().getTime();
  const canaries = waves.canaryNamespaces?.length
    ? namespaceMatcher({ allow: waves.canaryNamespaces })
    : () => false;
  const entries = await mapLimit(decided, cfg.concurrency, async (d) => {
    const { wd } = d;
    const { wave, warning } = waveOf(wd.object);
    if (warning) env.log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${warning}`);
    // Only what Rotor did for this event that changes pods has a rollout to wait for: a restart
    // or a reload (a reload that leaves pods unready halts too), recorded by one of this event's
    // deliveries. A `record` changed nothing, and a record a tenant wrote proves nothing: someone
    // else's rollout must not hold, or halt, the event.
    const by = rolloutToJudge(wd.object, env.secretKey, ctx, env.delivery);
    const health = by ? await healthOf(wd, by, env, now, waves.rolloutTimeoutMs) : undefined;
    return {
      id: workloadId(wd),
      label: `${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}`,
      namespace: wd.ref.namespace,
      canary: canaries(wd.ref.namespace),
      wave,
      // A workload whose decision failed (it is reported failed, and retried) is not known to be
      // done: it holds later waves, like a wait.
      intent: d.failed ? ('pending' as const) : waveIntent(d.decision),
      ...(health ? { health } : {}),
    };
  });
  return planWaves(entries, waves.size);
}

async function healthOf(
  wd: WorkloadDependencies,
  by: AppliedBy,
  env: WorkloadEnv,
  now: number,
  timeoutMs: number,
): Promise<RolloutHealth> {
  // The timeout runs from Rotor's own action (rotor.dev/applied-by: a reload has no restart marker).
  const live: Omit<HealthInputs, 'pods'> = { now, timeoutMs, actedAt: by.at };
  const health = rolloutHealth(wd.object, { ...live, pods: [] });
  // Pods tell a crash loop long before the controller gives up: read them while it is not done.
  if (health.health === 'done' || health.health === 'manual') return health;
  try {
    return rolloutHealth(wd.object, { ...live, pods: await ownPodsOf(env.api, wd) });
  } catch (e) {
    env.log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: pods not readable: ${errorMessage(e)}`);
    return health;
  }
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
  readonly secretSyncs: ReadonlyMap<string, KubeObject>;
  readonly podStatuses: (namespace: string) => Promise<KubeObject[]>;
  /** A namespace's rotor.dev/restart-windows annotation (memoized per pass). */
  readonly namespaceWindows: (namespace: string) => Promise<string | undefined>;
  /** The other secrets a workload reads, and what Secret Manager says of one (memoized per pass). */
  readonly others: (wd: WorkloadDependencies) => OtherSecret[];
  readonly secretFacts?: (id: SecretId) => Promise<SecretFacts | undefined>;
  readonly secretKey: string;
  readonly log: Logger;
  /** Act under the cluster's stage gate, or only observe (an earlier stage another delivery acts on). */
  readonly role: ClusterRole;
  /** ExternalSecrets force-synced in this delivery: one patch each, however many workloads wait on it. */
  readonly nudged: Set<string>;
  /** The list versions this pass read (its waits are watched from them). */
  readonly seen: PassVersions;
  /** The chain's wait clock (EventInfo.waitSince). */
  readonly waitSince: number;
  /** Writes performed (restarts, reloads, records, forced syncs): the loop's progress. */
  readonly acts: { count: number };
  /** A continuation's place in the event's chain, recorded in rotor.dev/applied-by. */
  readonly chain?: ChainPosition;
  /** The delivery: its id is recorded in rotor.dev/applied-by, and only its records are believed. */
  readonly delivery: Delivery;
  /** Set when Kubernetes Events are reported (not in dry runs). */
  readonly eventSource?: EventSource;
}

function outcome(
  wd: WorkloadDependencies,
  action: Action,
  result: WorkloadOutcome['result'],
  reason: string,
  extra: { warning?: string; detail?: string; waitingFor?: WaitingFor; opensAt?: string } = {},
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
    ...(extra.opensAt ? { opensAt: extra.opensAt } : {}),
  };
}

/** The workload's own pods (by controller owner references), in any state. */
async function ownPodsOf(api: KubeApi, wd: WorkloadDependencies, seen?: PassVersions): Promise<KubeObject[]> {
  const { podOwner } = kindOf(wd.ref.kind);
  // The selector narrows the lists; ownership decides. A CronJob has none: its namespace is listed.
  const selector = selectorOf(wd.object);
  const where = { namespace: wd.ref.namespace, ...(selector ? { labelSelector: selector } : {}) };
  const [pods, owners] = await Promise.all([
    listAll(api, RESOURCES.pods, where),
    podOwner.via === 'intermediate' ? listAll(api, podOwnerResource(podOwner), where) : undefined,
  ]);
  if (seen && pods?.resourceVersion) seen.pods.set(workloadId(wd), pods.resourceVersion);
  return ownedPods(
    wd.object,
    pods?.items ?? [],
    podOwner.via === 'intermediate' ? (owners?.items ?? []) : undefined,
  );
}

/** Performs the decision, unless its wave step holds it back. */
async function handleWorkload(
  wd: WorkloadDependencies,
  decision: LiveDecision,
  step: WaveStep | undefined,
  env: WorkloadEnv,
): Promise<WorkloadOutcome> {
  const action = outcomeAction(decision);
  switch (step?.step) {
    case 'wait':
      return outcome(wd, action, 'waiting', `${decision.reason}; ${step.reason}`, { waitingFor: 'wave' });
    case 'halted':
      return outcome(wd, action, 'halted', step.reason);
    case 'failed':
      return outcome(wd, action, 'halted', `the rollout failed: ${step.reasons.join('; ')}`);
    case 'rolling-out': {
      const by = appliedForEvent(wd.object, env.secretKey, env.ctx, env.delivery);
      const done = by ? `${describeAppliedBy(by)}: ` : '';
      const waiting = `${done}waiting for the rollout to finish (${step.detail})`;
      // Work an earlier delivery did but never reported is reported now (restarted by message M);
      // the event still waits for its rollout (counted as pending by the caller).
      const acted = by && by.action !== 'record' ? by.action : action;
      return (
        (await unreported(wd, waiting, env)) ??
        outcome(wd, acted, 'waiting', waiting, { waitingFor: 'rollout' })
      );
    }
    case 'act':
    case 'as-decided':
    case undefined:
      break;
  }
  try {
    return await perform(wd, decision, env);
  } catch (e) {
    throw new ActionFailed(action, e);
  }
}

/** Reads the live state the workload's decision can use, and decides. */
async function decideWorkload(wd: WorkloadDependencies, env: WorkloadEnv): Promise<LiveDecision> {
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
    mayReload ? ownPodsOf(api, wd, env.seen) : Promise.resolve([]),
    readsCsiSync || (mountsCsi && mayReload) ? env.podStatuses(wd.ref.namespace) : Promise.resolve([]),
  ]);
  const decision = decideLive(wd, ctx, {
    secretKey: env.secretKey,
    projects: cfg.projects,
    externalSecrets: env.externalSecrets,
    secretSyncs: env.secretSyncs,
    spcPodStatuses,
    pods,
    dryRun: cfg.dryRun,
    now: now().getTime(),
    maxWaitMs: cfg.maxWaitMs,
    waitSince: env.waitSince,
    approved: cfg.approve?.(wd.ref) ?? false,
    ...(cfg.csiRotationIntervalMs !== undefined ? { csiRotationIntervalMs: cfg.csiRotationIntervalMs } : {}),
    ...(cfg.kubeletSyncMs !== undefined ? { kubeletSyncMs: cfg.kubeletSyncMs } : {}),
  });
  if (decision.warning)
    env.log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${decision.warning}`);
  return withinStage(
    await withinWindows(wd, await groupedWith(wd, withinRollback(wd, decision, env), env), env),
    env,
  );
}

/** The decision with the secrets rotated together with the event's applied (core/secretGroups.ts). */
async function groupedWith(
  wd: WorkloadDependencies,
  decision: LiveDecision,
  env: WorkloadEnv,
): Promise<LiveDecision> {
  const policy = env.cfg.groups;
  if (!policy || !env.secretFacts || decision.action !== 'restart') return decision;
  return withinGroup(wd, decision, {
    ctx: env.ctx,
    secretKey: env.secretKey,
    projects: env.cfg.projects,
    policy,
    facts: env.secretFacts,
    others: env.others,
    externalSecrets: env.externalSecrets,
    secretSyncs: env.secretSyncs,
    podStatuses: env.podStatuses,
    now: (env.cfg.now ?? (() => new Date()))().getTime(),
    ...(env.cfg.csiRotationIntervalMs !== undefined
      ? { csiRotationIntervalMs: env.cfg.csiRotationIntervalMs }
      : {}),
  });
}

/**
 * A rollback's version moves only the workloads that applied the version it replaces
 * (core/rollback.ts): every other one is left as it is, and the reason names the restored version.
 */
function withinRollback(wd: WorkloadDependencies, decision: LiveDecision, env: WorkloadEnv): LiveDecision {
  const scope = env.ctx.rollback;
  if (!scope) return decision;
  const step = rollbackStep(appliedVersions(wd.object), env.secretKey, scope);
  if (step.step === 'leave') return { action: 'none', reason: step.reason };
  return decision.action === 'restart' || decision.action === 'reload' || decision.action === 'wait'
    ? { ...decision, reason: `${decision.reason} (${step.note})` }
    : decision;
}

/**
 * The decision under the cluster's stage gate (core/clusterStages.ts). An observed cluster is
 * never written to: what its own delivery still has to do is reported as a wait (pending there).
 */
function withinStage(decision: LiveDecision, env: WorkloadEnv): LiveDecision {
  const { role, cfg } = env;
  const gate: StageGate =
    role.kind === 'observe'
      ? {
          kind: 'held',
          cluster: env.api.cluster,
          stage: 0,
          reason: 'observed only: its own delivery acts on it',
        }
      : role.gate;
  const eventTime = env.ctx.time ? Date.parse(env.ctx.time) : NaN;
  return gateByStage(decision, gate, {
    now: (cfg.now ?? (() => new Date()))().getTime(),
    ...(Number.isFinite(eventTime) ? { eventTime } : {}),
    maxWaitMs: cfg.stages?.maxWaitMs ?? 0,
  });
}

/** The decision with the maintenance windows applied (core/restartGate.ts). */
async function withinWindows(
  wd: WorkloadDependencies,
  decision: LiveDecision,
  env: WorkloadEnv,
): Promise<LiveDecision> {
  const policy = env.cfg.windows;
  if (!policy || (decision.action !== 'restart' && decision.action !== 'reload')) return decision;
  // No windows configured anywhere: no Namespace is read (no request added to an event). A
  // namespace's annotation takes effect once ROTOR_RESTART_WINDOWS or a workload's entry is set.
  if (policy.cluster.length === 0 && policy.byWorkload.size === 0) return decision;
  const applicable = windowsFor(policy, wd.ref, await env.namespaceWindows(wd.ref.namespace));
  if (applicable.warning) env.log.warn(applicable.warning);
  const now = (env.cfg.now ?? (() => new Date()))().getTime();
  const eventTime = env.ctx.time ? Date.parse(env.ctx.time) : NaN;
  return gateDecision(decision, applicable, policy, {
    now,
    ...(Number.isFinite(eventTime) ? { eventTime } : {}),
  });
}

/**
 * Work an earlier delivery did for this event but never reported: rotor.dev/applied-by names the
 * action, and the Kubernetes Event a reported action leaves (created after its outcome was
 * published) is missing. Reported now, once: this delivery's Event closes it. If the delivery that
 * acted may still be alive and about to report (core/converge.ts, reportOwner), its report is
 * waited for instead: two concurrent deliveries never both report one action.
 */
async function unreported(
  wd: WorkloadDependencies,
  reason: string,
  env: WorkloadEnv,
): Promise<WorkloadOutcome | undefined> {
  const source = env.eventSource;
  if (!source) return undefined;
  const by = appliedForEvent(wd.object, env.secretKey, env.ctx, env.delivery);
  if (!by || by.action === 'record') return undefined;
  const earlier = outcome(
    wd,
    by.action,
    by.action === 'restart' ? 'restarted' : 'reloaded',
    `${describeAppliedBy(by)} (an earlier delivery, whose report was lost): ${reason}`,
  );
  const event = workloadEvent(wd.object, earlier, source);
  if (!event || (await eventExists(env.api, event, env.cfg.events?.known))) return undefined;
  const owner = reportOwner(
    { delivery: by.delivery ?? by.message ?? '', atMs: Date.parse(by.at) },
    env.chain?.delivery ?? env.delivery.id,
    (env.cfg.now ?? (() => new Date()))().getTime(),
    env.cfg.reportLeaseMs ?? 0,
  );
  if (owner === 'wait-for-it')
    return outcome(wd, by.action, 'waiting', `${describeAppliedBy(by)}, which reports it: ${reason}`, {
      waitingFor: 'report',
    });
  return earlier;
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
      return (
        (await unreported(wd, decision.reason, env)) ??
        outcome(wd, action, 'unchanged', decision.reason, extra)
      );
    case 'skip':
      return outcome(wd, action, 'skipped', decision.reason, extra);
    case 'manual':
      return outcome(
        wd,
        action,
        decision.awaiting === 'approval' ? 'awaiting-approval' : 'awaiting-replacement',
        decision.reason,
        extra,
      );
    case 'record':
      await recordApplied(api, wd.ref, wd.object, decision.records, {
        ...write,
        ...appliedBy(env, 'record', new Date().toISOString()),
      });
      env.acts.count++;
      return outcome(wd, action, done('recorded'), decision.reason, extra);
    case 'restart':
      await restartWorkload(api, wd.ref, wd.object, decision.at, decision.records, {
        ...write,
        ...appliedBy(env, 'restart', decision.at),
      });
      env.acts.count++;
      return outcome(wd, action, done('restarted'), decision.reason, extra);
    case 'never-synced':
      log.error(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${decision.reason}`);
      return outcome(wd, action, 'never-synced', decision.reason, extra);
    case 'give-up':
      log.error(
        `${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: gave up after ${Math.round(decision.waitedMs / 1000)}s: ${decision.reason}`,
      );
      return outcome(wd, action, 'gave-up', decision.reason, extra);
    case 'wait':
      return performWait(wd, decision, env, action, extra);
    case 'reload':
      return performReload(wd, decision, env, action, extra);
  }
}

/** Who applied a version, for rotor.dev/applied: the action, when, and the delivery that did it. */
function appliedBy(env: WorkloadEnv, a: AppliedBy['action'], at: string): { by: AppliedBy } {
  const id = env.delivery.id;
  return {
    by: {
      action: a,
      at,
      ...(id !== undefined ? { message: id } : {}),
      // A delivery other than the event's own message (a continuation, a fan-out message) names itself.
      ...(id !== undefined && env.chain && env.chain.delivery !== id
        ? { step: env.chain.step, delivery: env.chain.delivery }
        : {}),
    },
  };
}

/** A wait: force the syncs it asks for (once per delivery each), and say what it waits for. */
async function performWait(
  wd: WorkloadDependencies,
  decision: Extract<LiveDecision, { action: 'wait' }>,
  env: WorkloadEnv,
  action: Action,
  extra: { warning?: string },
): Promise<WorkloadOutcome> {
  const { api, cfg, log } = env;
  const write = { dryRun: cfg.dryRun };
  const synced: string[] = [];
  for (const n of decision.nudge) {
    const target = forceSyncTarget(n);
    // Once per parent object, not per name: an ExternalSecret naming the parent with another
    // uid (refused, see forceSyncOnce) must not use up the real children's force-sync.
    const once = n.clusterExternalSecret ? `${target} uid ${n.clusterExternalSecret.uid}` : target;
    if (env.nudged.has(once)) continue;
    env.nudged.add(once);
    synced.push(await forceSyncOnce(api, n, target, write, log));
    env.acts.count++;
  }
  for (const n of decision.forceSecretSyncs) {
    const target = `SecretSync ${n.key}`;
    if (env.nudged.has(target)) continue;
    env.nudged.add(target);
    await forceSecretSync(api, n.secretSync, n.at, write);
    env.acts.count++;
    synced.push(target);
  }
  const forced = synced.length ? `force a sync of ${synced.join(', ')}` : undefined;
  // A window's wait ends when it opens: said in the outcome (rotor plan and status show it).
  const opensAt =
    decision.waitingFor === 'window' ? { opensAt: new Date(decision.giveUpAt).toISOString() } : {};
  // A dry run asked ESO for nothing, so waiting would never end: it reports what would happen.
  if (cfg.dryRun)
    return outcome(wd, action, 'dry-run', `would wait, then act: ${decision.reason}`, {
      ...extra,
      ...opensAt,
      waitingFor: decision.waitingFor,
      ...(forced ? { detail: `would ${forced}` } : {}),
    });
  return outcome(wd, action, 'waiting', decision.reason, {
    ...extra,
    ...opensAt,
    waitingFor: decision.waitingFor,
    ...(synced.length ? { detail: `forced a sync of ${synced.join(', ')}` } : {}),
  });
}

/** A reload: POST to the ready pods, then record it, or restart when the reload cannot reach them all. */
async function performReload(
  wd: WorkloadDependencies,
  decision: Extract<LiveDecision, { action: 'reload' }>,
  env: WorkloadEnv,
  action: Action,
  extra: { warning?: string },
): Promise<WorkloadOutcome> {
  const { api, cfg, log } = env;
  const write = { dryRun: cfg.dryRun };
  if (cfg.dryRun)
    return outcome(wd, action, 'dry-run', decision.reason, {
      ...extra,
      detail: `would POST to ${decision.pods.length} ready pod(s)`,
    });
  const pings = await reloadPods(api, wd.ref.namespace, decision.pods, decision.endpoint, cfg.reload);
  const after = afterReload(decision, wd.ref.kind, pings);
  switch (after.kind) {
    case 'reloaded':
      await recordApplied(api, wd.ref, wd.object, decision.records, {
        ...write,
        ...appliedBy(env, 'reload', new Date().toISOString()),
      });
      env.acts.count++;
      return outcome(wd, action, 'reloaded', decision.reason, { ...extra, detail: after.detail });
    case 'failed':
      return outcome(wd, action, 'failed', after.reason, extra);
    case 'restart':
      log.warn(`${wd.ref.kind} ${wd.ref.namespace}/${wd.ref.name}: ${after.cause}; restarting instead`);
      await restartWorkload(api, wd.ref, wd.object, after.at, decision.records, {
        ...write,
        ...appliedBy(env, 'restart', after.at),
      });
      env.acts.count++;
      return outcome(wd, 'restart', 'restarted', after.reason, extra);
  }
}

/**
 * Forces one sync: through the ClusterExternalSecret that owns the ExternalSecret, or the
 * ExternalSecret itself. When the API server refuses the parent for its uid precondition (the
 * object of that name is not the owner reference's: 409 or 422, "uid is immutable") or does not
 * have it (404), the owner reference was not ESO's: the ExternalSecret is forced directly, and
 * nothing else is touched. Says what it forced.
 */
async function forceSyncOnce(
  api: KubeApi,
  n: ForceSync,
  target: string,
  write: { dryRun: boolean },
  log: Logger,
): Promise<string> {
  const parent = n.clusterExternalSecret;
  if (parent === undefined) {
    await forceSync(api, n.externalSecret, n.at, write);
    return target;
  }
  try {
    await forceSyncClusterExternalSecret(api, parent, n.at, write);
    return `${target} (parent of ExternalSecret ${n.key})`;
  } catch (e) {
    if (!(e instanceof KubeApiError && [404, 409, 422].includes(e.status))) throw e;
    const notOwner = `ExternalSecret ${n.key} names ClusterExternalSecret ${parent.name} (uid ${parent.uid}) as its owner, which is not that object (${errorMessage(e)})`;
    log.warn(`${notOwner}: forcing the ExternalSecret itself`);
    await forceSync(api, n.externalSecret, n.at, write);
    return `ExternalSecret ${n.key} (${notOwner})`;
  }
}
