// Scenario B of the Reloader peer: end to end, from a new Secret Manager version until every
// dependent runs the new value, with the real External Secrets Operator (test/harness/realEso.ts)
// syncing from the Secret Manager stand-in in both contenders. On a control plane of its own, with
// the controller manager (ReplicaSets are the evidence of a restart) and an audit log:
//
//   rotor   every ExternalSecret at refreshInterval 1h (ESO's documented example: no poll falls in
//           the measurement). The notification is handed to Rotor's live pipeline (reconcileEvent,
//           in the bench's worker process, as the `rotor` user) right after the version is added;
//           Rotor forces ESO's syncs and answers "waiting"; the bench then redelivers the same
//           message as Pub/Sub would, as soon as ESO has answered every sync Rotor forced (the
//           earliest a redelivery finds more to do; at the latest after Pub/Sub's 10 s minimum
//           backoff), until converged. In production each redelivery waits out Pub/Sub's backoff
//           (Rotor's subscription: 10 s minimum): the time measured here is the lower bound.
//   polling every ExternalSecret at the short refreshInterval given (default 30 s) with Reloader
//           (ROTOR_RELOADER_BIN, `--auto-reload-all`, as the `reloader` user) restarting on the
//           synced Secret's change. The time until ESO's synced Secrets hold the new value is
//           measured with or without Reloader: it is the lower bound of any restarter that watches
//           Secrets. Both are interval-bound: each ExternalSecret picks the version up at its next
//           poll, so they are also given scaled to 1 h.
//
// Per dependent: its first ReplicaSet created after its Secret held the new value is its restart
// into it; one created before is a violation (restarted into the old value). Needless restarts are
// ReplicaSets of Deployments that are no dependent. Requests are each contender's own, exactly,
// from the audit log; Secret Manager reads are what the stand-in served to ESO.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import * as grpc from '@grpc/grpc-js';
import { Watch } from '@kubernetes/client-node';
import { join } from 'node:path';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { mapLimit } from '../../functions/concurrency';
import { listAll } from '../../functions/cluster/listing';
import { RESOURCES } from '../../functions/cluster/resources';
import { ESO_FORCE_SYNC } from '../../functions/core/annotations';
import type { KubeObject } from '../../functions/core/kube';
import {
  applyManifests,
  installCrds,
  REPO_ROOT,
  startControlPlane,
  waitFor,
} from '../../test/harness/controlPlane';
import type { ControlPlane } from '../../test/harness/controlPlane';
import { locateEso, startRealEso } from '../../test/harness/realEso';
import type { RealEso } from '../../test/harness/realEso';
import { startSecretManagerStandIn } from '../../test/harness/secretManagerStandIn';
import type { SecretManagerStandIn } from '../../test/harness/secretManagerStandIn';
import { AuditLog, auditFlags } from './audit';
import { cloudEvent, seed, sleep } from './cluster';
import { buildEsoFleet, ESO_STORE, HOT_SECRETS, PROJECT_ID } from './esoFleet';
import { RELOADER_RBAC, RELOADER_USER, startReloader } from './reloader';
import type { RunningReloader } from './reloader';
import { allSyncedMs, forceAnswered, judgeEvent, scaledToInterval, spread } from './scenarioBFigures';
import type { EventVerdict, ReplicaSetCreated, SecretWrite, Spread } from './scenarioBFigures';
import { Worker } from './workerClient';

/** Rotor's half: long enough that no periodic poll of ESO's falls inside the measurement. */
const ROTOR_PHASE_INTERVAL = '1h';
const ONE_HOUR_S = 3600;
/** Pub/Sub's minimum retry backoff in Rotor's subscription (terraform retry_backoff.minimum). */
const PUBSUB_MIN_BACKOFF_MS = 10_000;
const ROTOR_EVENT_TIMEOUT_MS = 5 * 60_000;
/** After Rotor converged: how long the controller manager may take to create the ReplicaSets. */
const REPLICASETS_TIMEOUT_MS = 2 * 60_000;
/** After an event completed: time for a needless restart still on its way to show up. */
const SETTLE_MS = 3_000;

export interface ScenarioBOptions {
  readonly workloads: number;
  readonly namespaces: number;
  readonly events: number;
  /** The polling half's refreshInterval, seconds. */
  readonly intervalSeconds: number;
  /** A Reloader binary, or why there is none. */
  readonly reloader: { bin: string } | { skipped: string };
  readonly scratch: string;
  readonly progress: (line: string) => void;
}

interface Judged extends Spread {
  readonly incompleteEvents: number;
  readonly restartsPerEvent: number;
  readonly missed: number;
  readonly violations: number;
  readonly needlessRestarts: number;
  readonly repeatedRestarts: number;
  readonly requestsPerEvent: number;
  readonly secretManagerReadsPerEvent: number;
}

export interface ScenarioBResult {
  readonly fleet: {
    readonly workloads: number;
    readonly namespaces: number;
    readonly externalSecrets: number;
    readonly dependentsPerEvent: number;
    readonly otherKeyReadersPerEvent: number;
  };
  readonly events: number;
  readonly refreshInterval: string;
  readonly intervalBound: string;
  readonly esoPolling: Spread & {
    readonly incompleteEvents: number;
    readonly atOneHour: Spread;
    readonly secretManagerReadsPerEvent: number;
  };
  readonly reloader:
    (Judged & { readonly steadyRssMb: number; readonly peakRssMb: number }) | { skipped: string };
  readonly rotor: Judged & {
    readonly deliveriesPerEvent: number;
    /** Until the pipeline reported the event converged; the ReplicaSets follow from the controller manager. */
    readonly converged: Spread;
    readonly peakRssMb: number;
  };
  readonly seconds: { readonly setup: number; readonly rotor: number; readonly polling: number };
}

/** What the watches saw, as it happened. */
class Observer {
  /** Per write of a synced Secret: which values it held. */
  readonly secretWrites: Array<{ secret: string; resourceVersion: number; at: number; values: string[] }> =
    [];
  readonly replicaSets: ReplicaSetCreated[] = [];
  /** ExternalSecret status.refreshTime changes seen. */
  refreshes = 0;
  /** Per ExternalSecret: its force-sync annotation and refreshTime, as last seen. */
  private readonly syncs = new Map<string, { forcedAt?: string; refreshTime?: string }>();
  private readonly controllers: AbortController[] = [];

  async start(cp: ControlPlane, admin: KubeApi): Promise<void> {
    const watch = new Watch(cp.kubeConfig());
    const on = async (path: string, handle: (type: string, o: KubeObject) => void): Promise<void> => {
      const list = await admin.request<{ metadata?: { resourceVersion?: string } }>({
        method: 'GET',
        path,
        query: { limit: 1 },
      });
      this.controllers.push(
        await watch.watch(path, { resourceVersion: list.metadata?.resourceVersion }, handle, () => undefined),
      );
    };
    const idOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const rvOf = (o: KubeObject): number => Number(o.metadata?.resourceVersion ?? 0);
    await on('/api/v1/secrets', (type, o) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return;
      const data = (o as { data?: Record<string, string> }).data ?? {};
      this.secretWrites.push({
        secret: idOf(o),
        resourceVersion: rvOf(o),
        at: Date.now(),
        values: Object.values(data).map((b64) => Buffer.from(b64, 'base64').toString('utf8')),
      });
    });
    await on('/apis/apps/v1/replicasets', (type, o) => {
      if (type !== 'ADDED') return;
      const owner = o.metadata?.ownerReferences?.find((r) => r.kind === 'Deployment');
      if (!owner) return;
      this.replicaSets.push({
        deployment: `${o.metadata?.namespace ?? ''}/${owner.name}`,
        resourceVersion: rvOf(o),
        at: Date.now(),
      });
    });
    await on('/apis/external-secrets.io/v1/externalsecrets', (_type, o) => {
      const refreshTime = (o as { status?: { refreshTime?: string } }).status?.refreshTime;
      const forcedAt = o.metadata?.annotations?.[ESO_FORCE_SYNC];
      const seen = this.syncs.get(idOf(o));
      if (refreshTime !== undefined && seen?.refreshTime !== refreshTime) this.refreshes++;
      this.syncs.set(idOf(o), { forcedAt, refreshTime });
    });
  }

  /** ExternalSecrets whose forced sync ESO has not answered yet. */
  unansweredForces(): number {
    let n = 0;
    for (const { forcedAt, refreshTime } of this.syncs.values())
      if (forcedAt !== undefined && !forceAnswered(forcedAt, refreshTime)) n++;
    return n;
  }

  /** The writes after which a Secret held `value`. */
  writesOf(value: string): SecretWrite[] {
    return this.secretWrites
      .filter((w) => w.values.includes(value))
      .map(({ secret, resourceVersion, at }) => ({ secret, resourceVersion, at }));
  }

  stop(): void {
    for (const c of this.controllers) c.abort();
  }
}

async function until(check: () => boolean, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

const per = (n: number, events: number): number => Math.round((n / Math.max(1, events)) * 10) / 10;

function judged(
  verdicts: readonly EventVerdict[],
  requests: number,
  reads: number,
  restarts: number,
): Judged {
  const n = verdicts.length;
  return {
    ...spread(verdicts.map((v) => v.allRestartedMs)),
    incompleteEvents: verdicts.filter((v) => v.allRestartedMs === null).length,
    restartsPerEvent: per(restarts, n),
    missed: verdicts.reduce((s, v) => s + v.missed.length, 0),
    violations: verdicts.reduce((s, v) => s + v.violations.length, 0),
    needlessRestarts: verdicts.reduce((s, v) => s + v.needless, 0),
    repeatedRestarts: verdicts.reduce((s, v) => s + v.repeated, 0),
    requestsPerEvent: per(requests, n),
    secretManagerReadsPerEvent: per(reads, n),
  };
}

export async function runScenarioB(o: ScenarioBOptions): Promise<ScenarioBResult> {
  const { progress } = o;
  const setupStart = Date.now();
  const fleet = buildEsoFleet({
    workloads: o.workloads,
    namespaces: o.namespaces,
    refreshInterval: ROTOR_PHASE_INTERVAL,
  });
  const esoDir = await locateEso();
  const audit = new AuditLog(join(o.scratch, 'audit-b.log'));
  let cp: ControlPlane | undefined;
  let standIn: SecretManagerStandIn | undefined;
  let client: SecretManagerServiceClient | undefined;
  let eso: RealEso | undefined;
  let admin: KubeApi | undefined;
  let rotor: Worker | undefined;
  let reloader: RunningReloader | undefined;
  const observer = new Observer();
  try {
    progress(
      `scenario B: a control plane with its controller manager, the real ESO (${esoDir}), ${o.workloads} Deployments each with an ExternalSecret`,
    );
    cp = await startControlPlane({
      users: ['rotor', RELOADER_USER],
      apiServerArgs: [
        '--max-requests-inflight=800',
        '--max-mutating-requests-inflight=400',
        ...auditFlags(join(o.scratch, 'audit-b-policy.yaml'), audit.path),
      ],
    });
    const kc = cp.kubeConfig();
    // Rotor lists SecretProviderClasses too: the minimal CRDs first, then ESO's own (same names).
    await installCrds(kc);
    await installCrds(kc, { dir: join(esoDir, 'crds') });
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await applyManifests(kc, RELOADER_RBAC);
    const api = kubeApiFromKubeconfig(cp.kubeconfigPath, undefined, 'admin');
    admin = api;
    standIn = await startSecretManagerStandIn();
    const m = /^(.*):(\d+)$/.exec(standIn.endpoint);
    const sm = new SecretManagerServiceClient({
      apiEndpoint: m?.[1] ?? '127.0.0.1',
      port: Number(m?.[2]),
      sslCreds: grpc.credentials.createInsecure(),
      projectId: PROJECT_ID,
      clientOptions: { universeDomain: 'googleapis.com' },
    });
    client = sm;
    const addVersion = async (secret: string, value: string): Promise<number> => {
      const [v] = await sm.addSecretVersion({
        parent: `projects/${PROJECT_ID}/secrets/${secret}`,
        payload: { data: Buffer.from(value) },
      });
      const t = v.createTime;
      return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : Date.now();
    };
    await mapLimit(fleet.sourceSecrets, 16, async (s) => {
      await sm.createSecret({
        parent: `projects/${PROJECT_ID}`,
        secretId: s,
        secret: { replication: { automatic: {} } },
      });
      await addVersion(s, `${s}@v1`);
    });

    const realEso = await startRealEso(cp, { secretManagerEndpoint: standIn.endpoint, dir: esoDir });
    eso = realEso;
    await applyManifests(kc, realEso.credentialsSecret());
    await applyManifests(kc, realEso.clusterSecretStore(ESO_STORE, PROJECT_ID));
    await waitFor(
      async () =>
        (
          await api.request<{ status?: { conditions?: Array<{ type: string; status: string }> } }>({
            method: 'GET',
            path: `/apis/external-secrets.io/v1/clustersecretstores/${ESO_STORE}`,
          })
        ).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      { timeoutMs: 120_000, what: `ClusterSecretStore ${ESO_STORE} Ready\n${realEso.logTail(20)}` },
    );
    await observer.start(cp, api);
    const namespaceObjects = fleet.namespaces.map((name) => ({
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    }));
    await seed(api, { phases: [{ name: 'namespaces', objects: namespaceObjects }] }, progress);
    await seed(api, { phases: [{ name: 'ExternalSecrets', objects: fleet.externalSecrets }] }, progress);
    const targets = new Set(
      fleet.externalSecrets.map((e) => `${e.body.metadata?.namespace ?? ''}/${e.body.metadata?.name ?? ''}`),
    );
    await waitFor(
      () =>
        Promise.resolve(
          new Set(observer.secretWrites.map((w) => w.secret).filter((s) => targets.has(s))).size ===
            targets.size,
        ),
      {
        timeoutMs: 10 * 60_000,
        intervalMs: 500,
        what: `ESO's first sync of ${targets.size} ExternalSecrets\n${realEso.logTail(20)}`,
      },
    );
    progress(
      `scenario B: ESO synced ${targets.size} ExternalSecrets (${((Date.now() - setupStart) / 1000).toFixed(1)}s)`,
    );
    await seed(api, { phases: [{ name: 'Deployments', objects: fleet.deployments }] }, progress);
    await waitFor(
      () =>
        Promise.resolve(
          new Set(observer.replicaSets.map((r) => r.deployment)).size >= fleet.deployments.length,
        ),
      { timeoutMs: 10 * 60_000, intervalMs: 500, what: 'the first ReplicaSet of every Deployment' },
    );
    const setupSeconds = (Date.now() - setupStart) / 1000;

    const versions = new Map<string, number>(HOT_SECRETS.map((h) => [h, 1]));
    /** Adds the next version of the event's hot secret in a second after every earlier write. */
    const newVersion = async (
      i: number,
    ): Promise<{ hot: string; value: string; version: number; t0: number }> => {
      const hot = HOT_SECRETS[i % HOT_SECRETS.length];
      const version = (versions.get(hot) ?? 1) + 1;
      versions.set(hot, version);
      // ESO's refreshTime and restartedAt have whole seconds: an event in the second of the last
      // event's writes could not be told apart from them.
      await sleep(1000 - (Date.now() % 1000) + 50);
      const value = `${hot}@v${version}`;
      const t0 = await addVersion(hot, value);
      return { hot, value, version, t0 };
    };
    const reads = (): number => standIn?.calls.get('AccessSecretVersion') ?? 0;

    // Rotor: the notification, then redeliveries until converged.
    const rotorStart = Date.now();
    const worker = new Worker('rotor', cp.kubeconfigPathFor('rotor'));
    rotor = worker;
    await worker.ready();
    const rotorVerdicts: EventVerdict[] = [];
    let rotorRequests = 0;
    let rotorReads = 0;
    let rotorRestarts = 0;
    let deliveries = 0;
    /** Until Rotor's pipeline reported the event converged (its last restart sent). */
    const convergedTimes: Array<number | null> = [];
    for (let i = 0; i < o.events; i++) {
      const rsFrom = observer.replicaSets.length;
      const reads0 = reads();
      const { hot, value, version, t0 } = await newVersion(i);
      const notification = cloudEvent(
        hot,
        String(version),
        new Date(t0).toISOString(),
        String(8_000_000_000 + i),
      );
      const dependents = fleet.dependents.get(hot) ?? new Map<string, string>();
      const verdict = (): EventVerdict =>
        judgeEvent({
          t0,
          dependents,
          writes: observer.writesOf(value),
          replicaSets: observer.replicaSets.slice(rsFrom),
        });
      const deadline = t0 + ROTOR_EVENT_TIMEOUT_MS;
      const took: number[] = [];
      let converged: number | null = null;
      for (;;) {
        const refreshes = observer.refreshes;
        const from = Date.now();
        const r = await worker.event(i * 1000 + took.length, notification);
        took.push(Date.now() - from);
        rotorRestarts += r.restarted.length;
        if (r.converged) converged = Date.now() - t0;
        if (r.converged || Date.now() > deadline) break;
        // Redelivery: once ESO refreshed since this delivery began and answered every sync Rotor
        // forced (what a redelivery could act on), at the latest after Pub/Sub's minimum backoff.
        await until(
          () => observer.refreshes > refreshes && observer.unansweredForces() === 0,
          PUBSUB_MIN_BACKOFF_MS,
        );
      }
      const end = Date.now();
      const n = took.length;
      deliveries += n;
      convergedTimes.push(converged);
      // The controller manager's Deployment controller creates the ReplicaSets of Rotor's restarts
      // (at its own pace: 20 requests/s by default): the restart is done when they exist.
      await until(() => verdict().missed.length === 0, REPLICASETS_TIMEOUT_MS);
      await sleep(SETTLE_MS);
      const v = verdict();
      rotorVerdicts.push(v);
      const requests = audit.count('rotor', t0, end);
      rotorRequests += requests;
      rotorReads += reads() - reads0;
      progress(
        `scenario B, rotor ${i + 1}/${o.events}: ${hot} v${version}: ${v.restarted}/${fleet.dependents.get(hot)?.size ?? 0} dependents restarted into it` +
          `${v.allRestartedMs === null ? '' : ` in ${v.allRestartedMs} ms`}; Rotor ${converged === null ? 'not converged' : `converged in ${converged} ms`} over ${n} deliveries (${took.join(' + ')} ms), ${requests} requests, ${v.violations.length} violations, ${v.needless} needless`,
      );
    }
    const rotorStats = await worker.finish();
    const rotorSeconds = (Date.now() - rotorStart) / 1000;

    // Polling: the short interval, then Reloader (if given) restarting on the synced Secrets' change.
    const pollingStart = Date.now();
    const interval = `${o.intervalSeconds}s`;
    progress(`scenario B: every ExternalSecret to refreshInterval ${interval}`);
    await mapLimit(fleet.externalSecrets, 16, (e) =>
      api.request({
        method: 'PATCH',
        path: `${e.path}/${e.body.metadata?.name ?? ''}`,
        contentType: 'application/merge-patch+json',
        body: { spec: { refreshInterval: interval } },
      }),
    );
    // ESO re-syncs on a spec change: status.syncedResourceVersion is "<generation>-<hash>".
    await waitFor(
      async () => {
        const items = (await listAll(api, RESOURCES.externalSecrets, { limit: 500 }))?.items ?? [];
        return items.every((es) => {
          const view = es as {
            metadata?: { generation?: number };
            status?: { syncedResourceVersion?: string };
          };
          return (view.status?.syncedResourceVersion ?? '').startsWith(`${view.metadata?.generation ?? ''}-`);
        });
      },
      { timeoutMs: 10 * 60_000, intervalMs: 1000, what: `ESO taking up refreshInterval ${interval}` },
    );
    let steadyRssMb = 0;
    let peakRssMb = 0;
    if ('bin' in o.reloader) {
      const r = startReloader(o.reloader.bin, cp.kubeconfigPathFor(RELOADER_USER), o.scratch);
      reloader = r;
      // Its informers list every Secret and workload at start: wait until its memory settles.
      steadyRssMb = r.rssMb() ?? 0;
      for (let i = 0; i < 60; i++) {
        await sleep(1000);
        const now = r.rssMb() ?? 0;
        if (Math.abs(now - steadyRssMb) < 1 && i >= 5) break;
        steadyRssMb = now;
      }
      peakRssMb = steadyRssMb;
      progress(`scenario B: reloader steady RSS ${steadyRssMb} MB`);
    }
    const running = reloader;
    const synced: Array<number | null> = [];
    const reloaderVerdicts: EventVerdict[] = [];
    let pollingReads = 0;
    let reloaderRequests = 0;
    let reloaderRestarts = 0;
    for (let i = 0; i < o.events; i++) {
      const rsFrom = observer.replicaSets.length;
      const reads0 = reads();
      const { hot, value, version, t0 } = await newVersion(i);
      const dependents = fleet.dependents.get(hot) ?? new Map<string, string>();
      // The dependents' Secrets: until they hold the new value, no restarter watching them can act.
      const secrets = [...new Set(dependents.values())];
      // Every ExternalSecret polls once per interval: two intervals and a minute is ESO falling behind.
      const timeoutMs = 2 * o.intervalSeconds * 1000 + 60_000;
      const verdict = (): EventVerdict =>
        judgeEvent({
          t0,
          dependents,
          writes: observer.writesOf(value),
          replicaSets: observer.replicaSets.slice(rsFrom),
        });
      await until(() => {
        if (running) peakRssMb = Math.max(peakRssMb, running.rssMb() ?? 0);
        return (
          allSyncedMs(t0, secrets, observer.writesOf(value)) !== null &&
          (!running || verdict().missed.length === 0)
        );
      }, timeoutMs);
      const end = Date.now();
      await sleep(SETTLE_MS);
      const syncedMs = allSyncedMs(t0, secrets, observer.writesOf(value));
      synced.push(syncedMs);
      pollingReads += reads() - reads0;
      let line = `scenario B, polling ${i + 1}/${o.events}: ${hot} v${version}: ESO synced ${secrets.length} Secrets ${syncedMs === null ? 'not all in time' : `in ${syncedMs} ms`}`;
      if (running) {
        const v = verdict();
        reloaderVerdicts.push(v);
        const requests = audit.count(RELOADER_USER, t0, end);
        reloaderRequests += requests;
        reloaderRestarts += observer.replicaSets.length - rsFrom;
        line += `; reloader: ${v.restarted}/${dependents.size} restarted${v.allRestartedMs === null ? '' : ` in ${v.allRestartedMs} ms`}, ${requests} requests, ${v.needless} needless`;
      }
      progress(line);
    }
    const pollingSeconds = (Date.now() - pollingStart) / 1000;
    const syncedSpread = spread(synced);
    const scale = (ms: number | null): number | null => scaledToInterval(ms, o.intervalSeconds, ONE_HOUR_S);
    const hot0 = HOT_SECRETS.map((h) => fleet.dependents.get(h)?.size ?? 0);
    const others = HOT_SECRETS.map((h) => fleet.otherKeyReaders.get(h)?.size ?? 0);
    const mean = (xs: number[]): number => Math.round((xs.reduce((s, x) => s + x, 0) / xs.length) * 10) / 10;
    return {
      fleet: {
        workloads: o.workloads,
        namespaces: o.namespaces,
        externalSecrets: fleet.externalSecrets.length,
        dependentsPerEvent: mean(hot0),
        otherKeyReadersPerEvent: mean(others),
      },
      events: o.events,
      refreshInterval: interval,
      intervalBound: `the polling half waits for ESO's next poll of each ExternalSecret: measured at refreshInterval ${interval}; atOneHour estimates it at 1h (ESO's documented example interval): the wait for the poll scaled, ESO's processing beyond the interval added`,
      esoPolling: {
        ...syncedSpread,
        incompleteEvents: synced.filter((s) => s === null).length,
        atOneHour: {
          p50Ms: scale(syncedSpread.p50Ms),
          p95Ms: scale(syncedSpread.p95Ms),
          maxMs: scale(syncedSpread.maxMs),
        },
        secretManagerReadsPerEvent: per(pollingReads, o.events),
      },
      reloader:
        'bin' in o.reloader
          ? {
              ...judged(reloaderVerdicts, reloaderRequests, pollingReads, reloaderRestarts),
              steadyRssMb,
              peakRssMb,
            }
          : { skipped: o.reloader.skipped },
      rotor: {
        ...judged(rotorVerdicts, rotorRequests, rotorReads, rotorRestarts),
        deliveriesPerEvent: per(deliveries, o.events),
        converged: spread(convergedTimes),
        peakRssMb: rotorStats.peakRssMb,
      },
      seconds: {
        setup: Math.round(setupSeconds * 10) / 10,
        rotor: Math.round(rotorSeconds * 10) / 10,
        polling: Math.round(pollingSeconds * 10) / 10,
      },
    };
  } finally {
    observer.stop();
    rotor?.kill();
    await reloader?.stop();
    admin?.close();
    await client?.close();
    await eso?.stop();
    await standIn?.close();
    await cp?.stop();
  }
}
