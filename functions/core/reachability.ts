// Reachability: which workloads CAN depend on one Secret Manager secret, decided from the small
// kinds alone (SecretProviderClasses, ExternalSecrets and their stores), so that live discovery can
// stream workload pages and keep only those instead of holding the whole cluster. Pure.
//
// This is the ONE place that lists "which small objects can lead to a secret". A new discovery
// source (another sync object, another workload kind) adds its way in here, or discovery would
// never see the workloads it makes dependent. The rule is conservative: a workload is kept unless
// it certainly cannot depend on the secret; DependencyIndex then decides exactly, over the kept
// workloads and the same small kinds, so the result equals discovery over the whole cluster.
//
// A workload can depend on the secret through, and only through (new sources add a line here):
//   - a CSI volume naming a SecretProviderClass that has an entry for the secret;
//   - a Kubernetes Secret that Secret Manager values are synced into, read by env, envFrom or a
//     volume: the target of an ExternalSecret that references the secret (or may, through
//     `dataFrom.find`), a `secretObjects` Secret of a SecretProviderClass with such an entry, or
//     the Secret a GKE SecretSync writes (named as the SecretSync) from such a class;
//   - the workload-level `rotor.dev/secrets` annotation (kept whenever present: parsing it is
//     discovery's job and short names depend on the default project);
//   - the pod template of another workload: an Argo Rollout with `spec.workloadRef` runs its
//     Deployment's template (the Rollout is always kept, and so is the Deployment it names).
// A workload whose pod template cannot be read is kept.
import * as annotations from './annotations';
import { StoreIndex, readExternalSecret } from './externalSecret';
import type { Inventory } from './inventory';
import type { KubeObject } from './kube';
import { isObject, str } from './kube';
import { parsePodSpec, referencedSecretNames } from './podSpec';
import type { ProjectMap, SecretId } from './secretName';
import { secretKey } from './secretName';
import { readSecretProviderClass } from './secretProviderClass';
import { readSecretSync } from './secretSync';
import { podTemplate, workloadAnnotation } from './workloadKinds';

/** The small kinds reachability reads: everything of an Inventory but the workloads. */
export type SmallKinds = Pick<
  Inventory,
  'secretProviderClasses' | 'externalSecrets' | 'secretStores' | 'secretSyncs'
>;

export interface ReachabilityOptions {
  readonly projects: ProjectMap;
  readonly defaultProject?: string;
}

export interface Reachability {
  /** `namespace/name` of the Kubernetes Secrets the secret's values can be synced into. */
  readonly secrets: ReadonlySet<string>;
  /** `namespace/name` of the SecretProviderClasses with an entry for the secret. */
  readonly classes: ReadonlySet<string>;
}

/** Kinds whose objects may run another workload's pod template: filter them before the others. */
export const TEMPLATE_REFERRING_KINDS: readonly string[] = ['Rollout'];

const nsName = (namespace: string, name: string): string => `${namespace}/${name}`;

/** What in the small kinds can lead to `target`. */
export function reachabilityOf(small: SmallKinds, target: SecretId, opts: ReachabilityOptions): Reachability {
  const key = secretKey(target, opts.projects);
  const matches = (id: SecretId): boolean => secretKey(id, opts.projects) === key;
  const secrets = new Set<string>();
  const classes = new Set<string>();
  for (const o of small.secretProviderClasses) {
    // One that does not parse is left out by discovery too: it can lead nowhere.
    const spc = attempt(() => readSecretProviderClass(o));
    if (!spc || !spc.entries.some((e) => matches(e.ref.id))) continue;
    classes.add(nsName(spc.namespace, spc.name));
    for (const so of spc.secretObjects) secrets.add(nsName(spc.namespace, so.secretName));
  }
  // GKE's secret sync: the Secret of the SecretSync's name, from a class carrying the secret. Any
  // path of the class is kept (discovery matches the synced paths exactly).
  for (const o of small.secretSyncs ?? []) {
    const sync = attempt(() => readSecretSync(o));
    if (sync && classes.has(nsName(sync.namespace, sync.secretProviderClass)))
      secrets.add(nsName(sync.namespace, sync.name));
  }
  const stores = new StoreIndex(small.secretStores);
  for (const o of small.externalSecrets) {
    const eso = attempt(() =>
      readExternalSecret(o, stores, opts.defaultProject ? { defaultProject: opts.defaultProject } : {}),
    );
    if (!eso) continue;
    // A find selector may match any name: its target is kept, discovery matches exactly.
    if (eso.findPatterns.length > 0 || eso.references.some((r) => matches(r.id)))
      secrets.add(nsName(eso.namespace, eso.targetName));
  }
  return { secrets, classes };
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/**
 * The Deployment whose pod template a Rollout runs (`spec.workloadRef`, when it has no template of
 * its own), as `{namespace, name}`; undefined for every other object. Discovery follows it too.
 */
export function referencedTemplate(
  w: KubeObject,
): { kind: string; namespace: string; name: string } | undefined {
  if (w.kind !== 'Rollout' || !isObject(w.spec) || isObject(w.spec.template) || !isObject(w.spec.workloadRef))
    return undefined;
  return {
    kind: str(w.spec.workloadRef.kind) ?? '',
    namespace: w.metadata?.namespace ?? 'default',
    name: str(w.spec.workloadRef.name) ?? '',
  };
}

/** Whether workload `w` can depend on the secret, by its own pod template and annotations. */
export function mayDepend(w: KubeObject, reach: Reachability): boolean {
  return mayDependOn(w, [reach]).length > 0;
}

/**
 * The indices of the secrets (by their reachabilities) workload `w` can depend on, by its own pod
 * template and annotations: `mayDepend` for several secrets at once, reading the template once.
 */
export function mayDependOn(w: KubeObject, reaches: readonly Reachability[]): number[] {
  const every = (): number[] => reaches.map((_, i) => i);
  if (workloadAnnotation(w, annotations.SECRETS) !== undefined) return every();
  if (referencedTemplate(w)) return every();
  const spec = podTemplate(w)?.spec;
  if (!spec) return []; // no pod template: discovery finds nothing in it either
  const ns = w.metadata?.namespace ?? 'default';
  const pod = attempt(() => parsePodSpec(spec));
  if (!pod) return every();
  const secrets = [...referencedSecretNames(pod)].map((name) => nsName(ns, name));
  const classes: string[] = [];
  for (const v of pod.volumes.values()) {
    const spc = v.csi?.secretProviderClass;
    if (spc !== undefined) classes.push(nsName(ns, spc));
  }
  const out: number[] = [];
  reaches.forEach((reach, i) => {
    if (secrets.some((s) => reach.secrets.has(s)) || classes.some((c) => reach.classes.has(c))) out.push(i);
  });
  return out;
}

/**
 * The streaming filter for several secrets at once (one discovery serving several events): per
 * workload, the indices of the secrets it can depend on (`mayDependOn`), and every Deployment a
 * kept Rollout runs the template of (kept for every secret, as the Rollout is). Stateful (it
 * remembers those Deployments), so objects of TEMPLATE_REFERRING_KINDS must be offered first.
 */
export class WorkloadFilters {
  private readonly referenced = new Set<string>();

  constructor(private readonly reaches: readonly Reachability[]) {}

  keptBy(w: KubeObject): number[] {
    const ns = w.metadata?.namespace ?? 'default';
    const kept =
      w.kind === 'Deployment' && this.referenced.has(nsName(ns, w.metadata?.name ?? ''))
        ? this.reaches.map((_, i) => i)
        : mayDependOn(w, this.reaches);
    const ref = kept.length > 0 ? referencedTemplate(w) : undefined;
    if (ref && ref.kind === 'Deployment') this.referenced.add(nsName(ref.namespace, ref.name));
    return kept;
  }

  /**
   * What a workload of a built-in kind (its pod template validated by the API server; never one of
   * TEMPLATE_REFERRING_KINDS) must name, as a whole key or string value, for keptBy to keep it once
   * the Rollouts were offered: the key rotor.dev/secrets anywhere, or, in its own namespace, a
   * Secret or class a secret reaches (read as whole values: secretKeyRef, secretRef, secretName,
   * volumeAttributes.secretProviderClass) or a Deployment a kept Rollout runs (its metadata.name).
   * Its other ways in do not apply: it runs no other template, and a validated template is
   * readable. For a byte-level pre-filter of list items (cluster/listItems.ts mentioning).
   */
  mentionsToKeep(): { anywhere: string[]; namespaced: string[] } {
    const namespaced = new Set<string>(this.referenced);
    for (const reach of this.reaches) {
      for (const s of reach.secrets) namespaced.add(s);
      for (const c of reach.classes) namespaced.add(c);
    }
    return { anywhere: [annotations.SECRETS], namespaced: [...namespaced] };
  }
}

/** WorkloadFilters for one secret: keeps what `mayDepend` keeps, and the Deployments kept Rollouts run. */
export class WorkloadFilter {
  private readonly filters: WorkloadFilters;

  constructor(reach: Reachability) {
    this.filters = new WorkloadFilters([reach]);
  }

  keep(w: KubeObject): boolean {
    return this.filters.keptBy(w).length > 0;
  }
}
