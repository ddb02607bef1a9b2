// npm run demo — Rotor's main job on the embedded default, with no cloud account:
//
//   a local Kubernetes control plane (built or reused), Google's Pub/Sub emulator, the real
//   functions-framework server running onSecretEvent as the least-privileged `rotor` user, sample
//   workloads in namespace `shop`, one SECRET_VERSION_ADD notification published exactly as Secret
//   Manager publishes it, delivered as Eventarc delivers it, and simulated ESO / kubelet / CSI driver
//   catching up the way they do on a real cluster.
//
// Delivered as deployed: the push subscription has the retry policy Terraform deploys (a fixed
// retry_backoff_seconds, read from the module's defaults), and onSecretEvent the in-delivery budget
// its timeout gives it; nothing redelivers on the harness's initiative. Rotor waits inside the
// delivery for ESO's sync and the CSI driver's mount, so the event converges in one delivery.
//
// It prints progress lines while it builds and starts things (stderr), then an account of what
// happened to each sample workload and why, with timings and the deliveries used (stdout), and
// removes everything it started, also on Ctrl-C.
//
// Where the machine can (Linux, root: Debian's containerd, runc, CNI plugins and busybox-static are
// installed when missing), the pods run for real on a local kubelet + containerd
// (test/harness/realNode.ts), and the account adds, per workload, the version each pod serves before
// and after, read from the pods (scripts/demoRealPods.ts). Elsewhere a stand-in plays the kubelet and
// the CSI driver, and the demo says why. `--node real` insists on real pods, `--node simulated`
// skips them.
import { podNetworkUnsupportedReason, createPodNetwork } from '../test/harness/podNetwork';
import type { PodNetwork, PodServer } from '../test/harness/podNetwork';
import { onExit } from '../test/harness/cleanup';
import {
  applyManifests,
  installCrds,
  locateBinaries,
  REPO_ROOT,
  startControlPlane,
} from '../test/harness/controlPlane';
import type { ControlPlane } from '../test/harness/controlPlane';
import { startEventarcRelay } from '../test/harness/eventarc';
import type { DeliveryRecord, EventarcRelay } from '../test/harness/eventarc';
import { startFunctionsServer } from '../test/harness/functionsServer';
import type { FunctionsServer } from '../test/harness/functionsServer';
import { startPubsubEmulator } from '../test/harness/pubsubEmulator';
import type { PubsubEmulator } from '../test/harness/pubsubEmulator';
import { SecretManagerState, startSimulatedEso, startSimulatedNode } from '../test/harness/simulatedCluster';
import { deployedDelivery } from '../test/harness/deployedDelivery';
import { holdAnnounced, startSecretManagerStandIn } from '../test/harness/secretManagerStandIn';
import type { SimulatedEso, SimulatedNode } from '../test/harness/simulatedCluster';
import { NODE_NAME, startRealNode } from '../test/harness/realNode';
import { readServed, realPodManifests, rolloutsSettled, servedTable } from './demoRealPods';
import type { Served } from './demoRealPods';
import { notificationMessage } from '../functions/core/event';
import type { EventOutcome, WorkloadOutcome } from '../functions/core/outcome';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const PROJECT_ID = 'rotor-demo';
const PROJECT_NUMBER = '123456789012';
const SECRET = 'db-password';
const NS = 'shop';
const DEADLINE_MS = 120_000;

/** The real node's kubelet syncFrequency; Rotor is told it (ROTOR_KUBELET_SYNC_SECONDS). */
const KUBELET_SYNC_SECONDS = 5;

const started = Date.now();
const progress = (line: string): void => {
  process.stderr.write(`▶ ${line} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
};

/** `--node real`, `--node simulated`, or neither (`auto`: real pods where the machine can run them). */
function nodeMode(argv: string[]): 'real' | 'simulated' | 'auto' {
  const i = argv.indexOf('--node');
  const value = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--node='))?.slice('--node='.length);
  if (value === undefined) return 'auto';
  if (value === 'real' || value === 'simulated') return value;
  throw new Error(`--node ${value}: expected real or simulated`);
}

/** Why this machine cannot run the real node (after installing what Debian provides), if it cannot. */
function realNodeUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `the real node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the real node needs root (kubelet, containerd and the pod network)';
  const prereqs = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-prereqs.sh'), 'node'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (prereqs.status !== 0) return 'containerd, runc, the CNI plugins or busybox-static are missing (above)';
  return undefined;
}

/** Real pods when asked or possible; `--node real` on a machine that cannot is an error. */
function resolveMode(asked: 'real' | 'simulated' | 'auto'): 'real' | 'simulated' {
  if (asked === 'simulated') return 'simulated';
  const why = realNodeUnavailable();
  if (why === undefined) return 'real';
  if (asked === 'real') throw new Error(`--node real: ${why}; run without --node for simulated pods`);
  progress(`simulated pods (kubelet and CSI driver stand-ins): ${why}`);
  return 'simulated';
}
const MODE = resolveMode(nodeMode(process.argv.slice(2)));

function manifests(reloadPing: boolean): string {
  const spc = (name: string, version: string, file: string): string => `
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata: {name: ${name}, namespace: ${NS}}
spec:
  provider: gke
  parameters:
    secrets: |
      - resourceName: "projects/${PROJECT_ID}/secrets/${version === 'api-token' ? 'api-token/versions/latest' : `${SECRET}/versions/${version}`}"
        path: "${file}"`;
  const deployment = (name: string, replicas: number, pod: string, annotations = ''): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${NS}
  annotations: {${annotations}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:${pod}`;
  const csiPod = (spcName: string, mount: string): string => `
      containers:
        - name: app
          image: example.invalid/app:1
          ports: [{name: http, containerPort: 8080}]
          volumeMounts: [${mount}]
      volumes:
        - name: secrets
          csi: {driver: secrets-store-gke.csi.k8s.io, readOnly: true, volumeAttributes: {secretProviderClass: ${spcName}}}`;
  return [
    `
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: gcp}
spec: {provider: {gcpsm: {projectID: ${PROJECT_ID}}}}`,
    `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db-credentials, namespace: ${NS}}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: gcp}
  target: {name: db-credentials}
  data:
    - secretKey: DB_PASSWORD
      remoteRef: {key: ${SECRET}}`,
    spc('db-password-latest', 'latest', 'db-password.txt'),
    spc('db-password-v1', '1', 'db-password.txt'),
    spc('api-token', 'api-token', 'token'),
    // env from the ESO-synced Secret: restart, after ESO holds the new value.
    deployment(
      'api',
      1,
      `
      containers:
        - name: app
          image: example.invalid/api:1
          env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db-credentials, key: DB_PASSWORD}}}]`,
    ),
    // CSI volume and a reload endpoint: reload, after the driver mounted the new version.
    deployment(
      'web',
      2,
      csiPod('db-password-latest', '{name: secrets, mountPath: /secrets, readOnly: true}'),
      reloadPing ? 'rotor.dev/reload-endpoint: "8080/-/reload"' : 'rotor.dev/on-rotate: none',
    ),
    // The same file through subPath: never updated in place, so restart.
    deployment(
      'reports',
      1,
      csiPod(
        'db-password-latest',
        '{name: secrets, mountPath: /etc/db-password.txt, subPath: db-password.txt, readOnly: true}',
      ),
    ),
    // Pinned to version 1: a new version changes nothing.
    deployment(
      'legacy-batch',
      1,
      csiPod('db-password-v1', '{name: secrets, mountPath: /secrets, readOnly: true}'),
    ),
    // Another secret altogether.
    deployment('frontend', 1, csiPod('api-token', '{name: secrets, mountPath: /secrets, readOnly: true}')),
  ]
    .map((d) => d.trim())
    .join('\n---\n');
}

interface Pulled {
  outcome: EventOutcome;
  at: number;
}

function secs(ms: number): string {
  return `t+${(ms / 1000).toFixed(1)}s`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  diagnostics: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const stops: Array<() => Promise<void>> = [];
  let state: 'running' | 'done' | 'failed' = 'running';
  onExit(() => {
    if (state === 'running')
      process.stderr.write(
        '\n▶ interrupted: every process, temp dir and network namespace the demo started has been removed\n',
      );
  });
  let cp: ControlPlane | undefined;
  let emulator: PubsubEmulator | undefined;
  let server: FunctionsServer | undefined;
  let relay: EventarcRelay | undefined;
  let eso: SimulatedEso | undefined;
  let node: SimulatedNode | undefined;
  let podNetwork: PodNetwork | undefined;
  let podServer: PodServer | undefined;
  const diagnostics = (): string =>
    [server?.logTail(20), emulator?.logTail(10), cp?.logTail(10)].filter(Boolean).join('\n');
  try {
    progress(
      'control plane: building or reusing kube-apiserver, kube-controller-manager, kube-scheduler, the kubelet and etcd (the first build takes about 16 minutes on 2 cores)',
    );
    const binDir =
      process.env.KUBEBUILDER_ASSETS || process.env.ROTOR_CONTROL_PLANE_BIN || (await locateBinaries());
    progress('starting the control plane and the Pub/Sub emulator');
    [cp, emulator] = await Promise.all([
      startControlPlane({
        users: ['rotor'],
        binDir,
        quiet: true,
        ...(MODE === 'real' ? { node: { name: NODE_NAME } } : {}),
      }).then((c) => {
        stops.push(() => c.stop());
        return c;
      }),
      startPubsubEmulator().then((e) => {
        stops.push(() => e.stop());
        return e;
      }),
    ]);
    progress(`control plane at ${cp.server}, Pub/Sub emulator at ${emulator.host}`);
    const admin = cp.kubeConfig();
    await installCrds(admin);
    await applyManifests(admin, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.request('admin', 'POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });

    let realNodeImage: string | undefined;
    if (MODE === 'real') {
      progress('starting a real node: containerd, kube-scheduler, kubelet (busybox pods)');
      const rn = await startRealNode(cp, { quiet: true, syncFrequency: `${KUBELET_SYNC_SECONDS}s` });
      stops.push(() => rn.stop());
      realNodeImage = rn.images.app;
      progress(`node ${rn.name} Ready in ${(rn.startMs / 1000).toFixed(1)}s`);
    }
    const noNetns = MODE === 'real' ? 'real pods' : podNetworkUnsupportedReason();
    if (MODE === 'real') {
      // Real pods serve their own answers; no recording server is needed.
    } else if (!noNetns) {
      podNetwork = await createPodNetwork();
      const pn = podNetwork;
      stops.push(() => pn.close());
      podServer = await podNetwork.startServer({ port: 8080 });
    } else {
      progress(
        `no reload ping in this run: ${noNetns}. The API server's pod proxy refuses loopback pod IPs, so the pods' server needs an address in a network namespace; "web" is set to rotor.dev/on-rotate: none instead`,
      );
    }

    // Secret Manager: db-password version 1 exists; the simulated cluster actors read from it.
    const sm = new SecretManagerState(PROJECT_NUMBER);
    sm.addVersion(SECRET);
    sm.addVersion('api-token');
    eso = startSimulatedEso(cp, sm, { delayMs: 1000 });
    const e = eso;
    stops.push(() => e.stop());
    node = startSimulatedNode(cp, sm, {
      // On a real node the kubelet runs the pods: the stand-in serves nothing.
      namespaces: MODE === 'real' ? [] : [NS],
      ...(podNetwork ? { podNetwork } : {}),
      rotationPollMs: 2000,
    });
    const n = node;
    stops.push(() => n.stop());

    const outcomeTopic = await emulator.createTopic('rotor-outcomes');
    await emulator.createPullSubscription('rotor-outcomes-audit', outcomeTopic);
    const topic = await emulator.createTopic('secret-events');
    const deployed = deployedDelivery();
    // The Secret Manager API onSecretEvent confirms each notification with (metadata only).
    const notices = await startSecretManagerStandIn();
    stops.push(() => notices.close());
    progress(
      `starting the functions framework (onSecretEvent) as the rotor user, with the deployed delivery: ${deployed.budgetSeconds} s budget in a ${deployed.timeoutSeconds} s timeout, ${deployed.retryBackoffSeconds} s backoff`,
    );
    server = await startFunctionsServer({
      target: 'onSecretEvent',
      env: {
        ...emulator.env,
        ROTOR_CLUSTERS: `kubeconfig:${cp.kubeconfigPathFor('rotor')}`,
        ROTOR_PROJECT_MAP: `${PROJECT_ID}=${PROJECT_NUMBER}`,
        ROTOR_DEFAULT_PROJECT: PROJECT_ID,
        ROTOR_OUTCOME_TOPIC: outcomeTopic,
        ROTOR_EVENT_TOPIC: topic,
        ROTOR_SECRET_MANAGER_ENDPOINT: notices.endpoint,
        ROTOR_MAX_WAIT_SECONDS: '90',
        ROTOR_DELIVERY_BUDGET_SECONDS: String(deployed.budgetSeconds),
        ...(MODE === 'real' ? { ROTOR_KUBELET_SYNC_SECONDS: String(KUBELET_SYNC_SECONDS) } : {}),
      },
    });
    const srv = server;
    stops.push(() => srv.stop());
    relay = await startEventarcRelay(server.url, topic);
    const rl = relay;
    stops.push(() => rl.close());
    await emulator.createPushSubscription('eventarc-onSecretEvent', topic, relay.url, {
      minimumBackoffSeconds: deployed.retryBackoffSeconds,
      maximumBackoffSeconds: deployed.retryBackoffSeconds,
      ackDeadlineSeconds: deployed.ackDeadlineSeconds,
    });

    progress('applying sample workloads in namespace shop and waiting for their pods');
    await applyManifests(
      admin,
      realNodeImage ? realPodManifests(NS, PROJECT_ID, realNodeImage) : manifests(Boolean(podServer)),
    );
    const cpNow = cp;
    const podsReady = async (): Promise<boolean> =>
      realNodeImage
        ? e.syncs.length >= 3 && (await rolloutsSettled(cpNow, NS))
        : n.podIps.size >= 6 && e.syncs.length >= 1;
    await waitUntil(podsReady, 120_000, 'the sample pods to run and ESO to sync', diagnostics);
    const servedBefore: Served | undefined = realNodeImage ? await readServed(cp, NS, sm) : undefined;

    // The notification. ESO will sync when Rotor forces it (after ~1 s, as the operator's queue
    // does); the CSI driver's next rotation poll comes a little after Rotor's first look.
    if (MODE === 'simulated') node.pauseRotation();
    const version = sm.addVersion(SECRET);
    const message = notificationMessage({
      type: 'SECRET_VERSION_ADD',
      secret: `projects/${PROJECT_NUMBER}/secrets/${SECRET}`,
      version,
    });
    holdAnnounced(notices, message);
    const publishedAt = Date.now();
    const messageId = await emulator.publish(topic, {
      data: Buffer.from(message.data ?? '', 'base64'),
      attributes: message.attributes,
    });
    progress(
      `published SECRET_VERSION_ADD ${message.attributes.secretId} version ${version}; waiting for Rotor`,
    );
    const deliveries = (): DeliveryRecord[] => rl.deliveriesOf(messageId);
    // Rotor's first look (its first pass's summary line): the delivery itself is still open, waiting.
    await srv.waitForLog(
      (l) => typeof l.message === 'string' && l.message.startsWith('SECRET_VERSION_ADD '),
      {
        timeoutMs: 30_000,
        what: "Rotor's first pass",
      },
    );
    setTimeout(() => n.resumeRotation(), 1500).unref();
    await waitUntil(
      () => deliveries().some((d) => d.status >= 200 && d.status < 300),
      DEADLINE_MS,
      'Rotor to ack the notification',
      diagnostics,
    );
    const ackedAt = Date.now();
    let servedAfter: Served | undefined;
    if (servedBefore) {
      progress(
        `waiting for the rollouts and the kubelet to update Secret volumes in place (syncFrequency ${KUBELET_SYNC_SECONDS}s)`,
      );
      await waitUntil(() => rolloutsSettled(cpNow, NS), 120_000, 'the rollouts to finish', diagnostics);
      // The in-place update comes on the kubelet's own schedule: wait (bounded) until "web" has it.
      const webUpdated = async (): Promise<boolean> =>
        [...((await readServed(cpNow, NS, sm)).get('web')?.values() ?? [])].every(
          (v) => v === `${SECRET} v${version}`,
        );
      await waitUntil(webUpdated, 120_000, 'the Secret volume of web to update in place', diagnostics).catch(
        () => progress('web: the kubelet did not update the Secret volume within 120 s'),
      );
      servedAfter = await readServed(cp, NS, sm);
    }

    // The outcomes from the outcome topic: one per pass that acted or saw something new.
    const pulled: Pulled[] = [];
    await waitUntil(
      async () => {
        for (const m of await emulator!.pull('rotor-outcomes-audit', { min: 0, timeoutMs: 0 })) {
          const o = JSON.parse(m.data) as EventOutcome;
          if (o.event.messageId === messageId) pulled.push({ outcome: o, at: Date.parse(m.publishTime) });
        }
        return pulled.some((p) => p.outcome.converged);
      },
      20_000,
      'the outcome messages',
      diagnostics,
    );
    pulled.sort((a, b) => a.at - b.at);
    state = 'done';
    const deployments = JSON.parse(
      (await cp.request('admin', 'GET', `/apis/apps/v1/namespaces/${NS}/deployments`)).body,
    ) as { items: Array<{ metadata: { name: string } }> };
    printAccount({
      backoffSeconds: deployed.retryBackoffSeconds,
      secretId: message.attributes.secretId,
      version,
      topic,
      outcomeTopic,
      publishedAt,
      ackedAt,
      deliveries: deliveries(),
      pulled,
      eso: e,
      node: n,
      podServer,
      all: deployments.items.map((d) => d.metadata.name).sort(),
    });
    if (servedBefore && servedAfter)
      process.stdout.write(servedTable(servedBefore, servedAfter).join('\n') + '\n');
  } catch (err) {
    state = 'failed';
    throw err;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
  process.stdout.write('Everything the demo started has been stopped and removed.\n');
}

interface Account {
  backoffSeconds: number;
  secretId: string;
  version: string;
  topic: string;
  outcomeTopic: string;
  publishedAt: number;
  ackedAt: number;
  deliveries: DeliveryRecord[];
  pulled: Pulled[];
  eso: SimulatedEso;
  node: SimulatedNode;
  podServer: PodServer | undefined;
  all: string[];
}

const RANK: Record<string, number> = {
  restarted: 0,
  reloaded: 1,
  recorded: 2,
  failed: 3,
  'gave-up': 3,
  skipped: 4,
  unchanged: 5,
};

const LABEL: Record<string, string> = {
  restarted: 'RESTARTED',
  reloaded: 'RELOADED',
  unchanged: 'LEFT ALONE',
  recorded: 'RECORDED',
  waiting: 'WAITING',
  skipped: 'SKIPPED',
  failed: 'FAILED',
  'gave-up': 'GAVE UP',
  'dry-run': 'DRY RUN',
};

function printAccount(a: Account): void {
  const t = (at: number): string => secs(at - a.publishedAt);
  const out: string[] = [];
  out.push('');
  out.push(`Rotor demo: Secret Manager published SECRET_VERSION_ADD for ${a.secretId}, version ${a.version}`);
  out.push(
    `  Pub/Sub emulator topic ${a.topic.split('/').pop() ?? ''} → push → Eventarc CloudEvent → functions framework (onSecretEvent)`,
  );
  out.push('');
  out.push(
    `Deliveries (as deployed: Pub/Sub redelivers after ${a.backoffSeconds} s; Rotor waits inside a delivery for the new version to be visible):`,
  );
  a.deliveries.forEach((d, i) => {
    const status = d.status >= 200 && d.status < 300 ? `${d.status} ack  ` : `${d.status} retry`;
    out.push(`  ${pad(t(d.at), 8)} #${i + 1}  ${status}`);
  });
  out.push('Passes reported (the outcome topic: one per pass that acted or saw something new):');
  a.pulled.forEach((p) => {
    const did = p.outcome.workloads
      .filter((w) => w.result === 'restarted' || w.result === 'reloaded')
      .map((w) => `${w.result} ${w.name}`);
    const waiting = p.outcome.workloads.filter((w) => w.result === 'waiting').map((w) => w.name);
    const parts = [...did, ...(waiting.length ? [`waiting: ${waiting.join(', ')}`] : [])];
    out.push(`  ${pad(t(p.at), 8)}  ${parts.join('; ') || 'nothing left to do'}`);
  });
  const sync = a.eso.syncs.find((s) => s.trigger === 'annotations' && s.versions[SECRET] === a.version);
  const rotations = a.node.mounts.filter((m) => m.kind === 'rotation' && m.versions[SECRET] === a.version);
  const meanwhile: string[] = [];
  if (sync)
    meanwhile.push(`ESO synced Secret db-credentials at ${t(sync.secretWrittenAt)} (a sync Rotor forced)`);
  if (rotations.length)
    meanwhile.push(
      `the CSI driver's rotation mounted version ${a.version} at ${t(Math.max(...rotations.map((r) => r.at)))}`,
    );
  if (meanwhile.length) out.push(`  meanwhile: ${meanwhile.join('; ')}`);
  out.push('');
  out.push(`What happened to each workload in namespace ${NS}, and why:`);
  const names = new Set(a.pulled.flatMap((p) => p.outcome.workloads.map((w) => w.name)));
  const rows: Array<{ rank: number; lines: string[] }> = [];
  for (const name of names) {
    const history = a.pulled
      .map((p) => ({
        at: p.at,
        w: p.outcome.workloads.find((w) => w.name === name),
      }))
      .filter((h): h is { at: number; w: WorkloadOutcome } => Boolean(h.w));
    const acted =
      history.find((h) => h.w.result !== 'waiting' && h.w.result !== 'unchanged') ??
      history[history.length - 1];
    const waited = history.find((h) => h.w.result === 'waiting');
    let when = '';
    if (acted.w.result === 'reloaded') {
      // Real pods answer for themselves (the table below); the simulated ones are counted here.
      when = a.podServer
        ? `pinged ${a.podServer.requests.length} pods through the API server's pod proxy`
        : "POSTed its reload endpoint through the API server's pod proxy";
    }
    if (waited) {
      when += `${when ? ', ' : ''}${waited.w.waitingFor === 'eso' ? 'after ESO synced the new value into its Secret' : `after the CSI driver mounted version ${a.version} in its pods`}`;
    }
    const label = LABEL[acted.w.result] ?? acted.w.result;
    const time = acted.w.result === 'unchanged' ? '' : t(acted.at);
    rows.push({
      rank: RANK[acted.w.result] ?? 9,
      lines: [
        `  ${pad(label, 10)}  ${pad(name, 12)}  ${pad(time, 7)}  ${when}`.trimEnd(),
        `${' '.repeat(16)}${acted.w.reason}`,
      ],
    });
  }
  for (const name of a.all.filter((n) => !names.has(n))) {
    rows.push({
      rank: 8,
      lines: [`  ${pad('LEFT ALONE', 10)}  ${name}`, `${' '.repeat(16)}does not read ${SECRET}`],
    });
  }
  for (const r of rows.sort((x, y) => x.rank - y.rank)) out.push(...r.lines);
  out.push('');
  out.push(
    `${a.pulled.length} outcome messages on ${a.outcomeTopic}; the last says converged: ${String(a.pulled.at(-1)?.outcome.converged)}.`,
  );
  out.push(
    `From publish to ack: ${((a.ackedAt - a.publishedAt) / 1000).toFixed(1)}s, in ${a.deliveries.length} deliver${a.deliveries.length === 1 ? 'y' : 'ies'}.`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
