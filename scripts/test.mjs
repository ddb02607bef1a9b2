#!/usr/bin/env node
// The one test entry point behind `npm test` and its parts.
//   node scripts/test.mjs all|unit|integration|e2e|infra [--no-lint] [files...]
// `all` = format check + lint + type check + code shape + every suite, in one node:test run so the closing summary counts
// everything. Suites that need heavy local parts (the Kubernetes control plane, the Terraform
// provider mirror) build or reuse them first, with progress lines, before any test starts.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const [suite = 'all', ...rest] = process.argv.slice(2);
const suites = {
  unit: ['test/unit'],
  integration: ['test/integration'],
  e2e: ['test/e2e'],
  infra: ['test/infra'],
};
const selected = suite === 'all' ? Object.keys(suites) : [suite];
if (!selected.every((s) => s in suites)) {
  console.error(`unknown suite "${suite}": use all, ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

function step(title, cmd, args, env = {}) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`✖ ${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  console.log(`✔ ${title} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

function testFiles(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out = [];
  for (const name of readdirSync(abs).sort()) {
    const p = join(abs, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(join(dir, name)));
    else if (name.endsWith('.test.ts')) out.push(join(dir, name));
  }
  return out;
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
const explicitFiles = rest.filter((a) => !a.startsWith('--'));
if (suite === 'all' && !rest.includes('--no-lint')) {
  step('format (prettier --check)', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
  step('lint (eslint)', bin('eslint'), ['.']);
  step('type check (tsc --noEmit, strict)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
  // Functions ≤ 80 lines, a pure functions/core/, no import cycles (issue 23; rules in the script).
  step('code shape (scripts/check-shape.ts)', process.execPath, [
    '--import',
    'tsx',
    'scripts/check-shape.ts',
  ]);
}

const env = {};
if (selected.includes('integration') || selected.includes('e2e')) {
  const pre = spawnSync('bash', [join(root, 'scripts/ensure-prereqs.sh'), ...selected], {
    cwd: root,
    stdio: 'inherit',
  });
  if (pre.status !== 0) process.exit(pre.status ?? 1);
  if (process.env.KUBEBUILDER_ASSETS) {
    console.log(
      `\n▶ control plane: using prebuilt binaries in KUBEBUILDER_ASSETS=${process.env.KUBEBUILDER_ASSETS}`,
    );
  } else {
    console.log('\n▶ control plane: building or reusing kube-apiserver, kube-controller-manager and etcd');
    const r = spawnSync('bash', [join(root, 'infra/local/build-control-plane.sh')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
    env.ROTOR_CONTROL_PLANE_BIN = r.stdout.toString().trim().split('\n').pop();
    console.log(`✔ control plane binaries in ${env.ROTOR_CONTROL_PLANE_BIN}`);
  }
}
// The real External Secrets Operator (test/e2e/realEso.test.ts): built from its Go module once per
// version into the cache (or ROTOR_ESO_BIN), with its CRDs; only the end-to-end suite runs it.
if (selected.includes('e2e') && !process.env.ROTOR_ESO_DIR) {
  console.log(
    `\n▶ External Secrets Operator: ${process.env.ROTOR_ESO_BIN ? `using ROTOR_ESO_BIN=${process.env.ROTOR_ESO_BIN}` : 'building or reusing the controller'}`,
  );
  const r = spawnSync('bash', [join(root, 'infra/local/build-eso.sh')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  env.ROTOR_ESO_DIR = r.stdout.toString().trim().split('\n').pop();
  console.log(`✔ External Secrets Operator in ${env.ROTOR_ESO_DIR}`);
}
// The real Secrets Store CSI driver, its GCP provider and the registration stand-in
// (test/e2e/realCsi.test.ts): built from their Go modules once per version into the cache, with the
// driver's CRDs; only the end-to-end suite runs them.
if (selected.includes('e2e') && !process.env.ROTOR_CSI_DIR) {
  console.log('\n▶ Secrets Store CSI driver and GCP provider: building or reusing them');
  const r = spawnSync('bash', [join(root, 'infra/local/build-csi.sh')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  env.ROTOR_CSI_DIR = r.stdout.toString().trim().split('\n').pop();
  console.log(`✔ Secrets Store CSI driver and GCP provider in ${env.ROTOR_CSI_DIR}`);
}
if (selected.includes('infra') && existsSync(join(root, 'scripts/terraform-mirror.sh'))) {
  console.log('\n▶ terraform: building or reusing the local provider mirror');
  const r = spawnSync('bash', [join(root, 'scripts/terraform-mirror.sh')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  env.ROTOR_TF_CLI_CONFIG = r.stdout.toString().trim().split('\n').pop();
}

const files =
  explicitFiles.length > 0 ? explicitFiles : selected.flatMap((s) => suites[s].flatMap(testFiles));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
console.log(`\n▶ tests: ${files.length} files (${selected.join(', ')})`);
// One file at a time: integration files each start their own control plane, and the machine has 2 cores.
// Nothing is printed after the runner's own summary: CI reads its closing lines.
const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  },
);
process.exit(run.status ?? 1);
