// `rotor status`: is the rotation of one secret version done, and where is it stuck? For every
// dependent: which version each of its pods serves, its rollout state, and what is still pending.
// Pure: over the inventory's dependents, their pods and the CSI driver's pod statuses.
//   CSI:  a pod serves what its SecretProviderClassPodStatus records as mounted (readiness.ts).
//   env / synced Secret: a pod serves the new version when Rotor recorded it (rotor.dev/applied)
//         and the pod belongs to the template revision Rotor's restart created (the restartedAt
//         marker the pod carries from its template; workloadKinds.ts `currentRevisionPod`).
import type { WindowPolicy } from './restartGate';
import { plannedTime, windowsFor } from './restartGate';
import { recordedVersion } from './appliedAlias';
import { appliedBy, describeAppliedBy } from './appliedBy';
import type { Dependency, WorkloadDependencies } from './discovery';
import { appliedVersions } from './discovery';
import type { KubeObject } from './kube';
import { asArray, isObject, str } from './kube';
import type { LiveState } from './readiness';
import { mountedVersions, readinessCheck } from './readiness';
import type { RolloutHealth } from './rolloutHealth';
import { rolloutHealth } from './rolloutHealth';
import type { ProjectMap, SecretId } from './secretName';
import { kindOf } from './workloadKinds';
import type { DependentProgress, StagedCluster } from './clusterStages';
import { clusterProgress, stageGate, stagesInOrder } from './clusterStages';

/** Which version one pod serves. */
export type PodServing =
  | { readonly serves: 'target'; readonly pod: string; readonly how: string }
  | { readonly serves: 'older'; readonly pod: string; readonly how: string }
  /** Of the new revision, but not Ready: it serves nothing yet (a crash loop, a pull error). */
  | { readonly serves: 'none'; readonly pod: string; readonly how: string }
  /** Nothing tells (a CSI pod without mount status yet). */
  | { readonly serves: 'unknown'; readonly pod: string; readonly how: string };

/** What still has to happen before the dependent serves the version. */
export type Pending =
  | { readonly pending: 'nothing' }
  /** The value has not reached the workload's source yet (ESO, the CSI driver, GKE's sync). */
  | { readonly pending: 'waiting'; readonly for: 'eso' | 'csi' | 'gke-sync'; readonly detail: string }
  | { readonly pending: 'rollout'; readonly detail: string }
  | { readonly pending: 'halted'; readonly reasons: readonly [string, ...string[]] }
  | { readonly pending: 'manual'; readonly detail: string }
  | { readonly pending: 'not-acted'; readonly detail: string }
  /** Rotor acted, but some pods still serve an older version (a CSI mount not yet rotated). */
  | { readonly pending: 'pods'; readonly detail: string };

/** What Rotor recorded on the workload for this secret. */
export type Acted =
  | { readonly acted: 'yes'; readonly version: string; readonly by: string }
  | { readonly acted: 'no'; readonly recorded: string | undefined };

export interface WorkloadStatus {
  readonly cluster: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly acted: Acted;
  readonly rollout: RolloutHealth;
  readonly pods: readonly PodServing[];
  readonly pending: Pending;
}

export interface RotationStatus {
  readonly secret: string;
  readonly version: string;
  readonly done: boolean;
  readonly workloads: readonly WorkloadStatus[];
  /** With cluster stages (ROTOR_CLUSTERS `;stage=N`): where each stage stands, lowest first. */
  readonly stages?: readonly StageStatus[];
}

export interface StageStatus {
  readonly stage: number;
  readonly clusters: readonly string[];
  /** One line: done, rolling out (and what), halted (and where), or what it waits for. */
  readonly state: string;
}

/**
 * Where each stage stands, from the same evidence as the workloads' lines: a stage is done when
 * every dependent of its clusters serves the version (or is a person's to act on), halted when one
 * halted, and a later stage waits (or is held) as the functions' gate says (core/clusterStages.ts).
 */
export function stageStatuses(
  workloads: readonly WorkloadStatus[],
  fleet: readonly StagedCluster[],
): StageStatus[] {
  const progress = new Map(
    fleet.map((c) => [
      c.name,
      clusterProgress(workloads.filter((w) => w.cluster === c.name).map(stateOfPending)),
    ]),
  );
  return stagesInOrder(fleet).map((clusters) => {
    const first = clusters[0] ?? { name: '', stage: 0 };
    const names = clusters.map((c) => c.name);
    const gate = stageGate(first, fleet, progress);
    if (gate.kind !== 'go') return { stage: first.stage, clusters: names, state: gate.reason };
    const own = clusters.map((c) => ({ name: c.name, progress: progress.get(c.name) }));
    const halted = own.find((c) => c.progress?.kind === 'halted');
    if (halted?.progress?.kind === 'halted')
      return {
        stage: first.stage,
        clusters: names,
        state: `halted in cluster ${halted.name}: ${halted.progress.what}`,
      };
    const pending = own.find((c) => c.progress?.kind === 'pending');
    if (pending?.progress?.kind === 'pending')
      return {
        stage: first.stage,
        clusters: names,
        state: `in progress: in cluster ${pending.name} ${pending.progress.what}`,
      };
    return { stage: first.stage, clusters: names, state: 'done' };
  });
}

function stateOfPending(w: WorkloadStatus): DependentProgress {
  const label = `${w.kind} ${w.namespace}/${w.name}`;
  switch (w.pending.pending) {
    case 'nothing':
    case 'manual':
      return { state: 'done' };
    case 'halted':
      return { state: 'stopped', what: `${label} halted` };
    default:
      return { state: 'pending', what: `${label}: ${describePending(w.pending)}` };
  }
}

/** One dependent with the objects read beside it. */
export interface DependentState {
  readonly dependent: WorkloadDependencies;
  /** The workload's own pods (core/pods.ts `ownedPods`). */
  readonly pods: readonly KubeObject[];
}

export interface StatusInputs {
  readonly secret: SecretId;
  /** The rotor.dev/applied key of the secret (DependencyIndex.keyOf). */
  readonly secretKey: string;
  readonly projects: ProjectMap;
  /** The version asked about; undefined: the newest any dependent recorded. */
  readonly version: string | undefined;
  readonly dependents: readonly DependentState[];
  /** SecretProviderClassPodStatuses of the dependents' namespaces. */
  readonly spcPodStatuses: readonly KubeObject[];
  readonly externalSecrets: ReadonlyMap<string, KubeObject>;
  readonly secretSyncs: ReadonlyMap<string, KubeObject>;
  readonly now: number;
  readonly rolloutTimeoutMs: number;
  /** Maintenance windows, and the namespaces' rotor.dev/restart-windows annotations read live. */
  readonly windows?: {
    readonly policy: WindowPolicy;
    readonly namespaceWindows: ReadonlyMap<string, string>;
  };
}

const isNumber = (v: string | undefined): v is string => v !== undefined && /^[0-9]+$/.test(v);

/** The version asked about, or the newest numeric version recorded in any dependent's rotor.dev/applied. */
export function statusVersion(
  asked: string | undefined,
  dependents: readonly DependentState[],
  key: string,
): string | undefined {
  if (asked !== undefined) return asked;
  let newest: string | undefined;
  for (const d of dependents) {
    const v = recordedVersion(appliedVersions(d.dependent.object)[key]);
    if (isNumber(v) && (newest === undefined || Number(v) > Number(newest))) newest = v;
  }
  return newest;
}

export function rotationStatus(inputs: StatusInputs, version: string): RotationStatus {
  const workloads = inputs.dependents.map((d) => workloadStatus(d, inputs, version));
  return {
    secret: inputs.secretKey,
    version,
    done: workloads.every((w) => w.pending.pending === 'nothing'),
    workloads,
  };
}

function workloadStatus(d: DependentState, inputs: StatusInputs, version: string): WorkloadStatus {
  const { dependent } = d;
  const w = dependent.object;
  const deps = dependent.dependencies;
  const recorded = recordedVersion(appliedVersions(w)[inputs.secretKey]);
  const atOrPast = isNumber(recorded) && Number(recorded) >= Number(version);
  const by = appliedBy(w)[inputs.secretKey];
  const acted: Acted = atOrPast
    ? { acted: 'yes', version: recorded, by: by ? describeAppliedBy(by) : 'recorded in rotor.dev/applied' }
    : { acted: 'no', recorded };
  const kind = kindOf(dependent.ref.kind);
  const rollout = rolloutHealth(w, {
    pods: d.pods,
    ...(by ? { actedAt: by.at } : {}),
    now: inputs.now,
    timeoutMs: inputs.rolloutTimeoutMs,
  });
  const byMount = servedByMount(deps);
  const pods = d.pods
    .filter((p) => !(p.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp)
    .map((p): PodServing =>
      byMount ? csiServing(p, inputs, version) : templateServing(p, atOrPast, kind.currentRevisionPod(w, p)),
    );
  return {
    cluster: dependent.ref.cluster,
    kind: dependent.ref.kind,
    namespace: dependent.ref.namespace,
    name: dependent.ref.name,
    acted,
    rollout,
    pods,
    pending: withWindow(
      pendingOf(acted, rollout, pods, byMount, deps, inputs, version),
      dependent.ref,
      inputs,
    ),
  };
}

/**
 * Only CSI mounts: the driver's mount status says what each pod serves, whether Rotor restarted it
 * or the driver rotated the file in place. Otherwise (env, synced Secrets, subPath) a pod serves
 * what its template revision was started with (core/servedVersions.ts uses the same evidence).
 */
export function servedByMount(deps: readonly Dependency[]): boolean {
  return deps.length > 0 && deps.every((dep) => dep.via === 'csi' && dep.source.kind === 'csi');
}

/** A restart not acted on yet, under maintenance windows: says when it will happen. */
function withWindow(pending: Pending, ref: WorkloadDependencies['ref'], inputs: StatusInputs): Pending {
  const w = inputs.windows;
  if (pending.pending !== 'not-acted' || !w) return pending;
  const applicable = windowsFor(w.policy, ref, w.namespaceWindows.get(ref.namespace));
  if (applicable.windows.length === 0) return pending;
  const when = plannedTime('restart', applicable, w.policy, inputs.now);
  const text =
    when.when === 'now'
      ? `its window is open (${applicable.from})`
      : `the restart happens when ${when.windows} opens, at ${when.at}${when.when === 'beyond-bound' ? ' (beyond ROTOR_WINDOW_MAX_WAIT_SECONDS: not waited for)' : ''}`;
  return { ...pending, detail: `${pending.detail}; ${text}` };
}

function csiServing(pod: KubeObject, inputs: StatusInputs, version: string): PodServing {
  const name = pod.metadata?.name ?? '<unnamed>';
  const namespace = pod.metadata?.namespace;
  const mounted = inputs.spcPodStatuses
    .filter(
      (s) => s.metadata?.namespace === namespace && isObject(s.status) && str(s.status.podName) === name,
    )
    .flatMap((s) => mountedVersions(s, inputs.secret, inputs.projects).map((m) => m.version));
  if (mounted.length === 0)
    return { serves: 'unknown', pod: name, how: 'no SecretProviderClassPodStatus records a mounted version' };
  const oldest = Math.min(...mounted);
  return oldest >= Number(version)
    ? { serves: 'target', pod: name, how: `mounts version ${oldest}` }
    : { serves: 'older', pod: name, how: `mounts version ${oldest}` };
}

/** The pod's Ready condition is True (a pod without one, or not Ready, serves no traffic). */
function isPodReady(pod: KubeObject): boolean {
  const status = isObject(pod.status) ? pod.status : {};
  return asArray(status.conditions).some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
}

function templateServing(pod: KubeObject, acted: boolean, currentRevision: boolean): PodServing {
  const name = pod.metadata?.name ?? '<unnamed>';
  if (!acted) return { serves: 'older', pod: name, how: 'Rotor has not acted on this version yet' };
  if (!currentRevision) return { serves: 'older', pod: name, how: "of a revision before Rotor's restart" };
  return isPodReady(pod)
    ? { serves: 'target', pod: name, how: "of the revision Rotor's restart created" }
    : { serves: 'none', pod: name, how: "of the revision Rotor's restart created, not Ready" };
}

function pendingOf(
  acted: Acted,
  rollout: RolloutHealth,
  pods: readonly PodServing[],
  byMount: boolean,
  deps: readonly Dependency[],
  inputs: StatusInputs,
  version: string,
): Pending {
  const behind = pods.filter((p) => p.serves !== 'target');
  const podsBehind = behind.map((p) => `${p.pod} ${p.how}`).join('; ');
  if (byMount && acted.acted === 'no') {
    if (rollout.health === 'done' && behind.length === 0) return { pending: 'nothing' };
    if (behind.length > 0) return { pending: 'waiting', for: 'csi', detail: podsBehind };
  }
  if (acted.acted === 'no') {
    const check = readinessCheck(
      {
        externalSecrets: inputs.externalSecrets,
        spcPodStatuses: inputs.spcPodStatuses,
        readyPods: [],
        secretSyncs: inputs.secretSyncs,
      } satisfies LiveState,
      { projects: inputs.projects, now: inputs.now },
    );
    for (const dep of deps) {
      const source = dep.source.kind;
      if (source !== 'eso' && source !== 'csi-sync' && source !== 'gke-sync') continue;
      const ready = check(dep, 'restart', version);
      if (ready && !ready.ready)
        return { pending: 'waiting', for: source === 'csi-sync' ? 'csi' : source, detail: ready.detail };
    }
    return {
      pending: 'not-acted',
      detail:
        acted.recorded === undefined
          ? 'Rotor has recorded no version of this secret here'
          : `Rotor last acted on version ${acted.recorded}`,
    };
  }
  switch (rollout.health) {
    case 'failed':
      return { pending: 'halted', reasons: rollout.reasons };
    case 'progressing':
      return { pending: 'rollout', detail: rollout.detail };
    case 'manual':
      return { pending: 'manual', detail: rollout.detail };
    case 'done':
      break;
  }
  if (behind.length > 0) return { pending: 'pods', detail: podsBehind };
  return { pending: 'nothing' };
}

/** One line for a person: "waiting for ESO: …", "rollout in progress: …", "halted: …". */
export function describePending(p: Pending): string {
  switch (p.pending) {
    case 'nothing':
      return 'done';
    case 'waiting':
      return `waiting for ${p.for === 'eso' ? 'ESO' : p.for === 'csi' ? 'the CSI driver' : "GKE's secret sync"}: ${p.detail}`;
    case 'rollout':
      return `rollout in progress: ${p.detail}`;
    case 'halted':
      return `halted: ${p.reasons.join('; ')}`;
    case 'manual':
      return `manual: ${p.detail}`;
    case 'not-acted':
      return `not yet acted on: ${p.detail}`;
    case 'pods':
      return `pods on an older version: ${p.detail}`;
  }
}
