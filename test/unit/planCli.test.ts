// `rotor plan` through the CLI entry point, with a capturing io: outputs, flags, and every kind of
// bad input exiting 2 with a message that names the file / object / flag and the problem.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CliIo } from '../../functions/cli/io';
import { main } from '../../functions/cli/main';

const EXAMPLES = 'infra/examples';
const SECRET = 'projects/my-proj/secrets/db-password';
const MAP = 'my-proj=123456789012';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function rotor(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

const root = mkdtempSync(join(tmpdir(), 'rotor-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
function write(rel: string, text: string): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** Exit 2, nothing on stdout, one clear line on stderr matching every pattern, no stack trace. */
async function rejects(args: string[], ...patterns: RegExp[]): Promise<void> {
  const r = await rotor(args);
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  for (const p of patterns) assert.match(r.stderr, p);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
  assert.match(r.stderr, /^rotor plan: /);
}

const plan = (...extra: string[]) => [
  'plan',
  '--secret',
  SECRET,
  '--version',
  '7',
  '--project-map',
  MAP,
  ...extra,
];

describe('rotor plan: outputs', () => {
  it('a short secret name resolves against the same default project as the functions (ROTOR_DEFAULT_PROJECT, else the runtime project)', async () => {
    const args = [
      'plan',
      '--secret',
      'db-password',
      '--version',
      '7',
      '--manifests',
      'infra/examples',
      '-o',
      'json',
    ];
    const viaRuntime = await rotor(args, { GOOGLE_CLOUD_PROJECT: 'my-proj' });
    assert.equal(viaRuntime.code, 0, viaRuntime.stderr);
    assert.equal(
      (JSON.parse(viaRuntime.stdout) as { secret: string }).secret,
      'projects/my-proj/secrets/db-password',
    );
    const explicit = await rotor(args, { ROTOR_DEFAULT_PROJECT: 'other', GOOGLE_CLOUD_PROJECT: 'my-proj' });
    assert.equal(
      (JSON.parse(explicit.stdout) as { secret: string }).secret,
      'projects/other/secrets/db-password',
    );
  });

  it('table (the default)', async () => {
    const r = await rotor(plan('--manifests', EXAMPLES));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `SECRET_VERSION_ADD ${SECRET} version 7`);
    assert.match(lines[1], /^ACTION\s+WAVE\s+WORKLOAD\s+VIA\s+REASON$/);
    assert.match(
      r.stdout,
      /\n\d+ dependent workloads: \d+ restart, \d+ reload, \d+ manual, \d+ none\n(WARNING [^\n]+\n)*$/,
    );
  });

  it('json: the contract of shared/DESIGN.md', async () => {
    const r = await rotor(plan('--manifests', EXAMPLES, '--output', 'json'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      secret: string;
      version: string;
      event: string;
      workloads: Array<Record<string, unknown>>;
    };
    assert.deepEqual(Object.keys(out), ['secret', 'version', 'event', 'workloads']);
    assert.equal(out.secret, SECRET);
    assert.equal(out.version, '7');
    assert.equal(out.event, 'SECRET_VERSION_ADD');
    for (const w of out.workloads) {
      // A restart or reload carries its wave (an integer); none of the examples names one.
      const acts = w.action === 'restart' || w.action === 'reload';
      // Beyond the contract's keys, a warning only when there is something to say.
      assert.deepEqual(Object.keys(w), [
        'cluster',
        'kind',
        'namespace',
        'name',
        'action',
        'reason',
        'dependencies',
        ...(acts ? ['wave'] : []),
        ...('warning' in w ? ['warning'] : []),
      ]);
      if (acts) assert.equal(w.wave, 100);
      assert.ok(['restart', 'reload', 'none', 'wait', 'manual'].includes(w.action as string));
      for (const d of w.dependencies as Array<Record<string, unknown>>) {
        assert.deepEqual(Object.keys(d), ['via', 'container', 'detail']);
        assert.ok(
          ['env', 'envFrom', 'volume', 'subPath', 'csi', 'init', 'annotation'].includes(d.via as string),
        );
      }
    }
  });

  it('mermaid, and -o as the short flag', async () => {
    const r = await rotor(plan('--manifests', EXAMPLES, '-o', 'mermaid'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^flowchart LR\n/);
  });

  it('--help and no command', async () => {
    const help = await rotor(['plan', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: rotor plan --secret NAME/);
    const none = await rotor([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: rotor <command>/, 'bad usage: the message goes to stderr');
    assert.equal(none.stdout, '');
    const top = await rotor(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /^Usage: rotor <command>/);
  });

  it('paths after --manifests, short names with --project or ROTOR_DEFAULT_PROJECT, ROTOR_PROJECT_MAP', async () => {
    const spread = await rotor(
      [
        'plan',
        '--secret',
        'db-password',
        '--project',
        'my-proj',
        '--version',
        '7',
        '--manifests',
        `${EXAMPLES}/10-secret-stores.yaml`,
        `${EXAMPLES}/20-external-secrets.yaml`,
        `${EXAMPLES}/40-workloads.yaml`,
        '-o',
        'json',
      ],
      { ROTOR_PROJECT_MAP: MAP },
    );
    assert.equal(spread.code, 0, spread.stderr);
    const viaEnv = await rotor(
      ['plan', '--secret', 'db-password', '--version', '7', '--manifests', EXAMPLES, '-o', 'json'],
      { ROTOR_DEFAULT_PROJECT: 'my-proj', ROTOR_PROJECT_MAP: MAP },
    );
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const full = await rotor(plan('--manifests', EXAMPLES, '-o', 'json'));
    assert.deepEqual(JSON.parse(viaEnv.stdout), JSON.parse(full.stdout));
    // Without the SecretProviderClasses, CSI volumes are unresolved: reported, not fatal.
    const partial = JSON.parse(spread.stdout) as { problems?: string[] };
    assert.ok(
      partial.problems?.some((p) =>
        /SecretProviderClass shop\/db-password-gke \(volume secrets\) was not found/.test(p),
      ),
    );
  });

  it('a secret named by project number is reported by id when mapped', async () => {
    const r = await rotor([
      'plan',
      '--secret',
      'projects/123456789012/secrets/db-password',
      '--version',
      '7',
      '--project-map',
      MAP,
      '--manifests',
      EXAMPLES,
      '-o',
      'json',
    ]);
    const byId = await rotor(plan('--manifests', EXAMPLES, '-o', 'json'));
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(byId.stdout));
  });

  it('a secret named by a project number the map does not know: planned, with a note naming the number', async () => {
    const r = await rotor([
      'plan',
      '--secret',
      'projects/987654321098/secrets/db-password',
      '--manifests',
      EXAMPLES,
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { workloads: unknown[]; problems?: string[] };
    assert.deepEqual(out.workloads, []);
    assert.ok(
      out.problems?.includes(
        'project number 987654321098 is not mapped to a project id: references that name the project by id do not match it (give --project-map ID=987654321098 or ROTOR_PROJECT_MAP)',
      ),
      JSON.stringify(out.problems),
    );
    const mapped = await rotor(plan('--manifests', EXAMPLES, '-o', 'json'));
    assert.ok(!/not mapped to a project id/.test(mapped.stdout));
  });

  it('--strict turns unresolved references into exit 2', async () => {
    await rejects(
      ['plan', '--secret', SECRET, '--strict', '--manifests', `${EXAMPLES}/40-workloads.yaml`],
      /unresolved references:\n {2}Deployment shop\/web: SecretProviderClass shop\/db-password-gke \(volume secrets\) was not found/,
    );
  });

  it('SECRET_UPDATE with --alias', async () => {
    const r = await rotor(
      plan('--event', 'SECRET_UPDATE', '--alias', 'current=8', '--manifests', EXAMPLES, '-o', 'json'),
    );
    const out = JSON.parse(r.stdout) as { workloads: Array<{ name: string; action: string }> };
    assert.deepEqual(
      out.workloads.filter((w) => w.action !== 'none').map((w) => [w.name, w.action]),
      [['alias-follower', 'reload']],
    );
  });

  it('an ExternalSecret whose find.name.regexp uses RE2 syntax, (?i), is planned (ESO accepts it)', async () => {
    const f = write(
      'eso/find.yaml',
      [
        'apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: gcp}\nspec: {provider: {gcpsm: {projectID: my-proj}}}',
        'apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: db, namespace: shop}\nspec:\n  secretStoreRef: {kind: ClusterSecretStore, name: gcp}\n  dataFrom: [{find: {name: {regexp: "(?i)^DB-"}}}]',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: shop}\nspec: {template: {spec: {containers: [{name: app, image: x, envFrom: [{secretRef: {name: db}}]}]}}}',
      ].join('\n---\n') + '\n',
    );
    const r = await rotor(plan('--manifests', f));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /RESTART\s+100\s+Deployment\/shop\/app/);
  });

  it('a directory with non-Kubernetes YAML is planned, with a note', async () => {
    write(
      'gitops/app.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sdk, namespace: shop, annotations: {rotor.dev/secrets: "projects/my-proj/secrets/db-password"}}\nspec: {template: {spec: {containers: [{name: app, image: x}]}}}\n',
    );
    write('gitops/values.yaml', 'replicaCount: 3\n');
    const r = await rotor(['plan', '--secret', SECRET, '--manifests', join(root, 'gitops')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /NONE\s+-\s+Deployment\/shop\/sdk/);
    assert.doesNotMatch(r.stdout, /note:/, 'in table output, notes go to stderr');
    assert.match(r.stderr, /^note: .*gitops\/values.yaml: skipped, not a Kubernetes object \(no "kind"\)\n$/);
  });
});

describe('rotor plan: bad input exits 2 naming the problem', () => {
  it('a YAML syntax error names the file and position', async () => {
    const f = write(
      'bad/syntax.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [unclosed\n',
    );
    await rejects(plan('--manifests', f), new RegExp(`${f}: YAML syntax error at line \\d+, column \\d+`));
  });

  it('a SecretProviderClass whose parameters.secrets does not parse names the file and the object', async () => {
    const f = write(
      'bad/spc.yaml',
      'apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata:\n  name: broken\n  namespace: shop\nspec:\n  provider: gke\n  parameters:\n    secrets: |\n      - resourceName: "projects/p/secrets/s/versions/latest\n        path: [x\n',
    );
    await rejects(
      plan('--manifests', f),
      new RegExp(`${f}: SecretProviderClass shop/broken: spec.parameters.secrets does not parse as YAML`),
    );
  });

  it('a bad secret name inside a manifest names the file, the object and the entry', async () => {
    const f = write(
      'bad/spc-name.yaml',
      'apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: typo, namespace: shop}\nspec:\n  provider: gcp\n  parameters:\n    secrets: |\n      - resourceName: "projects/p/secret/s/versions/latest"\n        fileName: s\n',
    );
    await rejects(
      plan('--manifests', f),
      new RegExp(
        `${f}: SecretProviderClass shop/typo: spec.parameters.secrets\\[0\\].resourceName: "projects/p/secret/s/versions/latest" is not a Secret Manager name: expected "secrets" at segment 3, found "secret"`,
      ),
    );
    const es = write(
      'bad/es.yaml',
      'apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es, namespace: shop}\nspec:\n  secretStoreRef: {kind: ClusterSecretStore, name: gcp}\n  data:\n  - secretKey: pw\n    remoteRef: {key: "db password"}\n---\napiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: gcp}\nspec: {provider: {gcpsm: {projectID: p}}}\n',
    );
    await rejects(
      plan('--manifests', es),
      new RegExp(
        `${es} \\(document 1\\): ExternalSecret shop/es: data\\[0\\] \\(key pw\\): remoteRef.key "db password"`,
      ),
    );
  });

  it('a bad --secret', async () => {
    await rejects(
      ['plan', '--secret', 'projects/my-proj/secret/db', '--manifests', EXAMPLES],
      /"projects\/my-proj\/secret\/db" is not a Secret Manager name: expected "secrets" at segment 3, found "secret"/,
    );
    await rejects(
      ['plan', '--secret', 'db-password', '--manifests', EXAMPLES],
      /secret "db-password" is a short name: give projects\/P\/secrets\/db-password or a default project/,
    );
    await rejects(
      ['plan', '--secret', `${SECRET}/versions/7`, '--manifests', EXAMPLES],
      /--secret ".*\/versions\/7" names a version: pass the secret and --version separately/,
    );
    await rejects(['plan', '--manifests', EXAMPLES], /--secret is required/);
  });

  it('an unknown event type', async () => {
    await rejects(
      plan('--event', 'SECRET_ROTATED', '--manifests', EXAMPLES),
      /--event "SECRET_ROTATED" is not a Secret Manager event type \(one of SECRET_CREATE, .*SECRET_ROTATE\)/,
    );
    await rejects(
      plan('--event', 'TOPIC_CONFIGURED', '--manifests', EXAMPLES),
      /--event "TOPIC_CONFIGURED" is not a Secret Manager event type/,
    );
  });

  it('a missing path', async () => {
    await rejects(
      plan('--manifests', 'infra/nope'),
      /^rotor plan: infra\/nope: no such file or directory\n$/,
    );
  });

  it('a broken symbolic link in a directory', async () => {
    mkdirSync(join(root, 'links'), { recursive: true });
    symlinkSync(join(root, 'links/missing.yaml'), join(root, 'links/dangling.yaml'));
    await rejects(
      plan('--manifests', join(root, 'links')),
      /links\/dangling.yaml: no such file or directory \(a broken symbolic link\?\)/,
    );
  });

  it('an unknown output format', async () => {
    await rejects(
      plan('--manifests', EXAMPLES, '--output', 'xml'),
      /--output "xml" is not one of table, json, yaml, mermaid, markdown/,
    );
  });

  it('bad flag values and combinations', async () => {
    await rejects(
      plan('--manifests', EXAMPLES, '--version', 'latest'),
      /--version "latest" is not a version number/,
    );
    await rejects(
      plan('--manifests', EXAMPLES, '--alias', 'current'),
      /--alias: "current" is not NAME=VALUE/,
    );
    await rejects(
      plan('--manifests', EXAMPLES, '--alias', 'current=latest'),
      /--alias current=latest: the version must be a number/,
    );
    await rejects(
      ['plan', '--secret', SECRET, '--project-map', 'my-proj:123', '--manifests', EXAMPLES],
      /project map: "my-proj:123" is not ID=NUMBER/,
    );
    await rejects(
      ['plan', '--secret', SECRET, '--manifests', EXAMPLES, '--kubeconfig', '/tmp/kc'],
      /give either --manifests or --kubeconfig, not both/,
    );
    await rejects(
      ['plan', '--secret', SECRET],
      /give --manifests PATH\.\.\. \(offline\) or --kubeconfig FILE \(live\)/,
    );
    await rejects(['plan', '--secret', SECRET, 'infra/examples'], /unexpected argument "infra\/examples"/);
    await rejects(
      plan('--manifests', EXAMPLES, '--frobnicate'),
      /Unknown option '--frobnicate'.*\(see rotor plan --help\)/,
    );
  });

  it('an unknown command', async () => {
    const r = await rotor(['plna']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^rotor plna: unknown command "plna" \(plan, audit, apply, rotate, rollback, status, completion\)\n$/,
    );
  });
});

// Issue 9 item 11: inputs that used to crash the loader (exit 1 with a stack) are bad input.
describe('rotor plan: manifests that used to crash the loader exit 2 naming the file and object', () => {
  it('a YAML alias reused as a whole object inside a kind: List', async () => {
    const f = write(
      'crash/alias.yaml',
      'apiVersion: v1\nkind: List\nitems:\n- &app\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: api, namespace: shop}\n  spec: {template: {spec: {containers: [{name: app, image: x}]}}}\n- *app\n',
    );
    await rejects(
      plan('--manifests', f),
      new RegExp(
        `${f} items\\[1\\]: Deployment shop/api is the same object as ${f} items\\[0\\] \\(a YAML alias`,
      ),
    );
  });

  it('kind: List nested thousands deep (JSON)', async () => {
    let doc = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"leaf"}}';
    for (let i = 0; i < 20000; i++) doc = `{"apiVersion":"v1","kind":"List","items":[${doc}]}`;
    const f = write('crash/deep.json', doc);
    await rejects(
      plan('--manifests', f),
      new RegExp(`${f}: List <unnamed>: nested deeper than 256 levels \\(at items\\[0\\]\\.items\\[0\\]`),
    );
  });

  it('a flow sequence nested thousands deep (YAML): js-yaml bounds it', async () => {
    const f = write(
      'crash/deep.yaml',
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deep}\nspec: {x: ${'['.repeat(50000)}${']'.repeat(50000)}}\n`,
    );
    await rejects(plan('--manifests', f), new RegExp(`${f}: YAML syntax error .*nesting exceeded maxDepth`));
  });
});

// Issue 12 item 6: manifests as repositories hold them.
describe('rotor plan: manifests as repositories hold them', () => {
  const reader = (name: string, ns?: string): string =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}  annotations: {rotor.dev/secrets: "${SECRET}"}\nspec: {template: {spec: {containers: [{name: app, image: x}]}}}\n`;

  it('-n gives namespace-less objects of namespaced kinds a namespace; an own namespace wins', async () => {
    const dir = join(root, 'ns');
    write('ns/a.yaml', reader('bare') + '---\n' + reader('own', 'shop'));
    // The ExternalSecret and its SecretStore name no namespace: both land in -n's, so the store resolves.
    write(
      'ns/eso.yaml',
      'apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: gcp}\nspec: {provider: {gcpsm: {projectID: my-proj}}}\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: creds}\nspec:\n  secretStoreRef: {kind: SecretStore, name: gcp}\n  target: {name: creds}\n  data: [{secretKey: pw, remoteRef: {key: db-password}}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: env-user}\nspec: {template: {spec: {containers: [{name: app, image: x, env: [{name: PW, valueFrom: {secretKeyRef: {name: creds, key: pw}}}]}]}}}\n',
    );
    const r = await rotor(plan('--manifests', dir, '-n', 'team', '-o', 'json'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      workloads: Array<{ namespace: string; name: string; action: string }>;
    };
    assert.deepEqual(out.workloads.map((w) => `${w.namespace}/${w.name} ${w.action}`).sort(), [
      'shop/own none',
      'team/bare none',
      'team/env-user restart',
    ]);
    const without = JSON.parse((await rotor(plan('--manifests', dir, '-o', 'json'))).stdout) as typeof out;
    assert.deepEqual(without.workloads.map((w) => `${w.namespace}/${w.name}`).sort(), [
      'default/bare',
      'default/env-user',
      'shop/own',
    ]);
    await rejects(plan('--manifests', dir, '-n', 'Team_1'), /--namespace "Team_1" is not a namespace name/);
  });

  it('the same object in two files is planned once, with a note naming both files', async () => {
    const a = write('dup/base/app.yaml', reader('api', 'shop'));
    const b = write('dup/copy/app.yaml', reader('api', 'shop'));
    const r = await rotor(plan('--manifests', join(root, 'dup')));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/Deployment\/shop\/api/g)?.length, 1, r.stdout);
    assert.match(r.stdout, /\n1 dependent workload: 1 none\n$/);
    assert.equal(
      r.stderr,
      `note: Deployment shop/api is defined in ${a} and in ${b}: planned once, from the first\n`,
    );
  });

  it('SecretProviderClasses of other providers are not dependencies, and not unresolved (--strict passes)', async () => {
    const f = write(
      'vault/app.yaml',
      [
        ...['vault', 'aws', 'azure'].map(
          (p) =>
            `apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: from-${p}, namespace: shop}\nspec:\n  provider: ${p}\n  parameters: {objects: "- objectName: x"}\n`,
        ),
        `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: vault-user, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: x, volumeMounts: [{name: v, mountPath: /v}, {name: a, mountPath: /a}, {name: z, mountPath: /z}]}]\n      volumes:\n      - {name: v, csi: {driver: secrets-store.csi.k8s.io, volumeAttributes: {secretProviderClass: from-vault}}}\n      - {name: a, csi: {driver: secrets-store.csi.k8s.io, volumeAttributes: {secretProviderClass: from-aws}}}\n      - {name: z, csi: {driver: secrets-store.csi.k8s.io, volumeAttributes: {secretProviderClass: from-azure}}}\n`,
      ].join('---\n'),
    );
    const r = await rotor(plan('--manifests', f, '--strict'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /No workload depends on this secret/);
  });

  it('notes list only what concerns the secret, on stderr in table output, in problems in json', async () => {
    const dir = join(root, 'notes');
    // A dependent whose CSI driver and class provider disagree: a note about this plan.
    write(
      'notes/dependent.yaml',
      `apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: oss, namespace: shop}\nspec:\n  provider: gcp\n  parameters:\n    secrets: |\n      - resourceName: ${SECRET}/versions/latest\n        path: pw\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: mixed, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: x, volumeMounts: [{name: s, mountPath: /s}]}]\n      volumes: [{name: s, csi: {driver: secrets-store-gke.csi.k8s.io, volumeAttributes: {secretProviderClass: oss}}}]\n`,
    );
    // A workload that reads another secret through a malformed annotation: nothing to do with this one.
    write(
      'notes/unrelated.yaml',
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other, namespace: shop, annotations: {rotor.dev/secrets: "projects/my-proj/secret/typo"}}\nspec: {template: {spec: {containers: [{name: app, image: x}]}}}\n`,
    );
    const table = await rotor(plan('--manifests', dir));
    assert.equal(table.code, 0, table.stderr);
    assert.doesNotMatch(table.stdout, /note:/);
    assert.equal(
      table.stderr,
      'note: Deployment shop/mixed: volume s uses driver secrets-store-gke.csi.k8s.io but SecretProviderClass shop/oss has provider gcp (expected gke)\n',
    );
    const json = JSON.parse((await rotor(plan('--manifests', dir, '-o', 'json'))).stdout) as {
      problems?: string[];
    };
    assert.deepEqual(json.problems, [
      'Deployment shop/mixed: volume s uses driver secrets-store-gke.csi.k8s.io but SecretProviderClass shop/oss has provider gcp (expected gke)',
    ]);
  });

  it('one unparsable file is reported and the rest still planned; --strict makes it exit 2', async () => {
    const dir = join(root, 'partly');
    write('partly/good.yaml', reader('api', 'shop'));
    const bad = write(
      'partly/broken.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [unclosed\n',
    );
    const r = await rotor(plan('--manifests', dir));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /NONE\s+-\s+Deployment\/shop\/api/);
    assert.match(
      r.stderr,
      new RegExp(
        `^note: ${bad}: YAML syntax error at line 5, column \\d+: .* \\(file left out of the plan\\)\\n$`,
      ),
    );
    await rejects(
      plan('--manifests', dir, '--strict'),
      new RegExp(`^rotor plan: ${bad}: YAML syntax error at line 5`),
    );
  });
});

describe('rotor plan: cluster stages', () => {
  const manifest = write(
    'stages/app.yaml',
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: app
          image: app:1
          env:
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: shop}
spec:
  secretStoreRef: {name: gcp, kind: SecretStore}
  target: {name: db}
  data:
    - secretKey: password
      remoteRef: {key: db-password}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: gcp, namespace: shop}
spec:
  provider: {gcpsm: {projectID: my-proj}}
`,
  );
  const plan = (cluster: string, output: string, env: NodeJS.ProcessEnv = {}): Promise<Run> =>
    rotor(
      [
        'plan',
        '--secret',
        SECRET,
        '--version',
        '7',
        '--manifests',
        manifest,
        '--cluster',
        cluster,
        '-o',
        output,
      ],
      env,
    );

  it('--cluster NAME;stage=N: the table has a STAGE column and the markdown a Stage column', async () => {
    const table = await plan('prod;stage=1', 'table');
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[1] ?? '', /^ACTION\s+WAVE\s+STAGE\s+WORKLOAD\s+VIA\s+REASON$/);
    assert.match(lines[2] ?? '', /^RESTART\s+100\s+1\s+Deployment\/shop\/api\s+env\s/);
    const md = await plan('prod;stage=1', 'markdown');
    assert.match(md.stdout, /\n\| Action \| Wave \| Stage \| Workload \| Via \| Reason \|\n/);
    assert.match(md.stdout, /\n\| \*\*RESTART\*\* \| 100 \| 1 \| `Deployment\/shop\/api` \|/);
    const json = await plan('prod;stage=1', 'json');
    assert.equal(
      (JSON.parse(json.stdout) as { workloads: Array<{ stage?: number }> }).workloads[0]?.stage,
      1,
    );
  });

  it('the stage ROTOR_CLUSTERS gives the cluster; no stages anywhere: no column', async () => {
    const fromEnv = await plan('kubeconfig:/k', 'table', {
      ROTOR_CLUSTERS: 'kubeconfig:/s,kubeconfig:/k;stage=2',
    });
    assert.match(fromEnv.stdout.split('\n')[2] ?? '', /^RESTART\s+100\s+2\s+/);
    const flat = await plan('prod', 'table');
    assert.match(flat.stdout.split('\n')[1] ?? '', /^ACTION\s+WAVE\s+WORKLOAD\s+VIA\s+REASON$/);
  });

  it('a bad stage is refused', async () => {
    const bad = await plan('prod;stage=x', 'table');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--cluster "prod;stage=x": stage "x" is not a whole number from 0 to 9/);
  });
});
