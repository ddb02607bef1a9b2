// npm run bench -- [--workloads N] [--namespaces M] [--events K] [--clusters C] [--peers reloader] [--watch-probe]
//                  [--eso-workloads N] [--eso-namespaces M] [--eso-events K] [--eso-interval S]
// npm run bench -- --burst K [--burst-instances I] [--workloads N] [--namespaces M]
//                  (only the burst scenario, ./bench/burst.ts: K secrets rotated in one second)
// npm run bench -- --storm [--delivery immediate|deployed] [--rollback] [--dependents N]   (only the storm scenario, ./bench/storm.ts:
//                  the others are skipped; --delivery deployed runs it with the delivery Terraform
//                  deploys: the in-delivery budget, continuations, the 60 s backoff; --rollback: the
//                  halt rolls the bad value back, timed from the halt to every canary Available again)
//                  (defaults 10000 / 500 / 20 / 1, no peers; scenario B: 300 / 30 / 4 / 30)
// npm run bench -- --waits [--waits-counts 1,10,40]   (only the concurrent-waits scenario,
//                  ./bench/concurrentWaits.ts: memory per event waiting inside its delivery on
//                  one instance, and a second event acted on while a first waits on a slow rollout;
//                  NODE_OPTIONS=--expose-gc for idle figures after a collection)
//
// The live benchmark (shared/DESIGN.md, "npm scripts"): a local control plane seeded with N
// Deployments (replicas 0) across M namespaces in a realistic mix of the ways workloads consume
// Secret Manager secrets (./bench/fleet.ts), then K secret events — each a new version of one of a
// few rotated secrets, so each needs real restarts — handled by
//   rotor     the least-privilege `rotor` user, run as Cloud Functions runs it: plain node loading
//             the packaged bundle (`npm run package`, dist/function/index.js) and calling its
//             onSecretEvent with each CloudEvent, configured through ROTOR_CLUSTERS
//             (./bench/bundle-worker.mjs; ROTOR_BENCH_NODE_FLAGS, e.g. --max-old-space-size=128,
//             are its node flags), and
//   baseline  the naive per-namespace script (./bench/baseline.ts) as a `baseline` user,
// each in its own process (./bench/workerClient.ts; its RSS at start and peak is its own). Per
// event: wall time from the notification (parsed from a real Eventarc CloudEvent) to the last
// action, API requests, patches; and checks: both restarted every expected dependent, Rotor exactly
// those and none twice, a redelivery of the same event patches nothing, and the rotor.dev/applied
// annotations on the server agree.
//
// --clusters C registers the one local API server as C clusters (./bench/clusterProxy.ts): each a
// proxy that shows only its own labelled share of a fleet of C × N Deployments in C × M
// namespaces, so one event reconciles C clusters whose dependents do not overlap. Rotor's requests
// and patches are counted at the proxies. With C > 1 the baseline (one cluster by design) is not
// run and its figures are null.
//
// API requests are also counted exactly on the server side, from the API server's audit log
// filtered by user (./bench/audit.ts): `auditedRequestsPerEvent`. The proxies forward the client's
// bearer token unchanged, so every cluster's requests reach the server as the `rotor` user and are
// all counted there.
//
// Peers (`--peers reloader`): Stakater Reloader, built from the Go module proxy by
// infra/local/build-reloader.sh (cached by version; the first build takes ~9 min on 2 cores, before
// anything is measured) or the binary in ROTOR_RELOADER_BIN (./bench/reloader.ts; skipped with a
// message saying why when the build fails), run as its own `reloader`
// user with the permissions of Reloader's own manifest, against the same control plane and fleet
// after the events above (with C > 1, on all C clusters' objects: Reloader watches the one API
// server directly): scenario A, the synced Kubernetes Secrets of one rotated secret change
// (./bench/reloaderScenario.ts). Then scenario B (./bench/scenarioB.ts), on a control plane of
// its own with the real External Secrets Operator: from a new Secret Manager version until every
// dependent runs it, ESO polling (plus Reloader, when given) against Rotor forcing the sync. Its
// ESO-polling half is measured with or without a Reloader binary. Its fleet is smaller
// (--eso-workloads, default 300): the real ESO syncs every ExternalSecret one at a time by default
// (its --concurrent 1), and with the bench's two control planes, Rotor and Reloader it shares two
// cores; a few hundred ExternalSecrets keep its first sync to a minute or two and its polling at
// --eso-interval (default 30 s: at ESO's documented 1h the polling half would take an hour per
// event; it is reported scaled to 1h as well) to a few reads a second.
//
// Progress goes to stderr; the LAST stdout line is one JSON object with both sides' figures.
// Numbers only: there are no timing assertions.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kubeApiFromKubeconfig } from '../functions/cluster/inventory';
import { listAll } from '../functions/cluster/listing';
import { workloadResource } from '../functions/cluster/resources';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../test/harness/controlPlane';
import type { ControlPlane } from '../test/harness/controlPlane';
import type { SecretManagerStandIn } from '../test/harness/secretManagerStandIn';
import { startSecretManagerStandIn } from '../test/harness/secretManagerStandIn';
import { AuditLog, auditFlags } from './bench/audit';
import { cloudEvent, esoRefresh, seed, sleep } from './bench/cluster';
import type { ClusterProxy } from './bench/clusterProxy';
import { labelByCluster, proxiesKubeconfig, startClusterProxy } from './bench/clusterProxy';
import { runBurst } from './bench/burst';
import { buildFleet, HOT_SECRETS, PROJECT_NUMBER } from './bench/fleet';
import type { EventResult, Role, WorkerStats } from './bench/protocol';
import { RELOADER_RBAC, RELOADER_USER, reloaderBinary, startReloader } from './bench/reloader';
import type { RunningReloader } from './bench/reloader';
import type { ScenarioAResult } from './bench/reloaderScenario';
import { createSyncedSecrets, runScenarioA } from './bench/reloaderScenario';
import { runScenarioB } from './bench/scenarioB';
import { packageBundle, rotorWorker } from './bench/rotorWorker';
import { runStorm } from './bench/storm';
import { runConcurrentWaits } from './bench/concurrentWaits';
import type { WatchProbe } from './bench/watchProbe';
import { runWatchProbe } from './bench/watchProbe';
import { Worker } from './bench/workerClient';

const PEERS = ['reloader'] as const;
type Peer = (typeof PEERS)[number];

function parsePeers(value: string | undefined): Peer[] {
  if (value === undefined) return [];
  const peers = value.split(',').map((p) => p.trim());
  for (const p of peers)
    if (!(PEERS as readonly string[]).includes(p)) {
      process.stderr.write(`--peers: unknown peer "${p}" (known: ${PEERS.join(', ')})\n`);
      process.exit(2);
    }
  return peers as Peer[];
}

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

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

function figures(
  results: readonly EventResult[],
  stats: WorkerStats,
  audited: readonly number[],
): Record<string, number> {
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const mean = (f: (r: EventResult) => number): number =>
    results.reduce((s, r) => s + f(r), 0) / Math.max(1, results.length);
  return {
    p50Ms: round(percentile(ms, 50)),
    p95Ms: round(percentile(ms, 95)),
    meanMs: round(mean((r) => r.ms)),
    maxMs: round(ms[ms.length - 1] ?? 0),
    requestsPerEvent: round(mean((r) => r.requests)),
    auditedRequestsPerEvent: round(audited.reduce((s, n) => s + n, 0) / Math.max(1, audited.length)),
    actionsPerEvent: round(mean((r) => r.patches)),
    restartsPerEvent: round(mean((r) => r.restarted.length)),
    peakRssMb: stats.peakRssMb,
    startRssMb: stats.startRssMb,
  };
}

/** Rotor, the naive baseline and Reloader (scenario A) side by side, one row per figure, for the log. */
function sideBySideTable(
  rotor: Record<string, number>,
  baseline: Record<string, number> | undefined,
  reloader: ScenarioAResult | undefined,
): string[] {
  const cell = (v: number | null | undefined, unit = ''): string =>
    v === undefined ? '-' : v === null ? 'n/a' : `${v}${unit}`;
  const rows: Array<[string, string, string, string]> = [
    ['', 'rotor', 'baseline', 'reloader (scenario A)'],
    ['p50', cell(rotor.p50Ms, ' ms'), cell(baseline?.p50Ms, ' ms'), cell(reloader?.p50Ms, ' ms')],
    ['p95', cell(rotor.p95Ms, ' ms'), cell(baseline?.p95Ms, ' ms'), cell(reloader?.p95Ms, ' ms')],
    [
      'requests/event (audit log)',
      cell(rotor.auditedRequestsPerEvent),
      cell(baseline?.auditedRequestsPerEvent),
      cell(reloader?.requestsPerEvent),
    ],
    [
      'restarts/event',
      cell(rotor.restartsPerEvent),
      cell(baseline?.restartsPerEvent),
      cell(reloader?.restartsPerEvent),
    ],
    [
      'RSS',
      `${cell(rotor.startRssMb)} → ${cell(rotor.peakRssMb, ' MB')}`,
      `${cell(baseline?.startRssMb)} → ${cell(baseline?.peakRssMb, ' MB')}`,
      reloader ? `${reloader.steadyRssMb} MB held, peak ${reloader.peakRssMb} MB` : '-',
    ],
  ];
  if (reloader)
    rows.push([
      'reloader: missed / needless / unreachable per event',
      '',
      '',
      `${reloader.missed} / ${reloader.needlessRestarts} / ${reloader.unreachablePerEvent}`,
    ]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
  return rows.map((r) => r.map((v, c) => v.padEnd(widths[c] ?? 0)).join(' | '));
}

const diff = (a: Iterable<string>, b: ReadonlySet<string>): string[] => [...a].filter((x) => !b.has(x));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workloads: { type: 'string' },
      namespaces: { type: 'string' },
      events: { type: 'string' },
      clusters: { type: 'string' },
      peers: { type: 'string' },
      'eso-workloads': { type: 'string' },
      'eso-namespaces': { type: 'string' },
      'eso-events': { type: 'string' },
      'eso-interval': { type: 'string' },
      storm: { type: 'boolean' },
      waits: { type: 'boolean' },
      'waits-counts': { type: 'string' },
      rollback: { type: 'boolean' },
      burst: { type: 'string' },
      'burst-instances': { type: 'string' },
      delivery: { type: 'string' },
      dependents: { type: 'string' },
      'watch-probe': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run bench -- [--workloads N] [--namespaces M] [--events K] [--clusters C] [--peers reloader] [--watch-probe]\n' +
        '                        [--eso-workloads N] [--eso-namespaces M] [--eso-events K] [--eso-interval SECONDS]\n' +
        '  (defaults 10000 / 500 / 20 / 1; N and M per cluster; the baseline runs only with one cluster;\n' +
        '   Rotor runs from the packaged bundle, with the deployed --max-old-space-size=384, or\n' +
        '   ROTOR_BENCH_NODE_FLAGS as its node flags;\n' +
        '   the reloader peer builds Stakater Reloader (infra/local/build-reloader.sh, cached) or runs ROTOR_RELOADER_BIN;\n' +
        '   --watch-probe: after the events, a streamed re-list against a watch catch-up (./bench/watchProbe.ts);\n' +
        '   its scenario B, with the real ESO: 300 Deployments / 30 namespaces / 4 events / 30 s polling)\n' +
        '       npm run bench -- --storm\n' +
        '  (only the storm scenario: 200 dependents in 4 waves, one crashlooping in wave 2;\n' +
        '   --rollback: the halt rolls the bad value back, and the time to every canary Available again;\n' +
        "   --dependents N: N dependents, the healthy event only, with Rotor's overhead over the controllers)\n" +
        '       npm run bench -- --burst K [--burst-instances I] [--workloads N] [--namespaces M]\n' +
        '  (only the burst scenario: K secrets rotated in one second, delivered at once to one instance\n' +
        '   and to I instances (default 5); fleet 10000 / 500)\n',
    );
    return;
  }
  if (values.waits) {
    const counts = (values['waits-counts'] ?? '1,10,40')
      .split(',')
      .map((c) => positiveInt(c, '--waits-counts', 1));
    const waits = await runConcurrentWaits(progress, counts);
    const result = {
      scenario: 'waits',
      skipped: 'every other scenario (only --waits was asked for)',
      waits,
      seconds: { total: round((Date.now() - started) / 1000) },
    };
    progress(`done in ${result.seconds.total}s`);
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  if (values.storm) {
    // The storm scenario alone, to keep the run short: its last line has the same top-level
    // `scenario`/`seconds` keys and the figures under `storm`; the other scenarios are skipped.
    const delivery = values.delivery ?? 'immediate';
    if (delivery !== 'immediate' && delivery !== 'deployed') {
      process.stderr.write(`--delivery "${delivery}" is not immediate or deployed\n`);
      process.exit(2);
    }
    const dependents =
      values.dependents === undefined ? undefined : positiveInt(values.dependents, '--dependents', 200);
    const storm = await runStorm(progress, delivery, values.rollback === true, dependents);
    const result = {
      scenario: 'storm',
      skipped: 'the default, redelivery, peers and scenario B runs (only --storm was asked for)',
      storm,
      seconds: { total: round((Date.now() - started) / 1000) },
    };
    progress(`done in ${result.seconds.total}s`);
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const workloads = positiveInt(values.workloads, '--workloads', 10_000);
  const namespaces = Math.min(positiveInt(values.namespaces, '--namespaces', 500), workloads);
  if (values.burst !== undefined) {
    // The burst scenario alone (./bench/burst.ts), its figures under `burst`.
    const burst = await runBurst({
      workloads,
      namespaces,
      burst: positiveInt(values.burst, '--burst', 50),
      instances: positiveInt(values['burst-instances'], '--burst-instances', 5),
      progress,
    });
    const result = {
      scenario: 'burst',
      skipped: 'the default, redelivery, peers and scenario B runs (only --burst was asked for)',
      burst,
      seconds: { total: round((Date.now() - started) / 1000) },
    };
    progress(`done in ${result.seconds.total}s`);
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const events = positiveInt(values.events, '--events', 20);
  const clusters = positiveInt(values.clusters, '--clusters', 1);
  const clusterNames = Array.from({ length: clusters }, (_, i) => `c${i}`);
  const peers = parsePeers(values.peers);
  const esoWorkloads = positiveInt(values['eso-workloads'], '--eso-workloads', 300);
  const esoNamespaces = Math.min(positiveInt(values['eso-namespaces'], '--eso-namespaces', 30), esoWorkloads);
  const esoEvents = positiveInt(values['eso-events'], '--eso-events', 4);
  const esoInterval = positiveInt(values['eso-interval'], '--eso-interval', 30);
  // Bad input fails before anything starts: a variable naming no executable is an error. Without
  // the variable the peer is built (or reused from the cache) now, before anything is measured; a
  // build that fails skips the peer (with the message, here and in the result).
  let reloader: ReturnType<typeof reloaderBinary> | undefined;
  try {
    reloader = peers.includes('reloader') ? reloaderBinary(process.env) : undefined;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  if (reloader && 'skipped' in reloader) progress(reloader.skipped);

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
  /** Secret Manager for onSecretEvent's confirmation of each notification (versions.get). */
  let notices: SecretManagerStandIn | undefined;
  let runningReloader: RunningReloader | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'rotor-bench-'));
  const audit = new AuditLog(join(scratch, 'audit.log'));
  try {
    progress(
      'starting the local control plane (etcd, kube-apiserver; no controller manager: replicas 0 and patches need none)',
    );
    const cpStart = Date.now();
    cp = await startControlPlane({
      users: ['rotor', 'baseline', ...(reloader && 'bin' in reloader ? [RELOADER_USER] : [])],
      controllerManager: false,
      apiServerArgs: [
        '--max-requests-inflight=800',
        '--max-mutating-requests-inflight=400',
        ...auditFlags(join(scratch, 'audit-policy.yaml'), audit.path),
      ],
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
    packageBundle();
    for (const name of clusterNames) proxies.push(await startClusterProxy(name, cp.server, cp.caPem));
    const proxyKubeconfig = join(cp.dir, 'bench-clusters.kubeconfig');
    // Every proxy's context is the `rotor` user's token: the audit log sees all clusters as `rotor`.
    writeFileSync(proxyKubeconfig, proxiesKubeconfig(proxies, cp.tokenFor('rotor')));
    const held = await startSecretManagerStandIn();
    notices = held;
    const rotor = rotorWorker(proxyKubeconfig, clusterNames, {
      ROTOR_SECRET_MANAGER_ENDPOINT: held.endpoint,
    });
    workers.push(rotor);
    const baseline = clusters === 1 ? new Worker('baseline', cp.kubeconfigPathFor('baseline')) : undefined;
    if (baseline) workers.push(baseline);
    await Promise.all([rotor.ready(), baseline?.ready()]);
    /** Rotor's requests and patches, as its clusters' proxies saw them. */
    const proxyCounts = (): { requests: number; patches: number } => ({
      requests: proxies.reduce((n, p) => n + p.requests, 0),
      patches: proxies.reduce((n, p) => n + p.patches, 0),
    });
    /** Per Rotor event: from the notification until its last whole-cluster list ended (discovery), and those lists' summed time. */
    const discovery: Array<{ ms: number; listMs: number }> = [];
    const rotorEvent = async (i: number, notification: string): Promise<EventResult> => {
      const before = proxyCounts();
      const listMs = proxies.reduce((n, p) => n + p.clusterWideListMs, 0);
      const from = Date.now();
      const r = await rotor.event(i, notification);
      const after = proxyCounts();
      const lastList = Math.max(...proxies.map((p) => p.lastClusterWideListEnd));
      discovery.push({
        ms: Math.max(0, lastList - from),
        listMs: proxies.reduce((n, p) => n + p.clusterWideListMs, 0) - listMs,
      });
      return { ...r, requests: after.requests - before.requests, patches: after.patches - before.patches };
    };

    const rotorResults: EventResult[] = [];
    /** [from, to] of each event's handling, per contender: its requests in the audit log. */
    const windows: Record<Role, Array<[number, number]>> = { rotor: [], baseline: [] };
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
      // Secret Manager holds the version the notification announces, created at the event.
      held.hold(`projects/${PROJECT_NUMBER}/secrets/${secret}`, {
        version: Number(version),
        createTime: new Date(eventMs),
      });
      const expected = fleet.expected.get(secret) ?? new Set<string>();

      const rotorFrom = Date.now();
      const r = await rotorEvent(i, notification);
      windows.rotor.push([rotorFrom, Date.now()]);
      rotorResults.push(r);
      const again = await rotorEvent(i, notification); // Pub/Sub redelivers the same message
      redeliveryResults.push(again);
      const baselineFrom = Date.now();
      const b = baseline ? await baseline.event(i, notification) : undefined;
      if (b) {
        windows.baseline.push([baselineFrom, Date.now()]);
        baselineResults.push(b);
      }
      lastWrite = Date.now();

      const rotorSet = new Set(r.restarted);
      const missing = diff(expected, rotorSet);
      const extra = diff(rotorSet, expected);
      // Exactly once: no dependent restarted twice (by two clusters, or twice in one).
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
    let watchProbe: WatchProbe | undefined;
    if (values['watch-probe']) {
      progress('watch probe: a streamed re-list against a watch catch-up from its resourceVersion');
      // As admin: Rotor's role has no `watch` verb (a warm cache would need one more permission).
      watchProbe = await runWatchProbe(admin, 5);
      progress(`watch probe: ${JSON.stringify(watchProbe)}`);
    }
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

    const expectedPerEvent = rotorResults.length
      ? rotorResults.reduce(
          (s, _r, i) => s + (fleet.expected.get(HOT_SECRETS[i % HOT_SECRETS.length])?.size ?? 0),
          0,
        ) / rotorResults.length
      : 0;
    const audited = (role: Role): number[] => windows[role].map(([from, to]) => audit.count(role, from, to));
    const rotorFig = figures(rotorResults, rotorStats, audited('rotor'));
    // Where an event's time goes: discovery (until its last whole-cluster list ended, and the lists'
    // own summed time, concurrent kinds overlapping) against the rest (decide, patches, Events).
    // Only first deliveries (every other entry is the redelivery of the event before it).
    const firstDeliveries = discovery.filter((_, i) => i % 2 === 0);
    const sortedDiscovery = firstDeliveries.map((d) => d.ms).sort((a, b) => a - b);
    const rotorDiscovery = {
      p50DiscoveryMs: round(percentile(sortedDiscovery, 50)),
      meanListMsPerEvent: round(
        firstDeliveries.reduce((s, d) => s + d.listMs, 0) / Math.max(1, firstDeliveries.length),
      ),
    };
    const baselineFig = baselineStats
      ? figures(baselineResults, baselineStats, audited('baseline'))
      : undefined;

    let reloaderPeer: Record<string, unknown> | undefined;
    let sideBySide = sideBySideTable(rotorFig, baselineFig, undefined);
    if (reloader && 'skipped' in reloader) reloaderPeer = { skipped: reloader.skipped };
    else if (reloader) {
      progress('reloader: creating the synced Secrets ESO would have written, then starting Reloader');
      const secrets = await createSyncedSecrets(admin, fleet);
      await applyManifests(kc, RELOADER_RBAC);
      runningReloader = startReloader(reloader.bin, cp.kubeconfigPathFor(RELOADER_USER), scratch);
      const scenarioA = await runScenarioA({
        admin,
        kc,
        fleet,
        events,
        audit,
        reloader: runningReloader,
        progress,
      });
      sideBySide = sideBySideTable(rotorFig, baselineFig, scenarioA);
      reloaderPeer = {
        binary: reloader.bin,
        syncedSecrets: secrets,
        scenarioA: {
          ...scenarioA,
          // Rotor handling the same rotations (the events above), for the side-by-side.
          rotor: {
            p50Ms: rotorFig.p50Ms,
            p95Ms: rotorFig.p95Ms,
            requestsPerEvent: rotorFig.auditedRequestsPerEvent,
          },
        },
      };
      await runningReloader.stop();
    }
    admin.close();
    if (reloader) {
      // Scenario B brings its own control plane: this one's work is done.
      await cp.stop();
      cp = undefined;
      // A scenario B that fails (ESO not buildable, a timeout) is reported; the figures above stand.
      const scenarioB = await runScenarioB({
        workloads: esoWorkloads,
        namespaces: esoNamespaces,
        events: esoEvents,
        intervalSeconds: esoInterval,
        reloader,
        scratch,
        progress,
      }).catch((e: unknown) => {
        progress(`scenario B failed: ${(e as Error).stack ?? String(e)}`);
        return { failed: (e as Error).message };
      });
      reloaderPeer = { ...reloaderPeer, scenarioB };
    }
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
      rotor: { ...rotorFig, ...rotorDiscovery },
      baseline: baselineFig ?? null,
      peers: { ...(reloaderPeer ? { reloader: reloaderPeer } : {}) },
      // The same event delivered again right after: the no-op path (lists, decisions, no patch).
      rotorRedelivery: {
        p50Ms: round(percentile(redeliveryMs, 50)),
        p95Ms: round(percentile(redeliveryMs, 95)),
        requestsPerEvent: round(
          redeliveryResults.reduce((s, r) => s + r.requests, 0) / Math.max(1, redeliveryResults.length),
        ),
        patches: checks.redeliveryPatches,
      },
      ...(watchProbe ? { watchProbe } : {}),
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
    for (const line of sideBySide) progress(line);
    progress(`done in ${result.seconds.total}s`);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    for (const w of workers) w.kill();
    await runningReloader?.stop();
    for (const p of proxies) await p.close();
    await cp?.stop();
    await notices?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
