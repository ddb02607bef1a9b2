// End to end with the real External Secrets Operator controller (infra/local/build-eso.sh) instead
// of the simulated one: Secret Manager stand-in ← ESO's own GCP provider ← ESO's ExternalSecret
// controller → the synced Kubernetes Secret, and Rotor (Pub/Sub emulator → functions framework →
// onSecretEvent) forcing the sync and restarting the env consumers.
//
// What these tests pin down about ESO (v0.16.2, read from its controller, then observed here):
//   - the `force-sync` annotation is honoured because ESO refreshes whenever the ExternalSecret's
//     metadata hash (status.syncedResourceVersion = "<generation>-<hash of labels+annotations>")
//     changes — for refreshPolicy Periodic (the default) with refreshInterval > 0, and OnChange;
//   - refreshInterval 0 and refreshPolicy CreatedOnce never refresh after the first sync, force-sync
//     included: Rotor must not restart (the Secret keeps the old value) and must say why;
//   - status.refreshTime is the time the reconcile *started* (before it read Secret Manager);
//   - a failed sync sets Ready=False (reason SecretSyncedError) and leaves refreshTime alone.
// Order is proven from resource versions seen on watches: one etcd, so every write's resource
// version is its global revision, and the ReplicaSet of the restart must be created after the write
// that put the new value in the Secret.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Watch } from '@kubernetes/client-node';
import { waitFor } from '../harness/controlPlane';
import type { Pipeline, RealEsoRig } from './fixture';
import {
  PROJECT_ID,
  deployment,
  envDeployment,
  outcomeFor,
  replicaSets,
  restartedAt,
  startRealEsoRig,
  waitForReadyPods,
} from './fixture';

const NAMESPACES = ['real-eso', 'real-onchange', 'real-zero', 'real-once', 'real-race', 'real-failing'];
const ES_API = '/apis/external-secrets.io/v1';

interface ExternalSecretView {
  metadata: { annotations?: Record<string, string>; resourceVersion: string };
  status?: {
    refreshTime?: string;
    syncedResourceVersion?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

interface Recorded {
  type: string;
  /** When the watch delivered it (ms). */
  at: number;
  resourceVersion: number;
  kind: string;
  name: string;
  object: {
    metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
    data?: Record<string, string>;
    spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
    status?: ExternalSecretView['status'];
  };
}

function externalSecret(
  ns: string,
  name: string,
  key: string,
  secret: string,
  refresh: { interval: string; policy?: 'Periodic' | 'OnChange' | 'CreatedOnce' },
): string {
  return `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: ${name}, namespace: ${ns}}
spec:
  refreshInterval: ${refresh.interval}
  ${refresh.policy ? `refreshPolicy: ${refresh.policy}` : ''}
  secretStoreRef: {kind: ClusterSecretStore, name: gcp}
  target: {name: ${name}-credentials}
  data:
    - secretKey: ${key}
      remoteRef: {key: ${secret}}
`;
}

describe('with the real External Secrets Operator, end to end', { timeout: 900_000 }, () => {
  let rig: RealEsoRig;
  let pipeline: Pipeline;
  let bounded: Pipeline;

  before(async () => {
    // Real pods: the env consumers run on a real kubelet (test/harness/realNode.ts).
    rig = await startRealEsoRig({ namespaces: NAMESPACES, realNode: true });
    pipeline = await rig.pipeline('real');
    // As deployed (a delivery budget and a continuation topic, which carries the wait clock): a
    // delivery without one measures its waits from its own start, so a redelivery could not give up.
    bounded = await rig.pipeline('bounded', {
      env: { ROTOR_MAX_WAIT_SECONDS: '10' },
      asDeployed: { budgetSeconds: 60, pollSeconds: 1 },
    });
    await rig.apply(rig.eso.credentialsSecret());
    await rig.apply(rig.eso.clusterSecretStore('gcp', PROJECT_ID));
    // The store controller validates the store (a token from the key's token_uri) before the
    // ExternalSecret controller will use it (its flood gate).
    await waitFor(
      async () =>
        (await rig.get<ExternalSecretView>(`${ES_API}/clustersecretstores/gcp`))?.status?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      { timeoutMs: 60_000, what: `ClusterSecretStore gcp Ready\n${rig.diagnostics()}` },
    );
  });

  after(async () => {
    await rig?.stop();
  });

  /** A Secret Manager secret with one version holding `name@v1`; versions are added with addVersion. */
  async function createSecret(name: string): Promise<void> {
    await rig.secretManager.createSecret({
      parent: `projects/${PROJECT_ID}`,
      secretId: name,
      secret: { replication: { automatic: {} } },
    });
    assert.equal(await addVersion(name), '1');
  }

  /** Adds the next version (payload `name@vN`), as `gcloud secrets versions add` would; returns N. */
  async function addVersion(name: string): Promise<string> {
    const next = (rig.standIn.peek(`projects/${PROJECT_ID}/secrets/${name}`)?.versions.length ?? 0) + 1;
    const [v] = await rig.secretManager.addSecretVersion({
      parent: `projects/${PROJECT_ID}/secrets/${name}`,
      payload: { data: Buffer.from(`${name}@v${next}`) },
    });
    const n = /\/versions\/(\d+)$/.exec(v.name ?? '')?.[1];
    assert.equal(n, String(next), `AddSecretVersion returned ${v.name}`);
    return n;
  }

  async function secretValue(ns: string, name: string, key: string): Promise<string | undefined> {
    const s = await rig.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/${name}`);
    const b64 = s?.data?.[key];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  }

  async function externalSecretOf(ns: string, name: string): Promise<ExternalSecretView> {
    const es = await rig.get<ExternalSecretView>(`${ES_API}/namespaces/${ns}/externalsecrets/${name}`);
    if (!es) throw new Error(`ExternalSecret ${ns}/${name} not found`);
    return es;
  }

  /** Creates the secret, its ExternalSecret and an env consumer, and waits for the first real sync. */
  async function setUp(
    ns: string,
    secret: string,
    refresh: { interval: string; policy?: 'Periodic' | 'OnChange' | 'CreatedOnce' },
  ): Promise<void> {
    await createSecret(secret);
    await rig.apply(externalSecret(ns, 'app', 'TOKEN', secret, refresh));
    await waitFor(async () => (await secretValue(ns, 'app-credentials', 'TOKEN')) === `${secret}@v1`, {
      timeoutMs: 60_000,
      what: `ESO synced ${ns}/app-credentials\n${rig.diagnostics()}`,
    });
    await rig.apply(envDeployment(ns, 'api', 'app-credentials', 'TOKEN', rig.realNode));
    await waitForReadyPods(rig, ns, 'app=api', 1);
  }

  /** Watches Secrets, ReplicaSets and ExternalSecrets of a namespace, recording every event. */
  async function record(ns: string): Promise<{ events: Recorded[]; stop(): void }> {
    const watch = new Watch(rig.cp.kubeConfig());
    const events: Recorded[] = [];
    const paths: Array<[string, string]> = [
      ['Secret', `/api/v1/namespaces/${ns}/secrets`],
      ['ReplicaSet', `/apis/apps/v1/namespaces/${ns}/replicasets`],
      ['ExternalSecret', `${ES_API}/namespaces/${ns}/externalsecrets`],
    ];
    const controllers: AbortController[] = [];
    for (const [kind, path] of paths) {
      // From "now": the list's resource version, so the watch starts after everything set up so far.
      const list = await rig.get<{ metadata: { resourceVersion: string } }>(path);
      controllers.push(
        await watch.watch(
          path,
          { resourceVersion: list?.metadata.resourceVersion },
          (type: string, object: Recorded['object']) =>
            events.push({
              type,
              at: Date.now(),
              kind,
              name: object.metadata.name,
              resourceVersion: Number(object.metadata.resourceVersion),
              object,
            }),
          () => undefined,
        ),
      );
    }
    return { events, stop: () => controllers.forEach((c) => c.abort()) };
  }

  /** The resource version of the write that first put `value` under `key` in Secret `name`. */
  function secretWrite(events: Recorded[], name: string, key: string, value: string): number | undefined {
    return events.find(
      (e) =>
        e.kind === 'Secret' &&
        e.name === name &&
        Buffer.from(e.object.data?.[key] ?? '', 'base64').toString('utf8') === value,
    )?.resourceVersion;
  }

  /** The resource version at which the restart's ReplicaSet was created. */
  function restartReplicaSet(events: Recorded[]): number | undefined {
    return events.find(
      (e) =>
        e.kind === 'ReplicaSet' &&
        e.type === 'ADDED' &&
        e.object.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
    )?.resourceVersion;
  }

  it('a new version: Rotor forces a sync, the real ESO reads it through its GCP provider, and only then are the env consumers restarted', async () => {
    const ns = 'real-eso';
    const secret = 'real-db-password';
    await setUp(ns, secret, { interval: '1h' });
    const reads = rig.standIn.calls.get('AccessSecretVersion') ?? 0;
    const rec = await record(ns);
    try {
      const version = await addVersion(secret);
      const eventAt = Date.now();
      const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });
      const final = await rig.waitForOutcome(
        (o) => o.event.messageId === id && o.converged,
        'the converged outcome',
        90_000,
      );
      assert.equal(final.converged, true);
      await rig.reportOf(id, ns, 'api', 'restarted');
      assert.equal(await secretValue(ns, 'app-credentials', 'TOKEN'), `${secret}@v2`);

      const es = await externalSecretOf(ns, 'app');
      const forcedAt = es.metadata.annotations?.['force-sync'];
      assert.ok(
        forcedAt && Date.parse(forcedAt) >= eventAt,
        `Rotor forced a sync after the event (${forcedAt})`,
      );
      // The refresh started after the event (refreshTime is when ESO's sync started, whole
      // seconds), no earlier than the second Rotor asked in.
      const refreshTime = es.status?.refreshTime ?? '';
      assert.ok(
        Date.parse(refreshTime) > eventAt &&
          Date.parse(refreshTime) >= Math.floor(Date.parse(forcedAt) / 1000) * 1000,
        `ESO's refresh (${refreshTime}) came after the event (${new Date(eventAt).toISOString()}) and the force-sync (${forcedAt})`,
      );
      assert.ok((rig.standIn.calls.get('AccessSecretVersion') ?? 0) > reads, 'ESO read Secret Manager again');
      assert.deepEqual(rig.eso.stats.refused, [], 'the proxy tunnelled nothing but Secret Manager');

      const written = secretWrite(rec.events, 'app-credentials', 'TOKEN', `${secret}@v2`);
      const restarted = restartReplicaSet(rec.events);
      assert.ok(written, 'the Secret write with the new value was seen');
      assert.ok(restarted, "the restart's ReplicaSet was seen");
      assert.ok(
        restarted > written,
        `the new ReplicaSet (rv ${restarted}) was created after ESO wrote the new value (rv ${written})`,
      );
      assert.equal((await replicaSets(rig, ns, 'api')).length, 2, 'exactly one restart');
    } finally {
      rec.stop();
    }
  });

  it('refreshPolicy OnChange: the force-sync annotation is a metadata change, so ESO refreshes and Rotor restarts', async () => {
    const ns = 'real-onchange';
    const secret = 'real-onchange-token';
    await setUp(ns, secret, { interval: '1h', policy: 'OnChange' });
    const version = await addVersion(secret);
    const id = await pipeline.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    const final = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged,
      'the converged outcome',
      90_000,
    );
    assert.equal(final.converged, true);
    await rig.reportOf(id, ns, 'api', 'restarted');
    assert.equal(await secretValue(ns, 'app-credentials', 'TOKEN'), `${secret}@v2`);
  });

  for (const [ns, refresh, why] of [
    ['real-zero', { interval: '0s' }, /refreshInterval 0/],
    ['real-once', { interval: '1h', policy: 'CreatedOnce' as const }, /refreshPolicy CreatedOnce/],
  ] as const) {
    it(`${refresh.interval === '0s' ? 'refreshInterval: 0' : 'refreshPolicy: CreatedOnce'}: ESO ignores force-sync after its first sync, so Rotor never restarts into the old value and says so at once (never-synced), without waiting out the bound`, async () => {
      const secret = `${ns}-token`;
      await setUp(ns, secret, refresh);
      const before = await externalSecretOf(ns, 'app');
      const version = await addVersion(secret);
      const id = await bounded.notify({ type: 'SECRET_VERSION_ADD', secret, version });
      const final = await rig.waitForOutcome(
        (o) => o.event.messageId === id && o.converged,
        'the never-synced outcome',
        90_000,
      );
      const w = outcomeFor(final, ns, 'api');
      assert.equal(w?.result, 'never-synced', JSON.stringify(final.workloads));
      assert.match(w.reason, why);
      assert.equal(restartedAt(await deployment(rig, ns, 'api')), undefined, 'not restarted');
      // ESO really did not sync: the Secret and the ExternalSecret's status are as before.
      assert.equal(await secretValue(ns, 'app-credentials', 'TOKEN'), `${secret}@v1`);
      const after = await externalSecretOf(ns, 'app');
      assert.equal(after.status?.refreshTime, before.status?.refreshTime, 'no refresh happened');
    });
  }

  it('a periodic sync in flight across the event (slow Secret Manager) is not taken for the new version: ESO stamps the start of its sync, and Rotor restarts only after the Secret holds the new value', async () => {
    const ns = 'real-race';
    const secret = 'real-race-token';
    // A short refreshInterval: ESO's own periodic syncs keep coming while the event happens.
    await setUp(ns, secret, { interval: '5s' });
    const rec = await record(ns);
    let arrived: (() => void) | undefined;
    const periodicRead = new Promise<void>((r) => (arrived = r));
    try {
      // Every read answers 3 s late with what Secret Manager held when the request arrived.
      rig.standIn.delayAnswers('AccessSecretVersion', 3000);
      rig.standIn.before('AccessSecretVersion', () => {
        arrived?.();
        return Promise.resolve();
      });
      const initialRefreshTime = (await externalSecretOf(ns, 'app')).status?.refreshTime;
      await periodicRead;
      rig.standIn.before('AccessSecretVersion', undefined);
      // The in-flight read has its (old) answer; the new version exists only now.
      await new Promise((r) => setTimeout(r, 300));
      const version = await addVersion(secret);
      const createdAt = new Date();

      // The in-flight sync lands after the version was created, with the old value. Rotor is told
      // only now (the notification carries Secret Manager's timestamp of the change), so that
      // nothing of Rotor's (its force-sync annotation) makes that sync's status write conflict.
      const stale = await waitFor(
        () =>
          Promise.resolve(
            rec.events.find(
              (e) =>
                e.kind === 'ExternalSecret' &&
                e.object.status?.refreshTime !== undefined &&
                e.object.status.refreshTime !== initialRefreshTime,
            ),
          ),
        { timeoutMs: 30_000, what: `the in-flight periodic sync's status\n${rig.diagnostics()}` },
      );
      assert.ok(stale.at > createdAt.getTime(), 'it landed after the new version was created');
      assert.equal(await secretValue(ns, 'app-credentials', 'TOKEN'), `${secret}@v1`, 'with the old value');
      // ESO stamped it with the time the sync started: before the version existed. (Were it stamped
      // when the sync ended, "refreshed after the event" would pass here and Rotor would restart
      // into the old value.)
      const staleRefresh = stale.object.status?.refreshTime ?? '';
      assert.ok(
        Date.parse(staleRefresh) < createdAt.getTime(),
        `the in-flight sync's refreshTime (${staleRefresh}) is its start, before the version (${createdAt.toISOString()})`,
      );

      const id = await pipeline.notify({
        type: 'SECRET_VERSION_ADD',
        secret,
        version,
        timestamp: createdAt.toISOString(),
      });
      const final = await rig.waitForOutcome(
        (o) => o.event.messageId === id && o.converged,
        'the converged outcome',
        120_000,
      );
      assert.equal(final.converged, true);
      await rig.reportOf(id, ns, 'api', 'restarted');
      const written = secretWrite(rec.events, 'app-credentials', 'TOKEN', `${secret}@v2`);
      const restarted = restartReplicaSet(rec.events);
      assert.ok(written && restarted, 'both the new value and the restart were seen');
      assert.ok(
        restarted > written,
        `the new ReplicaSet (rv ${restarted}) was created after ESO wrote the new value (rv ${written})`,
      );
    } finally {
      rig.standIn.delayAnswers('AccessSecretVersion', undefined);
      rig.standIn.before('AccessSecretVersion', undefined);
      rec.stop();
    }
  });

  it('a failing sync (Ready=False) is reported in the outcome, and given up on after the bounded wait, not waited on forever', async () => {
    const ns = 'real-failing';
    const secret = 'real-failing-token';
    await setUp(ns, secret, { interval: '1h' });
    // Secret Manager refuses ESO from now on (a revoked IAM binding).
    rig.standIn.fail('AccessSecretVersion', grpc.status.PERMISSION_DENIED, 1_000);
    const version = await addVersion(secret);
    const id = await bounded.notify({ type: 'SECRET_VERSION_ADD', secret, version });
    const final = await rig.waitForOutcome(
      (o) => o.event.messageId === id && o.converged,
      'the gave-up outcome',
      90_000,
    );
    const w = outcomeFor(final, ns, 'api');
    assert.equal(w?.result, 'gave-up', JSON.stringify(final.workloads));
    assert.match(w.reason, /ExternalSecret real-failing\/app is not Ready \(SecretSyncedError: /);
    const es = await externalSecretOf(ns, 'app');
    assert.equal(es.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    assert.equal(restartedAt(await deployment(rig, ns, 'api')), undefined, 'not restarted');
    // By design one delivery: the 10 s bound lies well inside its 60 s budget.
    await bounded.relay!.waitForDelivery(id, { timeoutMs: 60_000 });
    assert.deepEqual(
      bounded.deliveriesOfEvent(id).map((d) => d.status),
      [204],
    );
  });
});
