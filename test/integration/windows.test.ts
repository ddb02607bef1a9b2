// Maintenance windows on the real control plane (issue 22): a restart consumer outside its window
// is reported waiting for the window, with when it opens, and the same delivery (the in-delivery
// loop) restarts it once the window opens; a namespace's operator-set rotor.dev/restart-windows
// overrides ROTOR_RESTART_WINDOWS. The window is "daily HH:MM-HH:MM UTC", starting at the next
// minute boundary (at least 10 s away), so it opens during the test.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { Kubelet } from '../harness/kubelet';
import { startKubelet } from '../harness/kubelet';
import { subPathCsiDeployment } from '../harness/workloads';
import { deliverOnce } from '../harness/redelivery';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';
import type { KubeObject } from '../../functions/core/kube';
import { notificationMessage } from '../../functions/core/event';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { loadConfig } from '../../functions/config';
import { memoryLogger } from '../../functions/log';
import type { EventOutcome } from '../../functions/core/outcome';

const NS = 'windows';
const OTHER_NS = 'windows-late';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const SECRET = 'projects/my-proj/secrets/window-key';

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

describe('maintenance windows on the real control plane', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  let kubelet: Kubelet;
  let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>>;
  const published: EventOutcome[] = [];

  const admin = <T = KubeObject>(method: string, path: string, body?: object): Promise<T> =>
    cp.admin<T>(method, path, body);
  const markerOf = async (ns: string, name: string): Promise<string | undefined> => {
    const d = await admin<{ spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>(
      'GET',
      `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
    );
    return d.spec.template.metadata?.annotations?.[RESTARTED_AT];
  };

  async function createConsumer(ns: string, name: string): Promise<void> {
    await admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${ns}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'keys' },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${SECRET}/versions/latest"\n  path: "f0.txt"\n` },
      },
    });
    // A subPath mount never sees a new version: a restart consumer, like an env consumer.
    await admin(
      'POST',
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      subPathCsiDeployment({ name, namespace: ns, spc: 'keys', replicas: 1 }),
    );
  }

  before(async () => {
    confirming = await startConfirmingSecretManager();
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    // The operator moved this namespace's restarts to a window that is hours away (tenants cannot
    // write a Namespace): ROTOR_RESTART_WINDOWS does not apply to it.
    const far = Date.now() + 6 * 3600_000;
    await admin('POST', '/api/v1/namespaces', {
      metadata: {
        name: OTHER_NS,
        annotations: { 'rotor.dev/restart-windows': `daily ${hhmm(far)}-${hhmm(far + 600_000)} UTC` },
      },
    });
    kubelet = await startKubelet(cp, { namespace: NS, pollMs: 100 });
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await kubelet?.stop();
    await cp?.stop();
    await confirming?.close();
  });

  it('waits outside the window, then restarts in the same delivery once it opens', async () => {
    await createConsumer(NS, 'api');
    await createConsumer(OTHER_NS, 'late');
    // The window starts at the next minute boundary at least 10 s away, and lasts 10 minutes.
    const opensAtMs = Math.ceil((Date.now() + 10_000) / 60_000) * 60_000;
    const windows = `daily ${hhmm(opensAtMs)}-${hhmm(opensAtMs + 600_000)} UTC`;
    const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret: SECRET, version: '2' });
    confirming.announce(message);
    const delivery = await deliverOnce(
      { message: { ...message, messageId: 'w1', publishTime: new Date().toISOString() } },
      {
        config: loadConfig({
          ROTOR_RESTART_WINDOWS: windows,
          // The delivery waits for the window (10 to 70 s away), then for the restart's rollout (a
          // second or two with the kubelet stand-in): its budget ends 30 s after the window opens.
          // With `late` waiting for its own window, the delivery sleeps out whatever budget is left.
          ROTOR_DELIVERY_BUDGET_SECONDS: String(Math.ceil((opensAtMs - Date.now()) / 1000) + 30),
          ROTOR_DELIVERY_POLL_SECONDS: '1',
        }),
        secretManager: confirming.secretManager,
        logger: memoryLogger(),
        clusters: () => Promise.resolve([api]),
        publisher: {
          publish: (o: EventOutcome) => {
            published.push(o);
            return Promise.resolve(`outcome-${published.length}`);
          },
          close: () => Promise.resolve(),
        },
      },
    );

    // First report: both wait for their windows, each says when, and nothing was restarted.
    const first = published[0]?.workloads ?? [];
    const api1 = first.find((w) => w.name === 'api');
    assert.equal(api1?.result, 'waiting');
    assert.equal(api1?.waitingFor, 'window');
    assert.equal(api1?.opensAt, new Date(opensAtMs).toISOString());
    assert.match(
      api1?.reason ?? '',
      new RegExp(`waits for ROTOR_RESTART_WINDOWS \\(${windows}\\), which opens at`),
    );
    const late = first.find((w) => w.name === 'late');
    assert.equal(late?.waitingFor, 'window');
    assert.match(late?.reason ?? '', /namespace windows-late's rotor\.dev\/restart-windows/);

    // Then, in the same delivery: api restarted once its window opened; late still waits.
    await waitFor(async () => (await markerOf(NS, 'api')) !== undefined, { what: 'api restarted' });
    const marker = await markerOf(NS, 'api');
    assert.ok(
      Date.parse(marker ?? '') >= opensAtMs,
      `restarted at ${marker}, before the window opened at ${new Date(opensAtMs).toISOString()}`,
    );
    assert.equal(await markerOf(OTHER_NS, 'late'), undefined, 'the namespace with a later window untouched');
    // Reported restarted once (a later pass, after its rollout, finds it applied: unchanged).
    const apiReports = published.flatMap((o) =>
      o.workloads.filter((w) => w.name === 'api').map((w) => w.result),
    );
    assert.equal(apiReports.filter((r) => r === 'restarted').length, 1, JSON.stringify(apiReports));
    const last = published[published.length - 1]?.workloads ?? [];
    assert.equal(last.find((w) => w.name === 'late')?.waitingFor, 'window');
    // The delivery ends with `late` still on schedule: without a continuation topic it redelivers.
    assert.equal(delivery.acked, false);
  });
});
