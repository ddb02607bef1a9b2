// `npm run bench -- --burst K`: a burst of rotations, e.g. a monthly schedule rotating dozens of
// secrets in the same minute. K different secrets, each with its own dependents in the fleet
// (--workloads, default 10 000), get a new version within one second; their notifications are
// delivered at once, as Pub/Sub pushes them:
//   single     one event alone, to one instance: what one event's discovery costs (the yardstick);
//   oneInstance  all K to one instance that takes them all at once (a raised request concurrency);
//   instances  all K spread over --burst-instances instances (default 5), each taking its share at once.
// Each instance is a fresh Rotor process (the packaged bundle, the deployed heap bound) behind a
// proxy of its own that counts its requests, the lists and the bytes they returned, the most lists
// in flight at once, and the 429s the API server answered. The API server runs with its default
// in-flight limits (API Priority and Fairness on), as a real control plane does. An event that does
// not converge (a 429 is transient: the delivery throws) is redelivered at once, up to
// MAX_DELIVERIES times. Restarts are checked on the server: every dependent of the K secrets has
// its pod template changed exactly once (metadata.generation + 1) and no other Deployment at all.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { listAll } from '../../functions/cluster/listing';
import { workloadResource } from '../../functions/cluster/resources';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../../test/harness/controlPlane';
import type { ControlPlane } from '../../test/harness/controlPlane';
import type { SecretManagerStandIn } from '../../test/harness/secretManagerStandIn';
import { startSecretManagerStandIn } from '../../test/harness/secretManagerStandIn';
import { cloudEvent, esoRefresh, seed, sleep } from './cluster';
import type { ClusterProxy } from './clusterProxy';
import { labelByCluster, proxiesKubeconfig, startClusterProxy } from './clusterProxy';
import type { Fleet } from './fleet';
import { PROJECT_NUMBER, buildFleet } from './fleet';
import type { EventResult } from './protocol';
import { packageBundle, rotorWorker } from './rotorWorker';
import type { Worker } from './workerClient';

const CLUSTER = 'c0';
/** Deliveries of one event before the bench gives up on it (Pub/Sub would go on, with backoff). */
const MAX_DELIVERIES = 5;

export interface BurstOptions {
  readonly workloads: number;
  readonly namespaces: number;
  readonly burst: number;
  readonly instances: number;
  readonly progress: (line: string) => void;
}

export interface BurstDelivery {
  readonly events: number;
  readonly instances: number;
  /** From the first delivery until the last event converged (redeliveries included). */
  readonly allConvergedMs: number | null;
  readonly convergedEvents: number;
  readonly deliveries: number;
  readonly maxDeliveriesPerEvent: number;
  /** Through the instances' proxies: every request, the lists among them and the bytes they returned. */
  readonly requests: number;
  readonly lists: number;
  /** Of `lists`, the whole-cluster ones (discovery); the rest read one namespace (a dependent's pods, CSI statuses). */
  readonly clusterWideLists: number;
  readonly listedMb: number;
  /** The most list requests one instance had in flight at once. */
  readonly peakConcurrentListsPerInstance: number;
  /** 429 (Too Many Requests) answers the instances received. */
  readonly throttled: number;
  /** The highest peak RSS of the instances. */
  readonly peakRssMb: number;
  /** Dependents of the burst's secrets whose pod template changed exactly once / not at all / more than once. */
  readonly restartedOnce: number;
  readonly missed: number;
  readonly restartedMoreThanOnce: number;
  /** Deployments restarted that depend on none of the burst's secrets. */
  readonly needless: number;
  readonly errors: readonly string[];
}

export interface BurstFigures {
  readonly workloads: number;
  readonly namespaces: number;
  readonly burst: number;
  readonly dependents: number;
  readonly single: BurstDelivery;
  readonly oneInstance: BurstDelivery;
  readonly instances: BurstDelivery;
  /** oneInstance's list requests over one event's (all lists, and the whole-cluster ones): the target is at most 2. */
  readonly listsOverOneEvent: number;
  readonly clusterWideListsOverOneEvent: number;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

export function burstSecrets(k: number): string[] {
  return Array.from({ length: k }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
}

/** metadata.generation of every Deployment: the API server bumps it on every pod template change. */
async function generations(admin: KubeApi): Promise<Map<string, number>> {
  const all = (await listAll(admin, workloadResource('Deployment'), { limit: 2000 }))?.items ?? [];
  return new Map(
    all.map((d) => [
      `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`,
      (d.metadata as { generation?: number } | undefined)?.generation ?? 0,
    ]),
  );
}

interface Round {
  readonly admin: KubeApi;
  readonly cp: ControlPlane;
  /** Secret Manager, which Rotor asks to confirm each notification before acting. */
  readonly secretManager: SecretManagerStandIn;
  readonly fleet: Fleet;
  readonly progress: (line: string) => void;
  lastWrite: number;
  nextMessage: number;
}

/** One delivery mode: new versions of `secrets`, delivered at once over `instances` fresh instances. */
async function deliverBurst(
  r: Round,
  label: string,
  secrets: readonly string[],
  version: string,
  instances: number,
): Promise<BurstDelivery> {
  const proxies: ClusterProxy[] = [];
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const proxy = await startClusterProxy(CLUSTER, r.cp.server, r.cp.caPem);
      proxies.push(proxy);
      const kubeconfig = join(r.cp.dir, `burst-instance-${i}.kubeconfig`);
      writeFileSync(kubeconfig, proxiesKubeconfig([proxy], r.cp.tokenFor('rotor')));
      workers.push(
        rotorWorker(kubeconfig, [CLUSTER], { ROTOR_SECRET_MANAGER_ENDPOINT: r.secretManager.endpoint }),
      );
    }
    await Promise.all(workers.map((w) => w.ready()));
    const before = await generations(r.admin);

    // Every version is added in the same second, after everything before it; ESO syncs them all
    // in the next second (refreshTime has whole seconds), and the notifications arrive after that.
    const eventMs = Math.ceil((r.lastWrite + 1) / 1000) * 1000;
    const refreshMs = eventMs + 1000;
    while (Date.now() <= refreshMs) await sleep(refreshMs + 5 - Date.now());
    const refreshTime = new Date(refreshMs).toISOString().replace(/\.\d+Z$/, 'Z');
    await Promise.all(secrets.map((s) => esoRefresh(r.admin, r.fleet, s, refreshTime)));
    // Secret Manager holds each version the notifications announce, created at the event.
    for (const s of secrets)
      r.secretManager.hold(`projects/${PROJECT_NUMBER}/secrets/${s}`, {
        version: Number(version),
        createTime: new Date(eventMs),
      });
    const notifications = secrets.map((s) =>
      cloudEvent(s, version, new Date(eventMs).toISOString(), String(8_000_000_000 + r.nextMessage++)),
    );

    // Event i goes to instance i mod instances; each instance takes its share at once.
    const started = Date.now();
    const deliveries = new Array<number>(secrets.length).fill(0);
    const convergedAt = new Array<number | undefined>(secrets.length).fill(undefined);
    const errors: string[] = [];
    for (let attempt = 1; attempt <= MAX_DELIVERIES; attempt++) {
      const open = secrets.map((_, i) => i).filter((i) => convergedAt[i] === undefined);
      if (open.length === 0) break;
      await Promise.all(
        workers.map(async (w, wi) => {
          const mine = open.filter((i) => i % instances === wi);
          if (mine.length === 0) return;
          const results: readonly EventResult[] = await w.burst(
            attempt,
            mine.map((i) => notifications[i]),
          );
          results.forEach((res, j) => {
            const i = mine[j];
            deliveries[i]++;
            if (res.converged && !res.error) convergedAt[i] = Date.now();
            else if (res.error && errors.length < 5) errors.push(`${secrets[i]}: ${res.error}`);
          });
        }),
      );
      r.progress(
        `burst ${label}: delivery ${attempt}: ${convergedAt.filter((t) => t !== undefined).length}/${secrets.length} converged after ${Date.now() - started} ms`,
      );
    }
    r.lastWrite = Date.now();
    const stats = await Promise.all(workers.map((w) => w.finish()));

    const after = await generations(r.admin);
    const dependents = new Set(secrets.flatMap((s) => [...(r.fleet.expected.get(s) ?? [])]));
    let once = 0;
    let missed = 0;
    let more = 0;
    let needless = 0;
    for (const [id, g] of after) {
      const bumps = g - (before.get(id) ?? 0);
      if (dependents.has(id)) {
        if (bumps === 1) once++;
        else if (bumps === 0) missed++;
        else more++;
      } else if (bumps > 0) needless++;
    }
    const done = convergedAt.filter((t): t is number => t !== undefined);
    const sum = (f: (p: ClusterProxy) => number): number => proxies.reduce((n, p) => n + f(p), 0);
    return {
      events: secrets.length,
      instances,
      allConvergedMs: done.length === secrets.length ? Math.max(...done) - started : null,
      convergedEvents: done.length,
      deliveries: deliveries.reduce((a, b) => a + b, 0),
      maxDeliveriesPerEvent: Math.max(...deliveries),
      requests: sum((p) => p.requests),
      lists: sum((p) => p.lists),
      clusterWideLists: sum((p) => p.clusterWideLists),
      listedMb: round(sum((p) => p.listBytes) / 1024 / 1024),
      peakConcurrentListsPerInstance: Math.max(...proxies.map((p) => p.peakConcurrentLists)),
      throttled: sum((p) => p.throttled),
      peakRssMb: Math.max(...stats.map((s) => s.peakRssMb)),
      restartedOnce: once,
      missed,
      restartedMoreThanOnce: more,
      needless,
      errors,
    };
  } finally {
    for (const w of workers) w.kill();
    for (const p of proxies) await p.close();
  }
}

export async function runBurst(o: BurstOptions): Promise<BurstFigures> {
  const secrets = burstSecrets(o.burst);
  const fleet = labelByCluster(
    buildFleet({ workloads: o.workloads, namespaces: o.namespaces, hotSecrets: secrets }),
    [CLUSTER],
  );
  const dependents = secrets.reduce((n, s) => n + (fleet.expected.get(s)?.size ?? 0), 0);
  o.progress(
    `burst: ${o.workloads} Deployments in ${o.namespaces} namespaces; ${o.burst} secrets rotated at once, ${dependents} dependents in all`,
  );
  let cp: ControlPlane | undefined;
  let secretManager: SecretManagerStandIn | undefined;
  try {
    secretManager = await startSecretManagerStandIn();
    o.progress('burst: starting the local control plane (default in-flight limits, APF on)');
    cp = await startControlPlane({ users: ['rotor'], controllerManager: false });
    const admin = kubeApiFromKubeconfig(cp.kubeconfigPath, undefined, 'admin');
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await seed(admin, fleet, o.progress);
    o.progress('burst: packaging the functions bundle (npm run package)');
    packageBundle();
    const r: Round = {
      admin,
      cp,
      secretManager,
      fleet,
      progress: o.progress,
      lastWrite: Date.now(),
      nextMessage: 0,
    };
    const single = await deliverBurst(r, 'single', secrets.slice(0, 1), '2', 1);
    o.progress(`burst single: ${JSON.stringify(single)}`);
    const oneInstance = await deliverBurst(r, 'one instance', secrets, '3', 1);
    o.progress(`burst one instance: ${JSON.stringify(oneInstance)}`);
    const instances = await deliverBurst(r, `${o.instances} instances`, secrets, '4', o.instances);
    o.progress(`burst ${o.instances} instances: ${JSON.stringify(instances)}`);
    admin.close();
    return {
      workloads: o.workloads,
      namespaces: o.namespaces,
      burst: o.burst,
      dependents,
      single,
      oneInstance,
      instances,
      listsOverOneEvent: round(oneInstance.lists / Math.max(1, single.lists), 2),
      clusterWideListsOverOneEvent: round(
        oneInstance.clusterWideLists / Math.max(1, single.clusterWideLists),
        2,
      ),
    };
  } finally {
    await cp?.stop();
    await secretManager?.close();
  }
}
