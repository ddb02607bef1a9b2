// Golden test of `rotor plan` on infra/examples/ (one workload per consumption mode, side by side).
//
// The expected outputs are committed in test/unit/golden/: examples-plan.json (--output json),
// examples-plan.txt (the table) and examples-plan.mmd (--output mermaid). The comparison is exact.
// After an intended change, regenerate them and review the diff before committing:
//
//   UPDATE_GOLDEN=1 node scripts/test.mjs unit test/unit/golden.test.ts
//
// Besides the exact comparison, the test states what shared/DESIGN.md prescribes for each sample
// workload, so a regenerated golden file cannot silently bless a wrong action.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CliIo } from '../../functions/cli/io';
import { main } from '../../functions/cli/main';
import type { Plan } from '../../functions/core/plan';

const GOLDEN = join(__dirname, 'golden');
const ARGS = [
  'plan',
  '--secret',
  'projects/my-proj/secrets/db-password',
  '--version',
  '7',
  '--manifests',
  'infra/examples',
  '--project-map',
  'my-proj=123456789012',
];
const update = process.env.UPDATE_GOLDEN === '1';

async function plan(output: string): Promise<string> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env: {},
  };
  const code = await main([...ARGS, '--output', output], io);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
  return stdout;
}

function golden(file: string, actual: string): void {
  const path = join(GOLDEN, file);
  if (update) writeFileSync(path, actual);
  assert.equal(
    actual,
    readFileSync(path, 'utf8'),
    `${file} differs; if the change is intended: UPDATE_GOLDEN=1 node scripts/test.mjs unit test/unit/golden.test.ts`,
  );
}

/** What shared/DESIGN.md prescribes for each sample workload when db-password gets version 7. */
const PRESCRIBED: Record<string, { action: string; via: string[] }> = {
  'Deployment/api': { action: 'restart', via: ['env'] }, // env from the ESO-synced Secret
  'StatefulSet/orders-db-client': { action: 'restart', via: ['envFrom'] }, // envFrom, dataFrom extract
  'Deployment/web': { action: 'reload', via: ['csi'] }, // GKE add-on CSI file + reload endpoint
  'DaemonSet/log-shipper': { action: 'none', via: ['csi'] }, // OSS driver, on-rotate: none
  'Deployment/legacy': { action: 'restart', via: ['subPath'] }, // CSI file through subPath
  'Deployment/migrator': { action: 'restart', via: ['init'] }, // only an init container reads it
  'CronJob/nightly-report': { action: 'restart', via: ['env', 'csi'] }, // CSI-synced Secret in env: strongest wins
  'Deployment/pinned': { action: 'none', via: ['csi'] }, // pinned to version 3
  'Deployment/alias-follower': { action: 'none', via: ['csi'] }, // alias "current" did not move
  'Deployment/sdk-app': { action: 'none', via: ['annotation'] }, // Secret Manager API, no endpoint
  'Deployment/sdk-cache': { action: 'reload', via: ['annotation'] }, // API (by project number) + endpoint
  'Deployment/config-watcher': { action: 'reload', via: ['volume'] }, // secret volume + endpoint
  'Deployment/report-worker': { action: 'restart', via: ['volume'] }, // projected volume, no endpoint
  'Rollout/checkout': { action: 'restart', via: ['env'] }, // Argo Rollout, env
  'Deployment/experimental': { action: 'none', via: ['envFrom'] }, // rotor.dev/ignore
};
/** Sample workloads that must not appear: they do not read this secret. */
const NOT_DEPENDENT = [
  'Deployment/token-client', // reads only API_TOKEN from the same synced Secret
  'Deployment/billing', // same secret name, another project's store
  'Deployment/eu-api', // the regional secret of the same name
  'Deployment/static-site', // no secret at all
];

describe('golden: rotor plan on infra/examples', () => {
  it('JSON', async () => {
    const out = await plan('json');
    golden('examples-plan.json', out);
    const parsed = JSON.parse(out) as Plan;
    const got = Object.fromEntries(
      parsed.workloads.map((w) => [
        `${w.kind}/${w.name}`,
        { action: w.action, via: [...new Set(w.dependencies.map((d) => d.via))] },
      ]),
    );
    assert.deepEqual(got, PRESCRIBED);
    for (const w of NOT_DEPENDENT) assert.ok(!(w in got), `${w} must not be listed`);
    assert.equal(parsed.problems, undefined, 'the samples resolve completely');
  });

  it('table', async () => {
    golden('examples-plan.txt', await plan('table'));
  });

  it('mermaid', async () => {
    golden('examples-plan.mmd', await plan('mermaid'));
  });
});
