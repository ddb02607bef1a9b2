// The Terraform in terraform/ against the real hashicorp/google provider schema: formatting,
// `init` + `validate` of the module and the root example, and the module's own `terraform test`
// suite (mocked provider, so no credentials: wiring, least-privilege grants and input validation).
//
// The provider comes from the local filesystem mirror built by scripts/terraform-mirror.sh;
// scripts/test.mjs runs it before the infra suite and passes its CLI config in ROTOR_TF_CLI_CONFIG.
// Run on its own (`node --import tsx --test test/infra/terraform.test.ts`), this file runs the
// script itself (it reuses the cached build).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ActingSettings } from '../../functions/config';
import { actingSettings } from '../../functions/config';
import { InputError } from '../../functions/errors';

const ROOT = resolve(__dirname, '..', '..');
const MODULE_DIR = join(ROOT, 'terraform', 'modules', 'rotor');
const EXAMPLE_DIR = join(ROOT, 'terraform', 'examples', 'basic');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One `terraform validate -json` diagnostic (the fields this test reads). */
interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  readonly detail?: string;
  readonly range?: { readonly filename: string; readonly start: { readonly line: number } };
}

interface ValidateOutput {
  readonly valid: boolean;
  readonly error_count: number;
  readonly warning_count: number;
  readonly diagnostics: readonly Diagnostic[];
}

function isValidateOutput(v: unknown): v is ValidateOutput {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.valid === 'boolean' && typeof o.error_count === 'number' && typeof o.warning_count === 'number' && Array.isArray(o.diagnostics);
}

function formatDiagnostics(diags: readonly Diagnostic[]): string {
  return diags
    .map((d) => `${d.severity}: ${d.summary}${d.range ? ` (${d.range.filename}:${d.range.start.line})` : ''}${d.detail ? `\n  ${d.detail}` : ''}`)
    .join('\n');
}

let cliConfig = '';
let terraformBin = 'terraform';
let dataRoot = '';

function mirrorConfig(): string {
  const fromRunner = process.env.ROTOR_TF_CLI_CONFIG;
  if (fromRunner) return fromRunner;
  // Not started through scripts/test.mjs: build or reuse the mirror the same way it would.
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'terraform-mirror.sh')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  assert.equal(r.status, 0, 'scripts/terraform-mirror.sh failed');
  const last = r.stdout.trim().split('\n').pop();
  assert.ok(last, 'scripts/terraform-mirror.sh printed no CLI config path');
  return last;
}

/** Runs terraform in `dir` against the local mirror; .terraform goes to a private data dir. */
function terraform(dir: string, args: readonly string[], dataDirName: string): Run {
  const dataDir = join(dataRoot, dataDirName);
  mkdirSync(dataDir, { recursive: true });
  const r = spawnSync(terraformBin, args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      TF_CLI_CONFIG_FILE: cliConfig,
      // Per-run data dir: concurrent test runs in one checkout must not share .terraform/.
      TF_DATA_DIR: dataDir,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      // Never let a developer's credentials or project leak into these credential-free checks.
      GOOGLE_APPLICATION_CREDENTIALS: '',
      GOOGLE_CLOUD_PROJECT: '',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOk(r: Run, what: string): void {
  assert.equal(r.status, 0, `${what} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

/** `terraform validate -json` in `dir`: its diagnostics, whatever they say. */
function validateOutput(dir: string, dataDirName: string): ValidateOutput & { readonly status: number | null; readonly stderr: string } {
  const r = terraform(dir, ['validate', '-json', '-no-color'], dataDirName);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    assert.fail(`terraform validate printed no JSON (exit ${r.status})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  assert.ok(isValidateOutput(parsed), `unexpected terraform validate output: ${r.stdout}\n${r.stderr}`);
  return { ...parsed, status: r.status, stderr: r.stderr };
}

/** `terraform validate` in `dir`, which must find nothing. */
function validate(dir: string, dataDirName: string): ValidateOutput {
  const out = validateOutput(dir, dataDirName);
  assert.equal(
    out.error_count + out.warning_count,
    0,
    `terraform validate in ${dir}: ${out.error_count} errors, ${out.warning_count} warnings\n${formatDiagnostics(out.diagnostics)}`,
  );
  assert.equal(out.valid, true);
  assert.equal(out.status, 0, `terraform validate exited ${out.status}\n${out.stderr}`);
  return out;
}

describe('terraform (against the locally built hashicorp/google provider)', () => {
  before(() => {
    cliConfig = mirrorConfig();
    assert.ok(existsSync(cliConfig), `CLI config ${cliConfig} does not exist`);
    // terraform-mirror.sh links the Terraform it found or built next to the config.
    const linked = join(dirname(cliConfig), 'bin', 'terraform');
    terraformBin = existsSync(linked) ? linked : 'terraform';
    const root = join(ROOT, '.rotor-tmp');
    mkdirSync(root, { recursive: true });
    dataRoot = mkdtempSync(join(root, 'terraform-'));
    const v = spawnSync(terraformBin, ['version'], { encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, CHECKPOINT_DISABLE: '1' } });
    console.log(`# ${v.stdout.trim().split('\n')[0] ?? 'terraform: version unknown'} (${terraformBin}); CLI config ${cliConfig}`);
  });

  after(() => {
    if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
  });

  it('is formatted (terraform fmt -check -recursive terraform/)', () => {
    const r = terraform(ROOT, ['fmt', '-check', '-recursive', '-diff', '-no-color', 'terraform'], 'fmt');
    assertOk(r, 'terraform fmt -check (run `terraform fmt -recursive terraform/` to fix)');
  });

  for (const [name, dir] of [
    ['the module (terraform/modules/rotor)', MODULE_DIR],
    ['the example root (terraform/examples/basic)', EXAMPLE_DIR],
  ] as const) {
    it(`${name}: init -backend=false and validate with no errors or warnings`, () => {
      const data = name.includes('module') ? 'module' : 'example';
      const init = terraform(dir, ['init', '-backend=false', '-input=false', '-no-color'], data);
      assertOk(init, `terraform init in ${dir}`);
      // The provider must have come from the mirror, at the version the mirror holds.
      assert.match(init.stdout, /Installed hashicorp\/google v8\.\d+\.\d+|Using previously-installed hashicorp\/google v8\.\d+\.\d+/);
      const out = validate(dir, data);
      assert.deepEqual(out.diagnostics, []);
    });
  }

  it('the module: terraform test (mocked provider) passes every run', () => {
    const init = terraform(MODULE_DIR, ['init', '-backend=false', '-input=false', '-no-color'], 'module');
    assertOk(init, 'terraform init (module)');
    const r = terraform(MODULE_DIR, ['test', '-no-color'], 'module');
    assertOk(r, 'terraform test');
    const summary = /Success! (\d+) passed, (\d+) failed/.exec(r.stdout);
    assert.ok(summary, `no summary line in terraform test output:\n${r.stdout}`);
    assert.equal(summary[2], '0');
    // Every run block must have executed (a run that is skipped would not count as passed).
    const runs = (r.stdout.match(/^\s+run "[^"]+"\.\.\. pass$/gm) ?? []).length;
    assert.equal(Number(summary[1]), runs, r.stdout);
    assert.ok(runs >= 15, `expected the module's test suite to have at least 15 runs, saw ${runs}\n${r.stdout}`);
    // Every suite ran: the module's wiring, its delivery budget and its monitoring (metrics, alerts, dashboard).
    const lines = r.stdout.split('\n').map((l) => l.trim());
    for (const file of ['tests/rotor.tftest.hcl', 'tests/budget.tftest.hcl', 'tests/monitoring.tftest.hcl'])
      assert.ok(lines.includes(`${file}... pass`), `${file} did not pass:\n${r.stdout}`);
    console.log(`# terraform test: ${summary[0]}`);
  });

  // The module's variables for settings functions/config.ts reads must refuse exactly what the
  // functions would refuse at start, at plan time, with the module's own message. One root calls
  // the module once per case with a literal value, and one `terraform validate` checks them all
  // (a run loads the provider's schema: ~10 s each on a busy machine); a diagnostic belongs to the
  // case whose argument line it points at.
  describe('settings the functions read: the module refuses what functions/config.ts refuses', () => {
    const messages = {
      csi_rotation_interval_seconds:
        "csi_rotation_interval_seconds must be a whole number of seconds, at least 1 (the CSI driver's rotation interval; GKE's default is 120).",
      kubelet_sync_seconds:
        "kubelet_sync_seconds must be a whole number of seconds from 1 to 600 (the kubelet's sync period; its default is 60).",
      group_window_seconds: 'group_window_seconds must be a whole number of seconds, at least 1.',
      group_wait_seconds: 'group_wait_seconds must be a whole number of seconds, at least 0 (0 turns secret groups off).',
    } as const;
    type Setting = keyof typeof messages;
    const envOf = {
      csi_rotation_interval_seconds: 'ROTOR_CSI_ROTATION_INTERVAL_SECONDS',
      kubelet_sync_seconds: 'ROTOR_KUBELET_SYNC_SECONDS',
      group_window_seconds: 'ROTOR_GROUP_WINDOW_SECONDS',
      group_wait_seconds: 'ROTOR_GROUP_WAIT_SECONDS',
    } as const;
    /** What the functions made of the setting, in milliseconds. */
    const readBack = {
      csi_rotation_interval_seconds: (a: ActingSettings) => a.csiRotationIntervalMs,
      kubelet_sync_seconds: (a: ActingSettings) => a.kubeletSyncMs,
      group_window_seconds: (a: ActingSettings) => a.groups.windowMs,
      group_wait_seconds: (a: ActingSettings) => a.groups.maxWaitMs,
    } as const;

    const refused: ReadonlyArray<readonly [Setting, string]> = [
      ['csi_rotation_interval_seconds', '0'],
      ['csi_rotation_interval_seconds', '120.5'],
      ['kubelet_sync_seconds', '0'],
      ['kubelet_sync_seconds', '601'],
      ['kubelet_sync_seconds', '59.5'],
      ['group_window_seconds', '0'],
      ['group_wait_seconds', '-1'],
      ['group_wait_seconds', '0.5'],
    ];
    // The edges the functions accept; each reaches them as its value in milliseconds.
    const accepted: ReadonlyArray<readonly [Setting, string, number]> = [
      ['csi_rotation_interval_seconds', '1', 1_000],
      ['kubelet_sync_seconds', '1', 1_000],
      ['kubelet_sync_seconds', '600', 600_000],
      ['group_window_seconds', '1', 1_000],
      ['group_wait_seconds', '0', 0],
    ];
    const cases = [...refused, ...accepted].map(([variable, value]) => ({ variable, value }));
    /** The line of main.tf holding case i's argument: each module block is 7 lines, the argument its 6th. */
    const lineOf = (i: number): number => i * 7 + 6;
    let out: ValidateOutput;
    const diagnosticsOf = (i: number): readonly Diagnostic[] =>
      out.diagnostics.filter((d) => d.range?.filename === 'main.tf' && d.range.start.line === lineOf(i));

    before(() => {
      const root = join(dataRoot, 'settings-root');
      mkdirSync(root, { recursive: true });
      const blocks = cases.map(({ variable, value }, i) =>
        [
          `module "case_${i}" {`,
          `  source              = ${JSON.stringify(MODULE_DIR)}`,
          '  project_id          = "my-proj-123"',
          '  region              = "europe-west1"',
          `  function_source_zip = ${JSON.stringify(join(MODULE_DIR, 'tests', 'fixtures', 'function.zip'))}`,
          `  ${variable} = ${value}`,
          '}',
        ].join('\n'),
      );
      writeFileSync(join(root, 'main.tf'), `${blocks.join('\n')}\n`);
      assertOk(terraform(root, ['init', '-backend=false', '-input=false', '-no-color'], 'settings'), 'terraform init (settings root)');
      out = validateOutput(root, 'settings');
    });

    it('every diagnostic belongs to a refused case, one each', () => {
      assert.equal(out.valid, false);
      assert.equal(out.error_count, refused.length, formatDiagnostics(out.diagnostics));
      assert.equal(out.warning_count, 0, formatDiagnostics(out.diagnostics));
    });

    refused.forEach(([variable, value], i) => {
      it(`${variable} = ${value}: refused at plan time with its message, as the functions refuse ${envOf[variable]}="${value}"`, () => {
        const diags = diagnosticsOf(i);
        assert.equal(diags.length, 1, `case ${i}:\n${formatDiagnostics(out.diagnostics)}`);
        assert.equal(diags[0].summary, 'Invalid value for variable');
        assert.ok(diags[0].detail?.startsWith(messages[variable]), `the message of ${variable}:\n${formatDiagnostics(diags)}`);
        assert.throws(() => actingSettings({ [envOf[variable]]: value }), InputError);
      });
    });

    accepted.forEach(([variable, value, ms], j) => {
      it(`${variable} = ${value}: accepted, as the functions accept ${envOf[variable]}="${value}"`, () => {
        assert.deepEqual(diagnosticsOf(refused.length + j), []);
        assert.equal(readBack[variable](actingSettings({ [envOf[variable]]: value })), ms);
      });
    });
  });
});
