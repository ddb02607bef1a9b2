// SecretProviderClass (secrets-store.csi.x-k8s.io v1 / v1alpha1) as the Google providers read it:
// `spec.parameters.secrets` is a YAML *string* holding a list of {resourceName, path | fileName}.
import { InputError } from '../errors';
import type { KubeObject } from './kube';
import { asArray, describeObject, isObject, str } from './kube';
import type { SecretVersionRef } from './secretName';
import { parseSecretName } from './secretName';
import { YamlSyntaxError, parseYaml } from './yaml';
import { quoteTenant } from './tenantText';

/** GKE add-on driver (provider `gke`) and the open-source driver (provider `gcp`). */
export const CSI_DRIVERS: Readonly<Record<string, 'gke' | 'gcp'>> = {
  'secrets-store-gke.csi.k8s.io': 'gke',
  'secrets-store.csi.k8s.io': 'gcp',
};

/**
 * At most this many entries in one class's spec.parameters.secrets: every class is read on every
 * event, and the text is a tenant's. A class mounts a handful of secrets; a thousand is generous.
 */
export const MAX_SPC_ENTRIES = 1000;

/** `projects/P/locations/L/parameters/N/versions/V`: a Parameter Manager version. */
const PARAMETER_VERSION = /^\/?projects\/[^/]+\/locations\/[^/]+\/parameters\/[^/]+\/versions\/[^/]+$/;

export interface SpcEntry {
  /** The file this secret lands in, relative to the mount (`path`, or the older `fileName`). */
  readonly file: string;
  readonly ref: SecretVersionRef & { version: string };
  readonly resourceName: string;
}

export interface SyncedSecretObject {
  readonly secretName: string;
  /** Which file (SpcEntry.file) lands under which key of the synced Kubernetes Secret. */
  readonly items: ReadonlyArray<{ readonly objectName: string; readonly key?: string }>;
}

export interface SpcInfo {
  readonly namespace: string;
  readonly name: string;
  readonly provider: string;
  readonly entries: readonly SpcEntry[];
  readonly secretObjects: readonly SyncedSecretObject[];
}

/** A YAML scalar as the text a Go string field would receive. */
function scalarText(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

export function isSecretProviderClass(o: KubeObject): boolean {
  return o.kind === 'SecretProviderClass' && /^secrets-store\.csi\.x-k8s\.io\//.test(o.apiVersion ?? '');
}

/** The providers whose secrets are Secret Manager's. */
export function isGoogleProvider(provider: string): boolean {
  return provider === 'gcp' || provider === 'gke';
}

/**
 * Reads a SecretProviderClass. A class of another provider (vault, azure, aws) is known but has
 * no entries: its secrets are not Secret Manager's, so a volume that mounts it depends on nothing
 * Rotor rotates (and is not an unresolved reference). Throws InputError naming the object when the
 * Google parameters do not parse.
 */
export function readSecretProviderClass(o: KubeObject, defaultNamespace = 'default'): SpcInfo {
  const where = `${o.__source ? o.__source + ': ' : ''}${describeObject(o)}`;
  const spec = isObject(o.spec) ? o.spec : {};
  const provider = str(spec.provider) ?? '';
  const known = {
    namespace: o.metadata?.namespace ?? defaultNamespace,
    name: o.metadata?.name ?? '',
    provider,
  };
  if (!isGoogleProvider(provider)) return { ...known, entries: [], secretObjects: [] };
  const params = isObject(spec.parameters) ? spec.parameters : {};
  const entries = secretsParameter(params.secrets, where).flatMap((item, i) => readEntry(item, i, where));
  const secretObjects = readSecretObjects(spec.secretObjects, where);
  return { ...known, entries, secretObjects };
}

/** `spec.parameters.secrets`: a YAML string holding a list, bounded to MAX_SPC_ENTRIES entries. */
function secretsParameter(raw: unknown, where: string): unknown[] {
  if (raw === undefined) throw new InputError('spec.parameters.secrets is missing', where);
  if (typeof raw !== 'string') {
    // Parameters are map[string]string in the CRD; a list here is a common hand-written mistake.
    throw new InputError(
      'spec.parameters.secrets must be a YAML string (use a block scalar: `secrets: |`)',
      where,
    );
  }
  let list: unknown;
  try {
    // No aliases: a few bytes of `- *a` would expand into thousands of entries.
    list = parseYaml(raw, { aliases: false });
  } catch (e) {
    if (!(e instanceof YamlSyntaxError)) throw e;
    throw new InputError(`spec.parameters.secrets does not parse as YAML: ${e.message}`, where);
  }
  if (!Array.isArray(list))
    throw new InputError('spec.parameters.secrets must be a YAML list of {resourceName, path}', where);
  if (list.length > MAX_SPC_ENTRIES)
    throw new InputError(
      `spec.parameters.secrets has ${list.length} entries; at most ${MAX_SPC_ENTRIES} are read per class`,
      where,
    );
  return list;
}

/** One `{resourceName, path}` entry: the file a Secret Manager version lands in (none for Parameter Manager). */
function readEntry(item: unknown, i: number, where: string): SpcEntry[] {
  if (!isObject(item)) throw new InputError(`spec.parameters.secrets[${i}] must be a mapping`, where);
  const resourceName = str(item.resourceName);
  if (!resourceName) throw new InputError(`spec.parameters.secrets[${i}].resourceName is missing`, where);
  // The gcp provider also mounts Parameter Manager versions: not Secret Manager's, not Rotor's.
  if (PARAMETER_VERSION.test(resourceName)) return [];
  let ref: SecretVersionRef;
  try {
    ref = parseSecretName(resourceName);
  } catch (e) {
    throw new InputError(`spec.parameters.secrets[${i}].resourceName: ${(e as Error).message}`, where);
  }
  if (ref.version === undefined) {
    throw new InputError(
      `spec.parameters.secrets[${i}].resourceName ${quoteTenant(resourceName)} must end in /versions/V (latest, a number or an alias)`,
      where,
    );
  }
  // As the provider reads it (yaml.v3 into string fields): `path: 123` is the file "123"; an
  // empty path falls back to fileName.
  const file = scalarText(item.path) || scalarText(item.fileName);
  if (!file) throw new InputError(`spec.parameters.secrets[${i}] needs "path" or "fileName"`, where);
  return [{ file, ref: { id: ref.id, version: ref.version }, resourceName }];
}

/** `spec.secretObjects`: the Kubernetes Secrets the open-source driver writes from the files. */
function readSecretObjects(raw: unknown, where: string): SyncedSecretObject[] {
  return asArray(raw).flatMap((so, i) => {
    if (!isObject(so)) return [];
    const secretName = str(so.secretName);
    if (!secretName) throw new InputError(`spec.secretObjects[${i}].secretName is missing`, where);
    const items = asArray(so.data).flatMap((d) => {
      if (!isObject(d) || typeof d.objectName !== 'string') return [];
      const key = str(d.key);
      return [key ? { objectName: d.objectName, key } : { objectName: d.objectName }];
    });
    return [{ secretName, items }];
  });
}
