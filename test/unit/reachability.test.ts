// Reachability (core/reachability.ts): which workloads can depend on a secret, from the small kinds
// alone; and the proof that discovery over the workloads it keeps equals discovery over all of them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DependencyIndex } from '../../functions/core/discovery';
import type { Inventory } from '../../functions/core/inventory';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import type { Reachability } from '../../functions/core/reachability';
import {
  TEMPLATE_REFERRING_KINDS,
  WorkloadFilter,
  WorkloadFilters,
  mayDepend,
  mayDependOn,
  reachabilityOf,
} from '../../functions/core/reachability';
import type { SecretId } from '../../functions/core/secretName';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { mentioning } from '../../functions/cluster/listItems';
import { loadManifests } from '../../functions/manifests/load';
import { HOT_SECRETS, PROJECT_ID, PROJECT_NUMBER, buildFleet } from '../../scripts/bench/fleet';
import {
  container,
  csiVolume,
  deployment,
  envFromKey,
  externalSecret,
  mount,
  secretVolume,
  spc,
  store,
  workload,
} from './k8s';

const DB = 'projects/my-proj/secrets/db-password';
const id = (name: string): SecretId => parseSecretName(name).id;
const projects = new ProjectMap();

const clusterStore = store('ClusterSecretStore', 'gcp-store', { projectID: 'my-proj' });
const dbCredentials = externalSecret('db-credentials', {
  secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
  target: { name: 'db-creds' },
  data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
});
const otherCredentials = externalSecret('other', {
  secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
  data: [{ secretKey: 'token', remoteRef: { key: 'api-token' } }],
});
const finder = externalSecret('everything', {
  secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
  target: { name: 'found' },
  dataFrom: [{ find: { name: { regexp: '^db-' } } }],
});
const dbClass = spc('db-csi', [{ resourceName: `${DB}/versions/latest`, fileName: 'pw' }], {
  provider: 'gcp',
  secretObjects: [{ secretName: 'db-synced', type: 'Opaque', data: [{ objectName: 'pw', key: 'pw' }] }],
});
const otherClass = spc('token-csi', [
  { resourceName: 'projects/my-proj/secrets/api-token/versions/latest', fileName: 'token' },
]);
const small = [clusterStore, dbCredentials, otherCredentials, finder, dbClass, otherClass];

function reach(objects: KubeObject[] = small, secret = DB): Reachability {
  return reachabilityOf(inventoryFrom('c', objects), id(secret), { projects, defaultProject: 'my-proj' });
}

const readsSecret = (name: string, secretName: string, namespace = 'shop'): KubeObject =>
  deployment(
    name,
    { containers: [container('app', { env: [envFromKey('X', secretName, 'pw')] })] },
    { namespace },
  );
const mountsClass = (name: string, cls: string): KubeObject =>
  deployment(name, {
    containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
    volumes: [csiVolume('s', cls)],
  });

describe('reachabilityOf: what in the small kinds can lead to the secret', () => {
  it('ESO targets that reference it, or may through find; never one of another secret', () => {
    assert.deepEqual([...reach().secrets].sort(), ['shop/db-creds', 'shop/db-synced', 'shop/found']);
  });

  it('classes with an entry for it; their secretObjects Secrets', () => {
    assert.deepEqual([...reach().classes], ['shop/db-csi']);
    const token = reach(small, 'projects/my-proj/secrets/api-token');
    assert.deepEqual([...token.classes], ['shop/token-csi']);
    assert.deepEqual([...token.secrets].sort(), ['shop/found', 'shop/other']);
  });

  it('matches a project number to its id through the project map', () => {
    const mapped = reachabilityOf(inventoryFrom('c', small), id('projects/123/secrets/db-password'), {
      projects: ProjectMap.parse('my-proj=123'),
    });
    assert.deepEqual([...mapped.classes], ['shop/db-csi']);
  });

  it('a class or ExternalSecret that does not parse leads nowhere (discovery leaves it out too)', () => {
    const broken = { ...dbClass, spec: { provider: 'gcp', parameters: { secrets: '- [not: yaml' } } };
    assert.deepEqual([...reach([broken]).classes], []);
  });
});

describe('mayDepend: conservative per workload', () => {
  const r = reach();
  it('keeps readers of reachable Secrets (env, volume) and mounts of reachable classes', () => {
    assert.equal(mayDepend(readsSecret('a', 'db-creds'), r), true);
    assert.equal(mayDepend(readsSecret('b', 'db-synced'), r), true);
    assert.equal(mayDepend(readsSecret('c', 'found'), r), true);
    const vol = deployment('v', {
      containers: [container('app', { volumeMounts: [mount('c', '/c')] })],
      volumes: [secretVolume('c', 'db-creds')],
    });
    assert.equal(mayDepend(vol, r), true);
    assert.equal(mayDepend(mountsClass('m', 'db-csi'), r), true);
  });

  it('drops readers of other Secrets, the same name in another namespace, other classes, no secrets', () => {
    assert.equal(mayDepend(readsSecret('a', 'other'), r), false);
    assert.equal(mayDepend(readsSecret('a', 'db-creds', 'elsewhere'), r), false);
    assert.equal(mayDepend(mountsClass('m', 'token-csi'), r), false);
    assert.equal(mayDepend(deployment('plain', {}), r), false);
  });

  it('keeps any workload with rotor.dev/secrets, even naming another secret or garbage', () => {
    const annotated = (v: string): KubeObject =>
      deployment('api', {}, { annotations: { 'rotor.dev/secrets': v } });
    assert.equal(mayDepend(annotated('api-token'), r), true);
    assert.equal(mayDepend(annotated('!!!'), r), true);
    const onTemplate = deployment('t', {}, { templateAnnotations: { 'rotor.dev/secrets': 'db-password' } });
    assert.equal(mayDepend(onTemplate, r), true);
  });

  it('keeps a Rollout with workloadRef, and the filter keeps the Deployment it runs', () => {
    assert.deepEqual(TEMPLATE_REFERRING_KINDS, ['Rollout']);
    const rollout: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'ro', namespace: 'shop' },
      spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'base' } },
    };
    const base = readsSecret('base', 'unrelated');
    const filter = new WorkloadFilter(r);
    assert.equal(filter.keep(base), false, 'before the Rollout is seen, the Deployment alone reads nothing');
    assert.equal(filter.keep(rollout), true);
    assert.equal(filter.keep(base), true);
    assert.equal(filter.keep(readsSecret('base', 'unrelated', 'other')), false);
  });

  it('keeps a workload whose pod spec cannot be read; drops one with no template', () => {
    const hostile = workload('StatefulSet', 's', {});
    (hostile.spec as { template: { spec: unknown } }).template.spec = {
      get containers(): never {
        throw new Error('hostile');
      },
    };
    assert.equal(mayDepend(hostile, r), true);
    const noTemplate: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } };
    assert.equal(mayDepend(noTemplate, r), false);
  });
});

describe('mayDependOn / WorkloadFilters: several secrets at once (one discovery for several events)', () => {
  const db = reach();
  const token = reach(small, 'projects/my-proj/secrets/api-token');
  it('gives the indices of the secrets each workload can depend on', () => {
    assert.deepEqual(mayDependOn(readsSecret('a', 'db-creds'), [db, token]), [0]);
    assert.deepEqual(mayDependOn(mountsClass('m', 'token-csi'), [db, token]), [1]);
    assert.deepEqual(mayDependOn(readsSecret('a', 'unrelated'), [db, token]), []);
    const annotated = deployment('api', {}, { annotations: { 'rotor.dev/secrets': 'api-token' } });
    assert.deepEqual(mayDependOn(annotated, [db, token]), [0, 1]);
    const both = deployment('both', {
      containers: [
        container('app', { env: [envFromKey('X', 'db-creds', 'pw')], volumeMounts: [mount('s', '/s')] }),
      ],
      volumes: [csiVolume('s', 'token-csi')],
    });
    assert.deepEqual(mayDependOn(both, [db, token]), [0, 1]);
    assert.deepEqual(mayDependOn(both, []), []);
  });

  it('keeps the Deployment a kept Rollout runs for every secret, as it keeps the Rollout', () => {
    const rollout: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'ro', namespace: 'shop' },
      spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'base' } },
    };
    const filters = new WorkloadFilters([db, token]);
    assert.deepEqual(filters.keptBy(readsSecret('base', 'unrelated')), []);
    assert.deepEqual(filters.keptBy(rollout), [0, 1]);
    assert.deepEqual(filters.keptBy(readsSecret('base', 'unrelated')), [0, 1]);
    assert.deepEqual(filters.keptBy(readsSecret('base', 'unrelated', 'other')), []);
  });

  it('on the benchmark fleet: each secret keeps exactly what its own single filter keeps', () => {
    const fleet = buildFleet({
      workloads: 1500,
      namespaces: 30,
      hotFraction: 0.05,
      decoyFraction: 0.03,
      seed: 7,
    });
    const objects = fleet.phases.flatMap((ph) => ph.objects.map((o) => o.body));
    const full = inventoryFrom('bench', objects);
    const p = ProjectMap.parse(`${PROJECT_ID}=${PROJECT_NUMBER}`);
    const reaches = HOT_SECRETS.map((h) =>
      reachabilityOf(full, id(`projects/${PROJECT_ID}/secrets/${h}`), {
        projects: p,
        defaultProject: PROJECT_ID,
      }),
    );
    const filters = new WorkloadFilters(reaches);
    const singles = reaches.map((r) => new WorkloadFilter(r));
    let kept = 0;
    for (const w of full.workloads) {
      const by = filters.keptBy(w);
      kept += by.length;
      assert.deepEqual(
        by,
        singles.flatMap((f, i) => (f.keep(w) ? [i] : [])),
        `${w.metadata?.namespace ?? ''}/${w.metadata?.name ?? ''}`,
      );
    }
    assert.ok(kept > 50, `the filters keep workloads to compare (${kept})`);
  });
});

describe('WorkloadFilters.mentionsToKeep: what a kept built-in workload must name (byte pre-filter)', () => {
  const db = reach();
  const token = reach(small, 'projects/my-proj/secrets/api-token');
  it('the annotation key, the reached Secrets and classes by name, and the Deployments kept Rollouts run', () => {
    const filters = new WorkloadFilters([db, token]);
    // db: its ESO target db-creds, the find target found, class db-csi and its secretObjects
    // db-synced; api-token: the ESO other's target (named as the ExternalSecret), found, token-csi.
    const sorted = (m: { anywhere: string[]; namespaced: string[] }) => ({
      anywhere: m.anywhere,
      namespaced: [...m.namespaced].sort(),
    });
    assert.deepEqual(sorted(filters.mentionsToKeep()), {
      anywhere: ['rotor.dev/secrets'],
      namespaced: [
        'shop/db-creds',
        'shop/db-csi',
        'shop/db-synced',
        'shop/found',
        'shop/other',
        'shop/token-csi',
      ],
    });
    filters.keptBy({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'ro', namespace: 'shop' },
      spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'base' } },
    });
    assert.ok(filters.mentionsToKeep().namespaced.includes('shop/base'));
  });

  it('on the benchmark fleet: never refuses a workload the filters keep, and refuses most of the rest', () => {
    const fleet = buildFleet({
      workloads: 1500,
      namespaces: 30,
      hotFraction: 0.05,
      decoyFraction: 0.03,
      seed: 7,
    });
    const objects = fleet.phases.flatMap((ph) => ph.objects.map((o) => o.body));
    const full = inventoryFrom('bench', objects);
    const p = ProjectMap.parse(`${PROJECT_ID}=${PROJECT_NUMBER}`);
    const opts = { projects: p, defaultProject: PROJECT_ID };
    const all = HOT_SECRETS.map((h) => reachabilityOf(full, id(`projects/${PROJECT_ID}/secrets/${h}`), opts));
    let refused = 0;
    let builtIn = 0;
    // Each hot secret alone (one event), and all of them at once (a burst sharing one discovery).
    for (const reaches of [...all.map((r) => [r]), all]) {
      const filters = new WorkloadFilters(reaches);
      const referring = full.workloads.filter((w) => TEMPLATE_REFERRING_KINDS.includes(w.kind ?? ''));
      for (const w of referring) filters.keptBy(w);
      const may = mentioning(filters.mentionsToKeep());
      assert.ok(may, 'few enough strings to pre-filter');
      for (const w of full.workloads) {
        if (TEMPLATE_REFERRING_KINDS.includes(w.kind ?? '')) continue;
        builtIn++;
        const bytes = Buffer.from(JSON.stringify(w));
        const kept = filters.keptBy(w).length > 0;
        if (kept)
          assert.equal(
            may(bytes),
            true,
            `${w.kind ?? ''} ${w.metadata?.namespace ?? ''}/${w.metadata?.name ?? ''}`,
          );
        if (!may(bytes)) refused++;
      }
    }
    assert.ok(refused > builtIn / 2, `refused unparsed: ${refused} of ${builtIn}`);
  });
});

/** Discovery over the workloads the streaming filter keeps (offered in the shell's order). */
function streamed(full: Inventory, secret: SecretId, p: ProjectMap, defaultProject?: string): Inventory {
  const filter = new WorkloadFilter(
    reachabilityOf(full, secret, { projects: p, ...(defaultProject ? { defaultProject } : {}) }),
  );
  const referringFirst = [
    ...full.workloads.filter((w) => TEMPLATE_REFERRING_KINDS.includes(w.kind ?? '')),
    ...full.workloads.filter((w) => !TEMPLATE_REFERRING_KINDS.includes(w.kind ?? '')),
  ];
  const kept = new Set(referringFirst.filter((w) => filter.keep(w)));
  return { ...full, workloads: full.workloads.filter((w) => kept.has(w)) };
}

function assertEquivalent(
  full: Inventory,
  secrets: SecretId[],
  p: ProjectMap,
  defaultProject?: string,
): number {
  let dependents = 0;
  const opts = { projects: p, ...(defaultProject ? { defaultProject } : {}) };
  const fullIndex = new DependencyIndex(full, opts);
  for (const secret of secrets) {
    const want = fullIndex.dependentsOf(secret);
    const part = streamed(full, secret, p, defaultProject);
    const got = new DependencyIndex(part, opts).dependentsOf(secret);
    assert.deepEqual(got, want, `dependents of ${secret.secret}`);
    dependents += want.length;
  }
  return dependents;
}

describe('streamed discovery equals full-inventory discovery', () => {
  it('on the benchmark fleet (every hot, decoy and cold mode), for every secret it mentions', () => {
    const fleet = buildFleet({
      workloads: 1500,
      namespaces: 30,
      hotFraction: 0.05,
      decoyFraction: 0.03,
      seed: 7,
    });
    const objects = fleet.phases.flatMap((ph) => ph.objects.map((o) => o.body));
    const full = inventoryFrom('bench', objects);
    const names = new Set<string>();
    for (const o of objects) {
      const text = JSON.stringify(o);
      for (const m of text.matchAll(/secrets\/([a-z0-9-]+)/g)) names.add(m[1] ?? '');
      for (const m of text.matchAll(/"key":"([a-z0-9-]+)"/g)) names.add(m[1] ?? '');
    }
    // Every hot secret, and a sample of the cold ones (each cold workload reads its own).
    const sample = [...HOT_SECRETS, ...[...names].filter((_, i) => i % 25 === 0)];
    const secrets = sample.flatMap((n) => [
      id(`projects/${PROJECT_ID}/secrets/${n}`),
      id(`projects/${PROJECT_NUMBER}/secrets/${n}`),
      id(`projects/acme-billing/secrets/${n}`),
    ]);
    const p = ProjectMap.parse(`${PROJECT_ID}=${PROJECT_NUMBER}`);
    const dependents = assertEquivalent(full, secrets, p, PROJECT_ID);
    assert.ok(dependents > 150, `the fleet has dependents to compare (${dependents})`);
    // And it keeps few: most of the fleet is dropped for a hot secret.
    const hot = id(`projects/${PROJECT_ID}/secrets/db-password`);
    const kept = streamed(full, hot, p, PROJECT_ID).workloads.length;
    assert.ok(kept < full.workloads.length / 4, `kept ${kept} of ${full.workloads.length}`);
  });

  it('on the realistic fixtures (GKE add-on, OSS driver, ESO find and stores, Helm, Rollouts)', () => {
    const objects = loadManifests(['test/fixtures/realistic']);
    const full = inventoryFrom('real', objects);
    const names = new Set<string>();
    for (const m of JSON.stringify(objects).matchAll(/(?:secrets\/|"key":")([a-z0-9-]+)/g))
      names.add(m[1] ?? '');
    const p = ProjectMap.parse('acme-prod=482913574061,acme-data=773190448812');
    const secrets = [...names].flatMap((n) =>
      ['acme-prod', 'acme-data', '482913574061', 'acme-billing'].map((proj) =>
        id(`projects/${proj}/secrets/${n}`),
      ),
    );
    assert.ok(assertEquivalent(full, secrets, p) > 10);
    assert.ok(full.workloads.some((w) => w.kind === 'Rollout'));
  });

  it('on the examples: every consumption mode, GKE SecretSync, bare Pods and Jobs (live: no ClusterExternalSecrets, ESO created their children)', () => {
    const objects = loadManifests(['infra/examples']).filter((o) => o.kind !== 'ClusterExternalSecret');
    const full = inventoryFrom('examples', objects);
    const p = ProjectMap.parse('my-proj=123456789012');
    assert.ok(full.secretSyncs && full.secretSyncs.length > 0, 'the examples carry a SecretSync');
    const dependents = assertEquivalent(full, [id(DB), id('projects/my-proj/secrets/api-key')], p, 'my-proj');
    assert.ok(dependents >= 20, `dependents: ${dependents}`);
  });

  it('keeps the readers of the Secret a GKE SecretSync writes from a class carrying the secret', () => {
    const gkeClass = spc('db-gke', [{ resourceName: `${DB}/versions/latest`, path: 'pw' }], {
      provider: 'gke',
    });
    const sync: KubeObject = {
      apiVersion: 'secret-sync.gke.io/v1',
      kind: 'SecretSync',
      metadata: { name: 'db-synced-gke', namespace: 'shop' },
      spec: {
        secretProviderClassName: 'db-gke',
        secretObject: { type: 'Opaque', data: [{ sourcePath: 'pw', targetKey: 'pw' }] },
      },
    };
    const r = reach([gkeClass, sync]);
    assert.deepEqual([...r.secrets], ['shop/db-synced-gke']);
    assert.equal(mayDepend(readsSecret('billing', 'db-synced-gke'), r), true);
    // A SecretSync of a class that does not carry the secret leads nowhere.
    assert.deepEqual([...reach([gkeClass, sync], 'projects/my-proj/secrets/api-token').secrets], []);
  });

  it('on hand-built cases: find, secretObjects, annotations, Rollout workloadRef, key-scoped reads', () => {
    const rollout: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'ro', namespace: 'shop' },
      spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'base' } },
    };
    const objects = [
      ...small,
      rollout,
      readsSecret('base', 'db-creds'),
      readsSecret('reader', 'db-synced'),
      deployment('finds', {
        containers: [container('app', { env: [envFromKey('X', 'found', 'db-password')] })],
      }),
      readsSecret('other', 'other'),
      mountsClass('csi', 'db-csi'),
      mountsClass('token', 'token-csi'),
      deployment('api', {}, { annotations: { 'rotor.dev/secrets': 'db-password,api-token' } }),
      deployment('plain', {}),
    ];
    const full = inventoryFrom('c', objects);
    const secrets = ['db-password', 'api-token', 'db-other', 'nothing'].map((n) =>
      id(`projects/my-proj/secrets/${n}`),
    );
    // db-password: base (through ro), ro, reader, finds, csi, api; api-token: token, api.
    assert.equal(assertEquivalent(full, secrets, projects, 'my-proj'), 8);
  });
});
