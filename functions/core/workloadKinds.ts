// Every workload kind Rotor acts on, in one table: its API resource (group, versions, plural),
// where its pod template lives, how to restart it (patch body and content type), when it was last
// restarted, whether it is paused, whether a template change rolls its pods, whether it wants pods
// now, and how its pods belong to it. Adding a kind is one entry here (and its CRD in infra/ when
// it has one): discovery, decisions, listing, patching and rollout health all read this table. Pure.
//
// Rollout status follows `kubectl rollout status` (kubectl pkg/polymorphichelpers/rollout_status.go)
// over the status the real controllers write, with the stricter StatefulSet rule (update revision
// equals current revision) and Argo's own restart bookkeeping (status.restartedAt).
import * as annotations from './annotations';
import type { KubeObject, ObjectMeta, WorkloadKind } from './kube';
import { apiGroup, asArray, isObject } from './kube';

export const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';

export type PodTemplate = { metadata?: ObjectMeta; spec?: Record<string, unknown> };

export interface WorkloadKindInfo {
  readonly kind: string;
  /** The API resource to list and patch: group, versions to try in order, plural. */
  readonly group: string;
  readonly versions: readonly string[];
  readonly plural: string;
  /** A CRD that may not be installed: absent means "none", not an error. */
  readonly optional: boolean;
  /**
   * Kinds Rotor reads but never acts on (bare Pods, Jobs): why a rotation does not reach them
   * without a person. Undefined for the kinds Rotor restarts.
   */
  readonly manual?: string;
  /**
   * Whether discovery looks at this object on its own: false when a workload Rotor reads already
   * covers it (a CronJob's Jobs, a controller's Pods), so no consumer is counted twice.
   */
  standalone(o: KubeObject): boolean;
  /** The pod template the kind runs, or undefined when it has none (or a malformed one). */
  podTemplate(o: KubeObject): PodTemplate | undefined;
  /** When the kind was last restarted by a restart patch (an RFC 3339 time), if ever. */
  restartedAt(o: KubeObject): string | undefined;
  /** The content type and `spec` part of the patch that restarts it at `at`. */
  restartPatch(at: string): { readonly contentType: string; readonly spec: Record<string, unknown> };
  /** Whether its owner has paused it: Rotor leaves a paused workload alone. */
  paused(o: KubeObject): boolean;
  /** Whether a change of its pod template replaces the running pods (not with updateStrategy OnDelete). */
  rollsOnRestart(o: KubeObject): boolean;
  /** Whether it wants pods running now (a CronJob runs pods only while a job runs). */
  wantsPods(o: KubeObject): boolean;
  /** How far its controller has rolled out the current spec, from the status the controller wrote. */
  rollout(o: KubeObject): RolloutProgress;
  /** Whether `pod` runs the current revision (the latest restart), not an older one. */
  currentRevisionPod(o: KubeObject, pod: KubeObject): boolean;
  /**
   * How its pods belong to it, through controller owner references: directly, or through an
   * intermediate kind it owns (a Deployment's ReplicaSets, a CronJob's Jobs).
   */
  readonly podOwner:
    | { readonly via: 'direct' }
    | {
        readonly via: 'intermediate';
        readonly group: string;
        readonly plural: string;
        readonly kind: string;
      };
}

/** A workload's rollout as its controller reports it. */
export type RolloutProgress =
  | { readonly state: 'done' }
  | { readonly state: 'progressing'; readonly detail: string }
  | { readonly state: 'failed'; readonly detail: string }
  /** The controller will not roll the pods by itself (updateStrategy OnDelete): a person deletes them. */
  | { readonly state: 'manual'; readonly detail: string };

const progressing = (detail: string): RolloutProgress => ({ state: 'progressing', detail });
const DONE: RolloutProgress = { state: 'done' };

const statusOf = (o: KubeObject): Record<string, unknown> => (isObject(o.status) ? o.status : {});
const specOf = (o: KubeObject): Record<string, unknown> => (isObject(o.spec) ? o.spec : {});
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** `spec.replicas`, defaulted to 1 as the API server does. */
const replicasOf = (o: KubeObject): number => {
  const r = specOf(o).replicas;
  return typeof r === 'number' ? r : 1;
};
const generationOf = (o: KubeObject): number =>
  num((o.metadata as { generation?: unknown } | undefined)?.generation);

/** kubectl: the controller must have observed the current spec (our restart) before its counts mean anything. */
function unobserved(o: KubeObject): RolloutProgress | undefined {
  const observed = statusOf(o).observedGeneration;
  return typeof observed !== 'number' || observed < generationOf(o)
    ? progressing('waiting for the controller to observe the new spec')
    : undefined;
}

function onDelete(o: KubeObject): RolloutProgress | undefined {
  return rollsUnlessOnDelete(o)
    ? undefined
    : {
        state: 'manual',
        detail: 'updateStrategy OnDelete: the pods take the new template only when someone deletes them',
      };
}

function deploymentRollout(o: KubeObject): RolloutProgress {
  const wait = unobserved(o);
  if (wait) return wait;
  const s = statusOf(o);
  const deadline = asArray(s.conditions).find(
    (c) => isObject(c) && c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
  );
  if (isObject(deadline))
    return {
      state: 'failed',
      detail: `ProgressDeadlineExceeded${typeof deadline.message === 'string' ? `: ${deadline.message}` : ''}`,
    };
  const want = replicasOf(o);
  const updated = num(s.updatedReplicas);
  if (updated < want) return progressing(`${updated} of ${want} replicas updated`);
  if (num(s.replicas) > updated)
    return progressing(`${num(s.replicas) - updated} old replica(s) pending termination`);
  if (num(s.availableReplicas) < updated)
    return progressing(`${num(s.availableReplicas)} of ${updated} updated replicas available`);
  return DONE;
}

function statefulSetRollout(o: KubeObject): RolloutProgress {
  const manual = onDelete(o);
  if (manual) return manual;
  const s = statusOf(o);
  if (num(s.observedGeneration) === 0)
    return progressing('waiting for the controller to observe the new spec');
  const wait = unobserved(o);
  if (wait) return wait;
  const want = replicasOf(o);
  if (num(s.readyReplicas) < want) return progressing(`${num(s.readyReplicas)} of ${want} pods ready`);
  const strategy = specOf(o).updateStrategy;
  const rolling = isObject(strategy) && isObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const partition = num(rolling.partition);
  if (partition > 0)
    return num(s.updatedReplicas) < want - partition
      ? progressing(`${num(s.updatedReplicas)} of ${want - partition} pods updated (partition ${partition})`)
      : DONE;
  // Stricter than kubectl (which stops at a rollingUpdate block): every pod runs the update revision.
  if (s.updateRevision !== s.currentRevision || num(s.updatedReplicas) < want)
    return progressing(`${num(s.updatedReplicas)} of ${want} pods at update revision`);
  return DONE;
}

function daemonSetRollout(o: KubeObject): RolloutProgress {
  const manual = onDelete(o);
  if (manual) return manual;
  const wait = unobserved(o);
  if (wait) return wait;
  const s = statusOf(o);
  const desired = num(s.desiredNumberScheduled);
  if (num(s.updatedNumberScheduled) < desired)
    return progressing(`${num(s.updatedNumberScheduled)} of ${desired} nodes updated`);
  if (num(s.numberAvailable) < desired || num(s.numberUnavailable) > 0)
    return progressing(`${num(s.numberAvailable)} of ${desired} pods available`);
  return DONE;
}

/** Argo Rollouts: status.phase, trusted once status.observedGeneration (a string) names the generation. */
function argoRollout(o: KubeObject): RolloutProgress {
  const s = statusOf(o);
  if (s.observedGeneration !== String(generationOf(o)))
    return progressing('waiting for the controller to observe the new spec');
  const restartAt = specOf(o).restartAt;
  if (typeof restartAt === 'string' && s.restartedAt !== restartAt)
    return progressing(`restarting the pods created before ${restartAt}`);
  const message = typeof s.message === 'string' && s.message ? `: ${s.message}` : '';
  switch (s.phase) {
    case 'Healthy':
      return DONE;
    case 'Degraded':
      return { state: 'failed', detail: `phase Degraded${message}` };
    case 'Paused':
      return progressing(`phase Paused${message}`);
    default:
      return progressing(`phase ${typeof s.phase === 'string' ? s.phase : 'unknown'}${message}`);
  }
}

/** Pods carry their template's annotations: the restart marker says which restart created them. */
const podOfTemplate =
  (template: (o: KubeObject) => PodTemplate | undefined) =>
  (o: KubeObject, pod: KubeObject): boolean => {
    const marker = templateRestartedAt(template)(o);
    return marker === undefined || pod.metadata?.annotations?.[annotations.RESTARTED_AT] === marker;
  };

const restartTemplate = (at: string): Record<string, unknown> => ({
  metadata: { annotations: { [annotations.RESTARTED_AT]: at } },
});

const embeddedTemplate = (o: KubeObject): PodTemplate | undefined =>
  isObject(o.spec) && isObject(o.spec.template) ? o.spec.template : undefined;

const templateRestartedAt =
  (template: (o: KubeObject) => PodTemplate | undefined) =>
  (o: KubeObject): string | undefined =>
    template(o)?.metadata?.annotations?.[annotations.RESTARTED_AT];

const specPaused = (o: KubeObject): boolean => isObject(o.spec) && o.spec.paused === true;
const notPaused = (): boolean => false;
const always = (): boolean => true;
/** StatefulSets and DaemonSets with updateStrategy OnDelete do not roll when their template changes. */
const rollsUnlessOnDelete = (o: KubeObject): boolean =>
  !(isObject(o.spec) && isObject(o.spec.updateStrategy) && o.spec.updateStrategy.type === 'OnDelete');

/** `spec.replicas`, which the API server defaults to 1. */
const wantsReplicas = (o: KubeObject): boolean =>
  !isObject(o.spec) || typeof o.spec.replicas !== 'number' || o.spec.replicas > 0;

const REPLICA_SETS = {
  via: 'intermediate',
  group: 'apps',
  plural: 'replicasets',
  kind: 'ReplicaSet',
} as const;

const cronJobTemplate = (o: KubeObject): PodTemplate | undefined => {
  const jt = isObject(o.spec) ? o.spec.jobTemplate : undefined;
  return isObject(jt) && isObject(jt.spec) && isObject(jt.spec.template) ? jt.spec.template : undefined;
};

/** Owned by no controller (a bare Pod; not a ReplicaSet's, a Job's, a StatefulSet's). */
const noController = (o: KubeObject): boolean =>
  !(o.metadata?.ownerReferences ?? []).some((r) => r.controller === true);

/** Rotor never restarts these kinds: the executor must not be asked to. */
const neverRestarted = (kind: string) => (): never => {
  throw new Error(`Rotor never restarts a ${kind}`);
};

const appsKind = (
  kind: string,
  plural: string,
  wantsPods: (o: KubeObject) => boolean,
  rollout: (o: KubeObject) => RolloutProgress,
): WorkloadKindInfo => ({
  kind,
  group: 'apps',
  versions: ['v1'],
  plural,
  optional: false,
  standalone: always,
  podTemplate: embeddedTemplate,
  restartedAt: templateRestartedAt(embeddedTemplate),
  restartPatch: (at) => ({ contentType: STRATEGIC_MERGE, spec: { template: restartTemplate(at) } }),
  // Only Deployments pause; the field means nothing on the others.
  paused: kind === 'Deployment' ? specPaused : notPaused,
  rollsOnRestart: kind === 'Deployment' ? always : rollsUnlessOnDelete,
  wantsPods,
  rollout,
  currentRevisionPod: podOfTemplate(embeddedTemplate),
  podOwner: kind === 'Deployment' ? REPLICA_SETS : { via: 'direct' },
});

export const KINDS: Readonly<Record<WorkloadKind, WorkloadKindInfo>> = {
  Deployment: appsKind('Deployment', 'deployments', wantsReplicas, deploymentRollout),
  StatefulSet: appsKind('StatefulSet', 'statefulsets', wantsReplicas, statefulSetRollout),
  // A DaemonSet wants a pod on every node it selects; its status says how many that is.
  DaemonSet: appsKind(
    'DaemonSet',
    'daemonsets',
    (o) => {
      const status = isObject(o.status) ? o.status : {};
      return typeof status.desiredNumberScheduled !== 'number' || status.desiredNumberScheduled > 0;
    },
    daemonSetRollout,
  ),
  CronJob: {
    kind: 'CronJob',
    group: 'batch',
    versions: ['v1'],
    plural: 'cronjobs',
    optional: false,
    standalone: always,
    podTemplate: cronJobTemplate,
    restartedAt: templateRestartedAt(cronJobTemplate),
    restartPatch: (at) => ({
      contentType: STRATEGIC_MERGE,
      spec: { jobTemplate: { spec: { template: restartTemplate(at) } } },
    }),
    paused: notPaused,
    rollsOnRestart: always,
    wantsPods: () => false,
    // Nothing rolls: the next scheduled run starts from the new template.
    rollout: () => DONE,
    currentRevisionPod: podOfTemplate(cronJobTemplate),
    podOwner: { via: 'intermediate', group: 'batch', plural: 'jobs', kind: 'Job' },
  },
  Rollout: {
    kind: 'Rollout',
    group: 'argoproj.io',
    versions: ['v1alpha1'],
    plural: 'rollouts',
    optional: true,
    standalone: always,
    // A Rollout may reference a Deployment's template (spec.workloadRef) instead: discovery follows it.
    podTemplate: embeddedTemplate,
    // Argo restarts the pods created before spec.restartAt.
    restartedAt: (o) =>
      isObject(o.spec) && typeof o.spec.restartAt === 'string' ? o.spec.restartAt : undefined,
    // Custom resources take no strategic merge patches.
    restartPatch: (at) => ({ contentType: MERGE_PATCH, spec: { restartAt: at } }),
    paused: specPaused,
    rollsOnRestart: always,
    wantsPods: wantsReplicas,
    rollout: argoRollout,
    // Argo replaces the pods created before spec.restartAt; the template does not change.
    currentRevisionPod: (o, pod) => {
      const restartAt =
        isObject(o.spec) && typeof o.spec.restartAt === 'string' ? o.spec.restartAt : undefined;
      const created = pod.metadata?.creationTimestamp;
      return (
        restartAt === undefined || (created !== undefined && Date.parse(created) >= Date.parse(restartAt))
      );
    },
    podOwner: REPLICA_SETS,
  },
  // A Job's pods read the value they started with until they finish; the next Job reads the new
  // one. Jobs a CronJob created are its own: the CronJob entry covers them.
  Job: {
    kind: 'Job',
    group: 'batch',
    versions: ['v1'],
    plural: 'jobs',
    optional: false,
    manual: 'a running Job keeps the old value until its pods finish; Rotor does not restart Jobs',
    standalone: (o) => !(o.metadata?.ownerReferences ?? []).some((r) => r.kind === 'CronJob'),
    podTemplate: embeddedTemplate,
    restartedAt: () => undefined,
    restartPatch: neverRestarted('Job'),
    paused: notPaused,
    rollsOnRestart: () => false,
    wantsPods: () => false,
    podOwner: { via: 'direct' },
    // Never acted on, so never gated: nothing of Rotor's rolls out.
    rollout: () => DONE,
    currentRevisionPod: () => false,
  },
  // A bare Pod (no controller owns it) keeps its environment and subPath files for its lifetime.
  Pod: {
    kind: 'Pod',
    group: '',
    versions: ['v1'],
    plural: 'pods',
    optional: false,
    manual: 'a bare Pod keeps the old value until it is replaced; Rotor does not delete Pods',
    standalone: noController,
    podTemplate: (o) =>
      isObject(o.spec) ? { ...(o.metadata ? { metadata: o.metadata } : {}), spec: o.spec } : undefined,
    restartedAt: () => undefined,
    restartPatch: neverRestarted('Pod'),
    paused: notPaused,
    rollsOnRestart: () => false,
    wantsPods: () => true,
    podOwner: { via: 'direct' },
    rollout: () => DONE,
    currentRevisionPod: () => false,
  },
};

export function kindOf(kind: WorkloadKind): WorkloadKindInfo {
  return KINDS[kind];
}

/** The table entry of a workload object (matching on group, not just kind), if it is one Rotor handles. */
export function workloadKindOf(o: KubeObject): WorkloadKindInfo | undefined {
  const info =
    o.kind !== undefined && Object.hasOwn(KINDS, o.kind) ? kindOf(o.kind as WorkloadKind) : undefined;
  return info && info.group === apiGroup(o.apiVersion) ? info : undefined;
}

export function isPaused(o: KubeObject): boolean {
  return workloadKindOf(o)?.paused(o) ?? false;
}

/** Is this object a workload kind Rotor handles (matching on group, not just kind)? */
export function isWorkload(o: KubeObject): boolean {
  return workloadKindOf(o) !== undefined;
}

/** The pod template of a workload (CronJob: its job template's); undefined for anything else. */
export function podTemplate(o: KubeObject): PodTemplate | undefined {
  return workloadKindOf(o)?.podTemplate(o);
}

/**
 * An annotation set on the workload, or failing that on its pod template. Manifests are untrusted:
 * an unquoted `true` or `8080` arrives as a boolean or number and is read as its text; anything
 * else that is not a string counts as absent.
 */
export function workloadAnnotation(o: KubeObject, key: string): string | undefined {
  return (
    annotationText(o.metadata?.annotations?.[key]) ??
    annotationText(podTemplate(o)?.metadata?.annotations?.[key])
  );
}

function annotationText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  return undefined;
}
