// A kubelet stand-in for the real local control plane: there is no kubelet (and no scheduler)
// here, so pods the real kube-controller-manager creates from ReplicaSets, StatefulSets and
// DaemonSets would stay Pending forever. This loop does the two things a node would: it binds
// unscheduled pods to a Node (through the pods/binding subresource, as the scheduler does) and
// writes their status (through the pods/status subresource, as the kubelet does) in the state
// the test asks for: Ready, or failing (CrashLoopBackOff, ImagePullBackOff, a terminated Error).
// The controllers then compute rollout status (availableReplicas, readyReplicas, numberAvailable,
// updateRevision...) from those pods, exactly as they would in a real cluster.
//
// Which state a pod gets is the test's policy, asked per pod on every poll: change it (e.g. make
// a crashlooping revision healthy) and the next poll rewrites the pods.
//
// With `watch` (the storm bench: hundreds to thousands of pods), the pods are followed with one
// list and a watch (./listWatch.ts), as a real kubelet follows its pods: each change is handled as
// it arrives, and the poll goes over the pods the watch holds instead of listing them all again.
import type { ControlPlane } from './controlPlane';
import { ListWatch } from './listWatch';

const MERGE = 'application/merge-patch+json';
/** The Node pods are bound to (created by the stand-in; a DaemonSet wants one pod per Node). */
export const STAND_IN_NODE = 'stand-in-node';

export type PodState =
  | { readonly kind: 'ready' }
  | { readonly kind: 'crashloop'; readonly restartCount?: number }
  | { readonly kind: 'image-pull' }
  | { readonly kind: 'error' }
  /** Leave the pod as it is (e.g. a revision the test does not care about). */
  | { readonly kind: 'pending' };

export interface StandInPod {
  readonly metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: Array<{ kind: string; name: string }>;
  };
  readonly spec: { nodeName?: string; containers: Array<{ name: string; image?: string }> };
  readonly status?: { conditions?: Array<{ type: string; status: string }> };
}

export interface KubeletOptions {
  readonly namespace: string;
  /** The state each pod should be in; default: ready. */
  policy?: (pod: StandInPod) => PodState;
  readonly pollMs?: number;
  /** Follow the pods with a watch instead of listing them on every poll (see above). */
  readonly watch?: boolean;
}

export interface Kubelet {
  /** Replaces the policy; the next poll applies it. */
  setPolicy(policy: (pod: StandInPod) => PodState): void;
  /** One pass now (bind and write status of every pod of the namespace); resolves when written. */
  sync(): Promise<void>;
  /** The last error a background poll met (for failure messages), if any. */
  lastError(): string;
  stop(): Promise<void>;
}

/** The pod's restart marker: which template revision (Rotor's or kubectl's restart) created it. */
export function podRestartedAt(pod: StandInPod): string | undefined {
  return pod.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'];
}

function statusFor(pod: StandInPod, state: PodState, now: string): Record<string, unknown> {
  const ready = state.kind === 'ready';
  const containerStatuses = pod.spec.containers.map((c) => {
    const base = { name: c.name, image: c.image ?? 'unknown', imageID: '', ready, started: ready };
    switch (state.kind) {
      case 'ready':
        return { ...base, restartCount: 0, state: { running: { startedAt: now } } };
      case 'crashloop': {
        const restartCount = state.restartCount ?? 5;
        return {
          ...base,
          restartCount,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off 5m0s restarting failed container=${c.name} pod=${pod.metadata.name}`,
            },
          },
          lastState: {
            terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now },
          },
        };
      }
      case 'image-pull':
        return {
          ...base,
          restartCount: 0,
          state: {
            waiting: {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${c.image ?? ''}"`,
            },
          },
        };
      case 'error':
        return {
          ...base,
          restartCount: 0,
          state: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } },
        };
      case 'pending':
        return base;
    }
  });
  const condition = (type: string, status: boolean): Record<string, unknown> => ({
    type,
    status: status ? 'True' : 'False',
    lastTransitionTime: now,
    ...(status ? {} : { reason: 'ContainersNotReady' }),
  });
  return {
    phase: state.kind === 'image-pull' ? 'Pending' : 'Running',
    hostIP: '198.18.255.1',
    startTime: now,
    conditions: [
      condition('PodScheduled', true),
      condition('Initialized', true),
      condition('ContainersReady', ready),
      condition('Ready', ready),
    ],
    containerStatuses,
  };
}

/** The state last written per pod (`name` → state kind), so a poll only writes changes. */
function stateKey(state: PodState): string {
  return state.kind === 'crashloop' ? `crashloop/${state.restartCount ?? 5}` : state.kind;
}

/**
 * How often the Node's Ready heartbeat is renewed. The node lifecycle controller marks a Node
 * NotReady 40 s (its grace period) after the last heartbeat and then evicts its pods; the kubelet
 * renews it every 10 s (nodeStatusUpdateFrequency), and so does the stand-in.
 */
const HEARTBEAT_MS = 10_000;

async function ensureNode(cp: ControlPlane, readySince: string): Promise<void> {
  const existing = await cp.request('admin', 'GET', `/api/v1/nodes/${STAND_IN_NODE}`);
  if (existing.status !== 200)
    await cp.admin('POST', '/api/v1/nodes', {
      metadata: { name: STAND_IN_NODE, labels: { 'kubernetes.io/hostname': STAND_IN_NODE } },
    });
  await heartbeat(cp, readySince);
}

/**
 * The Node's status as the kubelet reports it: Ready since `readySince` (the transition time does
 * not move), with a fresh heartbeat, and its capacity.
 */
async function heartbeat(cp: ControlPlane, readySince: string): Promise<void> {
  const now = new Date().toISOString();
  await cp.admin(
    'PATCH',
    `/api/v1/nodes/${STAND_IN_NODE}/status`,
    {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            lastHeartbeatTime: now,
            lastTransitionTime: readySince,
          },
        ],
        capacity: { cpu: '8', memory: '16Gi', pods: '500' },
        allocatable: { cpu: '8', memory: '16Gi', pods: '500' },
      },
    },
    MERGE,
  );
}

export async function startKubelet(cp: ControlPlane, options: KubeletOptions): Promise<Kubelet> {
  const { namespace } = options;
  let policy = options.policy ?? ((): PodState => ({ kind: 'ready' }));
  const written = new Map<string, string>();
  const readySince = new Date().toISOString();
  await ensureNode(cp, readySince);

  const syncPod = async (pod: StandInPod): Promise<void> => {
    const name = pod.metadata.name;
    if (pod.metadata.deletionTimestamp) {
      // A pod bound to a node is only marked for deletion; its kubelet stops the containers and then
      // removes it for good (a delete with grace period 0). Without this, replaced pods would stay
      // Terminating for ever.
      if (!pod.spec.nodeName) return;
      const r = await cp.request(
        'admin',
        'DELETE',
        `/api/v1/namespaces/${namespace}/pods/${name}?gracePeriodSeconds=0`,
      );
      if (r.status !== 200 && r.status !== 404)
        throw new Error(`deleting terminating pod ${namespace}/${name}: ${r.status} ${r.body}`);
      written.delete(name);
      return;
    }
    const state = policy(pod);
    if (state.kind === 'pending') return;
    if (!pod.spec.nodeName) {
      // What the scheduler does: a Binding sets spec.nodeName.
      const bound = await cp.request(
        'admin',
        'POST',
        `/api/v1/namespaces/${namespace}/pods/${name}/binding`,
        {
          body: {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name },
            target: { apiVersion: 'v1', kind: 'Node', name: STAND_IN_NODE },
          },
        },
      );
      if (bound.status === 404) return; // deleted meanwhile
      if (bound.status !== 201 && bound.status !== 409)
        throw new Error(`binding ${namespace}/${name}: ${bound.status} ${bound.body}`);
    }
    const key = stateKey(state);
    if (written.get(name) === key) return;
    const r = await cp.request('admin', 'PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
      contentType: MERGE,
      body: { status: statusFor(pod, state, new Date().toISOString()) },
    });
    if (r.status === 404) return;
    if (r.status !== 200) throw new Error(`pod status ${namespace}/${name}: ${r.status} ${r.body}`);
    written.set(name, key);
  };

  const podsPath = `/api/v1/namespaces/${namespace}/pods`;
  const watched = options.watch ? await ListWatch.start<StandInPod>(cp, podsPath) : undefined;
  let running: Promise<void> = Promise.resolve();
  const sync = (): Promise<void> => {
    running = running.then(async () => {
      const pods = watched
        ? [...watched.current.values()]
        : (await cp.admin<{ items: StandInPod[] }>('GET', podsPath)).items;
      for (const pod of pods) await syncPod(pod);
    });
    return running;
  };

  let stopped = false;
  let lastError: unknown;
  // Each change the watch brings is handled at once, in turn with the polls.
  watched?.listen((pod) => {
    running = running.then(() =>
      syncPod(pod).catch((e: unknown) => {
        lastError = e;
      }),
    );
  });
  let lastHeartbeat = Date.now();
  const loop = (async () => {
    while (!stopped) {
      try {
        if (Date.now() - lastHeartbeat >= HEARTBEAT_MS) {
          lastHeartbeat = Date.now();
          await heartbeat(cp, readySince);
        }
        await sync();
      } catch (e) {
        // A pod deleted between the list and the write, an API server restarting: the next poll retries.
        lastError = e;
        running = Promise.resolve();
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 150));
    }
  })();

  return {
    setPolicy(p) {
      policy = p;
      written.clear();
    },
    sync,
    lastError: () => (lastError instanceof Error ? lastError.message : ''),
    async stop() {
      stopped = true;
      await loop;
      await watched?.stop();
    },
  };
}
