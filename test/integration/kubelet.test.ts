// The kubelet stand-in against the real kube-controller-manager: pods it marks Ready make a
// Deployment Available and a DaemonSet's pods available on its Node; pods it marks
// CrashLoopBackOff keep a restarted Deployment's new revision unavailable. The rollout status
// asserted here is what the real controllers computed, not anything the stand-in wrote.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { Kubelet, StandInPod } from '../harness/kubelet';
import { podRestartedAt, startKubelet } from '../harness/kubelet';

const NS = 'kubelet';
const MERGE = 'application/merge-patch+json';

interface WorkloadStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  numberAvailable?: number;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
}

function template(app: string): object {
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  };
}

describe('kubelet stand-in on the real control plane', { timeout: 180_000 }, () => {
  let cp: ControlPlane;
  let kubelet: Kubelet;

  before(async () => {
    cp = await startControlPlane({ users: [] });
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    kubelet = await startKubelet(cp, { namespace: NS, pollMs: 100 });
  });

  after(async () => {
    await kubelet?.stop();
    await cp?.stop();
  });

  const status = async (path: string): Promise<WorkloadStatus> =>
    (await cp.admin<{ status?: WorkloadStatus }>('GET', path)).status ?? {};

  it('Ready pods make a Deployment Available; a CrashLoopBackOff revision stays unavailable', async () => {
    const path = `/apis/apps/v1/namespaces/${NS}/deployments/web`;
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template('web') },
    });
    await waitFor(async () => (await status(path)).availableReplicas === 2, {
      what: `web available (${kubelet.lastError()})`,
    });

    const restartedAt = '2026-12-01T10:00:00Z';
    kubelet.setPolicy((pod: StandInPod) =>
      podRestartedAt(pod) === restartedAt ? { kind: 'crashloop', restartCount: 4 } : { kind: 'ready' },
    );
    await cp.admin(
      'PATCH',
      path,
      {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } },
        },
      },
      MERGE,
    );
    const crashing = await waitFor(
      async () => {
        const pods = await cp.admin<{ items: Array<StandInPod & { status?: Record<string, unknown> }> }>(
          'GET',
          `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`,
        );
        const fresh = pods.items.filter((p) => podRestartedAt(p) === restartedAt);
        const waiting = fresh.filter((p) =>
          JSON.stringify(p.status ?? {}).includes('"reason":"CrashLoopBackOff"'),
        );
        return waiting.length > 0 ? waiting : undefined;
      },
      { what: 'a crashlooping pod of the new revision' },
    );
    assert.ok(crashing[0]?.spec.nodeName, 'the stand-in bound the pod to its Node');
    const s = await status(path);
    assert.equal(
      s.availableReplicas,
      2,
      'the old revision stays available (maxUnavailable 25% of 2 rounds to 0)',
    );
    assert.ok((s.updatedReplicas ?? 0) >= 1 && (s.updatedReplicas ?? 0) < 3);

    kubelet.setPolicy(() => ({ kind: 'ready' }));
    await waitFor(
      async () => {
        const t = await status(path);
        return t.updatedReplicas === 2 && t.availableReplicas === 2 && t.replicas === 2;
      },
      { what: 'the new revision available once its pods are Ready' },
    );
  });

  it('binds DaemonSet pods to its Node and makes them available', async () => {
    const path = `/apis/apps/v1/namespaces/${NS}/daemonsets/agent`;
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/daemonsets`, {
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') },
    });
    await waitFor(
      async () => {
        const s = await status(path);
        return s.desiredNumberScheduled === 1 && s.numberAvailable === 1;
      },
      { what: `DaemonSet agent available on the stand-in node (${kubelet.lastError()})` },
    );
  });
});
