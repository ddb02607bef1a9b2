// The kubectl-shaped CLI (issue 12 items 7 and 9): flags from one table per command, --help,
// --version, completion scripts run in a real bash, label selectors, kubeconfig defaults, and the
// yaml and markdown outputs of plan.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { load } from 'js-yaml';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import type { CliIo } from '../../functions/cli/io';
import { kubeconfigPath } from '../../functions/cli/kubeconfig';
import { concerningProblems } from '../../functions/cli/notes';
import { matchesSelector, parseSelector } from '../../functions/cli/labelSelector';
import { main } from '../../functions/cli/main';
import { selectingWorkloads } from '../../functions/cli/selectingApi';

const EXAMPLES = 'infra/examples';
const SECRET = 'projects/my-proj/secrets/db-password';
const plan = (...extra: string[]): string[] => [
  'plan',
  '--secret',
  SECRET,
  '--version',
  '7',
  '--project-map',
  'my-proj=123456789012',
  ...extra,
];

async function rotor(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), env };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

const root = mkdtempSync(join(tmpdir(), 'rotor-flags-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('--help, --version', () => {
  it('each command lists its flags, kubectl names where kubectl has one', async () => {
    const p = await rotor(['plan', '--help']);
    assert.equal(p.code, 0);
    for (const line of [
      /^ {6}--secret NAME\s+projects\/P\/secrets\/S/m,
      /^ {2}-f, --manifests PATH\s+.*\(repeatable\)$/m,
      /^ {6}--kubeconfig FILE\s+the kubeconfig file \(default: \$KUBECONFIG, else ~\/\.kube\/config\)$/m,
      /^ {6}--context NAME\s/m,
      /^ {2}-n, --namespace NAME\s/m,
      /^ {2}-A, --all-namespaces\s/m,
      /^ {2}-l, --selector SELECTOR\s/m,
      /^ {2}-o, --output table\|json\|yaml\|mermaid\|markdown\s/m,
      /^ {6}--strict\s/m,
      /^ {2}-h, --help\s/m,
    ])
      assert.match(p.stdout, line);
    const a = await rotor(['apply', '--help']);
    for (const flag of [
      '--dry-run',
      '-n, --namespace',
      '-l, --selector',
      '--kubeconfig FILE',
      '-o, --output table|json|yaml',
    ])
      assert.ok(a.stdout.includes(flag), `apply --help lists ${flag}`);
    const r = await rotor(['rotate', '--help']);
    for (const flag of ['--secret NAME', '--dry-run', '--force', '-o, --output table|json|yaml'])
      assert.ok(r.stdout.includes(flag), `rotate --help lists ${flag}`);
    const c = await rotor(['completion', '--help']);
    assert.match(c.stdout, /^Usage: rotor completion bash\|zsh/);
  });

  it('rotor --version prints package.json version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await rotor(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^rotor \d+\.\d+\.\d+/);
    assert.equal(r.stdout, `rotor ${pkg.version}\n`);
  });
});

describe('rotor completion', () => {
  let script: string | undefined;
  /** What bash completes for a command line whose last word is being typed. */
  async function complete(...words: string[]): Promise<string[]> {
    const file = join(root, 'rotor.bash');
    if (script === undefined) {
      script = (await rotor(['completion', 'bash'])).stdout;
      writeFileSync(file, script);
    }
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const out = execFileSync(
      'bash',
      [
        '--norc',
        '-c',
        `source ${file}; COMP_WORDS=(rotor ${quoted}); COMP_CWORD=${words.length}; _rotor; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    );
    return out.split('\n').filter(Boolean).sort();
  }

  it('bash: commands, flags of each command, and the values of -o', async () => {
    assert.deepEqual(await complete(''), [
      '--help',
      '--version',
      'apply',
      'audit',
      'completion',
      'plan',
      'rollback',
      'rotate',
      'status',
    ]);
    assert.deepEqual(await complete('rollback', '--'), [
      '--dry-run',
      '--help',
      '--output',
      '--project',
      '--secret',
      '--to',
    ]);
    assert.deepEqual(await complete('plan', '--out'), ['--output']);
    assert.deepEqual(await complete('status', '-o', ''), ['json', 'markdown', 'table', 'yaml']);
    assert.deepEqual(await complete('plan', '-o', ''), ['json', 'markdown', 'mermaid', 'table', 'yaml']);
    assert.deepEqual(await complete('apply', '-o', 'y'), ['yaml']);
    assert.deepEqual(await complete('apply', '--dry'), ['--dry-run']);
    assert.deepEqual(await complete('plan', '--event', 'SECRET_VERSION_'), [
      'SECRET_VERSION_ADD',
      'SECRET_VERSION_DESTROY',
      'SECRET_VERSION_DESTROY_SCHEDULED',
      'SECRET_VERSION_DISABLE',
      'SECRET_VERSION_ENABLE',
    ]);
    assert.deepEqual(await complete('rotate', '--re'), ['--retire-only']);
    assert.deepEqual(await complete('completion', ''), ['--help', '-h', 'bash', 'zsh']);
  });

  it('zsh: the same completion through bashcompinit; unknown shells are exit 2', async () => {
    const z = await rotor(['completion', 'zsh']);
    assert.equal(z.code, 0);
    assert.match(z.stdout, /^#compdef rotor\n/);
    assert.match(z.stdout, /bashcompinit/);
    assert.match(z.stdout, /complete -o default -F _rotor rotor\n$/);
    const fish = await rotor(['completion', 'fish']);
    assert.equal(fish.code, 2);
    assert.match(fish.stderr, /no completion for shell "fish" \(bash, zsh\)/);
  });
});

describe('label selectors (-l)', () => {
  it('parses equality and set requirements and matches as the API server does', () => {
    const sel = parseSelector('app=api, tier!=cache,env in (prod, qa),!legacy,team');
    const m = (labels: Record<string, string>) => matchesSelector(sel, labels);
    assert.equal(m({ app: 'api', env: 'prod', team: 'x' }), true);
    assert.equal(m({ app: 'api', env: 'prod', team: 'x', tier: 'cache' }), false);
    assert.equal(m({ app: 'api', env: 'dev', team: 'x' }), false);
    assert.equal(m({ app: 'api', env: 'qa', team: 'x', legacy: 'yes' }), false);
    assert.equal(m({ app: 'api', env: 'qa' }), false, 'team must exist');
    assert.equal(
      matchesSelector(parseSelector('env notin (dev)'), {}),
      true,
      'notin holds for an absent key',
    );
    assert.equal(matchesSelector(parseSelector('app==api'), { app: 'api' }), true);
  });

  it('rejects what is not a selector, naming the part', () => {
    assert.throws(() => parseSelector('app=a b'), /--selector "app=a b": "app=a b" is not KEY/);
    assert.throws(() => parseSelector('app=,'), /"" is empty \(a stray comma\?\)/);
    assert.throws(() => parseSelector('-bad=x'), /has an invalid label key "-bad"/);
    assert.throws(() => parseSelector('app=x/y'), /has an invalid label value "x\/y"/);
  });

  it('offline: only matching workloads are planned', async () => {
    const dir = join(root, 'labels');
    mkdirSync(dir, { recursive: true });
    const app = (name: string, labels: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, namespace: shop, labels: {${labels}}, annotations: {rotor.dev/secrets: "${SECRET}"}}\nspec: {template: {spec: {containers: [{name: app, image: x}]}}}\n`;
    writeFileSync(
      join(dir, 'a.yaml'),
      [app('api', 'app: api, tier: web'), app('cache', 'app: cache')].join('---\n'),
    );
    const r = await rotor(plan('-f', dir, '-l', 'tier=web', '-o', 'json'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { workloads: Array<{ name: string }> }).workloads.map((w) => w.name),
      ['api'],
    );
    const bad = await rotor(plan('-f', dir, '-l', 'tier in web'));
    assert.equal(bad.code, 2);
  });

  it('live: workload lists carry the selector; other requests are untouched', async () => {
    const seen: KubeRequest[] = [];
    const api: KubeApi = {
      cluster: 'c',
      request: <T>(req: KubeRequest) => {
        seen.push(req);
        return Promise.resolve({ items: [] } as T);
      },
      requestCount: () => seen.length,
      close: () => undefined,
    };
    const s = selectingWorkloads(api, 'app=api');
    await s.request({ method: 'GET', path: '/apis/apps/v1/deployments', query: { limit: 5 } });
    await s.request({ method: 'GET', path: '/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts' });
    await s.request({ method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/api' });
    await s.request({ method: 'GET', path: '/api/v1/namespaces/shop/pods', query: { labelSelector: 'x=y' } });
    await s.request({ method: 'GET', path: '/apis/external-secrets.io/v1/externalsecrets' });
    assert.deepEqual(
      seen.map((r) => r.query?.labelSelector),
      ['app=api', 'app=api', undefined, 'x=y', undefined],
    );
    assert.equal(seen[0]?.query?.limit, 5);
  });
});

describe('kubeconfig defaults (kubectl: --kubeconfig, else $KUBECONFIG, else ~/.kube/config)', () => {
  it('finds the file kubectl would use', () => {
    const home = join(root, 'home');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), 'apiVersion: v1\nkind: Config\n');
    const other = join(root, 'other-config');
    writeFileSync(other, 'apiVersion: v1\nkind: Config\n');
    assert.equal(kubeconfigPath('/flag', { HOME: home, KUBECONFIG: other }), '/flag');
    assert.equal(kubeconfigPath(undefined, { HOME: home, KUBECONFIG: `/missing:${other}` }), other);
    assert.equal(kubeconfigPath(undefined, { HOME: home }), join(home, '.kube', 'config'));
    assert.equal(kubeconfigPath(undefined, { HOME: join(root, 'nobody') }), undefined);
  });

  it('plan and apply without --kubeconfig use $KUBECONFIG; without any, exit 2 saying so', async () => {
    const missing = join(root, 'no-such-kubeconfig');
    const p = await rotor(['plan', '--secret', SECRET], { KUBECONFIG: missing });
    assert.equal(p.code, 2);
    assert.match(p.stderr, new RegExp(`^rotor plan: ${missing}: cannot read kubeconfig`));
    const a = await rotor(['apply', '--secret', SECRET, '--version', '7'], { KUBECONFIG: missing });
    assert.equal(a.code, 2);
    assert.match(a.stderr, new RegExp(`^rotor apply: ${missing}: cannot read kubeconfig`));
    const none = await rotor(['apply', '--secret', SECRET, '--version', '7'], {});
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /no kubeconfig: \$KUBECONFIG is unset and ~\/\.kube\/config does not exist; give --kubeconfig FILE or --cluster SPEC/,
    );
  });

  it('apply: -n and --namespaces, -A and a namespace, a bad selector: exit 2 before any request', async () => {
    const base = ['apply', '--secret', SECRET, '--version', '7', '--kubeconfig', '/nonexistent'];
    const cases: Array<[string[], RegExp]> = [
      [['-n', 'a', '--namespaces', 'b'], /give --namespace or --namespaces, not both/],
      [['-A', '-n', 'a'], /give --all-namespaces or a namespace, not both/],
      [['-l', 'app in x'], /--selector "app in x"/],
      [['-o', 'markdown'], /--output "markdown" is not one of table, json, yaml/],
    ];
    for (const [extra, message] of cases) {
      const r = await rotor([...base, ...extra]);
      assert.equal(r.code, 2, extra.join(' '));
      assert.match(r.stderr, message);
    }
    const p = await rotor(plan('-f', EXAMPLES, '-n', 'shop', '-A'));
    assert.equal(p.code, 2);
    assert.match(p.stderr, /give --namespace or --all-namespaces, not both/);
  });
});

describe('rotor plan -o yaml and -o markdown', () => {
  it('yaml is the json contract in YAML', async () => {
    const y = await rotor(plan('-f', EXAMPLES, '-o', 'yaml'));
    const j = await rotor(plan('-f', EXAMPLES, '-o', 'json'));
    assert.equal(y.code, 0, y.stderr);
    assert.match(
      y.stdout,
      /^secret: projects\/my-proj\/secrets\/db-password\nversion: '7'\nevent: SECRET_VERSION_ADD\nworkloads:\n/,
    );
    assert.deepEqual(load(y.stdout), JSON.parse(j.stdout));
  });

  it('markdown: heading, counts, a table row per workload and a mermaid block', async () => {
    const r = await rotor(plan('-f', EXAMPLES, '-o', 'markdown'));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(
      lines[0],
      '### Rotor plan: SECRET_VERSION_ADD `projects/my-proj/secrets/db-password` version 7',
    );
    assert.ok(lines.includes('**21 dependent workloads:** 10 restart, 3 reload, 3 manual, 5 none'));
    assert.ok(lines.includes('| Action | Wave | Workload | Via | Reason |'));
    assert.ok(lines.includes('| --- | --- | --- | --- | --- |'));
    assert.ok(
      lines.includes(
        '| **RELOAD** | 100 | `Deployment/shop/web` | csi | CSI file db-password.txt in app updates in place; the app re-reads it on POST 8080/-/reload |',
      ),
    );
    // Markdown's special characters are escaped (DB\\_PASSWORD renders as DB_PASSWORD).
    assert.ok(
      lines.includes(
        '| **RESTART** | 100 | `CronJob/shop/nightly-report` | env, csi | env DB\\_PASSWORD (key password) in report (Secret db-password-synced from SecretProviderClass db-password-oss sync) only changes when the pod restarts |',
      ),
    );
    assert.equal(lines.filter((l) => l.startsWith('| **')).length, 21);
    const fence = lines.indexOf('```mermaid');
    assert.ok(fence > 0);
    assert.equal(lines[fence + 1], 'flowchart LR');
    assert.equal(lines[lines.length - 2], '```');
  });

  it('markdown carries the notes (nothing on stderr)', async () => {
    const dir = join(root, 'md');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'a.yaml'),
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: pipe, namespace: shop, annotations: {rotor.dev/secrets: "${SECRET}", rotor.dev/ignore: "true"}}\nspec: {template: {spec: {containers: [{name: app, image: x}]}}}\n`,
    );
    writeFileSync(join(dir, 'values.yaml'), 'replicas: 1\n');
    const r = await rotor(plan('-f', dir, '-o', 'markdown'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'markdown carries the notes itself');
    assert.match(
      r.stdout,
      /\| \*\*NONE\*\* \| - \| `Deployment\/shop\/pipe` \| annotation \| rotor\.dev\/ignore: "true" on the workload \|/,
    );
    assert.match(
      r.stdout,
      /<details><summary>Notes \(1\)<\/summary>\n\n- .*values\.yaml: skipped, not a Kubernetes object/,
    );
  });
});

describe('concerningProblems', () => {
  it('keeps notes naming the secret (whole name only) or an unresolved reference; drops the rest', () => {
    const secret = { project: 'p', secret: 'db' };
    assert.deepEqual(
      concerningProblems(
        [
          'Deployment shop/a: annotation rotor.dev/secrets: projects/p/secrets/db/versions/3 is pinned',
          'Deployment shop/b: annotation rotor.dev/secrets: projects/p/secrets/db-password is bad',
          'Deployment shop/c: SecretProviderClass shop/x (volume v) was not found',
          'SecretProviderClass shop/y: secretObjects sync is a feature of the open-source driver',
        ],
        [],
        secret,
      ),
      [
        'Deployment shop/a: annotation rotor.dev/secrets: projects/p/secrets/db/versions/3 is pinned',
        'Deployment shop/c: SecretProviderClass shop/x (volume v) was not found',
      ],
    );
  });
});
