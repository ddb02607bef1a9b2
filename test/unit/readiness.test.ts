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
    inPlace: true,
  };
}

function externalSecret(refreshTime: string): Map<string, KubeObject> {
  const es: KubeObject = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'db', namespace: 'shop' },
    status: { refreshTime, conditions: [{ type: 'Ready', status: 'True' }] },
  };
  return new Map([['shop/db', es]]);
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
