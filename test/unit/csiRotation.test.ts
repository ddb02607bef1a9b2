// CSI without per-pod status: where the driver wrote no SecretProviderClassPodStatus for any pod of
// the class, a reload waits the driver's rotation interval after the event (never the full bound),
// then reloads and says in its reason which evidence it used; ROTOR_CSI_ROTATION_INTERVAL_SECONDS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actingSettings } from '../../functions/config';
import type { EventContext } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { decideLive } from '../../functions/core/liveDecision';
import { rotationIntervalReadiness } from '../../functions/core/csiRotation';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { InputError } from '../../functions/errors';
import { container, csiVolume, deployment, mount, spc } from './k8s';

const projects = new ProjectMap();
const EVENT = '2024-05-01T10:00:00Z';
const ADD7: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: parseSecretName('projects/my-proj/secrets/db-password').id,
  version: '7',
  time: EVENT,
};
const web = deployment(
  'web',
  { containers: [container('app', { volumeMounts: [mount('s', '/s')] })], volumes: [csiVolume('s', 'db')] },
  { annotations: { 'rotor.dev/reload-endpoint': '8080/-/reload' } },
);
const cls = spc('db', [{ resourceName: 'projects/my-proj/secrets/db-password/versions/latest', path: 'pw' }]);
const readyPod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop' },
  status: { phase: 'Running', podIP: '198.18.0.10', conditions: [{ type: 'Ready', status: 'True' }] },
};
const statusOf = (podName: string, version: string): KubeObject => ({
  apiVersion: 'secrets-store.csi.x-k8s.io/v1',
  kind: 'SecretProviderClassPodStatus',
  metadata: { name: `${podName}-shop-db`, namespace: 'shop' },
  status: {
    podName,
    secretProviderClassName: 'db',
    mounted: true,
    objects: [
      {
        id: 'projects/my-proj/secrets/db-password/versions/latest',
        version: `projects/my-proj/secrets/db-password/versions/${version}`,
      },
    ],
  },
});

function liveAt(nowIso: string, spcPodStatuses: KubeObject[] = [], event: EventContext = ADD7) {
  const index = new DependencyIndex(inventoryFrom('c', [cls, web]), { projects });
  const [wd] = index.dependentsOf(ADD7.secret);
  return decideLive(wd, event, {
    secretKey: index.keyOf(ADD7.secret),
    projects,
    externalSecrets: new Map(),
    spcPodStatuses,
    pods: [readyPod],
    dryRun: false,
    now: Date.parse(nowIso),
    maxWaitMs: 30 * 60_000,
    // The chain's wait clock started with the event (a first delivery at once).
    waitSince: Date.parse(event.time ?? nowIso),
    csiRotationIntervalMs: 120_000,
  });
}

describe('CSI reload without SecretProviderClassPodStatus', () => {
  it('within the rotation interval after the event: waits for the CSI driver, saying until when', () => {
    const d = liveAt('2024-05-01T10:01:00Z');
    assert.equal(d.action, 'wait');
    assert.equal(
      d.reason,
      "reload waits: no SecretProviderClassPodStatus for the 1 ready pod(s) mounting SecretProviderClass shop/db: waiting the CSI driver's rotation interval (120s, ROTOR_CSI_ROTATION_INTERVAL_SECONDS) after the event, until 2024-05-01T10:02:00.000Z",
    );
  });

  it('once the interval has passed: reloads, and the reason names the evidence', () => {
    const d = liveAt('2024-05-01T10:02:00Z');
    assert.equal(d.action, 'reload');
    assert.match(
      d.reason,
      /re-reads it on POST 8080\/-\/reload \(evidence: no SecretProviderClassPodStatus for the 1 ready pod\(s\) mounting SecretProviderClass shop\/db, so Rotor waited the driver's rotation interval \(120s\) after the event\)$/,
    );
  });

  it('without an event time, the interval never counts as passed, however late (nothing to count from)', () => {
    const { time: _, ...untimed } = ADD7;
    const d = liveAt('2099-01-01T00:00:00Z', [], untimed);
    assert.equal(d.action, 'wait');
    assert.equal(
      d.reason,
      "reload waits: no SecretProviderClassPodStatus for the 1 ready pod(s) mounting SecretProviderClass shop/db, and no event time to count the driver's rotation interval from",
    );
    assert.deepEqual(
      rotationIntervalReadiness('pods of shop/db', {
        now: Date.parse('2099-01-01T00:00:00Z'),
        rotationIntervalMs: 1,
      }),
      {
        ready: false,
        detail:
          "no SecretProviderClassPodStatus for pods of shop/db, and no event time to count the driver's rotation interval from",
      },
    );
  });

  it('with mount status: the status decides, and the reason says so', () => {
    assert.equal(
      liveAt('2024-05-01T10:05:00Z', [statusOf('web-1', '6')]).action,
      'wait',
      'version 6 mounted: not yet',
    );
    const d = liveAt('2024-05-01T10:00:20Z', [statusOf('web-1', '7')]);
    assert.equal(d.action, 'reload');
    assert.match(d.reason, /\(evidence: every ready pod's SecretProviderClassPodStatus records version 7\)$/);
  });

  it('ROTOR_CSI_ROTATION_INTERVAL_SECONDS: default GKE`s 2 minutes, validated', () => {
    assert.equal(actingSettings({}).csiRotationIntervalMs, 120_000);
    assert.equal(
      actingSettings({ ROTOR_CSI_ROTATION_INTERVAL_SECONDS: '300' }).csiRotationIntervalMs,
      300_000,
    );
    assert.throws(() => actingSettings({ ROTOR_CSI_ROTATION_INTERVAL_SECONDS: '2m' }), InputError);
    assert.throws(() => actingSettings({ ROTOR_CSI_ROTATION_INTERVAL_SECONDS: '0' }), InputError);
  });
});
