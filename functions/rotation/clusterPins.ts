// Which versions of a secret the clusters still use, so retirement never disables one under a
// running pod ("only once dependents have moved"). A version is in use when a workload
//   - pins it by number (a CSI resourceName or ESO remoteRef.version),
//   - follows `latest` but Rotor last applied that version to it (rotor.dev/applied): it has
//     not moved to anything newer yet,
//   - mounts it through the CSI driver right now (SecretProviderClassPodStatus),
//   - is the version a dependent is leaving while its rollout to the new one is halted or not done
//     (rolloutHolds.ts): the way back stays open until the fleet has moved,
//   - is served by a pod of a dependent right now, by the evidence of `rotor status`
//     (core/servedVersions.ts): a pod of a revision before Rotor's restart, or of a workload Rotor
//     never recorded a version on, still serves an older version after every rollout is done.
import type { Inventory } from '../core/inventory';
import { DependencyIndex, appliedVersions } from '../core/discovery';
import type { KubeObject } from '../core/kube';
import { mountedVersions } from '../core/readiness';
import type { ProjectMap, SecretId } from '../core/secretName';
import { formatSecretId, versionKind } from '../core/secretName';
import type { KubeApi } from '../cluster/kubeApi';
import { INVENTORY_PAGE_SIZE, liveInventory } from '../cluster/inventory';
import { forEachPage, listAll } from '../cluster/listing';
import { RESOURCES, podOwnerResource } from '../cluster/resources';
import { rolloutHealth } from '../core/rolloutHealth';
import { ownedPods, selectorOf } from '../core/pods';
import type { KnownVersion, ServingPod } from '../core/servedVersions';
import { servedVersions, servingPods } from '../core/servedVersions';
import { kindOf } from '../core/workloadKinds';
import type { WorkloadDependencies } from '../core/discovery';
import type { PinnedVersions } from './retire';
import { ExplainedPins } from './retire';
import type { DependentRollout } from './rolloutHolds';
import { rolloutHolds } from './rolloutHolds';

/** Pure: the version numbers `secret` is pinned at in one cluster's objects. */
export function pinsFromInventory(
  inventory: Inventory,
  secret: SecretId,
  projects: ProjectMap,
  podStatuses: readonly KubeObject[],
): Set<number> {
  const pins = new Set<number>();
  const index = new DependencyIndex(inventory, { projects });
  const key = index.keyOf(secret);
  const namespaces = new Set<string>();
  const classes = new Set<string>();
  for (const wd of index.dependentsOf(secret)) {
    for (const d of wd.dependencies) {
      if (versionKind(d.version) === 'number') pins.add(Number(d.version));
      if (d.source.kind === 'csi' || d.source.kind === 'csi-sync') {
        namespaces.add(d.source.namespace);
        classes.add(`${d.source.namespace}/${d.source.spc}`);
      }
    }
    const applied = appliedVersions(wd.object)[key] ?? appliedVersions(wd.object)[formatSecretId(secret)];
    if (applied !== undefined && /^[0-9]+$/.test(applied)) pins.add(Number(applied));
  }
  for (const s of podStatuses) {
    const ns = s.metadata?.namespace ?? 'default';
    const spc = (s.status as { secretProviderClassName?: unknown } | undefined)?.secretProviderClassName;
    if (typeof spc !== 'string' || !classes.has(`${ns}/${spc}`)) continue;
    // Every mounted version counts: a class may mount the same secret at several versions.
    for (const m of mountedVersions(s, secret, projects)) pins.add(m.version);
  }
  return pins;
}

/**
 * Pure: the dependents of `secret` that rotor.dev/applied records at a version, with their rollout
 * health read from the controller's status. Pods are not read: whether a rollout is done comes from
 * the status alone, and any rollout not done (failing or not) holds; `cluster` names it.
 */
export function dependentRollouts(
  inventory: Inventory,
  secret: SecretId,
  projects: ProjectMap,
  cluster: string,
  now: number,
): DependentRollout[] {
  const index = new DependencyIndex(inventory, { projects });
  const key = index.keyOf(secret);
  const rollouts: DependentRollout[] = [];
  for (const wd of index.dependentsOf(secret)) {
    const applied = appliedVersions(wd.object)[key] ?? appliedVersions(wd.object)[formatSecretId(secret)];
    if (applied === undefined || !/^[0-9]+$/.test(applied)) continue;
    const m = wd.object.metadata;
    rollouts.push({
      workload: `${cluster} ${m?.namespace ?? 'default'}/${wd.object.kind ?? '?'}/${m?.name ?? '?'}`,
      applied: Number(applied),
      // No timeout here: a slow rollout holds as long as it is not done.
      health: rolloutHealth(wd.object, { pods: [], now, timeoutMs: Number.POSITIVE_INFINITY }),
    });
  }
  return rollouts;
}

/**
 * The PinnedVersions hook over live clusters (the workloads that can depend on the secret, and the
 * pod statuses of the classes that carry it, both streamed). Every
 * namespace counts, whatever ROTOR_NAMESPACES / ROTOR_EXCLUDE_NAMESPACES say: those lists limit
 * where Rotor acts, but a version pinned in a namespace it may not act on is still in use, and
 * disabling it would break that workload's next mount or sync.
 */
export function clusterPins(clusters: () => Promise<KubeApi[]>, projects: ProjectMap): PinnedVersions {
  return async (secret, versions) => {
    const pins = new Map<number, string>();
    const rollouts: DependentRollout[] = [];
    const serving: ServingPod[] = [];
    const clusterUses = new Map<number, string>();
    for (const api of await clusters()) {
      // No bare Pods: rotor-pins names no core resource (it cannot read a Secret), and a Pod's CSI
      // mounts are counted from the pod statuses.
      const scope = { kind: 'secret', secret: secret.id, projects, without: ['Pod'] } as const;
      const [inventory, statuses] = await Promise.all([
        liveInventory(api, {}, scope),
        podStatusesOf(api, secret.id, projects),
      ]);
      for (const v of pinsFromInventory(inventory, secret.id, projects, statuses))
        clusterUses.set(v, 'a workload in a cluster uses it');
      rollouts.push(...dependentRollouts(inventory, secret.id, projects, api.cluster, Date.now()));
      serving.push(...(await servingPodsOf(api, inventory, secret.id, projects, statuses)));
    }
    const known: KnownVersion[] = versions.map((v) => ({
      version: v.version,
      createdAtMs: v.createTime.getTime(),
      enabled: v.state === 'ENABLED',
    }));
    // What a pod serves is the most precise reason; a rollout that holds the version is added.
    for (const [v, why] of servedVersions(serving, known)) pins.set(v, why);
    const served = new Set(pins.keys());
    const enabled = known.filter((v) => v.enabled).map((v) => v.version);
    for (const [v, why] of rolloutHolds(rollouts, enabled))
      pins.set(v, served.has(v) && pins.has(v) ? `${pins.get(v)}; ${why}` : why);
    for (const [v, why] of clusterUses) if (!pins.has(v)) pins.set(v, why);
    return new ExplainedPins(pins);
  };
}

/** The cluster's SecretProviderClassPodStatuses of classes that may carry `secret`: one per pod, streamed. */
async function podStatusesOf(api: KubeApi, secret: SecretId, projects: ProjectMap): Promise<KubeObject[]> {
  const kept: KubeObject[] = [];
  await forEachPage(api, RESOURCES.spcPodStatuses, { limit: INVENTORY_PAGE_SIZE }, (page) => {
    for (const s of page) if (mountedVersions(s, secret, projects).length > 0) kept.push(s);
  });
  return kept;
}

/**
 * What each pod of the dependents of `secret` serves in one cluster (core/servedVersions.ts). Each
 * dependent's pods are listed by its selector, and kept by ownership (a Deployment's through its
 * ReplicaSets), as `rotor status` does; every namespace counts (see clusterPins).
 */
async function servingPodsOf(
  api: KubeApi,
  inventory: Inventory,
  secret: SecretId,
  projects: ProjectMap,
  statuses: readonly KubeObject[],
): Promise<ServingPod[]> {
  const index = new DependencyIndex(inventory, { projects });
  const inputs = { secret, secretKey: index.keyOf(secret), projects, spcPodStatuses: statuses };
  const out: ServingPod[] = [];
  for (const wd of index.dependentsOf(secret)) out.push(...servingPods(wd, await podsOf(api, wd), inputs));
  return out;
}

async function podsOf(api: KubeApi, wd: WorkloadDependencies): Promise<KubeObject[]> {
  const { podOwner } = kindOf(wd.ref.kind);
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
