// A synced Secret read as a volume (no subPath) by a workload with a reload endpoint: the kubelet
// writes the changed Secret into running pods only on its next sync of each pod, up to 1.5 × its
// sync period later, so the reload waits that (+ 5 s) after the Secret got the new value, then
// says so in its reason. Restarts, subPath (a restart anyway) and CSI volumes do not wait for it.
// ROTOR_KUBELET_SYNC_SECONDS: default 60, bounded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actingSettings, loadConfig } from '../../functions/config';
import type { EventContext } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { kubeletProjectionReadiness } from '../../functions/core/kubeletProjection';
import type { LiveDecision } from '../../functions/core/liveDecision';
import { decideLive } from '../../functions/core/liveDecision';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { InputError } from '../../functions/errors';
import {
  container,
  csiVolume,
  deployment,
  envFromKey,
  externalSecret,
  mount,
  secretVolume,
  spc,
  store,
} from './k8s';

const DB = 'projects/my-proj/secrets/db-password';
const projects = new ProjectMap();
const EVENT = '2024-05-01T10:00:00Z';
const ADD7: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: parseSecretName(DB).id,
  version: '7',
  time: EVENT,
};
const EP = { 'rotor.dev/reload-endpoint': '8080/-/reload' };
const creds = externalSecret('creds', {
  secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
  data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
});
const world: KubeObject[] = [
  store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' }),
  creds,
  spc('latest', [{ resourceName: `${DB}/versions/latest`, path: 'pw' }]),
];
const volumeWeb = deployment(
  'web',
  {
    containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
    volumes: [secretVolume('s', 'creds')],
  },
  { annotations: EP },
);
const subPathWeb = deployment(
  'web',
  {
    containers: [container('app', { volumeMounts: [mount('s', '/s/pw', 'pw')] })],
    volumes: [secretVolume('s', 'creds')],
  },
  { annotations: EP },
);
const envWeb = deployment(
  'web',
  { containers: [container('app', { env: [envFromKey('PW', 'creds', 'pw')] })] },
  { annotations: EP },
);
const csiWeb = deployment(
  'web',
  {
    containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
    volumes: [csiVolume('s', 'latest')],
  },
  { annotations: EP },
);
const readyPod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop' },
  status: { phase: 'Running', podIP: '198.18.0.10', conditions: [{ type: 'Ready', status: 'True' }] },
};
// ESO synced the Secret at 10:00:05, after the event.
const synced = new Map<string, KubeObject>([
  [
    'shop/creds',
    {
      ...creds,
      status: { refreshTime: '2024-05-01T10:00:05Z', conditions: [{ type: 'Ready', status: 'True' }] },
    },
  ],
]);
const mounted7: KubeObject = {
  apiVersion: 'secrets-store.csi.x-k8s.io/v1',
  kind: 'SecretProviderClassPodStatus',
  metadata: { name: 'web-1-shop-latest', namespace: 'shop' },
  status: {
    podName: 'web-1',
    secretProviderClassName: 'latest',
    mounted: true,
    objects: [{ id: `${DB}/versions/latest`, version: `${DB}/versions/7` }],
  },
};

function decideAt(
  w: KubeObject,
  nowIso: string,
  spcPodStatuses: KubeObject[] = [],
  secretSyncs: ReadonlyMap<string, KubeObject> = new Map(),
): LiveDecision {
  const index = new DependencyIndex(inventoryFrom('c', [...world, ...secretSyncs.values(), w]), { projects });
  const [wd] = index.dependentsOf(ADD7.secret);
  assert.ok(wd, 'web depends on db-password');
  return decideLive(wd, ADD7, {
    secretKey: index.keyOf(ADD7.secret),
    projects,
    externalSecrets: synced,
    spcPodStatuses,
    pods: [readyPod],
    secretSyncs,
    dryRun: false,
    now: Date.parse(nowIso),
    maxWaitMs: 30 * 60_000,
    waitSince: Date.parse(EVENT),
    kubeletSyncMs: 60_000,
  });
}

describe('a reload of a synced Secret volume waits for the kubelet to project it', () => {
  it('before 1.5 × the sync period + 5 s after the sync: waits for the kubelet, naming the Secret and until when', () => {
    // 10:00:05 + 1.5 × 60 s + 5 s = 10:01:40.
    for (const now of ['2024-05-01T10:00:06Z', '2024-05-01T10:01:39.999Z']) {
      const d = decideAt(volumeWeb, now);
      assert.deepEqual(d.action === 'wait' ? [d.waitingFor, d.reason] : d, [
        'kubelet',
        "reload waits: ExternalSecret shop/creds synced at 2024-05-01T10:00:05Z; Secret shop/creds reaches the pods' volumes only on the kubelet's next sync of each pod: waiting the kubelet's sync period (60s, ROTOR_KUBELET_SYNC_SECONDS) ×1.5 + 5s after the sync at 2024-05-01T10:00:05Z, until 2024-05-01T10:01:40.000Z",
      ]);
    }
  });

  it('at and after the bound: reloads, and the reason says Rotor waited the kubelet`s sync period', () => {
    for (const now of ['2024-05-01T10:01:40Z', '2024-05-01T10:09:00Z']) {
      const d = decideAt(volumeWeb, now);
      assert.equal(d.action, 'reload', now);
      assert.match(
        d.reason,
        /\(evidence: Rotor waited the kubelet's sync period \(60s ×1\.5 \+ 5s\) after the sync at 2024-05-01T10:00:05Z for Secret shop\/creds to reach the pods' volumes\)$/,
      );
    }
  });

  it('GKE`s SecretSync: counted from its lastSuccessfulSyncTime', () => {
    const appDb: KubeObject = {
      apiVersion: 'secret-sync.gke.io/v1',
      kind: 'SecretSync',
      metadata: { name: 'app-db', namespace: 'shop' },
      spec: {
        secretProviderClassName: 'latest',
        secretObject: { type: 'Opaque', data: [{ sourcePath: 'pw', targetKey: 'pw' }] },
      },
      status: { lastSuccessfulSyncTime: '2024-05-01T10:00:10Z' },
    };
    const web = deployment(
      'web',
      {
        containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
        volumes: [secretVolume('s', 'app-db')],
      },
      { annotations: EP },
    );
    const syncs = new Map([['shop/app-db', appDb]]);
    // 10:00:10 + 95 s = 10:01:45.
    const early = decideAt(web, '2024-05-01T10:01:44Z', [], syncs);
    assert.deepEqual(early.action === 'wait' ? [early.waitingFor, early.reason] : early, [
      'kubelet',
      "reload waits: SecretSync shop/app-db synced at 2024-05-01T10:00:10Z; Secret shop/app-db reaches the pods' volumes only on the kubelet's next sync of each pod: waiting the kubelet's sync period (60s, ROTOR_KUBELET_SYNC_SECONDS) ×1.5 + 5s after the sync at 2024-05-01T10:00:10Z, until 2024-05-01T10:01:45.000Z",
    ]);
    assert.equal(decideAt(web, '2024-05-01T10:01:45Z', [], syncs).action, 'reload');
  });

  it('a verdict without a sync time counts from the event; without either it never counts as passed', () => {
    const secretObjects = { ready: true, detail: 'SecretProviderClass shop/db mounted version 7' };
    const clock = { eventTime: EVENT, kubeletSyncMs: 30_000 };
    // 10:00:00 + 45 s + 5 s = 10:00:50.
    assert.deepEqual(
      kubeletProjectionReadiness('shop/db', secretObjects, {
        ...clock,
        now: Date.parse('2024-05-01T10:00:49Z'),
      }),
      {
        ready: false,
        waitsFor: 'kubelet',
        detail:
          "SecretProviderClass shop/db mounted version 7; Secret shop/db reaches the pods' volumes only on the kubelet's next sync of each pod: waiting the kubelet's sync period (30s, ROTOR_KUBELET_SYNC_SECONDS) ×1.5 + 5s after the event at 2024-05-01T10:00:00Z, until 2024-05-01T10:00:50.000Z",
      },
    );
    assert.deepEqual(
      kubeletProjectionReadiness('shop/db', secretObjects, {
        ...clock,
        now: Date.parse('2024-05-01T10:00:50Z'),
      }),
      {
        ready: true,
        detail:
          "SecretProviderClass shop/db mounted version 7; the kubelet's sync period (30s, ROTOR_KUBELET_SYNC_SECONDS) ×1.5 + 5s has passed since",
        evidence:
          "evidence: Rotor waited the kubelet's sync period (30s ×1.5 + 5s) after the event at 2024-05-01T10:00:00Z for Secret shop/db to reach the pods' volumes",
      },
    );
    assert.deepEqual(
      kubeletProjectionReadiness('shop/db', secretObjects, {
        now: Date.parse('2099-01-01T00:00:00Z'),
        kubeletSyncMs: 30_000,
      }),
      {
        ready: false,
        waitsFor: 'kubelet',
        detail:
          "SecretProviderClass shop/db mounted version 7, but no time to count the kubelet's sync period (30s, ROTOR_KUBELET_SYNC_SECONDS) from before Secret shop/db reaches the pods' volumes",
      },
    );
  });

  it('a sync not done yet is the wait: the kubelet verdict passes it through unchanged', () => {
    const notSynced = { ready: false, detail: 'ExternalSecret shop/creds has not synced yet' };
    assert.deepEqual(
      kubeletProjectionReadiness('shop/creds', notSynced, {
        eventTime: EVENT,
        now: 0,
        kubeletSyncMs: 60_000,
      }),
      notSynced,
    );
  });

  it('a restart does not wait for the kubelet (a new pod mounts the Secret as it is): env, no endpoint', () => {
    assert.equal(decideAt(envWeb, '2024-05-01T10:00:06Z').action, 'restart');
    const noEndpoint = { ...volumeWeb, metadata: { ...volumeWeb.metadata, annotations: {} } };
    // A volume without a reload endpoint: nothing tells the app to re-read, so it is restarted.
    assert.equal(decideAt(noEndpoint, '2024-05-01T10:00:06Z').action, 'restart');
  });

  it('subPath: a restart anyway (subPath never updates), so no kubelet wait', () => {
    assert.equal(decideAt(subPathWeb, '2024-05-01T10:00:06Z').action, 'restart');
  });

  it('CSI: the driver`s mount status is the evidence, no kubelet wait', () => {
    const d = decideAt(csiWeb, '2024-05-01T10:00:20Z', [mounted7]);
    assert.equal(d.action, 'reload');
    assert.match(d.reason, /\(evidence: every ready pod's SecretProviderClassPodStatus records version 7\)$/);
  });
});

describe('ROTOR_KUBELET_SYNC_SECONDS', () => {
  it('defaults to the kubelet`s 60 s, reads whole seconds, refuses 0, over 600 and non-numbers', () => {
    assert.equal(actingSettings({}).kubeletSyncMs, 60_000);
    assert.equal(actingSettings({ ROTOR_KUBELET_SYNC_SECONDS: '20' }).kubeletSyncMs, 20_000);
    assert.equal(actingSettings({ ROTOR_KUBELET_SYNC_SECONDS: '600' }).kubeletSyncMs, 600_000);
    assert.throws(() => actingSettings({ ROTOR_KUBELET_SYNC_SECONDS: '0' }), InputError);
    assert.throws(() => actingSettings({ ROTOR_KUBELET_SYNC_SECONDS: '1m' }), InputError);
    assert.throws(
      () => actingSettings({ ROTOR_KUBELET_SYNC_SECONDS: '601' }),
      /ROTOR_KUBELET_SYNC_SECONDS="601" is more than 600/,
    );
  });

  it('a kubelet bound not under ROTOR_MAX_WAIT_SECONDS is accepted: a function that refused its configuration would stop every event, not only these reloads', () => {
    // 1.5 × 60 + 5 = 95 s, over a 10 s wait: such a reload gives up (and says so); nothing else changes.
    const config = loadConfig({ ROTOR_MAX_WAIT_SECONDS: '10' });
    assert.equal(config.kubeletSyncMs, 60_000);
    assert.equal(config.maxWaitMs, 10_000);
  });
});
