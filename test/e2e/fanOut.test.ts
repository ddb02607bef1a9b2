// Fan-out end to end (issue 14, "fleets beyond one instance"), on Google's Pub/Sub emulator and two
// real functions-framework servers: one Secret Manager notification reaches onSecretEvent, which
// publishes one message per cluster to the fan-out topic and acks; a push subscription on that
// topic delivers each (through the Eventarc relay) to onClusterEvent, which reconciles the one
// cluster its message names. Three clusters are three label-filtering proxies of the one real API
// server (scripts/bench/clusterProxy.ts), each with its own dependents.
//
// What it shows: one event → one message per cluster (naming it and the event) → each cluster
// reconciled on its own, one of them only on Pub/Sub's redelivery (the relay nacks its first
// delivery, as Eventarc answers a failed function) while the others are already done → every
// dependent in every cluster restarted exactly once → every per-cluster outcome on the outcome
// topic carries the event's id. Then the original notification is delivered again (at-least-once):
// the messages are published again and each cluster reports `unchanged`, restarting nothing.
//
// The emulator stops redelivering push messages when two or more are nacked at the same time
// (after 3 or 4 attempts, and never resumes): here only one message is ever nacked at a time, and
// the second delivery of the original is driven by the test itself, not by the emulator.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ackDeadlineForBudget } from '../harness/deployedDelivery';
import { startEventarcRelay, postCloudEvent } from '../harness/eventarc';
import type { EventarcRelay } from '../harness/eventarc';
import { startFunctionsServer } from '../harness/functionsServer';
import type { FunctionsServer } from '../harness/functionsServer';
import type { ClusterProxy } from '../../scripts/bench/clusterProxy';
import { CLUSTER_LABEL, proxiesKubeconfig, startClusterProxy } from '../../scripts/bench/clusterProxy';
import { notificationMessage } from '../../functions/core/event';
import { fanOutMessage } from '../../functions/core/fanOut';
import type { EventOutcome } from '../../functions/core/outcome';
import type { Pipeline, Rig } from './fixture';
import {
  PROJECT_ID,
  PROJECT_NUMBER,
  applied,
  deployment,
  offContractLines,
  replicaSets,
  restartedAt,
  startRig,
} from './fixture';

const NS = 'fleet';
const CLUSTERS = ['east', 'west', 'north'] as const;
const SECRET = 'db-password';
const CANONICAL = `projects/${PROJECT_ID}/secrets/${SECRET}`;
/** Two dependents per cluster, named after it: restarts on rotation (CSI file mounted with subPath). */
const APPS = ['api', 'worker'] as const;

function dependent(name: string, cluster: string): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${NS}, labels: {${CLUSTER_LABEL}: ${cluster}}}
spec:
  replicas: 0
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: app
          image: example.invalid/app:1
          volumeMounts: [{name: s, mountPath: /etc/db/pw, subPath: pw}]
      volumes:
        - name: s
          csi: {driver: secrets-store-gke.csi.k8s.io, volumeAttributes: {secretProviderClass: db-${cluster}}}
`;
}

function secretProviderClass(cluster: string): string {
  return `
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata: {name: db-${cluster}, namespace: ${NS}, labels: {${CLUSTER_LABEL}: ${cluster}}}
spec:
  provider: gke
  parameters:
    secrets: |
      - resourceName: "projects/${PROJECT_ID}/secrets/${SECRET}/versions/latest"
        path: "pw"
`;
}

describe(
  'fan-out: one event, one message and one function instance per cluster',
  { timeout: 420_000 },
  () => {
    let rig: Rig;
    let dir: string;
    const proxies: ClusterProxy[] = [];
    let specs: Record<(typeof CLUSTERS)[number], string>;
    let fanOutTopic: string;
    let perCluster: FunctionsServer;
    let fanOutRelay: EventarcRelay;
    let events: Pipeline;

    before(async () => {
      rig = await startRig({ namespaces: [NS] });
      dir = mkdtempSync(join(tmpdir(), 'rotor-fanout-'));
      for (const c of CLUSTERS) proxies.push(await startClusterProxy(c, rig.cp.server, rig.cp.caPem));
      const kubeconfig = join(dir, 'clusters.kubeconfig');
      writeFileSync(kubeconfig, proxiesKubeconfig(proxies, rig.cp.tokenFor('rotor')));
      specs = {
        east: `kubeconfig:${kubeconfig}#east`,
        west: `kubeconfig:${kubeconfig}#west`,
        north: `kubeconfig:${kubeconfig}#north`,
      };
      const env = {
        ROTOR_CLUSTERS: CLUSTERS.map((c) => specs[c]).join(','),
        ROTOR_FANOUT_MIN_CLUSTERS: '3',
      };
      for (const c of CLUSTERS) {
        await rig.apply(secretProviderClass(c));
        for (const a of APPS) await rig.apply(dependent(`${c}-${a}`, c));
      }

      // The fan-out topic and onClusterEvent behind it, wired as Terraform wires them.
      fanOutTopic = await rig.emulator.createTopic('rotor-cluster-events');
      perCluster = await startFunctionsServer({
        target: 'onClusterEvent',
        env: {
          ...rig.emulator.env,
          ...env,
          ROTOR_FANOUT_TOPIC: fanOutTopic,
          ROTOR_PROJECT_MAP: `${PROJECT_ID}=${PROJECT_NUMBER}`,
          ROTOR_DEFAULT_PROJECT: PROJECT_ID,
          ROTOR_OUTCOME_TOPIC: rig.outcomeTopic,
          // As Terraform deploys onClusterEvent: a delivery budget (continuations go to the fan-out topic).
          ROTOR_DELIVERY_BUDGET_SECONDS: '60',
          ROTOR_DELIVERY_POLL_SECONDS: '1',
          // onClusterEvent confirms the notification a fan-out message carries, as onSecretEvent did.
          ROTOR_SECRET_MANAGER_ENDPOINT: rig.notices.endpoint,
        },
      });
      fanOutRelay = await startEventarcRelay(perCluster.url, fanOutTopic);
      await rig.emulator.createPushSubscription('rotor-cluster-events-push', fanOutTopic, fanOutRelay.url, {
        ackDeadlineSeconds: ackDeadlineForBudget(60),
        minimumBackoffSeconds: 1,
        maximumBackoffSeconds: 3,
      });
      events = await rig.pipeline('fanout', {
        env: { ...env, ROTOR_FANOUT_TOPIC: fanOutTopic },
        asDeployed: { budgetSeconds: 60, pollSeconds: 1 },
      });
    });

    after(async () => {
      await fanOutRelay?.close();
      await perCluster?.stop();
      for (const p of proxies) await p.close();
      await rig?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** The outcomes of event `id` on the outcome topic, waiting until `ready` holds. */
    async function outcomesOf(
      id: string,
      ready: (os: EventOutcome[]) => boolean,
      what: string,
    ): Promise<EventOutcome[]> {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const last = (await rig.outcomes()).filter((o) => o.event.messageId === id);
        if (ready(last)) return last;
        if (Date.now() > deadline)
          throw new Error(
            `${what}: outcomes of ${id} so far: ${JSON.stringify(last.map((o) => [o.scope, o.workloads.map((w) => [w.name, w.result])]))}\n${rig.diagnostics()}\n${perCluster.logTail(40)}`,
          );
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    const clusterOutcomes = (os: EventOutcome[]): EventOutcome[] =>
      os.filter((o) => o.scope.kind === 'cluster');

    it('reconciles each cluster in its own delivery, retries one alone, restarts every dependent once, and reports under the event id', async () => {
      // Eventarc's answer to a failed function, on the west cluster's first delivery only: Pub/Sub
      // redelivers that one message, with its own backoff, while east and north are done.
      fanOutRelay.nackNext((push) => push.message.attributes?.cluster === specs.west);
      const id = await events.notify({ type: 'SECRET_VERSION_ADD', secret: SECRET, version: '2' });
      await events.relay!.waitForDelivery(id, { what: 'acked by onSecretEvent once it fanned out' });

      const outcomes = await outcomesOf(
        id,
        (os) => clusterOutcomes(os).filter((o) => o.converged).length === 3,
        'three converged per-cluster outcomes',
      );

      // One fanned-out outcome from onSecretEvent, naming every cluster; it reconciled nothing.
      const fanned = outcomes.filter((o) => o.scope.kind === 'fanned-out');
      assert.equal(fanned.length, 1);
      assert.deepEqual(fanned[0]?.scope, {
        kind: 'fanned-out',
        topic: fanOutTopic,
        clusters: [specs.east, specs.west, specs.north],
      });
      assert.deepEqual(fanned[0]?.workloads, []);
      assert.equal(fanned[0]?.event.secret, CANONICAL);

      // One message per cluster on the fan-out topic, each naming its cluster and the event; no
      // continuation (rotorStep): each cluster's part fits in one delivery's budget.
      const messages = new Map<
        string,
        { cluster: string | undefined; eventMessageId: string | undefined; step: string | undefined }
      >();
      for (const d of fanOutRelay.deliveries)
        messages.set(d.messageId, {
          cluster: d.push.message.attributes?.cluster,
          eventMessageId: d.push.message.attributes?.eventMessageId,
          step: d.push.message.attributes?.rotorStep,
        });
      assert.deepEqual([...messages.values()].map((m) => [m.cluster, m.step]).sort(), [
        [specs.east, undefined],
        [specs.north, undefined],
        [specs.west, undefined],
      ]);
      assert.ok([...messages.values()].every((m) => m.eventMessageId === id));
      assert.ok([...messages.values()].every((m) => CLUSTERS.some((c) => specs[c] === m.cluster)));

      // Deliveries, by design: onSecretEvent fans out in one; each cluster's message is delivered on
      // its own and converges in one delivery (the restart and the wait for its rollouts inside
      // it); west's first delivery was nacked by the relay, so Pub/Sub redelivered that one alone.
      assert.deepEqual(
        events.deliveriesOfEvent(id).map((d) => d.status),
        [204],
      );
      for (const c of CLUSTERS) {
        const statuses = [...messages]
          .filter(([, m]) => m.cluster === specs[c])
          .flatMap(([messageId]) =>
            fanOutRelay
              .deliveriesOf(messageId)
              .map((d) => (d.injected ? `nacked ${d.status}` : String(d.status))),
          );
        assert.deepEqual(statuses, c === 'west' ? ['nacked 503', '204'] : ['204'], c);
      }

      // Every per-cluster outcome carries the event id, its cluster and its own fan-out message;
      // over a cluster's deliveries, exactly that cluster's dependents are reported restarted, once.
      const ofCluster = (c: string): EventOutcome[] =>
        clusterOutcomes(outcomes).filter((o) => o.scope.kind === 'cluster' && o.scope.cluster === c);
      for (const c of CLUSTERS) {
        const os = ofCluster(specs[c]);
        assert.ok(os.length >= 2, `the restarting and the converged outcome of ${c}`);
        for (const o of os) {
          assert.equal(o.event.messageId, id);
          assert.equal(o.event.version, '2');
          assert.equal(
            o.scope.kind === 'cluster' && messages.get(o.scope.fanOutMessageId)?.cluster,
            specs[c],
          );
          assert.ok(o.workloads.every((w) => w.cluster === specs[c]));
        }
        assert.deepEqual(
          os
            .flatMap((o) => o.workloads)
            .filter((w) => w.result === 'restarted')
            .map((w) => w.name)
            .sort(),
          APPS.map((a) => `${c}-${a}`),
        );
      }

      // In the cluster: every dependent restarted once (one new ReplicaSet), recording the version.
      for (const c of CLUSTERS)
        for (const a of APPS) {
          const d = await deployment(rig, NS, `${c}-${a}`);
          assert.ok(restartedAt(d), `${c}-${a} restarted`);
          assert.deepEqual(applied(d), { [CANONICAL]: '2' });
          assert.equal((await replicaSets(rig, NS, `${c}-${a}`)).length, 2, `${c}-${a}: one rollout`);
        }
      assert.deepEqual(offContractLines(perCluster), []);
      assert.deepEqual(offContractLines(events.server), []);

      // At-least-once: the same notification delivered again (by the test, not the emulator, which
      // need not redeliver an acked message). Every cluster's message is published again; each
      // cluster finds its work recorded and restarts nothing.
      const stamps = new Map<string, string | undefined>();
      for (const c of CLUSTERS)
        for (const a of APPS) stamps.set(`${c}-${a}`, restartedAt(await deployment(rig, NS, `${c}-${a}`)));
      const push = events.lastPushBody(id);
      assert.ok(push);
      const again = await postCloudEvent(events.server.url, push, events.topic);
      assert.equal(again.status, 204, again.body);
      const all = await outcomesOf(
        id,
        (os) => clusterOutcomes(os).filter((o) => o.converged).length === 6,
        'three more per-cluster outcomes after the duplicate',
      );
      assert.equal(
        all.filter((o) => o.scope.kind === 'fanned-out').length,
        2,
        'fanned out once per delivery',
      );
      const second = clusterOutcomes(all).filter((o) => !clusterOutcomes(outcomes).includes(o));
      const restartsPerDependent = new Map<string, number>();
      for (const o of clusterOutcomes(all))
        for (const w of o.workloads)
          if (w.result === 'restarted')
            restartsPerDependent.set(w.name, (restartsPerDependent.get(w.name) ?? 0) + 1);
      assert.deepEqual(
        [...restartsPerDependent.entries()].sort(),
        CLUSTERS.flatMap((c) => APPS.map((a): [string, number] => [`${c}-${a}`, 1])).sort(),
        'every dependent reported restarted exactly once, across all deliveries',
      );
      assert.equal(second.length, 3);
      assert.deepEqual(
        second.flatMap((o) => o.workloads.map((w) => w.result)),
        ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged'],
        'the duplicate finds every dependent done',
      );
      for (const c of CLUSTERS)
        for (const a of APPS) {
          assert.equal(
            restartedAt(await deployment(rig, NS, `${c}-${a}`)),
            stamps.get(`${c}-${a}`),
            `${c}-${a} not restarted again`,
          );
          assert.equal((await replicaSets(rig, NS, `${c}-${a}`)).length, 2);
        }
    });

    it('a fan-out message naming a cluster outside ROTOR_CLUSTERS is acked with an error, acting nowhere', async () => {
      const stray = 'projects/elsewhere/locations/europe-west1/clusters/not-ours';
      const notification = {
        ...notificationMessage({
          type: 'SECRET_VERSION_ADD',
          secret: `projects/${PROJECT_NUMBER}/secrets/${SECRET}`,
          version: '3',
        }),
        messageId: 'never-published',
      };
      const { data, attributes } = fanOutMessage({ cluster: stray, notification });
      const before = await deployment(rig, NS, 'east-api');
      const id = await rig.emulator.publish(fanOutTopic, { data, attributes });
      const d = await fanOutRelay.waitForDelivery(id, { what: 'acked (bad input is never retried)' });
      assert.equal(d.status, 204);
      const line = await perCluster.waitForLog(
        (e) => e.severity === 'ERROR' && typeof e.message === 'string' && e.message.includes(stray),
        { what: 'the refusal' },
      );
      assert.match(String(line.message), /which is not in ROTOR_CLUSTERS \(3 cluster\(s\) configured\)/);
      assert.equal(line.eventMessageId, 'never-published');
      const after = await deployment(rig, NS, 'east-api');
      assert.deepEqual(applied(after), applied(before), 'nothing recorded version 3');
    });
  },
);
