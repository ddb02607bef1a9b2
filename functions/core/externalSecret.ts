// External Secrets Operator (external-secrets.io v1 / v1beta1): which Secret Manager secrets an
// ExternalSecret pulls into which Kubernetes Secret. Project and location come from the store the
// ExternalSecret (or one of its entries) references, a SecretStore or ClusterSecretStore whose
// `spec.provider.gcpsm` names them.
import { InputError } from '../errors';
import type { KubeObject } from './kube';
import { asArray, describeObject, isObject, str } from './kube';
import type { NameMatcher } from './nameRegexp';
import { compileNameRegexp } from './nameRegexp';
import type { SecretId, VersionSelector } from './secretName';
import { parseSecretName } from './secretName';
import { quoteTenant, tenantText } from './tenantText';

export interface GcpStore {
  readonly kind: 'SecretStore' | 'ClusterSecretStore';
  readonly namespace?: string;
  readonly name: string;
  /** undefined when the store names no project (ESO then uses the cluster's). */
  readonly project?: string;
  readonly location?: string;
}

export interface EsoReference {
  readonly id: SecretId;
  readonly version: VersionSelector;
  /** The key it lands under in the target Secret (`data[].secretKey`); undefined for dataFrom (any key). */
  readonly secretKey?: string;
  /** `data[2] (key DB_PASSWORD)` — for reasons and error messages. */
  readonly detail: string;
}

export interface EsoInfo {
  readonly namespace: string;
  readonly name: string;
  /** The Kubernetes Secret it writes: `spec.target.name`, defaulting to the ExternalSecret's name. */
  readonly targetName: string;
  readonly references: readonly EsoReference[];
  /** Name regexps of `dataFrom[].find`: any secret whose name matches is pulled in. */
  readonly findPatterns: readonly FindPattern[];
  readonly source: KubeObject;
}

export interface FindPattern {
  readonly store: GcpStore;
  /** RE2, unanchored, as ESO matches it (Go regexp MatchString). */
  readonly pattern: NameMatcher;
  /** `find.path`: only names starting with it. */
  readonly path?: string;
  /** True when each found secret lands under its own name as the key (no rewrite, no template). */
  readonly keyedByName: boolean;
  readonly detail: string;
}

const ESO_GROUP = /^external-secrets\.io\//;

export function isExternalSecret(o: KubeObject): boolean {
  return o.kind === 'ExternalSecret' && ESO_GROUP.test(o.apiVersion ?? '');
}

export function isSecretStore(o: KubeObject): boolean {
  return (o.kind === 'SecretStore' || o.kind === 'ClusterSecretStore') && ESO_GROUP.test(o.apiVersion ?? '');
}

/** Reads a store; undefined when it is not a Google Secret Manager store. */
export function readStore(o: KubeObject): GcpStore | undefined {
  const spec = isObject(o.spec) ? o.spec : {};
  const provider = isObject(spec.provider) ? spec.provider : {};
  const gcpsm = provider.gcpsm;
  if (!isObject(gcpsm)) return undefined;
  const kind = o.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore';
  const project = str(gcpsm.projectID);
  const location = str(gcpsm.location);
  return {
    kind,
    name: o.metadata?.name ?? '',
    ...(kind === 'SecretStore' ? { namespace: o.metadata?.namespace ?? 'default' } : {}),
    ...(project ? { project } : {}),
    ...(location ? { location } : {}),
  };
}

export class StoreIndex {
  private readonly stores = new Map<string, GcpStore>();
  /** Stores of other providers (vault, aws...): references through them are not Secret Manager's. */
  private readonly foreign = new Set<string>();

  constructor(objects: Iterable<KubeObject>) {
    for (const o of objects) {
      const key = StoreIndex.key(
        o.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore',
        o.metadata?.name ?? '',
        o.metadata?.namespace ?? 'default',
      );
      const store = readStore(o);
      if (store) this.stores.set(key, store);
      else this.foreign.add(key);
    }
  }

  private static key(kind: string, name: string, namespace: string): string {
    return kind === 'ClusterSecretStore' ? `cluster/${name}` : `${namespace}/${name}`;
  }

  /** 'foreign' for a known non-Google store, undefined when the store is not among the objects. */
  lookup(kind: string, name: string, namespace: string): GcpStore | 'foreign' | undefined {
    const key = StoreIndex.key(kind, name, namespace);
    if (this.foreign.has(key)) return 'foreign';
    return this.stores.get(key);
  }
}

export interface EsoReadOptions {
  /** Used when a store names no project; without it such references cannot be resolved. */
  readonly defaultProject?: string;
  /** Called for references Rotor cannot resolve (missing store, no project): skipped, not fatal. */
  readonly onProblem?: (message: string) => void;
}

/**
 * Reads an ExternalSecret; undefined when none of its stores is a Google Secret Manager store.
 * Each `spec.data` entry and each `spec.dataFrom` entry (extract or find) is read in order against
 * its store; what they reference accumulates in one EsoRead.
 */
export function readExternalSecret(
  o: KubeObject,
  stores: StoreIndex,
  opts: EsoReadOptions = {},
): EsoInfo | undefined {
  const spec = isObject(o.spec) ? o.spec : {};
  const target = isObject(spec.target) ? spec.target : {};
  const name = o.metadata?.name ?? '';
  const read: EsoRead = {
    where: `${o.__source ? o.__source + ': ' : ''}${describeObject(o)}`,
    namespace: o.metadata?.namespace ?? 'default',
    // A template writes keys of its own (a DSN built from a password...): which key carries which
    // secret is then unknown, and any key of the target may change.
    templated: isObject(target.template) || asArray(target.templateFrom).length > 0,
    defaultStoreRef: isObject(spec.secretStoreRef) ? spec.secretStoreRef : undefined,
    stores,
    opts,
    references: [],
    findPatterns: [],
    sawGoogleStore: false,
  };
  asArray(spec.data).forEach((d, i) => readDataEntry(read, d, i));
  asArray(spec.dataFrom).forEach((d, i) => readDataFromEntry(read, d, i));
  if (!read.sawGoogleStore && read.references.length === 0) return undefined;
  const { namespace, references, findPatterns } = read;
  return { namespace, name, targetName: str(target.name) ?? name, references, findPatterns, source: o };
}

/** One ExternalSecret being read: where it is, its defaults, and what its entries referenced so far. */
interface EsoRead {
  readonly where: string;
  readonly namespace: string;
  readonly templated: boolean;
  readonly defaultStoreRef: Record<string, unknown> | undefined;
  readonly stores: StoreIndex;
  readonly opts: EsoReadOptions;
  readonly references: EsoReference[];
  readonly findPatterns: FindPattern[];
  /** Some entry reads a Google store, even if it references no version (metadataPolicy Fetch, find). */
  sawGoogleStore: boolean;
}

/** `spec.data[i]`: one remote key into one target key. */
function readDataEntry(read: EsoRead, d: unknown, i: number): void {
  if (!isObject(d)) throw new InputError(`spec.data[${i}] must be a mapping`, read.where);
  const remote = isObject(d.remoteRef) ? d.remoteRef : undefined;
  const key = remote ? str(remote.key) : undefined;
  if (!key) throw new InputError(`spec.data[${i}].remoteRef.key is missing`, read.where);
  const secretKey = str(d.secretKey);
  const detail = `data[${i}]${secretKey ? ` (key ${secretKey})` : ''}`;
  const store = resolveStore(read, d, detail);
  if (!store) return;
  // metadataPolicy Fetch reads the secret's labels and annotations: no version changes them.
  if (remote && str(remote.metadataPolicy) === 'Fetch') {
    read.sawGoogleStore = true;
    return;
  }
  addReference(read, store, key, remote ? str(remote.version) : undefined, detail, secretKey);
}

/** `spec.dataFrom[i]`: every key of one secret (extract), or every secret a name matches (find). */
function readDataFromEntry(read: EsoRead, d: unknown, i: number): void {
  if (!isObject(d)) throw new InputError(`spec.dataFrom[${i}] must be a mapping`, read.where);
  const detail = `dataFrom[${i}]`;
  if (isObject(d.extract)) {
    const key = str(d.extract.key);
    if (!key) throw new InputError(`spec.dataFrom[${i}].extract.key is missing`, read.where);
    const store = resolveStore(read, d, detail);
    if (!store) return;
    if (str(d.extract.metadataPolicy) === 'Fetch') {
      read.sawGoogleStore = true;
      return;
    }
    addReference(read, store, key, str(d.extract.version), `${detail} (extract)`);
  } else if (isObject(d.find)) {
    const store = resolveStore(read, d, detail);
    if (!store) return;
    read.sawGoogleStore = true;
    readFind(read, store, d, i, detail);
  }
}

/** A find by name: a pattern discovery matches against the rotated secret's name. */
function readFind(
  read: EsoRead,
  store: GcpStore,
  d: Record<string, unknown>,
  i: number,
  detail: string,
): void {
  const find = isObject(d.find) ? d.find : {};
  const nameSel = isObject(find.name) ? str(find.name.regexp) : undefined;
  if (!nameSel) {
    // Tag-based finds depend on labels in Secret Manager, which discovery does not read.
    read.opts.onProblem?.(
      `${read.where}: ${detail} finds secrets by tags; Rotor cannot tell offline which secrets match`,
    );
    return;
  }
  let pattern: NameMatcher;
  try {
    pattern = compileNameRegexp(nameSel);
  } catch (e) {
    // ESO cannot sync it either; the message says which ExternalSecret and what RE2 rejected.
    throw new InputError(
      `spec.dataFrom[${i}].find.name.regexp ${quoteTenant(nameSel)} is not a valid RE2 expression: ${(e as Error).message}`,
      read.where,
    );
  }
  const path = str(find.path);
  // Found secrets land under their own names as keys, unless rewritten or templated.
  const keyedByName = !read.templated && asArray(d.rewrite).length === 0;
  read.findPatterns.push({
    store,
    pattern,
    ...(path ? { path } : {}),
    keyedByName,
    detail: `${detail} (find /${tenantText(nameSel)}/${path ? ` under ${tenantText(path)}` : ''})`,
  });
}

/** The Google store an entry reads (its own sourceRef, else the ExternalSecret's); undefined: skip it. */
function resolveStore(read: EsoRead, entry: Record<string, unknown>, detail: string): GcpStore | undefined {
  const sourceRef = isObject(entry.sourceRef) ? entry.sourceRef : undefined;
  const storeRef = sourceRef && isObject(sourceRef.storeRef) ? sourceRef.storeRef : read.defaultStoreRef;
  if (!storeRef) {
    read.opts.onProblem?.(`${read.where}: ${detail} has no secretStoreRef`);
    return undefined;
  }
  const kind = str(storeRef.kind) ?? 'SecretStore';
  const storeName = str(storeRef.name) ?? '';
  const found = read.stores.lookup(kind, storeName, read.namespace);
  if (found === 'foreign') return undefined;
  if (!found) {
    read.opts.onProblem?.(
      `${read.where}: ${detail} uses ${kind} ${quoteTenant(storeName)}, which was not found`,
    );
    return undefined;
  }
  return found;
}

/** A reference to one secret version: a full resource name, or a bare name in the store's project. */
function addReference(
  read: EsoRead,
  store: GcpStore,
  key: string,
  version: string | undefined,
  detail: string,
  secretKey?: string,
): void {
  const keyPart = secretKey && !read.templated ? { secretKey } : {};
  read.sawGoogleStore = true;
  if (key.startsWith('projects/')) {
    try {
      const ref = parseSecretName(key);
      read.references.push({ id: ref.id, version: version ?? ref.version ?? 'latest', detail, ...keyPart });
    } catch (e) {
      throw new InputError(`${detail}: ${(e as Error).message}`, read.where);
    }
    return;
  }
  const project = store.project ?? read.opts.defaultProject;
  if (!project) {
    read.opts.onProblem?.(
      `${read.where}: ${detail}: ${store.kind} ${quoteTenant(store.name)} names no gcpsm.projectID and no default project is configured`,
    );
    return;
  }
  const full = store.location
    ? `projects/${project}/locations/${store.location}/secrets/${key}`
    : `projects/${project}/secrets/${key}`;
  try {
    const ref = parseSecretName(full);
    read.references.push({ id: ref.id, version: version ?? 'latest', detail, ...keyPart });
  } catch (e) {
    throw new InputError(`${detail}: remoteRef.key ${quoteTenant(key)}: ${(e as Error).message}`, read.where);
  }
}
