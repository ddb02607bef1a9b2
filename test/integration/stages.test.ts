// Cluster stages on the real control plane (issue 22, item 3): two views of one API server stand in
// for a staging cluster (stage 0) and a production cluster (stage 1), each seeing only its own
// labelled objects (test/harness/labelledCluster.ts). The real controller manager computes the
// rollouts from the pods a kubelet stand-in writes. Stage 1 is untouched while stage 0's rollout is
// not done, acted on once it is, and held (reported, not waited for) when stage 0 halts; both in
// one delivery over every cluster and as a fanned-out production cluster that only reads staging.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { Kubelet } from '../harness/kubelet';
import { podRestartedAt, startKubelet } from '../harness/kubelet';
import { CLUSTER_LABEL, LabelledCluster } from '../harness/labelledCluster';
import { subPathCsiDeployment } from '../harness/workloads';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { deliverOnce } from '../harness/redelivery';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';
import { notificationMessage } from '../../functions/core/event';
import { loadConfig } from '../../functions/config';
import type { EventContext } from '../../functions/core/decision';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import type { ReconcileConfig, StageSettings } from '../../functions/pipeline/reconcile';
import { reconcilePass } from '../../functions/pipeline/reconcile';

const SECRET = 'projects/my-proj/secrets/staged-key';
const STAGING_NS = 'stage-a';
const PROD_NS = 'stage-b';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** A restart consumer (a CSI subPath mount) labelled as `cluster`'s, pods included. */
function consumer(cluster: string, namespace: string): object {
  const d = subPathCsiDeployment({ name: 'api', namespace, spc: 'keys', replicas: 2 }) as {
    metadata: Record<string, unknown>;
    spec: { template: { metadata: { labels: Record<string, string> } } };
  };
  d.metadata.labels = { [CLUSTER_LABEL]: cluster };
  d.spec.template.metadata.labels[CLUSTER_LABEL] = cluster;
  return d;
}

/** A cluster under the name ROTOR_CLUSTERS gives it (`kubeconfig:…`), seeing what `inner` sees. */
class Named implements KubeApi {
  constructor(
    private readonly inner: KubeApi,
    readonly cluster: string,
  ) {}
  request<T>(req: KubeRequest): Promise<T> {
    return this.inner.request<T>(req);
  }
  requestCount(): number {
    return this.inner.requestCount();
  }
  close(): void {}
}

describe('cluster stages on the real control plane', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let staging: KubeApi;
  let prod: KubeApi;
  let stagingKubelet: Kubelet;
  let prodKubelet: Kubelet;
  let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>>;

  const admin = <T = KubeObject>(method: string, path: string, body?: object): Promise<T> =>
    cp.admin<T>(method, path, body);
  const markerOf = async (ns: string): Promise<string | undefined> => {
    const d = await admin<{ spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>(
      'GET',
      `/apis/apps/v1/namespaces/${ns}/deployments/api`,
    );
    return d.spec.template.metadata?.annotations?.[RESTARTED_AT];
  };
  const available = async (ns: string): Promise<boolean> => {
    const d = await admin<KubeObject & { status?: Record<string, number> }>(
      'GET',
      `/apis/apps/v1/namespaces/${ns}/deployments/api`,
    );
    const s = d.status ?? {};
    const generation = (d.metadata as { generation?: number } | undefined)?.generation ?? 0;
    return (
      (s.observedGeneration ?? 0) >= generation &&
      s.updatedReplicas === 2 &&
      s.availableReplicas === 2 &&
      s.replicas === 2
    );
  };

  const fleet: StageSettings['fleet'] = [
    { name: 'staging', stage: 0 },
    { name: 'prod', stage: 1 },
  ];
  const event = (version: string): EventContext => ({
    type: 'SECRET_VERSION_ADD',
    secret: parseSecretName(SECRET).id,
    version,
    time: new Date().toISOString(),
  });
  /** One pass: both clusters (one delivery over the fleet), or prod alone observing staging (fan-out). */
  async function pass(
    ctx: EventContext,
    messageId: string,
    mode: 'in-process' | 'fan-out',
  ): Promise<EventOutcome> {
    const cfg: ReconcileConfig = {
      clusters: mode === 'in-process' ? [staging, prod] : [prod],
      projects: new ProjectMap(),
      dryRun: false,
      maxWaitMs: 600_000,
      concurrency: 4,
      clusterConcurrency: 2,
      reload: { retries: 0, backoffMs: 0 },
      waves: { size: 10, rolloutTimeoutMs: 600_000 },
      stages: { fleet, maxWaitMs: 3_600_000, ...(mode === 'fan-out' ? { observe: [staging] } : {}) },
      logger: memoryLogger(),
    };
    return (await reconcilePass(ctx, { messageId }, cfg)).outcome;
  }
  const inCluster = (o: EventOutcome, cluster: string): WorkloadOutcome | undefined =>
    o.workloads.find((w) => w.cluster === cluster);

  before(async () => {
    confirming = await startConfirmingSecretManager();
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    for (const [cluster, ns] of [
      ['staging', STAGING_NS],
      ['prod', PROD_NS],
    ] as const) {
      await admin('POST', '/api/v1/namespaces', { metadata: { name: ns } });
      await admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${ns}/secretproviderclasses`, {
        apiVersion: 'secrets-store.csi.x-k8s.io/v1',
        kind: 'SecretProviderClass',
        metadata: { name: 'keys', labels: { [CLUSTER_LABEL]: cluster } },
        spec: {
          provider: 'gke',
          parameters: { secrets: `- resourceName: "${SECRET}/versions/latest"\n  path: "f0.txt"\n` },
        },
      });
      await admin('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, consumer(cluster, ns));
    }
    stagingKubelet = await startKubelet(cp, { namespace: STAGING_NS, pollMs: 100 });
    prodKubelet = await startKubelet(cp, { namespace: PROD_NS, pollMs: 100 });
    await waitFor(() => available(STAGING_NS), { what: 'staging available before the events' });
    await waitFor(() => available(PROD_NS), { what: 'prod available before the events' });
    const path = cp.kubeconfigPathFor('rotor');
    staging = new LabelledCluster(kubeApiFromKubeconfig(path, undefined, 'staging'), 'staging');
    prod = new LabelledCluster(kubeApiFromKubeconfig(path, undefined, 'prod'), 'prod');
  });

  after(async () => {
    staging?.close();
    prod?.close();
    await stagingKubelet?.stop();
    await prodKubelet?.stop();
    await cp?.stop();
    await confirming?.close();
  });

  it('stage 1 is untouched while stage 0 rolls out, and acted on once its rollout is done', async () => {
    // Staging's new pods never become Ready until the test says so: its rollout is not done.
    const before = await markerOf(STAGING_NS);
    stagingKubelet.setPolicy((pod) =>
      podRestartedAt(pod) === before ? { kind: 'ready' } : { kind: 'pending' },
    );
    const ctx = event('2');

    const first = await pass(ctx, 'm-2', 'in-process');
    assert.equal(inCluster(first, 'staging')?.result, 'restarted');
    const held = inCluster(first, 'prod');
    assert.equal(held?.result, 'waiting');
    assert.equal(held?.waitingFor, 'stage');
    assert.match(
      held?.reason ?? '',
      /; stage 1 waits for stage 0: in cluster staging Deployment stage-a\/api was restarted, its rollout is not done$/,
    );
    assert.equal(first.pending, 2, 'staging rolling out and prod waiting: both pending');
    assert.equal(first.halted, undefined);
    const prodBefore = await markerOf(PROD_NS);

    const second = await pass(ctx, 'm-2', 'in-process');
    assert.equal(inCluster(second, 'staging')?.waitingFor, 'rollout');
    assert.match(
      inCluster(second, 'prod')?.reason ?? '',
      /stage 1 waits for stage 0: in cluster staging Deployment stage-a\/api waits for its rollout$/,
    );
    // Fanned out: prod's own delivery reads staging (never writes there) and waits the same way.
    const fanned = await pass(ctx, 'm-2', 'fan-out');
    assert.deepEqual(
      fanned.workloads.map((w) => [w.cluster, w.result, w.waitingFor]),
      [['prod', 'waiting', 'stage']],
    );
    assert.match(
      fanned.workloads[0]?.reason ?? '',
      /in cluster staging Deployment stage-a\/api waits for its rollout$/,
    );
    assert.equal(fanned.pending, 1);
    assert.equal(await markerOf(PROD_NS), prodBefore, 'prod untouched while staging rolls out');

    stagingKubelet.setPolicy(() => ({ kind: 'ready' }));
    await waitFor(() => available(STAGING_NS), { what: 'staging rolled out' });
    const third = await pass(ctx, 'm-2', 'fan-out');
    assert.deepEqual(
      third.workloads.map((w) => [w.cluster, w.result]),
      [['prod', 'restarted']],
    );
    assert.notEqual(await markerOf(PROD_NS), prodBefore, 'prod restarted once staging converged');
    await waitFor(() => available(PROD_NS), { what: 'prod rolled out' });
    const done = await pass(ctx, 'm-2', 'in-process');
    assert.deepEqual(
      done.workloads.map((w) => [w.cluster, w.result]),
      [
        ['staging', 'unchanged'],
        ['prod', 'unchanged'],
      ],
    );
    assert.equal(done.pending, 0);
  });

  it('a halt in stage 0 holds stage 1: reported waiting for the stage, not waited for', async () => {
    const healthy = await markerOf(STAGING_NS);
    // Staging's next revision crashloops (a bad value); the old one stays healthy.
    stagingKubelet.setPolicy((pod) =>
      podRestartedAt(pod) === healthy ? { kind: 'ready' } : { kind: 'crashloop' },
    );
    const prodBefore = await markerOf(PROD_NS);
    const ctx = event('3');
    const first = await pass(ctx, 'm-3', 'in-process');
    assert.equal(inCluster(first, 'staging')?.result, 'restarted');
    assert.equal(inCluster(first, 'prod')?.waitingFor, 'stage');

    // Passes until the crash loop halts staging (the controller and the stand-in need a moment).
    let halted: EventOutcome | undefined;
    await waitFor(
      async () => {
        const o = await pass(ctx, 'm-3', 'in-process');
        if (o.halted?.length) halted = o;
        return halted !== undefined;
      },
      { what: 'staging halted' },
    );
    assert.ok(halted);
    assert.deepEqual(
      halted.halted?.map((h) => [h.cluster, h.workload]),
      [['staging', 'Deployment stage-a/api']],
    );
    const held = inCluster(halted, 'prod');
    assert.equal(held?.result, 'waiting');
    assert.equal(held?.waitingFor, 'stage');
    assert.match(
      held?.reason ?? '',
      /stage 1 is held by the halt in cluster staging \(stage 0\): Deployment stage-a\/api halted; a person continues with rotor apply$/,
    );
    assert.equal(halted.pending, 0, 'a halt is not waited for: the event ends, acked, as halts do');

    // Fanned out: prod's delivery sees staging's halt too, reports it, and holds.
    const fanned = await pass(ctx, 'm-3', 'fan-out');
    assert.deepEqual(
      fanned.halted?.map((h) => [h.cluster, h.workload]),
      [['staging', 'Deployment stage-a/api']],
    );
    assert.match(fanned.workloads[0]?.reason ?? '', /held by the halt in cluster staging/);
    assert.equal(fanned.pending, 0);
    assert.equal(await markerOf(PROD_NS), prodBefore, 'prod never restarted onto the bad value');
  });

  it('one delivery (the in-delivery loop) acts on stage 1 once stage 0 converged, from ROTOR_CLUSTERS', async () => {
    // Staging healthy again (the crashlooping revision recovers), and every new revision is Ready.
    stagingKubelet.setPolicy(() => ({ kind: 'ready' }));
    await waitFor(() => available(STAGING_NS), { what: 'staging recovered' });
    const prodBefore = await markerOf(PROD_NS);
    const published: EventOutcome[] = [];
    const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret: SECRET, version: '4' });
    confirming.announce(message);
    const delivery = await deliverOnce(
      { message: { ...message, messageId: 'm-4', publishTime: new Date().toISOString() } },
      {
        config: loadConfig({
          ROTOR_CLUSTERS: 'kubeconfig:staging;stage=0,kubeconfig:prod;stage=1',
          ROTOR_DELIVERY_BUDGET_SECONDS: '120',
          ROTOR_DELIVERY_POLL_SECONDS: '1',
        }),
        secretManager: confirming.secretManager,
        logger: memoryLogger(),
        clusters: () =>
          Promise.resolve([new Named(staging, 'kubeconfig:staging'), new Named(prod, 'kubeconfig:prod')]),
        publisher: {
          publish: (o: EventOutcome) => {
            published.push(o);
            return Promise.resolve(`outcome-${published.length}`);
          },
          close: () => Promise.resolve(),
        },
      },
    );
    assert.equal(delivery.acked, true, 'done in one delivery');
    const prodResults = published.map((o) => inCluster(o, 'kubeconfig:prod'));
    // First report: staging restarted, prod waits for it.
    assert.equal(inCluster(published[0], 'kubeconfig:staging')?.result, 'restarted');
    assert.equal(prodResults[0]?.waitingFor, 'stage');
    assert.match(prodResults[0]?.reason ?? '', /stage 1 waits for stage 0: in cluster kubeconfig:staging /);
    // Prod restarted exactly once, in a pass where staging was done (unchanged, not rolling out).
    const restartedIn = published.filter((o) => inCluster(o, 'kubeconfig:prod')?.result === 'restarted');
    assert.equal(restartedIn.length, 1, JSON.stringify(prodResults.map((w) => w?.result)));
    assert.equal(inCluster(restartedIn[0], 'kubeconfig:staging')?.result, 'unchanged');
    assert.notEqual(await markerOf(PROD_NS), prodBefore);
    const last = published[published.length - 1];
    assert.equal(last?.pending, 0);
  });
});
