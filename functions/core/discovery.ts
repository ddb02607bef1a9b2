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

/** How one scan reports: the options' problem sink, and a reader that is lenient unless strict. */
interface Scan {
  readonly problem: (message: string) => void;
  /** Reads one object; lenient mode reports a malformed one and skips it. */
  read<T>(what: () => T): T | undefined;
}

function lenientScan(options: DiscoveryOptions): Scan {
  const problem = options.onProblem ?? (() => undefined);
  return {
    problem,
    read<T>(what: () => T): T | undefined {
      try {
        return what();
      } catch (e) {
        if (options.strict || !(e instanceof InputError)) throw e;
        problem(`${e.message} (left out)`);
        return undefined;
      }
    },
  };
}

/** What the workloads of one inventory may read, indexed by `namespace/name`. */
interface SecretSources {
  readonly spcs: ReadonlyMap<string, SpcInfo>;
  /** Kubernetes Secrets written from Secret Manager, by `namespace/secret name`. */
  readonly synced: ReadonlyMap<string, SyncedSecret[]>;
  /** ExternalSecrets with dataFrom find, by namespace. */
  readonly esoFinds: ReadonlyMap<string, EsoInfo[]>;
  /** Argo Rollouts may run the pod template of a Deployment they reference (spec.workloadRef). */
  readonly deployments: ReadonlyMap<string, KubeObject>;
}

function readSecretProviderClasses(inventory: Inventory, scan: Scan): Map<string, SpcInfo> {
  const spcs = new Map<string, SpcInfo>();
  for (const o of inventory.secretProviderClasses) {
    const info = scan.read(() => readSecretProviderClass(o));
    if (info) spcs.set(`${info.namespace}/${info.name}`, info);
  }
  return spcs;
}

function addSynced(synced: Map<string, SyncedSecret[]>, ns: string, name: string, s: SyncedSecret): void {
  const k = `${ns}/${name}`;
  const list = synced.get(k);
  if (list) list.push(s);
  else synced.set(k, [s]);
}

/** The open-source CSI driver's secretObjects: each writes a Secret from the class's files. */
function addCsiSyncedSecrets(
  spcs: ReadonlyMap<string, SpcInfo>,
  synced: Map<string, SyncedSecret[]>,
  scan: Scan,
): void {
  for (const spc of spcs.values()) {
    if (spc.secretObjects.length === 0) continue;
    if (spc.provider === 'gke') {
      scan.problem(
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
      addSynced(synced, spc.namespace, so.secretName, {
        origin: 'csi-sync',
        owner: `${spc.namespace}/${spc.name}`,
        refs,
        spc,
      });
    }
  }
}

/** GKE's secret sync: each SecretSync writes the Secret of its name from a `gke` class. */
function addGkeSyncedSecrets(
  inventory: Inventory,
  spcs: ReadonlyMap<string, SpcInfo>,
  synced: Map<string, SyncedSecret[]>,
  scan: Scan,
): void {
  for (const o of inventory.secretSyncs ?? []) {
    const sync = scan.read(() => readSecretSync(o));
    if (!sync) continue;
    const spc = spcs.get(`${sync.namespace}/${sync.secretProviderClass}`);
    if (!spc) {
      scan.problem(
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
    addSynced(synced, sync.namespace, sync.name, {
      origin: 'gke-sync',
      owner: `${sync.namespace}/${sync.name}`,
      refs,
      spc,
    });
  }
}

/**
 * ExternalSecrets, and offline the ones ESO would create from ClusterExternalSecrets: each writes
 * its target Secret. Returns the ones with dataFrom find, by namespace.
 */
function addEsoSyncedSecrets(
  inventory: Inventory,
  synced: Map<string, SyncedSecret[]>,
  scan: Scan,
  options: DiscoveryOptions,
): Map<string, EsoInfo[]> {
  const stores = new StoreIndex(inventory.secretStores);
  const esoFinds = new Map<string, EsoInfo[]>();
  const children = (inventory.clusterExternalSecrets ?? []).flatMap(
    (ces) =>
      scan.read(() =>
        expandClusterExternalSecrets(
          [ces],
          inventory.namespaces ?? [],
          inventory.externalSecrets,
          scan.problem,
        ),
      ) ?? [],
  );
  for (const o of [...inventory.externalSecrets, ...children]) {
    const eso = scan.read(() =>
      readExternalSecret(o, stores, {
        ...(options.defaultProject ? { defaultProject: options.defaultProject } : {}),
        onProblem: scan.problem,
      }),
    );
    if (!eso) continue;
    const refs = eso.references.map((r) => ({
      id: r.id,
      version: r.version,
      ...(r.secretKey ? { key: r.secretKey } : {}),
      detail: `synced by ${describeExternalSecret(eso)} (${r.detail})`,
    }));
    addSynced(synced, eso.namespace, eso.targetName, {
      origin: 'eso',
      owner: `${eso.namespace}/${eso.name}`,
      refs,
      eso,
    });
    if (eso.findPatterns.length > 0)
      esoFinds.set(eso.namespace, [...(esoFinds.get(eso.namespace) ?? []), eso]);
  }
  return esoFinds;
}

function deploymentsByName(inventory: Inventory): Map<string, KubeObject> {
  const deployments = new Map<string, KubeObject>();
  for (const w of inventory.workloads)
    if (w.kind === 'Deployment')
      deployments.set(`${w.metadata?.namespace ?? 'default'}/${w.metadata?.name ?? ''}`, w);
  return deployments;
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

  /**
   * Scans the inventory once: what writes Kubernetes Secrets from Secret Manager (CSI secretObjects,
   * SecretSyncs, ExternalSecrets and ClusterExternalSecrets' children), then each standalone
   * workload's reads of them, of CSI volumes and of declared API secrets.
   */
  constructor(
    readonly inventory: Inventory,
    private readonly options: DiscoveryOptions = {},
  ) {
    this.projects = options.projects ?? new ProjectMap();
    const scan = lenientScan(options);
    const spcs = readSecretProviderClasses(inventory, scan);
    const synced = new Map<string, SyncedSecret[]>();
    addCsiSyncedSecrets(spcs, synced, scan);
    addGkeSyncedSecrets(inventory, spcs, synced, scan);
    const esoFinds = addEsoSyncedSecrets(inventory, synced, scan, options);
    const sources: SecretSources = { spcs, synced, esoFinds, deployments: deploymentsByName(inventory) };
    // A CronJob's Jobs and a controller's Pods are covered by the workload that owns them.
    const standalone = inventory.workloads.filter((o) => workloadKindOf(o)?.standalone(o) ?? false);
    standalone.forEach((object, index) => this.indexWorkload(index, object, sources, scan));
  }

  /** One workload: its dependencies by secret, and its ESO find-by-name patterns. */
  private indexWorkload(index: number, object: KubeObject, sources: SecretSources, scan: Scan): void {
    const ref = workloadRef(this.inventory.cluster, object);
    this.refs.push(ref);
    this.objects.push(object);
    // What the pods run: the object itself, or for a Rollout with workloadRef, its Deployment's template.
    const w = withReferencedTemplate(object, ref, sources.deployments, scan.problem);
    const spec = podTemplate(w)?.spec;
    const pod = spec ? parsePodSpec(spec) : undefined;
    for (const dep of scanWorkload(w, pod, ref, sources.spcs, sources.synced, this.options, scan.problem)) {
      this.add(index, dep);
    }
    if (pod) this.addFinds(index, pod, ref.namespace, sources.esoFinds.get(ref.namespace) ?? []);
  }

  /** ESO find-by-name: the dependency exists for any secret whose name matches (dependentsOf). */
  private addFinds(index: number, pod: PodSpecView, ns: string, esoFinds: readonly EsoInfo[]): void {
    for (const eso of esoFinds) {
      const consumers = secretConsumers(pod, eso.targetName);
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
                  { id, version: 'latest', detail: `synced by ${describeExternalSecret(eso)} (${f.detail})` },
                  esoSource(eso, ns, eso.targetName),
                  eso.targetName,
                ),
              ),
        });
      }
    }
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

/** A workload's dependencies: synced Secrets it reads, then CSI volumes, then declared API reads. */
function scanWorkload(
  w: KubeObject,
  pod: PodSpecView | undefined,
  ref: WorkloadRef,
  spcs: ReadonlyMap<string, SpcInfo>,
  synced: ReadonlyMap<string, SyncedSecret[]>,
  options: DiscoveryOptions,
  problem: (m: string) => void,
): Dependency[] {
  return [
    ...(pod ? syncedSecretReads(pod, ref.namespace, synced) : []),
    ...(pod ? csiVolumeReads(w, pod, ref.namespace, spcs, problem) : []),
    ...declaredApiReads(w, options, problem),
  ];
}

/** Kubernetes Secrets written from Secret Manager, as the containers read them. */
function syncedSecretReads(
  pod: PodSpecView,
  ns: string,
  synced: ReadonlyMap<string, SyncedSecret[]>,
): Dependency[] {
  const deps: Dependency[] = [];
  for (const secretName of referencedSecretNames(pod)) {
    const syncedAs = synced.get(`${ns}/${secretName}`);
    if (!syncedAs) continue;
    const consumers = secretConsumers(pod, secretName);
    if (consumers.length === 0) continue;
    for (const s of syncedAs) {
      const source = syncedSecretSource(s, ns, secretName);
      for (const c of consumers) {
        for (const r of s.refs) {
          // A read that sees some keys depends only on the secrets synced under those keys.
          if (!seesKey(c.keys, r.key)) continue;
          deps.push(dependencyFromConsumer(c, r, source, secretName));
        }
      }
    }
  }
  return deps;
}

function syncedSecretSource(s: SyncedSecret, ns: string, secretName: string): DependencySource {
  if (s.origin === 'eso') {
    return s.eso
      ? esoSource(s.eso, ns, secretName)
      : { kind: 'eso', namespace: ns, externalSecret: '', secretName };
  }
  if (s.origin === 'gke-sync') {
    return { kind: 'gke-sync', namespace: ns, secretSync: secretName, spc: s.spc?.name ?? '', secretName };
  }
  return { kind: 'csi-sync', namespace: ns, spc: s.spc?.name ?? '', secretName };
}

/** CSI volumes mounted straight from Secret Manager: one dependency per file the mount exposes. */
function csiVolumeReads(
  w: KubeObject,
  pod: PodSpecView,
  ns: string,
  spcs: ReadonlyMap<string, SpcInfo>,
  problem: (m: string) => void,
): Dependency[] {
  const deps: Dependency[] = [];
  for (const c of pod.containers) {
    for (const m of c.mounts) {
      const vol = pod.volumes.get(m.volume ?? '');
      if (!vol?.csi) continue;
      const spc = googleClassOf(w, vol, ns, spcs, problem);
      if (spc) deps.push(...csiMountReads(c, m, vol, spc, ns));
    }
  }
  return deps;
}

/** The Google SecretProviderClass a CSI volume mounts; undefined (reported when wrong) otherwise. */
function googleClassOf(
  w: KubeObject,
  vol: VolumeView,
  ns: string,
  spcs: ReadonlyMap<string, SpcInfo>,
  problem: (m: string) => void,
): SpcInfo | undefined {
  const driver = vol.csi?.driver ?? '';
  const provider = CSI_DRIVERS[driver];
  if (!provider) return undefined;
  const spcName = vol.csi?.secretProviderClass;
  if (!spcName) {
    problem(`${describeObject(w)}: CSI volume ${vol.name} names no secretProviderClass`);
    return undefined;
  }
  const spc = spcs.get(`${ns}/${spcName}`);
  if (!spc) {
    problem(`${describeObject(w)}: SecretProviderClass ${ns}/${spcName} (volume ${vol.name}) was not found`);
    return undefined;
  }
  if (!isGoogleProvider(spc.provider)) return undefined; // Vault, AWS, Azure: not Secret Manager's
  if (spc.provider !== provider) {
    problem(
      `${describeObject(w)}: volume ${vol.name} uses driver ${driver} but SecretProviderClass ${ns}/${spcName} has provider ${spc.provider} (expected ${provider})`,
    );
  }
  return spc;
}

function csiMountReads(
  c: ContainerView,
  m: ContainerView['mounts'][number],
  vol: VolumeView,
  spc: SpcInfo,
  ns: string,
): Dependency[] {
  const driver = vol.csi?.driver ?? '';
  const spcName = spc.name;
  const { subPath } = m;
  const mountPath = m.mountPath ?? '?';
  const deps: Dependency[] = [];
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
  return deps;
}

/** Apps that call the Secret Manager API themselves declare what they read (rotor.dev/secrets). */
function declaredApiReads(
  w: KubeObject,
  options: DiscoveryOptions,
  problem: (m: string) => void,
): Dependency[] {
  const declared = workloadAnnotation(w, annotations.SECRETS);
  if (!declared) return [];
  const deps: Dependency[] = [];
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
