// The live decision, rule by rule: paused workloads are skipped, a failed reload falls back to a
// restart (not when paused), a wait is bounded and given up on, which ExternalSecrets are
// force-synced (the whole-second rule), when a wait began, and a reload with no ready pod of the
// workload's own waits. Every input is a plain value: the clock, the bound, dry-run, the pods.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventContext } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import type { Dependency } from '../../functions/core/discovery';
import { forceSyncTargets, waitStart } from '../../functions/core/forceSync';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import type { LiveDecision, LiveInputs } from '../../functions/core/liveDecision';
import { decideLive, outcomeAction } from '../../functions/core/liveDecision';
import { ownedPods } from '../../functions/core/pods';
import { afterReload } from '../../functions/core/reloadResult';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import {
  container,
  csiVolume,
  deployment,
  envFromKey,
  externalSecret,
  mount,
  spc,
  store,
  workload,
} from './k8s';

const DB = 'projects/my-proj/secrets/db-password';
const projects = ProjectMap.parse('my-proj=123456789012');
const EVENT_TIME = '2024-05-01T10:00:00.000Z';
const T0 = Date.parse(EVENT_TIME);
const MINUTE = 60_000;
const ADD7: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: parseSecretName(DB).id,
  version: '7',
  time: EVENT_TIME,
};

const creds = externalSecret('creds', {
  secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
  data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
});
const world: KubeObject[] = [
  store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' }),
  creds,
  spc('latest', [{ resourceName: `${DB}/versions/latest`, path: 'pw' }]),
];
const envPod = { containers: [container('app', { env: [envFromKey('PW', 'creds', 'pw')] })] };
const csiPod = {
  containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
  volumes: [csiVolume('s', 'latest')],
};
const EP = { 'rotor.dev/reload-endpoint': '8080/-/reload' };

function withUid(w: KubeObject, uid: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    ...w,
    metadata: { ...w.metadata, uid },
    spec: { ...(w.spec as Record<string, unknown>), ...spec },
  };
}

/** An ExternalSecret `creds` with this status and force-sync annotation. */
function esWith(status: Record<string, unknown>, forcedAt?: string): Map<string, KubeObject> {
  return new Map([
    [
      'shop/creds',
      {
        ...creds,
        metadata: { ...creds.metadata, ...(forcedAt ? { annotations: { 'force-sync': forcedAt } } : {}) },
        status,
      },
    ],
  ]);
}
const notSynced = esWith({
  refreshTime: '2024-05-01T09:00:00Z',
  conditions: [{ type: 'Ready', status: 'True' }],
});
const synced = esWith({
  refreshTime: '2024-05-01T10:00:05Z',
  conditions: [{ type: 'Ready', status: 'True' }],
});

function live(overrides: Partial<LiveInputs> = {}): LiveInputs {
  return {
    secretKey: DB,
    projects,
    externalSecrets: synced,
    spcPodStatuses: [],
    pods: [],
    dryRun: false,
    now: T0 + MINUTE,
    maxWaitMs: 30 * MINUTE,
    // The chain's wait clock (core/converge.ts): by default its first delivery came with the event.
    waitSince: T0,
    ...overrides,
  };
}

function decideFor(w: KubeObject, inputs: Partial<LiveInputs> = {}, ev: EventContext = ADD7): LiveDecision {
  const index = new DependencyIndex(inventoryFrom('c', [...world, w]), { projects });
  const [wd] = index.dependentsOf(ev.secret);
  assert.ok(wd, `${w.metadata?.name} depends on db-password`);
  return decideLive(wd, ev, live(inputs));
}

function pod(name: string, ownerUid: string | undefined, ready = true): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      ...(ownerUid
        ? { ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', uid: ownerUid, controller: true }] }
        : {}),
    },
    spec: { containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: {
      podIP: '198.18.0.9',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}
function replicaSet(uid: string, ownerUid: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `rs-${uid}`,
      namespace: 'shop',
      uid,
      ownerReferences: [{ kind: 'Deployment', name: 'web', uid: ownerUid, controller: true }],
    },
  };
}
const mountStatus = (podName: string, version: number): KubeObject => ({
  apiVersion: 'secrets-store.csi.x-k8s.io/v1',
  kind: 'SecretProviderClassPodStatus',
  metadata: { name: `${podName}-shop-latest`, namespace: 'shop' },
  status: {
    podName,
    secretProviderClassName: 'latest',
    objects: [
      {
        id: `${DB}/versions/latest`,
        version: `projects/123456789012/secrets/db-password/versions/${version}`,
      },
    ],
  },
});

describe('live decision: paused', () => {
  it('a paused Deployment that needs a restart is skipped, and the reason says why', () => {
    const d = decideFor(withUid(deployment('api', envPod), 'u1', { paused: true }));
    assert.equal(d.action, 'skip');
    assert.match(
      d.reason,
      /^Deployment is paused: Rotor leaves it alone \(env PW .* only changes when the pod restarts\)$/,
    );
    assert.equal(outcomeAction(d), 'restart');
  });

  it('a Deployment that is not paused is restarted at the clock, recording the version', () => {
    const d = decideFor(withUid(deployment('api', envPod), 'u1'));
    assert.equal(d.action, 'restart');
    assert.equal(d.at, new Date(T0 + MINUTE).toISOString());
    assert.deepEqual(d.records, [{ key: DB, version: '7' }]);
  });

  it('a paused Argo Rollout is skipped too; spec.paused means nothing on a StatefulSet', () => {
    assert.equal(decideFor(withUid(workload('Rollout', 'r', envPod), 'u1', { paused: true })).action, 'skip');
    assert.equal(
      decideFor(withUid(workload('StatefulSet', 's', envPod), 'u1', { paused: true })).action,
      'restart',
    );
  });

  it('a paused Deployment may still reload, but a failed reload does not restart it', () => {
    const web = withUid(deployment('web', csiPod, { annotations: EP }), 'u1', { paused: true });
    const d = decideFor(web, { pods: [pod('web-1', 'rs1')], spcPodStatuses: [mountStatus('web-1', 7)] });
    assert.equal(d.action, 'reload');
    assert.deepEqual(d.onFailure, { restart: false });
  });
});

describe('live decision: reload and its fallback', () => {
  const web = withUid(deployment('web', csiPod, { annotations: EP }), 'dep-uid');

  it('pings every ready pod the workload owns once the driver mounted the new version', () => {
    const d = decideFor(web, {
      pods: [pod('web-1', 'rs1'), pod('web-2', 'rs1')],
      spcPodStatuses: [mountStatus('web-1', 7), mountStatus('web-2', 7)],
    });
    assert.equal(d.action, 'reload');
    assert.deepEqual(
      d.pods.map((p) => p.metadata?.name),
      ['web-1', 'web-2'],
    );
    assert.deepEqual(d.endpoint, { port: '8080', path: '/-/reload' });
    assert.deepEqual(d.onFailure, { restart: true, at: new Date(T0 + MINUTE).toISOString() });
  });

  it('no ready pod of its own: wait, bounded like every wait (not "reloaded")', () => {
    const d = decideFor(web, { pods: [pod('web-1', 'rs1', false)] });
    assert.equal(d.action, 'wait');
    assert.match(d.reason, /^reload waits: no ready pod of the Deployment to POST to \(1 not ready\)$/);
    assert.equal(d.waitingFor, 'pods');
    assert.equal(d.giveUpAt, T0 + 30 * MINUTE);
    const late = decideFor(web, { pods: [pod('web-1', 'rs1', false)], now: T0 + 31 * MINUTE });
    assert.equal(late.action, 'give-up');
    assert.match(late.reason, /^never converged within 1800s: reload waits: no ready pod/);
  });

  it('no pod at all while replicas are wanted: wait; scaled to zero: record, nothing reads the old value', () => {
    assert.equal(decideFor(web).action, 'wait');
    const zero = decideFor(withUid(deployment('web', csiPod, { annotations: EP }), 'u', { replicas: 0 }));
    assert.equal(zero.action, 'record');
    assert.match(zero.reason, /no pod of the Deployment runs, so the next ones read the new version$/);
    assert.equal(outcomeAction(zero), 'none');
  });

  it('after the pings: all answered is reloaded; a failure restarts instead, or is reported when paused', () => {
    const d = decideFor(web, { pods: [pod('web-1', 'rs1')], spcPodStatuses: [mountStatus('web-1', 7)] });
    assert.equal(d.action, 'reload');
    assert.deepEqual(afterReload(d, 'Deployment', [{ pod: 'web-1', ok: true }]), {
      kind: 'reloaded',
      detail: 'reloaded 1 pod(s): web-1',
    });
    const failed = afterReload(d, 'Deployment', [
      { pod: 'web-1', ok: false, error: 'HTTP 500' },
      { pod: 'web-2', ok: true },
    ]);
    assert.equal(failed.kind, 'restart');
    assert.equal(failed.cause, 'reload failed on web-1 (HTTP 500)');
    assert.match(
      failed.reason,
      /^reload failed on web-1 \(HTTP 500\); restarted instead \(CSI file pw in app updates in place/,
    );
    assert.equal(failed.at, new Date(T0 + MINUTE).toISOString());
    const paused = afterReload({ ...d, onFailure: { restart: false } }, 'Deployment', [
      { pod: 'web-1', ok: false },
    ]);
    assert.deepEqual(paused, {
      kind: 'failed',
      reason: 'reload failed on web-1 (error); the Deployment is paused, so no restart either',
    });
  });
});

describe("ownedPods: the workload's own pods, by controller owner references", () => {
  const dep = withUid(deployment('web', csiPod), 'dep-uid');
  it('Deployment → ReplicaSet → Pod; a stray pod of another ReplicaSet or of nobody is not its own', () => {
    const pods = [pod('mine', 'rs-mine'), pod('other-rs', 'rs-other'), pod('orphan', undefined)];
    const rss = [replicaSet('rs-mine', 'dep-uid'), replicaSet('rs-other', 'someone-else')];
    assert.deepEqual(
      ownedPods(dep, pods, rss).map((p) => p.metadata?.name),
      ['mine'],
    );
  });
  it('StatefulSet / DaemonSet → Pod directly; a non-controller owner reference does not count', () => {
    const sts = withUid(workload('StatefulSet', 'db', csiPod), 'sts-uid');
    const direct = pod('db-0', 'sts-uid');
    const notController: KubeObject = {
      ...pod('db-x', undefined),
      metadata: {
        name: 'db-x',
        ownerReferences: [{ kind: 'StatefulSet', uid: 'sts-uid', controller: false }],
      },
    };
    assert.deepEqual(
      ownedPods(sts, [direct, notController, pod('orphan', undefined)]).map((p) => p.metadata?.name),
      ['db-0'],
    );
  });
  it('a workload without a uid (not from a live cluster) owns nothing', () => {
    assert.deepEqual(ownedPods(deployment('web', csiPod), [pod('mine', 'rs-mine')], []), []);
  });
  it('only ready owned pods are pinged (a stray ready pod matching the selector gets nothing)', () => {
    const web = withUid(deployment('web', csiPod, { annotations: EP }), 'dep-uid');
    const rss = [replicaSet('rs-mine', 'dep-uid'), replicaSet('rs-other', 'x')];
    const all = [pod('mine', 'rs-mine'), pod('stray', 'rs-other'), pod('orphan', undefined)];
    const d = decideFor(web, {
      pods: ownedPods(web, all, rss),
      spcPodStatuses: [mountStatus('mine', 7), mountStatus('stray', 7), mountStatus('orphan', 7)],
    });
    assert.equal(d.action, 'reload');
    assert.deepEqual(
      d.pods.map((p) => p.metadata?.name),
      ['mine'],
    );
  });
});

describe('live decision: waiting, force-sync and giving up', () => {
  const api = withUid(deployment('api', envPod), 'u1');

  it('waits while ESO has not synced since the event, forcing a sync of its ExternalSecret', () => {
    const d = decideFor(api, { externalSecrets: notSynced, waitSince: T0 + MINUTE });
    assert.equal(d.action, 'wait');
    assert.equal(d.waitingFor, 'eso');
    assert.match(
      d.reason,
      /^restart waits: ExternalSecret shop\/creds last synced at 2024-05-01T09:00:00Z, before the event/,
    );
    assert.deepEqual(
      d.nudge.map((n) => [n.key, n.at]),
      [['shop/creds', new Date(T0 + MINUTE).toISOString()]],
    );
    // The chain's clock started with this delivery: the wait is bounded from it.
    assert.equal(d.giveUpAt, T0 + MINUTE + 30 * MINUTE);
    assert.equal(outcomeAction(d), 'wait');
  });

  it('gives up once the bound has passed since the wait began, and not a moment before', () => {
    // The chain's clock started at T0+1min, when Rotor forced the sync; never answered since.
    const forcedAt = new Date(T0 + MINUTE).toISOString();
    const unanswered = esWith({ refreshTime: '2024-05-01T09:00:00Z' }, forcedAt);
    const clock = { externalSecrets: unanswered, waitSince: T0 + MINUTE };
    const atBound = decideFor(api, { ...clock, now: T0 + MINUTE + 30 * MINUTE });
    assert.equal(atBound.action, 'wait', 'exactly at the bound still waits');
    assert.equal(atBound.nudge.length, 0, 'forced after the event and not answered: no second nudge');
    const past = decideFor(api, { ...clock, now: T0 + MINUTE + 30 * MINUTE + 1 });
    assert.equal(past.action, 'give-up');
    assert.equal(past.waitedMs, 30 * MINUTE + 1);
    assert.match(past.reason, /^never converged within 1800s: restart waits: ExternalSecret shop\/creds/);
    assert.equal(outcomeAction(past), 'wait');
  });

  it('a dry run never gives up (it asked ESO for nothing): it reports the wait', () => {
    const forcedAt = new Date(T0 + MINUTE).toISOString();
    const unanswered = esWith({ refreshTime: '2024-05-01T09:00:00Z' }, forcedAt);
    const d = decideFor(api, { externalSecrets: unanswered, now: T0 + 5 * 60 * MINUTE, dryRun: true });
    assert.equal(d.action, 'wait');
  });

  it('a force-sync someone wrote before the event is no sync of this event: the bound is what Rotor asks now', () => {
    const tenant = esWith({ refreshTime: '2024-05-01T09:00:00Z' }, '2024-05-01T09:30:00Z');
    const d = decideFor(api, { externalSecrets: tenant, now: T0 + 5 * MINUTE, waitSince: T0 + 5 * MINUTE });
    assert.equal(d.action, 'wait');
    // Exactly as without the annotation: Rotor forces now, and the wait runs from the chain's clock.
    assert.deepEqual(
      [d.nudge.map((n) => n.at), d.giveUpAt],
      [[new Date(T0 + 5 * MINUTE).toISOString()], T0 + 35 * MINUTE],
    );
  });

  it('a first delivery long after the event still forces a sync and waits (bounded from now)', () => {
    const d = decideFor(api, {
      externalSecrets: notSynced,
      now: T0 + 45 * MINUTE,
      waitSince: T0 + 45 * MINUTE,
    });
    assert.equal(d.action, 'wait');
    assert.equal(d.nudge.length, 1);
    assert.equal(d.giveUpAt, T0 + 75 * MINUTE);
  });

  it('a tenant rewriting force-sync (recent, or in the future) never moves the give-up: only the clock does', () => {
    // The chain's clock started at T0+1min; at T0+31min+1ms the bound has passed, whatever the
    // ExternalSecret's force-sync says: a minute ago, exactly now, or far in the future.
    const now = T0 + 31 * MINUTE + 1;
    for (const forged of [
      new Date(now - MINUTE).toISOString(),
      new Date(now).toISOString(),
      '2099-01-01T00:00:00Z',
    ]) {
      const es = esWith({ refreshTime: '2024-05-01T09:00:00Z' }, forged);
      const d = decideFor(api, { externalSecrets: es, now, waitSince: T0 + MINUTE });
      assert.equal(d.action, 'give-up', forged);
      assert.equal(d.waitedMs, 30 * MINUTE + 1, forged);
    }
    // Before the bound, the forged value decides only whether to force again (the far-future one
    // counts as never forced: Rotor forces; the recent one as forced and unanswered: it does not).
    const before = (forged: string) =>
      decideFor(api, {
        externalSecrets: esWith({ refreshTime: '2024-05-01T09:00:00Z' }, forged),
        now: T0 + 10 * MINUTE,
        waitSince: T0 + MINUTE,
      });
    const recent = before(new Date(T0 + 9 * MINUTE).toISOString());
    const future = before('2099-01-01T00:00:00Z');
    assert.deepEqual(
      [
        recent.action === 'wait' && [recent.nudge.length, recent.giveUpAt],
        future.action === 'wait' && [future.nudge.length, future.giveUpAt],
      ],
      [
        [0, T0 + 31 * MINUTE],
        [1, T0 + 31 * MINUTE],
      ],
    );
  });
});

describe('forceSyncTargets: which ExternalSecrets to force-sync', () => {
  const dep = (name: string): Dependency => ({
    via: 'env',
    container: 'app',
    detail: '',
    version: 'latest',
    secret: parseSecretName(DB).id,
    source: { kind: 'eso', namespace: 'shop', externalSecret: name, secretName: name },
    read: { kind: 'env', env: 'PW', key: 'pw' },
    inPlace: false,
  });
  const es = (name: string, refreshTime?: string, forcedAt?: string): [string, KubeObject] => [
    `shop/${name}`,
    {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name, namespace: 'shop', ...(forcedAt ? { annotations: { 'force-sync': forcedAt } } : {}) },
      status: refreshTime ? { refreshTime } : {},
    },
  ];
  const targets = (
    entries: Array<[string, KubeObject]>,
    names = entries.map(([k]) => k.slice(5)),
  ): string[] =>
    forceSyncTargets(names.map(dep), new Map(entries), '2024-05-01T10:00:00.400Z', T0 + MINUTE).map(
      (t) => t.key,
    );

  const cases: Array<[string, [string, KubeObject], boolean]> = [
    ['never synced, never forced: force', es('a'), true],
    ['synced before the event: force', es('a', '2024-05-01T09:59:59Z'), true],
    [
      'synced within the event second (10:00:00Z ≤ 10:00:00.4Z): force',
      es('a', '2024-05-01T10:00:00Z'),
      true,
    ],
    ['synced after the event: nothing to ask', es('a', '2024-05-01T10:00:01Z'), false],
    ['synced at exactly the event instant is not after it: force', es('a', '2024-05-01T10:00:00.400Z'), true],
    [
      'forced after the event, not answered yet: do not churn',
      es('a', '2024-05-01T09:00:00Z', '2024-05-01T10:00:02.500Z'),
      false,
    ],
    [
      'forced after the event, answered within the second it was asked in: once more',
      es('a', '2024-05-01T10:00:00Z', '2024-05-01T10:00:00.700Z'),
      true,
    ],
    ['forced before the event: force again', es('a', '2024-05-01T09:00:00Z', '2024-05-01T09:30:00Z'), true],
  ];
  for (const [name, entry, forced] of cases) {
    it(name, () => {
      assert.deepEqual(targets([entry]), forced ? ['shop/a'] : []);
    });
  }

  it('each ExternalSecret once, however many dependencies read through it; a missing one is skipped', () => {
    assert.deepEqual(
      forceSyncTargets([dep('a'), dep('a'), dep('gone')], new Map([es('a')]), EVENT_TIME, T0).map(
        (t) => t.key,
      ),
      ['shop/a'],
    );
  });

  it("waitStart: the later of the event and the chain's wait clock; the clock alone without an event time", () => {
    assert.equal(waitStart({ eventTime: EVENT_TIME, waitSince: T0 - 9 }), T0);
    assert.equal(waitStart({ eventTime: EVENT_TIME, waitSince: T0 + 2 * 60 * MINUTE }), T0 + 2 * 60 * MINUTE);
    assert.equal(waitStart({ eventTime: undefined, waitSince: T0 + 9 }), T0 + 9);
    assert.equal(waitStart({ eventTime: 'garbage', waitSince: T0 + 9 }), T0 + 9);
  });
});
