// End to end on the real node with the real Secrets Store CSI driver (v1.5.4) and GCP provider
// (v1.7.0), rotation on (--rotation-poll-interval=10s), reading the Secret Manager stand-in through
// the CONNECT proxy (test/harness/realCsi.ts): a new version reaches the mounted file through the
// driver's own rotation, the driver records it in the pod's SecretProviderClassPodStatus, and Rotor
// (Pub/Sub emulator → Eventarc relay → functions framework → onSecretEvent) POSTs the app's reload
// endpoint through the API server's pod proxy only then. Checked inside the pods, by hash (no value
// is ever printed): the app answers with the new value, its reload saw the new file, and nothing
// restarted.
//
// The app (busybox httpd, CGI) loads the mounted file when it starts and again on each POST to
// /cgi-bin/reload, and serves the hash of what it loaded (/cgi-bin/served), the hash of the file as
// it is now (/cgi-bin/file?PATH) and the hash each reload loaded (/cgi-bin/reloads).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/controlPlane';
import { CSI_DRIVER } from '../harness/realCsi';
import { podProxyGet, servingContainerScript, sha256Hex } from '../harness/realNode';
import type { Pipeline, RealCsiRig } from './fixture';
import { PROJECT_ID, applied, deployment, replicaSets, restartedAt, startRealCsiRig } from './fixture';

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

function reloadingDeployment(image: string, spcName: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: NS,
      annotations: { 'rotor.dev/reload-endpoint': '8080/cgi-bin/reload' },
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
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

describe('the real Secrets Store CSI driver on the real node, end to end', { timeout: 600_000 }, () => {
  let rig: RealCsiRig;
  let pipeline: Pipeline;

  before(async () => {
    rig = await startRealCsiRig({ namespaces: [NS] });
    pipeline = await rig.pipeline('real-csi');
  });

  after(async () => {
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

  async function readyPods(): Promise<PodView[]> {
    const pods =
      (await rig.get<{ items: PodView[] }>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`))?.items ??
      [];
    return pods.filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
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

  it('a new version: the real driver rewrites the file and records it, then Rotor POSTs the reload endpoint, and the app serves the new value without a restart', async (t) => {
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
    await rig.apply(reloadingDeployment(rig.realNode.images.app, 'api-key', 2));
    const pods = await waitFor(async () => ((await readyPods()).length === 2 ? readyPods() : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: `2 ready web pods\n${rig.diagnostics()}`,
    });
    const names = pods.map((p) => p.metadata.name).sort();
    for (const pod of names) {
      assert.equal(await served(pod, '/cgi-bin/served'), first.hash, `${pod} loaded version 1 at start`);
      assert.equal(await mountedVersion(pod), '1', `the driver recorded version 1 for ${pod}`);
    }
    const uidsBefore = pods.map((p) => p.metadata.uid).sort();

    const second = await addVersion();
    const addedAt = Date.now();
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret: SECRET, version: second.version });

    // Watch each pod's file and pod status while Rotor works (for the measured delays below).
    const fileChangedAt = new Map<string, number>();
    const statusMovedAt = new Map<string, number>();
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
        return fileChangedAt.size === names.length && statusMovedAt.size === names.length;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: `the driver rotating both pods\n${rig.diagnostics()}` },
    );

    const report = await rig.reportOf(id, NS, 'web', 'reloaded', 120_000);
    const reloadedAt = Date.now();
    await watching;
    assert.match(report.reason, /reload/);

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
        `${pod} got exactly one reload, which loaded version ${second.version}`,
      );
      assert.equal(await mountedVersion(pod), second.version);
    }

    // No restart: the same pods, no container restarted, the template untouched.
    const after = await readyPods();
    assert.deepEqual(after.map((p) => p.metadata.uid).sort(), uidsBefore, 'the same pods');
    for (const p of after)
      assert.deepEqual(
        p.status.containerStatuses?.map((c) => c.restartCount),
        [0],
        `${p.metadata.name} never restarted`,
      );
    const web = await deployment(rig, NS, 'web');
    assert.equal(restartedAt(web), undefined, 'reloaded, not restarted');
    assert.equal(applied(web)[`projects/${PROJECT_ID}/secrets/${SECRET}`], second.version);
    assert.equal((await replicaSets(rig, NS, 'web')).length, 1);

    // The provider really read the stand-in through the proxy, with a token from the loopback endpoint.
    assert.ok(rig.csi.stats.tunnels > 0, 'the provider tunnelled to Secret Manager');
    assert.ok(rig.csi.stats.tokens > 0, 'the provider got a token from the key’s token_uri');

    const outcomes = (await rig.outcomes()).filter((o) => o.event.messageId === id);
    const waited = outcomes.some((o) => o.workloads.some((w) => w.name === 'web' && w.result === 'waiting'));
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
    t.diagnostic(
      `rotation (--rotation-poll-interval=${rig.csi.rotationPollInterval}), from AddSecretVersion: file changed ${names
        .map((p) => seconds(fileChangedAt.get(p)! - addedAt))
        .join(', ')}; pod status moved ${names
        .map((p) => seconds(statusMovedAt.get(p)! - addedAt))
        .join(
          ', ',
        )}; Rotor's reload reported after ${seconds(reloadedAt - addedAt)} (${outcomes.length} outcome(s), ${waited ? 'waited for the driver first' : 'the driver was already done'}); proxy refused ${rig.csi.stats.refused.length} dial(s) to ${[...new Set(rig.csi.stats.refused)].join(', ') || 'nothing'}`,
    );
  });
});
