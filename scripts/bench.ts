// npm run bench -- [--workloads N] [--namespaces M] [--events K] [--clusters C]
//                                                            (defaults 10000 / 500 / 20 / 1)
//
// The live benchmark (shared/DESIGN.md, "npm scripts"): a local control plane seeded with N
// Deployments (replicas 0) across M namespaces in a realistic mix of the ways workloads consume
// Secret Manager secrets (./bench/fleet.ts), then K secret events — each a new version of one of a
// few rotated secrets, so each needs real restarts — handled by
//   rotor     the live pipeline (reconcileEvent) as the least-privilege `rotor` user, and
//   baseline  the naive per-namespace script (./bench/baseline.ts) as a `baseline` user,
// each in its own process (its peak RSS is its own). Rotor runs as Cloud Functions runs it: plain
// node loading the packaged bundle (`npm run package`, dist/function/index.js) and calling its
// onSecretEvent with each CloudEvent, configured through ROTOR_CLUSTERS (./bench/bundle-worker.mjs).
// --clusters C registers the one local API server as C clusters (./bench/clusterProxy.ts): each
// a proxy that shows only its own labelled share of a fleet of C × N Deployments in C × M
// namespaces, so one event reconciles C clusters whose dependents do not overlap. With C > 1 the
// baseline (one cluster by design) is not run and its figures are null. Per event: wall time from the notification
// (parsed from a real Eventarc CloudEvent) to the last action, API requests, patches; and checks:
// both restarted every expected dependent, Rotor exactly those, a redelivery of the same event
// patches nothing, and the rotor.dev/applied annotations on the server agree.
//
// Progress goes to stderr; the LAST stdout line is one JSON object with both sides' figures.
// Numbers only: there are no timing assertions.
import { fork, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kubeApiFromKubeconfig } from '../functions/cluster/inventory';
import { listAll, workloadResource } from '../functions/cluster/resources';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../test/harness/controlPlane';
import type { ControlPlane } from '../test/harness/controlPlane';
import { cloudEvent, esoRefresh, seed, sleep } from './bench/cluster';
import type { ClusterProxy } from './bench/clusterProxy';
import { CLUSTER_LABEL, SHARED, proxiesKubeconfig, startClusterProxy } from './bench/clusterProxy';
import type { Fleet } from './bench/fleet';
import { buildFleet, HOT_SECRETS, PROJECT_ID, PROJECT_NUMBER } from './bench/fleet';
import type { EventResult, FromWorker, Role, ToWorker, WorkerStats } from './bench/protocol';

const started = Date.now();
const progress = (line: string): void => {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
};

/** What the baseline script's user may do: read namespaces and the three kinds, patch Deployments. */
const BASELINE_RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: bench-baseline }
rules:
  - { apiGroups: [""], resources: [namespaces], verbs: [list] }
  - { apiGroups: [apps], resources: [deployments], verbs: [list, patch] }
  - { apiGroups: [secrets-store.csi.x-k8s.io], resources: [secretproviderclasses], verbs: [list] }
  - { apiGroups: [external-secrets.io], resources: [externalsecrets], verbs: [list] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: bench-baseline }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bench-baseline }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: baseline }]
`;

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
    process.stderr.write(`${flag} "${value}" is not a whole number >= 1\n`);
    process.exit(2);
  }
  return Number(value);
}

const WORKER_TIMEOUT_MS = 5 * 60_000;

/** A contender's process: one message in flight at a time. */
class Worker {
  private readonly child: ChildProcess;
  private readonly waiting: Array<{ resolve: (m: FromWorker) => void; reject: (e: Error) => void }> = [];
  private readonly inbox: FromWorker[] = [];
  private exitError?: Error;

  constructor(
    readonly role: Role,
    script: { path: string; args: string[]; execArgv: string[]; env?: NodeJS.ProcessEnv },
  ) {
    this.child = fork(script.path, script.args, {
      cwd: REPO_ROOT,
      execArgv: script.execArgv,
      ...(script.env ? { env: script.env } : {}),
      // The worker's stdout goes to our stderr: our stdout carries only the result line.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    this.child.on('message', (m: FromWorker) => {
      const w = this.waiting.shift();
      if (w) w.resolve(m);
      else this.inbox.push(m);
    });
    this.child.on('exit', (code, signal) => {
      const error = new Error(`${role} worker exited (${code ?? signal ?? '?'})`);
      this.exitError = error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    });
  }

  /** The worker's next message; a worker silent for WORKER_TIMEOUT_MS fails the bench rather than hanging it. */
  next(): Promise<FromWorker> {
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.role} worker: no answer in ${WORKER_TIMEOUT_MS / 1000}s`)),
        WORKER_TIMEOUT_MS,
      );
      const done =
        <T>(f: (v: T) => void) =>
        (v: T): void => {
          clearTimeout(timer);
          f(v);
        };
      this.waiting.push({ resolve: done(resolve), reject: done(reject) });
    });
  }

  async ready(): Promise<void> {
    const m = await this.next();
    if (m.type !== 'ready') throw new Error(`${this.role} worker: expected ready, got ${m.type}`);
  }

  async event(id: number, notification: string): Promise<EventResult> {
    const msg: ToWorker = { type: 'event', id, notification };
    this.child.send(msg);
    const m = await this.next();
    if (m.type !== 'result') throw new Error(`${this.role} worker: expected a result, got ${m.type}`);
    if (m.error) throw new Error(`${this.role} worker, event ${id}: ${m.error}`);
    return m;
  }

  async finish(): Promise<WorkerStats> {
    const msg: ToWorker = { type: 'done' };
    this.child.send(msg);
    const m = await this.next();
    if (m.type !== 'stats') throw new Error(`${this.role} worker: expected stats, got ${m.type}`);
    return m;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

function figures(results: readonly EventResult[], stats: WorkerStats): Record<string, number> {
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const mean = (f: (r: EventResult) => number): number =>
    results.reduce((s, r) => s + f(r), 0) / Math.max(1, results.length);
  return {
    p50Ms: round(percentile(ms, 50)),
    p95Ms: round(percentile(ms, 95)),
    meanMs: round(mean((r) => r.ms)),
    maxMs: round(ms[ms.length - 1] ?? 0),
    requestsPerEvent: round(mean((r) => r.requests)),
    actionsPerEvent: round(mean((r) => r.patches)),
    restartsPerEvent: round(mean((r) => r.restarted.length)),
    peakRssMb: stats.peakRssMb,
    startRssMb: stats.startRssMb,
  };
}

/** Labels every object with its cluster: namespace i is cluster i mod C; cluster-scoped ones are shared. */
function labelByCluster(fleet: Fleet, clusterNames: readonly string[]): Fleet {
  const clusterOf = new Map(
    fleet.namespaces.map((ns, i) => [ns, clusterNames[i % clusterNames.length] ?? SHARED]),
  );
  for (const phase of fleet.phases)
    for (const o of phase.objects) {
      const meta = (o.body.metadata ??= {});
      const ns = meta.namespace ?? /\/namespaces\/([^/]+)\//.exec(o.path)?.[1];
      meta.labels = { ...meta.labels, [CLUSTER_LABEL]: ns ? (clusterOf.get(ns) ?? SHARED) : SHARED };
    }
  return fleet;
}

const diff = (a: Iterable<string>, b: ReadonlySet<string>): string[] => [...a].filter((x) => !b.has(x));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workloads: { type: 'string' },
      namespaces: { type: 'string' },
      events: { type: 'string' },
      clusters: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run bench -- [--workloads N] [--namespaces M] [--events K] [--clusters C]   (defaults 10000 / 500 / 20 / 1; N and M per cluster)\n',
    );
    return;
  }
  const workloads = positiveInt(values.workloads, '--workloads', 10_000);
  const namespaces = Math.min(positiveInt(values.namespaces, '--namespaces', 500), workloads);
  const events = positiveInt(values.events, '--events', 20);
  const clusters = positiveInt(values.clusters, '--clusters', 1);
  const clusterNames = Array.from({ length: clusters }, (_, i) => `c${i}`);

  // C clusters' fleets in one: namespace i belongs to cluster i mod C (labelled so).
  const fleet = labelByCluster(
    buildFleet({ workloads: workloads * clusters, namespaces: namespaces * clusters }),
    clusterNames,
  );
  const hot = HOT_SECRETS.reduce((s, h) => s + (fleet.expected.get(h)?.size ?? 0), 0);
  const decoys = HOT_SECRETS.reduce((s, h) => s + (fleet.decoys.get(h)?.size ?? 0), 0);
  progress(
    `fleet: ${clusters} cluster(s) × ${workloads} Deployments in ${namespaces} namespaces; ${hot} (${round((100 * hot) / (workloads * clusters), 2)}%) depend on the ${HOT_SECRETS.length} rotated secrets, ${decoys} only mention them`,
  );

  let cp: ControlPlane | undefined;
  const workers: Worker[] = [];
  const proxies: ClusterProxy[] = [];
  try {
    progress(
      'starting the local control plane (etcd, kube-apiserver; no controller manager: replicas 0 and patches need none)',
    );
    const cpStart = Date.now();
    cp = await startControlPlane({
      users: ['rotor', 'baseline'],
      controllerManager: false,
      apiServerArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'],
    });
    const admin = kubeApiFromKubeconfig(cp.kubeconfigPath, undefined, 'admin');
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await applyManifests(kc, BASELINE_RBAC);
    const controlPlaneSeconds = (Date.now() - cpStart) / 1000;
    progress(`control plane ready, CRDs and RBAC installed (${controlPlaneSeconds.toFixed(1)}s)`);

    const seedStart = Date.now();
    const seeded = await seed(admin, fleet, progress);
    const seedSeconds = (Date.now() - seedStart) / 1000;
    progress(`seeded ${seeded} objects in ${seedSeconds.toFixed(1)}s`);

    progress('packaging the functions bundle (npm run package)');
    const pkg = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'package.mjs')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (pkg.status !== 0) throw new Error(`npm run package failed (${pkg.status ?? pkg.signal ?? '?'})`);
    for (const name of clusterNames) proxies.push(await startClusterProxy(name, cp.server, cp.caPem));
    const proxyKubeconfig = join(cp.dir, 'bench-clusters.kubeconfig');
    writeFileSync(proxyKubeconfig, proxiesKubeconfig(proxies, cp.tokenFor('rotor')));
    const rotor = new Worker('rotor', {
      path: join(__dirname, 'bench', 'bundle-worker.mjs'),
      args: [join(REPO_ROOT, 'dist', 'function')],
      // ROTOR_BENCH_NODE_FLAGS, e.g. --max-old-space-size=128: a memory-bounded instance's heap.
      execArgv: (process.env.ROTOR_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      env: {
        PATH: process.env.PATH ?? '',
        ROTOR_CLUSTERS: clusterNames.map((n) => `kubeconfig:${proxyKubeconfig}#${n}`).join(','),
        ROTOR_PROJECT_MAP: `${PROJECT_ID}=${PROJECT_NUMBER}`,
        ROTOR_DEFAULT_PROJECT: PROJECT_ID,
        ROTOR_MAX_WAIT_SECONDS: '1800',
        ...(process.env.ROTOR_CONCURRENCY ? { ROTOR_CONCURRENCY: process.env.ROTOR_CONCURRENCY } : {}),
        ...(process.env.ROTOR_CLUSTER_CONCURRENCY
          ? { ROTOR_CLUSTER_CONCURRENCY: process.env.ROTOR_CLUSTER_CONCURRENCY }
          : {}),
      },
    });
    workers.push(rotor);
    const baseline =
      clusters === 1
        ? new Worker('baseline', {
            path: join(__dirname, 'bench', 'worker.ts'),
            args: ['baseline', cp.kubeconfigPathFor('baseline')],
            execArgv: ['--import', 'tsx'],
          })
        : undefined;
    if (baseline) workers.push(baseline);
    await Promise.all([rotor.ready(), baseline?.ready()]);
    /** Rotor's requests and patches, as its clusters' proxies saw them. */
    const proxyCounts = (): { requests: number; patches: number } => ({
      requests: proxies.reduce((n, p) => n + p.requests, 0),
      patches: proxies.reduce((n, p) => n + p.patches, 0),
    });
    const rotorEvent = async (i: number, notification: string): Promise<EventResult> => {
      const before = proxyCounts();
      const r = await rotor.event(i, notification);
      const after = proxyCounts();
      return { ...r, requests: after.requests - before.requests, patches: after.patches - before.patches };
    };

    const rotorResults: EventResult[] = [];
    const redeliveryResults: EventResult[] = [];
    const baselineResults: EventResult[] = [];
    const checks = {
      rotorMismatchedEvents: 0,
      rotorNotConverged: 0,
      redeliveryPatches: 0,
      rotorDuplicateRestarts: 0,
      baselineMissed: 0,
      baselineNeedless: 0,
      baselineUnexplained: 0,
    };
    const lastVersion = new Map<string, string>();
    let lastWrite = Date.now();
    const measureStart = Date.now();
    for (let i = 0; i < events; i++) {
      const secret = HOT_SECRETS[i % HOT_SECRETS.length];
      const version = String(2 + Math.floor(i / HOT_SECRETS.length));
      lastVersion.set(secret, version);
      // The version is added after everything before it, in a later second than the last write
      // (kubectl's restartedAt has whole seconds, so it may stand for any instant of its second);
      // ESO syncs it in the second after (its refreshTime has whole seconds too), and the
      // notification arrives after that.
      const eventMs = Math.ceil((lastWrite + 1) / 1000) * 1000;
      const eventTime = new Date(eventMs).toISOString();
      const refreshMs = eventMs + 1000;
      const refreshTime = new Date(refreshMs).toISOString().replace(/\.\d+Z$/, 'Z');
      while (Date.now() <= refreshMs) await sleep(refreshMs + 5 - Date.now());
      await esoRefresh(admin, fleet, secret, refreshTime);
      const messageId = String(9_000_000_000 + i);
      const notification = cloudEvent(secret, version, eventTime, messageId);
      const expected = fleet.expected.get(secret) ?? new Set<string>();

      const r = await rotorEvent(i, notification);
      rotorResults.push(r);
      const again = await rotorEvent(i, notification); // Pub/Sub redelivers the same message
      redeliveryResults.push(again);
      const b = baseline ? await baseline.event(i, notification) : undefined;
      if (b) baselineResults.push(b);
      lastWrite = Date.now();

      const rotorSet = new Set(r.restarted);
      const missing = diff(expected, rotorSet);
      const extra = diff(rotorSet, expected);
      // Exactly once: no dependent restarted twice (by two clusters, or twice in one).
      if (rotorSet.size !== r.restarted.length)
        checks.rotorDuplicateRestarts += r.restarted.length - rotorSet.size;
      if (missing.length || extra.length || r.recorded.length) {
        checks.rotorMismatchedEvents++;
        progress(
          `  ! rotor, event ${i}: missed ${missing.slice(0, 3).join(', ') || 'none'}, extra ${extra.slice(0, 3).join(', ') || 'none'}, recorded ${r.recorded.length}; others ${JSON.stringify(r.otherResults)}`,
        );
      }
      if (!r.converged) checks.rotorNotConverged++;
      checks.redeliveryPatches += again.patches;
      if (b) {
        const baselineSet = new Set(b.restarted);
        const bMissing = diff(expected, baselineSet);
        const bExtra = diff(baselineSet, expected);
        checks.baselineMissed += bMissing.length;
        checks.baselineNeedless += bExtra.length;
        checks.baselineUnexplained += diff(bExtra, fleet.decoys.get(secret) ?? new Set<string>()).length;
      }
      progress(
        `event ${i + 1}/${events}: ${secret} v${version}: rotor ${r.ms.toFixed(0)} ms, ${r.requests} requests, ${r.restarted.length}/${expected.size} restarts` +
          ` (redelivery ${again.ms.toFixed(0)} ms, ${again.patches} patches)` +
          (b
            ? ` | baseline ${b.ms.toFixed(0)} ms, ${b.requests} requests, ${b.restarted.length} restarts`
            : ''),
      );
    }
    const measureSeconds = (Date.now() - measureStart) / 1000;
    const [rotorStats, baselineStats] = await Promise.all([rotor.finish(), baseline?.finish()]);

    // What the server holds: rotor.dev/applied names the last version of each rotated secret on
    // exactly its expected dependents.
    const all = (await listAll(admin, workloadResource('Deployment'), { limit: 2000 }))?.items ?? [];
    let appliedMismatches = 0;
    for (const d of all) {
      const id = `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
      let applied: Record<string, string> = {};
      try {
        applied = JSON.parse(d.metadata?.annotations?.['rotor.dev/applied'] ?? '{}') as Record<
          string,
          string
        >;
      } catch {
        appliedMismatches++;
      }
      for (const [secret, version] of lastVersion) {
        const recorded = Object.entries(applied).find(([k]) => k.endsWith(`/secrets/${secret}`))?.[1];
        const want = fleet.expected.get(secret)?.has(id) ? version : undefined;
        if (recorded !== want) appliedMismatches++;
      }
    }
    admin.close();

    const expectedPerEvent = rotorResults.length
      ? rotorResults.reduce(
          (s, _r, i) => s + (fleet.expected.get(HOT_SECRETS[i % HOT_SECRETS.length])?.size ?? 0),
          0,
        ) / rotorResults.length
      : 0;
    const rotorFig = figures(rotorResults, rotorStats);
    const baselineFig = baselineStats ? figures(baselineResults, baselineStats) : undefined;
    const redeliveryMs = redeliveryResults.map((r) => r.ms).sort((a, b) => a - b);
    const result = {
      // Per cluster; the fleet is clusters × these.
      workloads,
      namespaces,
      events,
      clusters,
      rotorRuns: 'packaged bundle (dist/function/index.js), plain node',
      dependentsPercent: round((100 * hot) / (workloads * clusters), 2),
      expectedRestartsPerEvent: round(expectedPerEvent),
      rotor: rotorFig,
      baseline: baselineFig ?? null,
      // The same event delivered again right after: the no-op path (lists, decisions, no patch).
      rotorRedelivery: {
        p50Ms: round(percentile(redeliveryMs, 50)),
        p95Ms: round(percentile(redeliveryMs, 95)),
        requestsPerEvent: round(
          redeliveryResults.reduce((s, r) => s + r.requests, 0) / Math.max(1, redeliveryResults.length),
        ),
        patches: checks.redeliveryPatches,
      },
      ratio: baselineFig
        ? {
            p50: round(baselineFig.p50Ms / Math.max(rotorFig.p50Ms, 0.001)),
            p95: round(baselineFig.p95Ms / Math.max(rotorFig.p95Ms, 0.001)),
            requests: round(baselineFig.requestsPerEvent / Math.max(rotorFig.requestsPerEvent, 0.001)),
          }
        : null,
      correctness: {
        rotorRestartedExactlyExpected: checks.rotorMismatchedEvents === 0,
        rotorDuplicateRestarts: checks.rotorDuplicateRestarts,
        rotorConvergedEveryEvent: checks.rotorNotConverged === 0,
        redeliveryPatches: checks.redeliveryPatches,
        baselineRestartedEveryExpected: baseline ? checks.baselineMissed === 0 : null,
        sameDependentsRestarted: baseline
          ? checks.rotorMismatchedEvents === 0 && checks.baselineMissed === 0
          : null,
        baselineNeedlessRestarts: checks.baselineNeedless,
        baselineUnexplainedRestarts: checks.baselineUnexplained,
        appliedAnnotationsMatch: appliedMismatches === 0,
      },
      seconds: {
        controlPlane: round(controlPlaneSeconds),
        seed: round(seedSeconds),
        measure: round(measureSeconds),
        total: round((Date.now() - started) / 1000),
      },
      seededObjects: seeded,
    };
    progress(`done in ${result.seconds.total}s`);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    for (const w of workers) w.kill();
    for (const p of proxies) await p.close();
    await cp?.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
