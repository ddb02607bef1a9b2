// Live discovery input: cluster-wide, paginated lists of the kinds discovery reads. A fixed
// number of list calls per cluster (pages aside), whatever the number of namespaces; optional
// CRDs (Argo Rollouts, the CSI driver's, ESO's) that are not installed are skipped.
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../core/kube';
import { InputError, errorMessage } from '../errors';
import type { Inventory } from '../core/inventory';
import type { KubeApi } from './kubeApi';
import { HttpKubeApi } from './kubeApi';
import type { NamespaceFilter } from './namespaces';
import { namespaceMatcher } from './namespaces';
import type { Resource } from './resources';
import { forEachPage } from './listing';
import { mentioning } from './listItems';
import { RESOURCES, WORKLOAD_RESOURCES } from './resources';
import type { ReachabilityOptions, SmallKinds } from '../core/reachability';
import {
  TEMPLATE_REFERRING_KINDS,
  WorkloadFilters,
  reachabilityOf,
  referencedTemplate,
} from '../core/reachability';
import type { SecretId } from '../core/secretName';

export interface LiveInventory extends Inventory {
  /** Optional kinds whose CRDs are not installed on this cluster. */
  readonly absent: readonly string[];
}

/**
 * Page size of the cluster-wide lists. Every page is a sequential round trip (the next needs the
 * previous one's `continue`), so on a large cluster the Deployments list is the critical path of an
 * event: 2000 objects a page (a few MB) took 10 000 Deployments from 20 requests to 5 and cut the
 * list's wall time by about 40% on the benchmark, while keeping each response bounded. Memory does
 * not follow the page size: a page is parsed item by item as it arrives (listItems.ts), and only
 * the kept items outlive their parse, so smaller pages would only add round trips.
 */
export const INVENTORY_PAGE_SIZE = 2000;

/** API groups of the built-in workload kinds, whose pod templates the API server validates. */
const VALIDATED_GROUPS: readonly string[] = ['', 'apps', 'batch'];

/**
 * What a live inventory is for: every workload (`rotor plan` of the whole cluster, tests), or the
 * workloads that can depend on one secret (an event, `rotateSecret`'s pins, a live plan).
 */
export type InventoryScope =
  | { readonly kind: 'all' }
  | ({
      readonly kind: 'secret';
      readonly secret: SecretId;
      /** Workload kinds this reader does not list (its role may not: rotateSecret's names no Pods). */
      readonly without?: readonly string[];
    } & ReachabilityOptions);

/** An inventory scope for one secret: what an event (or a pin, or a live plan) discovers from. */
export type SecretScope = Extract<InventoryScope, { readonly kind: 'secret' }>;

/**
 * One cluster's inventory. The small kinds (classes, ExternalSecrets, stores) are listed whole
 * first; then workload pages are streamed and, for a secret's scope, only the workloads that can
 * depend on it are kept (core/reachability.ts): memory is one page per kind plus the dependents,
 * whatever the size of the cluster. Discovery over the result equals discovery over everything.
 */
export async function liveInventory(
  api: KubeApi,
  filter: NamespaceFilter = {},
  scope: InventoryScope = { kind: 'all' },
  pageSize: number = INVENTORY_PAGE_SIZE,
): Promise<LiveInventory> {
  if (scope.kind === 'secret') {
    const [inventory] = await liveInventories(api, filter, [scope], pageSize);
    if (inventory) return inventory;
  }
  const lister = new Lister(api, filter, pageSize);
  const small = await lister.smallKinds();
  const perKind = await Promise.all(WORKLOAD_RESOURCES.map((res) => lister.kept(res, () => true)));
  return { cluster: api.cluster, workloads: perKind.flat(), ...small, absent: lister.absent };
}

/**
 * One cluster's inventories for several secrets from ONE set of lists (concurrent events sharing a
 * discovery, sharedDiscovery.ts): the small kinds once, then each workload page is offered to every
 * secret's filter (core/reachability.ts WorkloadFilters: each template read once) and a workload is
 * kept in the inventory of each secret that can depend on it. Each result equals liveInventory for
 * its scope alone; the objects are shared between the inventories (read-only: a reconcile writes
 * to the API server, never to what it listed, and re-reads a workload on a conflict). Lists in flight at once:
 * the small kinds', then one per workload kind, whatever the number of secrets.
 */
export async function liveInventories(
  api: KubeApi,
  filter: NamespaceFilter,
  scopes: readonly SecretScope[],
  pageSize: number = INVENTORY_PAGE_SIZE,
): Promise<LiveInventory[]> {
  const lister = new Lister(api, filter, pageSize);
  const small = await lister.smallKinds();
  const filters = new WorkloadFilters(scopes.map((scope) => reachabilityOf(small, scope.secret, scope)));
  const lists = (res: Resource): number[] =>
    scopes.flatMap((scope, i) => ((scope.without ?? []).includes(res.kind) ? [] : [i]));
  // Per workload kind, per scope: what it keeps, in the table's order of kinds.
  const kept = WORKLOAD_RESOURCES.map(() => scopes.map((): KubeObject[] => []));
  const stream = async (res: Resource, k: number): Promise<void> => {
    const listing = lists(res);
    if (listing.length === 0) return;
    // forEachPage may ask `keep` twice about one object: the answer is computed once.
    const keptBy = new WeakMap<KubeObject, number[]>();
    const keep = (o: KubeObject): boolean => {
      let by = keptBy.get(o);
      if (!by) {
        const all = filters.keptBy(o);
        by = all.filter((i) => listing.includes(i));
        keptBy.set(o, by);
      }
      return by.length > 0;
    };
    // A workload of a built-in kind is kept only if its JSON names what the filters keep: the
    // others are dropped unparsed (after the Rollouts, so the Deployments they run are named).
    const mayKeepItem =
      VALIDATED_GROUPS.includes(res.group) && !isReferring(res)
        ? mentioning(filters.mentionsToKeep())
        : undefined;
    await lister.each(
      res,
      keep,
      (o) => {
        for (const i of keptBy.get(o) ?? []) kept[k]?.[i]?.push(o);
      },
      mayKeepItem,
    );
  };
  // Kinds that may run another kind's template are filtered first (the filters then keep what
  // they name); the rest concurrently.
  const isReferring = (res: Resource): boolean => TEMPLATE_REFERRING_KINDS.includes(res.kind);
  const kinds = WORKLOAD_RESOURCES.map((res, k) => ({ res, k }));
  await Promise.all(kinds.filter(({ res }) => isReferring(res)).map(({ res, k }) => stream(res, k)));
  await Promise.all(kinds.filter(({ res }) => !isReferring(res)).map(({ res, k }) => stream(res, k)));
  return scopes.map((_, i) => ({
    cluster: api.cluster,
    workloads: kept.flatMap((perScope) => perScope[i] ?? []),
    ...small,
    absent: lister.absent,
  }));
}

/**
 * The whole cluster one page at a time, for a reader that works page by page (`rotor audit`):
 * `onPart` gets, in the table's order of kinds, an inventory of the small kinds plus one page of
 * one `kind`, so memory is one page whatever the size of the cluster. Discovery over a part, for
 * that part's `kind`, equals discovery over everything for those workloads: a Rollout that runs a
 * Deployment's template (spec.workloadRef) finds that Deployment in its part too (so the part's
 * workloads of another kind are there to be read, not reported). That costs the Rollouts one more
 * list, first, for the names they refer to; only the Deployments named are held.
 */
export async function forEachInventoryPart(
  api: KubeApi,
  onPart: (part: LiveInventory, kind: string) => void,
  filter: NamespaceFilter = {},
  pageSize: number = INVENTORY_PAGE_SIZE,
): Promise<void> {
  const lister = new Lister(api, filter, pageSize);
  const { absent, inScope } = lister;
  const small = await lister.smallKinds();
  const key = (namespace: string, name: string): string => `${namespace}/${name}`;
  // The Deployments whose templates Rollouts run, by name first, then held as they stream by.
  const wanted = new Set<string>();
  for (const res of WORKLOAD_RESOURCES.filter((r) => TEMPLATE_REFERRING_KINDS.includes(r.kind)))
    await forEachPage(
      api,
      res,
      { limit: pageSize },
      () => undefined,
      (o) => {
        const ref = inScope(res, o) ? referencedTemplate(o) : undefined;
        if (ref) wanted.add(key(ref.namespace, ref.name));
        return false;
      },
    );
  const templates: KubeObject[] = [];
  for (const res of WORKLOAD_RESOURCES) {
    const referring = TEMPLATE_REFERRING_KINDS.includes(res.kind);
    const served = await forEachPage(
      api,
      res,
      { limit: pageSize },
      (page) => {
        for (const o of page)
          if (
            o.kind === 'Deployment' &&
            wanted.has(key(o.metadata?.namespace ?? 'default', o.metadata?.name ?? ''))
          )
            templates.push(o);
        onPart(
          { cluster: api.cluster, workloads: referring ? [...templates, ...page] : page, ...small, absent },
          res.kind,
        );
      },
      (o) => inScope(res, o),
    );
    if (!served) absent.push(`${res.plural}.${res.group}`);
  }
}

/** One cluster's lists for one reader: the namespace filter, the page size, the kinds found absent. */
/**
 * The resourceVersion of the list each listed object was read in (objects are shared read-only, so
 * this lives beside them). A watch from it delivers every change since the pass read the object,
 * and every object of one list shares it: one namespace watch covers all the waited ones.
 */
const listedAt = new WeakMap<KubeObject, string>();

/** The version of the list `o` was read in, if it was listed by an inventory. */
export function listVersionOf(o: KubeObject): string | undefined {
  return listedAt.get(o);
}

class Lister {
  /** Optional kinds whose CRDs are not installed, as `plural.group`. */
  readonly absent: string[] = [];
  private readonly inNamespace: (namespace: string) => boolean;

  constructor(
    private readonly api: KubeApi,
    filter: NamespaceFilter,
    readonly pageSize: number,
  ) {
    this.inNamespace = namespaceMatcher(filter);
  }

  readonly inScope = (res: Resource, o: KubeObject): boolean =>
    !res.namespaced || this.inNamespace(o.metadata?.namespace ?? 'default');

  /** Every object of `res` in scope that `keep` keeps, streamed page by page. */
  async kept(res: Resource, keep: (o: KubeObject) => boolean): Promise<KubeObject[]> {
    const kept: KubeObject[] = [];
    await this.each(res, keep, (o) => kept.push(o));
    return kept;
  }

  /**
   * `visit` gets every object of `res` in scope that `keep` keeps, once, as its page arrives;
   * `mayKeepItem` drops items unparsed where `keep` would (forEachPage).
   */
  async each(
    res: Resource,
    keep: (o: KubeObject) => boolean,
    visit: (o: KubeObject) => void,
    mayKeepItem?: (bytes: Buffer) => boolean,
  ): Promise<void> {
    const visited: KubeObject[] = [];
    const served = await forEachPage(
      this.api,
      res,
      { limit: this.pageSize },
      (page) =>
        page.forEach((o) => {
          visited.push(o);
          visit(o);
        }),
      (o) => this.inScope(res, o) && keep(o),
      mayKeepItem,
    );
    if (!served) this.absent.push(`${res.plural}.${res.group}`);
    else if (served.resourceVersion) for (const o of visited) listedAt.set(o, served.resourceVersion);
  }

  /** The small kinds, whole; independent lists run concurrently, each one request per page. */
  async smallKinds(): Promise<SmallKinds> {
    const all = (): boolean => true;
    const [spcs, externalSecrets, secretStores, clusterSecretStores, secretSyncs] = await Promise.all([
      this.kept(RESOURCES.secretProviderClasses, all),
      this.kept(RESOURCES.externalSecrets, all),
      this.kept(RESOURCES.secretStores, all),
      this.kept(RESOURCES.clusterSecretStores, all),
      this.kept(RESOURCES.secretSyncs, all),
    ]);
    return {
      secretProviderClasses: spcs,
      externalSecrets,
      secretStores: [...secretStores, ...clusterSecretStores],
      secretSyncs,
    };
  }
}

export function kubeApiFromKubeconfig(path: string, context?: string, name?: string): KubeApi {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    throw new InputError(`cannot read kubeconfig: ${errorMessage(e)}`, path);
  }
  if (context) {
    if (!kc.getContextObject(context)) throw new InputError(`kubeconfig has no context "${context}"`, path);
    kc.setCurrentContext(context);
  }
  return new HttpKubeApi(kc, name ?? context ?? kc.getCurrentContext());
}

/** forEachInventoryPart on the kubeconfig's (or --context's) cluster, read-only. */
export async function forEachInventoryPartFromKubeconfig(
  path: string,
  context: string | undefined,
  onPart: (part: LiveInventory, kind: string) => void,
): Promise<void> {
  const api = kubeApiFromKubeconfig(path, context);
  try {
    await forEachInventoryPart(api, onPart);
  } finally {
    api.close();
  }
}
