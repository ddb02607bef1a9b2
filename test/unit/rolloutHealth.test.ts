// Rollout health, rule by rule, from hand-written status objects as the real controllers write them
// (the rules of `kubectl rollout status`, plus the new revision's pods and Rotor's timeout).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../functions/core/kube';
import type { HealthInputs, RolloutHealth } from '../../functions/core/rolloutHealth';
import { podFailureReasons, rolloutHealth } from '../../functions/core/rolloutHealth';

const T = '2026-12-01T10:00:00Z';
const NOW = Date.parse(T) + 60_000;
const live = (over: Partial<HealthInputs> = {}): HealthInputs => ({
  pods: [],
  actedAt: T,
  now: NOW,
  timeoutMs: 600_000,
  ...over,
});

function apps(kind: string, spec: object, status: object, generation = 2): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'w', namespace: 'shop', generation } as KubeObject['metadata'],
    spec: {
      template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': T } }, spec: {} },
      ...spec,
    },
    status,
  };
}

const DEPLOY_DONE = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
const deploy = (status: object, spec: object = { replicas: 3 }): KubeObject =>
  apps('Deployment', spec, status);

function pod(
  name: string,
  restartedAt: string | undefined,
  containerStatus: object,
  extra: object = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      ...(restartedAt ? { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } : {}),
      ...extra,
    },
    status: { containerStatuses: [{ name: 'app', ...containerStatus }] },
  };
}
const crashloop = { restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } };
const running = { restartCount: 0, state: { running: { startedAt: T } } };

const progressing = (h: RolloutHealth): string => {
  assert.equal(h.health, 'progressing', JSON.stringify(h));
  return h.health === 'progressing' ? h.detail : '';
};

describe('Deployment rollout (kubectl rollout status rules)', () => {
  it('is done when observed and every replica is updated and available', () => {
    assert.deepEqual(rolloutHealth(deploy(DEPLOY_DONE), live()), { health: 'done' });
  });
  it('waits until the controller observed the restart (observedGeneration < generation)', () => {
    assert.match(
      progressing(rolloutHealth(deploy({ ...DEPLOY_DONE, observedGeneration: 1 }), live())),
      /observe/,
    );
    assert.match(progressing(rolloutHealth(deploy({}), live())), /observe/);
  });
  it('fails on ProgressDeadlineExceeded, with the condition message', () => {
    const h = rolloutHealth(
      deploy({
        ...DEPLOY_DONE,
        updatedReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'RS "w-1" has timed out',
          },
        ],
      }),
      live(),
    );
    assert.deepEqual(h, { health: 'failed', reasons: ['ProgressDeadlineExceeded: RS "w-1" has timed out'] });
  });
  it('waits for updated, then old replicas to go, then available', () => {
    assert.equal(
      progressing(rolloutHealth(deploy({ ...DEPLOY_DONE, updatedReplicas: 1 }), live())),
      '1 of 3 replicas updated',
    );
    assert.equal(
      progressing(rolloutHealth(deploy({ ...DEPLOY_DONE, replicas: 4 }), live())),
      '1 old replica(s) pending termination',
    );
    assert.equal(
      progressing(rolloutHealth(deploy({ ...DEPLOY_DONE, availableReplicas: 2 }), live())),
      '2 of 3 updated replicas available',
    );
  });
  it('defaults spec.replicas to 1', () => {
    const one = { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    assert.deepEqual(rolloutHealth(deploy(one, {}), live()), { health: 'done' });
    assert.equal(
      progressing(rolloutHealth(deploy({ observedGeneration: 2 }, {}), live())),
      '0 of 1 replicas updated',
    );
  });
  it('a Progressing condition with another reason is not a failure', () => {
    const h = rolloutHealth(
      deploy({
        ...DEPLOY_DONE,
        conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
      }),
      live(),
    );
    assert.deepEqual(h, { health: 'done' });
  });
});

describe('new-revision pods and the timeout', () => {
  const rolling = deploy({ ...DEPLOY_DONE, updatedReplicas: 1, availableReplicas: 2, replicas: 4 });
  it('fails when a pod of the new revision crashloops, naming pod, container and restarts', () => {
    const h = rolloutHealth(
      rolling,
      live({ pods: [pod('w-new', T, crashloop), pod('w-old', undefined, running)] }),
    );
    assert.deepEqual(h, { health: 'failed', reasons: ['w-new app: CrashLoopBackOff (4 restarts)'] });
  });
  it('ignores failing pods of an older revision', () => {
    const older = pod('w-old', '2026-11-30T00:00:00Z', crashloop);
    assert.equal(rolloutHealth(rolling, live({ pods: [older] })).health, 'progressing');
  });
  it('ignores pods being deleted', () => {
    const deleting = pod('w-new', T, crashloop, { deletionTimestamp: T });
    assert.equal(rolloutHealth(rolling, live({ pods: [deleting] })).health, 'progressing');
  });
  it('fails on ImagePullBackOff, ErrImagePull, CreateContainerConfigError and a terminated Error', () => {
    const reasons = (cs: object): string[] => podFailureReasons(pod('p', T, cs));
    assert.deepEqual(reasons({ state: { waiting: { reason: 'ImagePullBackOff' } } }), [
      'p app: ImagePullBackOff',
    ]);
    assert.deepEqual(reasons({ state: { waiting: { reason: 'ErrImagePull' } } }), ['p app: ErrImagePull']);
    assert.deepEqual(reasons({ state: { waiting: { reason: 'CreateContainerConfigError' } } }), [
      'p app: CreateContainerConfigError',
    ]);
    assert.deepEqual(reasons({ restartCount: 1, state: { terminated: { reason: 'Error', exitCode: 2 } } }), [
      'p app: Error (exit code 2) (1 restarts)',
    ]);
    assert.deepEqual(reasons({ state: { waiting: { reason: 'ContainerCreating' } } }), []);
    assert.deepEqual(reasons({ state: { terminated: { reason: 'Completed', exitCode: 0 } } }), []);
  });
  it('reads init containers too', () => {
    const p: KubeObject = {
      metadata: { name: 'p' },
      status: {
        initContainerStatuses: [{ name: 'migrate', state: { waiting: { reason: 'CrashLoopBackOff' } } }],
      },
    };
    assert.deepEqual(podFailureReasons(p), ['p migrate: CrashLoopBackOff']);
  });
  it('fails when not Available within the timeout after the restart, and not before', () => {
    const at = live({ now: Date.parse(T) + 600_000 });
    assert.equal(rolloutHealth(rolling, at).health, 'progressing');
    const late = rolloutHealth(rolling, live({ now: Date.parse(T) + 600_001 }));
    assert.deepEqual(late, {
      health: 'failed',
      reasons: [`the Deployment was not Available 600s after Rotor acted at ${T} (1 of 3 replicas updated)`],
    });
  });
  it('without a known action time it stays progressing: never timed out from 1970', () => {
    const { actedAt: _actedAt, ...unknown } = live({ now: Date.parse('2099-01-01T00:00:00Z') });
    assert.equal(progressing(rolloutHealth(rolling, unknown)), '1 of 3 replicas updated');
    assert.equal(
      progressing(rolloutHealth(rolling, { ...unknown, actedAt: 'not a time' })),
      '1 of 3 replicas updated',
    );
  });
  it('a finished rollout is done whatever the time or old pods say', () => {
    const h = rolloutHealth(
      deploy(DEPLOY_DONE),
      live({ now: NOW + 10 * 600_000, pods: [pod('x', undefined, crashloop)] }),
    );
    assert.deepEqual(h, { health: 'done' });
  });
});

describe('StatefulSet rollout', () => {
  const sts = (status: object, spec: object = {}): KubeObject =>
    apps('StatefulSet', { replicas: 2, ...spec }, status);
  const DONE = {
    observedGeneration: 2,
    readyReplicas: 2,
    updatedReplicas: 2,
    currentRevision: 'w-2',
    updateRevision: 'w-2',
  };
  it('is done at one revision with every pod ready and updated', () => {
    assert.deepEqual(rolloutHealth(sts(DONE), live()), { health: 'done' });
  });
  it('OnDelete needs a person', () => {
    const h = rolloutHealth(sts(DONE, { updateStrategy: { type: 'OnDelete' } }), live());
    assert.equal(h.health, 'manual');
  });
  it('waits for the controller to observe, and for ready pods', () => {
    assert.match(progressing(rolloutHealth(sts({ ...DONE, observedGeneration: 0 }), live())), /observe/);
    assert.match(progressing(rolloutHealth(sts({ ...DONE, observedGeneration: 1 }), live())), /observe/);
    assert.equal(progressing(rolloutHealth(sts({ ...DONE, readyReplicas: 1 }), live())), '1 of 2 pods ready');
  });
  it('waits while the update revision differs from the current one (stricter than kubectl)', () => {
    const h = rolloutHealth(
      sts(
        { ...DONE, currentRevision: 'w-1', updatedReplicas: 1 },
        { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } },
      ),
      live(),
    );
    assert.equal(progressing(h), '1 of 2 pods at update revision');
  });
  it('with a partition, is done once the pods above it are updated', () => {
    const spec = { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } };
    const base = { observedGeneration: 2, readyReplicas: 3, currentRevision: 'w-1', updateRevision: 'w-2' };
    assert.deepEqual(rolloutHealth(sts({ ...base, updatedReplicas: 2 }, spec), live()), { health: 'done' });
    assert.equal(
      progressing(rolloutHealth(sts({ ...base, updatedReplicas: 1 }, spec), live())),
      '1 of 2 pods updated (partition 1)',
    );
  });
});

describe('DaemonSet rollout', () => {
  const ds = (status: object, spec: object = {}): KubeObject => apps('DaemonSet', spec, status);
  const DONE = {
    observedGeneration: 2,
    desiredNumberScheduled: 3,
    updatedNumberScheduled: 3,
    numberAvailable: 3,
  };
  it('is done when every node runs an updated, available pod', () => {
    assert.deepEqual(rolloutHealth(ds(DONE), live()), { health: 'done' });
  });
  it('waits for updated nodes, then available pods (numberUnavailable)', () => {
    assert.equal(
      progressing(rolloutHealth(ds({ ...DONE, updatedNumberScheduled: 2 }), live())),
      '2 of 3 nodes updated',
    );
    assert.equal(
      progressing(rolloutHealth(ds({ ...DONE, numberAvailable: 2 }), live())),
      '2 of 3 pods available',
    );
    assert.equal(
      progressing(rolloutHealth(ds({ ...DONE, numberUnavailable: 1 }), live())),
      '3 of 3 pods available',
    );
  });
  it('OnDelete needs a person; an unobserved spec waits', () => {
    assert.equal(rolloutHealth(ds(DONE, { updateStrategy: { type: 'OnDelete' } }), live()).health, 'manual');
    assert.match(progressing(rolloutHealth(ds({ ...DONE, observedGeneration: 1 }), live())), /observe/);
  });
});

describe('Argo Rollout', () => {
  const rollout = (status: object, restartAt: string | undefined = T): KubeObject => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'r', namespace: 'shop', generation: 5 } as KubeObject['metadata'],
    spec: { replicas: 2, ...(restartAt ? { restartAt } : {}), template: { spec: {} } },
    status,
  });
  const HEALTHY = { observedGeneration: '5', phase: 'Healthy', restartedAt: T };
  it('is done when Healthy at the observed generation (a string) after the restart', () => {
    assert.deepEqual(rolloutHealth(rollout(HEALTHY), live()), { health: 'done' });
  });
  it('a numeric or older observedGeneration is not observed', () => {
    assert.match(
      progressing(rolloutHealth(rollout({ ...HEALTHY, observedGeneration: 5 }), live())),
      /observe/,
    );
    assert.match(
      progressing(rolloutHealth(rollout({ ...HEALTHY, observedGeneration: '4' }), live())),
      /observe/,
    );
  });
  it('waits until status.restartedAt reaches spec.restartAt', () => {
    assert.match(
      progressing(rolloutHealth(rollout({ ...HEALTHY, restartedAt: undefined }), live())),
      /restarting/,
    );
  });
  it('Degraded fails with its message; Paused and Progressing wait', () => {
    assert.deepEqual(
      rolloutHealth(rollout({ ...HEALTHY, phase: 'Degraded', message: 'ProgressDeadlineExceeded' }), live()),
      {
        health: 'failed',
        reasons: ['phase Degraded: ProgressDeadlineExceeded'],
      },
    );
    assert.equal(
      progressing(rolloutHealth(rollout({ ...HEALTHY, phase: 'Paused' }), live())),
      'phase Paused',
    );
    assert.equal(
      progressing(rolloutHealth(rollout({ ...HEALTHY, phase: 'Progressing' }), live())),
      'phase Progressing',
    );
  });
  it('new-revision pods are those created at or after spec.restartAt', () => {
    const r = rollout({ ...HEALTHY, phase: 'Progressing' });
    const before = pod('old', undefined, crashloop, { creationTimestamp: '2026-12-01T09:00:00Z' });
    const afterRestart = pod('new', undefined, crashloop, { creationTimestamp: '2026-12-01T10:00:05Z' });
    assert.equal(rolloutHealth(r, live({ pods: [before] })).health, 'progressing');
    assert.deepEqual(rolloutHealth(r, live({ pods: [before, afterRestart] })), {
      health: 'failed',
      reasons: ['new app: CrashLoopBackOff (4 restarts)'],
    });
  });
});

describe('CronJob', () => {
  it('has nothing to wait for: the next run uses the new template', () => {
    const cj: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: {},
      status: {},
    };
    assert.deepEqual(rolloutHealth(cj, live({ now: NOW + 10 * 600_000 })), { health: 'done' });
  });
});
