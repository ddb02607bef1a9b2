// `npm run demo -- --node real`: the demo's workloads as real busybox pods on a real node
// (test/harness/realNode.ts), each serving the SHA-256 of the value it holds. The demo reads every
// pod before the notification and after Rotor acked it, and names the Secret Manager version each
// pod serves by matching hashes against the versions' values, so no value is ever printed.
//
// The real node has no CSI driver here, so the CSI workloads of the simulated demo become their
// Kubernetes Secret equivalents (an ESO-synced Secret read as env, as a volume, through subPath),
// each with the same decision and the same reason to exist. `web` keeps its reload endpoint: its
// app loads the file at start and again on POST /cgi-bin/reload, and serves the hash of what it
// loaded, so its pods show v2 only if Rotor's POST came after the kubelet rewrote the file.
import type { ControlPlane } from '../test/harness/controlPlane';
import { podProxyGet, servingContainerScript, sha256Hex } from '../test/harness/realNode';
import type { SecretManagerState } from '../test/harness/simulatedCluster';

export interface RealPodsWorkload {
  name: string;
  /** What the pod serves (a servingContainerScript path). */
  path: string;
  /** The Secret Manager secret it reads. */
  secret: string;
}

export const REAL_POD_WORKLOADS: RealPodsWorkload[] = [
  { name: 'api', path: '/cgi-bin/env?DB_PASSWORD', secret: 'db-password' },
  { name: 'web', path: '/cgi-bin/loaded', secret: 'db-password' },
  { name: 'reports', path: '/cgi-bin/file?/etc/db-password.txt', secret: 'db-password' },
  { name: 'legacy-batch', path: '/cgi-bin/env?DB_PASSWORD', secret: 'db-password' },
  { name: 'frontend', path: '/cgi-bin/env?API_TOKEN', secret: 'api-token' },
];

/** The demo's manifests for real pods (image: the node's app image, never pulled). */
export function realPodManifests(ns: string, projectId: string, image: string): string {
  const externalSecret = (name: string, key: string, secret: string, version?: string): string => `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: ${name}, namespace: ${ns}}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: gcp}
  target: {name: ${name}}
  data:
    - secretKey: ${key}
      remoteRef: {key: ${secret}${version ? `, version: "${version}"` : ''}}`;
  const deployment = (
    name: string,
    replicas: number,
    readyPath: string,
    container: string,
    pod = '',
    annotations = '',
    prelude = '',
  ): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  annotations: {${annotations}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      enableServiceLinks: false${pod}
      containers:
        - name: app
          image: ${image}
          imagePullPolicy: Never
          command: [sh, -c, ${JSON.stringify(servingContainerScript(prelude))}]
          readinessProbe:
            httpGet: {path: "${readyPath}", port: 8080}
            periodSeconds: 1${container}`;
  const envFrom = (secretName: string, key: string): string => `
          env: [{name: ${key}, valueFrom: {secretKeyRef: {name: ${secretName}, key: ${key}}}}]`;
  const credsVolume = `
      volumes: [{name: creds, secret: {secretName: db-credentials}}]`;
  return [
    `
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: gcp}
spec: {provider: {gcpsm: {projectID: ${projectId}}}}`,
    externalSecret('db-credentials', 'DB_PASSWORD', 'db-password'),
    externalSecret('db-credentials-v1', 'DB_PASSWORD', 'db-password', '1'),
    externalSecret('api-token', 'API_TOKEN', 'api-token'),
    // env from the ESO-synced Secret: restart, after ESO holds the new value.
    deployment('api', 2, '/cgi-bin/env?DB_PASSWORD', envFrom('db-credentials', 'DB_PASSWORD')),
    // A Secret volume and a reload endpoint: the kubelet updates the file in place, then Rotor asks
    // the app to re-read it.
    deployment(
      'web',
      2,
      '/cgi-bin/loaded',
      `
          volumeMounts: [{name: creds, mountPath: /secrets, readOnly: true}]`,
      credsVolume,
      'rotor.dev/reload-endpoint: "8080/cgi-bin/reload"',
      reloadingApp('/secrets/DB_PASSWORD'),
    ),
    // The same file through subPath: never updated in place, so restart.
    deployment(
      'reports',
      1,
      '/cgi-bin/file?/etc/db-password.txt',
      `
          volumeMounts: [{name: creds, mountPath: /etc/db-password.txt, subPath: DB_PASSWORD, readOnly: true}]`,
      credsVolume,
    ),
    // Pinned to version 1: a new version changes nothing.
    deployment('legacy-batch', 1, '/cgi-bin/env?DB_PASSWORD', envFrom('db-credentials-v1', 'DB_PASSWORD')),
    // Another secret altogether.
    deployment('frontend', 1, '/cgi-bin/env?API_TOKEN', envFrom('api-token', 'API_TOKEN')),
  ]
    .map((d) => d.trim())
    .join('\n---\n');
}

/**
 * A prelude for servingContainerScript: the app loads `file` at start and on POST /cgi-bin/reload,
 * and GET /cgi-bin/loaded serves the SHA-256 of what it loaded last (never the value).
 */
function reloadingApp(file: string): string {
  const header = `printf 'Content-Type: text/plain\\r\\n\\r\\n'`;
  const load = `sha256sum < ${file} | cut -c1-64 > /tmp/loaded`;
  return [
    load,
    'mkdir -p /tmp/www/cgi-bin',
    `printf '%s\\n' '#!/bin/sh' "${header}" '${load}; cat /tmp/loaded' > /tmp/www/cgi-bin/reload`,
    `printf '%s\\n' '#!/bin/sh' "${header}" 'cat /tmp/loaded' > /tmp/www/cgi-bin/loaded`,
  ].join('\n');
}

interface PodView {
  metadata: { name: string; deletionTimestamp?: string };
  status: { conditions?: Array<{ type: string; status: string }> };
}

/** Per workload: pod name → the version it serves ("db-password v2"), read from the pods. */
export type Served = Map<string, Map<string, string>>;

async function readyPods(cp: ControlPlane, ns: string, app: string): Promise<string[]> {
  const r = await cp.request('admin', 'GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`);
  const items = r.status === 200 ? (JSON.parse(r.body) as { items: PodView[] }).items : [];
  return items
    .filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    )
    .map((p) => p.metadata.name)
    .sort();
}

/** The version whose value hashes to `hash`, or what the pod said. */
function versionOf(sm: SecretManagerState, secret: string, hash: string | undefined): string {
  if (hash === undefined) return 'no answer';
  const latest = Number(sm.latest(secret) ?? 0);
  for (let v = 1; v <= latest; v++)
    if (sha256Hex(sm.value(secret, String(v))) === hash) return `${secret} v${v}`;
  return hash === 'missing' ? 'no file' : 'an unknown value';
}

/** What every ready pod of every demo workload serves now. */
export async function readServed(cp: ControlPlane, ns: string, sm: SecretManagerState): Promise<Served> {
  const served: Served = new Map();
  for (const w of REAL_POD_WORKLOADS) {
    const pods = new Map<string, string>();
    for (const pod of await readyPods(cp, ns, w.name)) {
      const r = await podProxyGet(cp, ns, pod, 8080, w.path);
      pods.set(pod, versionOf(sm, w.secret, r.status === 200 ? r.body.trim() : undefined));
    }
    served.set(w.name, pods);
  }
  return served;
}

/** Every workload has `replicas` ready pods and no others (a rollout finished). */
export async function rolloutsSettled(cp: ControlPlane, ns: string): Promise<boolean> {
  const r = await cp.request('admin', 'GET', `/apis/apps/v1/namespaces/${ns}/deployments`);
  if (r.status !== 200) return false;
  const items = (
    JSON.parse(r.body) as {
      items: Array<{
        metadata: { generation?: number };
        spec: { replicas?: number };
        status: {
          observedGeneration?: number;
          replicas?: number;
          updatedReplicas?: number;
          readyReplicas?: number;
        };
      }>;
    }
  ).items;
  return items.every(
    (d) =>
      d.status.observedGeneration === d.metadata.generation &&
      d.status.replicas === d.spec.replicas &&
      d.status.updatedReplicas === d.spec.replicas &&
      d.status.readyReplicas === d.spec.replicas,
  );
}

/** The before/after table: per workload, each pod and the version it serves. */
export function servedTable(before: Served, after: Served): string[] {
  const out = [
    '',
    'What each pod serves, read from the pods (SHA-256 through the pod proxy, matched to versions):',
  ];
  for (const w of REAL_POD_WORKLOADS) {
    out.push(`  ${w.name}`);
    const b = before.get(w.name) ?? new Map<string, string>();
    const a = after.get(w.name) ?? new Map<string, string>();
    for (const [pod, v] of b)
      out.push(`    before  ${pod.padEnd(34)} ${v}${a.has(pod) ? '' : '  (replaced)'}`);
    for (const [pod, v] of a)
      out.push(`    after   ${pod.padEnd(34)} ${v}${b.has(pod) ? '  (same pod)' : '  (new pod)'}`);
  }
  return out;
}
