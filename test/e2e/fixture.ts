// The end-to-end rig shared by test/e2e/*.test.ts: everything real that can run here, wired as in
// Google Cloud.
//
//   Secret Manager (SecretManagerState + notificationMessage: the exact message it publishes)
//     └─publish─▶ Pub/Sub emulator topic ─push subscription─▶ Eventarc relay (binary CloudEvent)
//                                                              └─▶ functions-framework: onSecretEvent
//   onSecretEvent ──(rotor user, infra/k8s/rbac.yaml)──▶ local control plane (kube-apiserver, KCM)
//                 ──outcome──▶ Pub/Sub emulator topic ─pull subscription─▶ the test
//   simulated ESO, kubelet and CSI driver (test/harness/simulatedCluster.ts) play the cluster's
//   other actors; reload pings reach a recording server in a network namespace through the API
//   server's pod proxy. `startRealEsoRig` runs the real ESO controller instead of the simulated
//   one (test/harness/realEso.ts), reading the Secret Manager stand-in through its GCP provider.
//   `startRealCsiRig` runs pods on the real node (test/harness/realNode.ts) with the real Secrets
//   Store CSI driver and GCP provider (test/harness/realCsi.ts) mounting from that stand-in.
//
// A test gets one `Rig` (one control plane, one emulator) and as many `Pipeline`s as configurations
// it needs (each its own topic, subscription and function server, e.g. a short max wait).
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { KubernetesObject } from '@kubernetes/client-node';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { ackDeadlineForBudget } from '../harness/deployedDelivery';
import { startEventarcRelay } from '../harness/eventarc';
import type { DeliveryRecord, EventarcRelay, PushBody } from '../harness/eventarc';
import { startFunctionsServer } from '../harness/functionsServer';
import type { FunctionsServer } from '../harness/functionsServer';
import { createPodNetwork, podNetworkUnsupportedReason } from '../harness/podNetwork';
import type { PodNetwork, PodServer } from '../harness/podNetwork';
import { startPubsubEmulator } from '../harness/pubsubEmulator';
import type { PubsubEmulator } from '../harness/pubsubEmulator';
import { locateEso, startRealEso } from '../harness/realEso';
import { NODE_NAME, servingContainerScript, startRealNode } from '../harness/realNode';
import type { RealNode, RealNodeOptions } from '../harness/realNode';
import type { RealEso } from '../harness/realEso';
import { startRealCsi } from '../harness/realCsi';
import type { RealCsi } from '../harness/realCsi';
import { holdAnnounced, startSecretManagerStandIn } from '../harness/secretManagerStandIn';
import type { SecretManagerStandIn } from '../harness/secretManagerStandIn';
import { SecretManagerState, startSimulatedEso, startSimulatedNode } from '../harness/simulatedCluster';
import type { SimulatedEso, SimulatedNode } from '../harness/simulatedCluster';
import { notificationMessage } from '../../functions/core/event';
import type { SecretEventType, SecretResource, SecretVersionResource } from '../../functions/core/event';
import type { EventOutcome } from '../../functions/core/outcome';

export const PROJECT_ID = 'rotor-demo';
export const PROJECT_NUMBER = '123456789012';
const RBAC = join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml');

export interface PipelineOptions {
  /** Extra function environment (ROTOR_MAX_WAIT_SECONDS, ...). */
  env?: Record<string, string>;
  /**
   * `eventarc` (default): push to the relay, which delivers the binary CloudEvent Eventarc sends.
   * `push`: the subscription pushes straight to the functions-framework server, which converts the
   * raw push body itself (its legacy Pub/Sub middleware), as a direct push subscription to a
   * function URL does.
   */
  delivery?: 'eventarc' | 'push';
  minimumBackoffSeconds?: number;
  maximumBackoffSeconds?: number;
  /**
   * As Terraform deploys onSecretEvent: a delivery waits inside itself for up to `budgetSeconds`
   * (ROTOR_DELIVERY_BUDGET_SECONDS) and continues the event on its own topic (ROTOR_EVENT_TOPIC),
   * so an event's deliveries are its notification's and its continuations' (deliveriesOfEvent).
   */
  asDeployed?: { readonly budgetSeconds: number; readonly pollSeconds?: number };
}

export interface Notification {
  type: SecretEventType;
  /** Bare secret name (project number added), or omitted for TOPIC_CONFIGURED. */
  secret?: string;
  version?: string;
  data?: SecretResource | SecretVersionResource;
  /** The `timestamp` attribute (when Secret Manager recorded the change); default: none. */
  timestamp?: string;
}

export interface Pipeline {
  readonly name: string;
  readonly topic: string;
  readonly subscription: string;
  readonly server: FunctionsServer;
  readonly relay?: EventarcRelay;
  /** Publishes the message Secret Manager would publish for `n`; returns the Pub/Sub message id. */
  notify(n: Notification): Promise<string>;
  /** Publishes an arbitrary message (poison tests). */
  publishRaw(message: { data?: string; attributes?: Record<string, string> }): Promise<string>;
  /** The push body the emulator delivered for `messageId` (as published when not relayed), to replay it as a duplicate. */
  lastPushBody(messageId: string): PushBody | undefined;
  /**
   * Every relayed delivery of the event `messageId`: of the notification itself and of the
   * continuations Rotor published for it (attribute rotorEvent), in order, the relay's own
   * injected nacks left out. What a test counts to pin how many deliveries a case needs.
   */
  deliveriesOfEvent(messageId: string): DeliveryRecord[];
}

/** What every rig has, whichever ESO runs in it. */
export interface RigBase {
  readonly cp: ControlPlane;
  readonly emulator: PubsubEmulator;
  /** The Secret Manager the simulated ESO and the simulated CSI driver read. */
  readonly sm: SecretManagerState;
  /**
   * The Secret Manager onSecretEvent confirms notifications with (versions.get / secrets.get):
   * `notify` makes it hold what each notification announces, as the real service would.
   */
  readonly notices: SecretManagerStandIn;
  /** The simulated kubelet and CSI driver (serving no namespace when the rig has a real node). */
  readonly node: SimulatedNode;
  /** The real node (test/harness/realNode.ts), when the rig was started with `realNode`. */
  readonly realNode?: RealNode;
  readonly podNetwork?: PodNetwork;
  /** Why there is no pod network (reload pings cannot reach a pod), when there is none. */
  readonly noPodNetworkReason?: string;
  readonly outcomeTopic: string;
  pipeline(name: string, options?: PipelineOptions): Promise<Pipeline>;
  /** Starts the recording server every pod address answers on (needs the pod network). */
  podServer(port: number): Promise<PodServer>;
  apply(yaml: string): Promise<KubernetesObject[]>;
  /** Every outcome published so far (pulled from the outcome topic). */
  outcomes(): Promise<EventOutcome[]>;
  /** The first outcome matching `match`, waiting for it. */
  waitForOutcome(
    match: (o: EventOutcome) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<EventOutcome>;
  /**
   * The one report of `result` for a workload over all of an event's deliveries (every action is
   * reported exactly once, by the delivery that took it; later ones, which wait for its rollout
   * or find it applied, say waiting or unchanged), once the event has converged. Fails when the
   * workload has no such report, or more than one.
   */
  reportOf(
    messageId: string,
    ns: string,
    name: string,
    result: EventOutcome['workloads'][number]['result'],
    timeoutMs?: number,
  ): Promise<EventOutcome['workloads'][number]>;
  /** GET as admin; undefined on 404. */
  get<T>(path: string): Promise<T | undefined>;
  /** Every component's log tail plus the simulators' errors, for failure messages. */
  diagnostics(): string;
  stop(): Promise<void>;
}

/** A rig whose ExternalSecrets are synced by the simulated ESO (test/harness/simulatedCluster.ts). */
export interface Rig extends RigBase {
  readonly eso: SimulatedEso;
}

/**
 * A rig whose ExternalSecrets are synced by the real ESO controller (test/harness/realEso.ts), with
 * its own CRDs, reading the Secret Manager stand-in through its GCP provider.
 */
export interface RealEsoRig extends RigBase {
  readonly eso: RealEso;
  readonly standIn: SecretManagerStandIn;
  /** A client of the stand-in, for the versions a test adds (as the real client would). */
  readonly secretManager: SecretManagerServiceClient;
}

/** How a rig's ESO is started and described; the rig owns stopping it. */
interface EsoPart<E> {
  readonly fields: E;
  diagnostics(): string;
  stop(): Promise<void>;
}

export interface RigOptions {
  namespaces: string[];
  /**
   * Run pods on a real node (kubelet, scheduler, containerd) instead of the kubelet stand-in: the
   * simulated node then serves no namespace (the scheduler would race it for every pod).
   */
  realNode?: RealNodeOptions | true;
}

export function startRig(options: RigOptions): Promise<Rig> {
  return startRigWith(options, (cp, sm) => {
    const eso = startSimulatedEso(cp, sm, { delayMs: 300 });
    return Promise.resolve({
      fields: { eso },
      diagnostics: () => `--- simulated ESO: ${eso.errors().slice(-10).join('\n') || 'no errors'}`,
      stop: () => eso.stop(),
    });
  });
}

export function startRealEsoRig(options: RigOptions): Promise<RealEsoRig> {
  return startRigWith(options, async (cp) => {
    // ESO's own CRDs (of the binary's module version) replace the minimal ones of infra/crds (same
    // names), before the controller starts: it watches kinds the minimal set does not declare.
    const dir = await locateEso();
    await installCrds(cp.kubeConfig(), { dir: join(dir, 'crds') });
    const standIn = await startSecretManagerStandIn();
    try {
      const eso = await startRealEso(cp, { secretManagerEndpoint: standIn.endpoint, dir });
      const secretManager = standInClient(standIn);
      return {
        fields: { eso, standIn, secretManager },
        diagnostics: () => eso.logTail(40),
        async stop() {
          await secretManager.close();
          await eso.stop();
          await standIn.close();
        },
      };
    } catch (err) {
      await standIn.close();
      throw err;
    }
  });
}

/**
 * A rig whose pods run on the real node, with the real Secrets Store CSI driver and GCP provider
 * (test/harness/realCsi.ts) mounting from the Secret Manager stand-in. ExternalSecrets, if any, are
 * the simulated ESO's business: this rig is about CSI volumes.
 */
export interface RealCsiRig extends RigBase {
  readonly csi: RealCsi;
  readonly realNode: RealNode;
  readonly standIn: SecretManagerStandIn;
  /** A client of the stand-in, for the versions a test adds (as the real client would). */
  readonly secretManager: SecretManagerServiceClient;
}

export async function startRealCsiRig(options: RigOptions): Promise<RealCsiRig> {
  // The node is up before this part starts (startRigWith): the driver registers with its kubelet.
  const rig = await startRigWith({ ...options, realNode: options.realNode ?? true }, async (cp) => {
    const standIn = await startSecretManagerStandIn();
    try {
      const csi = await startRealCsi(cp, { secretManagerEndpoint: standIn.endpoint, nodeName: NODE_NAME });
      const secretManager = standInClient(standIn);
      return {
        fields: { csi, standIn, secretManager },
        diagnostics: () => csi.logTail(30),
        async stop() {
          await secretManager.close();
          await csi.stop();
          await standIn.close();
        },
      };
    } catch (err) {
      await standIn.close();
      throw err;
    }
  });
  const realNode = rig.realNode;
  if (!realNode) throw new Error('startRealCsiRig: the rig has no real node');
  return { ...rig, realNode };
}

/** A Secret Manager client of the stand-in, as the real client is configured against an endpoint. */
function standInClient(standIn: SecretManagerStandIn): SecretManagerServiceClient {
  const m = /^(.*):(\d+)$/.exec(standIn.endpoint);
  return new SecretManagerServiceClient({
    apiEndpoint: m?.[1] ?? '127.0.0.1',
    port: Number(m?.[2]),
    sslCreds: grpc.credentials.createInsecure(),
    projectId: PROJECT_ID,
    clientOptions: { universeDomain: 'googleapis.com' },
  });
}

async function startRigWith<E>(
  options: RigOptions,
  startEso: (cp: ControlPlane, sm: SecretManagerState) => Promise<EsoPart<E>>,
): Promise<RigBase & E> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    // The control plane and the emulator start side by side (both mostly wait on process start-up).
    const [cp, emulator] = await Promise.all([
      startControlPlane({
        users: ['rotor'],
        ...(options.realNode ? { node: { name: NODE_NAME } } : {}),
      }).then((c) => {
        stops.push(() => c.stop());
        return c;
      }),
      startPubsubEmulator().then((e) => {
        stops.push(() => e.stop());
        return e;
      }),
    ]);
    const admin = cp.kubeConfig();
    await installCrds(admin);
    await applyManifests(admin, RBAC);
    for (const ns of options.namespaces) {
      const r = await cp.request('admin', 'POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
      if (r.status >= 300 && r.status !== 409)
        throw new Error(`creating namespace ${ns}: ${r.status} ${r.body}`);
    }
    const noPodNetworkReason = podNetworkUnsupportedReason();
    let podNetwork: PodNetwork | undefined;
    if (!noPodNetworkReason) {
      podNetwork = await createPodNetwork();
      const pn = podNetwork;
      stops.push(() => pn.close());
    }
    let realNode: RealNode | undefined;
    if (options.realNode) {
      const rn = await startRealNode(cp, options.realNode === true ? {} : options.realNode);
      realNode = rn;
      stops.push(() => rn.stop());
    }
    const sm = new SecretManagerState(PROJECT_NUMBER);
    const notices = await startSecretManagerStandIn();
    stops.push(() => notices.close());
    const eso = await startEso(cp, sm);
    stops.push(() => eso.stop());
    const node = startSimulatedNode(cp, sm, {
      namespaces: realNode ? [] : options.namespaces,
      ...(podNetwork ? { podNetwork } : {}),
      rotationPollMs: 700,
    });
    stops.push(() => node.stop());

    const outcomeTopic = await emulator.createTopic('rotor-outcomes');
    await emulator.createPullSubscription('rotor-outcomes-audit', outcomeTopic);
    const outcomes: EventOutcome[] = [];
    const pullOutcomes = async (): Promise<EventOutcome[]> => {
      for (const m of await emulator.pull('rotor-outcomes-audit', { min: 0, timeoutMs: 0 }))
        outcomes.push(JSON.parse(m.data) as EventOutcome);
      return outcomes;
    };

    const pushBodies = new Map<string, PushBody>();
    const servers: FunctionsServer[] = [];
    const relays: EventarcRelay[] = [];

    const rig: RigBase & E = {
      ...eso.fields,
      cp,
      emulator,
      sm,
      notices,
      node,
      ...(realNode ? { realNode } : {}),
      ...(podNetwork ? { podNetwork } : {}),
      ...(noPodNetworkReason ? { noPodNetworkReason } : {}),
      outcomeTopic,
      async pipeline(name, opts = {}) {
        const topic = await emulator.createTopic(`secrets-${name}`);
        const deployed = opts.asDeployed
          ? {
              ROTOR_EVENT_TOPIC: topic,
              ROTOR_DELIVERY_BUDGET_SECONDS: String(opts.asDeployed.budgetSeconds),
              ...(opts.asDeployed.pollSeconds !== undefined
                ? { ROTOR_DELIVERY_POLL_SECONDS: String(opts.asDeployed.pollSeconds) }
                : {}),
            }
          : {};
        const server = await startFunctionsServer({
          target: 'onSecretEvent',
          env: {
            ...emulator.env,
            ROTOR_CLUSTERS: `kubeconfig:${cp.kubeconfigPathFor('rotor')}`,
            ROTOR_PROJECT_MAP: `${PROJECT_ID}=${PROJECT_NUMBER}`,
            ROTOR_DEFAULT_PROJECT: PROJECT_ID,
            ROTOR_OUTCOME_TOPIC: outcomeTopic,
            ROTOR_SECRET_MANAGER_ENDPOINT: notices.endpoint,
            ROTOR_RELOAD_BACKOFF_MS: '200',
            ...deployed,
            ...opts.env,
          },
        });
        stops.push(() => server.stop());
        servers.push(server);
        let relay: EventarcRelay | undefined;
        let endpoint: string;
        if ((opts.delivery ?? 'eventarc') === 'eventarc') {
          relay = await startEventarcRelay(server.url, topic);
          const r = relay;
          stops.push(() => r.close());
          relays.push(r);
          endpoint = relay.url;
        } else {
          // The framework takes the CloudEvent source from a `projects/P/topics/T` path.
          endpoint = `${server.url}${topic}`;
        }
        const subscription = await emulator.createPushSubscription(`push-${name}`, topic, endpoint, {
          ...(opts.asDeployed
            ? { ackDeadlineSeconds: ackDeadlineForBudget(opts.asDeployed.budgetSeconds) }
            : {}),
          minimumBackoffSeconds: opts.minimumBackoffSeconds ?? 1,
          maximumBackoffSeconds: opts.maximumBackoffSeconds ?? 3,
        });
        const publish = async (message: {
          data?: string;
          attributes?: Record<string, string>;
        }): Promise<string> => {
          const id = await emulator.publish(topic, message);
          pushBodies.set(id, {
            message: {
              ...(message.data !== undefined ? { data: Buffer.from(message.data).toString('base64') } : {}),
              attributes: message.attributes ?? {},
              messageId: id,
              publishTime: new Date().toISOString(),
            },
            subscription,
          });
          return id;
        };
        return {
          name,
          topic,
          subscription,
          server,
          ...(relay ? { relay } : {}),
          async notify(n) {
            const m = notificationMessage({
              type: n.type,
              ...(n.secret ? { secret: `projects/${PROJECT_NUMBER}/secrets/${n.secret}` } : {}),
              ...(n.version ? { version: n.version } : {}),
              ...(n.data ? { data: n.data } : {}),
              ...(n.timestamp ? { timestamp: n.timestamp } : {}),
            });
            holdAnnounced(notices, m);
            return publish({
              ...(m.data !== undefined ? { data: Buffer.from(m.data, 'base64').toString('utf8') } : {}),
              attributes: m.attributes,
            });
          },
          publishRaw: publish,
          lastPushBody: (id) => relay?.deliveriesOf(id).at(-1)?.push ?? pushBodies.get(id),
          deliveriesOfEvent: (id) =>
            (relay?.deliveries ?? []).filter(
              (d) => !d.injected && (d.messageId === id || d.push.message.attributes?.rotorEvent === id),
            ),
        };
      },
      async podServer(port) {
        if (!podNetwork) throw new Error(`no pod network: ${noPodNetworkReason ?? 'unknown reason'}`);
        return podNetwork.startServer({ port });
      },
      apply: (yaml) => applyManifests(admin, yaml),
      outcomes: pullOutcomes,
      async waitForOutcome(match, what, timeoutMs = 60_000) {
        return waitFor(async () => (await pullOutcomes()).find(match), {
          timeoutMs,
          intervalMs: 250,
          what: () => `${what}\n${rig.diagnostics()}`,
        });
      },
      async reportOf(messageId, ns, name, result, timeoutMs = 60_000) {
        await rig.waitForOutcome(
          (o) => o.event.messageId === messageId && o.converged,
          `event ${messageId} converged`,
          timeoutMs,
        );
        const reports = (await pullOutcomes())
          .filter((o) => o.event.messageId === messageId)
          .map((o) => outcomeFor(o, ns, name));
        const matching = reports.filter((w) => w?.result === result);
        const [only, ...others] = matching;
        if (!only || others.length)
          throw new Error(
            `${ns}/${name}: ${matching.length} ${result} report(s) for event ${messageId}, not exactly one: ${JSON.stringify(reports)}`,
          );
        return only;
      },
      async get<T>(path: string) {
        const r = await cp.request('admin', 'GET', path);
        if (r.status === 404) return undefined;
        if (r.status >= 300) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 300)}`);
        return JSON.parse(r.body) as T;
      },
      diagnostics() {
        return [
          ...servers.map((s) => s.logTail(30)),
          ...relays.map(
            (r) =>
              `--- eventarc relay deliveries\n${r.deliveries.map((d) => `${d.messageId} ${d.eventType} → ${d.status}`).join('\n')}`,
          ),
          emulator.logTail(10),
          cp.logTail(10),
          eso.diagnostics(),
          realNode?.logTail(15) ?? '',
          `--- simulated node: ${node.errors().slice(-10).join('\n') || 'no errors'}`,
        ].join('\n');
      },
      stop: stopAll,
    };
    return rig;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster reads the tests assert on

export interface WorkloadView {
  metadata: { annotations?: Record<string, string>; uid?: string; generation?: number };
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
}

export async function deployment(rig: RigBase, ns: string, name: string): Promise<WorkloadView> {
  const d = await rig.get<WorkloadView>(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  if (!d) throw new Error(`Deployment ${ns}/${name} not found`);
  return d;
}

export function restartedAt(d: WorkloadView): string | undefined {
  return d.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
}

export function applied(d: WorkloadView): Record<string, string> {
  const raw = d.metadata.annotations?.['rotor.dev/applied'];
  return raw ? (JSON.parse(raw) as Record<string, string>) : {};
}

interface ReplicaSetView {
  metadata: { name: string; creationTimestamp: string; ownerReferences?: Array<{ uid: string }> };
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
}

/** The ReplicaSets of a Deployment, oldest first: one per pod template it has rolled out. */
export async function replicaSets(rig: RigBase, ns: string, name: string): Promise<ReplicaSetView[]> {
  const d = await deployment(rig, ns, name);
  const list =
    (await rig.get<{ items: ReplicaSetView[] }>(`/apis/apps/v1/namespaces/${ns}/replicasets`))?.items ?? [];
  return list
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid))
    .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
}

/** Waits until the Deployment has `replicas` ready pods (the simulated kubelet started them). */
export async function waitForReadyPods(
  rig: RigBase,
  ns: string,
  selector: string,
  replicas: number,
): Promise<Array<{ metadata: { name: string }; status: { podIP: string } }>> {
  return waitFor(
    async () => {
      const pods =
        (
          await rig.get<{
            items: Array<{
              metadata: { name: string; deletionTimestamp?: string };
              status: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
            }>;
          }>(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)
        )?.items ?? [];
      const ready = pods.filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status.podIP &&
          p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === replicas
        ? (ready as Array<{ metadata: { name: string }; status: { podIP: string } }>)
        : undefined;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: () => `${replicas} ready pod(s) ${selector} in ${ns}\n${rig.diagnostics()}`,
    },
  );
}

/** The ExternalSecret's status once the simulated ESO synced it at least once. */
export async function waitForEsoSynced(
  rig: RigBase,
  ns: string,
  name: string,
): Promise<{ refreshTime: string }> {
  return waitFor(
    async () =>
      (
        await rig.get<{ status?: { refreshTime?: string } }>(
          `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets/${name}`,
        )
      )?.status as { refreshTime: string } | undefined,
    { timeoutMs: 30_000, what: () => `ExternalSecret ${ns}/${name} synced\n${rig.diagnostics()}` },
  );
}

/** Lines a function server wrote that break the log contract (one JSON object with severity and message). */
export function offContractLines(server: FunctionsServer): string[] {
  // The framework's start-up banner (printed outside NODE_ENV=production) is not Rotor's.
  const banner = /^(Serving function\.\.\.|Function: |Signature type: |URL: )/;
  return server.lines
    .filter((l) => !banner.test(l.text))
    .filter((l) => !(l.entry && typeof l.entry.severity === 'string' && typeof l.entry.message === 'string'))
    .map((l) => `[${l.stream}] ${l.text}`);
}

export function outcomeFor(
  o: EventOutcome,
  ns: string,
  name: string,
): EventOutcome['workloads'][number] | undefined {
  return o.workloads.find((w) => w.namespace === ns && w.name === name);
}

// Manifest builders shared by the end-to-end tests (YAML, applied with rig.apply).
/**
 * A Deployment whose container reads one key of a Kubernetes Secret as an env var. With a real
 * node (`rig.realNode`), it runs the node's busybox image for real (never pulled), serving the
 * hash of what it holds (servingContainerScript); else an image nothing pulls (the stand-in).
 */
export function envDeployment(
  ns: string,
  name: string,
  secretName: string,
  key: string,
  realNode?: RealNode,
): string {
  const container = realNode
    ? `image: ${realNode.images.app}
          imagePullPolicy: Never
          command: [sh, -c, ${JSON.stringify(servingContainerScript())}]`
    : `image: example.invalid/${name}:1`;
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          ${container}
          env:
            - name: ${key}
              valueFrom: {secretKeyRef: {name: ${secretName}, key: ${key}}}
`;
}

/** A SecretProviderClass (GKE add-on) mounting one Secret Manager resource as `file`. */
export function spc(ns: string, name: string, resource: string, file: string): string {
  return `
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata: {name: ${name}, namespace: ${ns}}
spec:
  provider: gke
  parameters:
    secrets: |
      - resourceName: "${resource}"
        path: "${file}"
`;
}

/** A Deployment mounting a SecretProviderClass, optionally with a reload endpoint. */
export function csiDeployment(
  ns: string,
  name: string,
  spcName: string,
  replicas: number,
  reloadEndpoint?: string,
): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  annotations: {${reloadEndpoint ? `rotor.dev/reload-endpoint: "${reloadEndpoint}"` : ''}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: app
          image: example.invalid/${name}:1
          ports: [{name: http, containerPort: 8080}]
          volumeMounts: [{name: secrets, mountPath: /secrets, readOnly: true}]
      volumes:
        - name: secrets
          csi:
            driver: secrets-store-gke.csi.k8s.io
            readOnly: true
            volumeAttributes: {secretProviderClass: ${spcName}}
`;
}
