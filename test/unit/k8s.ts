// Builders for the plain Kubernetes objects unit tests feed to discovery and decisions. Shapes follow
// what the API server (or `kubectl get -o yaml`) returns; only the fields Rotor reads are filled.
import type { KubeObject } from '../../functions/core/kube';

type Obj = Record<string, unknown>;

export interface PodSpecParts {
  containers?: Obj[];
  initContainers?: Obj[];
  volumes?: Obj[];
}

export interface WorkloadOptions {
  namespace?: string;
  annotations?: Record<string, string>;
  templateAnnotations?: Record<string, string>;
  apiVersion?: string;
}

const API: Record<string, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  CronJob: 'batch/v1',
  Rollout: 'argoproj.io/v1alpha1',
  Job: 'batch/v1',
  ReplicaSet: 'apps/v1',
  Pod: 'v1',
};

/** A workload of `kind` whose pod template has `pod` (CronJob: under jobTemplate). */
export function workload(
  kind: string,
  name: string,
  pod: PodSpecParts,
  opts: WorkloadOptions = {},
): KubeObject {
  const template = {
    metadata: {
      labels: { app: name },
      ...(opts.templateAnnotations ? { annotations: opts.templateAnnotations } : {}),
    },
    spec: { ...pod, containers: pod.containers ?? [{ name: 'app', image: 'example/app:1' }] },
  };
  const spec: Obj =
    kind === 'CronJob'
      ? {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'OnFailure' } } },
          },
        }
      : kind === 'Pod'
        ? template.spec
        : { selector: { matchLabels: { app: name } }, template };
  return {
    apiVersion: opts.apiVersion ?? API[kind] ?? 'apps/v1',
    kind,
    metadata: {
      name,
      namespace: opts.namespace ?? 'shop',
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec,
  };
}

export const deployment = (name: string, pod: PodSpecParts, opts: WorkloadOptions = {}): KubeObject =>
  workload('Deployment', name, pod, opts);

export function container(name: string, parts: Obj = {}): Obj {
  return { name, image: `example/${name}:1`, ...parts };
}

export function envFromKey(envName: string, secretName: string, key: string): Obj {
  return { name: envName, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

export function csiVolume(name: string, spc: string, driver = 'secrets-store-gke.csi.k8s.io'): Obj {
  return { name, csi: { driver, readOnly: true, volumeAttributes: { secretProviderClass: spc } } };
}

export function secretVolume(
  name: string,
  secretName: string,
  items?: Array<{ key: string; path: string }>,
): Obj {
  return { name, secret: { secretName, ...(items ? { items } : {}) } };
}

export function projectedVolume(
  name: string,
  secretName: string,
  items?: Array<{ key: string; path: string }>,
): Obj {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
        { secret: { name: secretName, ...(items ? { items } : {}) } },
        { configMap: { name: 'settings' } },
      ],
    },
  };
}

export function mount(volume: string, mountPath: string, subPath?: string): Obj {
  return { name: volume, mountPath, readOnly: true, ...(subPath ? { subPath } : {}) };
}

export function spc(
  name: string,
  entries: Array<{ resourceName: string; path?: string; fileName?: string }> | string,
  opts: { namespace?: string; provider?: string; apiVersion?: string; secretObjects?: Obj[] } = {},
): KubeObject {
  const secrets =
    typeof entries === 'string'
      ? entries
      : entries
          .map(
            (e) =>
              `- resourceName: "${e.resourceName}"\n  ${e.path !== undefined ? `path: "${e.path}"` : `fileName: "${e.fileName ?? ''}"`}\n`,
          )
          .join('');
  return {
    apiVersion: opts.apiVersion ?? 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: { name, namespace: opts.namespace ?? 'shop' },
    spec: {
      provider: opts.provider ?? 'gke',
      parameters: { secrets },
      ...(opts.secretObjects ? { secretObjects: opts.secretObjects } : {}),
    },
  };
}

export function store(
  kind: 'SecretStore' | 'ClusterSecretStore',
  name: string,
  gcpsm: Obj | undefined,
  opts: { namespace?: string; apiVersion?: string; provider?: Obj } = {},
): KubeObject {
  return {
    apiVersion: opts.apiVersion ?? 'external-secrets.io/v1',
    kind,
    metadata: { name, ...(kind === 'SecretStore' ? { namespace: opts.namespace ?? 'shop' } : {}) },
    spec: { provider: opts.provider ?? { gcpsm } },
  };
}

export function externalSecret(
  name: string,
  spec: Obj,
  opts: { namespace?: string; apiVersion?: string } = {},
): KubeObject {
  return {
    apiVersion: opts.apiVersion ?? 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace: opts.namespace ?? 'shop' },
    spec: { refreshInterval: '1h', ...spec },
  };
}
