// End to end, every kind of notification Secret Manager sends, through the Pub/Sub emulator and the
// functions framework: what is acked, what is retried, what is acted on, what is only warned about,
// and the outcome message each handled event leaves on the outcome topic.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/controlPlane';
import type { Pipeline, Rig } from './fixture';
import {
  PROJECT_ID,
  PROJECT_NUMBER,
  applied,
  csiDeployment,
  spc,
  deployment,
  offContractLines,
  outcomeFor,
  restartedAt,
  startRig,
  waitForReadyPods,
} from './fixture';

const NS = 'events-app';
const KEY = 'e2e-signing-key';
const KEY_ID = `projects/${PROJECT_ID}/secrets/${KEY}`;

/** This file's CSI consumers: one key file from `secret` at `version`. */
const keySpc = (name: string, secret: string, version: string): string =>
  spc(NS, name, `projects/${PROJECT_ID}/secrets/${secret}/versions/${version}`, 'key');
const keyConsumer = (name: string, spcName: string): string => csiDeployment(NS, name, spcName, 1);

describe('every notification type, end to end', { timeout: 600_000 }, () => {
  let rig: Rig;
  let events: Pipeline;

  before(async () => {
    rig = await startRig({ namespaces: [NS] });
    events = await rig.pipeline('events', { maximumBackoffSeconds: 2 });
    rig.sm.addVersion(KEY);
    rig.sm.addVersion(KEY);
    rig.sm.setAlias(KEY, 'current', '1');
    await rig.apply(
      [
        keySpc('key-v1', KEY, '1'),
        keySpc('key-latest', KEY, 'latest'),
        keySpc('key-current', KEY, 'current'),
      ].join('\n---\n'),
    );
    await rig.apply(
      [
        keyConsumer('signer-pinned', 'key-v1'),
        keyConsumer('signer-latest', 'key-latest'),
        keyConsumer('signer-current', 'key-current'),
      ].join('\n---\n'),
    );
    for (const name of ['signer-pinned', 'signer-latest', 'signer-current'])
      await waitForReadyPods(rig, NS, `app=${name}`, 1);
  });

  after(async () => {
    await rig?.stop();
  });

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
    });
  }

  it('SECRET_UPDATE that moves an alias restarts the alias consumers only', async () => {
    rig.sm.setAlias(KEY, 'current', '2');
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
    await events.server.waitForLog(
      (e) => e.severity === 'WARNING' && e.messageId === id && /was deleted/.test(e.message ?? ''),
      { what: 'a WARNING log for the delete' },
    );
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
      });
      const secret = 'e2e-flaky-secret';
      rig.sm.addVersion(secret);
      await rig.apply(keySpc('flaky', secret, 'latest'));
      await rig.apply(keyConsumer('flaky-consumer', 'flaky'));
      await waitForReadyPods(rig, NS, 'app=flaky-consumer', 1);
      const version = rig.sm.addVersion(secret);
      const id = await flaky.notify({ type: 'SECRET_VERSION_ADD', secret, version });

      const nack = await flaky.relay!.waitForDelivery(id, {
        match: (d) => d.status >= 500,
        what: 'nacked while the cluster is unreachable',
      });
      assert.match(nack.response, /pending/);
      const failed = await rig.waitForOutcome(
        (o) => o.event.messageId === id && !o.converged,
        'an outcome naming the unreachable cluster',
      );
      assert.equal(failed.clusterErrors.length, 1);
      assert.match(failed.clusterErrors[0].error, /API server unreachable/);
      assert.equal(restartedAt(await deployment(rig, NS, 'flaky-consumer')), undefined);

      open = true;
      assert.equal((await flaky.relay!.waitForDelivery(id, { timeoutMs: 60_000 })).status, 204);
      const done = await rig.waitForOutcome(
        (o) => o.event.messageId === id && o.converged,
        'the outcome after the outage',
      );
      assert.equal(done.converged, true);
      await rig.reportOf(id, NS, 'flaky-consumer', 'restarted');
      assert.ok(restartedAt(await deployment(rig, NS, 'flaky-consumer')));
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => forwarder.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('also works when the subscription pushes straight to the function (the framework converts the push body)', async () => {
    const direct = await rig.pipeline('direct', { delivery: 'push' });
    const secret = 'e2e-direct-secret';
    rig.sm.addVersion(secret);
    await rig.apply(keySpc('direct', secret, 'latest'));
    await rig.apply(keyConsumer('direct-consumer', 'direct'));
    await waitForReadyPods(rig, NS, 'app=direct-consumer', 1);
    const version = rig.sm.addVersion(secret);
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
