// The installable CLI: `npm pack` in the checkout (its prepack builds dist/ with tsc), then the
// tarball installed into an empty directory outside the repository with production dependencies
// only (`npm install --omit=dev`, from npm's cache where it can), and the installed `rotor` run by
// plain Node — no tsx, no TypeScript, no devDependencies — on the repository's examples.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = resolve(__dirname, '..', '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('npm pack: an installable rotor CLI', () => {
  let dir: string;
  let rotor: string;
  /** A minimal environment: node on PATH, a HOME without a kubeconfig, nothing from this checkout. */
  let env: NodeJS.ProcessEnv;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-pack-'));
    const packed = JSON.parse(run(NPM, ['pack', '--json', '--pack-destination', dir], ROOT)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const tarball = join(dir, packed[0]?.filename ?? '');
    const files = (packed[0]?.files ?? []).map((f) => f.path);
    assert.ok(files.includes('dist/functions/cli/main.js'), 'the built CLI is in the tarball');
    assert.ok(!files.some((f) => f.endsWith('.ts') || f.startsWith('test/')), `no sources or tests: ${files.join(' ')}`);
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{"name": "rotor-install-test", "private": true}\n');
    run(NPM, ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
    rotor = join(app, 'node_modules', '.bin', 'rotor');
    env = { PATH: dirname(process.execPath), HOME: dir };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('installs production dependencies only', () => {
    const installed = readdirSync(join(dir, 'app', 'node_modules'));
    for (const dev of ['typescript', 'tsx', 'esbuild', 'eslint', 'prettier'])
      assert.ok(!installed.includes(dev), `${dev} is a devDependency`);
    assert.ok(existsSync(join(dir, 'app', 'node_modules', 'rotor', 'dist', 'functions', 'cli', 'main.js')));
  });

  it('rotor --version and rotor plan on the examples, run by plain node', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(run(rotor, ['--version'], dir, env), `rotor ${pkg.version}\n`);
    const out = run(
      rotor,
      [
        'plan',
        '--secret',
        'projects/my-proj/secrets/db-password',
        '--version',
        '7',
        '--project-map',
        'my-proj=123456789012',
        '-f',
        join(ROOT, 'infra', 'examples'),
      ],
      dir,
      env,
    );
    const lines = out.trimEnd().split('\n');
    assert.equal(lines[0], 'SECRET_VERSION_ADD projects/my-proj/secrets/db-password version 7');
    assert.match(lines[1] ?? '', /^ACTION\s+WAVE\s+WORKLOAD\s+VIA\s+REASON$/);
    assert.match(out, /\nRESTART +100 +Deployment\/shop\/api +env +env DB_PASSWORD \(key DB_PASSWORD\) in app/);
    assert.match(out, /\nRELOAD +100 +Deployment\/shop\/web +csi +CSI file db-password\.txt in app updates in place/);
    assert.match(out, /\nNONE +- +Deployment\/shop\/pinned +csi +CSI file db-password\.txt in app is pinned to version 3/);
    assert.ok(lines.includes('21 dependent workloads: 10 restart, 3 reload, 3 manual, 5 none'), out);
    assert.match(
      lines[lines.length - 1] ?? '',
      /^WARNING Deployment\/shop\/bootstrapper: ExternalSecret shop\/db-bootstrap has refreshPolicy CreatedOnce/,
    );
  });
});
