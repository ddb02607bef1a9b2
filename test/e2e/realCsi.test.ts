// End to end on the real node with the real Secrets Store CSI driver (v1.5.4) and GCP provider
// (v1.7.0), rotation on (--rotation-poll-interval=10s), reading the Secret Manager stand-in through
// the CONNECT proxy (test/harness/realCsi.ts): a new version reaches the mounted file through the
// driver's own rotation, the driver records it in the pod's SecretProviderClassPodStatus, and Rotor
// (Pub/Sub emulator → Eventarc relay → functions framework → onSecretEvent) POSTs the app's reload
// endpoint through the API server's pod proxy only then. Checked inside the pods, by hash (no value
// is ever printed): the app answers with the new value, its reload saw the new file, and nothing
// restarted.
//
// The driver cannot be paused, but its rotation can be held back where a real one fails: the
// stand-in refuses the provider's AccessSecretVersion (UNAVAILABLE) until the test lets it through,
// so Rotor's first deliveries deterministically find the old version mounted.
//
// The app (busybox httpd, CGI) loads the mounted file when it starts and again on each POST to
// /cgi-bin/reload, and serves the hash of what it loaded (/cgi-bin/served), the hash of the file as
// it is now (/cgi-bin/file?PATH) and the hash each reload loaded (/cgi-bin/reloads).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { waitFor } from '../harness/controlPlane';
import { postCloudEvent } from '../harness/eventarc';
import { CSI_DRIVER } from '../harness/realCsi';
import { podProxyGet, servingContainerScript, sha256Hex } from '../harness/realNode';
import { RpcError } from '../harness/secretManagerStandIn';
import type { Pipeline, RealCsiRig } from './fixture';
import {
  PROJECT_ID,
  applied,
  deployment,
  outcomeFor,
  replicaSets,
  restartedAt,
  startRealCsiRig,
} from './fixture';

const NS = 'real-csi';
const SECRET = 'real-csi-api-key';
const FILE = 'api-key';
const MOUNT = '/secrets';

interface PodView {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status: {
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ name: string; restartCount: number }>;
  };
}

interface PodStatusView {
  metadata: { name: string };
  status?: { podName?: string; mounted?: boolean; objects?: Array<{ id: string; version: string }> };
}

/** The app: loads the mounted file at start and on POST /cgi-bin/reload; serves hashes only. */
function reloadingApp(): string {
  const header = `printf 'Content-Type: text/plain\\r\\n\\r\\n'`;
  const load = `sha256sum < ${MOUNT}/${FILE} | cut -c1-64 > /tmp/serving.new && mv /tmp/serving.new /tmp/serving`;
  return servingContainerScript(
    [
      'mkdir -p /tmp/www/cgi-bin',
      load,
      `printf '%s\\n' '#!/bin/sh' "${header}" 'cat /tmp/serving' > /tmp/www/cgi-bin/served`,
      `printf '%s\\n' '#!/bin/sh' "${header}" 'cat /tmp/reloads 2>/dev/null' > /tmp/www/cgi-bin/reloads`,
      // A reload: load the file as it is now, record what was loaded, answer with it.
      `printf '%s\\n' '#!/bin/sh' "${header}" '${load}' 'cat /tmp/serving >> /tmp/reloads' 'echo "reloaded: serving $(cat /tmp/serving)" > /proc/1/fd/1' 'cat /tmp/serving' > /tmp/www/cgi-bin/reload`,
    ].join('\n'),
  );
}

/** A Deployment of the app mounting `spcName` with the real driver; `reload` declares the endpoint. */
function appDeployment(
  image: string,
  name: string,
  spcName: string,
  replicas: number,
  reload: boolean,
): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: NS,
      annotations: reload ? { 'rotor.dev/reload-endpoint': '8080/cgi-bin/reload' } : {},
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'app',
              image,
              imagePullPolicy: 'Never',
              command: ['sh', '-c', reloadingApp()],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/cgi-bin/served', port: 8080 }, periodSeconds: 1 },
              volumeMounts: [{ name: 'secrets', mountPath: MOUNT, readOnly: true }],
            },
          ],
          volumes: [
            {
              name: 'secrets',
              csi: { driver: CSI_DRIVER, readOnly: true, volumeAttributes: { secretProviderClass: spcName } },
            },
          ],
        },
      },
    },
  });
}

/**
 * The delivery budget of this file's pipeline. The first delivery spends it waiting for the held
 * driver; the continuation must see, within it, the driver's rotation (a 10 s poll, but one
 * worker whose provider calls each retry UNAVAILABLE for a while: 2.5-32 s after the release) and the
 * worker's new pod become ready. That pod's volume failed to mount for as long as Secret Manager
 * was held back, and the kubelet retries a failed mount with a doubling backoff (0.5 s … 2 min): a
 * hold of 90 s puts its next retry at most 64 s after the release, inside a 90 s continuation
 * (at 60 s it could land a few seconds after it: a third delivery). The push subscription's ack
 * deadline is Terraform's for this budget (timeout + 30 s), so a delivery that spends its budget
 * is never redelivered while it still runs.
 */
const BUDGET_SECONDS = 90;

/** Each delivery of the event: which message, its status, and when it was answered. */
function deliveryTimes(pipeline: Pipeline, id: string, since: number): string {
  return pipeline
    .deliveriesOfEvent(id)
    .map(
      (d) =>
        `${d.messageId === id ? 'notification' : 'continuation'} ${d.status} at ${((d.at - since) / 1000).toFixed(1)} s`,
    )
    .join(', ');
}

describe('the real Secrets Store CSI driver on the real node, end to end', { timeout: 600_000 }, () => {
  let rig: RealCsiRig;
  let pipeline: Pipeline;

  before(async () => {
    rig = await startRealCsiRig({ namespaces: [NS] });
    // As Terraform deploys onSecretEvent (a delivery budget and a continuation topic), with a budget
    // short enough that the test can hold the driver's rotation across one whole delivery.
    pipeline = await rig.pipeline('real-csi', {
      asDeployed: { budgetSeconds: BUDGET_SECONDS, pollSeconds: 1 },
    });
  });

  after(async () => {
    rig?.standIn.before('AccessSecretVersion', undefined);
    await rig?.stop();
  });

  /** Adds a version with a fresh random payload (as `gcloud secrets versions add`); returns its number and hash. */
  async function addVersion(): Promise<{ version: string; hash: string }> {
    const payload = randomBytes(24).toString('hex');
    const [v] = await rig.secretManager.addSecretVersion({
      parent: `projects/${PROJECT_ID}/secrets/${SECRET}`,
      payload: { data: Buffer.from(payload) },
    });
    const version = /\/versions\/(\d+)$/.exec(v.name ?? '')?.[1];
    assert.ok(version, `AddSecretVersion returned ${v.name}`);
    return { version, hash: sha256Hex(payload) };
  }

  async function readyPods(app: string): Promise<PodView[]> {
    const pods =
      (await rig.get<{ items: PodView[] }>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`))
        ?.items ?? [];
    return pods.filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
  }

  async function waitForReady(app: string, count: number): Promise<PodView[]> {
    return waitFor(
      async () => {
        const pods = await readyPods(app);
        return pods.length === count ? pods : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `${count} ready ${app} pod(s)\n${rig.diagnostics()}` },
    );
  }

  async function served(pod: string, path: string): Promise<string> {
    const r = await podProxyGet(rig.cp, NS, pod, 8080, path);
    assert.equal(r.status, 200, `GET ${path} of ${pod}: ${r.status}`);
    return r.body.trim();
  }

  /** The version number the driver recorded for the secret in the pod's SecretProviderClassPodStatus. */
  async function mountedVersion(pod: string): Promise<string | undefined> {
    const list =
      (
        await rig.get<{ items: PodStatusView[] }>(
          `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasspodstatuses`,
        )
      )?.items ?? [];
    const status = list.find((s) => s.status?.podName === pod)?.status;
    const object = status?.objects?.find((o) => o.version.includes(`/secrets/${SECRET}/versions/`));
    return object ? /\/versions\/(\d+)$/.exec(object.version)?.[1] : undefined;
  }

  it('a new version: Rotor waits while the real driver has not rotated, POSTs the reload endpoint once the driver rewrote the file and recorded it, and the app serves the new value without a restart; the consumer without an endpoint restarts once; two deliveries', async (t) => {
    await rig.secretManager.createSecret({
      parent: `projects/${PROJECT_ID}`,
      secretId: SECRET,
      secret: { replication: { automatic: {} } },
    });
    const first = await addVersion();
    assert.equal(first.version, '1');
    await rig.apply(
      rig.csi.secretProviderClass(NS, 'api-key', [
        { resourceName: `projects/${PROJECT_ID}/secrets/${SECRET}/versions/latest`, path: FILE },
      ]),
    );
    const image = rig.realNode.images.app;
    await rig.apply(appDeployment(image, 'web', 'api-key', 2, true));
    // Reads the same file but declared no reload endpoint: restarted.
    await rig.apply(appDeployment(image, 'worker', 'api-key', 1, false));
    const webPods = await waitForReady('web', 2);
    const [workerBefore] = await waitForReady('worker', 1);
    const names = webPods.map((p) => p.metadata.name).sort();
    for (const pod of [...names, workerBefore.metadata.name]) {
      assert.equal(await served(pod, '/cgi-bin/served'), first.hash, `${pod} loaded version 1 at start`);
      assert.equal(await mountedVersion(pod), '1', `the driver recorded version 1 for ${pod}`);
    }
    const uidsBefore = webPods.map((p) => p.metadata.uid).sort();

    // Secret Manager refuses the provider from now on: the driver's rotation cannot happen.
    rig.standIn.before('AccessSecretVersion', () =>
      Promise.reject(new RpcError(grpc.status.UNAVAILABLE, 'held back by the test')),
    );
    const second = await addVersion();
    const notifiedAt = Date.now();
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret: SECRET, version: second.version });
    const waiting = await rig.waitForOutcome(
      (o) => o.event.messageId === id && outcomeFor(o, NS, 'web')?.result === 'waiting',
      'web waiting',
    );
    assert.match(
      outcomeFor(waiting, NS, 'web')!.reason,
      /reload waits: the CSI driver has not mounted version 2 of SecretProviderClass real-csi\/api-key in 2 pod\(s\)/,
    );
    assert.equal(outcomeFor(waiting, NS, 'worker')?.result, 'restarted', 'what was ready was done at once');
    const workerRestart = restartedAt(await deployment(rig, NS, 'worker'));
    assert.ok(workerRestart);
    // The first delivery restarted the worker (progress), waited its whole budget for the driver,
    // then continued the event and was acked: no reload while the driver cannot rotate.
    const continued = await pipeline.relay!.waitForDelivery(id, {
      timeoutMs: (BUDGET_SECONDS + 30) * 1000,
      what: 'acked after its budget, the event continued',
    });
    assert.equal(continued.status, 204);
    for (const pod of names) {
      assert.equal(await served(pod, '/cgi-bin/reloads'), '', `no reload POST reached ${pod} yet`);
      assert.equal(
        await served(pod, `/cgi-bin/file?${MOUNT}/${FILE}`),
        first.hash,
        `${pod}'s file is unchanged`,
      );
      assert.equal(await mountedVersion(pod), '1');
    }

    // Secret Manager answers again: the driver's next poll rotates the files.
    rig.standIn.before('AccessSecretVersion', undefined);
    const releasedAt = Date.now();
    const fileChangedAt = new Map<string, number>();
    const statusMovedAt = new Map<string, number>();
    // The worker's new pod mounts the volume only once Secret Manager answers (the kubelet's retry).
    let workerReadyAt: number | undefined;
    const watching = waitFor(
      async () => {
        for (const pod of names) {
          if (
            !fileChangedAt.has(pod) &&
            (await served(pod, `/cgi-bin/file?${MOUNT}/${FILE}`)) === second.hash
          )
            fileChangedAt.set(pod, Date.now());
          if (!statusMovedAt.has(pod) && (await mountedVersion(pod)) === second.version)
            statusMovedAt.set(pod, Date.now());
        }
        if (
          workerReadyAt === undefined &&
          (await readyPods('worker')).some((p) => p.metadata.uid !== workerBefore.metadata.uid)
        )
          workerReadyAt = Date.now();
        return (
          fileChangedAt.size === names.length &&
          statusMovedAt.size === names.length &&
          workerReadyAt !== undefined
        );
      },
      { timeoutMs: 120_000, intervalMs: 200, what: `the driver rotating both pods\n${rig.diagnostics()}` },
    );
    await rig.reportOf(id, NS, 'web', 'reloaded', 120_000);
    const convergedAt = Date.now();
    await watching;
    await rig.reportOf(id, NS, 'worker', 'restarted');

    for (const pod of names) {
      // The app answers with the new value…
      assert.equal(
        await served(pod, '/cgi-bin/served'),
        second.hash,
        `${pod} serves version ${second.version}`,
      );
      // …because the one POST it got found the new file: it arrived after the driver changed it.
      assert.deepEqual(
        (await served(pod, '/cgi-bin/reloads')).split('\n'),
        [second.hash],
        `${pod} got exactly one reload, which loaded version ${second.version}; deliveries: ${deliveryTimes(pipeline, id, notifiedAt)}`,
      );
      assert.equal(await mountedVersion(pod), second.version);
    }
    // No restart of web: the same pods, no container restarted, the template untouched.
    const webAfter = await readyPods('web');
    assert.deepEqual(webAfter.map((p) => p.metadata.uid).sort(), uidsBefore, 'the same web pods');
    for (const p of webAfter)
      assert.deepEqual(
        p.status.containerStatuses?.map((c) => c.restartCount),
        [0],
        `${p.metadata.name} never restarted`,
      );
    const web = await deployment(rig, NS, 'web');
    assert.equal(restartedAt(web), undefined, 'web was reloaded, not restarted');
    assert.equal(applied(web)[`projects/${PROJECT_ID}/secrets/${SECRET}`], second.version);
    assert.equal((await replicaSets(rig, NS, 'web')).length, 1);
    // The worker: restarted once, and its new pod mounted and loaded the new version.
    assert.equal(restartedAt(await deployment(rig, NS, 'worker')), workerRestart, 'worker restarted once');
    assert.equal((await replicaSets(rig, NS, 'worker')).length, 2);
    const [workerAfter] = await waitForReady('worker', 1);
    assert.notEqual(workerAfter.metadata.uid, workerBefore.metadata.uid, 'a new worker pod');
    assert.equal(await served(workerAfter.metadata.name, '/cgi-bin/served'), second.hash);

    // A duplicate delivery after it all converged: no second POST, no restart.
    const dup = await postCloudEvent(pipeline.server.url, pipeline.lastPushBody(id)!, pipeline.topic);
    assert.equal(dup.status, 204, dup.body);
    const dupOutcome = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged && outcomeFor(o, NS, 'web')?.result === 'unchanged',
      "the duplicate's outcome",
    );
    assert.match(outcomeFor(dupOutcome, NS, 'web')!.reason, /already applied/);
    for (const pod of names) assert.equal((await served(pod, '/cgi-bin/reloads')).split('\n').length, 1);
    assert.equal(restartedAt(await deployment(rig, NS, 'web')), undefined);

    // By design two deliveries: the one whose budget ran out while the driver was held (restart,
    // then continued), and the continuation, which saw the rotation within its budget and reloaded.
    assert.deepEqual(
      pipeline.deliveriesOfEvent(id).map((d) => d.status),
      [204, 204],
      `deliveries, answered at (s from the notification): ${deliveryTimes(pipeline, id, notifiedAt)}`,
    );

    // The provider really read the stand-in through the proxy, with a token from the loopback endpoint.
    assert.ok(rig.csi.stats.tunnels > 0, 'the provider tunnelled to Secret Manager');
    assert.ok(rig.csi.stats.tokens > 0, "the provider got a token from the key's token_uri");

    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
    t.diagnostic(
      `rotation (--rotation-poll-interval=${rig.csi.rotationPollInterval}), from Secret Manager answering again: file changed after ${names
        .map((p) => seconds(fileChangedAt.get(p)! - releasedAt))
        .join(', ')}; pod status moved after ${names
        .map((p) => seconds(statusMovedAt.get(p)! - releasedAt))
        .join(
          ', ',
        )}; the worker's new pod ready after ${seconds(workerReadyAt! - releasedAt)}; the event converged (reload reported) after ${seconds(convergedAt - releasedAt)}, in ${pipeline.deliveriesOfEvent(id).length} deliveries; the proxy refused ${rig.csi.stats.refused.length} dial(s) to ${[...new Set(rig.csi.stats.refused)].join(', ') || 'nothing'}`,
    );
  });
});
