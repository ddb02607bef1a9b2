// Discovery: which workloads depend on a Secret Manager secret, and through what. Pure: it reads
// an Inventory and builds an index once (secret → dependent workloads), so answering for one
// event, or twenty, costs a map lookup each.
import { InputError } from '../errors';
import * as annotations from './annotations';
import type { EsoInfo, FindPattern } from './externalSecret';
import { StoreIndex, readExternalSecret } from './externalSecret';
import { expandClusterExternalSecrets, owningClusterExternalSecret } from './clusterExternalSecret';
import { esoNeverRefreshes } from './esoRefresh';
import { readSecretSync } from './secretSync';
import type { Inventory } from './inventory';
import type { KubeObject, WorkloadKind, WorkloadRef } from './kube';
import { describeObject, isObject } from './kube';
import { podTemplate, workloadAnnotation, workloadKindOf } from './workloadKinds';
import { referencedTemplate } from './reachability';
import type { SecretId, VersionSelector } from './secretName';
import { ProjectMap, formatSecretId, parseSecretArg, secretKey } from './secretName';
import type { ContainerView, PodSpecView, VolumeView } from './podSpec';
import { parsePodSpec, referencedSecretNames } from './podSpec';
import type { SpcInfo } from './secretProviderClass';
import { CSI_DRIVERS, isGoogleProvider, readSecretProviderClass } from './secretProviderClass';

/** How a container receives the secret: the `via` of the output contract. */
export type Via = 'env' | 'envFrom' | 'volume' | 'subPath' | 'csi' | 'init' | 'annotation';

/** Where the value comes from on its way into the pod. */
export type DependencySource =
  | {
      readonly kind: 'csi';
      readonly namespace: string;
      readonly spc: string;
      readonly file: string;
      readonly driver: string;
      readonly resourceName: string;
    }
  | {
      readonly kind: 'eso';
      readonly namespace: string;
      readonly externalSecret: string;
      readonly secretName: string;
      /**
       * Why ESO never refreshes this ExternalSecret after its first sync (`refreshPolicy
       * CreatedOnce`, `refreshInterval 0`), so a new version never reaches its Secret; absent
       * when it refreshes (esoRefresh.ts).
       */
      readonly neverRefreshes?: string;
    }
  | {
      readonly kind: 'csi-sync';
      readonly namespace: string;
      readonly spc: string;
      readonly secretName: string;
    }
  | {
      /** GKE's secret sync: a SecretSync of the Secret's name, from a SecretProviderClass. */
      readonly kind: 'gke-sync';
      readonly namespace: string;
      readonly secretSync: string;
      readonly spc: string;
      readonly secretName: string;
    }
  | { readonly kind: 'api' };

/** What exactly the container reads, as structured fields (reasons and details are built from them). */
export type DependencyRead =
  | { readonly kind: 'env'; readonly env: string | undefined; readonly key: string | undefined }
  | { readonly kind: 'envFrom'; readonly prefix: string | undefined }
  | {
      readonly kind: 'volume';
      readonly volume: string | undefined;
      readonly mountPath: string | undefined;
      readonly subPath: string | undefined;
    }
  | {
      readonly kind: 'csi';
      readonly volume: string;
      readonly mountPath: string | undefined;
      readonly subPath: string | undefined;
    }
  | { readonly kind: 'api' };

export interface Dependency {
  readonly via: Via;
  /** Container name; empty for the workload-level `rotor.dev/secrets` annotation. */
  readonly container: string;
  /** One line: what reads what, from where. */
  readonly detail: string;
  /** The version the reference selects: `latest`, a number (pinned) or an alias. */
  readonly version: VersionSelector;
  readonly secret: SecretId;
  readonly source: DependencySource;
  readonly read: DependencyRead;
  /** True when a new value reaches the running container without a restart (files that update in place, API reads). */
  readonly inPlace: boolean;
}

export interface WorkloadDependencies {
  readonly ref: WorkloadRef;
  readonly object: KubeObject;
  readonly dependencies: readonly Dependency[];
}

export interface DiscoveryOptions {
  readonly projects?: ProjectMap;
  /** Resolves short names in `rotor.dev/secrets` and stores that name no project. */
  readonly defaultProject?: string;
  /**
   * Called with what cannot be resolved (a missing SecretProviderClass or store, a bad annotation).
   * Offline plans turn these into errors or warnings; live runs log them and go on.
   */
  readonly onProblem?: (message: string) => void;
  /**
   * A SecretProviderClass or ExternalSecret that does not parse: true throws its InputError (an
   * offline plan exits 2 naming it); false (the default, for live clusters) reports it through
   * onProblem and leaves it out, so that one broken object does not stop every rotation.
   */
  readonly strict?: boolean;
}

/** A Kubernetes Secret written from Secret Manager, and which secrets land under which keys. */
interface SyncedSecret {
  readonly origin: 'eso' | 'csi-sync' | 'gke-sync';
  readonly owner: string;
  readonly refs: ReadonlyArray<{ id: SecretId; version: VersionSelector; key?: string; detail: string }>;
  readonly eso?: EsoInfo;
  readonly spc?: SpcInfo;
}

export class DependencyIndex {
  private readonly projects: ProjectMap;
  private readonly byKey = new Map<string, Map<number, Dependency[]>>();
  /** ESO `find` selectors, checked against the target at lookup time. */
  private readonly finds: Array<{
    workload: number;
    find: FindPattern;
    make: (id: SecretId) => Dependency[];
  }> = [];
  private readonly refs: WorkloadRef[] = [];
  private readonly objects: KubeObject[] = [];

  constructor(
    readonly inventory: Inventory,
    private readonly options: DiscoveryOptions = {},
  ) {
    this.projects = options.projects ?? new ProjectMap();
    const problem = options.onProblem ?? (() => undefined);

    /** Reads one object; lenient mode reports a malformed one and skips it. */
    const read = <T>(what: () => T): T | undefined => {
      try {
        return what();
      } catch (e) {
        if (options.strict || !(e instanceof InputError)) throw e;
        problem(`${e.message} (left out)`);
        return undefined;
      }
    };

    const spcs = new Map<string, SpcInfo>();
    for (const o of inventory.secretProviderClasses) {
      const info = read(() => readSecretProviderClass(o));
      if (info) spcs.set(`${info.namespace}/${info.name}`, info);
    }
    const synced = new Map<string, SyncedSecret[]>();
    const addSynced = (ns: string, name: string, s: SyncedSecret): void => {
      const k = `${ns}/${name}`;
      const list = synced.get(k);
      if (list) list.push(s);
      else synced.set(k, [s]);
    };
    for (const spc of spcs.values()) {
      if (spc.secretObjects.length === 0) continue;
      if (spc.provider === 'gke') {
        problem(
          `SecretProviderClass ${spc.namespace}/${spc.name}: secretObjects sync is a feature of the open-source driver (provider gcp); the GKE add-on ignores it`,
        );
        continue;
      }
      for (const so of spc.secretObjects) {
        const refs = so.items.flatMap((item) =>
          spc.entries
            .filter((e) => e.file === item.objectName)
            .map((e) => ({
              id: e.ref.id,
              version: e.ref.version,
              ...(item.key ? { key: item.key } : {}),
              detail: `synced by SecretProviderClass ${spc.namespace}/${spc.name} (secretObjects, ${e.file})`,
            })),
        );
        addSynced(spc.namespace, so.secretName, {
          origin: 'csi-sync',
          owner: `${spc.namespace}/${spc.name}`,
          refs,
          spc,
        });
      }
    }
    // GKE's secret sync: each SecretSync writes the Secret of its name from a `gke` class.
    for (const o of inventory.secretSyncs ?? []) {
      const sync = read(() => readSecretSync(o));
      if (!sync) continue;
      const spc = spcs.get(`${sync.namespace}/${sync.secretProviderClass}`);
      if (!spc) {
        problem(
          `SecretSync ${sync.namespace}/${sync.name}: SecretProviderClass ${sync.namespace}/${sync.secretProviderClass} was not found`,
        );
        continue;
      }
      const refs = sync.items.flatMap((item) =>
        spc.entries
          .filter((e) => e.file === item.sourcePath)
          .map((e) => ({
            id: e.ref.id,
            version: e.ref.version,
            key: item.targetKey,
            detail: `synced by SecretSync ${sync.namespace}/${sync.name} (SecretProviderClass ${spc.name}, path ${e.file})`,
          })),
      );
      addSynced(sync.namespace, sync.name, {
        origin: 'gke-sync',
        owner: `${sync.namespace}/${sync.name}`,
        refs,
        spc,
      });
    }
    const stores = new StoreIndex(inventory.secretStores);
    /** ExternalSecrets with dataFrom find, by namespace. */
    const esoFinds = new Map<string, EsoInfo[]>();
    // ClusterExternalSecrets (offline): the ExternalSecrets ESO would create from them.
    const children = (inventory.clusterExternalSecrets ?? []).flatMap(
      (ces) =>
        read(() =>
          expandClusterExternalSecrets([ces], inventory.namespaces ?? [], inventory.externalSecrets, problem),
        ) ?? [],
    );
    for (const o of [...inventory.externalSecrets, ...children]) {
      const eso = read(() =>
        readExternalSecret(o, stores, {
          ...(options.defaultProject ? { defaultProject: options.defaultProject } : {}),
          onProblem: problem,
        }),
      );
      if (!eso) continue;
      const refs = eso.references.map((r) => ({
        id: r.id,
        version: r.version,
        ...(r.secretKey ? { key: r.secretKey } : {}),
        detail: `synced by ${describeExternalSecret(eso)} (${r.detail})`,
      }));
      addSynced(eso.namespace, eso.targetName, {
        origin: 'eso',
        owner: `${eso.namespace}/${eso.name}`,
        refs,
        eso,
      });
      if (eso.findPatterns.length > 0)
        esoFinds.set(eso.namespace, [...(esoFinds.get(eso.namespace) ?? []), eso]);
    }

    // Argo Rollouts may run the pod template of a Deployment they reference (spec.workloadRef).
    const deployments = new Map<string, KubeObject>();
    for (const w of inventory.workloads)
      if (w.kind === 'Deployment')
        deployments.set(`${w.metadata?.namespace ?? 'default'}/${w.metadata?.name ?? ''}`, w);

    // A CronJob's Jobs and a controller's Pods are covered by the workload that owns them.
    const standalone = inventory.workloads.filter((o) => workloadKindOf(o)?.standalone(o) ?? false);
    standalone.forEach((object, index) => {
      const ref = workloadRef(inventory.cluster, object);
      this.refs.push(ref);
      this.objects.push(object);
      // What the pods run: the object itself, or for a Rollout with workloadRef, its Deployment's template.
      const w = withReferencedTemplate(object, ref, deployments, problem);
      const spec = podTemplate(w)?.spec;
      const pod = spec ? parsePodSpec(spec) : undefined;
      for (const dep of scanWorkload(w, pod, ref, spcs, synced, options, problem)) this.add(index, dep);
      // ESO find-by-name: the dependency exists for any secret whose name matches.
      const ns = ref.namespace;
      for (const eso of esoFinds.get(ns) ?? []) {
        const consumers = pod ? secretConsumers(pod, eso.targetName) : [];
        if (consumers.length === 0) continue;
        for (const f of eso.findPatterns) {
          this.finds.push({
            workload: index,
            find: f,
            make: (id) =>
              consumers
                // Keyed by name: a read of some keys sees only the secrets named like them.
                .filter((c) => !f.keyedByName || seesKey(c.keys, id.secret))
                .map((c) =>
                  dependencyFromConsumer(
                    c,
                    {
                      id,
                      version: 'latest',
                      detail: `synced by ${describeExternalSecret(eso)} (${f.detail})`,
                    },
                    esoSource(eso, ns, eso.targetName),
                    eso.targetName,
                  ),
                ),
          });
        }
      }
    });
  }

  private add(workload: number, dep: Dependency): void {
    const key = secretKey(dep.secret, this.projects);
    let perWorkload = this.byKey.get(key);
    if (!perWorkload) {
      perWorkload = new Map();
      this.byKey.set(key, perWorkload);
    }
    const list = perWorkload.get(workload);
    if (!list) perWorkload.set(workload, [dep]);
    else if (!list.some((d) => d.via === dep.via && d.container === dep.container && d.detail === dep.detail))
      list.push(dep);
  }

  /** Every workload that depends on `target`, with each dependency; in inventory order. */
  dependentsOf(target: SecretId): WorkloadDependencies[] {
    const key = secretKey(target, this.projects);
    const found = new Map<number, Dependency[]>();
    for (const [w, deps] of this.byKey.get(key) ?? []) found.set(w, [...deps]);
    for (const { workload, find, make } of this.finds) {
      const storeProject = find.store.project ?? this.options.defaultProject;
      if (!storeProject) continue;
      const candidate: SecretId = find.store.location
        ? { project: storeProject, location: find.store.location, secret: target.secret }
        : { project: storeProject, secret: target.secret };
      if (secretKey(candidate, this.projects) !== key || !find.pattern.test(target.secret)) continue;
      if (find.path !== undefined && !target.secret.startsWith(find.path)) continue;
      const deps = make(target);
      if (deps.length === 0) continue;
      const list = found.get(workload) ?? [];
      list.push(...deps);
      found.set(workload, list);
    }
    return [...found.entries()]
      .sort(([a], [b]) => a - b)
      .map(([w, dependencies]) => ({ ref: this.refs[w], object: this.objects[w], dependencies }));
  }

  /**
   * Every Secret Manager secret some workload names (not those only an ESO `find` pattern would
   * pull in: they are known only once a name is given), with its dependents, by normalised key.
   */
  secretsInUse(): Array<{ key: string; secret: SecretId; dependents: WorkloadDependencies[] }> {
    const out: Array<{ key: string; secret: SecretId; dependents: WorkloadDependencies[] }> = [];
    for (const [key, perWorkload] of this.byKey) {
      const dependents = [...perWorkload.entries()]
        .sort(([a], [b]) => a - b)
        .map(([w, dependencies]) => ({ ref: this.refs[w], object: this.objects[w], dependencies }));
      const first = dependents[0]?.dependencies[0];
      if (first) out.push({ key, secret: first.secret, dependents });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  /** The normalised identity used to compare secrets (project id when the number is mapped). */
  keyOf(id: SecretId): string {
    return secretKey(id, this.projects);
  }
}

/**
 * A Rollout with `spec.workloadRef` (kind Deployment) and no template of its own runs the
 * referenced Deployment's pod template: scan that one. Other objects are returned as they are.
 */
function withReferencedTemplate(
  w: KubeObject,
  ref: WorkloadRef,
  deployments: ReadonlyMap<string, KubeObject>,
  problem: (m: string) => void,
): KubeObject {
  const target = referencedTemplate(w);
  if (!target) return w;
  const { kind, name } = target;
  if (kind !== 'Deployment') {
    problem(`${describeObject(w)}: workloadRef ${kind} ${name} is not followed (only Deployment)`);
    return w;
  }
  const deployment = deployments.get(`${ref.namespace}/${name}`);
  const template = deployment ? podTemplate(deployment) : undefined;
  if (!template) {
    problem(`${describeObject(w)}: workloadRef Deployment ${ref.namespace}/${name} was not found`);
    return w;
  }
  return { ...w, spec: { ...(isObject(w.spec) ? w.spec : {}), template } };
}

export function workloadRef(cluster: string, w: KubeObject): WorkloadRef {
  return {
    cluster,
    kind: w.kind as WorkloadKind,
    namespace: w.metadata?.namespace ?? 'default',
    name: w.metadata?.name ?? '',
  };
}

/** How one container reads a Kubernetes Secret. */
interface SecretConsumer {
  readonly container: ContainerView;
  readonly read: Extract<DependencyRead, { kind: 'env' | 'envFrom' | 'volume' }>;
  /**
   * The keys of the Secret this read can see: env reads one key; a volume with `items`, or a
   * `subPath` into a volume, sees some; undefined means every key (envFrom, a whole volume).
   */
  readonly keys?: readonly string[];
}

/** Whether a read that sees `keys` (undefined: all) can see `key` (undefined: unknown, maybe any). */
function seesKey(keys: readonly string[] | undefined, key: string | undefined): boolean {
  return keys === undefined || key === undefined || keys.includes(key);
}

/**
 * The keys of `secretName` a mount of `vol` exposes: a secret volume (or a projected source) maps
 * keys to files, all of them or the `items` listed; a `subPath` picks one file (or directory).
 */
function volumeKeys(
  vol: VolumeView,
  secretName: string,
  subPath: string | undefined,
): readonly string[] | undefined {
  const under = (path: string): boolean =>
    subPath === undefined || path === subPath || path.startsWith(subPath.replace(/\/?$/, '/'));
  const keys: string[] = [];
  for (const src of vol.secrets) {
    if (src.secretName !== secretName) continue;
    if (src.items === undefined) {
      // Every key is a file named after it: a subPath selects the key of its first segment.
      if (subPath === undefined || subPath.includes('$(')) return undefined;
      keys.push(subPath.split('/')[0] ?? subPath);
      continue;
    }
    for (const it of src.items) {
      const path = it.path ?? it.key;
      if (it.key && path && under(path)) keys.push(it.key);
    }
  }
  return keys;
}

/** Every way the workload's containers read the Kubernetes Secret `secretName`. */
function secretConsumers(pod: PodSpecView, secretName: string): SecretConsumer[] {
  const out: SecretConsumer[] = [];
  for (const c of pod.containers) {
    for (const e of c.env) {
      if (e.secretName !== secretName) continue;
      out.push({
        container: c,
        read: { kind: 'env', env: e.env, key: e.key },
        ...(e.key ? { keys: [e.key] } : {}),
      });
    }
    for (const e of c.envFrom)
      if (e.secretName === secretName)
        out.push({ container: c, read: { kind: 'envFrom', prefix: e.prefix } });
    for (const m of c.mounts) {
      const vol = pod.volumes.get(m.volume ?? '');
      if (!vol || !vol.secrets.some((s) => s.secretName === secretName)) continue;
      const keys = volumeKeys(vol, secretName, m.subPath);
      if (keys !== undefined && keys.length === 0) continue; // the mount exposes none of this Secret's keys
      out.push({
        container: c,
        read: { kind: 'volume', volume: m.volume, mountPath: m.mountPath, subPath: m.subPath },
        ...(keys ? { keys } : {}),
      });
    }
  }
  return out;
}

/** "env DB_PASSWORD (key pw)", "envFrom (prefix DB_)", "volume creds at /etc/creds (subPath pw)". */
export function describeRead(read: DependencyRead): string {
  switch (read.kind) {
    case 'env':
      return `env ${read.env ?? '?'} (key ${read.key ?? '?'})`;
    case 'envFrom':
      return `envFrom${read.prefix ? ` (prefix ${read.prefix})` : ''}`;
    case 'volume':
    case 'csi':
      return `volume ${read.volume ?? '?'} at ${read.mountPath ?? '?'}${read.subPath ? ` (subPath ${read.subPath})` : ''}`;
    case 'api':
      return annotations.SECRETS;
  }
}

function dependencyFromConsumer(
  c: SecretConsumer,
  ref: { id: SecretId; version: VersionSelector; detail: string },
  source: DependencySource,
  secretName: string,
): Dependency {
  const via: Via = c.container.init
    ? 'init'
    : c.read.kind === 'volume'
      ? c.read.subPath
        ? 'subPath'
        : 'volume'
      : c.read.kind;
  const inPlace = via === 'volume';
  const container = c.container.init ? `${c.container.name} (init)` : c.container.name;
  return {
    via,
    container: c.container.name,
    detail: `${describeRead(c.read)} in ${container} reads Secret ${secretName}, ${ref.detail}, ${formatSecretId(ref.id)} version ${ref.version}`,
    version: ref.version,
    secret: ref.id,
    source,
    read: c.read,
    inPlace,
  };
}

function scanWorkload(
  w: KubeObject,
  pod: PodSpecView | undefined,
  ref: WorkloadRef,
  spcs: Map<string, SpcInfo>,
  synced: Map<string, SyncedSecret[]>,
  options: DiscoveryOptions,
  problem: (m: string) => void,
): Dependency[] {
  const deps: Dependency[] = [];
  const ns = ref.namespace;
  if (pod) {
    // Kubernetes Secrets written from Secret Manager, as the containers read them.
    for (const secretName of referencedSecretNames(pod)) {
      const syncedAs = synced.get(`${ns}/${secretName}`);
      if (!syncedAs) continue;
      const consumers = secretConsumers(pod, secretName);
      if (consumers.length === 0) continue;
      for (const s of syncedAs) {
        const source: DependencySource =
          s.origin === 'eso'
            ? s.eso
              ? esoSource(s.eso, ns, secretName)
              : { kind: 'eso', namespace: ns, externalSecret: '', secretName }
            : s.origin === 'gke-sync'
              ? {
                  kind: 'gke-sync',
                  namespace: ns,
                  secretSync: secretName,
                  spc: s.spc?.name ?? '',
                  secretName,
                }
              : { kind: 'csi-sync', namespace: ns, spc: s.spc?.name ?? '', secretName };
        for (const c of consumers) {
          for (const r of s.refs) {
            // A read that sees some keys depends only on the secrets synced under those keys.
            if (!seesKey(c.keys, r.key)) continue;
            deps.push(dependencyFromConsumer(c, r, source, secretName));
          }
        }
      }
    }
    // CSI volumes mounted straight from Secret Manager.
    for (const c of pod.containers) {
      for (const m of c.mounts) {
        const vol = pod.volumes.get(m.volume ?? '');
        if (!vol?.csi) continue;
        const { driver } = vol.csi;
        const provider = CSI_DRIVERS[driver];
        if (!provider) continue;
        const spcName = vol.csi.secretProviderClass;
        if (!spcName) {
          problem(`${describeObject(w)}: CSI volume ${vol.name} names no secretProviderClass`);
          continue;
        }
        const spc = spcs.get(`${ns}/${spcName}`);
        if (!spc) {
          problem(
            `${describeObject(w)}: SecretProviderClass ${ns}/${spcName} (volume ${vol.name}) was not found`,
          );
          continue;
        }
        if (!isGoogleProvider(spc.provider)) continue; // Vault, AWS, Azure: not Secret Manager's
        if (spc.provider !== provider) {
          problem(
            `${describeObject(w)}: volume ${vol.name} uses driver ${driver} but SecretProviderClass ${ns}/${spcName} has provider ${spc.provider} (expected ${provider})`,
          );
        }
        const { subPath } = m;
        const mountPath = m.mountPath ?? '?';
        for (const e of spc.entries) {
          // A subPath mount exposes one file (or directory) of the volume: only entries under it count.
          if (subPath && !(e.file === subPath || e.file.startsWith(subPath.replace(/\/?$/, '/')))) continue;
          const via: Via = c.init ? 'init' : subPath ? 'subPath' : 'csi';
          const container = c.init ? `${c.name} (init)` : c.name;
          deps.push({
            via,
            container: c.name,
            detail: `CSI volume ${vol.name} (${driver}, SecretProviderClass ${spcName}) file ${e.file} at ${mountPath}${subPath ? ` via subPath ${subPath}` : ''} in ${container}, ${e.resourceName}`,
            version: e.ref.version,
            secret: e.ref.id,
            source: {
              kind: 'csi',
              namespace: ns,
              spc: spcName,
              file: e.file,
              driver,
              resourceName: e.resourceName,
            },
            read: { kind: 'csi', volume: vol.name, mountPath: m.mountPath, subPath },
            inPlace: via === 'csi',
          });
        }
      }
    }
  }
  // Apps that call the Secret Manager API themselves declare what they read.
  const declared = workloadAnnotation(w, annotations.SECRETS);
  if (declared) {
    for (const item of declared
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      try {
        const r = parseSecretArg(item, options.defaultProject);
        deps.push({
          via: 'annotation',
          container: '',
          detail: `${annotations.SECRETS} declares ${formatSecretId(r.id)} version ${r.version ?? 'latest'} (read through the Secret Manager API)`,
          version: r.version ?? 'latest',
          secret: r.id,
          source: { kind: 'api' },
          read: { kind: 'api' },
          inPlace: true,
        });
      } catch (e) {
        problem(`${describeObject(w)}: annotation ${annotations.SECRETS}: ${(e as Error).message}`);
      }
    }
  }
  return deps;
}

/** "ExternalSecret shop/db", or "ExternalSecret shop/db (from ClusterExternalSecret db)" for ESO's children. */
function describeExternalSecret(eso: EsoInfo): string {
  const parent = owningClusterExternalSecret(eso.source);
  return `ExternalSecret ${eso.namespace}/${eso.name}${parent ? ` (from ClusterExternalSecret ${parent.name})` : ''}`;
}

function esoSource(eso: EsoInfo, namespace: string, secretName: string): DependencySource {
  const never = esoNeverRefreshes(eso.source);
  return {
    kind: 'eso',
    namespace,
    externalSecret: eso.name,
    secretName,
    ...(never ? { neverRefreshes: never } : {}),
  };
}

/** Parses `rotor.dev/applied` leniently: a corrupt annotation is treated as empty, never fatal. */
export function appliedVersions(w: KubeObject): Record<string, string> {
  const raw = w.metadata?.annotations?.[annotations.APPLIED];
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!isObject(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}
