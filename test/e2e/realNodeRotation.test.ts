// Rotation end to end on a real node: Secret Manager stand-in → notification → Rotor → the real
// ESO → the real kubelet and containerd running busybox pods. Every check reads what a container
// actually serves (test/harness/realNode.ts servingContainerScript: SHA-256 through the pod proxy),
// compared with the hash of the value the test expects; no value is printed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/controlPlane';
import { startPostgres } from '../harness/postgres';
import type { PostgresServer } from '../harness/postgres';
import { BRIDGE_IP, POD_SUBNET, podProxyGet, servingContainerScript, sha256Hex } from '../harness/realNode';
import { memoryLogger } from '../../functions/log';
import { rotateOne } from '../../functions/rotation/protocol';
import { defaultStrategies } from '../../functions/rotation/strategies';
import { createSecretManager } from '../../functions/secretmanager/client';
import { SecretValue } from '../../functions/secretmanager/secretValue';
import type { Pipeline, RealEsoRig } from './fixture';
import { PROJECT_ID, deployment, outcomeFor, restartedAt, startRealEsoRig } from './fixture';

const ENV_NS = 'node-env';
const FILES_NS = 'node-files';
const BRAKE_NS = 'node-brake';
const DB_NS = 'node-db';
const RELOAD_NS = 'node-reload';
const NAMESPACES = [ENV_NS, FILES_NS, BRAKE_NS, DB_NS, RELOAD_NS];
const ES_API = '/apis/external-secrets.io/v1';

interface PodView {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  status: {
    phase?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{
      name: string;
      restartCount: number;
      state?: { waiting?: { reason?: string } };
    }>;
  };
}

interface AppOptions {
  replicas?: number;
  annotations?: Record<string, string>;
  /** Container spec lines (YAML, indented for a container) besides image and command. */
  container?: string;
  /** Pod spec lines (volumes, initContainers), indented for the pod spec. */
  pod?: string;
  /** Shell lines run before serving (e.g. exit on an unacceptable value). */
  prelude?: string;
  /** Readiness path; default: the hash of TOKEN. */
  readyPath?: string;
  /**
   * A readiness command instead (exec probe), with its timeout: the kubelet's default of 1 s fails
   * a real PostgreSQL login (psql start, SCRAM) on a busy 2-core machine often enough that every
   * pod flapped between Ready and not Ready and no rollout finished.
   */
  readyExec?: { command: string[]; timeoutSeconds: number };
}

/**
 * The kubelet's syncFrequency: how often it rewrites Secret volumes in running pods. Half the
 * harness's default of 10 s, so the in-place update and the wait for two more syncs after it (the
 * subPath file still old) cost half as long.
 */
const SYNC_SECONDS = 5;

describe('rotation on a real node (real ESO, real kubelet)', { timeout: 900_000 }, () => {
  let rig: RealEsoRig;
  let pipeline: Pipeline;
  let image: string;

  before(async () => {
    rig = await startRealEsoRig({ namespaces: NAMESPACES, realNode: { syncFrequency: `${SYNC_SECONDS}s` } });
    image = rig.realNode!.images.app;
    // As Terraform deploys onSecretEvent: a delivery budget and a continuation topic. Each case
    // pins how many deliveries its event used.
    // Rotor is told the node's kubelet sync period, as an operator sets it for their nodes.
    pipeline = await rig.pipeline('node', {
      asDeployed: { budgetSeconds: 60, pollSeconds: 1 },
      env: { ROTOR_KUBELET_SYNC_SECONDS: String(SYNC_SECONDS) },
    });
    await rig.apply(rig.eso.credentialsSecret());
    await rig.apply(rig.eso.clusterSecretStore('gcp', PROJECT_ID));
    await waitFor(
      async () =>
        (
          await rig.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
            `${ES_API}/clustersecretstores/gcp`,
          )
        )?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      { timeoutMs: 60_000, what: () => `ClusterSecretStore gcp Ready\n${rig.diagnostics()}` },
    );
  });

  after(async () => {
    await rig?.stop();
  });

  function appDeployment(ns: string, name: string, o: AppOptions = {}): string {
    const annotations = Object.entries(o.annotations ?? {})
      .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(', ');
    return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  annotations: {${annotations}}
spec:
  replicas: ${o.replicas ?? 1}
  selector: {matchLabels: {app: ${name}}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      enableServiceLinks: false
${o.pod ?? ''}
      containers:
        - name: app
          image: ${image}
          imagePullPolicy: Never
          command: [sh, -c, ${JSON.stringify(servingContainerScript(o.prelude))}]
          readinessProbe:
            ${
              o.readyExec
                ? `exec: {command: ${JSON.stringify(o.readyExec.command)}}
            timeoutSeconds: ${o.readyExec.timeoutSeconds}`
                : `httpGet: {path: "${o.readyPath ?? '/cgi-bin/env?TOKEN'}", port: 8080}`
            }
            periodSeconds: 1
${o.container ?? ''}
`;
  }

  /** A Secret Manager secret with version 1 = `name@v1`, its ExternalSecret `app` → Secret `app-credentials`. */
  async function syncedSecret(ns: string, secret: string): Promise<void> {
    await rig.secretManager.createSecret({
      parent: `projects/${PROJECT_ID}`,
      secretId: secret,
      secret: { replication: { automatic: {} } },
    });
    await addVersion(secret, `${secret}@v1`);
    await rig.apply(`
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: ${ns}}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: gcp}
  target: {name: app-credentials}
  data:
    - secretKey: TOKEN
      remoteRef: {key: ${secret}}
`);
    await waitFor(async () => (await secretValue(ns)) === `${secret}@v1`, {
      timeoutMs: 60_000,
      what: () => `ESO synced ${ns}/app-credentials\n${rig.diagnostics()}`,
    });
  }

  async function addVersion(secret: string, payload: string): Promise<string> {
    const [v] = await rig.secretManager.addSecretVersion({
      parent: `projects/${PROJECT_ID}/secrets/${secret}`,
      payload: { data: Buffer.from(payload) },
    });
    const n = /\/versions\/(\d+)$/.exec(v.name ?? '')?.[1];
    if (!n) throw new Error(`AddSecretVersion returned ${v.name}`);
    return n;
  }

  async function secretValue(ns: string): Promise<string | undefined> {
    const s = await rig.get<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/secrets/app-credentials`,
    );
    const b64 = s?.data?.TOKEN;
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  }

  async function pods(ns: string, app: string): Promise<PodView[]> {
    return (
      (await rig.get<{ items: PodView[] }>(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`))
        ?.items ?? []
    );
  }

  const isReady = (p: PodView): boolean =>
    !p.metadata.deletionTimestamp &&
    (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

  /** Waits until the app has exactly `count` pods, all Ready and none of them in `not`; returns their names. */
  async function readyPods(ns: string, app: string, count: number, not: string[] = []): Promise<string[]> {
    try {
      return await waitFor(
        async () => {
          const all = await pods(ns, app);
          const ready = all.filter(isReady).map((p) => p.metadata.name);
          return all.length === count && ready.length === count && ready.every((n) => !not.includes(n))
            ? ready
            : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 300, what: `${count} ready pod(s) of ${ns}/${app}` },
      );
    } catch (err) {
      const now = (await pods(ns, app)).map((p) => ({ name: p.metadata.name, status: p.status }));
      throw new Error(`${(err as Error).message}: pods now ${JSON.stringify(now)}\n${rig.diagnostics()}`, {
        cause: err,
      });
    }
  }

  /** What pod `pod` serves at `path` (a hash, or `missing`); undefined when it does not answer. */
  async function served(ns: string, pod: string, path: string): Promise<string | undefined> {
    const r = await podProxyGet(rig.cp, ns, pod, 8080, path);
    return r.status === 200 ? r.body.trim() : undefined;
  }

  /**
   * The statuses of every delivery of event `id` (its notification's and its continuations'), once
   * the notification's delivery is acked. Asked at the end of a case: a continuation is published
   * before the delivery that continues is acked, so by then it has been delivered too.
   */
  async function deliveriesOf(id: string): Promise<number[]> {
    await pipeline.relay!.waitForDelivery(id, { timeoutMs: 120_000 });
    return pipeline.deliveriesOfEvent(id).map((d) => d.status);
  }

  async function convergedOutcome(id: string): Promise<void> {
    await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged,
      'the converged outcome',
      180_000,
    );
  }

  it('env and envFrom: the running pods never serve the new value; Rotor restarts them and the new pods serve it', async (t) => {
    const ns = ENV_NS;
    const secret = 'node-env-token';
    await syncedSecret(ns, secret);
    await rig.apply(
      appDeployment(ns, 'api', {
        replicas: 2,
        container: `
          env:
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: app-credentials, key: TOKEN}}
          envFrom:
            - prefix: FROM_
              secretRef: {name: app-credentials}`,
      }),
    );
    const oldPods = await readyPods(ns, 'api', 2);
    const [v1, v2] = [sha256Hex(`${secret}@v1`), sha256Hex(`${secret}@v2`)];
    for (const pod of oldPods) {
      assert.equal(await served(ns, pod, '/cgi-bin/env?TOKEN'), v1, `${pod} env`);
      assert.equal(await served(ns, pod, '/cgi-bin/env?FROM_TOKEN'), v1, `${pod} envFrom`);
    }

    // Sample the old pods for as long as they answer: every answer must be the old value, and
    // some answers must come after the Secret already held the new one.
    let sampling = true;
    let secretChangedAt: number | undefined;
    const oldAnswers: Array<{ at: number; env?: string; envFrom?: string }> = [];
    const sampler = (async () => {
      while (sampling) {
        if (secretChangedAt === undefined && (await secretValue(ns)) === `${secret}@v2`)
          secretChangedAt = Date.now();
        for (const pod of oldPods) {
          // An old pod being torn down may not answer at all: no answer, not a failure.
          const [env, envFrom] = [
            await served(ns, pod, '/cgi-bin/env?TOKEN').catch(() => undefined),
            await served(ns, pod, '/cgi-bin/env?FROM_TOKEN').catch(() => undefined),
          ];
          if (env !== undefined || envFrom !== undefined) oldAnswers.push({ at: Date.now(), env, envFrom });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const version = await addVersion(secret, `${secret}@v2`);
    const notifiedAt = Date.now();
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    try {
      await convergedOutcome(id);
      await rig.reportOf(id, ns, 'api', 'restarted');
      const newPods = await readyPods(ns, 'api', 2, oldPods);
      const servingAt = Date.now();
      for (const pod of newPods) {
        assert.equal(await served(ns, pod, '/cgi-bin/env?TOKEN'), v2, `${pod} env after the restart`);
        assert.equal(
          await served(ns, pod, '/cgi-bin/env?FROM_TOKEN'),
          v2,
          `${pod} envFrom after the restart`,
        );
      }
      await waitFor(async () => (await pods(ns, 'api')).every((p) => !oldPods.includes(p.metadata.name)), {
        timeoutMs: 60_000,
        what: 'the old pods gone',
      });
      t.diagnostic(
        `new version → every pod serving it: ${((servingAt - notifiedAt) / 1000).toFixed(1)}s (notification to the last new pod Ready)`,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    assert.ok(secretChangedAt, 'the sampler saw the Secret change');
    const afterChange = oldAnswers.filter((a) => a.at > (secretChangedAt ?? Infinity));
    assert.ok(afterChange.length > 0, 'the old pods answered after the Secret held the new value');
    for (const a of oldAnswers) {
      assert.notEqual(a.env, v2, 'an old pod served the new env value');
      assert.notEqual(a.envFrom, v2, 'an old pod served the new envFrom value');
    }
    // Only the old value, or no value at all (a pod being torn down may answer before its CGI
    // wrote anything: an empty answer serves no value). Anything else is named.
    const unexpected = oldAnswers.filter(
      (a) => ![undefined, '', v1].includes(a.env) || ![undefined, '', v1].includes(a.envFrom),
    );
    assert.deepEqual(unexpected, [], 'old pods served only the old value');
    // By design one delivery: the sync, the restart and the wait for its rollout happen inside it.
    assert.deepEqual(await deliveriesOf(id), [204]);
  });

  it('a Secret volume updates in place (no restart); with subPath it never does and Rotor restarts; an init container copy needs a restart', async (t) => {
    const ns = FILES_NS;
    const secret = 'node-file-token';
    await syncedSecret(ns, secret);
    const volume = `
      volumes:
        - name: creds
          secret: {secretName: app-credentials}`;
    const files: Array<[string, AppOptions]> = [
      // The app re-reads its file: nothing for Rotor to do.
      [
        'inplace',
        {
          annotations: { 'rotor.dev/on-rotate': 'none' },
          pod: volume,
          readyPath: '/cgi-bin/file?/secrets/TOKEN',
          container: `
          volumeMounts: [{name: creds, mountPath: /secrets, readOnly: true}]`,
        },
      ],
      // subPath, told to leave it alone: shows the file never changes in place.
      [
        'subpath-left',
        {
          annotations: { 'rotor.dev/on-rotate': 'none' },
          pod: volume,
          readyPath: '/cgi-bin/file?/sub/TOKEN',
          container: `
          volumeMounts: [{name: creds, mountPath: /sub/TOKEN, subPath: TOKEN, readOnly: true}]`,
        },
      ],
      [
        'subpath',
        {
          pod: volume,
          readyPath: '/cgi-bin/file?/sub/TOKEN',
          container: `
          volumeMounts: [{name: creds, mountPath: /sub/TOKEN, subPath: TOKEN, readOnly: true}]`,
        },
      ],
      // Only an init container reads the Secret: it copies the value once, at start.
      [
        'boot',
        {
          pod: `${volume}
        - name: copy
          emptyDir: {}
      initContainers:
        - name: copy
          image: ${image}
          imagePullPolicy: Never
          command: [sh, -c, "cp /secrets/TOKEN /copy/TOKEN"]
          volumeMounts: [{name: creds, mountPath: /secrets, readOnly: true}, {name: copy, mountPath: /copy}]`,
          readyPath: '/cgi-bin/file?/copy/TOKEN',
          container: `
          volumeMounts: [{name: copy, mountPath: /copy, readOnly: true}]`,
        },
      ],
    ];
    const paths: Record<string, string> = {
      inplace: '/cgi-bin/file?/secrets/TOKEN',
      'subpath-left': '/cgi-bin/file?/sub/TOKEN',
      subpath: '/cgi-bin/file?/sub/TOKEN',
      boot: '/cgi-bin/file?/copy/TOKEN',
    };
    for (const [name, o] of files) await rig.apply(appDeployment(ns, name, o));
    const before = new Map<string, string>();
    const [v1, v2] = [sha256Hex(`${secret}@v1`), sha256Hex(`${secret}@v2`)];
    for (const [name] of files) {
      const [pod] = await readyPods(ns, name, 1);
      before.set(name, pod);
      assert.equal(await served(ns, pod, paths[name]), v1, `${name} serves the first value`);
    }

    const version = await addVersion(secret, `${secret}@v2`);
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    const secretChangedAt = await waitFor(
      async () => ((await secretValue(ns)) === `${secret}@v2` ? Date.now() : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: 'ESO wrote the new value',
      },
    );
    // The kubelet rewrites a Secret volume on its own sync (SYNC_SECONDS): the same pod, the new file.
    const inplacePod = before.get('inplace')!;
    const updatedAt = await waitFor(
      async () => ((await served(ns, inplacePod, paths.inplace)) === v2 ? Date.now() : undefined),
      { timeoutMs: 120_000, intervalMs: 200, what: 'the Secret volume updated in place' },
    );
    t.diagnostic(
      `Secret volume (no subPath) updated in place ${((updatedAt - secretChangedAt) / 1000).toFixed(1)}s after ESO wrote the Secret (syncFrequency ${SYNC_SECONDS}s)`,
    );

    const final = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged,
      'the converged outcome',
      180_000,
    );
    // Left alone: every delivery says so (unchanged is a report, not an action).
    assert.equal(outcomeFor(final, ns, 'inplace')?.result, 'unchanged');
    assert.equal(outcomeFor(final, ns, 'subpath-left')?.result, 'unchanged');
    await rig.reportOf(id, ns, 'subpath', 'restarted');
    await rig.reportOf(id, ns, 'boot', 'restarted');
    assert.deepEqual(
      (await pods(ns, 'inplace')).map((p) => p.metadata.name),
      [inplacePod],
      'not restarted: the same pod',
    );
    for (const name of ['subpath', 'boot']) {
      const [pod] = await readyPods(ns, name, 1, [before.get(name)!]);
      assert.equal(await served(ns, pod, paths[name]), v2, `${name}: the restarted pod serves the new value`);
    }
    // Two more kubelet syncs after the in-place update: the subPath file still holds the old value.
    await new Promise((r) => setTimeout(r, 2 * SYNC_SECONDS * 1000));
    const leftPod = before.get('subpath-left')!;
    assert.deepEqual(
      (await pods(ns, 'subpath-left')).map((p) => p.metadata.name),
      [leftPod],
    );
    assert.equal(
      await served(ns, leftPod, paths['subpath-left']),
      v1,
      'a subPath file never updates in place',
    );
    assert.equal(await served(ns, inplacePod, paths.inplace), v2);
    // By design one delivery: the sync, both restarts and the wait for their rollouts inside it.
    assert.deepEqual(await deliveriesOf(id), [204]);
  });

  it('a Secret volume with a reload endpoint: Rotor POSTs only once the kubelet can have rewritten the file, so the reload re-reads the new version; no restart', async (t) => {
    const ns = RELOAD_NS;
    const secret = 'node-reload-token';
    await syncedSecret(ns, secret);
    // On POST /cgi-bin/reload the app re-reads its file and records the file's hash at that moment
    // (never the value); /cgi-bin/reloads serves what each reload read.
    const header = `printf 'Content-Type: text/plain\\r\\n\\r\\n'`;
    const recorder = [
      'mkdir -p /tmp/www/cgi-bin',
      `printf '%s\\n' '#!/bin/sh' "${header}" 'sha256sum < /secrets/TOKEN | cut -c1-64 | tee -a /tmp/reloads' > /tmp/www/cgi-bin/reload`,
      `printf '%s\\n' '#!/bin/sh' "${header}" 'cat /tmp/reloads 2>/dev/null' > /tmp/www/cgi-bin/reloads`,
    ].join('\n');
    await rig.apply(
      appDeployment(ns, 'api', {
        annotations: { 'rotor.dev/reload-endpoint': '8080/cgi-bin/reload' },
        prelude: recorder,
        pod: `
      volumes:
        - name: creds
          secret: {secretName: app-credentials}`,
        readyPath: '/cgi-bin/file?/secrets/TOKEN',
        container: `
          volumeMounts: [{name: creds, mountPath: /secrets, readOnly: true}]`,
      }),
    );
    const [pod] = await readyPods(ns, 'api', 1);
    const [v1, v2] = [sha256Hex(`${secret}@v1`), sha256Hex(`${secret}@v2`)];
    assert.equal(await served(ns, pod, '/cgi-bin/file?/secrets/TOKEN'), v1);
    assert.equal(await served(ns, pod, '/cgi-bin/reloads'), '', 'no reload yet');

    const version = await addVersion(secret, `${secret}@v2`);
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    const secretChangedAt = await waitFor(
      async () => ((await secretValue(ns)) === `${secret}@v2` ? Date.now() : undefined),
      { timeoutMs: 60_000, intervalMs: 100, what: 'ESO wrote the new value' },
    );
    const report = await rig.reportOf(id, ns, 'api', 'reloaded', 120_000);
    t.diagnostic(
      `reloaded ${((Date.now() - secretChangedAt) / 1000).toFixed(1)}s after ESO wrote the Secret`,
    );
    // What the app's reload read: exactly one POST, and the file then held the new version.
    const named = (h: string): string => (h === v1 ? 'v1 (old)' : h === v2 ? 'v2 (new)' : h);
    assert.deepEqual(
      (await served(ns, pod, '/cgi-bin/reloads'))?.split('\n').map(named),
      ['v2 (new)'],
      'the one reload re-read the new file',
    );
    assert.match(
      report?.reason ?? '',
      new RegExp(
        `Rotor waited the kubelet's sync period \\(${SYNC_SECONDS}s ×1\\.5 \\+ 5s\\) after the sync at [0-9T:.Z-]+ for Secret ${ns}/app-credentials to reach the pods' volumes`,
      ),
    );
    assert.deepEqual(
      (await pods(ns, 'api')).map((p) => p.metadata.name),
      [pod],
      'not restarted: the same pod',
    );
  });

  it('the brake on a real failure: a value that makes the app exit gives a real CrashLoopBackOff, the event halts, later waves stay untouched, the old pod keeps serving', async () => {
    const ns = BRAKE_NS;
    const secret = 'node-brake-token';
    await syncedSecret(ns, secret);
    // The app refuses a token it cannot use: exits at start, so the kubelet restarts it with back-off.
    const prelude = 'case "$TOKEN" in *broken*) echo "unusable token: exiting" >&2; exit 3;; esac';
    const env = `
          env:
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: app-credentials, key: TOKEN}}`;
    await rig.apply(
      appDeployment(ns, 'fragile', { annotations: { 'rotor.dev/wave': '1' }, prelude, container: env }),
    );
    await rig.apply(
      appDeployment(ns, 'later', { annotations: { 'rotor.dev/wave': '2' }, prelude, container: env }),
    );
    const [fragileOld] = await readyPods(ns, 'fragile', 1);
    await readyPods(ns, 'later', 1);

    const version = await addVersion(secret, `${secret}@broken`);
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    const halted = await rig.waitForOutcome(
      (o) => o.event.messageId === id && (o.halted?.length ?? 0) > 0,
      'the halted outcome',
      180_000,
    );
    assert.deepEqual(
      halted.halted?.map((h) => h.workload),
      [`Deployment ${ns}/fragile`],
    );
    assert.match(
      halted.halted?.[0]?.reasons.join('; ') ?? '',
      /fragile-[a-z0-9-]+ app: (CrashLoopBackOff|Error \(exit code 3\))/,
    );
    assert.equal(halted.converged, true, 'acked: a retry cannot fix a crash loop');
    assert.equal(restartedAt(await deployment(rig, ns, 'later')), undefined, 'wave 2 untouched');

    // The kubelet really backs off: the new pod's container reaches CrashLoopBackOff.
    const crashing = await waitFor(
      async () =>
        (await pods(ns, 'fragile')).find((p) =>
          p.status.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'),
        ),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: () => `a CrashLoopBackOff pod of ${ns}/fragile\n${rig.diagnostics()}`,
      },
    );
    assert.notEqual(crashing.metadata.name, fragileOld);
    // maxUnavailable 0: the old pod is still there, Ready, serving the old value.
    const old = (await pods(ns, 'fragile')).find((p) => p.metadata.name === fragileOld);
    assert.ok(old && isReady(old), 'the old pod is still Ready');
    assert.equal(await served(ns, fragileOld, '/cgi-bin/env?TOKEN'), sha256Hex(`${secret}@v1`));
    // By design one delivery: the delivery that restarted wave 1 sees the crash inside itself and
    // halts (a retry cannot fix a crash loop), acked.
    assert.deepEqual(await deliveriesOf(id), [204]);
  });
  it('zero downtime: postgres-alternating rotations reach every replica through Rotor and ESO while a client loop never sees a failed login', async (t) => {
    const ns = DB_NS;
    const pg: PostgresServer = await startPostgres({ extraListenAddresses: [BRIDGE_IP] });
    const sm = createSecretManager({ endpoint: rig.standIn.endpoint });
    let looping = true;
    let loop: Promise<void> | undefined;
    try {
      // Pods reach PostgreSQL on the bridge address; password logins only.
      await pg.prependHbaRules([`host all all ${POD_SUBNET} scram-sha-256`]);
      await pg.query("CREATE ROLE rotor_admin LOGIN CREATEROLE PASSWORD 'admin-pass-1'");
      await pg.query("CREATE ROLE app_a LOGIN PASSWORD 'a-password-0'");
      await pg.query("CREATE ROLE app_b LOGIN PASSWORD 'b-password-0'");
      const cred = (username: string, password: string, host: string): string =>
        JSON.stringify({ username, password, host, port: pg.port, dbname: 'postgres' });
      const admin = { project: PROJECT_ID, secret: 'node-pg-admin' };
      await sm.createSecret(admin, { labels: {}, annotations: {} });
      await sm.addVersion(admin, SecretValue.fromString(cred('rotor_admin', 'admin-pass-1', pg.host)));
      const id = { project: PROJECT_ID, secret: 'node-db-credentials' };
      await sm.createSecret(id, {
        labels: { 'rotor-strategy': 'postgres-alternating' },
        annotations: {
          'rotor-admin-secret': 'node-pg-admin',
          'rotor-users': 'app_a,app_b',
          'rotor-min-interval': '0',
        },
      });
      const first = await sm.addVersion(id, SecretValue.fromString(cred('app_a', 'a-password-0', BRIDGE_IP)));
      await sm.updateSecret(id, { versionAliases: { current: first.version } });
      await rig.apply(`
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: ${ns}}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: gcp}
  target: {name: db-credentials}
  data:
    - secretKey: DB
      remoteRef: {key: ${id.secret}}
`);
      await waitFor(
        async () => (await rig.get(`/api/v1/namespaces/${ns}/secrets/db-credentials`)) !== undefined,
        {
          timeoutMs: 60_000,
          what: () => `ESO synced ${ns}/db-credentials\n${rig.diagnostics()}`,
        },
      );

      // The app: DB holds the JSON credential; every request (and the readiness probe) is a real
      // login with it. /cgi-bin/login answers "ok" plus the hash of the user it logged in as.
      const prelude = [
        'mkdir -p /tmp/www/cgi-bin',
        "cat > /tmp/login.sh <<'EOF'",
        'field() { echo "$DB" | sed -n "s/.*\\"$1\\":\\"\\{0,1\\}\\([^\\",}]*\\).*/\\1/p"; }',
        'PGPASSWORD="$(field password)" PGCONNECT_TIMEOUT=10 psql -h "$(field host)" -p "$(field port)" -U "$(field username)" -d postgres -tAc "select 1" >/dev/null 2>&1 || exit 1',
        'printf ok; field username | tr -d "\\n" | sha256sum | cut -c1-64',
        'EOF',
        "cat > /tmp/www/cgi-bin/login <<'EOF'",
        '#!/bin/sh',
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'",
        'sh /tmp/login.sh || echo failed',
        'EOF',
      ].join('\n');
      await rig.apply(`
apiVersion: v1
kind: Service
metadata: {name: db-app, namespace: ${ns}}
spec:
  selector: {app: db-app}
  ports: [{port: 8080, targetPort: 8080}]
---
${appDeployment(ns, 'db-app', {
  replicas: 3,
  prelude,
  container: `
          env:
            - name: DB
              valueFrom: {secretKeyRef: {name: db-credentials, key: DB}}
          lifecycle:
            # Out of the Service's endpoints before it stops answering.
            preStop: {exec: {command: [sleep, "2"]}}`,
  // Ready = a real login with the credential it holds.
  readyExec: { command: ['sh', '/tmp/login.sh'], timeoutSeconds: 10 },
}).replace('terminationGracePeriodSeconds: 1', 'terminationGracePeriodSeconds: 5')}`);
      await readyPods(ns, 'db-app', 3);

      // The client: one request at a time through the API server's service proxy (ready pods only),
      // counting the answers by the user the pod logged in as: the old credential's (app_a) until the
      // rollout, the new one's (app_b) after it.
      const [asA, asB] = [`ok${sha256Hex('app_a')}`, `ok${sha256Hex('app_b')}`];
      const stats = { sent: 0, failed: 0, lastFailure: '', asA: 0, asB: 0 };
      loop = (async () => {
        while (looping) {
          stats.sent++;
          const r = await rig.cp
            .request('admin', 'GET', `/api/v1/namespaces/${ns}/services/db-app:8080/proxy/cgi-bin/login`)
            .catch((err: unknown) => ({ status: 0, body: String(err) }));
          const answer = r.status === 200 ? r.body.trim() : undefined;
          if (answer === asA) stats.asA++;
          else if (answer === asB) stats.asB++;
          else {
            stats.failed++;
            stats.lastFailure = `${r.status} ${r.body.slice(0, 80)}`;
          }
          await new Promise((res) => setTimeout(res, 100));
        }
      })();

      const deps = {
        secretManager: sm,
        strategies: defaultStrategies(),
        logger: memoryLogger(),
        defaults: { graceMs: 60 * 60_000, minIntervalMs: 0 },
        lockTtlMs: 15 * 60_000,
      };
      // The rotation: app_b gets a new password and becomes `current`; Secret Manager notifies.
      const rotation = await rotateOne(id, deps, { trigger: 'zero-downtime' });
      assert.equal(rotation.outcome, 'rotated', rotation.reason);
      const rotatedAt = Date.now();
      const msg = await pipeline.notify({
        type: 'SECRET_VERSION_ADD',
        secret: id.secret,
        version: String(rotation.version),
      });
      await convergedOutcome(msg);
      await rig.reportOf(msg, ns, 'db-app', 'restarted');
      const everyPodServing = await waitFor(
        async () => {
          const all = await pods(ns, 'db-app');
          const ready = all.filter(isReady).map((p) => p.metadata.name);
          if (ready.length !== 3 || all.length !== 3) return undefined;
          for (const pod of ready)
            if ((await served(ns, pod, '/cgi-bin/login')) !== `ok${sha256Hex('app_b')}`) return undefined;
          return Date.now();
        },
        {
          timeoutMs: 120_000,
          intervalMs: 300,
          what: () => `every db-app pod logging in as app_b\n${rig.diagnostics()}`,
        },
      );
      // By design one delivery: the sync, the restart and the wait for its rollout inside it.
      assert.deepEqual(await deliveriesOf(msg), [204]);
      const answered = pipeline.deliveriesOfEvent(msg);
      t.diagnostic(
        `notification: ${answered.length} push deliveries answered (${answered.map((d) => `${d.status} at +${((d.at - rotatedAt) / 1000).toFixed(1)}s`).join(', ')})`,
      );
      t.diagnostic(
        `new version → every pod logging in with it: ${((everyPodServing - rotatedAt) / 1000).toFixed(1)}s`,
      );
      // Every pod logs in as app_b now: the next rotation retires the credential they used before
      // (app_a gets a new password), and the client loop still sees no failure.
      const retire = await rotateOne(id, deps, { trigger: 'zero-downtime-retire' });
      assert.equal(retire.outcome, 'rotated', retire.reason);
      assert.equal(await pg.canLogin('app_a', 'a-password-0'), false, 'the old credential is retired');
      const asBAtRetire = stats.asB;
      await waitFor(() => Promise.resolve(stats.asB >= asBAtRetire + 10 || stats.failed > 0), {
        timeoutMs: 120_000,
        what: '10 more answers after the retirement',
      });
      looping = false;
      await loop;
      t.diagnostic(
        `client loop: ${stats.sent} requests sent, ${stats.asA} answered as app_a, ${stats.asB} as app_b, ${stats.failed} failed${stats.failed ? ` (last: ${stats.lastFailure})` : ''}`,
      );
      assert.equal(stats.failed, 0, `no request failed (last failure: ${stats.lastFailure})`);
      assert.ok(stats.asA > 0, 'the loop ran before the rollout (answers logged in as app_a)');
      assert.ok(stats.asB >= asBAtRetire + 10, 'and after the retirement (answers logged in as app_b)');
    } finally {
      looping = false;
      await loop;
      await sm.close();
      await pg.destroy();
    }
  });
});
