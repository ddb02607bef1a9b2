// The Kubernetes Event of a workload outcome: which outcomes are worth one, the fields the API
// server requires (events.k8s.io/v1), the note with secret and version, and the name that makes a
// redelivery's repeat the same Event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../functions/core/kube';
import { microTime, reportedAs, workloadEvent } from '../../functions/core/kubeEvents';
import type { WorkloadOutcome } from '../../functions/pipeline/outcome';

const workload: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'shop', uid: 'u-1' },
  spec: { template: { spec: {} } },
};
const base: WorkloadOutcome = {
  cluster: 'prod',
  kind: 'Deployment',
  namespace: 'shop',
  name: 'api',
  action: 'restart',
  result: 'restarted',
  reason: 'env PW only changes when the pod restarts',
};
const src = {
  secret: 'projects/p/secrets/db',
  version: '7',
  instance: 'onSecretEvent-00001/host-a',
  now: new Date('2026-12-01T10:00:00.123Z'),
};

describe('Kubernetes Events', () => {
  it('one reason per result worth reporting; none for unchanged, recorded, skipped, dry runs', () => {
    const reason = (o: Partial<WorkloadOutcome>): string | undefined => reportedAs({ ...base, ...o })?.reason;
    assert.equal(reason({ result: 'restarted' }), 'Restarted');
    assert.equal(reason({ result: 'reloaded', action: 'reload' }), 'Reloaded');
    assert.equal(reason({ result: 'failed', action: 'reload' }), 'ReloadFailed');
    assert.equal(reason({ result: 'failed', action: 'restart' }), undefined);
    assert.equal(reason({ result: 'waiting', action: 'wait' }), 'Waiting');
    assert.equal(reason({ result: 'halted' }), 'Halted');
    assert.equal(reason({ result: 'gave-up', action: 'wait' }), 'GaveUp');
    for (const result of ['unchanged', 'recorded', 'skipped', 'dry-run'] as const)
      assert.equal(reason({ result }), undefined, result);
  });

  it('carries what the API server requires: eventTime in microseconds, type, action, reporting controller and instance', () => {
    const e = workloadEvent(workload, base, src);
    assert.ok(e);
    assert.equal(e.apiVersion, 'events.k8s.io/v1');
    assert.equal(e.eventTime, '2026-12-01T10:00:00.123000Z');
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'Restarted');
    assert.equal(e.action, 'Restart');
    assert.equal(e.reportingController, 'rotor');
    assert.equal(e.reportingInstance, 'onSecretEvent-00001/host-a');
    assert.deepEqual(e.regarding, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'api',
      uid: 'u-1',
    });
    assert.equal(e.metadata.namespace, 'shop');
    assert.match(e.metadata.name, /^api\.rotor-[0-9a-f]{16}$/);
    assert.equal(e.note, 'projects/p/secrets/db version 7: env PW only changes when the pod restarts');
  });

  it('a halt is a Warning naming the reasons', () => {
    const e = workloadEvent(
      workload,
      { ...base, result: 'halted', reason: 'the rollout failed: api-1 app: CrashLoopBackOff' },
      src,
    );
    assert.equal(e?.type, 'Warning');
    assert.equal(e?.note, 'projects/p/secrets/db version 7: the rollout failed: api-1 app: CrashLoopBackOff');
  });

  it('the same fact has the same name (a redelivery repeats nothing); another wave, version or reason does not', () => {
    const waiting: WorkloadOutcome = {
      ...base,
      result: 'waiting',
      action: 'restart',
      waitingFor: 'wave',
      wave: 2,
    };
    const name = (o: WorkloadOutcome, s = src): string | undefined =>
      workloadEvent(workload, o, s)?.metadata.name;
    assert.equal(name(waiting), name(waiting, { ...src, now: new Date('2026-12-01T11:00:00Z') }));
    assert.equal(name(waiting), name({ ...waiting, reason: 'other words, same wait' }));
    assert.notEqual(name(waiting), name({ ...waiting, waitingFor: 'eso' }));
    assert.notEqual(name(waiting), name(waiting, { ...src, version: '8' }));
    assert.notEqual(name(waiting), name(base));
  });

  it('alias moves (no version) are told apart by the versions they moved to, in any order', () => {
    const update = { secret: 'projects/p/secrets/db', instance: 'i', now: new Date('2026-12-01T10:00:00Z') };
    const name = (aliases: Record<string, string>): string | undefined =>
      workloadEvent(workload, base, { ...update, aliases })?.metadata.name;
    assert.notEqual(name({ current: '7' }), name({ current: '8' }), 'the next rotation is a new fact');
    assert.equal(name({ current: '7', canary: '8' }), name({ canary: '8', current: '7' }));
    assert.notEqual(name({ current: '7' }), workloadEvent(workload, base, update)?.metadata.name);
  });

  it('truncates the note to 1024 characters and the instance to 128', () => {
    const e = workloadEvent(
      workload,
      { ...base, reason: 'x'.repeat(2000) },
      { ...src, instance: 'i'.repeat(300) },
    );
    assert.equal(e?.note.length, 1024);
    assert.ok(e?.note.endsWith(' ...'));
    assert.equal(e?.reportingInstance.length, 128);
  });

  it('microTime has exactly six fractional digits', () => {
    assert.equal(microTime(new Date('2026-12-01T10:00:00Z')), '2026-12-01T10:00:00.000000Z');
  });
});
