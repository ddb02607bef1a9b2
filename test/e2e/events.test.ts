// End to end, every kind of notification Secret Manager sends, through the Pub/Sub emulator and the
// functions framework: what is acked, what is retried, what is acted on, what is only warned about,
// and the outcome message each handled event leaves on the outcome topic.
//
// The consumers run on the real node (test/harness/realNode.ts) and mount their key with the real
// Secrets Store CSI driver and GCP provider (test/harness/realCsi.ts), which read the Secret Manager
// stand-in. Each app copies the mounted key when it starts and serves the hash of that copy (never
// the value), so a test reads inside the pod which version the running process holds: a restart
// shows as a new pod serving the new version, "nothing restarted" as the same pods serving the old.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/controlPlane';
import { CSI_DRIVER } from '../harness/realCsi';
import { podProxyGet, servingContainerScript, sha256Hex } from '../harness/realNode';
import type { Pipeline, RealCsiRig } from './fixture';
import {
  PROJECT_ID,
  PROJECT_NUMBER,
  applied,
  deployment,
  offContractLines,
  outcomeFor,
  restartedAt,
  startRealCsiRig,
} from './fixture';

const NS = 'events-app';
const KEY = 'e2e-signing-key';
const KEY_ID = `projects/${PROJECT_ID}/secrets/${KEY}`;
const SIGNERS = ['signer-pinned', 'signer-latest', 'signer-current'] as const;
/** Where the app keeps the copy of the key it loaded at start. */
const LOADED = '/tmp/loaded';

interface PodView {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status: { conditions?: Array<{ type: string; status: string }> };
}

/** A pod and what its process serves: the hash of the key it loaded at start. */
interface Served {
  readonly pod: string;
  readonly uid: string;
  readonly hash: string;
}

/** A consumer: one replica of the app, mounting `spcName` (the key as file `key`) with the real driver. */
function keyConsumer(image: string, name: string, spcName: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
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
              command: ['sh', '-c', servingContainerScript(`cp /secrets/key ${LOADED}`)],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: `/cgi-bin/file?${LOADED}`, port: 8080 }, periodSeconds: 1 },
              volumeMounts: [{ name: 'secrets', mountPath: '/secrets', readOnly: true }],
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

describe('every notification type, end to end', { timeout: 600_000 }, () => {
  let rig: RealCsiRig;
  let events: Pipeline;
  /** The hash of each version's payload, by `secret/version`. */
  const hashes = new Map<string, string>();
  /** The pod each signer had after setting up, and the hash it served then. */
  const initial = new Map<string, Served>();

  before(async () => {
    rig = await startRealCsiRig({ namespaces: [NS] });
    // As Terraform deploys onSecretEvent (a delivery budget and a continuation topic), with a short
    // backoff for speed: each case below pins how many deliveries its event used.
    events = await rig.pipeline('events', {
      maximumBackoffSeconds: 2,
      asDeployed: { budgetSeconds: 60, pollSeconds: 1 },
    });
    await createSecret(KEY);
    assert.equal(await addVersion(KEY), '1');
    assert.equal(await addVersion(KEY), '2');
    await rig.secretManager.updateSecret({
      secret: { name: KEY_ID, versionAliases: { current: 1 } },
      updateMask: { paths: ['version_aliases'] },
    });
    await rig.apply(
      [
        keySpc('key-v1', KEY, '1'),
        keySpc('key-latest', KEY, 'latest'),
        keySpc('key-current', KEY, 'current'),
      ].join('\n---\n'),
    );
    const image = rig.realNode.images.app;
    await rig.apply(
      [
        keyConsumer(image, 'signer-pinned', 'key-v1'),
        keyConsumer(image, 'signer-latest', 'key-latest'),
        keyConsumer(image, 'signer-current', 'key-current'),
      ].join('\n---\n'),
    );
    for (const name of SIGNERS) initial.set(name, await served(name));
    // Inside the pods: each process loaded the version its SecretProviderClass names.
    assert.equal(initial.get('signer-pinned')!.hash, hashOf(KEY, '1'), 'signer-pinned loaded version 1');
    assert.equal(initial.get('signer-latest')!.hash, hashOf(KEY, '2'), 'signer-latest loaded version 2');
    assert.equal(initial.get('signer-current')!.hash, hashOf(KEY, '1'), 'signer-current loaded version 1');
  });

  after(async () => {
    await rig?.stop();
  });

  /** This file's SecretProviderClasses: one key file from `secret` at `version`. */
  function keySpc(name: string, secret: string, version: string): string {
    return rig.csi.secretProviderClass(NS, name, [
      { resourceName: `projects/${PROJECT_ID}/secrets/${secret}/versions/${version}`, path: 'key' },
    ]);
  }

  /** Creates `secret` in Secret Manager (the stand-in the provider reads), as `gcloud secrets create`. */
  async function createSecret(secret: string): Promise<void> {
    await rig.secretManager.createSecret({
      parent: `projects/${PROJECT_ID}`,
      secretId: secret,
      secret: { replication: { automatic: {} } },
    });
  }

  /** Adds a version of `secret` with a fresh random payload; returns its number, keeping its hash. */
  async function addVersion(secret: string): Promise<string> {
    const payload = randomBytes(24).toString('hex');
    const [v] = await rig.secretManager.addSecretVersion({
      parent: `projects/${PROJECT_ID}/secrets/${secret}`,
      payload: { data: Buffer.from(payload) },
    });
    const version = /\/versions\/(\d+)$/.exec(v.name ?? '')?.[1];
    assert.ok(version, `AddSecretVersion returned ${v.name}`);
    hashes.set(`${secret}/${version}`, sha256Hex(payload));
    return version;
  }

  function hashOf(secret: string, version: string): string {
    const hash = hashes.get(`${secret}/${version}`);
    assert.ok(hash, `no version ${version} of ${secret} was added`);
    return hash;
  }

  /**
   * The statuses of every delivery of event `id` (its notification's and its continuations'), once
   * the notification's delivery is acked. Asked at the end of a case: a continuation is published
   * before the delivery that continues is acked, so by then it has been delivered too.
   */
  async function deliveriesOf(p: Pipeline, id: string): Promise<number[]> {
    await p.relay!.waitForDelivery(id, { timeoutMs: 120_000 });
    return p.deliveriesOfEvent(id).map((d) => d.status);
  }

  /**
   * The one ready pod of `app` and what it serves: the hash of the key its process loaded at start.
   * With `unlike`, waits for a pod other than that one (the pod a restart rolled out).
   */
  async function served(app: string, unlike?: string): Promise<Served> {
    return waitFor(
      async () => {
        const pods =
          (await rig.get<{ items: PodView[] }>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`))
            ?.items ?? [];
        const ready = pods.filter(
          (p) =>
            !p.metadata.deletionTimestamp &&
            p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        if (ready.length !== 1 || ready[0].metadata.uid === unlike) return undefined;
        const { name, uid } = ready[0].metadata;
        const r = await podProxyGet(rig.cp, NS, name, 8080, `/cgi-bin/file?${LOADED}`);
        return r.status === 200 ? { pod: name, uid, hash: r.body.trim() } : undefined;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: () => `one ready ${app} pod${unlike ? ` other than ${unlike}` : ''}\n${rig.diagnostics()}`,
      },
    );
  }

  it('acks a poison message exactly once, with an ERROR log, and never retries it', async () => {
    const from = events.server.entries().length;
    const poison = await events.publishRaw({
      data: 'this is not JSON',
      attributes: {
        eventType: 'SECRET_VERSION_ADD',
        secretId: `projects/${PROJECT_NUMBER}/secrets/${KEY}`,
        versionId: `projects/${PROJECT_NUMBER}/secrets/${KEY}/versions/3`,
        dataFormat: 'JSON_API_V1',
      },
    });
    const bogus = await events.publishRaw({
      attributes: { eventType: 'SECRET_TELEPORTED', secretId: `projects/${PROJECT_NUMBER}/secrets/${KEY}` },
    });
    for (const id of [poison, bogus]) {
      const d = await events.relay!.waitForDelivery(id);
      assert.equal(d.status, 204, 'acked');
    }
    const error = await events.server.waitForLog((e) => e.severity === 'ERROR' && e.messageId === poison, {
      from,
      what: 'an ERROR for the poison message',
    });
    assert.match(error.message ?? '', /malformed notification acked: message.data is not base64 of JSON/);
    const error2 = await events.server.waitForLog((e) => e.severity === 'ERROR' && e.messageId === bogus, {
      from,
      what: 'an ERROR for the unknown event type',
    });
    assert.match(error2.message ?? '', /"SECRET_TELEPORTED" is not a Secret Manager event type/);

    // "Never redelivered" needs a proof that does not depend on how long we wait (a fixed window
    // passes vacuously when a slow machine stretches the emulator's schedule). A probe on the same
    // subscription, published after both were answered, is nacked once by the relay: Pub/Sub
    // redelivers a nacked message after the subscription's backoff, counted from its nack, and a
    // first redelivery has the same backoff for every message. Had the poison or the bogus message
    // been nacked, their redelivery was due no later than the probe's, so once the probe has come
    // back and been acked, the emulator's own clock has passed the point where theirs would show.
    const probeId = `probe-${Date.now()}`;
    events.relay!.nackNext((push) => push.message.attributes?.rotorTestProbe === probeId);
    const probe = await events.publishRaw({
      attributes: { eventType: 'TOPIC_CONFIGURED', rotorTestProbe: probeId },
    });
    const redelivered = await events.relay!.waitForDelivery(probe, {
      what: 'acked on redelivery after the relay nacked it',
    });
    assert.deepEqual(
      events.relay!.deliveriesOf(probe).map((d) => `${d.status}${d.injected ? ' (relay)' : ''}`),
      ['503 (relay)', '204'],
      'the probe was nacked once, then redelivered and acked',
    );
    assert.ok(
      redelivered.at > Math.max(...[poison, bogus].map((id) => events.relay!.deliveriesOf(id)[0].at)),
    );
    assert.equal(events.relay!.deliveriesOf(poison).length, 1, 'the poison message was delivered once');
    assert.equal(events.relay!.deliveriesOf(bogus).length, 1, 'the unknown event type was delivered once');
  });

  it('acks TOPIC_CONFIGURED and records it on the outcome topic', async () => {
    const id = await events.notify({ type: 'TOPIC_CONFIGURED' });
    assert.equal((await events.relay!.waitForDelivery(id)).status, 204);
    const outcome = await rig.waitForOutcome((o) => o.event.messageId === id, 'the TOPIC_CONFIGURED outcome');
    assert.equal(outcome.event.type, 'TOPIC_CONFIGURED');
    assert.equal(outcome.converged, true);
    assert.deepEqual(outcome.workloads, []);
    assert.match(outcome.note ?? '', /topic is wired to Secret Manager/);
    await events.server.waitForLog(
      (e) => e.severity === 'INFO' && e.messageId === id && /TOPIC_CONFIGURED/.test(e.message ?? ''),
      { what: 'an INFO log' },
    );
    // By design one delivery: nothing to reconcile.
    assert.deepEqual(await deliveriesOf(events, id), [204]);
  });

  for (const [type, verb] of [
    ['SECRET_VERSION_DISABLE', 'disabled'],
    ['SECRET_VERSION_DESTROY', 'destroyed'],
  ] as const) {
    it(`${type} of a version a workload pins: a loud warning in the log and the outcome, no action`, async () => {
      const before = await Promise.all(
        ['signer-pinned', 'signer-latest', 'signer-current'].map(async (n) =>
          restartedAt(await deployment(rig, NS, n)),
        ),
      );
      const id = await events.notify({
        type,
        secret: KEY,
        version: '1',
        data: {
          name: `projects/${PROJECT_NUMBER}/secrets/${KEY}/versions/1`,
          state: type === 'SECRET_VERSION_DISABLE' ? 'DISABLED' : 'DESTROYED',
        },
      });
      assert.equal((await events.relay!.waitForDelivery(id)).status, 204);
      const outcome = await rig.waitForOutcome((o) => o.event.messageId === id, `the ${type} outcome`);
      assert.equal(outcome.event.type, type);
      assert.equal(outcome.event.secret, KEY_ID);
      assert.equal(outcome.event.version, '1');
      const pinned = outcomeFor(outcome, NS, 'signer-pinned');
      assert.equal(pinned?.action, 'none');
      assert.equal(pinned.result, 'unchanged');
      assert.match(
        pinned.warning ?? '',
        new RegExp(
          `version 1 of ${KEY_ID} was ${verb} but CSI file key in app still pins it: pods will fail`,
        ),
      );
      assert.ok(
        outcome.warnings.some((w) =>
          w.startsWith(`Deployment ${NS}/signer-pinned: version 1 of ${KEY_ID} was ${verb}`),
        ),
        JSON.stringify(outcome.warnings),
      );
      const warning = await events.server.waitForLog(
        (e) =>
          e.severity === 'WARNING' &&
          e.messageId === id &&
          /signer-pinned/.test(e.message ?? '') &&
          /still pins it/.test(e.message ?? ''),
        { what: `a WARNING log for ${type}` },
      );
      assert.ok(warning);
      const after = await Promise.all(
        ['signer-pinned', 'signer-latest', 'signer-current'].map(async (n) =>
          restartedAt(await deployment(rig, NS, n)),
        ),
      );
      assert.deepEqual(after, before, 'nothing restarted');
      for (const name of SIGNERS)
        assert.deepEqual(
          await served(name),
          initial.get(name),
          `${name}: the same pod, serving what it loaded`,
        );
      // By design one delivery: a warning, nothing to wait for.
      assert.deepEqual(await deliveriesOf(events, id), [204]);
    });
  }

  it('SECRET_UPDATE that moves an alias restarts the alias consumers only', async () => {
    await rig.secretManager.updateSecret({
      secret: { name: KEY_ID, versionAliases: { current: 2 } },
      updateMask: { paths: ['version_aliases'] },
    });
    const id = await events.notify({
      type: 'SECRET_UPDATE',
      secret: KEY,
      data: {
        name: `projects/${PROJECT_NUMBER}/secrets/${KEY}`,
        versionAliases: { current: '2' },
        etag: '"abc"',
      },
    });
    assert.equal((await events.relay!.waitForDelivery(id, { timeoutMs: 60_000 })).status, 204);
    const outcome = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged,
      'the SECRET_UPDATE outcome',
    );
    const current = await rig.reportOf(id, NS, 'signer-current', 'restarted');
    assert.match(
      current.reason,
      /CSI file key in app updates in place, but the app declared no rotor.dev\/reload-endpoint/,
    );
    assert.equal(outcomeFor(outcome, NS, 'signer-latest')?.result, 'unchanged');
    assert.match(outcomeFor(outcome, NS, 'signer-latest')!.reason, /moves no alias this workload reads/);
    assert.equal(outcomeFor(outcome, NS, 'signer-pinned')?.result, 'unchanged');
    const d = await deployment(rig, NS, 'signer-current');
    assert.ok(restartedAt(d));
    // The alias move is recorded with the event's time (a later, older update is then stale).
    assert.match(applied(d)[`${KEY_ID}@current`] ?? '', /^2@\d{4}-\d\d-\d\dT[0-9:.]+Z$/);
    assert.equal(restartedAt(await deployment(rig, NS, 'signer-latest')), undefined);
    // Inside the pods: a new signer-current pod loaded version 2; the others are the pods they were.
    const restarted = await served('signer-current', initial.get('signer-current')!.uid);
    assert.equal(restarted.hash, hashOf(KEY, '2'), 'the restarted signer-current loaded version 2');
    for (const name of ['signer-pinned', 'signer-latest'])
      assert.deepEqual(await served(name), initial.get(name), `${name} was not restarted`);
    initial.set('signer-current', restarted);
    // By design one delivery: the restart and the wait for its rollout happen inside it.
    assert.deepEqual(await deliveriesOf(events, id), [204]);
  });

  it('SECRET_DELETE: every dependent is warned about, loudly, nothing is restarted', async () => {
    const id = await events.notify({
      type: 'SECRET_DELETE',
      secret: KEY,
      data: { name: `projects/${PROJECT_NUMBER}/secrets/${KEY}` },
    });
    assert.equal((await events.relay!.waitForDelivery(id)).status, 204);
    const outcome = await rig.waitForOutcome((o) => o.event.messageId === id, 'the SECRET_DELETE outcome');
    for (const name of ['signer-pinned', 'signer-latest', 'signer-current']) {
      const w = outcomeFor(outcome, NS, name);
      assert.equal(w?.result, 'unchanged', name);
      assert.match(w.warning ?? '', new RegExp(`${KEY_ID} was deleted but .* still reads it`));
    }
    assert.equal(outcome.warnings.length, 3);
    for (const name of SIGNERS)
      assert.deepEqual(await served(name), initial.get(name), `${name} was not restarted`);
    await events.server.waitForLog(
      (e) => e.severity === 'WARNING' && e.messageId === id && /was deleted/.test(e.message ?? ''),
      { what: 'a WARNING log for the delete' },
    );
    // By design one delivery: warnings only.
    assert.deepEqual(await deliveriesOf(events, id), [204]);
  });

  it('SECRET_ROTATE is left to the rotation function: acked, recorded, no workload touched', async () => {
    const before = restartedAt(await deployment(rig, NS, 'signer-latest'));
    const id = await events.notify({
      type: 'SECRET_ROTATE',
      secret: KEY,
      data: { name: `projects/${PROJECT_NUMBER}/secrets/${KEY}`, rotation: { rotationPeriod: '2592000s' } },
    });
    assert.equal((await events.relay!.waitForDelivery(id)).status, 204);
    const outcome = await rig.waitForOutcome((o) => o.event.messageId === id, 'the SECRET_ROTATE outcome');
    assert.equal(outcome.event.secret, KEY_ID);
    assert.deepEqual(outcome.workloads, []);
    assert.match(outcome.note ?? '', /handled by rotateSecret/);
    assert.equal(restartedAt(await deployment(rig, NS, 'signer-latest')), before);
    for (const name of SIGNERS)
      assert.deepEqual(await served(name), initial.get(name), `${name} was not restarted`);
    // By design one delivery: left to rotateSecret.
    assert.deepEqual(await deliveriesOf(events, id), [204]);
  });

  it('retries a transient failure (the API server unreachable) until it succeeds, then acks', async () => {
    // The function reaches the API server through a forwarder that starts out cutting every
    // connection: a network outage between the function and the cluster.
    let open = false;
    const sockets = new Set<Socket>();
    const forwarder = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      if (!open) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(new URL(rig.cp.server).port), '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', () => r()));
    const dir = mkdtempSync(join(tmpdir(), 'rotor-e2e-kc-'));
    try {
      const kubeconfig = join(dir, 'rotor.kubeconfig');
      const port = (forwarder.address() as AddressInfo).port;
      writeFileSync(
        kubeconfig,
        readFileSync(rig.cp.kubeconfigPathFor('rotor'), 'utf8').replace(
          rig.cp.server,
          `https://127.0.0.1:${port}`,
        ),
      );
      const flaky = await rig.pipeline('flaky', {
        env: { ROTOR_CLUSTERS: `kubeconfig:${kubeconfig}` },
        maximumBackoffSeconds: 2,
        asDeployed: { budgetSeconds: 60, pollSeconds: 1 },
      });
      const secret = 'e2e-flaky-secret';
      await createSecret(secret);
      const first = await addVersion(secret);
      await rig.apply(keySpc('flaky', secret, 'latest'));
      await rig.apply(keyConsumer(rig.realNode.images.app, 'flaky-consumer', 'flaky'));
      const old = await served('flaky-consumer');
      assert.equal(old.hash, hashOf(secret, first), 'flaky-consumer loaded version 1');
      const version = await addVersion(secret);
      const id = await flaky.notify({ type: 'SECRET_VERSION_ADD', secret, version });

      const failed = await rig.waitForOutcome(
        (o) => o.event.messageId === id && !o.converged,
        'an outcome naming the unreachable cluster',
      );
      assert.equal(failed.clusterErrors.length, 1);
      assert.match(failed.clusterErrors[0].error, /API server unreachable/);
      assert.equal(restartedAt(await deployment(rig, NS, 'flaky-consumer')), undefined);
      assert.deepEqual(await served('flaky-consumer'), old, 'not restarted while the cluster is unreachable');

      open = true;
      assert.equal((await flaky.relay!.waitForDelivery(id, { timeoutMs: 60_000 })).status, 204);
      const done = await rig.waitForOutcome(
        (o) => o.event.messageId === id && o.converged,
        'the outcome after the outage',
      );
      assert.equal(done.converged, true);
      await rig.reportOf(id, NS, 'flaky-consumer', 'restarted');
      assert.ok(restartedAt(await deployment(rig, NS, 'flaky-consumer')));
      const restarted = await served('flaky-consumer', old.uid);
      assert.equal(restarted.hash, hashOf(secret, version), `the new pod loaded version ${version}`);
      // By design one delivery: its first pass reported the unreachable cluster, and it kept polling
      // inside its 60 s budget; the test opened the way well within it (its checks above take
      // seconds), so the same delivery reached the cluster, restarted and waited for the rollout.
      assert.deepEqual(await deliveriesOf(flaky, id), [204]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => forwarder.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('also works when the subscription pushes straight to the function (the framework converts the push body)', async () => {
    const direct = await rig.pipeline('direct', { delivery: 'push' });
    const secret = 'e2e-direct-secret';
    await createSecret(secret);
    const first = await addVersion(secret);
    await rig.apply(keySpc('direct', secret, 'latest'));
    await rig.apply(keyConsumer(rig.realNode.images.app, 'direct-consumer', 'direct'));
    const old = await served('direct-consumer');
    assert.equal(old.hash, hashOf(secret, first), 'direct-consumer loaded version 1');
    const version = await addVersion(secret);
    const id = await direct.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    const outcome = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged,
      'the outcome of the directly pushed event',
    );
    assert.equal(outcome.event.version, version);
    await rig.reportOf(id, NS, 'direct-consumer', 'restarted');
    await waitFor(async () => restartedAt(await deployment(rig, NS, 'direct-consumer')), {
      what: 'direct-consumer restarted',
    });
    const restarted = await served('direct-consumer', old.uid);
    assert.equal(restarted.hash, hashOf(secret, version), `the new pod loaded version ${version}`);
    // Secret Manager's test message has no data, which the framework's conversion skips: the raw
    // push body reaches the function and is still understood.
    const marker = await direct.notify({ type: 'TOPIC_CONFIGURED' });
    const configured = await rig.waitForOutcome(
      (o) => o.event.messageId === marker,
      'the directly pushed TOPIC_CONFIGURED outcome',
    );
    assert.equal(configured.event.type, 'TOPIC_CONFIGURED');
    // Every event handled in this file left exactly one outcome per delivery on the outcome topic.
    const all = await rig.outcomes();
    assert.ok(all.length >= 8, `outcomes: ${all.length}`);
    for (const o of all)
      assert.ok(o.event.type && Array.isArray(o.workloads) && typeof o.converged === 'boolean');
    for (const p of [events, direct])
      assert.deepEqual(offContractLines(p.server).slice(0, 5), [], 'structured logs only');
  });
});
