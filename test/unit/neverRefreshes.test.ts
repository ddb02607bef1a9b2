// ExternalSecrets that ESO never refreshes after their first sync (refreshPolicy CreatedOnce,
// refreshInterval 0): the plan warns that the workload will not see the new version and why; live,
// the function says so at once instead of waiting out the bound. OnChange refreshes on force-sync.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventContext } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { decideLive } from '../../functions/core/liveDecision';
import { buildPlan, decideAll } from '../../functions/core/plan';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { container, deployment, envFromKey, externalSecret, mount, secretVolume, store } from './k8s';

const projects = new ProjectMap();
const EVENT_TIME = '2024-05-01T10:00:00Z';
const ADD7: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: parseSecretName('projects/my-proj/secrets/db-password').id,
  version: '7',
  time: EVENT_TIME,
};
const es = (refresh: Record<string, unknown>, status?: Record<string, unknown>): KubeObject => ({
  ...externalSecret('creds', {
    secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
    data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
    ...refresh,
  }),
  ...(status ? { status } : {}),
});
const envApi = deployment('api', {
  containers: [container('app', { env: [envFromKey('DB_PASSWORD', 'creds', 'pw')] })],
});
const volumeWeb = deployment(
  'web',
  {
    containers: [container('app', { volumeMounts: [mount('c', '/etc/creds')] })],
    volumes: [secretVolume('c', 'creds', [{ key: 'pw', path: 'pw' }])],
  },
  { annotations: { 'rotor.dev/reload-endpoint': '8080/-/reload' } },
);
const SYNCED_BEFORE = {
  refreshTime: '2024-05-01T09:00:00Z',
  syncedResourceVersion: '1-abc',
  conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced' }],
};

function planFor(externalSecretObject: KubeObject, w: KubeObject) {
  const index = new DependencyIndex(
    inventoryFrom('c', [
      store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' }),
      externalSecretObject,
      w,
    ]),
    { projects },
  );
  return { index, plan: buildPlan(ADD7, decideAll(index, ADD7), projects) };
}

describe('plan: an ExternalSecret that never refreshes', () => {
  it('refreshPolicy CreatedOnce: the restart is planned, with a warning saying the workload will not see the version', () => {
    const [w] = planFor(es({ refreshPolicy: 'CreatedOnce' }), envApi).plan.workloads;
    assert.equal(w.action, 'restart');
    assert.equal(
      w.warning,
      'ExternalSecret shop/creds has refreshPolicy CreatedOnce: ESO does not refresh it after its first sync (force-sync included), so env DB_PASSWORD (key pw) in app (Secret creds from ExternalSecret creds) will not see version 7 and a restart would only re-read the old value (set refreshPolicy Periodic with refreshInterval > 0, or OnChange)',
    );
  });

  it('refreshInterval 0 (in any Go spelling) warns a reload the same way', () => {
    for (const interval of ['0', '0s', '0h0m']) {
      const [w] = planFor(es({ refreshInterval: interval }), volumeWeb).plan.workloads;
      assert.equal(w.action, 'reload');
      assert.match(
        w.warning ?? '',
        new RegExp(`^ExternalSecret shop/creds has refreshInterval ${interval}: `),
      );
      assert.match(w.warning ?? '', /a reload would only re-read the old value/);
    }
  });

  it('no warning when ESO refreshes it: Periodic with an interval, OnChange (force-sync counts), the default', () => {
    for (const refresh of [
      { refreshInterval: '1h' },
      { refreshPolicy: 'OnChange', refreshInterval: '0' },
      { refreshPolicy: 'Periodic', refreshInterval: '15m' },
      {},
    ]) {
      const [w] = planFor(es(refresh), envApi).plan.workloads;
      assert.equal(w.action, 'restart');
      assert.equal(w.warning, undefined, JSON.stringify(refresh));
    }
  });
});

describe('live: reported at once, never waited for', () => {
  const liveFor = (externalSecretObject: KubeObject, now = Date.parse('2024-05-01T10:00:30Z')) => {
    const { index } = planFor(externalSecretObject, envApi);
    const [wd] = index.dependentsOf(ADD7.secret);
    return decideLive(wd, ADD7, {
      secretKey: index.keyOf(ADD7.secret),
      projects,
      externalSecrets: new Map([['shop/creds', externalSecretObject]]),
      spcPodStatuses: [],
      pods: [],
      dryRun: false,
      now,
      maxWaitMs: 30 * 60_000,
      waitSince: now,
    });
  };

  it('synced once with CreatedOnce: never-synced, 30 s after the event, naming the cause', () => {
    const d = liveFor(es({ refreshPolicy: 'CreatedOnce' }, SYNCED_BEFORE));
    assert.equal(d.action, 'never-synced');
    assert.equal(
      d.reason,
      'restart not done: ExternalSecret shop/creds has refreshPolicy CreatedOnce: ESO does not refresh it after its first sync (at 2024-05-01T09:00:00Z; force-sync included), so env DB_PASSWORD (key pw) in app (Secret creds from ExternalSecret creds) keeps the old value',
    );
  });

  it('never synced yet: ESO will do its first sync, so Rotor waits (and forces it)', () => {
    const d = liveFor(es({ refreshInterval: '0' }));
    assert.equal(d.action, 'wait');
  });

  it('Periodic with an interval, synced before the event: a normal wait with a force-sync', () => {
    const d = liveFor(es({ refreshInterval: '1h' }, SYNCED_BEFORE));
    assert.equal(d.action, 'wait');
    assert.equal(d.action === 'wait' ? d.nudge.length : -1, 1);
  });

  it('CreatedOnce that synced after the event is simply ready: restart', () => {
    const d = liveFor(
      es({ refreshPolicy: 'CreatedOnce' }, { ...SYNCED_BEFORE, refreshTime: '2024-05-01T10:00:05Z' }),
    );
    assert.equal(d.action, 'restart');
  });
});
