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
    assert.match(lines[1], /^ACTION\s+WORKLOAD\s+VIA\s+REASON$/);
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
      // Beyond the contract's keys, a warning only when there is something to say.
      assert.deepEqual(Object.keys(w), [
        'cluster',
        'kind',
        'namespace',
        'name',
        'action',
        'reason',
        'dependencies',
        ...('warning' in w ? ['warning'] : []),
      ]);
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

  it('a directory with non-Kubernetes YAML is planned, with a note', async () => {
    write(
      'gitops/app.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sdk, namespace: shop, annotations: {rotor.dev/secrets: "projects/my-proj/secrets/db-password"}}\nspec: {template: {spec: {containers: [{name: app, image: x}]}}}\n',
    );
    write('gitops/values.yaml', 'replicaCount: 3\n');
    const r = await rotor(['plan', '--secret', SECRET, '--manifests', join(root, 'gitops')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /NONE\s+Deployment\/shop\/sdk/);
    assert.match(r.stdout, /note: .*gitops\/values.yaml: skipped, not a Kubernetes object \(no "kind"\)\n$/);
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
      plan('--manifests', EXAMPLES, '--output', 'yaml'),
      /--output "yaml" is not one of table, json, mermaid/,
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
    assert.match(r.stderr, /^rotor plna: unknown command "plna" \(plan, audit, apply, rotate\)\n$/);
  });
});
