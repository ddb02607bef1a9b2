// `rotor audit`: every secret in use, consumers by action, and each rotation risk on its own case;
// the CLI's table, json and markdown on infra/examples.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main } from '../../functions/cli/main';
import type { CliIo } from '../../functions/cli/io';
import type { AuditedSecret, RiskKind } from '../../functions/core/audit';
import { auditIndex, mergeAudits } from '../../functions/core/audit';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap } from '../../functions/core/secretName';
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

const projects = new ProjectMap();
const DB = 'projects/my-proj/secrets/db';
const world: KubeObject[] = [
  store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' }),
  externalSecret('creds', {
    secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
    data: [{ secretKey: 'pw', remoteRef: { key: 'db' } }],
  }),
  externalSecret('once', {
    refreshPolicy: 'CreatedOnce',
    secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
    data: [{ secretKey: 'pw', remoteRef: { key: 'db' } }],
  }),
  spc('latest', [{ resourceName: `${DB}/versions/latest`, path: 'pw' }]),
  spc('pinned', [{ resourceName: `${DB}/versions/3`, path: 'pw' }]),
];
const env = (secretName = 'creds') => ({
  containers: [container('app', { env: [envFromKey('PW', secretName, 'pw')] })],
});
const csiAt = (cls: string, subPath?: string) => ({
  containers: [container('app', { volumeMounts: [mount('s', '/s', subPath)] })],
  volumes: [csiVolume('s', cls)],
});
const EP = { 'rotor.dev/reload-endpoint': '8080/-/reload' };

function auditOf(...objects: KubeObject[]): AuditedSecret[] {
  return auditIndex(new DependencyIndex(inventoryFrom('c', [...world, ...objects]), { projects }), projects);
}
const risksOf = (objects: KubeObject[]): Array<[RiskKind, string]> =>
  auditOf(...objects).flatMap((s) => s.risks.map((r): [RiskKind, string] => [r.risk, r.workload]));

describe('audit: consumers by action', () => {
  it('lists each secret once with its consumers and the action a new version takes', () => {
    const [s] = auditOf(
      deployment('api', env()),
      deployment('web', csiAt('latest'), { annotations: EP }),
      deployment('pinned', csiAt('pinned')),
    );
    assert.equal(s.secret, DB);
    assert.deepEqual(
      s.consumers.map((c) => [c.kind, c.name, c.action, c.via]),
      [
        ['Deployment', 'api', 'restart', ['env']],
        ['Deployment', 'web', 'reload', ['csi']],
        ['Deployment', 'pinned', 'none', ['csi']],
      ],
    );
    assert.deepEqual(s.byAction, { restart: 1, reload: 1, none: 1 });
  });
});

describe('audit: merged from parts (a live audit, page by page)', () => {
  it('equals the audit of all the workloads at once, consumers in order and counts summed', () => {
    const a = deployment('a', env());
    const b = deployment('b', csiAt('latest', 'pw'));
    const c = deployment('c', csiAt('pinned'));
    const other = deployment('other', env('plain'), {
      annotations: { 'rotor.dev/secrets': 'projects/my-proj/secrets/other' },
    });
    const whole = auditOf(a, b, other, c);
    const parts = [auditOf(a, b), auditOf(other), auditOf(c), auditOf()];
    assert.deepEqual(mergeAudits(parts), whole);
    assert.deepEqual(
      mergeAudits(parts).map((s) => [s.secret, s.consumers.map((x) => x.name), s.byAction]),
      [
        [DB, ['a', 'b', 'c'], { restart: 2, none: 1 }],
        ['projects/my-proj/secrets/other', ['other'], { none: 1 }],
      ],
    );
  });

  it('auditIndex with a filter leaves out the workloads it rejects, and secrets left with none', () => {
    const index = new DependencyIndex(
      inventoryFrom('c', [...world, deployment('a', env()), deployment('b', csiAt('latest'))]),
      { projects },
    );
    assert.deepEqual(
      auditIndex(index, projects, (wd) => wd.ref.name === 'b').map((s) => s.consumers.map((x) => x.name)),
      [['b']],
    );
    assert.deepEqual(
      auditIndex(index, projects, () => false),
      [],
    );
  });
});

describe('audit: one rotation risk per case', () => {
  const onDelete = workload('StatefulSet', 'db-client', env());
  (onDelete.spec as Record<string, unknown>).updateStrategy = { type: 'OnDelete' };
  const cases: Array<[string, KubeObject, Array<[RiskKind, string]>]> = [
    ['env-only consumer', deployment('api', env()), [['env-only', 'Deployment shop/api']]],
    ['subPath mount', deployment('legacy', csiAt('latest', 'pw')), [['subpath', 'Deployment shop/legacy']]],
    ['pin to a fixed version', deployment('pinned', csiAt('pinned')), [['pinned', 'Deployment shop/pinned']]],
    [
      'ExternalSecret that never refreshes',
      deployment('frozen', env('once')),
      [
        ['env-only', 'Deployment shop/frozen'],
        ['eso-never-refreshes', 'Deployment shop/frozen'],
      ],
    ],
    [
      'CSI file that must update in place (reload)',
      deployment('web', csiAt('latest'), { annotations: EP }),
      [['csi-rotation', 'Deployment shop/web']],
    ],
    [
      'OnDelete StatefulSet',
      onDelete,
      [
        ['env-only', 'StatefulSet shop/db-client'],
        ['on-delete', 'StatefulSet shop/db-client'],
      ],
    ],
    [
      'in-place mount without a reload endpoint',
      deployment('files', {
        containers: [container('app', { volumeMounts: [mount('c', '/etc/c')] })],
        volumes: [secretVolume('c', 'creds')],
      }),
      [['no-reload-endpoint', 'Deployment shop/files']],
    ],
    ['bare Pod', workload('Pod', 'debug', env()), [['manual-kind', 'Pod shop/debug']]],
    ['Job', workload('Job', 'migrate', env()), [['manual-kind', 'Job shop/migrate']]],
  ];
  for (const [name, w, expected] of cases) it(name, () => assert.deepEqual(risksOf([w]), expected));

  it('no risk for a reload of a Secret volume with an endpoint', () => {
    const w = deployment(
      'ok',
      {
        containers: [container('app', { volumeMounts: [mount('c', '/etc/c')] })],
        volumes: [secretVolume('c', 'creds')],
      },
      { annotations: EP },
    );
    assert.deepEqual(risksOf([w]), []);
  });
});

describe('rotor audit (CLI)', () => {
  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: {} };
    const code = await main(args, io);
    return { code, stdout, stderr };
  };
  const ARGS = ['audit', '--manifests', 'infra/examples', '--project-map', 'my-proj=123456789012'];

  it('json: every secret of the examples, db-password with its 21 consumers', async () => {
    const r = await run([...ARGS, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const audit = JSON.parse(r.stdout) as { secrets: AuditedSecret[] };
    assert.deepEqual(
      audit.secrets.map((s) => s.secret),
      [
        'projects/billing-proj/secrets/db-password',
        'projects/my-proj/locations/europe-west1/secrets/db-password',
        'projects/my-proj/secrets/api-token',
        'projects/my-proj/secrets/db-password',
        'projects/my-proj/secrets/tls-cert',
      ],
    );
    const db = audit.secrets.find((s) => s.secret === 'projects/my-proj/secrets/db-password');
    assert.deepEqual(db?.byAction, { restart: 10, reload: 3, none: 5, manual: 3 });
    assert.ok(
      db?.risks.some(
        (r) => r.risk === 'eso-never-refreshes' && r.workload === 'Deployment shop/bootstrapper',
      ),
    );
  });

  it('table and markdown', async () => {
    const table = await run(ARGS);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /^projects\/my-proj\/secrets\/db-password: 21 consumers \(10 restart, 3 reload, 3 manual, 5 none\)$/m,
    );
    assert.match(table.stdout, /^ {2}RISK subpath: Deployment shop\/legacy: /m);
    const md = await run([...ARGS, '--output', 'markdown']);
    assert.match(
      md.stdout,
      /^\| `projects\/my-proj\/secrets\/db-password` \| 21 \| 10 \| 3 \| 3 \| 5 \| \d+ \|$/m,
    );
    assert.match(md.stdout, /^- \*\*pinned\*\* Deployment shop\/pinned: /m);
  });

  it('bad usage exits 2 naming the problem', async () => {
    const r = await run(['audit']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /no kubeconfig: \$KUBECONFIG is unset and ~\/\.kube\/config does not exist; give --manifests PATH\.\.\. or --kubeconfig FILE/,
    );
  });
});
