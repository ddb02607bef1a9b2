// A typed view of a pod spec, parsed once from the untrusted object: the containers (init
// containers first, native sidecars counted as app containers), what each reads from Kubernetes
// Secrets (env, envFrom) and which volumes it mounts where (subPath included), and the volumes
// that carry Secrets (secret, projected) or CSI mounts. Discovery walks this instead of raw maps.
import { asArray, isObject, str } from './kube';

/** `env[].valueFrom.secretKeyRef`. */
export interface EnvSecretRef {
  readonly env: string | undefined;
  readonly secretName: string;
  readonly key: string | undefined;
}

/** `envFrom[].secretRef`. */
export interface EnvFromSecretRef {
  readonly secretName: string;
  readonly prefix: string | undefined;
}

export interface VolumeMount {
  readonly volume: string | undefined;
  readonly mountPath: string | undefined;
  /** `subPath` or `subPathExpr` (empty counts as none). */
  readonly subPath: string | undefined;
}

export interface ContainerView {
  readonly name: string;
  /**
   * Runs once, at start: an init container. A native sidecar (an init container with
   * `restartPolicy: Always`) runs as long as the pod, so it reads like an app container.
   */
  readonly init: boolean;
  readonly env: readonly EnvSecretRef[];
  readonly envFrom: readonly EnvFromSecretRef[];
  readonly mounts: readonly VolumeMount[];
}

/** A Secret a volume exposes: a `secret` volume, or one `secret` source of a projected volume. */
export interface SecretVolumeSource {
  readonly secretName: string;
  /** The `items` listed (key → path); undefined: every key, as a file named after it. */
  readonly items:
    ReadonlyArray<{ readonly key: string | undefined; readonly path: string | undefined }> | undefined;
}

export interface VolumeView {
  readonly name: string;
  readonly secrets: readonly SecretVolumeSource[];
  readonly csi?: { readonly driver: string; readonly secretProviderClass: string | undefined };
}

export interface PodSpecView {
  /** Init containers first, then the app containers. */
  readonly containers: readonly ContainerView[];
  readonly volumes: ReadonlyMap<string, VolumeView>;
}

export function parsePodSpec(spec: Record<string, unknown>): PodSpecView {
  const containers: ContainerView[] = [];
  for (const [field, init] of [
    ['initContainers', true],
    ['containers', false],
  ] as const) {
    for (const c of asArray(spec[field])) {
      if (!isObject(c)) continue;
      const sidecar = init && str(c.restartPolicy) === 'Always';
      containers.push({
        name: str(c.name) ?? '',
        init: init && !sidecar,
        env: envRefs(c.env),
        envFrom: envFromRefs(c.envFrom),
        mounts: asArray(c.volumeMounts)
          .filter(isObject)
          .map((m) => ({
            volume: str(m.name),
            mountPath: str(m.mountPath),
            subPath: (str(m.subPath) ?? str(m.subPathExpr)) || undefined,
          })),
      });
    }
  }
  const volumes = new Map<string, VolumeView>();
  for (const v of asArray(spec.volumes)) {
    if (!isObject(v) || typeof v.name !== 'string') continue;
    volumes.set(v.name, volumeView(v.name, v));
  }
  return { containers, volumes };
}

function envRefs(env: unknown): EnvSecretRef[] {
  const out: EnvSecretRef[] = [];
  for (const e of asArray(env)) {
    if (!isObject(e) || !isObject(e.valueFrom) || !isObject(e.valueFrom.secretKeyRef)) continue;
    const ref = e.valueFrom.secretKeyRef;
    const secretName = str(ref.name);
    if (secretName) out.push({ env: str(e.name), secretName, key: str(ref.key) });
  }
  return out;
}

function envFromRefs(envFrom: unknown): EnvFromSecretRef[] {
  const out: EnvFromSecretRef[] = [];
  for (const e of asArray(envFrom)) {
    if (!isObject(e) || !isObject(e.secretRef)) continue;
    const secretName = str(e.secretRef.name);
    if (secretName) out.push({ secretName, prefix: str(e.prefix) });
  }
  return out;
}

function secretSource(src: Record<string, unknown>, nameField: 'secretName' | 'name'): SecretVolumeSource[] {
  const secretName = str(src[nameField]);
  if (!secretName) return [];
  const items = asArray(src.items)
    .filter(isObject)
    .map((it) => ({ key: str(it.key), path: str(it.path) }));
  return [{ secretName, items: items.length > 0 ? items : undefined }];
}

function volumeView(name: string, v: Record<string, unknown>): VolumeView {
  const secrets: SecretVolumeSource[] = [];
  if (isObject(v.secret)) secrets.push(...secretSource(v.secret, 'secretName'));
  if (isObject(v.projected))
    for (const s of asArray(v.projected.sources))
      if (isObject(s) && isObject(s.secret)) secrets.push(...secretSource(s.secret, 'name'));
  if (!isObject(v.csi)) return { name, secrets };
  const attrs = isObject(v.csi.volumeAttributes) ? v.csi.volumeAttributes : {};
  return {
    name,
    secrets,
    csi: { driver: str(v.csi.driver) ?? '', secretProviderClass: str(attrs.secretProviderClass) },
  };
}

/** Names of every Kubernetes Secret the pod reads (env, envFrom, secret and projected volumes). */
export function referencedSecretNames(pod: PodSpecView): Set<string> {
  const names = new Set<string>();
  for (const c of pod.containers) {
    for (const e of c.env) names.add(e.secretName);
    for (const e of c.envFrom) names.add(e.secretName);
  }
  for (const v of pod.volumes.values()) for (const s of v.secrets) names.add(s.secretName);
  return names;
}
