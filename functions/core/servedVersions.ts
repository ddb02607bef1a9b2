// Which versions of a secret the pods of its dependents still serve, so that rotation retires
// (disables a version, or re-passwords the user of postgres-alternating) only what no pod serves
// (issue 22, item 5). The evidence is `rotor status`'s (core/status.ts), turned into numbers:
//   CSI mounts only: the versions the pod's SecretProviderClassPodStatus records as mounted; a pod
//     without one serves what was newest when it started (the driver mounts on start);
//   env / synced Secrets: a pod of the revision Rotor's restart created serves the version Rotor
//     recorded (rotor.dev/applied); a pod of an older revision serves an older one, which one is not
//     recorded: any enabled version below it created before the pod started; a pod of a workload
//     Rotor never recorded a version on serves what was newest when it started.
// A pod being deleted still counts: it answers requests until it exits. Pure.
import { recordedVersion } from './appliedAlias';
import type { WorkloadDependencies } from './discovery';
import { appliedVersions } from './discovery';
import type { KubeObject } from './kube';
import { isObject, str } from './kube';
import { mountedVersions } from './readiness';
import type { ProjectMap, SecretId } from './secretName';
import { servedByMount } from './status';
import { kindOf } from './workloadKinds';

/** What one pod serves, as far as the evidence tells. */
export type Serves =
  /** These versions exactly (a mount status, or the revision Rotor's restart created). */
  | { readonly kind: 'exact'; readonly versions: readonly number[]; readonly how: string }
  /** A version below `below`, created before the pod started (undefined: unknown start). */
  | { readonly kind: 'older'; readonly below: number; readonly startedAtMs?: number; readonly how: string }
  /** What was newest when the pod started (undefined: unknown start, so any version). */
  | { readonly kind: 'at-start'; readonly startedAtMs?: number; readonly how: string };

export interface ServingPod {
  /** `cluster ns/Kind/name`. */
  readonly workload: string;
  readonly pod: string;
  readonly serves: Serves;
}

/** A version of the secret as Secret Manager lists it. */
export interface KnownVersion {
  readonly version: number;
  readonly createdAtMs: number;
  readonly enabled: boolean;
}

export interface ServingInputs {
  readonly secret: SecretId;
  /** The rotor.dev/applied key of the secret (DependencyIndex.keyOf). */
  readonly secretKey: string;
  readonly projects: ProjectMap;
  /** SecretProviderClassPodStatuses that may record the pods' mounts. */
  readonly spcPodStatuses: readonly KubeObject[];
}

/** Pods named in one reason at most: the rest are counted. */
const NAMED_PODS = 3;

/** What each of a dependent's pods serves. */
export function servingPods(
  dependent: WorkloadDependencies,
  pods: readonly KubeObject[],
  inputs: ServingInputs,
): ServingPod[] {
  const { ref, object, dependencies } = dependent;
  const workload = `${ref.cluster} ${ref.namespace}/${ref.kind}/${ref.name}`;
  // Pods read the secret only through the Secret Manager API: they read latest at run time.
  if (dependencies.every((d) => d.source.kind === 'api')) return [];
  const byMount = servedByMount(dependencies);
  const recorded = recordedVersion(appliedVersions(object)[inputs.secretKey]);
  const applied = recorded !== undefined && /^[0-9]+$/.test(recorded) ? Number(recorded) : undefined;
  const kind = kindOf(ref.kind);
  return pods.map((pod): ServingPod => {
    const name = pod.metadata?.name ?? '<unnamed>';
    const started = Date.parse(pod.metadata?.creationTimestamp ?? '');
    const startedAt = Number.isFinite(started) ? { startedAtMs: started } : {};
    const serves = byMount
      ? mountServes(pod, inputs, startedAt)
      : applied === undefined
        ? { kind: 'at-start' as const, ...startedAt, how: 'Rotor recorded no version on its workload' }
        : kind.currentRevisionPod(object, pod)
          ? { kind: 'exact' as const, versions: [applied], how: `of the revision Rotor's restart created` }
          : {
              kind: 'older' as const,
              below: applied,
              ...startedAt,
              how: `of a revision before Rotor's restart to version ${applied}`,
            };
    return { workload, pod: name, serves };
  });
}

function mountServes(pod: KubeObject, inputs: ServingInputs, startedAt: { startedAtMs?: number }): Serves {
  const name = pod.metadata?.name;
  const namespace = pod.metadata?.namespace;
  const versions = inputs.spcPodStatuses
    .filter(
      (s) => s.metadata?.namespace === namespace && isObject(s.status) && str(s.status.podName) === name,
    )
    .flatMap((s) => mountedVersions(s, inputs.secret, inputs.projects).map((m) => m.version));
  if (versions.length === 0)
    return { kind: 'at-start', ...startedAt, how: 'no SecretProviderClassPodStatus records its mount' };
  const unique = [...new Set(versions)].sort((a, b) => a - b);
  return { kind: 'exact', versions: unique, how: `mounts version ${unique.join(', ')}` };
}

/** The versions `serves` may be (among `versions`). */
export function possibleVersions(serves: Serves, versions: readonly KnownVersion[]): number[] {
  switch (serves.kind) {
    case 'exact':
      return [...serves.versions];
    case 'older':
      return versions
        .filter(
          (v) =>
            v.version < serves.below &&
            (serves.startedAtMs === undefined || v.createdAtMs <= serves.startedAtMs),
        )
        .map((v) => v.version);
    case 'at-start': {
      const before = versions.filter(
        (v) => serves.startedAtMs === undefined || v.createdAtMs <= serves.startedAtMs,
      );
      if (serves.startedAtMs === undefined) return before.map((v) => v.version);
      const newest = Math.max(...before.map((v) => v.version));
      return Number.isFinite(newest) ? [newest] : [];
    }
  }
}

/**
 * The enabled versions some pod still serves, each with why: the pods that serve it, named
 * (`local shop/Deployment/api: pod api-1 of a revision before Rotor's restart to version 3`).
 */
export function servedVersions(
  pods: readonly ServingPod[],
  versions: readonly KnownVersion[],
): Map<number, string> {
  const enabled = new Set(versions.filter((v) => v.enabled).map((v) => v.version));
  const servers = new Map<number, ServingPod[]>();
  for (const p of pods)
    for (const v of possibleVersions(p.serves, versions)) {
      if (!enabled.has(v)) continue;
      const list = servers.get(v);
      if (list) list.push(p);
      else servers.set(v, [p]);
    }
  const why = new Map<number, string>();
  for (const [v, list] of [...servers].sort(([a], [b]) => a - b)) {
    const named = list.slice(0, NAMED_PODS).map((p) => `${p.workload}: pod ${p.pod} ${p.serves.how}`);
    const more = list.length > NAMED_PODS ? ` and ${list.length - NAMED_PODS} more pods` : '';
    why.set(v, `still served by ${named.join('; ')}${more}`);
  }
  return why;
}
