// The offline manifest loader: files and directories, multi-document YAML, lists, JSON, and
// errors that name the file, the document and the problem.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../functions/errors';
import { dedupeObjects } from '../../functions/manifests/dedupe';
import { loadManifests, manifestFiles, parseManifestText } from '../../functions/manifests/load';
import { defaultNamespace } from '../../functions/manifests/namespace';

const root = mkdtempSync(join(tmpdir(), 'rotor-manifests-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const deploy = (name: string, ns = 'shop') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: x}]\n`;

function throwsInput(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    assert.ok(!/\n\s+at /.test(e.message), 'no stack trace in the message');
    return true;
  });
}

const names = (objs: Array<{ metadata?: { name?: string } }>) => objs.map((o) => o.metadata?.name);

describe('parseManifestText', () => {
  it('multi-document YAML with Helm "# Source" comments, empty and comment-only documents', () => {
    const text = `---\n# Source: shop/templates/api.yaml\n${deploy('api')}---\n# Source: shop/templates/empty.yaml\n---\n${deploy('web')}---\n`;
    const objs = parseManifestText(text, 'helm.yaml');
    assert.deepEqual(names(objs), ['api', 'web']);
    assert.deepEqual(
      objs.map((o) => o.__source),
      ['helm.yaml (document 1)', 'helm.yaml (document 3)'],
    );
    assert.ok(!Object.keys(objs[0]).includes('__source'), '__source is not enumerable (never serialised)');
  });

  it('a single document is named by the file alone', () => {
    assert.equal(parseManifestText(deploy('api'), 'one.yaml')[0].__source, 'one.yaml');
  });

  it('kind: List and typed lists (DeploymentList), items named by index', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${deploy('a').replace(/\n/g, '\n  ')}\n- ${deploy('b').replace(/\n/g, '\n  ')}`;
    const objs = parseManifestText(list, 'list.yaml');
    assert.deepEqual(names(objs), ['a', 'b']);
    assert.equal(objs[1].__source, 'list.yaml items[1]');
    const typed = JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'DeploymentList',
      metadata: { resourceVersion: '1' },
      items: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'c' } }],
    });
    assert.deepEqual(names(parseManifestText(typed, 'dl.json')), ['c']);
  });

  it('a kind ending in List that is not a list passes through as an object', () => {
    const objs = parseManifestText(
      'apiVersion: example.com/v1\nkind: AllowList\nmetadata:\n  name: x\nspec: {}\n',
      'al.yaml',
    );
    assert.equal(objs[0].kind, 'AllowList');
  });

  it('JSON, with a byte-order mark and CRLF line endings', () => {
    const json =
      '\ufeff' +
      JSON.stringify(
        { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' } },
        null,
        2,
      ).replace(/\n/g, '\r\n');
    assert.deepEqual(names(parseManifestText(json, 'x.json')), ['db']);
    assert.deepEqual(names(parseManifestText('\ufeff' + deploy('crlf').replace(/\n/g, '\r\n'), 'x.yaml')), [
      'crlf',
    ]);
  });

  it('YAML as Kubernetes reads it: merge keys, timestamps and numbers-looking strings kept as written', () => {
    const text = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: &labels {namespace: shop}\n  <<: *labels\n  name: merged\n  annotations:\n    kubectl.kubernetes.io/restartedAt: 2024-05-01T10:00:00Z\n    rotor.dev/reload-endpoint: "8080/reload"\n`;
    const objs = parseManifestText(text, 'merge.yaml');
    const d = objs[0];
    assert.equal(d.metadata?.namespace, 'shop');
    assert.equal(d.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'], '2024-05-01T10:00:00Z');
  });

  it('objects Rotor does not read need no name (Kustomization, generateName)', () => {
    const text =
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n';
    assert.deepEqual(
      parseManifestText(text, 'k.yaml').map((o) => o.kind),
      ['Kustomization', 'Job'],
    );
  });

  it('errors name the file, the document and the problem', () => {
    throwsInput(
      () => parseManifestText('a: [1, 2\n', 'bad.yaml'),
      /^bad.yaml: YAML syntax error at line \d+, column \d+: /,
    );
    throwsInput(
      () => parseManifestText(`${deploy('ok')}---\nkind: Deployment\n  bad: indent\n`, 'multi.yaml'),
      /^multi.yaml: YAML syntax error at line 12, column \d+ \(document 2\): /,
    );
    throwsInput(
      () => parseManifestText('a: 1\na: 2\n', 'dup.yaml'),
      /^dup.yaml: YAML syntax error at line 2, column 1: duplicated mapping key/,
    );
    throwsInput(() => parseManifestText('{"kind": ', 'bad.json'), /^bad.json: invalid JSON: /);
    throwsInput(
      () => parseManifestText('just text', 'scalar.yaml'),
      /^scalar.yaml: expected a Kubernetes object \(a mapping with apiVersion and kind\), found string/,
    );
    throwsInput(() => parseManifestText('- a\n- b\n', 'seq.yaml'), /found a list/);
    throwsInput(
      () => parseManifestText('apiVersion: v1\nmetadata: {name: x}\n', 'nokind.yaml'),
      /^nokind.yaml: expected a Kubernetes object .*, no "kind"/,
    );
    throwsInput(
      () => parseManifestText('kind: Deployment\nmetadata: {name: x}\n', 'noapi.yaml'),
      /Deployment has no "apiVersion"/,
    );
    throwsInput(
      () => parseManifestText('apiVersion: v1\nkind: List\n', 'list.yaml'),
      /^list.yaml: List has no "items" list/,
    );
    throwsInput(
      () => parseManifestText('apiVersion: v1\nkind: List\nitems: [42]\n', 'items.yaml'),
      /^items.yaml items\[0\]: expected a Kubernetes object/,
    );
    throwsInput(
      () =>
        parseManifestText(
          `${deploy('ok')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {namespace: shop}\n`,
          'noname.yaml',
        ),
      /^noname.yaml \(document 2\): Deployment has no metadata.name/,
    );
    throwsInput(
      () =>
        parseManifestText(
          'apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nspec: {}\n',
          'spc.yaml',
        ),
      /SecretProviderClass has no metadata.name/,
    );
  });

  it('with onSkip, non-Kubernetes documents are reported and skipped', () => {
    const skipped: string[] = [];
    const objs = parseManifestText(
      `replicaCount: 2\nimage: {tag: v1}\n---\n${deploy('api')}`,
      'values.yaml',
      { onSkip: (m) => skipped.push(m) },
    );
    assert.deepEqual(names(objs), ['api']);
    assert.deepEqual(skipped, ['values.yaml (document 1): skipped, not a Kubernetes object (no "kind")']);
  });
});

describe('manifestFiles and loadManifests', () => {
  const dir = join(root, 'repo');
  write('repo/apps/shop/api.yaml', deploy('api'));
  write('repo/apps/shop/web.yml', deploy('web'));
  write(
    'repo/apps/billing/all.json',
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        JSON.parse(JSON.stringify({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' } })),
      ],
    }),
  );
  write('repo/apps/shop/README.md', '# not a manifest');
  write('repo/.github/workflows/ci.yaml', 'on: push\njobs: {}\n');
  write('repo/charts/shop/Chart.yaml', 'apiVersion: v2\nname: shop\nversion: 1.0.0\n');
  write('repo/charts/shop/values.yaml', 'replicaCount: 1\n');
  write('repo/dashboards/shop.json', JSON.stringify({ title: 'Shop', panels: [] }));
  write(
    'repo/kustomization.yaml',
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [apps]\n',
  );

  it('walks directories recursively in a stable order, skipping hidden entries and other extensions', () => {
    assert.deepEqual(
      manifestFiles([dir]).map((f) => f.path.slice(dir.length + 1)),
      [
        'apps/billing/all.json',
        'apps/shop/api.yaml',
        'apps/shop/web.yml',
        'charts/shop/Chart.yaml',
        'charts/shop/values.yaml',
        'dashboards/shop.json',
        'kustomization.yaml',
      ],
    );
    assert.ok(manifestFiles([dir]).every((f) => !f.explicit));
  });

  it('loads a GitOps-style tree, saying which files it skipped', () => {
    const skipped: string[] = [];
    const objs = loadManifests([dir], { onSkip: (m) => skipped.push(m) });
    assert.deepEqual(
      objs.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`),
      ['DaemonSet/agent', 'Deployment/api', 'Deployment/web', 'Kustomization/'],
    );
    assert.deepEqual(
      skipped.map((s) => s.slice(dir.length + 1)),
      [
        'charts/shop/Chart.yaml: skipped, not a Kubernetes object (no "kind")',
        'charts/shop/values.yaml: skipped, not a Kubernetes object (no "kind")',
        'dashboards/shop.json: skipped, not a Kubernetes object (no "kind")',
      ],
    );
  });

  it('a file named explicitly is read whatever its extension, and must hold Kubernetes objects', () => {
    const txt = write('explicit/manifest.txt', deploy('from-txt'));
    assert.deepEqual(names(loadManifests([txt])), ['from-txt']);
    assert.ok(manifestFiles([txt])[0].explicit);
    const values = join(dir, 'charts/shop/values.yaml');
    throwsInput(
      () => loadManifests([values], { onSkip: () => undefined }),
      /values.yaml: expected a Kubernetes object .*no "kind"/,
    );
  });

  it('several paths, files and directories mixed', () => {
    const a = write('mixed/a.yaml', deploy('a'));
    write('mixed/sub/b.yaml', deploy('b'));
    assert.deepEqual(names(loadManifests([join(root, 'mixed/sub'), a])), ['b', 'a']);
  });

  it('a missing path is an error naming it', () => {
    throwsInput(() => loadManifests([join(root, 'nope')]), /nope: no such file or directory$/);
  });

  it('a YAML syntax error anywhere in a tree names the file', () => {
    write('broken/ok.yaml', deploy('ok'));
    write('broken/sub/bad.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [oops\n');
    throwsInput(
      () => loadManifests([join(root, 'broken')]),
      /broken\/sub\/bad.yaml: YAML syntax error at line \d+, column \d+/,
    );
  });
});

describe('loadManifestsParallel', () => {
  const tree = join(root, 'parallel');
  // Enough files of different sizes to spread over threads, with merge keys, Lists and JSON.
  for (let i = 0; i < 12; i++) {
    const docs = Array.from({ length: 3 + i * 2 }, (_, k) => deploy(`app-${i}-${k}`, `ns-${i % 3}`)).join(
      '---\n',
    );
    write(
      `parallel/team-${i}/apps.yaml`,
      `# Source: chart/templates/apps.yaml\n${docs}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base-${i}\n  labels: &l {team: t${i}}\ndata:\n  <<: *l\n`,
    );
  }
  write(
    'parallel/team-3/list.yaml',
    `apiVersion: v1\nkind: List\nitems:\n- ${deploy('listed').replace(/\n/g, '\n  ')}`,
  );
  write(
    'parallel/team-4/export.json',
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' } }],
    }),
  );
  write('parallel/team-5/values.yaml', 'replicaCount: 2\n');
  write('parallel/team-9/values.yaml', 'image: {tag: x}\n');

  const describeAll = (
    objs: Array<{
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      __source?: string;
      data?: unknown;
    }>,
  ) => objs.map((o) => [o.kind, o.metadata?.namespace, o.metadata?.name, o.__source, JSON.stringify(o)]);

  it('gives exactly what the sequential loader gives: objects, order, sources and notes', async () => {
    const { loadManifestsParallel } = await import('../../functions/manifests/parallel');
    const seqNotes: string[] = [];
    const parNotes: string[] = [];
    const sequential = loadManifests([tree], { onSkip: (m) => seqNotes.push(m) });
    const parallel = await loadManifestsParallel([tree], {
      onSkip: (m) => parNotes.push(m),
      thresholdBytes: 0,
      maxWorkers: 2,
    });
    assert.ok(sequential.length > 100);
    assert.deepEqual(describeAll(parallel), describeAll(sequential));
    assert.deepEqual(parNotes, seqNotes);
    assert.equal(seqNotes.length, 2);
  });

  it('reports the same first error, whichever thread met it', async () => {
    const { loadManifestsParallel } = await import('../../functions/manifests/parallel');
    write('parallel-bad/a.yaml', deploy('a'));
    write('parallel-bad/b.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [broken\n');
    write('parallel-bad/c.yaml', `${deploy('c')}---\nkind: [also broken\n`);
    write('parallel-bad/d.yaml', deploy('d'.repeat(5)));
    const dir = join(root, 'parallel-bad');
    let expected = '';
    try {
      loadManifests([dir]);
    } catch (e) {
      expected = (e as Error).message;
    }
    assert.match(expected, /parallel-bad\/b.yaml: YAML syntax error/);
    await assert.rejects(loadManifestsParallel([dir], { thresholdBytes: 0, maxWorkers: 3 }), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.message, expected);
      return true;
    });
  });

  it('uses a worker per idle core beyond the main thread, none on a busy or 2-core machine', async () => {
    const { workerCount } = await import('../../functions/manifests/parallel');
    // (cores, 1-minute load average, YAML files, maxWorkers given)
    assert.equal(workerCount(2, 0.05, 500), 0); // one idle core: the main thread's
    assert.equal(workerCount(2, 3.2, 500), 0);
    assert.equal(workerCount(4, 0.2, 500), 2);
    assert.equal(workerCount(8, 0.5, 500), 3); // at most 3 by default
    assert.equal(workerCount(8, 5.5, 500), 1); // 2 idle cores: the main thread's and one worker's
    assert.equal(workerCount(8, 7.9, 500), 0);
    assert.equal(workerCount(16, 40, 500), 0); // busier than its cores
    assert.equal(workerCount(8, 0, 2), 1); // one file per thread at most
    // Asked for explicitly (tests): the load does not count, one core stays the main thread's.
    assert.equal(workerCount(2, 9, 500, 2), 1);
    assert.equal(workerCount(8, 9, 500, 2), 2);
    assert.equal(workerCount(1, 0, 500, 2), 0);
  });

  it('stays on one thread for small inputs', async () => {
    const { loadManifestsParallel } = await import('../../functions/manifests/parallel');
    assert.deepEqual(
      describeAll(await loadManifestsParallel([tree], { onSkip: () => undefined })),
      describeAll(loadManifests([tree], { onSkip: () => undefined })),
    );
  });
});

describe('defaultNamespace (-n) and dedupeObjects', () => {
  const objs = () =>
    parseManifestText(
      [
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: own}\n',
        'apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: gcp}\n',
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n',
        'apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\n',
      ].join('---\n'),
      'repo.yaml',
    );

  it('namespaced kinds without a namespace get it; cluster-scoped kinds and own namespaces are left alone', () => {
    const o = objs();
    defaultNamespace(o, 'team');
    assert.deepEqual(
      o.map((x) => `${x.kind}/${x.metadata?.namespace ?? '-'}`),
      ['Deployment/team', 'Deployment/own', 'ClusterSecretStore/-', 'Namespace/-', 'SecretStore/team'],
    );
  });

  it('identity is group, kind, namespace (default when none) and name', () => {
    const a = parseManifestText(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, namespace: default}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, namespace: other}\n---\napiVersion: argoproj.io/v1alpha1\nkind: Deployment\nmetadata: {name: x}\n---\napiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: x, namespace: default, labels: {v: "2"}}\n',
      'a.yaml',
    );
    const notes: string[] = [];
    const kept = dedupeObjects(a, (m) => notes.push(m));
    assert.deepEqual(
      kept.map((o) => `${o.apiVersion} ${o.metadata?.namespace ?? '-'}`),
      ['apps/v1 -', 'apps/v1 other', 'argoproj.io/v1alpha1 -'],
    );
    assert.deepEqual(notes, [
      // One names namespace "default", the other none: the same object, written differently.
      'Deployment default/x is defined in a.yaml (document 1) and in a.yaml (document 2): planned once, from the first (the two copies differ)',
      'Deployment default/x is defined in a.yaml (document 1) and in a.yaml (document 5): planned once, from the first (the two copies differ)',
    ]);
  });
});
