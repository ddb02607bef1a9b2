// Discovery: every path by which a pod can depend on a Secret Manager secret (shared/DESIGN.md),
// with per-key precision where Kubernetes gives it, and the identity rules (project id/number,
// global vs regional, other projects' stores).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../functions/errors';
import type { Dependency } from '../../functions/core/discovery';
import { DependencyIndex, appliedVersions } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import {
  container,
  csiVolume,
  deployment,
  envFromKey,
  externalSecret,
  mount,
  projectedVolume,
  secretVolume,
  spc,
  store,
  workload,
} from './k8s';

const DB = 'projects/my-proj/secrets/db-password';
const target = (name = DB) => parseSecretName(name).id;

function index(
  objects: KubeObject[],
  opts: { projects?: string; defaultProject?: string; strict?: boolean } = {},
) {
  const problems: string[] = [];
  const idx = new DependencyIndex(inventoryFrom('test', objects), {
    ...(opts.strict ? { strict: true } : {}),
    projects: ProjectMap.parse(opts.projects),
    ...(opts.defaultProject ? { defaultProject: opts.defaultProject } : {}),
    onProblem: (m) => problems.push(m),
  });
  return { idx, problems };
}

/** name → its dependencies on `secret`, in inventory order. */
function depsOf(
  objects: KubeObject[],
  secret = DB,
  opts: { projects?: string; defaultProject?: string } = {},
): Map<string, Dependency[]> {
  const { idx } = index(objects, opts);
  return new Map(idx.dependentsOf(target(secret)).map((w) => [w.ref.name, [...w.dependencies]]));
}

const short = (d: Dependency) => ({
  via: d.via,
  container: d.container,
  version: d.version,
  inPlace: d.inPlace,
});

// A realistic ESO setup: a ClusterSecretStore for my-proj and an ExternalSecret writing db-credentials.
const clusterStore = store('ClusterSecretStore', 'gcp-store', {
  projectID: 'my-proj',
  auth: {
    workloadIdentity: {
      clusterLocation: 'europe-west1',
      clusterName: 'prod',
      serviceAccountRef: { name: 'external-secrets', namespace: 'external-secrets' },
    },
  },
});
const dbCredentials = externalSecret('db-credentials', {
  secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
  target: { name: 'db-credentials', creationPolicy: 'Owner' },
  data: [
    { secretKey: 'DB_PASSWORD', remoteRef: { key: 'db-password' } },
    { secretKey: 'API_TOKEN', remoteRef: { key: 'api-token' } },
  ],
});
const eso = [clusterStore, dbCredentials];

describe('CSI volumes (GKE add-on and OSS driver)', () => {
  const gkeClass = spc('db-gke', [{ resourceName: `${DB}/versions/latest`, path: 'db-password.txt' }]);

  it('GKE add-on volume with path: csi, updates in place', () => {
    const w = deployment('web', {
      containers: [container('app', { volumeMounts: [mount('secrets', '/var/secrets')] })],
      volumes: [csiVolume('secrets', 'db-gke')],
    });
    const deps = depsOf([gkeClass, w]).get('web')!;
    assert.deepEqual(deps.map(short), [{ via: 'csi', container: 'app', version: 'latest', inPlace: true }]);
    assert.match(
      deps[0].detail,
      /CSI volume secrets \(secrets-store-gke.csi.k8s.io, SecretProviderClass db-gke\) file db-password.txt at \/var\/secrets in app, projects\/my-proj\/secrets\/db-password\/versions\/latest/,
    );
    assert.deepEqual(deps[0].source, {
      kind: 'csi',
      namespace: 'shop',
      spc: 'db-gke',
      file: 'db-password.txt',
      driver: 'secrets-store-gke.csi.k8s.io',
      resourceName: 'projects/my-proj/secrets/db-password/versions/latest',
    });
  });

  it('OSS driver with provider gcp and fileName, SecretProviderClass v1alpha1', () => {
    const oss = spc('db-oss', [{ resourceName: `${DB}/versions/latest`, fileName: 'password' }], {
      provider: 'gcp',
      apiVersion: 'secrets-store.csi.x-k8s.io/v1alpha1',
    });
    const w = deployment('shipper', {
      containers: [container('shipper', { volumeMounts: [mount('s', '/etc/db')] })],
      volumes: [csiVolume('s', 'db-oss', 'secrets-store.csi.k8s.io')],
    });
    const deps = depsOf([oss, w]).get('shipper')!;
    assert.deepEqual(deps.map(short), [
      { via: 'csi', container: 'shipper', version: 'latest', inPlace: true },
    ]);
    assert.equal(deps[0].source.kind === 'csi' && deps[0].source.file, 'password');
  });

  it('subPath of the file: restart-only; subPath of another file: no dependency; subPath of a directory: the files under it', () => {
    const cls = spc('multi', [
      { resourceName: `${DB}/versions/latest`, path: 'db/password' },
      { resourceName: 'projects/my-proj/secrets/tls/versions/latest', path: 'tls.crt' },
    ]);
    const w = (name: string, subPath: string) =>
      deployment(name, {
        containers: [container('app', { volumeMounts: [mount('s', '/etc/x', subPath)] })],
        volumes: [csiVolume('s', 'multi')],
      });
    const found = depsOf([
      cls,
      w('file', 'db/password'),
      w('other', 'tls.crt'),
      w('dir', 'db'),
      w('dir-slash', 'db/'),
    ]);
    assert.deepEqual([...found.keys()], ['file', 'dir', 'dir-slash']);
    assert.deepEqual(found.get('file')!.map(short), [
      { via: 'subPath', container: 'app', version: 'latest', inPlace: false },
    ]);
    assert.match(found.get('file')![0].detail, /via subPath db\/password/);
  });

  it('a CSI volume only an init container mounts: init, restart-only', () => {
    const w = deployment('migrator', {
      initContainers: [container('migrate', { volumeMounts: [mount('s', '/secrets')] })],
      containers: [container('app')],
      volumes: [csiVolume('s', 'db-gke')],
    });
    const deps = depsOf([gkeClass, w]).get('migrator')!;
    assert.deepEqual(deps.map(short), [
      { via: 'init', container: 'migrate', version: 'latest', inPlace: false },
    ]);
    assert.match(deps[0].detail, /in migrate \(init\)/);
  });

  it('a native sidecar (init container with restartPolicy Always) reads like an app container', () => {
    const w = deployment('proxied', {
      initContainers: [
        container('proxy', {
          restartPolicy: 'Always',
          volumeMounts: [mount('s', '/secrets')],
          env: [envFromKey('PW', 'db-credentials', 'DB_PASSWORD')],
        }),
      ],
      containers: [container('app')],
      volumes: [csiVolume('s', 'db-gke')],
    });
    assert.deepEqual(
      depsOf([gkeClass, ...eso, w])
        .get('proxied')!
        .map(short),
      [
        { via: 'env', container: 'proxy', version: 'latest', inPlace: false },
        { via: 'csi', container: 'proxy', version: 'latest', inPlace: true },
      ],
    );
  });

  it('the same volume in an init container and the app: both dependencies', () => {
    const w = deployment('both', {
      initContainers: [container('wait-db', { volumeMounts: [mount('s', '/secrets')] })],
      containers: [container('app', { volumeMounts: [mount('s', '/secrets')] })],
      volumes: [csiVolume('s', 'db-gke')],
    });
    assert.deepEqual(
      depsOf([gkeClass, w])
        .get('both')!
        .map((d) => d.via),
      ['init', 'csi'],
    );
  });

  it('a volume declared but mounted by no container: no dependency', () => {
    const w = deployment('unmounted', { volumes: [csiVolume('s', 'db-gke')] });
    assert.equal(depsOf([gkeClass, w]).size, 0);
  });

  it('pinned and alias versions are carried on the dependency', () => {
    const cls = spc('versions', [
      { resourceName: `${DB}/versions/3`, path: 'pinned' },
      { resourceName: `${DB}/versions/current`, path: 'alias' },
    ]);
    const w = deployment('v', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'versions')],
    });
    assert.deepEqual(
      depsOf([cls, w])
        .get('v')!
        .map((d) => d.version),
      ['3', 'current'],
    );
  });

  it('names an unresolvable CSI volume as a problem, not an error', () => {
    const missing = deployment('missing', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'nope')],
    });
    const noClass = deployment('no-class', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [{ name: 's', csi: { driver: 'secrets-store-gke.csi.k8s.io' } }],
    });
    const mismatch = deployment('mismatch', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'db-gke', 'secrets-store.csi.k8s.io')],
    });
    const { idx, problems } = index([gkeClass, missing, noClass, mismatch]);
    assert.deepEqual(problems, [
      'Deployment shop/missing: SecretProviderClass shop/nope (volume s) was not found',
      'Deployment shop/no-class: CSI volume s names no secretProviderClass',
      'Deployment shop/mismatch: volume s uses driver secrets-store.csi.k8s.io but SecretProviderClass shop/db-gke has provider gke (expected gcp)',
    ]);
    // The mismatch is reported but the dependency is still found: the pod does read the class.
    assert.deepEqual(
      idx.dependentsOf(target()).map((w) => w.ref.name),
      ['mismatch'],
    );
  });

  it('ignores other CSI drivers and other providers (vault, azure, aws)', () => {
    const vault = {
      ...spc('vault', [{ resourceName: `${DB}/versions/latest`, path: 'x' }]),
      spec: { provider: 'vault', parameters: { objects: '- objectName: x' } },
    };
    const w1 = deployment('vault-user', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'vault', 'secrets-store.csi.k8s.io')],
    });
    const w2 = deployment('ebs', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [{ name: 's', csi: { driver: 'ebs.csi.aws.com' } }],
    });
    const { idx, problems } = index([vault, w1, w2]);
    assert.equal(idx.dependentsOf(target()).length, 0);
    assert.deepEqual(problems, [], 'a class of another provider is found: not an unresolved reference');
  });

  it('a SecretProviderClass in another namespace does not apply', () => {
    const other = spc('db-gke', [{ resourceName: `${DB}/versions/latest`, path: 'p' }], {
      namespace: 'other',
    });
    const w = deployment('web', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'db-gke')],
    });
    const { idx, problems } = index([other, w]);
    assert.equal(idx.dependentsOf(target()).length, 0);
    assert.equal(problems.length, 1);
  });

  it('reads parameters as the provider does: numeric file names, an empty path falling back to fileName, merge keys', () => {
    const cls = spc(
      'odd',
      '- resourceName: projects/my-proj/secrets/db-password/versions/latest\n  path: 2024\n- resourceName: projects/my-proj/secrets/db-password/versions/3\n  path: ""\n  fileName: old\n',
    );
    const w = deployment('odd', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'odd')],
    });
    assert.deepEqual(
      depsOf([cls, w])
        .get('odd')!
        .map((d) => d.source.kind === 'csi' && d.source.file),
      ['2024', 'old'],
    );
  });

  it('skips Parameter Manager entries the gcp provider also mounts (not Secret Manager secrets)', () => {
    const cls = spc(
      'mixed',
      [
        {
          resourceName: 'projects/my-proj/locations/global/parameters/app-config/versions/v1',
          path: 'config.yaml',
        },
        { resourceName: `${DB}/versions/latest`, path: 'db' },
      ],
      { provider: 'gcp' },
    );
    const w = deployment('app', {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'mixed', 'secrets-store.csi.k8s.io')],
    });
    const deps = depsOf([cls, w]).get('app')!;
    assert.deepEqual(
      deps.map((d) => d.source.kind === 'csi' && d.source.file),
      ['db'],
    );
  });
});

describe('SecretProviderClass parameters that do not parse are errors naming the object', () => {
  const bad = (secrets: unknown, expect: RegExp) => {
    const cls = { ...spc('broken', []), __source: 'manifests/spc.yaml' } as KubeObject;
    (cls.spec as Record<string, unknown>).parameters = secrets === undefined ? {} : { secrets };
    assert.throws(
      () => index([cls], { strict: true }),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.match(e.message, /^manifests\/spc.yaml: SecretProviderClass shop\/broken: /);
        assert.match(e.message, expect);
        return true;
      },
    );
  };
  it('missing', () => bad(undefined, /spec.parameters.secrets is missing/));
  it('not YAML', () =>
    bad('- resourceName: "a\n  path: [', /spec.parameters.secrets does not parse as YAML/));
  it('a list instead of a string', () =>
    bad([{ resourceName: 'x' }], /must be a YAML string \(use a block scalar: `secrets: \|`\)/));
  it('not a list', () => bad('resourceName: x', /must be a YAML list of \{resourceName, path\}/));
  it('an item that is not a mapping', () =>
    bad('- just-a-string', /spec.parameters.secrets\[0\] must be a mapping/));
  it('no resourceName', () => bad('- path: x', /spec.parameters.secrets\[0\].resourceName is missing/));
  it('a bad resourceName', () =>
    bad(
      '- resourceName: projects/p/secret/s/versions/1\n  path: x',
      /secrets\[0\].resourceName: "projects\/p\/secret\/s\/versions\/1" is not a Secret Manager name: expected "secrets" at segment 3/,
    ));
  it('no version', () => bad('- resourceName: projects/p/secrets/s\n  path: x', /must end in \/versions\/V/));
  it('no path or fileName', () =>
    bad('- resourceName: projects/p/secrets/s/versions/1', /secrets\[0\] needs "path" or "fileName"/));

  it('on a live cluster (not strict), a broken class is reported and left out; the others still count', () => {
    const broken = { ...spc('broken', '- resourceName: [oops'), __source: 'cluster/prod' } as KubeObject;
    const good = spc('good', [{ resourceName: `${DB}/versions/latest`, path: 'p' }]);
    const reader = (name: string, cls: string) =>
      deployment(name, {
        containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
        volumes: [csiVolume('s', cls)],
      });
    const { idx, problems } = index([broken, good, reader('a', 'broken'), reader('b', 'good')]);
    assert.deepEqual(
      idx.dependentsOf(target()).map((w) => w.ref.name),
      ['b'],
    );
    assert.match(
      problems[0],
      /^cluster\/prod: SecretProviderClass shop\/broken: spec.parameters.secrets does not parse as YAML: .* \(left out\)$/,
    );
    assert.equal(problems[1], 'Deployment shop/a: SecretProviderClass shop/broken (volume s) was not found');
  });
});

describe('Kubernetes Secrets synced from Secret Manager, and how containers read them', () => {
  const read = (name: string, pod: Parameters<typeof deployment>[1]) => deployment(name, pod);

  it('env from an ESO-synced Secret: per-key precision', () => {
    const api = read('api', {
      containers: [container('app', { env: [envFromKey('DB_PASSWORD', 'db-credentials', 'DB_PASSWORD')] })],
    });
    const token = read('token', {
      containers: [container('app', { env: [envFromKey('API_TOKEN', 'db-credentials', 'API_TOKEN')] })],
    });
    const found = depsOf([...eso, api, token]);
    assert.deepEqual([...found.keys()], ['api']);
    const d = found.get('api')![0];
    assert.deepEqual(short(d), { via: 'env', container: 'app', version: 'latest', inPlace: false });
    assert.deepEqual(d.source, {
      kind: 'eso',
      namespace: 'shop',
      externalSecret: 'db-credentials',
      secretName: 'db-credentials',
    });
    assert.equal(
      d.detail,
      'env DB_PASSWORD (key DB_PASSWORD) in app reads Secret db-credentials, synced by ExternalSecret shop/db-credentials (data[0] (key DB_PASSWORD)), projects/my-proj/secrets/db-password version latest',
    );
    // The other reader depends on api-token.
    assert.deepEqual(
      [...depsOf([...eso, api, token], 'projects/my-proj/secrets/api-token').keys()],
      ['token'],
    );
  });

  it('envFrom, secret volume, projected volume: every key', () => {
    const envFrom = read('env-from', {
      containers: [container('app', { envFrom: [{ prefix: 'DB_', secretRef: { name: 'db-credentials' } }] })],
    });
    const vol = read('vol', {
      containers: [container('app', { volumeMounts: [mount('creds', '/etc/creds')] })],
      volumes: [secretVolume('creds', 'db-credentials')],
    });
    const proj = read('proj', {
      containers: [container('app', { volumeMounts: [mount('all', '/var/run/all')] })],
      volumes: [projectedVolume('all', 'db-credentials')],
    });
    const found = depsOf([...eso, envFrom, vol, proj]);
    assert.deepEqual(found.get('env-from')!.map(short), [
      { via: 'envFrom', container: 'app', version: 'latest', inPlace: false },
    ]);
    assert.match(
      found.get('env-from')![0].detail,
      /^envFrom \(prefix DB_\) in app reads Secret db-credentials/,
    );
    assert.deepEqual(found.get('vol')!.map(short), [
      { via: 'volume', container: 'app', version: 'latest', inPlace: true },
    ]);
    assert.deepEqual(found.get('proj')!.map(short), [
      { via: 'volume', container: 'app', version: 'latest', inPlace: true },
    ]);
  });

  it('secret and projected volumes that select other keys with items: no dependency', () => {
    const items = [{ key: 'API_TOKEN', path: 'token' }];
    const vol = read('vol', {
      containers: [container('app', { volumeMounts: [mount('creds', '/etc/creds')] })],
      volumes: [secretVolume('creds', 'db-credentials', items)],
    });
    const proj = read('proj', {
      containers: [container('app', { volumeMounts: [mount('all', '/var/run/all')] })],
      volumes: [projectedVolume('all', 'db-credentials', items)],
    });
    const picks = read('picks', {
      containers: [container('app', { volumeMounts: [mount('creds', '/etc/creds')] })],
      volumes: [secretVolume('creds', 'db-credentials', [{ key: 'DB_PASSWORD', path: 'pw' }])],
    });
    assert.deepEqual([...depsOf([...eso, vol, proj, picks]).keys()], ['picks']);
  });

  it('subPath into a secret volume: restart-only, and only for the key it selects', () => {
    const sub = read('sub', {
      containers: [container('app', { volumeMounts: [mount('creds', '/etc/app/password', 'DB_PASSWORD')] })],
      volumes: [secretVolume('creds', 'db-credentials')],
    });
    const subOther = read('sub-other', {
      containers: [container('app', { volumeMounts: [mount('creds', '/etc/app/token', 'API_TOKEN')] })],
      volumes: [secretVolume('creds', 'db-credentials')],
    });
    const subItems = read('sub-items', {
      containers: [container('app', { volumeMounts: [mount('creds', '/etc/app/pw', 'pw')] })],
      volumes: [secretVolume('creds', 'db-credentials', [{ key: 'DB_PASSWORD', path: 'pw' }])],
    });
    const found = depsOf([...eso, sub, subOther, subItems]);
    assert.deepEqual([...found.keys()], ['sub', 'sub-items']);
    assert.deepEqual(found.get('sub')!.map(short), [
      { via: 'subPath', container: 'app', version: 'latest', inPlace: false },
    ]);
    assert.match(
      found.get('sub')![0].detail,
      /^volume creds at \/etc\/app\/password \(subPath DB_PASSWORD\) in app/,
    );
  });

  it('init containers reading a synced Secret: init, restart-only', () => {
    const w = read('migrator', {
      initContainers: [container('migrate', { env: [envFromKey('PW', 'db-credentials', 'DB_PASSWORD')] })],
      containers: [container('app')],
    });
    const deps = depsOf([...eso, w]).get('migrator')!;
    assert.deepEqual(deps.map(short), [
      { via: 'init', container: 'migrate', version: 'latest', inPlace: false },
    ]);
    assert.match(deps[0].detail, /in migrate \(init\) reads Secret db-credentials/);
  });

  it('a Secret of the same name in another namespace is another Secret', () => {
    const w = deployment(
      'api',
      { containers: [container('app', { env: [envFromKey('PW', 'db-credentials', 'DB_PASSWORD')] })] },
      { namespace: 'other' },
    );
    assert.equal(depsOf([...eso, w]).size, 0);
  });

  it('a plain Kubernetes Secret nobody syncs is not a dependency', () => {
    const w = read('plain', {
      containers: [
        container('app', {
          env: [envFromKey('PW', 'hand-made', 'password')],
          envFrom: [{ secretRef: { name: 'hand-made' } }],
        }),
      ],
    });
    assert.equal(depsOf([...eso, w]).size, 0);
  });

  it('CSI secretObjects sync (OSS driver): env per key, volume all keys', () => {
    const cls = spc(
      'db-oss',
      [
        { resourceName: `${DB}/versions/latest`, fileName: 'password' },
        { resourceName: 'projects/my-proj/secrets/tls-cert/versions/latest', fileName: 'tls.crt' },
      ],
      {
        provider: 'gcp',
        secretObjects: [
          {
            secretName: 'db-synced',
            type: 'Opaque',
            data: [
              { objectName: 'password', key: 'pw' },
              { objectName: 'tls.crt', key: 'cert' },
            ],
          },
        ],
      },
    );
    const env = read('env', {
      containers: [container('app', { env: [envFromKey('PW', 'db-synced', 'pw')] })],
    });
    const cert = read('cert', {
      containers: [container('app', { env: [envFromKey('CERT', 'db-synced', 'cert')] })],
    });
    const vol = read('vol', {
      containers: [container('app', { volumeMounts: [mount('v', '/v')] })],
      volumes: [secretVolume('v', 'db-synced')],
    });
    const found = depsOf([cls, env, cert, vol]);
    assert.deepEqual([...found.keys()], ['env', 'vol']);
    assert.deepEqual(found.get('env')![0].source, {
      kind: 'csi-sync',
      namespace: 'shop',
      spc: 'db-oss',
      secretName: 'db-synced',
    });
    assert.match(
      found.get('env')![0].detail,
      /synced by SecretProviderClass shop\/db-oss \(secretObjects, password\)/,
    );
  });

  it('secretObjects on a GKE add-on class are reported and not followed (the add-on does not sync)', () => {
    const cls = spc('gke-sync', [{ resourceName: `${DB}/versions/latest`, path: 'password' }], {
      secretObjects: [{ secretName: 'synced', data: [{ objectName: 'password', key: 'pw' }] }],
    });
    const w = read('env', { containers: [container('app', { env: [envFromKey('PW', 'synced', 'pw')] })] });
    const { idx, problems } = index([cls, w]);
    assert.equal(idx.dependentsOf(target()).length, 0);
    assert.match(
      problems[0],
      /SecretProviderClass shop\/gke-sync: secretObjects sync is a feature of the open-source driver/,
    );
  });
});

describe('External Secrets Operator', () => {
  const reader = (name: string, secretName: string, key?: string, ns = 'shop') =>
    deployment(
      name,
      {
        containers: [
          container(
            'app',
            key
              ? { env: [envFromKey('V', secretName, key)] }
              : { envFrom: [{ secretRef: { name: secretName } }] },
          ),
        ],
      },
      { namespace: ns },
    );

  it('target.name defaults to the ExternalSecret name; v1beta1; dataFrom extract reaches every key', () => {
    const es = externalSecret(
      'db-config',
      {
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
        dataFrom: [{ extract: { key: 'db-password' } }],
      },
      { apiVersion: 'external-secrets.io/v1beta1' },
    );
    const found = depsOf([clusterStore, es, reader('a', 'db-config'), reader('b', 'db-config', 'host')]);
    assert.deepEqual([...found.keys()], ['a', 'b']);
    assert.match(
      found.get('b')![0].detail,
      /synced by ExternalSecret shop\/db-config \(dataFrom\[0\] \(extract\)\)/,
    );
  });

  it('a namespaced SecretStore in another project: a different secret', () => {
    const billingStore = store('SecretStore', 'billing', { projectID: 'billing-proj' });
    const es = externalSecret('billing-db', {
      secretStoreRef: { kind: 'SecretStore', name: 'billing' },
      data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
    });
    const w = reader('billing', 'billing-db', 'pw');
    assert.equal(depsOf([billingStore, es, w]).size, 0);
    assert.deepEqual(
      [...depsOf([billingStore, es, w], 'projects/billing-proj/secrets/db-password').keys()],
      ['billing'],
    );
  });

  it('secretStoreRef without kind means a SecretStore in the ExternalSecret namespace', () => {
    const local = store('SecretStore', 'local', { projectID: 'my-proj' });
    const es = externalSecret('creds', {
      secretStoreRef: { name: 'local' },
      data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
    });
    assert.deepEqual([...depsOf([local, es, reader('w', 'creds', 'pw')]).keys()], ['w']);
    const elsewhere = store('SecretStore', 'local', { projectID: 'my-proj' }, { namespace: 'other' });
    const { idx, problems } = index([elsewhere, es, reader('w', 'creds', 'pw')]);
    assert.equal(idx.dependentsOf(target()).length, 0);
    assert.deepEqual(problems, [
      'ExternalSecret shop/creds: data[0] (key pw) uses SecretStore "local", which was not found',
    ]);
  });

  it('per-entry sourceRef.storeRef overrides the default store', () => {
    const billingStore = store('SecretStore', 'billing', { projectID: 'billing-proj' });
    const es = externalSecret('mixed', {
      secretStoreRef: { kind: 'SecretStore', name: 'billing' },
      data: [
        { secretKey: 'billing', remoteRef: { key: 'db-password' } },
        {
          secretKey: 'main',
          remoteRef: { key: 'db-password' },
          sourceRef: { storeRef: { kind: 'ClusterSecretStore', name: 'gcp-store' } },
        },
      ],
    });
    assert.deepEqual(
      [
        ...depsOf([
          clusterStore,
          billingStore,
          es,
          reader('main', 'mixed', 'main'),
          reader('billing', 'mixed', 'billing'),
        ]).keys(),
      ],
      ['main'],
    );
  });

  it('remoteRef.version pins; a regional store (gcpsm.location) names regional secrets', () => {
    const regional = store('ClusterSecretStore', 'eu', { projectID: 'my-proj', location: 'europe-west1' });
    const es = externalSecret('eu-creds', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'eu' },
      data: [{ secretKey: 'pw', remoteRef: { key: 'db-password', version: '5' } }],
    });
    const w = reader('eu', 'eu-creds', 'pw');
    assert.equal(depsOf([regional, es, w]).size, 0);
    const deps = depsOf([regional, es, w], 'projects/my-proj/locations/europe-west1/secrets/db-password').get(
      'eu',
    )!;
    assert.equal(deps[0].version, '5');
  });

  it('a store without projectID uses the default project, or is reported', () => {
    const bare = store('ClusterSecretStore', 'ambient', {});
    const es = externalSecret('creds', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'ambient' },
      data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
    });
    assert.deepEqual(
      [...depsOf([bare, es, reader('w', 'creds', 'pw')], DB, { defaultProject: 'my-proj' }).keys()],
      ['w'],
    );
    const { problems } = index([bare, es, reader('w', 'creds', 'pw')]);
    assert.deepEqual(problems, [
      'ExternalSecret shop/creds: data[0] (key pw): ClusterSecretStore "ambient" names no gcpsm.projectID and no default project is configured',
    ]);
  });

  it('stores of other providers are ignored silently; a missing secretStoreRef is reported', () => {
    const vault = store('ClusterSecretStore', 'vault', undefined, {
      provider: { vault: { server: 'https://vault:8200', path: 'secret' } },
    });
    const es = externalSecret('v', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
      data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
    });
    const orphan = externalSecret('orphan', {
      data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
    });
    const { idx, problems } = index([vault, es, orphan, reader('w', 'v', 'pw'), reader('o', 'orphan', 'pw')]);
    assert.equal(idx.dependentsOf(target()).length, 0);
    assert.deepEqual(problems, ['ExternalSecret shop/orphan: data[0] (key pw) has no secretStoreRef']);
  });

  it('dataFrom find by name regexp: any matching secret of the store project, per key (keys are secret names)', () => {
    const es = externalSecret('all-db', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
      dataFrom: [{ find: { name: { regexp: '^db-' } } }],
    });
    const all = reader('all', 'all-db');
    const one = reader('one', 'all-db', 'db-password');
    const otherKey = reader('other-key', 'all-db', 'db-user');
    const objects = [clusterStore, es, all, one, otherKey];
    const found = depsOf(objects);
    assert.deepEqual([...found.keys()], ['all', 'one']);
    assert.match(
      found.get('all')![0].detail,
      /synced by ExternalSecret shop\/all-db \(dataFrom\[0\] \(find \/\^db-\/\)\)/,
    );
    assert.equal(depsOf(objects, 'projects/my-proj/secrets/api-token').size, 0);
    assert.equal(depsOf(objects, 'projects/other-proj/secrets/db-password').size, 0);
    assert.equal(depsOf(objects, 'projects/my-proj/locations/us-central1/secrets/db-password').size, 0);
  });

  it('dataFrom find honours path (a name prefix) and, with rewrite, reaches every key', () => {
    const prefixed = externalSecret('p', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
      dataFrom: [{ find: { path: 'api-', name: { regexp: '.*' } } }],
    });
    assert.equal(depsOf([clusterStore, prefixed, reader('w', 'p')]).size, 0);
    const rewritten = externalSecret('r', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
      dataFrom: [
        { find: { name: { regexp: 'db' } }, rewrite: [{ regexp: { source: 'db-(.*)', target: 'DB_$1' } }] },
      ],
    });
    assert.deepEqual([...depsOf([clusterStore, rewritten, reader('w', 'r', 'DB_password')]).keys()], ['w']);
  });

  // ESO compiles find.name.regexp with Go's regexp (RE2) and matches it unanchored (MatchString).
  const findBy = (regexp: string) =>
    externalSecret('finder', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
      dataFrom: [{ find: { name: { regexp } } }],
    });
  const finds = (regexp: string, secret: string): boolean =>
    depsOf([clusterStore, findBy(regexp), reader('w', 'finder')], `projects/my-proj/secrets/${secret}`).has(
      'w',
    );

  it('dataFrom find name regexp is RE2: a pattern that backtracks exponentially in JavaScript matches in linear time', () => {
    // JavaScript's RegExp needs hours for this on a 40-character name; with RE2 the test returns.
    const evil = '^(([\\w-])+)+[^\\w-]$';
    assert.equal(finds(evil, 'a'.repeat(45)), false);
    assert.equal(finds('^(([a-z-])+)+[^a-z-]$', `${'a'.repeat(45)}_`), true);
  });

  it('dataFrom find name regexp accepts RE2 syntax JavaScript rejects: (?i), (?P<name>), \\pL, \\z', () => {
    assert.equal(finds('(?i)^DB-', 'db-password'), true);
    assert.equal(finds('^DB-', 'db-password'), false);
    assert.equal(finds('^(?P<kind>db)-\\pL+$', 'db-password'), true);
    assert.equal(finds('password\\z', 'db-password'), true);
    // Unanchored, as MatchString: a match anywhere in the name counts.
    assert.equal(finds('pass', 'db-password'), true);
  });

  it('dataFrom find name regexp that RE2 rejects: the ExternalSecret and the RE2 error are named', () => {
    for (const [regexp, why] of [
      ['(?=db)', /invalid or unsupported Perl syntax/],
      ['(db', /missing closing \)/],
      ['(a)\\1', /invalid escape sequence/],
    ] as const) {
      const es = { ...findBy(regexp), __source: 'es.yaml' } as KubeObject;
      assert.throws(
        () => index([clusterStore, es], { strict: true }),
        (e: unknown) =>
          e instanceof InputError &&
          e.message.startsWith(
            `es.yaml: ExternalSecret shop/finder: spec.dataFrom[0].find.name.regexp ${JSON.stringify(regexp)} is not a valid RE2 expression: `,
          ) &&
          why.test(e.message),
      );
      // Live: a problem line, and the other ExternalSecrets are still read.
      const { idx, problems } = index([clusterStore, es, dbCredentials, reader('w', 'db-credentials')]);
      assert.equal(problems.length, 1);
      assert.match(
        problems[0],
        /^es.yaml: ExternalSecret shop\/finder: spec.dataFrom\[0\].find.name.regexp .* \(left out\)$/,
      );
      assert.deepEqual(
        idx.dependentsOf(target()).map((w) => w.ref.name),
        ['w'],
      );
    }
  });

  it('dataFrom find by tags is reported: offline, the matching secrets are unknown', () => {
    const es = externalSecret('tagged', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
      dataFrom: [{ find: { tags: { team: 'payments' } } }],
    });
    const { problems } = index([clusterStore, es]);
    assert.deepEqual(problems, [
      'ExternalSecret shop/tagged: dataFrom[0] finds secrets by tags; Rotor cannot tell offline which secrets match',
    ]);
  });

  it('a target template moves values under keys of its own: every key may carry the secret', () => {
    const es = externalSecret('dsn', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
      target: {
        name: 'dsn',
        template: {
          engineVersion: 'v2',
          data: { DATABASE_URL: 'postgres://app:{{ .password }}@db:5432/app' },
        },
      },
      data: [{ secretKey: 'password', remoteRef: { key: 'db-password' } }],
    });
    assert.deepEqual([...depsOf([clusterStore, es, reader('w', 'dsn', 'DATABASE_URL')]).keys()], ['w']);
  });

  it('metadataPolicy Fetch reads labels and annotations, which a new version does not change', () => {
    const es = externalSecret('meta', {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
      data: [
        {
          secretKey: 'owner',
          remoteRef: { key: 'db-password', metadataPolicy: 'Fetch', property: 'labels.owner' },
        },
      ],
    });
    assert.equal(depsOf([clusterStore, es, reader('w', 'meta', 'owner')]).size, 0);
  });

  it('malformed ExternalSecrets are errors naming the object and field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' }, data: ['x'] },
        /spec.data\[0\] must be a mapping/,
      ],
      [
        {
          secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
          data: [{ secretKey: 'a', remoteRef: {} }],
        },
        /spec.data\[0\].remoteRef.key is missing/,
      ],
      [
        {
          secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
          data: [{ secretKey: 'a', remoteRef: { key: 'bad name' } }],
        },
        /data\[0\] \(key a\): remoteRef.key "bad name": .*invalid secret name "bad name"/,
      ],
      [
        { secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' }, dataFrom: [{ extract: {} }] },
        /spec.dataFrom\[0\].extract.key is missing/,
      ],
      [
        {
          secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
          dataFrom: [{ find: { name: { regexp: '(' } } }],
        },
        /spec.dataFrom\[0\].find.name.regexp "\(" is not a valid RE2 expression: error parsing regexp: missing closing \)/,
      ],
    ];
    for (const [spec, expect] of cases) {
      const es = { ...externalSecret('broken', spec), __source: 'es.yaml' } as KubeObject;
      assert.throws(
        () => index([clusterStore, es], { strict: true }),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.match(e.message, /^es.yaml: ExternalSecret shop\/broken: /);
          assert.match(e.message, expect);
          return true;
        },
      );
      // Not strict (a live cluster): reported and left out.
      const { problems } = index([clusterStore, es]);
      assert.match(problems[0], expect);
    }
  });
});

describe('the rotor.dev/secrets annotation (apps that call the Secret Manager API)', () => {
  it('full names, on the workload or its pod template, in place', () => {
    const a = deployment(
      'a',
      {},
      { annotations: { 'rotor.dev/secrets': `${DB}, projects/my-proj/secrets/api-token` } },
    );
    const b = deployment('b', {}, { templateAnnotations: { 'rotor.dev/secrets': `${DB}/versions/4` } });
    const found = depsOf([a, b]);
    assert.deepEqual(found.get('a')!.map(short), [
      { via: 'annotation', container: '', version: 'latest', inPlace: true },
    ]);
    assert.equal(
      found.get('a')![0].detail,
      'rotor.dev/secrets declares projects/my-proj/secrets/db-password version latest (read through the Secret Manager API)',
    );
    assert.equal(found.get('b')![0].version, '4');
  });

  it('short names resolve against the default project; without one they are reported', () => {
    const w = deployment('short', {}, { annotations: { 'rotor.dev/secrets': 'db-password' } });
    assert.deepEqual([...depsOf([w], DB, { defaultProject: 'my-proj' }).keys()], ['short']);
    const { idx, problems } = index([w]);
    assert.equal(idx.dependentsOf(target()).length, 0);
    assert.match(
      problems[0],
      /^Deployment shop\/short: annotation rotor.dev\/secrets: secret "db-password" is a short name/,
    );
  });

  it('a malformed entry is reported and the others still count', () => {
    const w = deployment(
      'mixed',
      {},
      { annotations: { 'rotor.dev/secrets': `projects/my-proj/secret/oops,${DB}` } },
    );
    const { idx, problems } = index([w]);
    assert.deepEqual(
      idx.dependentsOf(target()).map((x) => x.ref.name),
      ['mixed'],
    );
    assert.match(problems[0], /expected "secrets" at segment 3/);
  });
});

describe('identity: project numbers, regions', () => {
  const byNumber = spc('n', [
    { resourceName: 'projects/123456789012/secrets/db-password/versions/latest', path: 'p' },
  ]);
  const regional = spc('r', [
    {
      resourceName: 'projects/my-proj/locations/europe-west1/secrets/db-password/versions/latest',
      path: 'p',
    },
  ]);
  const user = (name: string, cls: string) =>
    deployment(name, {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', cls)],
    });
  const objects = [byNumber, regional, user('by-number', 'n'), user('regional', 'r')];

  it('an event by number finds references by id once mapped, and the other way round', () => {
    assert.deepEqual([...depsOf(objects, DB, { projects: 'my-proj=123456789012' }).keys()], ['by-number']);
    assert.deepEqual(
      [
        ...depsOf(objects, 'projects/123456789012/secrets/db-password', {
          projects: 'my-proj=123456789012',
        }).keys(),
      ],
      ['by-number'],
    );
    assert.equal(depsOf(objects, DB).size, 0);
  });

  it('regional secrets match only the same location', () => {
    assert.deepEqual(
      [
        ...depsOf(objects, 'projects/123456789012/locations/europe-west1/secrets/db-password', {
          projects: 'my-proj=123456789012',
        }).keys(),
      ],
      ['regional'],
    );
    assert.equal(depsOf(objects, 'projects/my-proj/locations/us-central1/secrets/db-password').size, 0);
  });

  it('keyOf normalises the way dependentsOf compares', () => {
    const { idx } = index([], { projects: 'my-proj=123456789012' });
    assert.equal(idx.keyOf(target('projects/123456789012/secrets/db-password')), DB);
  });
});

describe('workload kinds', () => {
  const cls = spc('c', [{ resourceName: `${DB}/versions/latest`, path: 'p' }]);
  const pod = {
    containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
    volumes: [csiVolume('s', 'c')],
  };

  it('Deployment, StatefulSet, DaemonSet, CronJob (its job template) and Argo Rollout, in inventory order', () => {
    const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Rollout'];
    const { idx } = index([cls, ...kinds.map((k) => workload(k, k.toLowerCase(), pod))]);
    assert.deepEqual(
      idx.dependentsOf(target()).map((w) => `${w.ref.kind}/${w.ref.namespace}/${w.ref.name}`),
      kinds.map((k) => `${k}/shop/${k.toLowerCase()}`),
    );
    assert.equal(idx.dependentsOf(target())[0].ref.cluster, 'test');
  });

  it("an Argo Rollout with workloadRef runs, and depends through, the referenced Deployment's template", () => {
    const template = workload('Deployment', 'pricing-template', pod);
    const rollout: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'pricing', namespace: 'shop' },
      spec: {
        replicas: 3,
        workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'pricing-template' },
      },
    };
    const { idx } = index([cls, rollout, template]);
    const found = idx.dependentsOf(target());
    assert.deepEqual(
      found.map((w) => `${w.ref.kind}/${w.ref.name}`),
      ['Rollout/pricing', 'Deployment/pricing-template'],
    );
    assert.equal(found[0].object, rollout, 'the Rollout itself is what gets restarted');
    const missing: KubeObject = { ...rollout, spec: { workloadRef: { kind: 'Deployment', name: 'nope' } } };
    const other: KubeObject = {
      ...rollout,
      metadata: { name: 'rs', namespace: 'shop' },
      spec: { workloadRef: { kind: 'ReplicaSet', name: 'x' } },
    };
    assert.deepEqual(index([cls, missing, other]).problems, [
      'Rollout shop/pricing: workloadRef Deployment shop/nope was not found',
      'Rollout shop/rs: workloadRef ReplicaSet x is not followed (only Deployment)',
    ]);
  });

  it('ignores ReplicaSets and look-alike kinds of other API groups (bare Pods and Jobs: manual.test.ts)', () => {
    const others = [
      workload('ReplicaSet', 'rs', pod),
      workload('Pod', 'fake-pod', pod, { apiVersion: 'example.com/v1' }),
      workload('Job', 'fake-job', pod, { apiVersion: 'apps/v1' }),
      workload('Deployment', 'fake', pod, { apiVersion: 'example.com/v1' }),
      workload('Rollout', 'other-rollout', pod, { apiVersion: 'apps/v1' }),
    ];
    assert.equal(index([cls, ...others]).idx.dependentsOf(target()).length, 0);
  });

  it('a workload without a namespace lives in "default", with classes from "default"', () => {
    const w = workload('Deployment', 'nons', pod);
    delete w.metadata!.namespace;
    const c = spc('c', [{ resourceName: `${DB}/versions/latest`, path: 'p' }]);
    delete c.metadata!.namespace;
    const found = index([c, w]).idx.dependentsOf(target());
    assert.deepEqual(
      found.map((x) => x.ref.namespace),
      ['default'],
    );
  });

  it('a workload with several paths lists each dependency once', () => {
    const w = deployment(
      'many',
      {
        containers: [
          container('app', {
            env: [envFromKey('PW', 'db-credentials', 'DB_PASSWORD')],
            volumeMounts: [mount('s', '/s')],
          }),
        ],
        volumes: [csiVolume('s', 'c')],
      },
      { annotations: { 'rotor.dev/secrets': DB } },
    );
    assert.deepEqual(
      depsOf([cls, ...eso, w])
        .get('many')!
        .map((d) => d.via),
      ['env', 'csi', 'annotation'],
    );
  });
});

describe('appliedVersions (rotor.dev/applied)', () => {
  const w = (value?: string) =>
    deployment('w', {}, value === undefined ? {} : { annotations: { 'rotor.dev/applied': value } });
  it('reads the JSON map, keeping string versions', () => {
    assert.deepEqual(appliedVersions(w(JSON.stringify({ [DB]: '7', [`${DB}@current`]: '6', bad: 7 }))), {
      [DB]: '7',
      [`${DB}@current`]: '6',
    });
  });
  it('treats a missing or corrupt annotation as empty', () => {
    assert.deepEqual(appliedVersions(w()), {});
    assert.deepEqual(appliedVersions(w('{not json')), {});
    assert.deepEqual(appliedVersions(w('["7"]')), {});
  });
});

describe('robustness: malformed objects never crash discovery or decisions', () => {
  it('any field replaced by a value of another type gives a plan or an InputError, never a TypeError', async () => {
    const { decideAll } = await import('../../functions/core/plan');
    const base: KubeObject[] = [
      clusterStore,
      dbCredentials,
      externalSecret('finder', {
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp-store' },
        dataFrom: [{ find: { name: { regexp: '^db' } } }, { extract: { key: 'db-password' } }],
      }),
      spc('c', [{ resourceName: `${DB}/versions/latest`, path: 'p' }], {
        provider: 'gcp',
        secretObjects: [{ secretName: 's', data: [{ objectName: 'p', key: 'k' }] }],
      }),
      deployment(
        'w',
        {
          initContainers: [container('i', { env: [envFromKey('A', 'db-credentials', 'DB_PASSWORD')] })],
          containers: [
            container('app', {
              envFrom: [{ secretRef: { name: 'finder' } }],
              env: [envFromKey('B', 's', 'k')],
              volumeMounts: [mount('v', '/v', 'p'), mount('x', '/x'), mount('pr', '/pr')],
            }),
          ],
          volumes: [
            csiVolume('v', 'c', 'secrets-store.csi.k8s.io'),
            secretVolume('x', 'db-credentials', [{ key: 'DB_PASSWORD', path: 'pw' }]),
            projectedVolume('pr', 'finder'),
          ],
        },
        {
          annotations: {
            'rotor.dev/secrets': DB,
            'rotor.dev/reload-endpoint': '8080/r',
            'rotor.dev/applied': '{}',
          },
        },
      ),
      workload('Rollout', 'r', {}, {}),
    ];
    (base[5].spec as Record<string, unknown>).workloadRef = { kind: 'Deployment', name: 'w' };
    delete (base[5].spec as Record<string, unknown>).template;
    const weird: unknown[] = [
      null,
      0,
      7,
      true,
      false,
      '',
      'x',
      [],
      [1, 'a'],
      {},
      { name: 1 },
      { kind: 'Deployment' },
      -1.5,
    ];
    // Every path to a leaf or a container in the base objects.
    const paths: Array<Array<string | number>> = [];
    const walk = (v: unknown, path: Array<string | number>): void => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    base.forEach((o, i) => walk(o, [i]));
    let random = 7;
    const next = (n: number): number => (random = (random * 1103515245 + 12345) % 2147483648) % n;
    let plans = 0;
    let inputErrors = 0;
    for (const path of paths) {
      for (let t = 0; t < 6; t++) {
        const objects = JSON.parse(JSON.stringify(base)) as KubeObject[];
        let parent: unknown = objects;
        for (const p of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[p];
        const last = path[path.length - 1];
        if (last === undefined) continue;
        (parent as Record<string | number, unknown>)[last] = weird[next(weird.length)];
        try {
          const index = new DependencyIndex(
            inventoryFrom(
              'c',
              objects.filter((o) => o && typeof o === 'object'),
            ),
            { projects: new ProjectMap(), onProblem: () => undefined, strict: t % 2 === 0 },
          );
          for (const type of ['SECRET_VERSION_ADD', 'SECRET_UPDATE', 'SECRET_VERSION_DISABLE'] as const) {
            decideAll(index, { type, secret: target(), version: '3', aliases: { current: '4' } });
          }
          plans++;
        } catch (e) {
          assert.ok(e instanceof InputError, `path ${path.join('.')}: ${String(e)}\n${(e as Error).stack}`);
          inputErrors++;
        }
      }
    }
    assert.ok(plans > 100 && inputErrors > 10, `${plans} plans, ${inputErrors} input errors`);
  });
});
