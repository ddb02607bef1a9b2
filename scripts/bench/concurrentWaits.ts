// The concurrent-waits scenario (`npm run bench -- --waits [--waits-counts 1,10,40]`, issue 19
// item 3): how much memory one instance holds per event that waits inside its delivery, and
// whether a waiting event holds up another. On a control plane WITH the kube-controller-manager
// and the kubelet stand-in, Rotor's real handler (handleSecretEvent) runs in this process, as the
// `rotor` user, with a delivery budget (ROTOR_DELIVERY_BUDGET_SECONDS) and the default wave
// config, so each delivery restarts its dependent and then waits for the rollout inside itself.
//
//   waiting  N events at once, each a new version of its own secret read by one Deployment whose
//            new pods never become Ready (a slow rollout): once all N have restarted their
//            Deployment and wait, this process's RSS and V8 heap are sampled until the budget ends;
//            per waiting event = (median while N wait − idle before) / N. Run for several N.
//   second   one event waits on a slow rollout; a second event (another secret, a Deployment that
//            rolls at once) is published while it waits: time from the second's publish to its
//            restart and to its ack, and whether the first was still waiting then.
// Numbers only, printed: there are no assertions. Run node with --expose-gc (the npm script does
// not; `NODE_OPTIONS=--expose-gc npm run bench -- --waits`) for idle figures after a collection.
import { join } from 'node:path';
import type { ControlPlane } from '../../test/harness/controlPlane';
import {
  applyManifests,
  installCrds,
  REPO_ROOT,
  startControlPlane,
  waitFor,
} from '../../test/harness/controlPlane';
import { podRestartedAt, startKubelet } from '../../test/harness/kubelet';
import type { Kubelet, StandInPod } from '../../test/harness/kubelet';
import { RecordingApi } from '../../test/harness/recordingApi';
import { deliverOnce } from '../../test/harness/redelivery';
import type { Delivery } from '../../test/harness/redelivery';
import { startConfirmingSecretManager } from '../../test/harness/secretManagerStandIn';
import { subPathCsiDeployment } from '../../test/harness/workloads';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import { loadConfig } from '../../functions/config';
import { notificationMessage } from '../../functions/core/event';
import { memoryLogger } from '../../functions/log';

const NS = 'waits';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const secretOf = (name: string): string => `projects/bench-proj/secrets/${name}`;

export interface WaitingRound {
  readonly events: number;
  readonly idleRssMb: number;
  readonly waitingRssMb: number;
  readonly idleHeapMb: number;
  readonly waitingHeapMb: number;
  readonly rssPerWaitingEventMb: number;
  readonly heapPerWaitingEventMb: number;
  readonly samples: number;
  /** How the deliveries ended: all nacked at the end of their budget, still waiting. */
  readonly nacked: number;
}

export interface ConcurrentWaitsFigures {
  readonly budgetSeconds: number;
  readonly gcExposed: boolean;
  readonly waiting: readonly WaitingRound[];
  readonly second: {
    readonly publishToRestartMs: number;
    readonly publishToAckMs: number;
    readonly firstStillWaitingAtSecondAck: boolean;
    readonly firstWaitedMsBeforeSecondPublish: number;
  };
}

const mb = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

export async function runConcurrentWaits(
  progress: (line: string) => void,
  counts: readonly number[] = [1, 10, 40],
  budgetSeconds = 20,
): Promise<ConcurrentWaitsFigures> {
  let cp: ControlPlane | undefined;
  let kubelet: Kubelet | undefined;
  let api: RecordingApi | undefined;
  let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>> | undefined;
  const most = Math.max(...counts);
  try {
    progress('waits: starting the local control plane WITH kube-controller-manager');
    cp = await startControlPlane({ users: ['rotor'] });
    const plane = cp;
    await installCrds(plane.kubeConfig());
    await applyManifests(plane.kubeConfig(), join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await plane.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    // Slow rollouts: a `slow-*` Deployment's pods restarted by Rotor never become Ready.
    const initial = new Map<string, string | undefined>();
    kubelet = await startKubelet(plane, {
      namespace: NS,
      pollMs: 200,
      policy: (pod: StandInPod) => {
        const app = pod.metadata.labels?.app ?? '';
        return app.startsWith('slow-') && podRestartedAt(pod) !== initial.get(app)
          ? { kind: 'pending' }
          : { kind: 'ready' };
      },
    });
    const names = [...Array.from({ length: most }, (_, i) => `slow-${i}`), 'fast-0'];
    for (const n of names) {
      await plane.admin(
        'POST',
        `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`,
        {
          apiVersion: 'secrets-store.csi.x-k8s.io/v1',
          kind: 'SecretProviderClass',
          metadata: { name: n },
          spec: {
            provider: 'gke',
            parameters: { secrets: `- resourceName: "${secretOf(n)}/versions/latest"\n  path: "f0.txt"\n` },
          },
        },
      );
      await plane.admin(
        'POST',
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        subPathCsiDeployment({ name: n, namespace: NS, spc: n, replicas: 1 }),
      );
    }
    progress(`waits: ${names.length} Deployments created; waiting for them to be Available`);
    await waitFor(
      async () =>
        (
          await plane.admin<{ items: Array<{ status?: { availableReplicas?: number } }> }>(
            'GET',
            `/apis/apps/v1/namespaces/${NS}/deployments`,
          )
        ).items.every((d) => d.status?.availableReplicas === 1),
      { timeoutMs: 600_000, intervalMs: 500, what: 'the fleet Available' },
    );

    const recording = new RecordingApi(
      kubeApiFromKubeconfig(plane.kubeconfigPathFor('rotor'), undefined, 'local'),
    );
    api = recording;
    const restartedAt = new Map<string, number>();
    recording.beforeRequest = (req) => {
      if (req.method === 'PATCH' && JSON.stringify(req.body ?? {}).includes(RESTARTED_AT))
        restartedAt.set(req.path.split('/').pop() ?? '', Date.now());
      return Promise.resolve();
    };
    const sm = await startConfirmingSecretManager();
    confirming = sm;
    const env = {
      config: loadConfig({ ROTOR_DELIVERY_BUDGET_SECONDS: String(budgetSeconds) }),
      logger: memoryLogger(),
      secretManager: sm.secretManager,
      clusters: () => Promise.resolve([recording]),
    };
    const versions = new Map<string, number>();
    const deliver = (n: string): Promise<Delivery> => {
      const version = (versions.get(n) ?? 1) + 1;
      versions.set(n, version);
      const message = notificationMessage({
        type: 'SECRET_VERSION_ADD',
        secret: secretOf(n),
        version: String(version),
      });
      sm.announce(message);
      return deliverOnce(
        { message: { ...message, messageId: `${n}-v${version}`, publishTime: new Date().toISOString() } },
        env,
      );
    };
    const markAsInitial = async (): Promise<void> => {
      for (const d of (
        await plane.admin<{
          items: Array<{
            metadata: { name: string };
            spec: { template: { metadata?: { annotations?: Record<string, string> } } };
          }>;
        }>('GET', `/apis/apps/v1/namespaces/${NS}/deployments`)
      ).items)
        initial.set(d.metadata.name, d.spec.template.metadata?.annotations?.[RESTARTED_AT]);
    };

    // A warm-up event (the fast Deployment), so module loading and first connections are idle cost.
    await markAsInitial();
    await deliver('fast-0');

    const waiting: WaitingRound[] = [];
    for (const count of counts) {
      await markAsInitial();
      restartedAt.clear();
      collect();
      const idle = process.memoryUsage();
      progress(`waits: ${count} event(s) at once, each waiting on a slow rollout`);
      const slow = names.slice(0, count);
      const runs = slow.map((n) => deliver(n));
      await waitFor(() => Promise.resolve(slow.every((n) => restartedAt.has(n))), {
        timeoutMs: budgetSeconds * 1000,
        intervalMs: 100,
        what: `all ${count} restarted`,
      });
      const rss: number[] = [];
      const heap: number[] = [];
      let done = false;
      const all = Promise.all(runs).finally(() => {
        done = true;
      });
      while (!done) {
        const m = process.memoryUsage();
        rss.push(m.rss);
        heap.push(m.heapUsed);
        await new Promise((r) => setTimeout(r, 250));
      }
      const ends = await all;
      const round: WaitingRound = {
        events: count,
        idleRssMb: mb(idle.rss),
        waitingRssMb: mb(median(rss)),
        idleHeapMb: mb(idle.heapUsed),
        waitingHeapMb: mb(median(heap)),
        rssPerWaitingEventMb: mb((median(rss) - idle.rss) / count),
        heapPerWaitingEventMb: mb((median(heap) - idle.heapUsed) / count),
        samples: rss.length,
        nacked: ends.filter((e) => !e.acked).length,
      };
      progress(`waits: ${JSON.stringify(round)}`);
      waiting.push(round);
    }

    // A second event while a first waits on a slow rollout.
    await markAsInitial();
    restartedAt.clear();
    progress('waits: a second event while a first waits on a slow rollout');
    const firstStart = Date.now();
    let firstEnded = false;
    const first = deliver('slow-0').finally(() => {
      firstEnded = true;
    });
    await waitFor(() => Promise.resolve(restartedAt.has('slow-0')), {
      timeoutMs: budgetSeconds * 1000,
      intervalMs: 100,
      what: 'the first event restarted its slow Deployment',
    });
    await new Promise((r) => setTimeout(r, 3_000)); // the first is now waiting on its rollout
    const secondPublish = Date.now();
    const second = await deliver('fast-0');
    const secondAck = Date.now();
    const figures = {
      publishToRestartMs: (restartedAt.get('fast-0') ?? Number.NaN) - secondPublish,
      publishToAckMs: second.acked ? secondAck - secondPublish : Number.NaN,
      firstStillWaitingAtSecondAck: !firstEnded,
      firstWaitedMsBeforeSecondPublish: secondPublish - firstStart,
    };
    progress(`waits: second event ${JSON.stringify(figures)}`);
    await first;
    return {
      budgetSeconds,
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
      waiting,
      second: figures,
    };
  } finally {
    api?.close();
    await kubelet?.stop();
    await cp?.stop();
    await confirming?.close();
  }
}
