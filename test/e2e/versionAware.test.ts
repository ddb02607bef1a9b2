// End to end, on real components: Secret Manager's notification → Pub/Sub emulator → push →
// Eventarc-style CloudEvent → functions-framework running onSecretEvent → local control plane.
// The point of these tests is timing: Rotor must act only once the new version is where the pods
// will read it, wait for it inside the delivery until then (as deployed: a delivery budget and a
// continuation topic), never redo finished work, and give up (saying what never converged) after
// its bounded wait. Each case pins how many deliveries it used, written from the design, so a
// change that needs more deliveries fails here. The CSI case (reload only once the
// driver's pod status shows the new version) runs against the real driver and node in
// test/e2e/realCsi.test.ts.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { postCloudEvent } from '../harness/eventarc';
import { waitFor } from '../harness/controlPlane';
import type { Pipeline, Rig } from './fixture';
import {
  PROJECT_ID,
  applied,
  envDeployment,
  deployment,
  offContractLines,
  outcomeFor,
  replicaSets,
  restartedAt,
  startRig,
  waitForEsoSynced,
  waitForReadyPods,
} from './fixture';

const STORE = `
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: gcp}
spec: {provider: {gcpsm: {projectID: rotor-demo}}}
`;

function externalSecret(ns: string, name: string, target: string, key: string, secret: string): string {
  return `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: ${name}, namespace: ${ns}}
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: gcp}
  target: {name: ${target}}
  data:
    - secretKey: ${key}
      remoteRef: {key: ${secret}}
`;
}

describe('version-aware actions, end to end', { timeout: 600_000 }, () => {
  let rig: Rig;
  let pipeline: Pipeline;

  before(async () => {
    rig = await startRig({ namespaces: ['eso-app', 'stuck-app'] });
    // As deployed (a delivery budget, continuations on its own topic), with a short poll for speed.
    pipeline = await rig.pipeline('main', { asDeployed: { budgetSeconds: 60, pollSeconds: 1 } });
    await rig.apply(STORE);
  });

  after(async () => {
    await rig?.stop();
  });

  // A failed test must not leave ESO paused for the next one.
  afterEach(() => {
    rig?.eso.resume();
  });

  it('restarts an env consumer of an ESO-synced Secret exactly once, only after the forced sync wrote the new value', async () => {
    const ns = 'eso-app';
    const secret = 'e2e-db-password';
    rig.sm.addVersion(secret);
    await rig.apply(externalSecret(ns, 'db', 'db-credentials', 'DB_PASSWORD', secret));
    await waitForEsoSynced(rig, ns, 'db');
    await rig.apply(envDeployment(ns, 'api', 'db-credentials', 'DB_PASSWORD'));
    await waitForReadyPods(rig, ns, 'app=api', 1);
    assert.equal((await replicaSets(rig, ns, 'api')).length, 1);

    // ESO is slow this time: the new version is in Secret Manager, not yet in the Kubernetes Secret.
    rig.eso.pause();
    const version = rig.sm.addVersion(secret);
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });

    // The delivery's first pass: Rotor forces a sync, does not restart into the old value, reports
    // that it waits, and keeps waiting inside the delivery (watching the ExternalSecret).
    const waiting = await rig.waitForOutcome(
      (o) => o.event.messageId === id && outcomeFor(o, ns, 'api')?.result === 'waiting',
      'a waiting outcome for api',
    );
    assert.equal(waiting.converged, false);
    assert.match(
      outcomeFor(waiting, ns, 'api')!.reason,
      /restart waits: ExternalSecret eso-app\/db last synced at .*(before the event|within the event's second)/,
    );
    assert.match(outcomeFor(waiting, ns, 'api')!.detail ?? '', /forced a sync of ExternalSecret eso-app\/db/);
    const es = await rig.get<{ metadata: { annotations?: Record<string, string> } }>(
      `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets/db`,
    );
    const forcedAt = es?.metadata.annotations?.['force-sync'];
    assert.ok(forcedAt, 'Rotor annotated the ExternalSecret with force-sync');
    assert.equal(
      restartedAt(await deployment(rig, ns, 'api')),
      undefined,
      'no restart while the Secret still holds the old value',
    );

    // ESO catches up (it was asked to); the same delivery sees it and restarts.
    rig.eso.resume();
    const ack = await pipeline.relay!.waitForDelivery(id, { timeoutMs: 90_000 });
    const sync = rig.eso.syncs.find(
      (s) => s.namespace === ns && s.name === 'db' && s.versions[secret] === version,
    );
    assert.ok(sync, `the simulated ESO synced version ${version}`);
    assert.equal(sync.trigger, 'annotations', 'the sync was forced, not periodic');
    assert.ok(sync.forceSync, 'the sync ran for a force-sync annotation');
    assert.ok(Date.parse(sync.forceSync) >= Date.parse(forcedAt), "the sync answered Rotor's force-sync");

    const d = await deployment(rig, ns, 'api');
    const at = restartedAt(d);
    assert.ok(at, 'api was restarted');
    assert.ok(
      Date.parse(at) > sync.secretWrittenAt,
      `restart (${at}) after the Secret held version ${version} (${new Date(sync.secretWrittenAt).toISOString()})`,
    );
    assert.equal(applied(d)[`projects/${PROJECT_ID}/secrets/${secret}`], version, JSON.stringify(applied(d)));
    const rs = await waitFor(
      async () => {
        const list = await replicaSets(rig, ns, 'api');
        return list.length === 2 ? list : undefined;
      },
      { what: 'a second ReplicaSet for api' },
    );
    assert.equal(rs[1].spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'], at);
    assert.ok(
      rs[1].metadata.creationTimestamp >= sync.refreshTime,
      'the new ReplicaSet appeared after the ExternalSecret refresh',
    );

    const api = await rig.reportOf(id, ns, 'api', 'restarted');
    assert.match(api.reason, /env DB_PASSWORD .*only changes when the pod restarts/);
    assert.equal(ack.status, 204);
    // By design one delivery: it forced the sync, waited inside itself for ESO, and restarted.
    assert.deepEqual(
      pipeline.deliveriesOfEvent(id).map((d) => d.status),
      [204],
      'one delivery, no redelivery and no continuation',
    );

    // A duplicate delivery of the same message (Pub/Sub is at-least-once), sent as Eventarc would.
    const dup = await postCloudEvent(pipeline.server.url, pipeline.lastPushBody(id)!, pipeline.topic);
    assert.equal(dup.status, 204, dup.body);
    const again = await deployment(rig, ns, 'api');
    assert.equal(restartedAt(again), at, 'no second restart');
    assert.equal((await replicaSets(rig, ns, 'api')).length, 2, 'exactly one restart');
    const dupOutcome = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged && outcomeFor(o, ns, 'api')?.result === 'unchanged',
      "the duplicate delivery's outcome",
    );
    assert.match(outcomeFor(dupOutcome, ns, 'api')!.reason, /already applied/);
  });

  it('does not trust an ESO sync in the same second as the event (refreshTime has whole seconds): it forces another before restarting', async (t) => {
    const ns = 'eso-app';
    const secret = 'e2e-fast-token';
    rig.sm.addVersion(secret);
    await rig.apply(externalSecret(ns, 'fast', 'fast-credentials', 'TOKEN', secret));
    await waitForEsoSynced(rig, ns, 'fast');
    await rig.apply(envDeployment(ns, 'fast', 'fast-credentials', 'TOKEN'));
    await waitForReadyPods(rig, ns, 'app=fast', 1);

    // Publish just after a second starts: ESO answers Rotor's force-sync within that same second,
    // so its refreshTime (truncated) cannot prove the sync read the new version.
    await waitFor(() => Promise.resolve(Date.now() % 1000 < 50), {
      intervalMs: 5,
      what: 'the start of a second',
    });
    const version = rig.sm.addVersion(secret);
    const eventTime = Date.now();
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    await pipeline.relay!.waitForDelivery(id, {
      timeoutMs: 60_000,
      what: 'acked (restarted after a provably later sync)',
    });

    const syncs = rig.eso.syncs.filter(
      (s) => s.namespace === ns && s.name === 'fast' && s.trigger === 'annotations',
    );
    const sameSecond = syncs.filter(
      (s) => Math.floor(Date.parse(s.refreshTime) / 1000) === Math.floor(eventTime / 1000),
    );
    if (sameSecond.length === 0)
      t.diagnostic(
        "this run's first sync landed in a later second (slow machine): the same-second case was not exercised",
      );
    else assert.ok(syncs.length >= 2, 'Rotor forced a second sync after the same-second one');
    const at = restartedAt(await deployment(rig, ns, 'fast'));
    assert.ok(at, 'restarted');
    const proving = syncs.find((s) => Date.parse(s.refreshTime) > eventTime);
    assert.ok(
      proving,
      `a sync with refreshTime after the event (${syncs.map((s) => s.refreshTime).join(', ')})`,
    );
    assert.ok(Date.parse(at) > proving.secretWrittenAt, 'restart after the provably fresh sync');
    assert.equal((await replicaSets(rig, ns, 'fast')).length, 2, 'exactly one restart');
    // By design one delivery: the second force and the restart happen inside it.
    assert.deepEqual(
      pipeline.deliveriesOfEvent(id).map((d) => d.status),
      [204],
    );
  });

  it('gives up after ROTOR_MAX_WAIT_SECONDS with an outcome that says what never converged, and acks', async () => {
    const ns = 'stuck-app';
    const secret = 'e2e-cache-token';
    const bounded = await rig.pipeline('bounded', {
      env: { ROTOR_MAX_WAIT_SECONDS: '4' },
      asDeployed: { budgetSeconds: 60, pollSeconds: 1 },
    });
    rig.sm.addVersion(secret);
    await rig.apply(externalSecret(ns, 'cache', 'cache-credentials', 'TOKEN', secret));
    await waitForEsoSynced(rig, ns, 'cache');
    await rig.apply(envDeployment(ns, 'cache', 'cache-credentials', 'TOKEN'));
    await waitForReadyPods(rig, ns, 'app=cache', 1);

    // The provider is down for this ExternalSecret: no sync will ever bring the new version.
    rig.eso.hold(`${ns}/cache`);
    const version = rig.sm.addVersion(secret);
    const id = await bounded.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    const ack = await bounded.relay!.waitForDelivery(id, {
      timeoutMs: 60_000,
      what: 'acked after giving up',
    });
    assert.equal(ack.status, 204);
    // By design one delivery: the 4 s bound lies well inside its 60 s budget.
    assert.deepEqual(
      bounded.deliveriesOfEvent(id).map((d) => d.status),
      [204],
    );

    const outcome = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged,
      'the gave-up outcome',
    );
    const w = outcomeFor(outcome, ns, 'cache');
    assert.equal(w?.result, 'gave-up');
    assert.match(
      w.reason,
      /never converged within 4s: restart waits: ExternalSecret stuck-app\/cache last synced at/,
    );
    assert.equal(outcome.pending, 0);
    // It waited inside the delivery first: its first report says so.
    const reports = (await rig.outcomes())
      .filter((o) => o.event.messageId === id)
      .map((o) => outcomeFor(o, ns, 'cache')?.result);
    assert.deepEqual([reports[0], reports.at(-1)], ['waiting', 'gave-up'], reports.join(', '));
    assert.equal(
      restartedAt(await deployment(rig, ns, 'cache')),
      undefined,
      'never restarted into the old value',
    );
    await bounded.server.waitForLog((e) => e.severity === 'ERROR' && /gave up after/.test(e.message ?? ''), {
      what: 'an ERROR log for giving up',
    });
    rig.eso.release(`${ns}/cache`);
  });

  it('wrote only structured log lines, waits and retries included (one JSON object with severity and message a line)', () => {
    const lines = offContractLines(pipeline.server);
    assert.deepEqual(lines.slice(0, 5), [], `${lines.length} line(s) off the log contract`);
    // Every answer that asked Pub/Sub for a redelivery (500) is one NOTICE "retry:" line saying so.
    const retries = pipeline.server
      .entries()
      .filter(
        (e) =>
          e.severity === 'NOTICE' && /^retry: .*Pub\/Sub (will redeliver|redelivers)/.test(e.message ?? ''),
      );
    const nacks = pipeline.relay!.deliveries.filter((d) => !d.injected && d.status === 500);
    // As deployed, every case above waited inside its one delivery: nothing asked for a redelivery.
    assert.deepEqual(
      nacks.map((d) => d.response.slice(0, 200)),
      [],
    );
    assert.equal(retries.length, 0, 'no NOTICE retry line either');
  });
});
