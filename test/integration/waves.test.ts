// Waves and the brake on the real control plane: the real kube-controller-manager rolls the
// Deployments Rotor restarts, the kubelet stand-in (test/harness/kubelet.ts) runs their pods
// (Ready, or CrashLoopBackOff), and Rotor, as the least-privileged `rotor` user, reads the
// rollout status the controllers compute. Deliveries go through handleSecretEvent, the function's
// own handler: a throw is a nack (Pub/Sub redelivers), a return is an ack.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { Kubelet, StandInPod } from '../harness/kubelet';
import { subPathCsiDeployment } from '../harness/workloads';
import { podRestartedAt, startKubelet } from '../harness/kubelet';
import { RecordingApi } from '../harness/recordingApi';
import type { Delivery } from '../harness/redelivery';
import { deliverAsDeployed, deliverOnce, redeliverUntilAcked } from '../harness/redelivery';
import type { KubeObject } from '../../functions/core/kube';
import { notificationMessage } from '../../functions/core/event';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import { KnownEvents } from '../../functions/cluster/events';
import { loadConfig } from '../../functions/config';
import { memoryLogger } from '../../functions/log';
import type { SecretEventEnvironment } from '../../functions/onSecretEvent';
import type { EventOutcome } from '../../functions/core/outcome';
import { runApply } from '../../functions/cli/apply';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import type { ContinuationPublisher } from '../../functions/pipeline/continuationPublisher';
import { pubsubMessageOf } from '../../functions/core/event';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';

const NS = 'waves';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
}

describe('waves and the brake on the real control plane', { timeout: 420_000 }, () => {
  let cp: ControlPlane;
  let api: RecordingApi;
  let kubelet: Kubelet;
  const published: EventOutcome[] = [];
  const logger = memoryLogger();
  /** Makes the next publish fail, as if the function died right after its patches. */
  let crashBeforePublish = false;
  /** The instance is dead: nothing it sends reaches the cluster or the outcome topic any more. */
  let dead = false;

  const admin = <T = KubeObject>(method: string, path: string, body?: object): Promise<T> =>
    cp.admin<T>(method, path, body);
  const deploymentPath = (name: string): string => `/apis/apps/v1/namespaces/${NS}/deployments/${name}`;
  const available = async (name: string): Promise<boolean> => {
    const d = await admin<KubeObject & { status?: DeploymentStatus }>('GET', deploymentPath(name));
    const s = d.status ?? {};
    const generation = (d.metadata as { generation?: number } | undefined)?.generation ?? 0;
    return (
      (s.observedGeneration ?? 0) >= generation &&
      s.updatedReplicas === 2 &&
      s.availableReplicas === 2 &&
      s.replicas === 2
    );
  };
  const markerOf = async (name: string): Promise<string | undefined> => {
    const d = await admin<{ spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>(
      'GET',
      deploymentPath(name),
    );
    return d.spec.template.metadata?.annotations?.[RESTARTED_AT];
  };

  // One warm instance for every delivery: the Events it created or found are remembered
  // (a redelivery after a crash before the report must still find its Event missing).
  const knownEvents = new KnownEvents();
  // Secret Manager, holding each version a delivery announces: Rotor confirms every notification.
  let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>>;
  const environment = (
    env: NodeJS.ProcessEnv = {},
    instance: {
      api?: KubeApi;
      knownEvents?: KnownEvents;
      continuation?: ContinuationPublisher;
      /** Publishing takes this long (a slow outcome topic: the gap before the Events are created). */
      publishDelayMs?: number;
    } = {},
  ): SecretEventEnvironment => ({
    config: loadConfig(env),
    secretManager: confirming.secretManager,
    logger,
    knownEvents: instance.knownEvents ?? knownEvents,
    clusters: () => Promise.resolve([instance.api ?? api]),
    ...(instance.continuation ? { continuation: instance.continuation } : {}),
    publisher: {
      publish: async (o: EventOutcome) => {
        if (instance.publishDelayMs) await new Promise((r) => setTimeout(r, instance.publishDelayMs));
        // Only the suite's own instance dies; another (its own api) is alive.
        if (dead && !instance.api) throw new Error('the instance died');
        if (crashBeforePublish) {
          crashBeforePublish = false;
          throw new Error('the instance died before publishing');
        }
        published.push(o);
        return `outcome-${published.length}`;
      },
      close: () => Promise.resolve(),
    },
  });

  /** Each message's publish time: Pub/Sub redelivers the same message, timestamp and all. */
  const publishedAt = new Map<string, string>();
  /** One delivery: 'acked' with the outcome when it returns, 'nacked' when it throws (redelivery). */
  function deliver(
    secret: string,
    version: string,
    messageId: string,
    env: NodeJS.ProcessEnv = {},
  ): Promise<Delivery> {
    const timestamp = publishedAt.get(messageId) ?? new Date().toISOString();
    publishedAt.set(messageId, timestamp);
    const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret, version, timestamp });
    confirming.announce(message);
    return deliverOnce({ message: { ...message, messageId, publishTime: timestamp } }, environment(env));
  }

  /** Redelivers (as Pub/Sub would, without its backoff) until acked. */
  async function deliverUntilAcked(
    secret: string,
    version: string,
    messageId: string,
    env: NodeJS.ProcessEnv = {},
  ): Promise<EventOutcome> {
    const { outcome } = await redeliverUntilAcked(() => deliver(secret, version, messageId, env), {
      deadline: Date.now() + 120_000,
      pollMs: 250,
      why: () => kubelet.lastError(),
    });
    return outcome;
  }

  async function createFleet(
    secret: string,
    spc: string,
    names: Array<[string, string | undefined]>,
  ): Promise<void> {
    await admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: spc },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${secret}/versions/latest"\n  path: "f0.txt"\n` },
      },
    });
    for (const [name, wave] of names)
      await admin(
        'POST',
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        subPathCsiDeployment({
          name,
          namespace: NS,
          spc,
          replicas: 2,
          ...(wave !== undefined ? { annotations: { 'rotor.dev/wave': wave } } : {}),
        }),
      );
    for (const [name] of names)
      await waitFor(() => available(name), { what: `${name} available before the event` });
  }

  interface EventView {
    reason: string;
    type: string;
    note: string;
    reportingController: string;
    reportingInstance: string;
    regarding: { kind: string; name: string };
  }
  /** The events.k8s.io/v1 Events about `name`, read as admin (Rotor may only create them). */
  async function eventsOf(name: string): Promise<EventView[]> {
    const list = await admin<{ items: EventView[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events`);
    return list.items.filter((e) => e.regarding.name === name);
  }

  /** ReplicaSets of a Deployment, oldest revision first. */
  async function replicaSets(name: string): Promise<KubeObject[]> {
    const list = await admin<{ items: KubeObject[] }>(
      'GET',
      `/apis/apps/v1/namespaces/${NS}/replicasets?labelSelector=app%3D${name}`,
    );
    const revision = (rs: KubeObject): number =>
      Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '0');
    return list.items.sort((a, b) => revision(a) - revision(b));
  }

  before(async () => {
    confirming = await startConfirmingSecretManager();
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    kubelet = await startKubelet(cp, { namespace: NS, pollMs: 100 });
    api = new RecordingApi(kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local'));
  });

  after(async () => {
    api?.close();
    await kubelet?.stop();
    await cp?.stop();
    await confirming?.close();
  });

  it('three healthy waves: each starts only after the earlier one is Available', async () => {
    const secret = 'projects/my-proj/secrets/fleet-key';
    const fleet: Array<[string, string | undefined]> = [
      ['api', '1'],
      ['web', '2'],
      ['worker', undefined], // the default wave: after every numbered one
    ];
    await createFleet(secret, 'fleet', fleet);
    // Measured at the moment Rotor sends each restart: every earlier wave is Available on its new revision.
    const order: string[] = [];
    const violations: string[] = [];
    api.beforeRequest = async (req) => {
      if (req.method !== 'PATCH' || !JSON.stringify(req.body ?? {}).includes(RESTARTED_AT)) return;
      const name = req.path.split('/').pop() ?? '';
      const earlier = fleet
        .slice(
          0,
          fleet.findIndex(([n]) => n === name),
        )
        .map(([n]) => n);
      for (const e of earlier) {
        if (!(await available(e)) || (await markerOf(e)) === undefined)
          violations.push(`${name} restarted while ${e} was not Available on its new revision`);
      }
      order.push(name);
    };
    try {
      const outcome = await deliverUntilAcked(secret, '2', 'm-fleet');
      assert.deepEqual(violations, []);
      assert.deepEqual(order, ['api', 'web', 'worker']);
      assert.equal(outcome.halted, undefined);
      assert.equal(outcome.converged, true);
      // Acked only once the last wave's rollout finished too.
      assert.ok(await available('worker'), 'the last wave is Available when the event is acked');
    } finally {
      api.beforeRequest = undefined;
    }
    // The ReplicaSets the controller created for the restarts were created in wave order.
    const created: number[] = [];
    for (const [name] of fleet) {
      const sets = await replicaSets(name);
      assert.equal(sets.length, 2, `${name}: the original ReplicaSet and the restart's`);
      created.push(Date.parse(sets[1]?.metadata?.creationTimestamp ?? ''));
    }
    assert.ok(created[0] <= created[1] && created[1] <= created[2], `creation order ${created.join(' ')}`);
    // Every wave was waited for in some delivery: outcomes name the wave they waited for.
    const waits = published.flatMap((o) => o.workloads.filter((w) => w.waitingFor === 'wave'));
    assert.ok(waits.some((w) => w.name === 'web' && w.wave === 2 && /waits for wave 1/.test(w.reason)));
    assert.ok(waits.some((w) => w.name === 'worker' && w.wave === 100 && /waits for wave 2/.test(w.reason)));

    // Events, created by Rotor as the `rotor` user (infra/k8s/rbac.yaml grants create on events.k8s.io).
    const web = await eventsOf('web');
    const restarted = web.filter((e) => e.reason === 'Restarted');
    assert.equal(restarted.length, 1, 'one Restarted Event however many deliveries');
    assert.equal(restarted[0]?.reportingController, 'rotor');
    assert.match(restarted[0]?.reportingInstance ?? '', /^onSecretEvent\//);
    assert.match(restarted[0]?.note ?? '', /^projects\/my-proj\/secrets\/fleet-key version 2: /);
    const waiting = web.filter((e) => e.reason === 'Waiting');
    const forWave = waiting.filter((e) => /wave 2 waits for wave 1/.test(e.note));
    const forRollout = waiting.filter((e) => /waiting for the rollout to finish/.test(e.note));
    assert.equal(forWave.length, 1, 'one Waiting Event for the wave it waited for, however many deliveries');
    assert.ok(forRollout.length <= 1, 'at most one for its own rollout');
    assert.equal(waiting.length, forWave.length + forRollout.length, JSON.stringify(waiting));
    assert.ok(
      !logger.entries.some((e) => /Kubernetes Event .* not created/.test(e.message)),
      'no Event was refused (RBAC, validation)',
    );
  });

  it('a crashlooping wave 1 halts the event: later waves untouched, outcome halted, acked; rotor apply resumes', async () => {
    const secret = 'projects/my-proj/secrets/halt-key';
    await createFleet(secret, 'halt', [
      ['h1', '1'],
      ['h2', '2'],
      ['h3', '3'],
    ]);
    // The new value breaks h1: its new revision crashloops (the old pods keep serving).
    kubelet.setPolicy((pod: StandInPod) =>
      pod.metadata.labels?.app === 'h1' && podRestartedAt(pod) !== undefined
        ? { kind: 'crashloop', restartCount: 3 }
        : { kind: 'ready' },
    );
    published.length = 0;
    const outcome = await deliverUntilAcked(secret, '5', 'm-halt');
    assert.deepEqual(
      outcome.halted?.map((h) => h.workload),
      [`Deployment ${NS}/h1`],
    );
    assert.match(
      outcome.halted?.[0]?.reasons.join('; ') ?? '',
      /h1-[a-z0-9-]+ app: CrashLoopBackOff \(3 restarts\)/,
    );
    const byName = new Map(outcome.workloads.map((w) => [w.name, w]));
    assert.equal(byName.get('h1')?.result, 'halted');
    assert.equal(byName.get('h2')?.result, 'halted');
    assert.equal(byName.get('h3')?.result, 'halted');
    assert.equal(outcome.converged, true, 'acked: a retry cannot fix a crash loop');
    assert.equal(await markerOf('h2'), undefined, 'wave 2 untouched');
    assert.equal(await markerOf('h3'), undefined, 'wave 3 untouched');
    assert.ok(
      published.some((o) => o.halted?.length),
      'the halted outcome is published',
    );
    assert.ok(
      logger.entries.some((e) => e.severity === 'ERROR' && /HALTED/.test(e.message) && /h1/.test(e.message)),
      'logged at ERROR',
    );

    // A person fixes the cause; rotor apply with the same secret and version continues.
    kubelet.setPolicy(() => ({ kind: 'ready' }));
    await waitFor(() => available('h1'), { what: 'h1 healthy after the fix' });
    let stdout = '';
    let stderr = '';
    const code = await runApply(
      [
        '--secret',
        secret,
        '--version',
        '5',
        '--kubeconfig',
        cp.kubeconfigPathFor('rotor'),
        '--wait',
        '120',
        '-o',
        'json',
      ],
      { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: {} },
    );
    assert.equal(code, 0, stderr + stdout);
    const resumed = JSON.parse(stdout) as EventOutcome;
    assert.equal(resumed.halted, undefined);
    assert.ok((await markerOf('h2')) !== undefined, 'wave 2 restarted by rotor apply');
    assert.ok((await markerOf('h3')) !== undefined, 'wave 3 restarted by rotor apply');
    const h2Restarted = (await eventsOf('h2')).find((e) => e.reason === 'Restarted');
    assert.match(h2Restarted?.reportingInstance ?? '', /^rotor-apply\//);
  });

  it('work of a delivery that died before reporting is reported by the redelivery, exactly once', async () => {
    const secret = 'projects/my-proj/secrets/crash-key';
    await createFleet(secret, 'crash', [
      ['c1', undefined],
      ['c2', undefined],
    ]);
    kubelet.setPolicy(() => ({ kind: 'ready' }));
    published.length = 0;
    crashBeforePublish = true;
    const first = await deliver(secret, '3', 'm-crash');
    assert.equal(first.acked, false, 'the failed publish nacks the delivery');
    assert.equal(published.length, 0, 'nothing reached the outcome topic');
    assert.ok((await markerOf('c1')) !== undefined && (await markerOf('c2')) !== undefined, 'both restarted');
    const appliedBy = (await admin('GET', deploymentPath('c1'))).metadata?.annotations?.[
      'rotor.dev/applied-by'
    ];
    const record = (
      JSON.parse(appliedBy ?? '{}') as Record<string, { action: string; message?: string; at: string }>
    )[secret];
    assert.equal(record?.action, 'restart');
    assert.equal(record?.message, 'm-crash');
    assert.ok(record && Date.parse(record.at) > 0);

    await deliverUntilAcked(secret, '3', 'm-crash');
    // The first redelivery reports it (while the rollout may still be going: the event then waits).
    const c1 = published.flatMap((o) => o.workloads).find((w) => w.name === 'c1');
    assert.equal(c1?.result, 'restarted');
    assert.match(
      c1?.reason ?? '',
      /^restarted by message m-crash at \S+ \(an earlier delivery, whose report was lost\)/,
    );
    const third = await deliverUntilAcked(secret, '3', 'm-crash');
    assert.deepEqual(
      third.workloads.map((w) => w.result),
      ['unchanged', 'unchanged'],
      'reported once: the Event of the report closes it',
    );
    const restarts = published.flatMap((o) => o.workloads.filter((w) => w.result === 'restarted'));
    assert.deepEqual(
      restarts.map((w) => w.name).sort(),
      ['c1', 'c2'],
      'every restart on the outcome topic exactly once',
    );
    assert.equal((await eventsOf('c1')).filter((e) => e.reason === 'Restarted').length, 1);
  });

  it('a crash loop in the last wave halts the event, although every action was already taken', async () => {
    const secret = 'projects/my-proj/secrets/last-key';
    // One wave (the default), smaller than ROTOR_WAVE_SIZE: the first delivery restarts both.
    await createFleet(secret, 'last', [
      ['l1', undefined],
      ['l2', undefined],
    ]);
    kubelet.setPolicy((pod: StandInPod) =>
      pod.metadata.labels?.app === 'l2' && podRestartedAt(pod) !== undefined
        ? { kind: 'crashloop', restartCount: 2 }
        : { kind: 'ready' },
    );
    published.length = 0;
    const first = await deliver(secret, '4', 'm-last');
    assert.equal(first.acked, false, 'acted on both; the event waits for their rollouts');
    assert.ok((await markerOf('l1')) !== undefined && (await markerOf('l2')) !== undefined, 'both restarted');
    assert.deepEqual(
      published.map((o) => [o.pending, o.awaitingRollouts]),
      [[2, 2]],
      'pending on the two rollouts it started, and on nothing else',
    );
    const outcome = await deliverUntilAcked(secret, '4', 'm-last');
    assert.deepEqual(
      outcome.halted?.map((h) => h.workload),
      [`Deployment ${NS}/l2`],
    );
    assert.match(
      outcome.halted?.[0]?.reasons.join('; ') ?? '',
      /l2-[a-z0-9-]+ app: CrashLoopBackOff \(2 restarts\)/,
    );
    assert.equal(outcome.converged, true, 'acked: a retry cannot fix a crash loop');
    assert.equal(outcome.workloads.find((w) => w.name === 'l2')?.result, 'halted');
    // While the rollouts were still going, deliveries reported them as waiting for their rollout.
    const rolling = published.flatMap((o) => o.workloads.filter((w) => w.waitingFor === 'rollout'));
    assert.ok(
      rolling.every(
        (w) =>
          w.action === 'restart' &&
          /^restarted by message m-last at \S+: waiting for the rollout to finish \(/.test(w.reason),
      ),
      JSON.stringify(rolling),
    );
    const halted = (await eventsOf('l2')).filter((e) => e.reason === 'Halted');
    assert.equal(halted.length, 1, 'one Halted Event');
    assert.equal(halted[0]?.type, 'Warning');
    assert.equal(
      published.flatMap((o) => o.workloads).filter((w) => w.result === 'restarted').length,
      2,
      'each restart reported once',
    );
    kubelet.setPolicy(() => ({ kind: 'ready' }));
  });

  it('a rollout not Available within ROTOR_ROLLOUT_TIMEOUT_SECONDS halts the event', async () => {
    const secret = 'projects/my-proj/secrets/slow-key';
    await createFleet(secret, 'slow', [
      ['s1', '1'],
      ['s2', '2'],
    ]);
    // s1's new pods never become ready, but show no failure either (no kubelet runs them).
    kubelet.setPolicy((pod: StandInPod) =>
      pod.metadata.labels?.app === 's1' && podRestartedAt(pod) !== undefined
        ? { kind: 'pending' }
        : { kind: 'ready' },
    );
    const outcome = await deliverUntilAcked(secret, '2', 'm-slow', { ROTOR_ROLLOUT_TIMEOUT_SECONDS: '2' });
    assert.deepEqual(
      outcome.halted?.map((h) => h.workload),
      [`Deployment ${NS}/s1`],
    );
    assert.match(
      outcome.halted?.[0]?.reasons[0] ?? '',
      /^the Deployment was not Available 2s after Rotor acted at /,
    );
    assert.equal(await markerOf('s2'), undefined, 'wave 2 untouched');
    kubelet.setPolicy(() => ({ kind: 'ready' }));
  });
  // The in-delivery loop (core/converge.ts, pipeline/converge.ts): a budget lets one delivery wait
  // for each wave's rollouts and act on the next at once.
  const LOOP = { ROTOR_DELIVERY_BUDGET_SECONDS: '120', ROTOR_DELIVERY_POLL_SECONDS: '2' };

  it('with a delivery budget, three waves converge in ONE delivery, re-deciding on each watched change', async () => {
    const secret = 'projects/my-proj/secrets/loop-key';
    const fleet: Array<[string, string | undefined]> = [
      ['la', '1'],
      ['lb', '2'],
      ['lc', undefined],
    ];
    await createFleet(secret, 'loop', fleet);
    published.length = 0;
    const sent = api.log.length;
    const first = await deliver(secret, '2', 'm-loop', LOOP);
    assert.equal(first.acked, true, 'the first delivery is acked: no redelivery needed');
    assert.equal(first.acked && first.outcome.converged, true);
    for (const [name] of fleet) {
      assert.ok(await available(name), `${name} Available when the delivery acks`);
      assert.equal((await replicaSets(name)).length, 2, `${name} restarted exactly once`);
    }
    const restarts = published.flatMap((o) => o.workloads.filter((w) => w.result === 'restarted'));
    assert.deepEqual(
      restarts.map((w) => w.name),
      ['la', 'lb', 'lc'],
      'each restart reported once, in wave order',
    );
    const watches = api.log.slice(sent).filter((r) => r.watch !== undefined);
    assert.ok(
      watches.some((r) => r.path === `/apis/apps/v1/namespaces/${NS}/deployments` && r.query?.watch === 1),
      'it waited on watches of the Deployments whose rollouts it started',
    );
  });

  it('a gated rollout is continued across deliveries (published continuations), never nacked into the dead-letter budget', async () => {
    const secret = 'projects/my-proj/secrets/chain-key';
    const fleet: Array<[string, string | undefined]> = [
      ['ka', '1'],
      ['kb', '2'],
      ['kc', '3'],
    ];
    await createFleet(secret, 'chain', fleet);
    published.length = 0;
    // The subscription as deployed (a short backoff for speed): continuations delivered next.
    // Two passes at most per delivery (the budget, 1 s apart): three waves need several deliveries.
    const notification = notificationMessage({ type: 'SECRET_VERSION_ADD', secret, version: '2' });
    confirming.announce(notification);
    const run = await deliverAsDeployed(
      {
        body: { message: { ...notification, messageId: 'm-chain', publishTime: new Date().toISOString() } },
        id: 'm-chain',
      },
      environment({ ROTOR_DELIVERY_BUDGET_SECONDS: '2', ROTOR_DELIVERY_POLL_SECONDS: '1' }),
      { backoffMs: 250, deadline: Date.now() + 120_000, why: () => kubelet.lastError() },
    );
    assert.equal(run.outcome.converged, true);
    assert.ok(run.continuations >= 1, `continued at least once (${run.continuations} continuations)`);
    // Pub/Sub's smallest dead-letter budget is 5 attempts: no message came near it.
    assert.ok(run.mostAttempts < 5, `at most ${run.mostAttempts} attempts of one message`);
    for (const [name] of fleet)
      assert.equal((await replicaSets(name)).length, 2, `${name} restarted exactly once`);
    // Every continuation is the same event: outcomes carry the notification's id, records its steps.
    assert.ok(published.every((o) => o.event.messageId === 'm-chain'));
    const restarts = published.flatMap((o) => o.workloads.filter((w) => w.result === 'restarted'));
    assert.deepEqual(
      restarts.map((w) => w.name),
      ['ka', 'kb', 'kc'],
      'each restart reported once',
    );
    const kc = (await admin('GET', deploymentPath('kc'))).metadata?.annotations?.['rotor.dev/applied-by'];
    const record = (JSON.parse(kc ?? '{}') as Record<string, { message?: string; step?: number }>)[secret];
    assert.equal(record?.message, 'm-chain', 'recorded as the event, whichever continuation acted');
    assert.ok((record?.step ?? 0) >= 1, 'by a continuation (a step after the first)');
  });

  it('a duplicate continuation of a step already continued stands down (acked, nothing done)', async () => {
    const secret = 'projects/my-proj/secrets/chain-key';
    // The records of the previous case show step >= 1 for event m-chain: a stale step 1 copy with
    // an id that sorts after them, or any step-0 redelivery of another id, defers to them.
    const kc = (await admin('GET', deploymentPath('kc'))).metadata?.annotations?.['rotor.dev/applied-by'];
    const record = (JSON.parse(kc ?? '{}') as Record<string, { step?: number; delivery?: string }>)[secret];
    const notification = notificationMessage({ type: 'SECRET_VERSION_ADD', secret, version: '2' });
    confirming.announce(notification);
    const stale = pubsubMessageOf({
      message: {
        ...notification,
        attributes: {
          ...notification.attributes,
          rotorEvent: 'm-chain',
          rotorStep: String(record?.step ?? 1),
        },
        messageId: 'zz-duplicate',
        publishTime: new Date().toISOString(),
      },
    });
    published.length = 0;
    logger.entries.length = 0;
    const r = await deliverOnce({ message: stale }, environment(LOOP));
    assert.equal(r.acked, true);
    assert.ok(
      logger.entries.some((e) => /^duplicate continuation acked: step \d+ of this event/.test(e.message)) ||
        (r.acked && r.outcome.converged),
      'acked as a duplicate, or found the event done',
    );
    assert.equal(
      published.flatMap((o) => o.workloads).filter((w) => w.result === 'restarted').length,
      0,
      'nothing restarted again',
    );
  });

  it('a function that dies mid-wait is recovered by the redelivery: every dependent restarted exactly once, reported once', async () => {
    const secret = 'projects/my-proj/secrets/die-key';
    const fleet: Array<[string, string | undefined]> = [
      ['da', '1'],
      ['db', '2'],
    ];
    await createFleet(secret, 'die', fleet);
    published.length = 0;
    // The instance dies as soon as it starts waiting on a watch (after acting on wave 1 and
    // reporting it): from then on, nothing it sends arrives anywhere.
    api.beforeRequest = (req) => {
      if (req.watch !== undefined) dead = true;
      return dead ? Promise.reject(new Error('the instance died')) : Promise.resolve();
    };
    const dying = deliver(secret, '2', 'm-die', { ...LOOP, ROTOR_DELIVERY_BUDGET_SECONDS: '10' });
    try {
      await waitFor(() => Promise.resolve(dead), { what: 'the first delivery waiting' });
      assert.ok((await markerOf('da')) !== undefined, 'wave 1 acted on before the death');
      assert.equal(await markerOf('db'), undefined);
      // Pub/Sub redelivers to another instance (its own connection and memory).
      const fresh = new RecordingApi(
        kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local'),
      );
      try {
        const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret, version: '2' });
        confirming.announce(message);
        const redelivered = await deliverOnce(
          { message: { ...message, messageId: 'm-die', publishTime: new Date().toISOString() } },
          environment(LOOP, { api: fresh, knownEvents: new KnownEvents() }),
        );
        assert.equal(redelivered.acked, true, 'the redelivery converges the event in one delivery');
      } finally {
        fresh.close();
      }
      const died = await dying;
      assert.equal(died.acked, false, 'the dead delivery never acked');
    } finally {
      await dying.catch(() => undefined);
      dead = false;
      api.beforeRequest = undefined;
    }
    for (const [name] of fleet)
      assert.equal((await replicaSets(name)).length, 2, `${name} restarted exactly once`);
    const restarts = published.flatMap((o) => o.workloads.filter((w) => w.result === 'restarted'));
    assert.deepEqual(restarts.map((w) => w.name).sort(), ['da', 'db'], 'each restart reported exactly once');
  });
  it('concurrent deliveries of one event (duplicate publishes) report each restart exactly once', async () => {
    const secret = 'projects/my-proj/secrets/dup-key';
    const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    await createFleet(
      secret,
      'dup',
      names.map((n) => [n, undefined]),
    );
    published.length = 0;
    // Five publishes of the same notification (different message ids), delivered at once, each
    // to its own instance (its own memory of Events).
    const results = await Promise.all(
      ['m-dup-1', 'm-dup-2', 'm-dup-3', 'm-dup-4', 'm-dup-5'].map((id) => {
        const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret, version: '2' });
        confirming.announce(message);
        return deliverOnce(
          { message: { ...message, messageId: id, publishTime: new Date().toISOString() } },
          // A slow outcome topic widens the gap between a delivery's report and its Events.
          environment(LOOP, { knownEvents: new KnownEvents(), publishDelayMs: 1_500 }),
        );
      }),
    );
    assert.deepEqual(
      results.map((r) => r.acked),
      [true, true, true, true, true],
      'every delivery converges',
    );
    for (const name of names)
      assert.equal((await replicaSets(name)).length, 2, `${name} restarted exactly once`);
    const reports = new Map<string, number>();
    for (const w of published.flatMap((o) => o.workloads))
      if (w.result === 'restarted') reports.set(w.name, (reports.get(w.name) ?? 0) + 1);
    assert.deepEqual(
      Object.fromEntries([...reports].sort()),
      Object.fromEntries(names.map((n) => [n, 1])),
      'each restart on the outcome topic exactly once',
    );
    for (const name of names)
      assert.equal(
        (await eventsOf(name)).filter((e) => e.reason === 'Restarted').length,
        1,
        `${name}: one Event`,
      );
  });
});
