// The benchmark's synthetic fleet: N Deployments (replicas 0) across M namespaces, with the
// SecretProviderClasses, ExternalSecrets and stores they read, in a realistic mix of the ways a
// workload consumes Secret Manager secrets. Pure and seeded: the same options give the same fleet,
// together with the ground truth the benchmark checks both contenders against.
//
// About `hotFraction` of the workloads depend (at `latest`) on one of a few "hot" secrets, the ones
// the benchmark rotates; a smaller share merely mention a hot secret's name in ways that must not
// restart them (pinned versions, the same name in another project, a key of a shared Secret they do
// not read, a hand-made Kubernetes Secret of that name, `rotor.dev/on-rotate: none`, an app that
// reads `latest` through the Secret Manager API on every use). Everything
// else reads its own ("cold") secrets, plain Kubernetes Secrets, or nothing at all.
import type { KubeObject } from '../../functions/core/kube';

export const PROJECT_ID = 'acme-prod';
export const PROJECT_NUMBER = '424242424242';
export const OTHER_PROJECT_ID = 'acme-billing';
/** The secrets the benchmark rotates, each in turn. */
export const HOT_SECRETS = ['db-password', 'api-token', 'payments-key', 'session-key'] as const;

const GKE_DRIVER = 'secrets-store-gke.csi.k8s.io';
const OSS_DRIVER = 'secrets-store.csi.k8s.io';

export type HotMode =
  | 'env-eso'
  | 'envFrom-eso'
  | 'volume-eso'
  | 'subPath-eso'
  | 'init-eso'
  | 'csi-gke'
  | 'csi-oss'
  | 'subPath-csi'
  | 'annotation';
export type DecoyMode =
  | 'pinned-csi'
  | 'pinned-eso'
  | 'other-project-eso'
  | 'other-key-env'
  | 'plain-same-name'
  | 'on-rotate-none'
  | 'api-reader';
export type ColdMode =
  | 'env-eso'
  | 'envFrom-eso'
  | 'volume-eso'
  | 'csi-gke'
  | 'csi-oss'
  | 'annotation'
  | 'plain-secret'
  | 'no-secrets';

const HOT_MODES: ReadonlyArray<readonly [HotMode, number]> = [
  ['env-eso', 4],
  ['envFrom-eso', 2],
  ['volume-eso', 1],
  ['subPath-eso', 1],
  ['init-eso', 1],
  ['csi-gke', 3],
  ['csi-oss', 2],
  ['subPath-csi', 1],
  ['annotation', 1],
];
const DECOY_MODES: ReadonlyArray<readonly [DecoyMode, number]> = [
  ['pinned-csi', 2],
  ['pinned-eso', 2],
  ['other-project-eso', 2],
  ['other-key-env', 3],
  ['plain-same-name', 1],
  ['on-rotate-none', 1],
  ['api-reader', 1],
];
const COLD_MODES: ReadonlyArray<readonly [ColdMode, number]> = [
  ['env-eso', 18],
  ['envFrom-eso', 8],
  ['volume-eso', 6],
  ['csi-gke', 12],
  ['csi-oss', 8],
  ['annotation', 4],
  ['plain-secret', 14],
  ['no-secrets', 30],
];

export interface FleetOptions {
  readonly workloads: number;
  readonly namespaces: number;
  /** Share of workloads that depend on a hot secret at `latest` (default 0.02). */
  readonly hotFraction?: number;
  /** Share of workloads that mention a hot secret without depending on its new versions (default 0.006). */
  readonly decoyFraction?: number;
  readonly seed?: number;
  /** The secrets rotated (default HOT_SECRETS); `--burst K` rotates K of its own at once. */
  readonly hotSecrets?: readonly string[];
}

/** One object to create: the API collection path and the body. */
export interface SeedObject {
  readonly path: string;
  readonly body: KubeObject;
}

export interface ExternalSecretRef {
  readonly namespace: string;
  readonly name: string;
}

export interface Fleet {
  readonly namespaces: readonly string[];
  /** Creation order: later phases reference earlier ones. */
  readonly phases: ReadonlyArray<{ readonly name: string; readonly objects: readonly SeedObject[] }>;
  /** Per hot secret: the Deployments (`ns/name`) a new version must restart. */
  readonly expected: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per hot secret: Deployments that mention it but must not be restarted by a new version. */
  readonly decoys: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per hot secret: ExternalSecrets that sync it from PROJECT_ID (the stand-in for ESO refreshes them). */
  readonly externalSecretsOf: ReadonlyMap<string, readonly ExternalSecretRef[]>;
  /** How many Deployments use each mode, e.g. `hot:env-eso`. */
  readonly modes: Readonly<Record<string, number>>;
}

/** mulberry32: small, fast, good enough to make a reproducible mix. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, weighted: ReadonlyArray<readonly [T, number]>): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let r = random() * total;
  for (const [v, w] of weighted) {
    r -= w;
    if (r < 0) return v;
  }
  return weighted[weighted.length - 1][0];
}

const envKey = (secret: string): string => secret.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

interface Container {
  name: string;
  image: string;
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<Record<string, unknown>>;
  envFrom?: Array<Record<string, unknown>>;
  volumeMounts?: Array<Record<string, unknown>>;
  resources?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
}

/** What a Deployment's pod template reads, built up by the mode helpers. */
interface PodShape {
  app: Container;
  init?: Container;
  volumes: Array<Record<string, unknown>>;
  annotations: Record<string, string>;
}

export function buildFleet(opts: FleetOptions): Fleet {
  const random = rng(opts.seed ?? 20240601);
  const hotFraction = opts.hotFraction ?? 0.02;
  const decoyFraction = opts.decoyFraction ?? 0.006;
  const namespaces = Array.from({ length: opts.namespaces }, (_, i) => `team-${String(i).padStart(3, '0')}`);

  const nsObjects: SeedObject[] = namespaces.map((name) => ({
    path: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'team.acme.dev/name': name } } },
  }));
  const eso = 'external-secrets.io';
  const stores: SeedObject[] = [
    {
      path: `/apis/${eso}/v1/clustersecretstores`,
      body: store('ClusterSecretStore', 'gcp-prod', PROJECT_ID),
    },
    {
      path: `/apis/${eso}/v1/clustersecretstores`,
      body: store('ClusterSecretStore', 'gcp-billing', OTHER_PROJECT_ID),
    },
  ];
  // Every fifth namespace has its own SecretStore (namespaced, same project) instead of the cluster one.
  const ownStore = (nsIndex: number): boolean => nsIndex % 5 === 0;
  namespaces.forEach((ns, i) => {
    if (ownStore(i))
      stores.push({
        path: `/apis/${eso}/v1/namespaces/${ns}/secretstores`,
        body: store('SecretStore', 'gcp', PROJECT_ID, ns),
      });
  });

  const refs: SeedObject[] = [];
  const deployments: SeedObject[] = [];
  const hotSecrets = opts.hotSecrets ?? HOT_SECRETS;
  const expected = new Map<string, Set<string>>(hotSecrets.map((h) => [h, new Set<string>()]));
  const decoys = new Map<string, Set<string>>(hotSecrets.map((h) => [h, new Set<string>()]));
  const externalSecretsOf = new Map<string, ExternalSecretRef[]>(hotSecrets.map((h) => [h, []]));
  const modes: Record<string, number> = {};
  let hotTurn = 0;
  const nextHot = (): string => hotSecrets[hotTurn++ % hotSecrets.length];

  for (let w = 0; w < opts.workloads; w++) {
    const nsIndex = w % opts.namespaces;
    const ns = namespaces[nsIndex];
    const name = `svc-${String(Math.floor(w / opts.namespaces)).padStart(3, '0')}`;
    const id = `${ns}/${name}`;
    const storeRef = ownStore(nsIndex)
      ? { kind: 'SecretStore', name: 'gcp' }
      : { kind: 'ClusterSecretStore', name: 'gcp-prod' };
    const cold = `${ns}-${name}-config`;
    const shape: PodShape = {
      app: {
        name: 'app',
        image: `registry.acme.dev/${ns}/${name}:1.${w % 40}.${w % 7}`,
        ports: [{ name: 'http', containerPort: 8080 }],
        env: [
          { name: 'LOG_LEVEL', value: w % 3 === 0 ? 'debug' : 'info' },
          { name: 'SERVICE_NAME', value: name },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
      },
      volumes: [],
      annotations: {},
    };
    const es = (
      esName: string,
      target: string,
      data: Array<{ secretKey: string; key: string; version?: string }>,
      useStore = storeRef,
      dataFrom?: string,
    ): void => {
      refs.push({
        path: `/apis/${eso}/v1/namespaces/${ns}/externalsecrets`,
        body: {
          apiVersion: `${eso}/v1`,
          kind: 'ExternalSecret',
          metadata: { name: esName, namespace: ns },
          spec: {
            refreshInterval: '1h',
            secretStoreRef: useStore,
            target: { name: target, creationPolicy: 'Owner' },
            ...(data.length
              ? {
                  data: data.map((d) => ({
                    secretKey: d.secretKey,
                    remoteRef: { key: d.key, ...(d.version ? { version: d.version } : {}) },
                  })),
                }
              : {}),
            ...(dataFrom ? { dataFrom: [{ extract: { key: dataFrom } }] } : {}),
          },
        },
      });
    };
    const spc = (
      spcName: string,
      provider: 'gke' | 'gcp',
      entries: Array<{ secret: string; version: string; project?: string }>,
    ): void => {
      const yaml = entries
        .map(
          (e) =>
            `- resourceName: "projects/${e.project ?? PROJECT_ID}/secrets/${e.secret}/versions/${e.version}"\n  path: "${e.secret}"\n`,
        )
        .join('');
      refs.push({
        path: `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${ns}/secretproviderclasses`,
        body: {
          apiVersion: 'secrets-store.csi.x-k8s.io/v1',
          kind: 'SecretProviderClass',
          metadata: { name: spcName, namespace: ns },
          spec: { provider, parameters: { secrets: yaml } },
        },
      });
    };
    const csiVolume = (driver: string, spcName: string, subPath?: string): void => {
      shape.volumes.push({
        name: 'secrets',
        csi: { driver, readOnly: true, volumeAttributes: { secretProviderClass: spcName } },
      });
      (shape.app.volumeMounts ??= []).push({
        name: 'secrets',
        mountPath: subPath ? `/etc/secrets/${subPath}` : '/etc/secrets',
        readOnly: true,
        ...(subPath ? { subPath } : {}),
      });
    };
    const envFromSecret = (target: string, key: string, varName = key): void => {
      (shape.app.env ??= []).push({ name: varName, valueFrom: { secretKeyRef: { name: target, key } } });
    };
    const secretVolume = (target: string, subPath?: string): void => {
      shape.volumes.push({ name: 'creds', secret: { secretName: target } });
      (shape.app.volumeMounts ??= []).push({
        name: 'creds',
        mountPath: subPath ? `/etc/creds/${subPath}` : '/etc/creds',
        readOnly: true,
        ...(subPath ? { subPath } : {}),
      });
    };
    const syncedFor = (secret: string, esName: string): void => {
      externalSecretsOf.get(secret)?.push({ namespace: ns, name: esName });
    };

    const r = random();
    let mode: string;
    if (r < hotFraction) {
      const hot = nextHot();
      const m = pick(random, HOT_MODES);
      mode = `hot:${m}`;
      expected.get(hot)?.add(id);
      const key = envKey(hot);
      const target = `${name}-secrets`;
      switch (m) {
        case 'env-eso':
          es(target, target, [
            { secretKey: key, key: hot },
            { secretKey: 'CONFIG', key: cold },
          ]);
          syncedFor(hot, target);
          envFromSecret(target, key);
          envFromSecret(target, 'CONFIG', 'APP_CONFIG');
          break;
        case 'envFrom-eso':
          es(target, target, [], storeRef, hot);
          syncedFor(hot, target);
          (shape.app.envFrom ??= []).push({ secretRef: { name: target } });
          break;
        case 'volume-eso':
        case 'subPath-eso':
          es(target, target, [
            { secretKey: key, key: hot },
            { secretKey: 'CONFIG', key: cold },
          ]);
          syncedFor(hot, target);
          secretVolume(target, m === 'subPath-eso' ? key : undefined);
          break;
        case 'init-eso':
          // A migration job in an init container reads the password once; the app reads its config.
          es(target, target, [
            { secretKey: key, key: hot },
            { secretKey: 'CONFIG', key: cold },
          ]);
          syncedFor(hot, target);
          shape.init = {
            name: 'migrate',
            image: `registry.acme.dev/${ns}/${name}-migrate:1`,
            env: [{ name: key, valueFrom: { secretKeyRef: { name: target, key } } }],
          };
          envFromSecret(target, 'CONFIG', 'APP_CONFIG');
          break;
        case 'csi-gke':
        case 'csi-oss':
        case 'subPath-csi': {
          const spcName = `${name}-spc`;
          const gke = m !== 'csi-oss';
          spc(spcName, gke ? 'gke' : 'gcp', [
            { secret: cold, version: 'latest' },
            { secret: hot, version: 'latest' },
          ]);
          csiVolume(gke ? GKE_DRIVER : OSS_DRIVER, spcName, m === 'subPath-csi' ? hot : undefined);
          break;
        }
        case 'annotation':
          // Reads the secret through the Secret Manager API once, at start: a restart picks up the new version.
          shape.annotations['rotor.dev/secrets'] =
            w % 2 === 0 ? hot : `projects/${PROJECT_ID}/secrets/${hot}`;
          shape.annotations['rotor.dev/on-rotate'] = 'restart';
          break;
      }
    } else if (r < hotFraction + decoyFraction) {
      const hot = nextHot();
      const m = pick(random, DECOY_MODES);
      mode = `decoy:${m}`;
      const key = envKey(hot);
      const target = `${name}-secrets`;
      switch (m) {
        case 'pinned-csi': {
          const spcName = `${name}-spc`;
          spc(spcName, 'gke', [{ secret: hot, version: '1' }]);
          csiVolume(GKE_DRIVER, spcName);
          decoys.get(hot)?.add(id);
          break;
        }
        case 'pinned-eso':
          es(target, target, [{ secretKey: key, key: hot, version: '1' }]);
          syncedFor(hot, target);
          envFromSecret(target, key);
          decoys.get(hot)?.add(id);
          break;
        case 'other-project-eso':
          // Same secret name, billing project: a different secret.
          es(target, target, [{ secretKey: key, key: hot }], {
            kind: 'ClusterSecretStore',
            name: 'gcp-billing',
          });
          envFromSecret(target, key);
          decoys.get(hot)?.add(id);
          break;
        case 'other-key-env':
          // A shared Secret carries the hot secret under one key; this app reads only another key.
          es(target, target, [
            { secretKey: key, key: hot },
            { secretKey: 'CONFIG', key: cold },
          ]);
          syncedFor(hot, target);
          envFromSecret(target, 'CONFIG', 'APP_CONFIG');
          decoys.get(hot)?.add(id);
          break;
        case 'plain-same-name':
          // A hand-made Kubernetes Secret that happens to share the name: not from Secret Manager.
          envFromSecret(hot, 'password', key);
          decoys.get(hot)?.add(id);
          break;
        case 'on-rotate-none':
          // Re-reads its file itself: restarting it would be needless.
          es(target, target, [{ secretKey: key, key: hot }]);
          syncedFor(hot, target);
          secretVolume(target);
          shape.annotations['rotor.dev/on-rotate'] = 'none';
          decoys.get(hot)?.add(id);
          break;
        case 'api-reader':
          // Reads `latest` through the Secret Manager API on every use: nothing to do.
          shape.annotations['rotor.dev/secrets'] = hot;
          decoys.get(hot)?.add(id);
          break;
      }
    } else {
      const m = pick(random, COLD_MODES);
      mode = `cold:${m}`;
      const target = `${name}-secrets`;
      switch (m) {
        case 'env-eso':
          es(target, target, [
            { secretKey: 'CONFIG', key: cold },
            { secretKey: 'TOKEN', key: `${ns}-${name}-token` },
          ]);
          envFromSecret(target, 'CONFIG', 'APP_CONFIG');
          envFromSecret(target, 'TOKEN', 'APP_TOKEN');
          break;
        case 'envFrom-eso':
          es(target, target, [], storeRef, cold);
          (shape.app.envFrom ??= []).push({ secretRef: { name: target } });
          break;
        case 'volume-eso':
          es(target, target, [{ secretKey: 'config.json', key: cold }]);
          secretVolume(target);
          break;
        case 'csi-gke':
        case 'csi-oss': {
          const spcName = `${name}-spc`;
          const gke = m === 'csi-gke';
          spc(spcName, gke ? 'gke' : 'gcp', [
            { secret: cold, version: 'latest' },
            { secret: `${ns}-${name}-cert`, version: w % 4 === 0 ? '3' : 'latest' },
          ]);
          csiVolume(gke ? GKE_DRIVER : OSS_DRIVER, spcName);
          break;
        }
        case 'annotation':
          shape.annotations['rotor.dev/secrets'] = cold;
          break;
        case 'plain-secret':
          envFromSecret(`${name}-tls`, 'tls.key', 'TLS_KEY');
          break;
        case 'no-secrets':
          break;
      }
    }
    modes[mode] = (modes[mode] ?? 0) + 1;
    deployments.push({
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      body: deployment(ns, name, shape),
    });
  }

  return {
    namespaces,
    phases: [
      { name: 'namespaces', objects: nsObjects },
      { name: 'secret stores', objects: stores },
      { name: 'SecretProviderClasses and ExternalSecrets', objects: refs },
      { name: 'Deployments', objects: deployments },
    ],
    expected,
    decoys,
    externalSecretsOf,
    modes,
  };
}

function store(
  kind: 'SecretStore' | 'ClusterSecretStore',
  name: string,
  project: string,
  namespace?: string,
): KubeObject {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: {
      provider: {
        gcpsm: {
          projectID: project,
          auth: {
            workloadIdentity: {
              clusterLocation: 'europe-west1',
              clusterName: 'prod',
              serviceAccountRef: { name: 'external-secrets' },
            },
          },
        },
      },
    },
  };
}

function deployment(ns: string, name: string, shape: PodShape): KubeObject {
  const labels = { app: name, 'app.kubernetes.io/part-of': ns };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: ns,
      labels,
      ...(Object.keys(shape.annotations).length ? { annotations: shape.annotations } : {}),
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          ...(shape.init ? { initContainers: [shape.init] } : {}),
          containers: [shape.app],
          ...(shape.volumes.length ? { volumes: shape.volumes } : {}),
          serviceAccountName: 'default',
          terminationGracePeriodSeconds: 30,
        },
      },
    },
  };
}
