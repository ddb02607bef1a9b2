// "Least privilege, proven" (issue 9) on the real API server: infra/k8s/rbac.yaml grants no more
// than Rotor uses, and infra/k8s/admission-policy.yaml narrows the workload and ExternalSecret
// patches RBAC must allow to exactly Rotor's own: as the `rotor` user, a patch that changes an
// image, a volume, env, a label or another annotation is denied; Rotor's restart, record and
// force-sync patches (the real functions of functions/cluster/actions.ts) pass, on every kind;
// the admin is not affected. On a ClusterExternalSecret only the children's force-sync annotation,
// on a SecretSync only spec.forceSynchronization may change (issue 18 item 5). And Rotor's records
// (rotor.dev/applied, rotor.dev/applied-by) are Rotor's alone: a tenant may not set or change them,
// on create or update, but may still edit its workload and drop them (issue 18 item 1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import {
  forceSecretSync,
  forceSync,
  forceSyncClusterExternalSecret,
  recordApplied,
  restartWorkload,
} from '../../functions/cluster/actions';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import type { KubeObject, WorkloadKind } from '../../functions/core/kube';

const NS = 'shop';
const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

const template = (app: string, restartPolicy?: string): object => ({
  metadata: { labels: { app } },
  spec: {
    ...(restartPolicy ? { restartPolicy } : {}),
    containers: [{ name: 'app', image: 'example.invalid/app:1', env: [{ name: 'MODE', value: 'prod' }] }],
  },
});
const selector = (app: string): object => ({ matchLabels: { app } });

interface Kind {
  readonly kind: WorkloadKind;
  readonly path: string;
  readonly manifest: object;
  /** A patch to the pod template (its spec at `templateSpec`), in the content type the kind takes. */
  readonly templatePatch: (podSpec: object, templateAnnotations?: Record<string, string>) => object;
  readonly contentType: string;
}

const wrap =
  (at: (t: object) => object) =>
  (podSpec: object, templateAnnotations?: Record<string, string>): object =>
    at({ ...(templateAnnotations ? { metadata: { annotations: templateAnnotations } } : {}), spec: podSpec });

const KINDS: Kind[] = [
  {
    kind: 'Deployment',
    path: `/apis/apps/v1/namespaces/${NS}/deployments/api`,
    manifest: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: { replicas: 0, selector: selector('api'), template: template('api') },
    },
    templatePatch: wrap((t) => ({ spec: { template: t } })),
    contentType: STRATEGIC_MERGE,
  },
  {
    kind: 'StatefulSet',
    path: `/apis/apps/v1/namespaces/${NS}/statefulsets/ledger`,
    manifest: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'ledger' },
      spec: {
        replicas: 0,
        serviceName: 'ledger',
        selector: selector('ledger'),
        template: template('ledger'),
      },
    },
    templatePatch: wrap((t) => ({ spec: { template: t } })),
    contentType: STRATEGIC_MERGE,
  },
  {
    kind: 'DaemonSet',
    path: `/apis/apps/v1/namespaces/${NS}/daemonsets/agent`,
    manifest: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: { selector: selector('agent'), template: template('agent') },
    },
    templatePatch: wrap((t) => ({ spec: { template: t } })),
    contentType: STRATEGIC_MERGE,
  },
  {
    kind: 'CronJob',
    path: `/apis/batch/v1/namespaces/${NS}/cronjobs/report`,
    manifest: {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report' },
      // No template metadata at all: Rotor's first restart creates it.
      spec: {
        schedule: '0 3 * * *',
        suspend: true,
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'OnFailure',
                containers: [{ name: 'app', image: 'example.invalid/app:1' }],
              },
            },
          },
        },
      },
    },
    templatePatch: wrap((t) => ({ spec: { jobTemplate: { spec: { template: t } } } })),
    contentType: STRATEGIC_MERGE,
  },
  {
    kind: 'Rollout',
    path: `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts/checkout`,
    manifest: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'checkout' },
      spec: {
        replicas: 0,
        selector: selector('checkout'),
        template: template('checkout'),
        strategy: { canary: {} },
      },
    },
    templatePatch: wrap((t) => ({ spec: { template: t } })),
    contentType: MERGE_PATCH,
  },
];

const collection = (path: string): string => path.slice(0, path.lastIndexOf('/'));
const ES_PATH = `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/db`;
const CES_PATH = '/apis/external-secrets.io/v1/clusterexternalsecrets/platform-db';
const SYNC_PATH = `/apis/secret-sync.gke.io/v1/namespaces/${NS}/secretsyncs/db`;
const APPLIED = 'rotor.dev/applied';
const APPLIED_BY = 'rotor.dev/applied-by';
/** A tenant of namespace NS: may create and edit its workloads there, nothing else. */
const TENANT = 'tenant';

describe(
  'least privilege on the real API server: RBAC and the admission policy',
  { timeout: 600_000 },
  () => {
    let cp: ControlPlane;
    let rotor: KubeApi;

    const admin = (method: string, path: string, body?: object, contentType?: string): Promise<KubeObject> =>
      cp.admin<KubeObject>(method, path, body, contentType);
    /** A raw patch as `user`: the HTTP status and the API server's message. */
    const patchAs = async (
      user: string,
      path: string,
      body: object,
      contentType: string,
    ): Promise<{ status: number; message: string }> => {
      const r = await cp.request(user, 'PATCH', path, { body, contentType });
      let message = r.body;
      try {
        message = (JSON.parse(r.body) as { message?: string }).message ?? r.body;
      } catch {
        // not JSON: keep the text
      }
      return { status: r.status, message };
    };
    const ref = (k: Kind) => ({
      cluster: 'local',
      kind: k.kind,
      namespace: NS,
      name: k.path.split('/').pop() ?? '',
    });

    before(async () => {
      cp = await startControlPlane({ users: ['rotor', TENANT], controllerManager: false });
      const kc = cp.kubeConfig();
      await installCrds(kc);
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
      await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      // Each workload carries an annotation that is not Rotor's, owned by its team.
      for (const k of KINDS) {
        const m = k.manifest as { metadata: object };
        await admin('POST', collection(k.path), {
          ...m,
          metadata: { ...m.metadata, annotations: { 'team.example/owner': 'payments' } },
        });
      }
      await admin('POST', collection(ES_PATH), {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'db', annotations: { 'team.example/owner': 'payments' } },
        spec: {
          secretStoreRef: { name: 'gcp', kind: 'SecretStore' },
          target: { name: 'db' },
          data: [{ secretKey: 'password', remoteRef: { key: 'db-password' } }],
        },
      });
      await admin('POST', '/apis/external-secrets.io/v1/clusterexternalsecrets', {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterExternalSecret',
        metadata: { name: 'platform-db', labels: { team: 'platform' } },
        spec: {
          externalSecretName: 'db',
          namespaceSelectors: [{ matchLabels: { 'platform.example/db': 'true' } }],
          externalSecretMetadata: {
            labels: { team: 'platform' },
            annotations: { 'team.example/owner': 'platform' },
          },
          externalSecretSpec: {
            secretStoreRef: { name: 'gcp', kind: 'ClusterSecretStore' },
            target: { name: 'db', template: { data: { password: '{{ .password }}' } } },
            data: [{ secretKey: 'password', remoteRef: { key: 'platform-db-password' } }],
          },
        },
      });
      await admin('POST', collection(SYNC_PATH), {
        apiVersion: 'secret-sync.gke.io/v1',
        kind: 'SecretSync',
        metadata: { name: 'db', labels: { team: 'payments' } },
        spec: {
          secretProviderClassName: 'db',
          serviceAccountName: 'payments',
          secretObject: { type: 'Opaque', data: [{ sourcePath: 'password', targetKey: 'password' }] },
        },
      });
      // The tenant edits its own workloads (every kind) in NS, as a team's deployer would.
      await admin('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`, {
        metadata: { name: 'workloads' },
        rules: [
          { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['*'] },
          { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['*'] },
          { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['*'] },
        ],
      });
      await admin('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
        metadata: { name: 'tenant-workloads' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'workloads' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: TENANT }],
      });
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'admission-policy.yaml'));
      // Policies take effect once the API server has loaded them: wait for the first denial (of a
      // dry run, so that a probe let through before then changes nothing).
      const deployment = KINDS[0];
      if (!deployment) throw new Error('no Deployment case');
      await waitFor(
        async () =>
          (
            await patchAs(
              'rotor',
              `${deployment.path}?dryRun=All`,
              { metadata: { labels: { probe: 'x' } } },
              MERGE_PATCH,
            )
          ).status === 403,
        { what: 'the admission policy to deny a label change by rotor', timeoutMs: 30_000 },
      );
      // The same for each of the other policies (dry runs: a probe let through changes nothing).
      const probes: Array<[string, () => Promise<{ status: number }>]> = [
        [
          'rotor-clusterexternalsecret-patches to deny a label change by rotor',
          () =>
            patchAs('rotor', `${CES_PATH}?dryRun=All`, { metadata: { labels: { probe: 'x' } } }, MERGE_PATCH),
        ],
        [
          'rotor-secretsync-patches to deny a label change by rotor',
          () =>
            patchAs(
              'rotor',
              `${SYNC_PATH}?dryRun=All`,
              { metadata: { labels: { probe: 'x' } } },
              MERGE_PATCH,
            ),
        ],
        [
          'rotor-records to deny a tenant writing rotor.dev/applied',
          () =>
            patchAs(
              TENANT,
              `${deployment.path}?dryRun=All`,
              { metadata: { annotations: { [APPLIED]: '{"probe":"1"}' } } },
              MERGE_PATCH,
            ),
        ],
      ];
      for (const [what, probe] of probes)
        await waitFor(async () => (await probe()).status === 403, {
          what: `the admission policy ${what}`,
          timeoutMs: 30_000,
        });
      rotor = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
    });

    after(async () => {
      rotor?.close();
      await cp?.stop();
    });

    it('RBAC: rotor lists pods, CSI and ESO objects, but cannot get one by name (it never does)', async () => {
      for (const path of [
        '/api/v1/pods',
        '/apis/secrets-store.csi.x-k8s.io/v1/secretproviderclasses',
        '/apis/secrets-store.csi.x-k8s.io/v1/secretproviderclasspodstatuses',
        '/apis/external-secrets.io/v1/externalsecrets',
        '/apis/external-secrets.io/v1/secretstores',
        '/apis/external-secrets.io/v1/clustersecretstores',
      ])
        assert.equal((await cp.request('rotor', 'GET', path)).status, 200, path);
      for (const path of [
        `/api/v1/namespaces/${NS}/pods/web-1`,
        `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses/db`,
        `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasspodstatuses/db`,
        ES_PATH,
        `/apis/external-secrets.io/v1/namespaces/${NS}/secretstores/gcp`,
        '/apis/external-secrets.io/v1/clustersecretstores/gcp',
      ])
        assert.equal((await cp.request('rotor', 'GET', path)).status, 403, path);
      // Workloads: still read one by name, to re-decide after a 409 conflict.
      assert.equal((await cp.request('rotor', 'GET', KINDS[0]?.path ?? '')).status, 200);
    });

    for (const k of KINDS) {
      it(`${k.kind}: Rotor's restart and record patches pass`, async () => {
        const at = new Date().toISOString();
        const before = await admin('GET', k.path);
        const restarted = await restartWorkload(
          rotor,
          ref(k),
          before,
          at,
          [{ key: 'projects/p/secrets/db', version: '7' }],
          {
            dryRun: false,
          },
        );
        const recorded = await recordApplied(
          rotor,
          ref(k),
          restarted,
          [{ key: 'projects/p/secrets/db', version: '8' }],
          {
            dryRun: false,
          },
        );
        assert.deepEqual(JSON.parse(recorded.metadata?.annotations?.['rotor.dev/applied'] ?? '{}'), {
          'projects/p/secrets/db': '8',
        });
        // And again: a second restart changes an existing marker.
        const again = await restartWorkload(
          rotor,
          ref(k),
          recorded,
          new Date(Date.now() + 1000).toISOString(),
          [],
          {
            dryRun: false,
          },
        );
        assert.notEqual(again.metadata?.resourceVersion, recorded.metadata?.resourceVersion);
      });

      it(`${k.kind}: as rotor, an image, a volume, env, a label or another annotation is denied`, async () => {
        const denied: Array<[string, object, string]> = [
          [
            'image',
            k.templatePatch({ containers: [{ name: 'app', image: 'attacker.example/dump-env:1' }] }),
            k.contentType,
          ],
          [
            'a Secret volume',
            k.templatePatch({
              volumes: [{ name: 'stolen', secret: { secretName: 'db-credentials' } }],
              containers: [{ name: 'app', volumeMounts: [{ name: 'stolen', mountPath: '/stolen' }] }],
            }),
            k.contentType,
          ],
          [
            'env',
            k.templatePatch({ containers: [{ name: 'app', env: [{ name: 'MODE', value: 'debug' }] }] }),
            k.contentType,
          ],
          [
            'another template annotation next to the restart marker',
            k.templatePatch(
              {},
              { [RESTARTED_AT]: new Date().toISOString(), 'sidecar.example/inject': 'true' },
            ),
            k.contentType,
          ],
          ['a workload label', { metadata: { labels: { stolen: 'yes' } } }, MERGE_PATCH],
          [
            'a non-Rotor annotation',
            { metadata: { annotations: { 'team.example/owner': 'attacker' } } },
            MERGE_PATCH,
          ],
          [
            'a non-Rotor annotation removed',
            { metadata: { annotations: { 'team.example/owner': null } } },
            MERGE_PATCH,
          ],
          ...(k.kind === 'DaemonSet' || k.kind === 'CronJob'
            ? []
            : ([['the replica count', { spec: { replicas: 3 } }, MERGE_PATCH]] as Array<
                [string, object, string]
              >)),
          ...(k.kind === 'CronJob'
            ? ([['the schedule', { spec: { schedule: '* * * * *' } }, MERGE_PATCH]] as Array<
                [string, object, string]
              >)
            : []),
        ];
        for (const [what, body, contentType] of denied) {
          const r = await patchAs('rotor', k.path, body, contentType);
          assert.equal(r.status, 403, `${what}: ${r.message}`);
          assert.match(
            r.message,
            /ValidatingAdmissionPolicy 'rotor-workload-patches'.*denied request: Rotor's identity may/,
            what,
          );
        }
      });

      it(`${k.kind}: the admin's image change is not affected`, async () => {
        const r = await patchAs(
          'admin',
          k.path,
          k.templatePatch({ containers: [{ name: 'app', image: 'example.invalid/app:2' }] }),
          k.contentType,
        );
        assert.equal(r.status, 200, r.message);
      });
    }

    it('ExternalSecret: Rotor force-sync passes; any other change as rotor is denied; the admin is not affected', async () => {
      const es = await admin('GET', ES_PATH);
      await forceSync(rotor, es, new Date().toISOString(), { dryRun: false });
      await forceSync(rotor, es, new Date(Date.now() + 1000).toISOString(), { dryRun: false });
      const synced = await admin('GET', ES_PATH);
      assert.ok(synced.metadata?.annotations?.['force-sync']);
      for (const [what, body] of [
        ['the target Secret', { spec: { target: { name: 'other' } } }],
        [
          'the remote key',
          { spec: { data: [{ secretKey: 'password', remoteRef: { key: 'admin-password' } }] } },
        ],
        ['another annotation', { metadata: { annotations: { 'team.example/owner': 'attacker' } } }],
        ['a label', { metadata: { labels: { stolen: 'yes' } } }],
      ] as Array<[string, object]>) {
        const r = await patchAs('rotor', ES_PATH, body, MERGE_PATCH);
        assert.equal(r.status, 403, `${what}: ${r.message}`);
        assert.match(
          r.message,
          /ValidatingAdmissionPolicy 'rotor-externalsecret-patches'.*denied request/,
          what,
        );
      }
      const byAdmin = await patchAs('admin', ES_PATH, { spec: { target: { name: 'other' } } }, MERGE_PATCH);
      assert.equal(byAdmin.status, 200, byAdmin.message);
    });

    it('ClusterExternalSecret: Rotor force-sync passes; namespace selectors, template, remote key, labels as rotor are denied; the admin is not affected', async () => {
      const owner = { name: 'platform-db', uid: (await admin('GET', CES_PATH)).metadata?.uid ?? '' };
      await forceSyncClusterExternalSecret(rotor, owner, new Date().toISOString(), { dryRun: false });
      const at = new Date(Date.now() + 1000).toISOString();
      await forceSyncClusterExternalSecret(rotor, owner, at, { dryRun: false });
      // An owner reference with another uid (a tenant's ExternalSecret naming this parent): refused.
      await assert.rejects(
        forceSyncClusterExternalSecret(
          rotor,
          { name: 'platform-db', uid: '00000000-0000-0000-0000-000000000001' },
          new Date().toISOString(),
          { dryRun: false },
        ),
        (e: unknown) => e instanceof KubeApiError && [409, 422].includes(e.status),
      );
      const synced = await admin('GET', CES_PATH);
      const spec = synced.spec as { externalSecretMetadata: { annotations: Record<string, string> } };
      assert.deepEqual(spec.externalSecretMetadata.annotations, {
        'team.example/owner': 'platform',
        'force-sync': at,
      });
      for (const [what, body] of [
        ['every namespace', { spec: { namespaceSelectors: [{}] } }],
        ['the deprecated namespace list', { spec: { namespaces: ['shop'] } }],
        [
          'an attacker-chosen template',
          {
            spec: {
              externalSecretSpec: {
                target: { name: 'db', template: { data: { password: 'attacker-chosen' } } },
              },
            },
          },
        ],
        [
          'another remote key',
          {
            spec: {
              externalSecretSpec: {
                data: [{ secretKey: 'password', remoteRef: { key: 'payments-db-password' } }],
              },
            },
          },
        ],
        ["the children's name", { spec: { externalSecretName: 'other' } }],
        ['a label', { metadata: { labels: { team: 'attacker' } } }],
        ['an annotation', { metadata: { annotations: { 'team.example/owner': 'attacker' } } }],
        ['a child label', { spec: { externalSecretMetadata: { labels: { team: 'attacker' } } } }],
        [
          'another child annotation beside force-sync',
          {
            spec: {
              externalSecretMetadata: {
                annotations: { 'force-sync': new Date().toISOString(), 'team.example/owner': 'attacker' },
              },
            },
          },
        ],
        [
          'a child annotation removed',
          { spec: { externalSecretMetadata: { annotations: { 'team.example/owner': null } } } },
        ],
      ] as Array<[string, object]>) {
        const r = await patchAs('rotor', CES_PATH, body, MERGE_PATCH);
        assert.equal(r.status, 403, `${what}: ${r.message}`);
        assert.match(
          r.message,
          /ValidatingAdmissionPolicy 'rotor-clusterexternalsecret-patches'.*denied request: Rotor's identity may/,
          what,
        );
      }
      const byAdmin = await patchAs('admin', CES_PATH, { spec: { namespaceSelectors: [{}] } }, MERGE_PATCH);
      assert.equal(byAdmin.status, 200, byAdmin.message);
    });

    it('SecretSync: Rotor forceSynchronization passes; its class, service account, Secret or labels as rotor are denied; the admin is not affected', async () => {
      const sync = await admin('GET', SYNC_PATH);
      await forceSecretSync(rotor, sync, new Date().toISOString(), { dryRun: false });
      const at = new Date(Date.now() + 1000).toISOString();
      await forceSecretSync(rotor, sync, at, { dryRun: false });
      assert.equal(
        ((await admin('GET', SYNC_PATH)).spec as { forceSynchronization?: string }).forceSynchronization,
        at,
      );
      for (const [what, body] of [
        ['the SecretProviderClass', { spec: { secretProviderClassName: 'platform-db' } }],
        ['the service account', { spec: { serviceAccountName: 'platform' } }],
        [
          'the Secret it writes',
          {
            spec: {
              secretObject: { type: 'Opaque', data: [{ sourcePath: 'admin', targetKey: 'password' }] },
            },
          },
        ],
        ['a new spec field', { spec: { forceSynchronization: new Date().toISOString(), extra: 'x' } }],
        ['a label', { metadata: { labels: { team: 'attacker' } } }],
        ['an annotation', { metadata: { annotations: { 'team.example/owner': 'attacker' } } }],
      ] as Array<[string, object]>) {
        const r = await patchAs('rotor', SYNC_PATH, body, MERGE_PATCH);
        assert.equal(r.status, 403, `${what}: ${r.message}`);
        assert.match(
          r.message,
          /ValidatingAdmissionPolicy 'rotor-secretsync-patches'.*denied request: Rotor's identity may/,
          what,
        );
      }
      const byAdmin = await patchAs(
        'admin',
        SYNC_PATH,
        { spec: { serviceAccountName: 'other' } },
        MERGE_PATCH,
      );
      assert.equal(byAdmin.status, 200, byAdmin.message);
    });

    /** `k`'s manifest under another name, with `annotations`. */
    const named = (k: Kind, name: string, annotations: Record<string, string>): object => ({
      ...k.manifest,
      metadata: { name, annotations },
    });
    const createAs = (user: string, k: Kind, body: object): Promise<{ status: number; message: string }> =>
      cp.request(user, 'POST', `${collection(k.path)}?dryRun=All`, { body }).then((r) => {
        let message = r.body;
        try {
          message = (JSON.parse(r.body) as { message?: string }).message ?? r.body;
        } catch {
          // not JSON: keep the text
        }
        return { status: r.status, message };
      });
    const RECORDS_DENIED =
      /ValidatingAdmissionPolicy 'rotor-records'.*denied request: only Rotor may set or change its records/;

    for (const k of KINDS) {
      it(`${k.kind}: a tenant may not create one with Rotor's records, but may without them`, async () => {
        for (const [what, annotations] of [
          ['rotor.dev/applied', { [APPLIED]: '{"projects/p/secrets/db":"999999999"}' }],
          [
            'rotor.dev/applied-by',
            {
              [APPLIED_BY]: JSON.stringify({
                'projects/p/secrets/db': { action: 'restart', message: 'm-1', at: '2099-01-01T00:00:00Z' },
              }),
            },
          ],
        ] as Array<[string, Record<string, string>]>) {
          const r = await createAs(TENANT, k, named(k, 'forged', annotations));
          assert.equal(r.status, 403, `${what}: ${r.message}`);
          assert.match(r.message, RECORDS_DENIED, what);
          assert.ok(r.message.includes(what), `${what} named: ${r.message}`);
        }
        const plain = await createAs(TENANT, k, named(k, 'plain', { 'team.example/owner': 'payments' }));
        assert.equal(plain.status, 201, plain.message);
      });

      it(`${k.kind}: a tenant may not add or change Rotor's records, but may edit the workload and drop them`, async () => {
        // Rotor's records, written by Rotor.
        const current = await admin('GET', k.path);
        await recordApplied(rotor, ref(k), current, [{ key: 'projects/p/secrets/db', version: '9' }], {
          dryRun: false,
          by: { action: 'record', message: 'm-9', at: new Date().toISOString() },
        });
        for (const [what, body] of [
          [
            'a changed rotor.dev/applied',
            { metadata: { annotations: { [APPLIED]: '{"projects/p/secrets/db":"999999999"}' } } },
          ],
          [
            'a changed rotor.dev/applied-by',
            {
              metadata: {
                annotations: {
                  [APPLIED_BY]: JSON.stringify({
                    'projects/p/secrets/db': {
                      action: 'restart',
                      message: 'm-9',
                      at: '2099-01-01T00:00:00Z',
                    },
                  }),
                },
              },
            },
          ],
        ] as Array<[string, object]>) {
          const r = await patchAs(TENANT, k.path, body, MERGE_PATCH);
          assert.equal(r.status, 403, `${what}: ${r.message}`);
          assert.match(r.message, RECORDS_DENIED, what);
        }
        // Ordinary edits with the records kept as they are: an image, another annotation, a whole
        // object written back (a GET then a PUT, as `kubectl replace` or an apply does).
        for (const [what, body, contentType] of [
          [
            'an image',
            k.templatePatch({ containers: [{ name: 'app', image: 'example.invalid/app:3' }] }),
            k.contentType,
          ],
          [
            'another annotation',
            { metadata: { annotations: { 'team.example/owner': 'payments-2' } } },
            MERGE_PATCH,
          ],
          ...(k.kind === 'DaemonSet' || k.kind === 'CronJob'
            ? []
            : ([['the replica count', { spec: { replicas: 2 } }, MERGE_PATCH]] as Array<
                [string, object, string]
              >)),
        ] as Array<[string, object, string]>) {
          const r = await patchAs(TENANT, k.path, body, contentType);
          assert.equal(r.status, 200, `${what}: ${r.message}`);
        }
        const whole = await admin('GET', k.path);
        const put = await cp.request(TENANT, 'PUT', k.path, {
          body: { ...whole, metadata: { ...whole.metadata, labels: { edited: 'yes' } } },
        });
        assert.equal(put.status, 200, put.body);
        // Dropping them (Rotor then treats the workload as never acted on: the tenant's own choice).
        const dropped = await patchAs(
          TENANT,
          k.path,
          { metadata: { annotations: { [APPLIED_BY]: null } } },
          MERGE_PATCH,
        );
        assert.equal(dropped.status, 200, dropped.message);
        // ...but not writing one back.
        const back = await patchAs(
          TENANT,
          k.path,
          {
            metadata: {
              annotations: { [APPLIED_BY]: JSON.stringify({ x: { action: 'record', at: 'now' } }) },
            },
          },
          MERGE_PATCH,
        );
        assert.equal(back.status, 403, back.message);
        // Rotor itself still writes them.
        const after = await admin('GET', k.path);
        const recorded = await recordApplied(
          rotor,
          ref(k),
          after,
          [{ key: 'projects/p/secrets/db', version: '10' }],
          {
            dryRun: false,
            by: { action: 'record', message: 'm-10', at: new Date().toISOString() },
          },
        );
        assert.deepEqual(JSON.parse(recorded.metadata?.annotations?.[APPLIED] ?? '{}'), {
          'projects/p/secrets/db': '10',
        });
        assert.equal(
          (
            JSON.parse(recorded.metadata?.annotations?.[APPLIED_BY] ?? '{}') as Record<
              string,
              { message?: string }
            >
          )['projects/p/secrets/db']?.message,
          'm-10',
        );
      });
    }
  },
);
