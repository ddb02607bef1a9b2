// Readiness edge cases that decide between acting and waiting: ESO's whole-second refreshTime and
// CSI mounts of an alias that moved back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dependency } from '../../functions/core/discovery';
import type { KubeObject } from '../../functions/core/kube';
import { mountedVersions, readinessCheck } from '../../functions/core/readiness';
import { ProjectMap } from '../../functions/core/secretName';

const projects = ProjectMap.parse('my-proj=123456789012');
const secret = { project: 'my-proj', secret: 'db-password' };

const esoDep: Dependency = {
  via: 'env',
  container: 'app',
  detail: 'env DB_PASSWORD in app',
  version: 'latest',
  secret,
  source: { kind: 'eso', namespace: 'shop', externalSecret: 'db', secretName: 'db' },
  read: { kind: 'env', env: 'DB_PASSWORD', key: 'password' },
  inPlace: false,
};

function csiDep(version: string): Dependency {
  return {
    via: 'csi',
    container: 'app',
    detail: 'CSI file pw',
    version,
    secret,
    source: {
      kind: 'csi',
      namespace: 'shop',
      spc: 'db',
      file: 'pw',
      driver: 'secrets-store-gke.csi.k8s.io',
      resourceName: `projects/my-proj/secrets/db-password/versions/${version}`,
    },
    read: { kind: 'csi', volume: 's', mountPath: '/s', subPath: undefined },
    inPlace: true,
  };
}

function externalSecret(
  refreshTime: string,
  more: { spec?: Record<string, unknown>; forceSync?: string } = {},
): Map<string, KubeObject> {
  const es: KubeObject = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: {
      name: 'db',
      namespace: 'shop',
      ...(more.forceSync ? { annotations: { 'force-sync': more.forceSync } } : {}),
    },
    ...(more.spec ? { spec: more.spec } : {}),
    status: { refreshTime, conditions: [{ type: 'Ready', status: 'True' }] },
  };
  return new Map([['shop/db', es]]);
}

function esoCheck(
  es: Map<string, KubeObject>,
  eventTime: string | undefined,
): ReturnType<ReturnType<typeof readinessCheck>> {
  return readinessCheck(
    { externalSecrets: es, spcPodStatuses: [], readyPods: [] },
    { ...(eventTime ? { eventTime } : {}), projects },
  )(esoDep, 'restart', '7');
}

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop' },
  status: { podIP: '198.18.0.2' },
};
function podStatus(version: string): KubeObject {
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClassPodStatus',
    metadata: { name: 'web-1-shop-db', namespace: 'shop' },
    status: {
      podName: 'web-1',
      secretProviderClassName: 'db',
      objects: [{ id: 'x', version: `projects/123456789012/secrets/db-password/versions/${version}` }],
    },
  };
}

describe('readiness', () => {
  it('ESO: Ready=Unknown (ESO still syncing) is not ready, even with a refresh after the event', () => {
    const es = externalSecret('2024-05-01T10:05:00Z');
    const obj = es.get('shop/db');
    assert.ok(obj);
    es.set('shop/db', {
      ...obj,
      status: {
        refreshTime: '2024-05-01T10:05:00Z',
        conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Syncing', message: 'in progress' }],
      },
    });
    assert.deepEqual(esoCheck(es, '2024-05-01T10:00:00Z'), {
      ready: false,
      detail: 'ExternalSecret shop/db is not Ready (Syncing: in progress)',
    });
  });

  it("ESO: a refresh within the event's second is not proof of a sync after it", () => {
    const eventTime = '2024-05-01T10:00:00.300Z';
    const sameSecond = readinessCheck(
      { externalSecrets: externalSecret('2024-05-01T10:00:00Z'), spcPodStatuses: [], readyPods: [] },
      { eventTime, projects },
    );
    const r1 = sameSecond(esoDep, 'restart', '7');
    assert.equal(r1?.ready, false);
    assert.match(r1.detail, /within the event's second .*not provably after it/);

    const later = readinessCheck(
      { externalSecrets: externalSecret('2024-05-01T10:00:01Z'), spcPodStatuses: [], readyPods: [] },
      { eventTime, projects },
    );
    const r2 = later(esoDep, 'restart', '7');
    assert.equal(r2?.ready, true);
    assert.equal(r2.since, '2024-05-01T10:00:01Z');
  });

  it('ESO: a sync in flight across the event carries the refreshTime of its start, so it waits', () => {
    // ESO started a periodic sync at 10:00:00.8 (refreshTime 10:00:00), read the old version, the
    // new version and its event came at 10:00:01.2, and the sync's status landed at 10:00:03.
    const r = esoCheck(externalSecret('2024-05-01T10:00:00Z'), '2024-05-01T10:00:01.200Z');
    assert.equal(r?.ready, false);
    assert.equal(
      r.detail,
      'ExternalSecret shop/db last synced at 2024-05-01T10:00:00Z, before the event (2024-05-01T10:00:01.200Z)',
    );
  });

  it('ESO without an event time: only a refresh in a later second than the force-sync Rotor requested counts', () => {
    const never = esoCheck(externalSecret('2024-05-01T10:00:05Z'), undefined);
    assert.equal(never?.ready, false);
    assert.equal(never.detail, 'ExternalSecret shop/db has not been asked to sync yet');

    const forced = '2024-05-01T10:00:04.500Z';
    const same = esoCheck(externalSecret('2024-05-01T10:00:04Z', { forceSync: forced }), undefined);
    assert.equal(same?.ready, false);
    assert.equal(
      same.detail,
      "ExternalSecret shop/db last synced at 2024-05-01T10:00:04Z, within the force-sync Rotor requested's second (2024-05-01T10:00:04.500Z): not provably after it",
    );

    const answered = esoCheck(externalSecret('2024-05-01T10:00:05Z', { forceSync: forced }), undefined);
    assert.equal(answered?.ready, true);
    assert.equal(answered.since, '2024-05-01T10:00:05Z');

    const garbage = esoCheck(externalSecret('2024-05-01T10:00:05Z', { forceSync: 'soon' }), undefined);
    assert.equal(garbage?.ready, false, 'a force-sync value that is no time proves nothing');
  });

  it('ESO: refreshInterval 0 and CreatedOnce are named (ESO ignores force-sync), but a sync after the event still counts', () => {
    const eventTime = '2024-05-01T10:00:01.200Z';
    const zero = esoCheck(
      externalSecret('2024-05-01T09:00:00Z', { spec: { refreshInterval: '0s' } }),
      eventTime,
    );
    assert.equal(zero?.ready, false);
    assert.equal(
      zero.detail,
      'ExternalSecret shop/db has refreshInterval 0s: ESO does not refresh it after its first sync (force-sync included), so its Secret keeps the value synced at 2024-05-01T09:00:00Z',
    );
    const once = esoCheck(
      externalSecret('2024-05-01T09:00:00Z', {
        spec: { refreshInterval: '1h', refreshPolicy: 'CreatedOnce' },
      }),
      eventTime,
    );
    assert.equal(once?.ready, false);
    assert.match(
      once.detail,
      /^ExternalSecret shop\/db has refreshPolicy CreatedOnce: ESO does not refresh it/,
    );
    // Its first sync, after the event, read the new version.
    const first = esoCheck(
      externalSecret('2024-05-01T10:00:02Z', { spec: { refreshInterval: '0' } }),
      eventTime,
    );
    assert.equal(first?.ready, true);
  });

  it('CSI: latest is served by the target or newer; an alias only by exactly its target', () => {
    const state = {
      externalSecrets: new Map<string, KubeObject>(),
      spcPodStatuses: [podStatus('5')],
      readyPods: [pod],
    };
    const check = readinessCheck(state, { projects });
    assert.equal(check(csiDep('latest'), 'reload', '4')?.ready, true);
    assert.equal(check(csiDep('latest'), 'reload', '6')?.ready, false);
    // The alias moved back from 5 to 4: the pod still mounts 5.
    const back = check(csiDep('current'), 'reload', '4');
    assert.equal(back?.ready, false);
    assert.match(back.detail, /web-1 \(version 5\)/);
    assert.equal(check(csiDep('current'), 'reload', '5')?.ready, true);
  });

  it('CSI: a class mounting the same secret twice is read by entry id (the provider records resourceName as id)', () => {
    const twice: KubeObject = {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClassPodStatus',
      metadata: { name: 'web-1-shop-db', namespace: 'shop' },
      status: {
        podName: 'web-1',
        secretProviderClassName: 'db',
        objects: [
          {
            id: 'projects/my-proj/secrets/db-password/versions/3',
            version: 'projects/123456789012/secrets/db-password/versions/3',
          },
          {
            id: 'projects/my-proj/secrets/db-password/versions/latest',
            version: 'projects/123456789012/secrets/db-password/versions/8',
          },
        ],
      },
    };
    const check = readinessCheck(
      { externalSecrets: new Map<string, KubeObject>(), spcPodStatuses: [twice], readyPods: [pod] },
      { projects },
    );
    assert.equal(check(csiDep('latest'), 'reload', '8')?.ready, true, 'the latest entry mounts 8');
    assert.deepEqual(
      mountedVersions(twice, secret, projects).map((m) => m.version),
      [3, 8],
    );
  });
});

// Each rule that keeps Rotor from acting into the old value, broken one at a time: every case here
// must be "not ready". A check that answered "ready" for any of them would restart (or ping) pods
// into the credential that was just replaced.
describe('readiness: the negative cases, one rule each', () => {
  const eventTime = '2024-05-01T10:00:01.000Z';
  const esoWith = (status: Record<string, unknown>): Map<string, KubeObject> =>
    new Map([
      [
        'shop/db',
        {
          apiVersion: 'external-secrets.io/v1',
          kind: 'ExternalSecret',
          metadata: { name: 'db', namespace: 'shop' },
          status,
        },
      ],
    ]);
  const readyCond = [{ type: 'Ready', status: 'True' }];
  const statusIn = (namespace: string, overrides: Record<string, unknown> = {}): KubeObject => ({
    ...podStatus('7'),
    metadata: { name: 'web-1-shop-db', namespace },
    status: { ...(podStatus('7').status as Record<string, unknown>), ...overrides },
  });
  const readyPod: KubeObject = {
    ...pod,
    status: { podIP: '198.18.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  };
  const cases: Array<{
    name: string;
    dep: Dependency;
    action: 'restart' | 'reload';
    state: Partial<Parameters<typeof readinessCheck>[0]>;
    detail: RegExp;
  }> = [
    {
      name: 'ESO refreshed at exactly the event instant is not after it',
      dep: esoDep,
      action: 'restart',
      state: { externalSecrets: esoWith({ refreshTime: '2024-05-01T10:00:01Z', conditions: readyCond }) },
      detail: /ExternalSecret shop\/db last synced at 2024-05-01T10:00:01Z, within the event's second/,
    },
    {
      name: 'ESO refreshed before the event',
      dep: esoDep,
      action: 'restart',
      state: { externalSecrets: esoWith({ refreshTime: '2024-05-01T10:00:00Z', conditions: readyCond }) },
      detail: /last synced at 2024-05-01T10:00:00Z, before the event/,
    },
    {
      name: 'ESO Ready=False is not synced, however recent its refreshTime',
      dep: esoDep,
      action: 'restart',
      state: {
        externalSecrets: esoWith({
          refreshTime: '2024-05-01T10:05:00Z',
          conditions: [{ type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'denied' }],
        }),
      },
      detail: /ExternalSecret shop\/db is not Ready \(SecretSyncedError: denied\)/,
    },
    {
      name: 'ESO never synced',
      dep: esoDep,
      action: 'restart',
      state: { externalSecrets: esoWith({ conditions: readyCond }) },
      detail: /ExternalSecret shop\/db has not synced yet/,
    },
    {
      name: 'ESO object missing',
      dep: esoDep,
      action: 'restart',
      state: {},
      detail: /ExternalSecret shop\/db not found/,
    },
    {
      // No mount status for any pod of the class: evidence by the rotation interval (csiRotation.ts),
      // which needs a clock; without one it is not ready.
      name: 'no mount status for any pod of the class, and no clock to count the rotation interval with',
      dep: csiDep('latest'),
      action: 'reload',
      state: { readyPods: [readyPod], spcPodStatuses: [] },
      detail:
        /^no SecretProviderClassPodStatus for the 1 ready pod\(s\) mounting SecretProviderClass shop\/db, and no event time/,
    },
    {
      name: 'a pod status from another namespace is not accepted',
      dep: csiDep('latest'),
      action: 'reload',
      state: { readyPods: [readyPod], spcPodStatuses: [statusIn('other')] },
      detail:
        /^no SecretProviderClassPodStatus for the 1 ready pod\(s\) mounting SecretProviderClass shop\/db/,
    },
    {
      name: 'a pod status of another SecretProviderClass is not accepted',
      dep: csiDep('latest'),
      action: 'reload',
      state: {
        readyPods: [readyPod],
        spcPodStatuses: [statusIn('shop', { secretProviderClassName: 'else' })],
      },
      detail:
        /^no SecretProviderClassPodStatus for the 1 ready pod\(s\) mounting SecretProviderClass shop\/db/,
    },
    {
      name: "another pod's mount status is not accepted",
      dep: csiDep('latest'),
      action: 'reload',
      state: { readyPods: [readyPod], spcPodStatuses: [statusIn('shop', { podName: 'web-2' })] },
      detail: /web-1 \(no mount status\)/,
    },
    {
      name: 'CSI sync: a mount status from another namespace does not prove the synced Secret',
      dep: {
        ...csiDep('latest'),
        source: { kind: 'csi-sync', namespace: 'shop', spc: 'db', secretName: 's' },
      },
      action: 'restart',
      state: { spcPodStatuses: [statusIn('other')] },
      detail: /no pod has mounted version 7 of SecretProviderClass shop\/db yet/,
    },
    {
      name: 'CSI sync: a mount of an older version does not prove the synced Secret',
      dep: {
        ...csiDep('latest'),
        source: { kind: 'csi-sync', namespace: 'shop', spc: 'db', secretName: 's' },
      },
      action: 'restart',
      state: { spcPodStatuses: [podStatus('6')] },
      detail: /no pod has mounted version 7 of SecretProviderClass shop\/db yet/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const check = readinessCheck(
        {
          externalSecrets: c.state.externalSecrets ?? new Map<string, KubeObject>(),
          spcPodStatuses: c.state.spcPodStatuses ?? [],
          readyPods: c.state.readyPods ?? [],
        },
        { eventTime, projects },
      );
      const r = check(c.dep, c.action, '7');
      assert.equal(r?.ready, false, r?.detail);
      assert.match(r.detail, c.detail);
    });
  }

  it('the positive twins of those cases are ready (so the table above is not trivially false)', () => {
    const check = readinessCheck(
      {
        externalSecrets: esoWith({ refreshTime: '2024-05-01T10:00:02Z', conditions: readyCond }),
        spcPodStatuses: [statusIn('shop')],
        readyPods: [readyPod],
      },
      { eventTime, projects },
    );
    assert.equal(check(esoDep, 'restart', '7')?.ready, true);
    assert.equal(check(csiDep('latest'), 'reload', '7')?.ready, true);
    assert.equal(
      check(
        { ...csiDep('latest'), source: { kind: 'csi-sync', namespace: 'shop', spc: 'db', secretName: 's' } },
        'restart',
        '7',
      )?.ready,
      true,
    );
  });
});
