// Kubernetes Events at the API server's limits, on the real control plane: a Deployment whose
// 201-character name has "-" as its 200th character (the old Event name, cut at 200, ended in
// "-." and was refused), and a note of 586 characters that is 1386 bytes of UTF-8 (the API server
// counts bytes). Every Event is created, and a converged event stays converged: later deliveries
// report nothing again and wait for nothing. Rotor acts as the least-privileged `rotor` user;
// deliveries go through handleSecretEvent, the function's own handler (a throw is a nack).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { Kubelet } from '../harness/kubelet';
import { startKubelet } from '../harness/kubelet';
import { subPathCsiDeployment } from '../harness/workloads';
import type { Delivery } from '../harness/redelivery';
import { deliverOnce, redeliverUntilAcked } from '../harness/redelivery';
import type { KubeObject } from '../../functions/core/kube';
import { workloadEvent } from '../../functions/core/kubeEvents';
import { notificationMessage } from '../../functions/core/event';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { KnownEvents, createEvent } from '../../functions/cluster/events';
import { loadConfig } from '../../functions/config';
import { memoryLogger } from '../../functions/log';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';

const NS = 'limits';
const SECRET = 'projects/my-proj/secrets/limits-key';
/** 201 characters, a valid Deployment name; its 200th character is "-". */
const LONG = `${'l'.repeat(199)}-x`;

interface EventView {
  metadata: { name: string };
  reason: string;
  type: string;
  note: string;
  regarding: { name: string };
}

describe('Kubernetes Events at the limits, on the real API server', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  let kubelet: Kubelet;
  let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>>;
  const logger = memoryLogger();
  const knownEvents = new KnownEvents();
  const admin = <T = KubeObject>(method: string, path: string, body?: object): Promise<T> =>
    cp.admin<T>(method, path, body);

  const publishedAt = new Map<string, string>();
  /** One delivery of `messageId`: the same timestamp on every redelivery, as Pub/Sub keeps it. */
  const deliver = (messageId: string): Promise<Delivery> => {
    const timestamp = publishedAt.get(messageId) ?? new Date().toISOString();
    publishedAt.set(messageId, timestamp);
    const message = notificationMessage({
      type: 'SECRET_VERSION_ADD',
      secret: SECRET,
      version: '2',
      timestamp,
    });
    confirming.announce(message);
    return deliverOnce(
      { message: { ...message, messageId, publishTime: timestamp } },
      {
        config: loadConfig({}),
        logger,
        knownEvents,
        secretManager: confirming.secretManager,
        clusters: () => Promise.resolve([api]),
      },
    );
  };
  const eventsOf = async (name: string): Promise<EventView[]> => {
    const list = await admin<{ items: EventView[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events`);
    return list.items.filter((e) => e.regarding.name === name);
  };
  const notCreated = (): string[] =>
    logger.entries.filter((e) => /Kubernetes Event .* not created/.test(e.message)).map((e) => e.message);

  before(async () => {
    confirming = await startConfirmingSecretManager();
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    kubelet = await startKubelet(cp, { namespace: NS, pollMs: 100 });
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });
  after(async () => {
    api?.close();
    await kubelet?.stop();
    await cp?.stop();
    await confirming?.close();
  });

  it('a 201-character Deployment name: its Events are created, and later deliveries report nothing again', async () => {
    await admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'limits' },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${SECRET}/versions/latest"\n  path: "f0.txt"\n` },
      },
    });
    await admin(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      subPathCsiDeployment({ name: LONG, namespace: NS, spc: 'limits', replicas: 1, app: 'long' }),
    );
    const available = async (): Promise<boolean> => {
      const d = await admin<
        KubeObject & { status?: { availableReplicas?: number; updatedReplicas?: number } }
      >('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${LONG}`);
      return d.status?.availableReplicas === 1 && d.status.updatedReplicas === 1;
    };
    await waitFor(available, { what: 'the long-named Deployment available' });

    const { outcome } = await redeliverUntilAcked(() => deliver('m-long'), {
      deadline: Date.now() + 120_000,
      pollMs: 250,
      // The last refusal says why (each delivery repeats it).
      why: () => `${kubelet.lastError()} ${notCreated().slice(-1).join('')}`,
    });
    assert.equal(outcome.converged, true);
    assert.deepEqual(notCreated(), [], 'no Event was refused');
    const restarted = (await eventsOf(LONG)).filter((e) => e.reason === 'Restarted');
    assert.equal(restarted.length, 1, 'one Restarted Event');
    const name = restarted[0]?.metadata.name ?? '';
    assert.ok(name.startsWith(`${'l'.repeat(199)}-x.rotor-`), name);
    assert.ok(name.length <= 253, `${name.length} characters`);

    // Later deliveries of the converged event: nothing is reported again, nothing is pending.
    for (const messageId of ['m-long', 'm-long']) {
      const later = await deliver(messageId);
      assert.equal(later.acked, true, 'acked at once');
      const o = (later as { outcome: EventOutcome }).outcome;
      assert.deepEqual(
        o.workloads.map((w) => [w.name, w.result]),
        [[LONG, 'unchanged']],
      );
      assert.equal(o.pending, 0);
    }
    assert.equal((await eventsOf(LONG)).filter((e) => e.reason === 'Restarted').length, 1);
  });

  it('a note of 586 characters and 1386 bytes: the Event is created with the note cut to 1024 bytes', async () => {
    const workload = await admin<KubeObject>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${LONG}`);
    const prefix = `${SECRET} version 2: `;
    // "—" is 3 bytes of UTF-8: with the 47-byte prefix, 586 characters and 1386 bytes.
    const reason = `${'—'.repeat(400)}${'r'.repeat(139)}`;
    assert.equal(prefix.length + reason.length, 586);
    assert.equal(Buffer.byteLength(prefix + reason), 1386);
    const halted: WorkloadOutcome = {
      cluster: 'local',
      kind: 'Deployment',
      namespace: NS,
      name: LONG,
      action: 'restart',
      result: 'halted',
      reason,
    };
    const event = workloadEvent(workload, halted, {
      secret: SECRET,
      version: '2',
      instance: 'eventLimits-test',
      now: new Date(),
    });
    assert.ok(event);
    await createEvent(api, event, logger);
    assert.deepEqual(notCreated(), [], 'the API server accepted it');
    const stored = (await eventsOf(LONG)).find((e) => e.reason === 'Halted');
    assert.equal(stored?.type, 'Warning');
    // Within 1024 bytes: the prefix (47), 324 whole dashes (972 bytes) and " ..." (4).
    assert.equal(stored?.note, `${prefix}${'—'.repeat(324)} ...`);
    assert.ok(Buffer.byteLength(stored?.note ?? '') <= 1024);
  });
});
