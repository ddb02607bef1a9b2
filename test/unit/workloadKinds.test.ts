// The table of workload kinds: each kind's group, pod template, restart marker, pause, roll and
// pod-ownership facts, as the rest of Rotor reads them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../functions/core/kube';
import { KINDS, isWorkload, podTemplate, workloadKindOf } from '../../functions/core/workloadKinds';
import { workload } from './k8s';

const RESTARTED = { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z' };

describe('workload kinds', () => {
  it('a kind is recognised by group and kind together', () => {
    assert.equal(isWorkload(workload('Deployment', 'a', {})), true);
    assert.equal(isWorkload({ ...workload('Deployment', 'a', {}), apiVersion: 'example.com/v1' }), false);
    assert.equal(isWorkload(workload('Job', 'a', {})), true, 'read, never acted on');
    assert.equal(isWorkload(workload('Job', 'a', {}, { apiVersion: 'apps/v1' })), false);
    assert.equal(isWorkload(workload('Pod', 'a', {})), true, 'read, never acted on');
    assert.equal(isWorkload(workload('ReplicaSet', 'a', {})), false);
    assert.equal(isWorkload(workload('Rollout', 'a', {})), true);
    assert.equal(workloadKindOf({ kind: 'toString', apiVersion: 'apps/v1' }), undefined);
  });

  it('the pod template: embedded, or the job template of a CronJob; the restart marker where each controller looks', () => {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Rollout'] as const) {
      const w = workload(kind, 'a', { containers: [{ name: 'x' }] }, { templateAnnotations: RESTARTED });
      assert.deepEqual(podTemplate(w)?.spec?.containers, [{ name: 'x' }], kind);
      const marker = KINDS[kind].restartedAt(w);
      assert.equal(marker, kind === 'Rollout' ? undefined : '2024-05-01T10:00:00Z', kind);
    }
    const rollout = workload('Rollout', 'r', {});
    (rollout.spec as Record<string, unknown>).restartAt = '2024-05-01T11:00:00Z';
    assert.equal(KINDS.Rollout.restartedAt(rollout), '2024-05-01T11:00:00Z');
    assert.deepEqual(KINDS.Rollout.restartPatch('T'), {
      contentType: 'application/merge-patch+json',
      spec: { restartAt: 'T' },
    });
  });

  it('paused: Deployments and Rollouts only; OnDelete StatefulSets and DaemonSets do not roll', () => {
    const withSpec = (kind: string, spec: Record<string, unknown>): KubeObject => {
      const w = workload(kind, 'a', {});
      return { ...w, spec: { ...(w.spec as Record<string, unknown>), ...spec } };
    };
    assert.equal(KINDS.Deployment.paused(withSpec('Deployment', { paused: true })), true);
    assert.equal(KINDS.Rollout.paused(withSpec('Rollout', { paused: true })), true);
    assert.equal(KINDS.StatefulSet.paused(withSpec('StatefulSet', { paused: true })), false);
    assert.equal(KINDS.Deployment.paused(withSpec('Deployment', {})), false);
    const onDelete = { updateStrategy: { type: 'OnDelete' } };
    assert.equal(KINDS.StatefulSet.rollsOnRestart(withSpec('StatefulSet', onDelete)), false);
    assert.equal(KINDS.DaemonSet.rollsOnRestart(withSpec('DaemonSet', onDelete)), false);
    assert.equal(KINDS.StatefulSet.rollsOnRestart(withSpec('StatefulSet', {})), true);
  });

  it('wanted pods and how pods belong to each kind', () => {
    assert.equal(KINDS.Deployment.wantsPods(workload('Deployment', 'a', {})), true, 'replicas default to 1');
    const zero = workload('Deployment', 'a', {});
    (zero.spec as Record<string, unknown>).replicas = 0;
    assert.equal(KINDS.Deployment.wantsPods(zero), false);
    assert.equal(KINDS.CronJob.wantsPods(workload('CronJob', 'a', {})), false);
    assert.deepEqual(
      Object.fromEntries(
        Object.values(KINDS).map((k) => [
          k.kind,
          k.podOwner.via === 'direct' ? 'Pod' : `${k.podOwner.kind} → Pod`,
        ]),
      ),
      {
        Deployment: 'ReplicaSet → Pod',
        StatefulSet: 'Pod',
        DaemonSet: 'Pod',
        CronJob: 'Job → Pod',
        Rollout: 'ReplicaSet → Pod',
        Job: 'Pod',
        Pod: 'Pod',
      },
    );
  });
});
