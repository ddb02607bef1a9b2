// GKE's secret sync: SecretSync (secret-sync.gke.io/v1) → the Kubernetes Secret of its name, from a
// `gke` SecretProviderClass; consumers decide like any synced Secret (env restarts, a volume updates
// in place), and live a restart waits for the sync's lastSuccessfulSyncTime after the event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventContext } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { decideLive } from '../../functions/core/liveDecision';
import { buildPlan, decideAll } from '../../functions/core/plan';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { readSecretSync, secretSyncReadiness } from '../../functions/core/secretSync';
import { InputError } from '../../functions/errors';
import { container, deployment, envFromKey, mount, secretVolume, spc } from './k8s';

const projects = new ProjectMap();
const EVENT = '2024-05-01T10:00:00Z';
const ADD7: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: parseSecretName('projects/my-proj/secrets/db-password').id,
  version: '7',
  time: EVENT,
};
const cls = spc('app-spc', [
  { resourceName: 'projects/my-proj/secrets/db-password/versions/latest', path: 'db-password' },
  { resourceName: 'projects/my-proj/secrets/api-token/versions/latest', path: 'api-token' },
]);
const sync = (status?: Record<string, unknown>): KubeObject => ({
  apiVersion: 'secret-sync.gke.io/v1',
  kind: 'SecretSync',
  metadata: { name: 'app-db', namespace: 'shop' },
  spec: {
    serviceAccountName: 'app-ksa',
    secretProviderClassName: 'app-spc',
    secretObject: {
      type: 'Opaque',
      data: [
        { sourcePath: 'db-password', targetKey: 'DB_PASSWORD' },
        { sourcePath: 'api-token', targetKey: 'API_TOKEN' },
      ],
    },
  },
  ...(status ? { status } : {}),
});
const envApi = deployment('api', {
  containers: [container('app', { env: [envFromKey('DB_PASSWORD', 'app-db', 'DB_PASSWORD')] })],
});
const tokenOnly = deployment('token', {
  containers: [container('app', { env: [envFromKey('TOKEN', 'app-db', 'API_TOKEN')] })],
});
const volumeWeb = deployment(
  'web',
  {
    containers: [container('app', { volumeMounts: [mount('db', '/etc/db')] })],
    volumes: [secretVolume('db', 'app-db')],
  },
  { annotations: { 'rotor.dev/reload-endpoint': '8080/-/reload' } },
);

function indexOf(objects: KubeObject[]) {
  const problems: string[] = [];
  const index = new DependencyIndex(inventoryFrom('c', objects), {
    projects,
    onProblem: (m) => problems.push(m),
  });
  return { index, problems };
}

describe('GKE secret sync: discovery and the plan', () => {
  it('follows Secret Manager → SecretProviderClass → SecretSync → Secret → consumer, key by key', () => {
    const { index } = indexOf([cls, sync(), envApi, tokenOnly, volumeWeb]);
    const plan = buildPlan(ADD7, decideAll(index, ADD7), projects);
    assert.deepEqual(
      plan.workloads.map((w) => [w.name, w.action, w.dependencies.map((d) => d.via).join(',')]),
      [
        ['api', 'restart', 'env'],
        ['web', 'reload', 'volume'],
      ],
      'the consumer of API_TOKEN only is not a dependent of db-password',
    );
    assert.equal(
      plan.workloads[0].reason,
      'env DB_PASSWORD (key DB_PASSWORD) in app (Secret app-db from SecretSync app-db) only changes when the pod restarts',
    );
    assert.match(
      plan.workloads[0].dependencies[0].detail,
      /synced by SecretSync shop\/app-db \(SecretProviderClass app-spc, path db-password\), projects\/my-proj\/secrets\/db-password version latest$/,
    );
  });

  it('a SecretSync whose class is missing is a problem, not a crash; a malformed one is an InputError', () => {
    const { index, problems } = indexOf([sync(), envApi]);
    assert.deepEqual(index.dependentsOf(ADD7.secret), []);
    assert.deepEqual(problems, ['SecretSync shop/app-db: SecretProviderClass shop/app-spc was not found']);
    const bad = sync();
    bad.spec = { secretProviderClassName: 'app-spc', secretObject: { data: [{ sourcePath: 'x' }] } };
    assert.throws(
      () => readSecretSync(bad),
      (e: unknown) => e instanceof InputError && /data\[0\] needs sourcePath and targetKey/.test(e.message),
    );
  });
});

describe('GKE secret sync: waiting on what the sync reports', () => {
  it('readiness: lastSuccessfulSyncTime in a later second than the event; a failed update says why', () => {
    assert.deepEqual(
      secretSyncReadiness(sync({ lastSuccessfulSyncTime: '2024-05-01T10:02:00Z' }), 'shop/app-db', EVENT),
      {
        ready: true,
        detail: 'SecretSync shop/app-db synced at 2024-05-01T10:02:00Z',
        since: '2024-05-01T10:02:00Z',
      },
    );
    assert.equal(
      secretSyncReadiness(sync({ lastSuccessfulSyncTime: '2024-05-01T10:00:00Z' }), 'k', EVENT).ready,
      false,
    );
    assert.equal(secretSyncReadiness(sync(), 'k', EVENT).detail, 'SecretSync k has not synced yet');
    assert.match(
      secretSyncReadiness(
        sync({
          lastSuccessfulSyncTime: '2024-05-01T10:02:00Z',
          conditions: [
            {
              type: 'SecretUpdated',
              status: 'False',
              reason: 'RemoteSecretStoreFetchFailed',
              message: 'denied',
            },
          ],
        }),
        'k',
        EVENT,
      ).detail,
      /failed to update its Secret \(RemoteSecretStoreFetchFailed: denied\)/,
    );
  });

  const live = (syncObject: KubeObject) => {
    const { index } = indexOf([cls, syncObject, envApi]);
    const [wd] = index.dependentsOf(ADD7.secret);
    return decideLive(wd, ADD7, {
      secretKey: index.keyOf(ADD7.secret),
      projects,
      externalSecrets: new Map(),
      secretSyncs: new Map([['shop/app-db', syncObject]]),
      spcPodStatuses: [],
      pods: [],
      dryRun: false,
      now: Date.parse('2024-05-01T10:03:00Z'),
      maxWaitMs: 30 * 60_000,
      waitSince: Date.parse('2024-05-01T10:03:00Z'),
    });
  };

  /** `waitSince`: the chain's wait clock (core/converge.ts), by default this delivery's own start. */
  const liveAt = (syncObject: KubeObject, now: string, waitSince = now) => {
    const { index } = indexOf([cls, syncObject, envApi]);
    const [wd] = index.dependentsOf(ADD7.secret);
    return decideLive(wd, ADD7, {
      secretKey: index.keyOf(ADD7.secret),
      projects,
      externalSecrets: new Map(),
      secretSyncs: new Map([['shop/app-db', syncObject]]),
      spcPodStatuses: [],
      pods: [],
      dryRun: false,
      now: Date.parse(now),
      maxWaitMs: 30 * 60_000,
      waitSince: Date.parse(waitSince),
    });
  };
  const forcedAt = (at: string): KubeObject => {
    const o = sync({ lastSuccessfulSyncTime: '2024-05-01T09:58:00Z' });
    return { ...o, spec: { ...(o.spec as Record<string, unknown>), forceSynchronization: at } };
  };

  it("live: the wait runs from the chain's clock (event 10:00, first delivery 12:00 forces, 12:01 still waits)", () => {
    // 12:00: the first delivery starts the clock, forces the sync and waits until 12:30.
    const first = liveAt(sync({ lastSuccessfulSyncTime: '2024-05-01T09:58:00Z' }), '2024-05-01T12:00:00Z');
    assert.equal(first.action, 'wait');
    assert.deepEqual(
      first.action === 'wait' ? [first.forceSecretSyncs.map((n) => n.at), first.giveUpAt] : undefined,
      [['2024-05-01T12:00:00.000Z'], Date.parse('2024-05-01T12:30:00Z')],
    );
    // 12:01, its continuation (clock 12:00): the sync Rotor forced has not answered: still waiting.
    const clock = '2024-05-01T12:00:00Z';
    const again = liveAt(forcedAt('2024-05-01T12:00:00.000Z'), '2024-05-01T12:01:00Z', clock);
    assert.deepEqual(again.action === 'wait' ? [again.forceSecretSyncs, again.giveUpAt] : again, [
      [],
      Date.parse('2024-05-01T12:30:00Z'),
    ]);
    // 12:30:00.001: given up, 30 minutes after the clock started.
    const late = liveAt(forcedAt('2024-05-01T12:00:00.000Z'), '2024-05-01T12:30:00.001Z', clock);
    assert.deepEqual(late.action === 'give-up' ? late.waitedMs : late, 30 * 60_000 + 1);
  });

  it('live: a tenant rewriting spec.forceSynchronization (recent or future) never moves the give-up', () => {
    const clock = '2024-05-01T12:00:00Z';
    for (const forged of ['2024-05-01T12:29:00.000Z', '2024-05-01T12:30:00.000Z', '2099-01-01T00:00:00Z']) {
      const d = liveAt(forcedAt(forged), '2024-05-01T12:30:00.001Z', clock);
      assert.deepEqual(d.action === 'give-up' ? d.waitedMs : d, 30 * 60_000 + 1, forged);
    }
  });

  it('live: a spec.forceSynchronization in the future neither stops Rotor forcing nor stretches the wait', () => {
    const d = liveAt(forcedAt('2099-01-01T00:00:00Z'), '2024-05-01T10:05:00Z');
    assert.deepEqual(d.action === 'wait' ? [d.forceSecretSyncs.map((n) => n.at), d.giveUpAt] : d, [
      ['2024-05-01T10:05:00.000Z'],
      Date.parse('2024-05-01T10:35:00Z'),
    ]);
  });

  it('live: a spec.forceSynchronization from before the event is not a forced sync of this event', () => {
    const d = liveAt(forcedAt('2024-05-01T09:00:00Z'), '2024-05-01T10:05:00Z');
    assert.deepEqual(d.action === 'wait' ? [d.forceSecretSyncs.map((n) => n.at), d.giveUpAt] : d, [
      ['2024-05-01T10:05:00.000Z'],
      Date.parse('2024-05-01T10:35:00Z'),
    ]);
  });

  it('live: an env consumer waits for the sync, then restarts', () => {
    const before = live(sync({ lastSuccessfulSyncTime: '2024-05-01T09:58:00Z' }));
    assert.equal(before.action, 'wait');
    assert.equal(before.action === 'wait' ? before.waitingFor : undefined, 'gke-sync');
    assert.match(
      before.reason,
      /^restart waits: SecretSync shop\/app-db last synced at 2024-05-01T09:58:00Z, not after the event/,
    );
    assert.equal(live(sync({ lastSuccessfulSyncTime: '2024-05-01T10:02:00Z' })).action, 'restart');
  });

  it('live: the wait forces a synchronization (spec.forceSynchronization), once per event', () => {
    const waiting = live(sync({ lastSuccessfulSyncTime: '2024-05-01T09:58:00Z' }));
    assert.deepEqual(
      waiting.action === 'wait' ? waiting.forceSecretSyncs.map((n) => [n.key, n.at]) : undefined,
      [['shop/app-db', '2024-05-01T10:03:00.000Z']],
    );
    const forced = sync({ lastSuccessfulSyncTime: '2024-05-01T09:58:00Z' });
    forced.spec = {
      ...(forced.spec as Record<string, unknown>),
      forceSynchronization: '2024-05-01T10:01:00.000Z',
    };
    const again = live(forced);
    assert.deepEqual(
      again.action === 'wait' ? again.forceSecretSyncs : undefined,
      [],
      'already forced after the event',
    );
  });
});
