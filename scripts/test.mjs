#!/usr/bin/env node
// The one test entry point behind `npm test` and its parts.
//   node scripts/test.mjs all|unit|integration|e2e|infra [--no-lint] [--serial] [files...]
// `all` = format check + lint + type check + code shape (two at a time) + every suite, reported as one
// node:test run (scripts/test-runner.mjs) so the closing summary counts everything. Suites that need
// heavy local parts (the Kubernetes control plane, the Terraform provider mirror) build or reuse
// them first, with progress lines, before any test starts. docs/testing.md, "How npm test runs".
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
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

/** One check, its output held until it ends: printed as one block, with its time and verdict. */
function checked({ title, cmd, args }) {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (d) => output.push(d));
    child.stderr.on('data', (d) => output.push(d));
    child.on('error', (e) => output.push(Buffer.from(`${e.message}\n`)));
    child.on('close', (code, signal) => {
      process.stdout.write(`\n▶ ${title}\n${Buffer.concat(output).toString()}`);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (code === 0) console.log(`✔ ${title} (${seconds}s)`);
      else console.error(`✖ ${title} failed (exit ${code ?? signal}, ${seconds}s)`);
      done(code === 0 ? 0 : (code ?? 1));
    });
  });
}

/** Runs each lane's checks in turn, the lanes side by side; exits with the first failure once all ended. */
async function lanes(all) {
  const results = await Promise.all(
    all.map(async (lane) => {
      for (const check of lane) {
        const status = await checked(check);
        if (status !== 0) return status;
      }
      return 0;
    }),
  );
  const failed = results.find((status) => status !== 0);
  if (failed !== undefined) process.exit(failed);
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
  // Two lanes on two cores: eslint (type-aware, the longest) beside the other three in turn.
  await lanes([
    [{ title: 'lint (eslint)', cmd: bin('eslint'), args: ['.'] }],
    [
      {
        title: 'format (prettier --check)',
        cmd: bin('prettier'),
        args: ['--check', '--log-level', 'warn', '.'],
      },
      {
        title: 'type check (tsc --noEmit, strict)',
        cmd: bin('tsc'),
        args: ['-p', 'tsconfig.json', '--noEmit'],
      },
      // Functions ≤ 80 lines, a pure functions/core/, no import cycles (issue 23; rules in the script).
      {
        title: 'code shape (scripts/check-shape.ts)',
        cmd: process.execPath,
        args: ['--import', 'tsx', 'scripts/check-shape.ts'],
      },
    ],
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
// Two files at a time (--serial: one). The files that start a real node, the real ESO or the real
// CSI driver (they call test/harness's startReal* functions, directly or through test/e2e/fixture.ts's
// rigs) run first, one at a time and with nothing beside them: the machine has one real node (a lock
// makes a second one wait), and some of them pin what timing decides (realCsi: exactly two deliveries
// within a 60 s budget each), which a second file's CPU load broke once (unit files beside them,
// 2026-12-07). Then the other files: they wait mostly on their own control plane, PostgreSQL or
// emulator (free ports, their own temp dirs) or keep one core busy (unit files, last: they fill
// the gaps). docs/testing.md, "How npm test runs".
const runsAlone = (file) => existsSync(file) && /\bstartReal[A-Z]\w*\(/.test(readFileSync(file, 'utf8'));
const unitDir = join(root, suites.unit[0]) + '/';
// How long each file took last time (an ordering hint only), in the cache of the heavy builds.
const cache =
  process.env.ROTOR_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rotor');
const plan = {
  slots: rest.includes('--serial') ? 1 : 2,
  root,
  durations: join(cache, 'test-durations.json'),
  alone: [],
  shared: [],
  last: [],
};
// In path order (as node:test orders files).
for (const file of files.map((f) => resolve(root, f)).sort())
  plan[runsAlone(file) ? 'alone' : file.startsWith(unitDir) ? 'last' : 'shared'].push(file);
console.log(
  `\n▶ tests: ${files.length} files (${selected.join(', ')}), ${plan.slots} at a time: ${plan.alone.length} with a real node (alone, first), ${plan.shared.length} others, then ${plan.last.length} unit`,
);
// Nothing is printed after the runner's own summary: CI reads its closing lines.
const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', 'scripts/test-runner.mjs', JSON.stringify(plan)],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  },
);
process.exit(run.status ?? 1);
