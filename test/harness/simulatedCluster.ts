// The parts of a GKE cluster the local control plane does not have, simulated just as far as Rotor
// can observe them, so end-to-end tests and the demo see the same objects move in the same order as
// on a real cluster. Nothing here is Rotor: these play the kubelet, the Secrets Store CSI driver and
// the External Secrets Operator, against the real API server, as the admin user.
//
//   SecretManagerState   what Secret Manager holds (versions, aliases): the source the simulated
//                        ESO and CSI driver read. Values are placeholders, never real secrets.
//   SimulatedEso         ESO's ExternalSecret controller: syncs on creation and whenever the
//                        ExternalSecret's annotations change (the `force-sync` annotation Rotor
//                        writes is how ESO users force a refresh), after `delayMs`: writes the target
//                        Secret's data, then status.refreshTime (whole seconds, as metav1.Time
//                        serialises) and Ready=True. It never refreshes on its own (refreshInterval
//                        is long), so a sync after an event is always one that something forced.
//   SimulatedNode        the kubelet and the CSI driver on one node: a pod the controllers create
//                        gets an IP (in a pod network when given one, so the API server's pod proxy
//                        reaches a real server), Running and Ready; when it mounts a CSI volume the
//                        driver's SecretProviderClassPodStatus is created with the versions it
//                        mounted; every `rotationPollMs` (the driver's --rotation-poll-interval)
//                        mounts are re-resolved against Secret Manager, files "rewritten" and the pod
//                        status objects updated.
// Both record what they did with wall-clock times, and both can be paused, so a test can hold the
// new version back and watch Rotor wait.
import { parse as parseYaml } from 'yaml';
import type { ControlPlane } from './controlPlane';
import type { PodNetwork } from './podNetwork';

// ---------------------------------------------------------------------------------------------
// Secret Manager's state

export class SecretManagerState {
  private readonly versions = new Map<string, number>();
  private readonly aliases = new Map<string, Map<string, string>>();

  /** `projectNumber` is what Secret Manager names resources with (`projects/NUMBER/...`). */
  constructor(readonly projectNumber: string) {}

  /** Adds a version (1, 2, ...) and returns its number. */
  addVersion(secret: string): string {
    const next = (this.versions.get(secret) ?? 0) + 1;
    this.versions.set(secret, next);
    return String(next);
  }

  setAlias(secret: string, alias: string, version: string): void {
    let m = this.aliases.get(secret);
    if (!m) this.aliases.set(secret, (m = new Map<string, string>()));
    m.set(alias, version);
  }

  aliasesOf(secret: string): Record<string, string> {
    return Object.fromEntries(this.aliases.get(secret) ?? []);
  }

  latest(secret: string): string | undefined {
    const n = this.versions.get(secret);
    return n ? String(n) : undefined;
  }

  /** `latest`, a number or an alias → a version number (undefined when unknown). */
  resolve(secret: string, selector = 'latest'): string | undefined {
    if (selector === 'latest') return this.latest(secret);
    if (/^[0-9]+$/.test(selector))
      return Number(selector) <= (this.versions.get(secret) ?? 0) ? selector : undefined;
    return this.aliases.get(secret)?.get(selector);
  }

  secretName(secret: string): string {
    return `projects/${this.projectNumber}/secrets/${secret}`;
  }

  versionName(secret: string, version: string): string {
    return `${this.secretName(secret)}/versions/${version}`;
  }

  /** The placeholder payload of a version (what a synced Secret or a mounted file would hold). */
  value(secret: string, version: string): string {
    return `${secret}@v${version}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Small API helpers (admin)

interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  generation?: number;
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
}

async function api<T>(
  cp: ControlPlane,
  method: string,
  path: string,
  body?: object,
  contentType?: string,
): Promise<T | undefined> {
  const r = await cp.request('admin', method, path, {
    ...(body ? { body } : {}),
    ...(contentType ? { contentType } : {}),
  });
  if (r.status === 404) return undefined;
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body.slice(0, 300)}`);
  return (r.body ? JSON.parse(r.body) : {}) as T;
}

async function list(cp: ControlPlane, path: string): Promise<Obj[]> {
  return (await api<{ items: Obj[] }>(cp, 'GET', path))?.items ?? [];
}

const MERGE = 'application/merge-patch+json';
const ESO = '/apis/external-secrets.io/v1';
const CSI = '/apis/secrets-store.csi.x-k8s.io/v1';
const CSI_DRIVERS = new Set(['secrets-store-gke.csi.k8s.io', 'secrets-store.csi.k8s.io']);

/** metav1.Time on the wire: RFC 3339 in whole seconds. */
export function wholeSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `tick` every `intervalMs` until stopped; errors are kept for `errors()` (and logged once). */
function loop(intervalMs: number, tick: () => Promise<void>): { stop(): Promise<void>; errors: string[] } {
  let stopped = false;
  const errors: string[] = [];
  const done = (async () => {
    while (!stopped) {
      try {
        await tick();
      } catch (e) {
        if (!stopped) errors.push((e as Error).message);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    errors,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// External Secrets Operator

export interface EsoSync {
  namespace: string;
  name: string;
  /** What made it sync. */
  trigger: 'created' | 'annotations';
  /** The force-sync annotation value that triggered it, if any. */
  forceSync?: string;
  /** Secret → version it wrote. */
  versions: Record<string, string>;
  /** When the target Secret held the new data (ms). */
  secretWrittenAt: number;
  /** status.refreshTime as written. */
  refreshTime: string;
}

export interface SimulatedEso {
  readonly syncs: EsoSync[];
  /** Stop / restart syncing everything. */
  pause(): void;
  resume(): void;
  /** Stop / restart syncing one ExternalSecret (`namespace/name`): a provider outage for it alone. */
  hold(id: string): void;
  release(id: string): void;
  errors(): string[];
  stop(): Promise<void>;
}

interface EsoSpec {
  target?: { name?: string };
  data?: Array<{ secretKey?: string; remoteRef?: { key?: string; version?: string } }>;
}

/** The trigger ESO keeps in status.syncedResourceVersion: generation plus a hash of the metadata. */
function syncKey(o: Obj): string {
  const annotations = Object.entries(o.metadata.annotations ?? {})
    .filter(([k]) => !k.startsWith('kubectl.kubernetes.io/'))
    .sort();
  return `${o.metadata.generation ?? 0}-${JSON.stringify(annotations)}`;
}

export function startSimulatedEso(
  cp: ControlPlane,
  sm: SecretManagerState,
  options: { delayMs?: number; pollMs?: number } = {},
): SimulatedEso {
  const syncs: EsoSync[] = [];
  const delayMs = options.delayMs ?? 300;
  let paused = false;
  const held = new Set<string>();
  const inFlight = new Set<string>();

  const sync = async (es: Obj, key: string): Promise<void> => {
    const ns = es.metadata.namespace ?? 'default';
    // Checked again here, with no await before Secret Manager is read: a pause (or hold) that came
    // while this sync was queued must keep a version added after it out of the Secret.
    if (paused || held.has(`${ns}/${es.metadata.name}`)) return;
    const spec = (es.spec ?? {}) as EsoSpec;
    const target = spec.target?.name ?? es.metadata.name;
    const data: Record<string, string> = {};
    const versions: Record<string, string> = {};
    for (const d of spec.data ?? []) {
      const secret = d.remoteRef?.key;
      if (!secret || !d.secretKey) continue;
      const version = sm.resolve(secret, d.remoteRef?.version ?? 'latest');
      if (!version) continue;
      versions[secret] = version;
      data[d.secretKey] = Buffer.from(sm.value(secret, version)).toString('base64');
    }
    const path = `/api/v1/namespaces/${ns}/secrets/${target}`;
    const existing = await api<Obj>(cp, 'GET', path);
    const owner = {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      name: es.metadata.name,
      uid: es.metadata.uid,
      controller: true,
    };
    if (existing) await api(cp, 'PATCH', path, { data }, MERGE);
    else
      await api(cp, 'POST', `/api/v1/namespaces/${ns}/secrets`, {
        metadata: { name: target, ownerReferences: [owner] },
        type: 'Opaque',
        data,
      });
    const secretWrittenAt = Date.now();
    const refreshTime = wholeSeconds(new Date());
    await api(
      cp,
      'PATCH',
      `${ESO}/namespaces/${ns}/externalsecrets/${es.metadata.name}/status`,
      {
        status: {
          refreshTime,
          syncedResourceVersion: key,
          binding: { name: target },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'SecretSynced',
              message: 'secret synced',
              lastTransitionTime: refreshTime,
            },
          ],
        },
      },
      MERGE,
    );
    const forceSync = es.metadata.annotations?.['force-sync'];
    syncs.push({
      namespace: ns,
      name: es.metadata.name,
      trigger: es.status?.syncedResourceVersion === undefined ? 'created' : 'annotations',
      ...(forceSync ? { forceSync } : {}),
      versions,
      secretWrittenAt,
      refreshTime,
    });
  };

  const l = loop(options.pollMs ?? 150, async () => {
    if (paused) return;
    for (const es of await list(cp, `${ESO}/externalsecrets`)) {
      const key = syncKey(es);
      const id = `${es.metadata.namespace}/${es.metadata.name}`;
      if (es.status?.syncedResourceVersion === key || inFlight.has(id) || held.has(id)) continue;
      inFlight.add(id);
      // The operator's reconcile queue: the sync lands a little later.
      void sleep(delayMs)
        .then(async () => {
          if (paused || held.has(id)) return;
          // Re-read: sync what the object says now.
          const fresh = await api<Obj>(
            cp,
            'GET',
            `${ESO}/namespaces/${es.metadata.namespace}/externalsecrets/${es.metadata.name}`,
          );
          if (fresh && fresh.status?.syncedResourceVersion !== syncKey(fresh))
            await sync(fresh, syncKey(fresh));
        })
        .catch((e: unknown) => l.errors.push((e as Error).message))
        .finally(() => inFlight.delete(id));
    }
  });
  return {
    syncs,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    hold: (id) => {
      held.add(id);
    },
    release: (id) => {
      held.delete(id);
    },
    errors: () => l.errors,
    stop: () => l.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// Kubelet + CSI driver

export interface CsiMount {
  namespace: string;
  pod: string;
  spc: string;
  /** Secret → version mounted. */
  versions: Record<string, string>;
  at: number;
  kind: 'mount' | 'rotation';
}

export interface SimulatedNode {
  readonly mounts: CsiMount[];
  /** Pod name → IP it was given. */
  readonly podIps: Map<string, string>;
  /** Pause/resume the CSI driver's rotation (pods still start and mount). */
  pauseRotation(): void;
  resumeRotation(): void;
  errors(): string[];
  stop(): Promise<void>;
}

interface PodSpec {
  volumes?: Array<{ name: string; csi?: { driver?: string; volumeAttributes?: Record<string, string> } }>;
}

interface SpcSecret {
  resourceName?: string;
  path?: string;
  fileName?: string;
}

const RESOURCE = /^projects\/([^/]+)\/(?:locations\/[^/]+\/)?secrets\/([^/]+)\/versions\/([^/]+)$/;

export function startSimulatedNode(
  cp: ControlPlane,
  sm: SecretManagerState,
  options: { namespaces: string[]; podNetwork?: PodNetwork; pollMs?: number; rotationPollMs?: number },
): SimulatedNode {
  const mounts: CsiMount[] = [];
  const podIps = new Map<string, string>();
  let rotationPaused = false;
  let fakeHost = 10;

  const resolveObjects = async (
    ns: string,
    spcName: string,
  ): Promise<
    { objects: Array<{ id: string; version: string }>; versions: Record<string, string> } | undefined
  > => {
    const spc = await api<Obj>(cp, 'GET', `${CSI}/namespaces/${ns}/secretproviderclasses/${spcName}`);
    const raw = (spc?.spec?.parameters as { secrets?: string } | undefined)?.secrets;
    if (!raw) return undefined;
    const entries = (parseYaml(raw) as SpcSecret[] | null) ?? [];
    const objects: Array<{ id: string; version: string }> = [];
    const versions: Record<string, string> = {};
    for (const e of entries) {
      const m = RESOURCE.exec(e.resourceName ?? '');
      if (!m) continue;
      const version = sm.resolve(m[2], m[3]);
      if (!version) continue;
      versions[m[2]] = version;
      // The GCP provider reports each object by its resource name and the version it read.
      objects.push({ id: e.resourceName ?? '', version: sm.versionName(m[2], version) });
    }
    return { objects, versions };
  };

  const startPod = async (pod: Obj): Promise<void> => {
    const ns = pod.metadata.namespace ?? 'default';
    const ip = options.podNetwork ? await options.podNetwork.addPodIp() : `203.0.113.${fakeHost++}`;
    const now = wholeSeconds(new Date());
    // CSI volumes mount before the containers start.
    for (const v of (pod.spec as PodSpec | undefined)?.volumes ?? []) {
      const spcName = v.csi?.volumeAttributes?.secretProviderClass;
      if (!v.csi?.driver || !CSI_DRIVERS.has(v.csi.driver) || !spcName) continue;
      const resolved = await resolveObjects(ns, spcName);
      if (!resolved) continue;
      await api(cp, 'POST', `${CSI}/namespaces/${ns}/secretproviderclasspodstatuses`, {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClassPodStatus',
        metadata: {
          name: `${pod.metadata.name}-${ns}-${spcName}`,
          labels: { 'internal.secrets-store.csi.k8s.io/node-name': 'sim-node' },
          ownerReferences: [
            { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
          ],
        },
        status: {
          podName: pod.metadata.name,
          secretProviderClassName: spcName,
          mounted: true,
          targetPath: `/var/lib/kubelet/pods/${pod.metadata.uid}/volumes/kubernetes.io~csi/${v.name}/mount`,
          objects: resolved.objects,
        },
      });
      mounts.push({
        namespace: ns,
        pod: pod.metadata.name,
        spc: spcName,
        versions: resolved.versions,
        at: Date.now(),
        kind: 'mount',
      });
    }
    await api(
      cp,
      'PATCH',
      `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}/status`,
      {
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          hostIP: options.podNetwork?.hostIp ?? '203.0.113.1',
          startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
            type,
            status: 'True',
            lastTransitionTime: now,
          })),
        },
      },
      MERGE,
    );
    podIps.set(`${ns}/${pod.metadata.name}`, ip);
  };

  const kubelet = loop(options.pollMs ?? 150, async () => {
    for (const ns of options.namespaces) {
      for (const pod of await list(cp, `/api/v1/namespaces/${ns}/pods`)) {
        if (
          pod.metadata.deletionTimestamp ||
          podIps.has(`${ns}/${pod.metadata.name}`) ||
          (pod.status as { podIP?: string } | undefined)?.podIP
        )
          continue;
        await startPod(pod);
      }
    }
  });

  const rotation = loop(options.rotationPollMs ?? 1000, async () => {
    if (rotationPaused) return;
    for (const ns of options.namespaces) {
      for (const st of await list(cp, `${CSI}/namespaces/${ns}/secretproviderclasspodstatuses`)) {
        const status = (st.status ?? {}) as {
          podName?: string;
          secretProviderClassName?: string;
          objects?: Array<{ id: string; version: string }>;
        };
        if (!status.secretProviderClassName || !status.podName) continue;
        const resolved = await resolveObjects(ns, status.secretProviderClassName);
        const fingerprint = (objects: Array<{ id: string; version: string }>): string =>
          objects
            .map((o) => `${o.id}=${o.version}`)
            .sort()
            .join(',');
        if (!resolved || fingerprint(resolved.objects) === fingerprint(status.objects ?? [])) continue;
        // Paused while this pass was resolving: whatever it resolved after the pause stays unmounted.
        if (rotationPaused) return;
        // The driver rewrites the files, then records the versions it mounted; `at` is when that
        // record is visible through the API.
        await api(
          cp,
          'PATCH',
          `${CSI}/namespaces/${ns}/secretproviderclasspodstatuses/${st.metadata.name}`,
          { status: { objects: resolved.objects } },
          MERGE,
        );
        mounts.push({
          namespace: ns,
          pod: status.podName,
          spc: status.secretProviderClassName,
          versions: resolved.versions,
          at: Date.now(),
          kind: 'rotation',
        });
      }
    }
  });

  return {
    mounts,
    podIps,
    pauseRotation: () => {
      rotationPaused = true;
    },
    resumeRotation: () => {
      rotationPaused = false;
    },
    errors: () => [...kubelet.errors, ...rotation.errors],
    async stop() {
      await Promise.all([kubelet.stop(), rotation.stop()]);
    },
  };
}
