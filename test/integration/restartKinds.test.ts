// Restarts of every workload kind Rotor acts on besides Deployments, against a real kube-apiserver
// + kube-controller-manager, as the least-privileged `rotor` user (infra/k8s/rbac.yaml): the
// patch content type each kind needs (strategic merge for apps/batch, JSON merge patch for the
// Argo Rollout custom resource, which takes no strategic merge), the restart marker where that
// kind's controller looks for it, rotor.dev/applied, idempotent redelivery, and the controller
// manager reacting to the changed template where a controller runs here (StatefulSet, DaemonSet).
// Each workload mounts a Secret Manager secret through the CSI driver with subPath: such a file
// never updates in place, so the decision is a restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { RecordingApi } from '../harness/recordingApi';
import type { EventContext } from '../../functions/core/decision';
import type { KubeObject, WorkloadKind } from '../../functions/core/kube';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import type { ReconcileConfig } from '../../functions/pipeline/reconcile';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import { memoryLogger } from '../../functions/log';

const NS = 'kinds';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const APPLIED = 'rotor.dev/applied';
// Written out rather than imported from actions.ts: the test states what the API server needs.
const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: object;
}

/** A pod template that mounts one file of SecretProviderClass `spc` with subPath. */
function podTemplate(app: string, spc: string, restartPolicy?: string): PodTemplate {
  return {
    metadata: { labels: { app } },
    spec: {
      ...(restartPolicy ? { restartPolicy } : {}),
      containers: [
        {
          name: 'app',
          image: 'example.invalid/app:1',
          volumeMounts: [{ name: 'secrets', mountPath: '/etc/app/key', subPath: 'f0.txt' }],
        },
      ],
      volumes: [
        {
          name: 'secrets',
          csi: {
            driver: 'secrets-store-gke.csi.k8s.io',
            readOnly: true,
            volumeAttributes: { secretProviderClass: spc },
          },
        },
      ],
    },
  };
}

interface KindCase {
  readonly kind: WorkloadKind;
  readonly name: string;
  /** Collection path in NS (POST here; the object is at `${collection}/${name}`). */
  readonly collection: string;
  readonly manifest: (spc: string) => object;
  readonly contentType: string;
  /** The restart marker, read where the kind's controller looks for it. */
  readonly marker: (o: KubeObject) => string | undefined;
  /** Has a controller in kube-controller-manager that records template revisions. */
  readonly revisions: boolean;
  readonly onDelete?: boolean;
}

const templateMarker = (o: KubeObject): string | undefined =>
  (o.spec as { template: PodTemplate }).template.metadata?.annotations?.[RESTARTED_AT];
const selector = (app: string): object => ({ matchLabels: { app } });

const statefulSet = (name: string, onDelete: boolean): KindCase => ({
  kind: 'StatefulSet',
  name,
  collection: `/apis/apps/v1/namespaces/${NS}/statefulsets`,
  manifest: (spc) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas: 0,
      serviceName: name,
      selector: selector(name),
      template: podTemplate(name, spc),
      ...(onDelete ? { updateStrategy: { type: 'OnDelete' } } : {}),
    },
  }),
  contentType: STRATEGIC_MERGE,
  marker: templateMarker,
  revisions: true,
  onDelete,
});

const CASES: KindCase[] = [
  statefulSet('ledger', false),
  {
    kind: 'DaemonSet',
    name: 'agent',
    collection: `/apis/apps/v1/namespaces/${NS}/daemonsets`,
    manifest: (spc) => ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: { selector: selector('agent'), template: podTemplate('agent', spc) },
    }),
    contentType: STRATEGIC_MERGE,
    marker: templateMarker,
    revisions: true,
  },
  {
    kind: 'CronJob',
    name: 'report',
    collection: `/apis/batch/v1/namespaces/${NS}/cronjobs`,
    manifest: (spc) => ({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report' },
      // Suspended: no Job is due during the test; the next one would start from the patched template.
      spec: {
        schedule: '0 3 * * *',
        suspend: true,
        jobTemplate: { spec: { template: podTemplate('report', spc, 'OnFailure') } },
      },
    }),
    contentType: STRATEGIC_MERGE,
    marker: (o) =>
      (o.spec as { jobTemplate: { spec: { template: PodTemplate } } }).jobTemplate.spec.template.metadata
        ?.annotations?.[RESTARTED_AT],
    revisions: false,
  },
  {
    kind: 'Rollout',
    name: 'checkout',
    collection: `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts`,
    manifest: (spc) => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'checkout' },
      spec: {
        replicas: 0,
        selector: selector('checkout'),
        template: podTemplate('checkout', spc),
        strategy: { canary: {} },
      },
    }),
    contentType: MERGE_PATCH,
    // Argo replaces every pod created before spec.restartAt.
    marker: (o) => (o.spec as { restartAt?: string }).restartAt,
    revisions: false,
  },
  statefulSet('ledger-ondelete', true),
];

function find(outcome: EventOutcome, kind: string, name: string): WorkloadOutcome {
  const w = outcome.workloads.find((x) => x.kind === kind && x.name === name);
  assert.ok(
    w,
    `no outcome for ${kind} ${name}: ${JSON.stringify(outcome.workloads.map((x) => `${x.kind} ${x.name}`))}`,
  );
  return w;
}

describe(
  'live cluster: restarting StatefulSets, DaemonSets, CronJobs and Argo Rollouts',
  { timeout: 600_000 },
  () => {
    let cp: ControlPlane;
    let api: RecordingApi;

    const config = (overrides: Partial<ReconcileConfig> = {}): ReconcileConfig => ({
      clusters: [api],
      projects: new ProjectMap([['my-proj', '123456789012']]),
      dryRun: false,
      maxWaitMs: 600_000,
      concurrency: 4,
      reload: { retries: 2, backoffMs: 20 },
      logger: memoryLogger(),
      namespaces: { allow: [NS] },
      ...overrides,
    });

    const admin = (method: string, path: string, body?: object): Promise<KubeObject> =>
      cp.admin<KubeObject>(method, path, body);

    /** The ControllerRevisions the StatefulSet/DaemonSet controller keeps for `owner`, oldest first. */
    const revisionsOf = async (
      owner: KubeObject,
    ): Promise<Array<KubeObject & { revision: number; data: { spec: { template: PodTemplate } } }>> => {
      const list = (await admin('GET', `/apis/apps/v1/namespaces/${NS}/controllerrevisions`)) as unknown as {
        items: Array<KubeObject & { revision: number; data: { spec: { template: PodTemplate } } }>;
      };
      return list.items
        .filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === owner.metadata?.uid))
        .sort((a, b) => a.revision - b.revision);
    };

    before(async () => {
      cp = await startControlPlane({ users: ['rotor'] });
      const kc = cp.kubeConfig();
      await installCrds(kc);
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
      await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      api = new RecordingApi(kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local'));
    });

    after(async () => {
      api?.close();
      await cp?.stop();
    });

    for (const c of CASES) {
      const title = c.onDelete
        ? 'a StatefulSet with updateStrategy OnDelete: restarted (its template changes), with the warning that nothing rolls'
        : `${c.kind}: restarted with a ${c.contentType === MERGE_PATCH ? 'JSON merge' : 'strategic merge'} patch, the marker where its controller looks, once`;
      it(title, async () => {
        // One secret per workload, so each event concerns this workload alone.
        const secret = `projects/my-proj/secrets/${c.name}-key`;
        const path = `${c.collection}/${c.name}`;
        await admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
          apiVersion: 'secrets-store.csi.x-k8s.io/v1',
          kind: 'SecretProviderClass',
          metadata: { name: c.name },
          spec: {
            provider: 'gke',
            parameters: { secrets: `- resourceName: "${secret}/versions/latest"\n  path: "f0.txt"\n` },
          },
        });
        const created = await admin('POST', c.collection, c.manifest(c.name));
        if (c.revisions) {
          // The controller has seen the workload: it recorded the first revision of its template.
          await waitFor(async () => (await revisionsOf(created)).length === 1 || undefined, {
            what: `the first ControllerRevision of ${c.kind} ${c.name}`,
          });
        }

        const at = new Date();
        const event: EventContext = {
          type: 'SECRET_VERSION_ADD',
          secret: parseSecretName(secret).id,
          version: '7',
          time: new Date(at.getTime() - 1000).toISOString(),
        };
        const start = api.log.length;
        const outcome = await reconcileEvent(event, {}, config({ now: () => at }));
        const w = find(outcome, c.kind, c.name);
        assert.equal(w.result, 'restarted', w.reason);
        assert.match(w.reason, /subPath/);
        assert.equal(outcome.converged, true);

        // The request: one PATCH of this object, with the content type the kind needs.
        const patches = api.log.slice(start).filter((r) => r.method === 'PATCH' && r.path === path);
        assert.equal(
          patches.length,
          1,
          `one PATCH of ${path}: ${JSON.stringify(api.log.slice(start).map((r) => `${r.method} ${r.path}`))}`,
        );
        assert.equal(patches[0].contentType, c.contentType);

        // What the server stored: the marker where the controller reads it, and the applied record.
        const stored = await admin('GET', path);
        assert.equal(c.marker(stored), at.toISOString(), `${c.kind}: restart marker`);
        assert.deepEqual(JSON.parse(stored.metadata?.annotations?.[APPLIED] ?? '{}'), { [secret]: '7' });

        if (c.onDelete) {
          const warning = `${c.kind} ${NS}/${c.name} uses updateStrategy OnDelete: a restart changes its pod template, but running pods keep the old value until they are deleted`;
          assert.equal(w.warning, warning);
          assert.ok(
            outcome.warnings.some((x) => x.includes(warning)),
            JSON.stringify(outcome.warnings),
          );
        } else {
          assert.equal(w.warning, undefined);
          assert.deepEqual(outcome.warnings, []);
        }

        if (c.revisions) {
          // The controller reacts to the changed template: a second revision, carrying the marker.
          const revisions = await waitFor(
            async () => {
              const r = await revisionsOf(created);
              return r.length === 2 ? r : undefined;
            },
            { what: `a new ControllerRevision of ${c.kind} ${c.name} after the restart` },
          );
          assert.equal(revisions[1].revision, 2);
          assert.equal(
            revisions[1].data.spec.template.metadata?.annotations?.[RESTARTED_AT],
            at.toISOString(),
          );
          assert.equal(revisions[0].data.spec.template.metadata?.annotations?.[RESTARTED_AT], undefined);
          if (c.kind === 'StatefulSet') {
            await waitFor(
              async () => {
                const s = (await admin('GET', path)).status as { updateRevision?: string } | undefined;
                return s?.updateRevision === revisions[1].metadata?.name || undefined;
              },
              { what: `${c.name}: status.updateRevision names the new revision` },
            );
          }
        }
        if (c.kind === 'Rollout') {
          // Why not strategic merge here: the API server refuses it for custom resources.
          const r = await cp.request('admin', 'PATCH', path, {
            body: { spec: { restartAt: at.toISOString() } },
            contentType: STRATEGIC_MERGE,
          });
          assert.equal(r.status, 415, `a strategic merge patch of a Rollout: ${r.status} ${r.body}`);
        }

        // A redelivery finds the version recorded and sends no PATCH at all.
        const again = api.log.length;
        const redelivered = await reconcileEvent(
          event,
          {},
          config({ now: () => new Date(at.getTime() + 5000) }),
        );
        const w2 = find(redelivered, c.kind, c.name);
        assert.equal(w2.result, 'unchanged', w2.reason);
        assert.match(w2.reason, /already applied/);
        assert.deepEqual(
          api.log
            .slice(again)
            .filter((r) => r.method === 'PATCH')
            .map((r) => r.path),
          [],
          'no PATCH on redelivery',
        );
        const later = await admin('GET', path);
        assert.equal(c.marker(later), at.toISOString(), 'marker unchanged');
        assert.equal(later.metadata?.annotations?.[APPLIED], stored.metadata?.annotations?.[APPLIED]);
      });
    }
  },
);
