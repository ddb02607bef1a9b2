// A Plan: for one secret event, every dependent workload with its action, reason and
// dependencies — the JSON contract of `rotor plan` and the heart of every outcome message.
import type { StagedCluster } from './clusterStages';
import type { PlannedTime, WindowPolicy } from './restartGate';
import { plannedTime, windowsFor } from './restartGate';
import type { Action, Decision, EventContext, ReadinessCheck } from './decision';
import { contractAction, decide, decisionWarning } from './decision';
import type { DependencyIndex, Via, WorkloadDependencies } from './discovery';
import type { SecretEvent, SecretEventType } from './event';
import type { WorkloadKind } from './kube';
import { formatSecretId } from './secretName';
import type { ProjectMap } from './secretName';
import { waveOf } from './waves';

export interface PlannedDependency {
  readonly via: Via;
  readonly container: string;
  readonly detail: string;
}

export interface PlannedWorkload {
  readonly cluster: string;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly action: Action;
  readonly reason: string;
  readonly dependencies: readonly PlannedDependency[];
  /** A restart's or reload's wave (rotor.dev/wave; the default wave is 100): lower waves go first. */
  readonly wave?: number;
  readonly warning?: string;
  /** With maintenance windows: when the restart or reload would happen (core/restartGate.ts). */
  readonly when?: PlannedTime;
  /** With cluster stages: its cluster's stage (core/clusterStages.ts); earlier stages go first. */
  readonly stage?: number;
}

export interface Plan {
  readonly secret: string;
  readonly version?: string;
  readonly event: SecretEventType;
  readonly workloads: PlannedWorkload[];
  /** What discovery could not resolve (missing stores or classes, bad annotations). */
  readonly problems?: string[];
}

export interface PlannedDecision {
  readonly workload: WorkloadDependencies;
  readonly decision: Decision;
}

/** Decides for every workload of one cluster that depends on the event's secret. */
export function decideAll(
  index: DependencyIndex,
  event: EventContext,
  opts: { readiness?: ReadinessCheck } = {},
): PlannedDecision[] {
  const secretKey = index.keyOf(event.secret);
  return index.dependentsOf(event.secret).map((workload) => ({
    workload,
    decision: decide(workload, event, {
      secretKey,
      ...(opts.readiness ? { readiness: opts.readiness } : {}),
    }),
  }));
}

function plannedWorkload(p: PlannedDecision): PlannedWorkload {
  const { ref } = p.workload;
  const assignment = waveOf(p.workload.object);
  const acts = p.decision.action === 'restart' || p.decision.action === 'reload';
  const warning = [decisionWarning(p.decision), acts ? assignment.warning : undefined]
    .filter((w) => w !== undefined)
    .join('; ');
  return {
    cluster: ref.cluster,
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    action: contractAction(p.decision),
    reason: p.decision.reason,
    dependencies: p.workload.dependencies.map((d) => ({
      via: d.via,
      container: d.container,
      detail: d.detail,
    })),
    ...(acts ? { wave: assignment.wave } : {}),
    ...(warning ? { warning } : {}),
  };
}

export function buildPlan(
  event: EventContext,
  decisions: PlannedDecision[],
  projects: ProjectMap,
  problems: string[] = [],
): Plan {
  const secret = formatSecretId({ ...event.secret, project: projects.canonical(event.secret.project) });
  return {
    secret,
    ...(event.version !== undefined ? { version: event.version } : {}),
    event: event.type,
    workloads: decisions.map(plannedWorkload),
    ...(problems.length > 0 ? { problems } : {}),
  };
}

/** The decision inputs of a parsed notification (TOPIC_CONFIGURED has no secret: undefined). */
export function eventContext(ev: SecretEvent): EventContext | undefined {
  if (!ev.secret) return undefined;
  const time = ev.eventTime ?? ev.publishTime;
  const aliases = ev.secretResource?.versionAliases;
  return {
    type: ev.type,
    secret: ev.secret,
    ...(ev.version !== undefined ? { version: ev.version } : {}),
    ...(aliases ? { aliases } : {}),
    ...(time ? { time } : {}),
  };
}

/**
 * The plan with the maintenance windows applied: each restart or reload says when it happens, an
 * event at `now` (a Namespace's rotor.dev/restart-windows from `namespaceWindows`, when known).
 * Without any windows configured the plan is unchanged.
 */
export function withPlannedTimes(
  plan: Plan,
  policy: WindowPolicy,
  now: number,
  namespaceWindows: ReadonlyMap<string, string> = new Map(),
): Plan {
  if (policy.cluster.length === 0 && policy.byWorkload.size === 0 && namespaceWindows.size === 0) return plan;
  return {
    ...plan,
    workloads: plan.workloads.map((w) =>
      w.action === 'restart' || w.action === 'reload'
        ? {
            ...w,
            when: plannedTime(
              w.action,
              windowsFor(policy, w, namespaceWindows.get(w.namespace)),
              policy,
              now,
            ),
          }
        : w,
    ),
  };
}

/**
 * The plan with each workload's cluster stage, when any configured cluster has a stage above 0
 * (a cluster the fleet does not name is stage 0); otherwise unchanged.
 */
export function withStages(plan: Plan, fleet: readonly StagedCluster[]): Plan {
  if (!fleet.some((c) => c.stage > 0)) return plan;
  const stages = new Map(fleet.map((c) => [c.name, c.stage]));
  return { ...plan, workloads: plan.workloads.map((w) => ({ ...w, stage: stages.get(w.cluster) ?? 0 })) };
}
