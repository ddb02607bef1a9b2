// A tenant touches only its own workloads (issue 18, item 1), on the real control plane: the real
// kube-controller-manager rolls the Deployments, the kubelet stand-in (test/harness/kubelet.ts)
// runs their pods, Rotor acts as the least-privileged `rotor` user and is delivered to through
// onSecretEvent's own handler (a throw is a nack, a return an ack). Tenant A can edit only its own
// namespace (played here by the admin writing there); tenant B's workloads must get the new value
// whatever A writes, and A's failing rollout may halt only A's namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { Kubelet, PodState, StandInPod } from '../harness/kubelet';
import { podRestartedAt, startKubelet } from '../harness/kubelet';
import { subPathCsiDeployment } from '../harness/workloads';
import { RecordingApi } from '../harness/recordingApi';
import type { Delivery } from '../harness/redelivery';
import { deliverOnce, redeliverUntilAcked } from '../harness/redelivery';
import type { KubeObject } from '../../functions/core/kube';
import { notificationMessage } from '../../functions/core/event';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import { KnownEvents } from '../../functions/cluster/events';
import { loadConfig } from '../../functions/config';
import { memoryLogger } from '../../functions/log';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';

const A = 'tenant-a';
const B = 'tenant-b';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

describe('a tenant touches only its own workloads (real control plane)', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: RecordingApi;
  let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>>;
  const kubelets = new Map<string, Kubelet>();
  const published: EventOutcome[] = [];
  const logger = memoryLogger();
  const knownEvents = new KnownEvents();
  /** Pod states by Deployment name (the app label); everything else is ready. */
  const podStates = new Map<string, (pod: StandInPod) => PodState>();
  const policy = (pod: StandInPod): PodState =>
    podStates.get(pod.metadata.labels?.app ?? '')?.(pod) ?? { kind: 'ready' };

  const admin = <T = KubeObject>(method: string, path: string, body?: object): Promise<T> =>
    cp.admin<T>(method, path, body);
  const deploymentPath = (ns: string, name: string): string =>
    `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
  const markerOf = async (ns: string, name: string): Promise<string | undefined> => {
    const d = await admin<{ spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>(
      'GET',
      deploymentPath(ns, name),
    );
    return d.spec.template.metadata?.annotations?.[RESTARTED_AT];
  };
  const available = async (ns: string, name: string): Promise<boolean> => {
    const d = await admin<KubeObject & { status?: Record<string, number> }>('GET', deploymentPath(ns, name));
    const s = d.status ?? {};
    const generation = (d.metadata as { generation?: number } | undefined)?.generation ?? 0;
    return (s.observedGeneration ?? 0) >= generation && s.updatedReplicas === 2 && s.availableReplicas === 2;
  };
  const podsOf = async (ns: string, name: string): Promise<StandInPod[]> =>
    (await admin<{ items: StandInPod[] }>('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${name}`))
      .items;
  /** The reasons of the Events Rotor (reporting controller `rotor`) created about `name`. */
  const reasonsOf = async (ns: string, name: string): Promise<string[]> =>
    (
      await admin<{
        items: Array<{ reason: string; reportingController?: string; regarding: { name: string } }>;
      }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns}/events`)
    ).items
      .filter((e) => e.regarding.name === name && e.reportingController === 'rotor')
      .map((e) => e.reason);

  /**
   * Delivers one notification as Pub/Sub would: the same message (id and timestamp) on every
   * redelivery, until acked or `seconds` have passed (then it throws, naming what was published).
   */
  async function deliverUntilAcked(
    secret: string,
    version: string,
    messageId: string,
    env: NodeJS.ProcessEnv = {},
    seconds = 60,
  ): Promise<EventOutcome> {
    const timestamp = new Date().toISOString();
    const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret, version, timestamp });
    confirming.announce(message);
    const deliver = (): Promise<Delivery> =>
      deliverOnce(
        { message: { ...message, messageId, publishTime: timestamp } },
        {
          config: loadConfig(env),
          logger,
          knownEvents,
          secretManager: confirming.secretManager,
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
    const { outcome } = await redeliverUntilAcked(deliver, {
      deadline: Date.now() + seconds * 1000,
      pollMs: 250,
      why: () =>
        `last outcome: ${JSON.stringify(published.at(-1)?.workloads.map((w) => [w.name, w.result, w.reason]))}`,
    });
    return outcome;
  }

  /** Every outcome of `name` published for the event of `messageId`. */
  const resultsOf = (messageId: string, name: string): WorkloadOutcome[] =>
    published
      .filter((o) => o.event.messageId === messageId)
      .flatMap((o) => o.workloads.filter((w) => w.name === name));

  async function deployment(
    ns: string,
    name: string,
    spc: string,
    annotations?: Record<string, string>,
  ): Promise<void> {
    await admin(
      'POST',
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      subPathCsiDeployment({
        name,
        namespace: ns,
        spc,
        replicas: 2,
        ...(annotations ? { annotations } : {}),
      }),
    );
    await waitFor(() => available(ns, name), { what: `${ns}/${name} available before the event` });
  }

  async function providerClass(ns: string, name: string, secret: string): Promise<void> {
    await admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${ns}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${secret}/versions/latest"\n  path: "f0.txt"\n` },
      },
    });
  }

  /**
   * Tenant A, on its own Deployment: rolls it itself (its new pods in `state`) and writes the
   * rotor.dev/applied claim of the event's version with an applied-by record of its choosing.
   */
  async function forge(
    name: string,
    secret: string,
    version: string,
    record: object,
    state: PodState,
  ): Promise<void> {
    podStates.set(name, (pod) => (podRestartedAt(pod) !== undefined ? state : { kind: 'ready' }));
    await cp.admin(
      'PATCH',
      deploymentPath(A, name),
      {
        metadata: {
          annotations: {
            'rotor.dev/applied': JSON.stringify({ [secret]: version }),
            'rotor.dev/applied-by': JSON.stringify({ [secret]: record }),
          },
        },
        spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } },
      },
      'application/merge-patch+json',
    );
    // The tenant's rollout is under way: its new pods exist, in the state it arranged (a pending
    // pod is never bound; a failing one shows its container state).
    await waitFor(
      async () =>
        (await podsOf(A, name)).some(
          (p) =>
            podRestartedAt(p) !== undefined &&
            (state.kind === 'pending' ||
              JSON.stringify(
                (p.status as { containerStatuses?: unknown } | undefined)?.containerStatuses ?? [],
              ).length > 2),
        ),
      { what: `${name}'s own rollout started` },
    );
  }

  before(async () => {
    confirming = await startConfirmingSecretManager();
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    for (const ns of [A, B]) {
      await admin('POST', '/api/v1/namespaces', { metadata: { name: ns } });
      kubelets.set(ns, await startKubelet(cp, { namespace: ns, pollMs: 100, policy }));
    }
    api = new RecordingApi(kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local'));
  });

  after(async () => {
    api?.close();
    for (const k of kubelets.values()) await k.stop();
    await cp?.stop();
    await confirming?.close();
  });

  it("a forged applied-by (another message) over A's ImagePullBackOff halts nobody: B is restarted", async () => {
    const secret = 'projects/my-proj/secrets/forge-key';
    for (const ns of [A, B]) await providerClass(ns, 'forge', secret);
    await deployment(A, 'forger', 'forge');
    await deployment(B, 'victim', 'forge');
    await forge(
      'forger',
      secret,
      '2',
      { action: 'restart', message: 'm-guessed', at: new Date().toISOString() },
      { kind: 'image-pull' },
    );
    const outcome = await deliverUntilAcked(secret, '2', 'm-forge');
    assert.equal(outcome.halted, undefined, JSON.stringify(outcome.halted));
    assert.ok((await markerOf(B, 'victim')) !== undefined, "B's workload restarted");
    assert.deepEqual(
      resultsOf('m-forge', 'victim')
        .map((w) => w.result)
        .filter((r) => r === 'restarted' || r === 'halted'),
      ['restarted'],
    );
    assert.deepEqual(
      [...new Set(resultsOf('m-forge', 'forger').map((w) => w.result))],
      ['unchanged'],
      'the claim only keeps Rotor off the forger itself',
    );
    assert.deepEqual(await reasonsOf(A, 'forger'), [], 'no Event about a restart Rotor never made');
    assert.ok((await reasonsOf(B, 'victim')).includes('Restarted'));
  });

  it('a forged applied-by of this very message "at 2099" over Pending pods neither stalls the event nor is reported', async () => {
    const secret = 'projects/my-proj/secrets/future-key';
    for (const ns of [A, B]) await providerClass(ns, 'future', secret);
    await deployment(A, 'squatter', 'future');
    await deployment(B, 'bystander', 'future');
    await forge(
      'squatter',
      secret,
      '3',
      { action: 'restart', message: 'm-future', at: '2099-01-01T00:00:00Z' },
      { kind: 'pending' },
    );
    // Before the fix every delivery waited "for the rollout" of the squatter until dead-letter.
    const outcome = await deliverUntilAcked(secret, '3', 'm-future', {}, 40);
    assert.equal(outcome.halted, undefined);
    assert.equal(outcome.converged, true);
    assert.ok((await markerOf(B, 'bystander')) !== undefined, "B's workload restarted");
    const squatter = resultsOf('m-future', 'squatter');
    assert.ok(
      squatter.every((w) => w.result === 'unchanged' && !/restarted by message/.test(w.reason)),
      JSON.stringify(squatter),
    );
    assert.deepEqual(await reasonsOf(A, 'squatter'), [], 'no Restarted (or Waiting) Event for it');
  });

  it('a tenant\'s rotor.dev/wave "0" whose new pods fail halts only its own namespace', async () => {
    const secret = 'projects/my-proj/secrets/wave-key';
    for (const ns of [A, B]) await providerClass(ns, 'wave', secret);
    await deployment(A, 'first', 'wave', { 'rotor.dev/wave': '0' });
    await deployment(A, 'second', 'wave');
    await deployment(B, 'other', 'wave');
    // The new value breaks A's wave-0 workload once Rotor restarts it.
    podStates.set('first', (pod) =>
      podRestartedAt(pod) !== undefined ? { kind: 'crashloop', restartCount: 3 } : { kind: 'ready' },
    );
    const outcome = await deliverUntilAcked(secret, '4', 'm-wave');
    assert.deepEqual(
      outcome.halted?.map((h) => h.workload),
      [`Deployment ${A}/first`],
    );
    const byName = new Map(outcome.workloads.map((w) => [w.name, w]));
    assert.equal(byName.get('first')?.result, 'halted');
    assert.equal(byName.get('second')?.result, 'halted');
    assert.match(
      byName.get('second')?.reason ?? '',
      /the event halted in namespace tenant-a because the rollout of Deployment tenant-a\/first \(wave 0\) failed/,
    );
    assert.equal(await markerOf(A, 'second'), undefined, "A's later wave untouched");
    assert.ok((await markerOf(B, 'other')) !== undefined, "B's workload restarted");
    assert.ok(await available(B, 'other'), "acked once B's rollout finished");
    assert.notEqual(byName.get('other')?.result, 'halted');
  });

  it('the operator can make a namespace a canary for everyone (ROTOR_CANARY_NAMESPACES): its failure halts all', async () => {
    const secret = 'projects/my-proj/secrets/canary-key';
    for (const ns of [A, B]) await providerClass(ns, 'canary', secret);
    await deployment(A, 'canary', 'canary', { 'rotor.dev/wave': '0' });
    await deployment(B, 'fleet', 'canary');
    podStates.set('canary', (pod) =>
      podRestartedAt(pod) !== undefined ? { kind: 'crashloop', restartCount: 2 } : { kind: 'ready' },
    );
    const outcome = await deliverUntilAcked(secret, '5', 'm-canary', { ROTOR_CANARY_NAMESPACES: A });
    assert.deepEqual(
      outcome.halted?.map((h) => h.workload),
      [`Deployment ${A}/canary`],
    );
    assert.equal(
      await markerOf(B, 'fleet'),
      undefined,
      "B waited for the canary's wave, then halted with it",
    );
    assert.equal(outcome.workloads.find((w) => w.name === 'fleet')?.result, 'halted');
  });
});
