// Every file of infra/examples/ is planned here, and what each of its workloads must get is
// written below by hand, from the comment above the workload in the file (the README's CLI tour
// shows the same plan): the examples cannot drift from behaviour without this test failing.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import type { CliIo } from '../../functions/cli/io';
import { main } from '../../functions/cli/main';
import type { Plan } from '../../functions/core/plan';

const EXAMPLES = join(__dirname, '../../infra/examples');
type Action = 'restart' | 'reload' | 'none' | 'manual';

/**
 * Per file: each workload it defines, as `Kind/namespace/name`, with what a new version 7 of
 * projects/my-proj/secrets/db-password does to it, or `unaffected` (not a dependent: not in the plan).
 * Files without workloads map to {} (stores, ExternalSecrets, classes: planned through the others).
 */
const EXPECTED: Record<string, Record<string, Action | 'unaffected'>> = {
  '00-namespace.yaml': {},
  '10-secret-stores.yaml': {},
  '20-external-secrets.yaml': {},
  '30-secret-provider-classes.yaml': {},
  '40-workloads.yaml': {
    'Deployment/shop/api': 'restart', // env from the ESO-synced Secret
    'StatefulSet/shop/orders-db-client': 'restart', // envFrom the whole synced Secret
    'Deployment/shop/token-client': 'unaffected', // reads only API_TOKEN
    'Deployment/shop/web': 'reload', // GKE CSI volume, POST :8080/-/reload
    'DaemonSet/shop/log-shipper': 'none', // watches the file itself (on-rotate: none)
    'Deployment/shop/legacy': 'restart', // subPath never updates
    'Deployment/shop/migrator': 'restart', // only an init container reads it
    'CronJob/shop/nightly-report': 'restart', // the CSI driver's synced Secret
    'Deployment/shop/pinned': 'none', // pinned to version 3
    'Deployment/shop/alias-follower': 'none', // follows alias "current", which did not move
    'Deployment/shop/sdk-app': 'none', // calls the API on every use
    'Deployment/shop/sdk-cache': 'reload', // caches: a reload clears it
    'Rollout/shop/checkout': 'restart', // env from the synced Secret
    'Deployment/shop/config-watcher': 'reload', // secret volume updated in place, POST :8080/reload
    'Deployment/shop/report-worker': 'restart', // projected volume, no way to re-read it declared
    'Deployment/shop/billing': 'unaffected', // same name, another project
    'Deployment/shop/eu-api': 'unaffected', // the regional secret of the same name
    'Deployment/shop/experimental': 'none', // rotor.dev/ignore
    'Deployment/shop/static-site': 'unaffected', // no Secret Manager secret
  },
  '50-manual.yaml': {
    'Deployment/shop/ledger': 'manual', // rotor.dev/on-rotate: manual
    'Pod/shop/debug-shell': 'manual', // a bare Pod
    'Job/shop/schema-migrate': 'manual', // a Job no CronJob owns
  },
  '60-refresh-once.yaml': {
    'Deployment/shop/bootstrapper': 'restart', // restart, with a warning: ESO never refreshes it
  },
  '70-cluster-external-secret.yaml': {
    'Deployment/shop/monthly-reports': 'restart', // env from the ClusterExternalSecret's child
  },
  '80-gke-secret-sync.yaml': {
    'Deployment/shop/billing-worker': 'restart', // env from GKE's SecretSync
  },
};

const WORKLOAD_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'CronJob',
  'Job',
  'Pod',
  'Rollout',
]);

/** The workloads a file defines, as `Kind/namespace/name`, read from the YAML itself. */
function workloadsIn(file: string): string[] {
  return loadAll(readFileSync(join(EXAMPLES, file), 'utf8')).flatMap((doc) => {
    const o = doc as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    if (!o?.kind || !WORKLOAD_KINDS.has(o.kind)) return [];
    return [`${o.kind}/${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`];
  });
}

async function planExamples(): Promise<{ plan: Plan; stderr: string }> {
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
  const args = ['plan', '--secret', 'projects/my-proj/secrets/db-password', '--version', '7'];
  args.push('--manifests', EXAMPLES, '--project-map', 'my-proj=123456789012', '-o', 'json');
  const code = await main(args, io);
  assert.equal(code, 0, stderr);
  return { plan: JSON.parse(stdout) as Plan, stderr };
}

describe('infra/examples: every file planned, every decision written by hand', () => {
  it('every file of infra/examples has its expectations here, and every workload in it is listed', () => {
    const files = readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f));
    assert.deepEqual(files.sort(), Object.keys(EXPECTED).sort());
    for (const file of files) {
      assert.deepEqual(workloadsIn(file).sort(), Object.keys(EXPECTED[file]).sort(), file);
    }
  });

  it('plans each workload as its file says, and nothing else', async () => {
    const { plan } = await planExamples();
    const planned = new Map(plan.workloads.map((w) => [`${w.kind}/${w.namespace}/${w.name}`, w.action]));
    const expected = new Map(
      Object.values(EXPECTED).flatMap((byWorkload) =>
        Object.entries(byWorkload).filter((e): e is [string, Action] => e[1] !== 'unaffected'),
      ),
    );
    assert.deepEqual(
      [...planned.entries()].sort(([a], [b]) => a.localeCompare(b)),
      [...expected.entries()].sort(([a], [b]) => a.localeCompare(b)),
    );
    assert.equal(planned.size, 21);
  });

  it('warns that the CreatedOnce ExternalSecret will not bring version 7 to its workload', async () => {
    const { plan } = await planExamples();
    const bootstrapper = plan.workloads.find((w) => w.name === 'bootstrapper');
    assert.match(bootstrapper?.warning ?? '', /refreshPolicy CreatedOnce.*will not see version 7/);
  });
});
