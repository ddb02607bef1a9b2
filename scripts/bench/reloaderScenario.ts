// Scenario A of the Reloader peer: a Kubernetes Secret changes (what Reloader reacts to). The synced
// Secret of every ExternalSecret of one rotated secret gets new data, as ESO would write it; the
// time runs until every dependent Reloader can see (one that references a changed Secret by name)
// has a new pod template, counted from a Deployment watch. Requests are Reloader's own, exactly,
// from the API server's audit log; needless restarts are Deployments restarted that the fleet's
// ground truth says must not be; memory is Reloader's RSS before and during the changes.
import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { mapLimit } from '../../functions/concurrency';
import { listAll } from '../../functions/cluster/listing';
import { workloadResource } from '../../functions/cluster/resources';
import type { KubeObject } from '../../functions/core/kube';
import type { AuditLog } from './audit';
import { sleep } from './cluster';
import type { Fleet } from './fleet';
import { HOT_SECRETS } from './fleet';
import type { RunningReloader } from './reloader';
import { RELOADER_USER } from './reloader';

interface PodSpecView {
  containers?: ContainerView[];
  initContainers?: ContainerView[];
  volumes?: Array<{ secret?: { secretName?: string } }>;
}
interface ContainerView {
  env?: Array<{ valueFrom?: { secretKeyRef?: { name?: string } } }>;
  envFrom?: Array<{ secretRef?: { name?: string } }>;
}

/** The Kubernetes Secrets a Deployment's pod template references by name (what Reloader matches). */
export function referencedSecrets(deployment: KubeObject): Set<string> {
  const spec = (deployment.spec ?? {}) as { template?: { spec?: PodSpecView } };
  const pod = spec.template?.spec ?? {};
  const out = new Set<string>();
  for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) out.add(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) out.add(e.secretRef.name);
  }
  for (const v of pod.volumes ?? []) if (v.secret?.secretName) out.add(v.secret.secretName);
  return out;
}

interface ExternalSecretTarget {
  readonly namespace: string;
  readonly externalSecret: string;
  readonly secret: string;
  readonly keys: readonly string[];
}

/** The Kubernetes Secret each ExternalSecret of the fleet writes: its target name and keys. */
export function syncedSecretTargets(fleet: Fleet): ExternalSecretTarget[] {
  const out: ExternalSecretTarget[] = [];
  for (const phase of fleet.phases) {
    for (const o of phase.objects) {
      if (o.body.kind !== 'ExternalSecret') continue;
      const spec = (o.body.spec ?? {}) as {
        target?: { name?: string };
        data?: Array<{ secretKey?: string }>;
        dataFrom?: Array<{ extract?: { key?: string } }>;
      };
      const name = o.body.metadata?.name ?? '';
      // `dataFrom.extract` writes the keys of the secret's JSON value; one key named after the
      // extracted secret stands in for them. Without it the Secret would have no data, and a
      // "change" to it would be a no-op patch the API server never reports to a watch.
      const keys = [
        ...(spec.data ?? []).map((d) => d.secretKey ?? ''),
        ...(spec.dataFrom ?? []).map((d) => d.extract?.key ?? ''),
      ].filter((k) => k !== '');
      out.push({
        namespace: o.body.metadata?.namespace ?? 'default',
        externalSecret: name,
        secret: spec.target?.name ?? name,
        keys,
      });
    }
  }
  return out;
}

/** metadata.generation: bumped by the API server on every pod template change (a restart). */
function generationOf(o: KubeObject): number {
  const g = (o.metadata as { generation?: unknown } | undefined)?.generation;
  return typeof g === 'number' ? g : 0;
}

function secretData(keys: readonly string[], value: string): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, Buffer.from(`${k}:${value}`).toString('base64')]));
}

/** Creates the synced Secrets ESO would have written (before Reloader starts: creations are no change). */
export async function createSyncedSecrets(admin: KubeApi, fleet: Fleet): Promise<number> {
  const targets = syncedSecretTargets(fleet);
  await mapLimit(targets, 32, (t) =>
    admin.request({
      method: 'POST',
      path: `/api/v1/namespaces/${t.namespace}/secrets`,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: t.secret, namespace: t.namespace },
        data: secretData(t.keys, 'v1'),
      },
    }),
  );
  return targets.length;
}

export interface ScenarioAResult {
  readonly events: number;
  /**
   * Until the last reachable dependent was restarted, over the changes that had one and after which
   * all were (null: no such change).
   */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly maxMs: number | null;
  /** Changes after which some reachable dependent was still not restarted at the timeout. */
  readonly incompleteEvents: number;
  /** Requests the `reloader` user made per change (audit log), the watches it holds not included. */
  readonly requestsPerEvent: number;
  readonly restartsPerEvent: number;
  /** Dependents Reloader cannot see (CSI mounts, the Secret Manager API, annotations): not restarted. */
  readonly unreachablePerEvent: number;
  /** Reachable dependents not restarted within the timeout. */
  readonly missed: number;
  readonly needlessRestarts: number;
  /** RSS after its informers synced and before the first change, and the highest seen after. */
  readonly steadyRssMb: number;
  readonly peakRssMb: number;
}

const TIMEOUT_MS = 120_000;
/** After the last expected restart: time for a needless one still on its way to show up. */
const SETTLE_MS = 3_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function runScenarioA(o: {
  admin: KubeApi;
  kc: KubeConfig;
  fleet: Fleet;
  events: number;
  audit: AuditLog;
  reloader: RunningReloader;
  progress: (line: string) => void;
}): Promise<ScenarioAResult> {
  const { admin, fleet, audit, reloader, progress } = o;
  const deployments = (await listAll(admin, workloadResource('Deployment'), { limit: 2000 }))?.items ?? [];
  const generation = new Map<string, number>();
  const references = new Map<string, Set<string>>();
  for (const d of deployments) {
    const id = `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
    generation.set(id, generationOf(d));
    references.set(id, referencedSecrets(d));
  }
  const targets = syncedSecretTargets(fleet);

  // Reloader lists and watches every Secret, ConfigMap and workload at start: wait until its
  // memory stops growing (its informers synced) before changing anything.
  let steady = reloader.rssMb() ?? 0;
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const now = reloader.rssMb() ?? 0;
    if (Math.abs(now - steady) < 1 && i >= 5) break;
    steady = now;
  }
  progress(`reloader: steady RSS ${steady} MB`);

  const restartsSeen: Array<{ id: string; at: number }> = [];
  const watch = new Watch(o.kc);
  const list = await admin.request<{ metadata?: { resourceVersion?: string } }>({
    method: 'GET',
    path: '/apis/apps/v1/deployments',
    query: { limit: 1 },
  });
  const controller = await watch.watch(
    '/apis/apps/v1/deployments',
    { resourceVersion: list.metadata?.resourceVersion },
    (type: string, obj: KubeObject) => {
      if (type !== 'MODIFIED') return;
      const id = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
      const g = generationOf(obj);
      if (g > (generation.get(id) ?? 0)) {
        generation.set(id, g);
        restartsSeen.push({ id, at: Date.now() });
      }
    },
    () => undefined,
  );

  const times: number[] = [];
  let requests = 0;
  let restarts = 0;
  let unreachable = 0;
  let missed = 0;
  let incomplete = 0;
  let needless = 0;
  let peak = steady;
  try {
    for (let i = 0; i < o.events; i++) {
      const hot = HOT_SECRETS[i % HOT_SECRETS.length];
      const esOfHot = new Set(
        (fleet.externalSecretsOf.get(hot) ?? []).map((e) => `${e.namespace}/${e.name}`),
      );
      const changed = targets.filter((t) => esOfHot.has(`${t.namespace}/${t.externalSecret}`));
      const changedByNs = new Set(changed.map((t) => `${t.namespace}/${t.secret}`));
      const expected = fleet.expected.get(hot) ?? new Set<string>();
      const reachable = [...expected].filter((id) => {
        const ns = id.split('/')[0];
        return [...(references.get(id) ?? [])].some((s) => changedByNs.has(`${ns}/${s}`));
      });
      unreachable += expected.size - reachable.length;

      const from = restartsSeen.length;
      const t0 = Date.now();
      await mapLimit(changed, 16, (t) =>
        admin.request({
          method: 'PATCH',
          path: `/api/v1/namespaces/${t.namespace}/secrets/${t.secret}`,
          contentType: 'application/merge-patch+json',
          body: { data: secretData(t.keys, `v${i + 2}`) },
        }),
      );
      const want = new Set(reachable);
      let lastNeeded = t0;
      const deadline = t0 + TIMEOUT_MS;
      while (Date.now() < deadline) {
        for (const r of restartsSeen.slice(from))
          if (want.delete(r.id)) lastNeeded = Math.max(lastNeeded, r.at);
        if (want.size === 0) break;
        peak = Math.max(peak, reloader.rssMb() ?? 0);
        await sleep(50);
      }
      await sleep(SETTLE_MS);
      const seen = restartsSeen.slice(from);
      missed += want.size;
      restarts += seen.length;
      needless += seen.filter((r) => !expected.has(r.id)).length;
      const n = audit.count(RELOADER_USER, t0, Date.now());
      requests += n;
      // A change with no dependent Reloader can see has no time to report.
      if (want.size > 0) incomplete++;
      else if (reachable.length > 0) times.push(lastNeeded - t0);
      progress(
        `reloader, change ${i + 1}/${o.events}: ${hot}: ${changed.length} Secrets patched, ${reachable.length - want.size}/${reachable.length} reachable dependents restarted ${want.size === 0 ? `in ${lastNeeded - t0} ms` : `(the rest not within ${TIMEOUT_MS / 1000}s)`}, ${seen.length} restarts, ${n} requests`,
      );
    }
  } finally {
    controller.abort();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const per = (n: number): number => Math.round((n / Math.max(1, o.events)) * 10) / 10;
  return {
    events: o.events,
    p50Ms: sorted.length ? percentile(sorted, 50) : null,
    p95Ms: sorted.length ? percentile(sorted, 95) : null,
    maxMs: sorted.length ? sorted[sorted.length - 1] : null,
    incompleteEvents: incomplete,
    requestsPerEvent: per(requests),
    restartsPerEvent: per(restarts),
    unreachablePerEvent: per(unreachable),
    missed,
    needlessRestarts: needless,
    steadyRssMb: steady,
    peakRssMb: peak,
  };
}
