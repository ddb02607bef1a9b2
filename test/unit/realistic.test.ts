// `rotor plan` on test/fixtures/realistic/: manifests in the shapes real projects publish (GKE
// add-on and OSS-driver classes, ESO with cluster stores, stores in other projects and regions,
// templates, find, Helm output, kubectl exports with kind: List, JSON, aliases, pinned versions,
// subPath mounts, init containers, Rollouts with workloadRef). For each event, the action
// shared/DESIGN.md prescribes for every workload, and nothing else listed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CliIo } from '../../functions/cli/io';
import { main } from '../../functions/cli/main';
import type { Plan } from '../../functions/core/plan';

const FIXTURES = 'test/fixtures/realistic';
const MAP = 'acme-prod=482913574061,acme-data=773190448812';

async function plan(...args: string[]): Promise<{ plan: Plan; actions: Record<string, string> }> {
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
  const code = await main(
    ['plan', '--manifests', FIXTURES, '--project-map', MAP, '--output', 'json', ...args],
    io,
  );
  assert.equal(code, 0, stderr);
  const parsed = JSON.parse(stdout) as Plan;
  return {
    plan: parsed,
    actions: Object.fromEntries(
      parsed.workloads.map((w) => [`${w.kind}/${w.namespace}/${w.name}`, w.action]),
    ),
  };
}

describe('realistic manifests', () => {
  it('SECRET_VERSION_ADD of the global secret: every dependent with its prescribed action, nothing else', async () => {
    const { plan: p, actions } = await plan(
      '--secret',
      'projects/482913574061/secrets/payments-db-password',
      '--version',
      '42',
    );
    assert.equal(p.secret, 'projects/acme-prod/secrets/payments-db-password');
    assert.deepEqual(actions, {
      // GKE add-on (provider gke, path), resource names by project number
      'Deployment/payments/payments-api': 'reload', // CSI + reload endpoint on the pod template (named port)
      'Deployment/payments/payments-worker': 'restart', // the file through subPath
      'CronJob/payments/payments-reconcile': 'restart', // only the init container reads it
      'StatefulSet/payments/ledger': 'none', // pinned to version 12
      // OSS driver (provider gcp, fileName, secretObjects)
      'CronJob/legacy/nightly-export': 'restart', // env from the synced Secret (and the CSI volume)
      'Deployment/legacy/legacy-web': 'none', // rotor.dev/on-rotate: none
      'StatefulSet/legacy/legacy-queue': 'none', // alias "stable" does not move on a new version
      // External Secrets Operator
      'Deployment/checkout/checkout': 'restart', // DATABASE_URL built by an ESO template
      'Deployment/checkout/checkout-canary': 'none', // alias "canary"
      'DaemonSet/analytics/auditor': 'reload', // dataFrom find ^payments-, secret volume + endpoint
      // helm template output (no namespaces: "default")
      'Deployment/default/storefront': 'restart', // env db-password
      // Helm's test hook: a bare Pod that reads db-password from env keeps it until replaced.
      'Pod/default/storefront-test-connection': 'manual',
      // kubectl exports: JSON List, YAML List
      'Deployment/fraud/fraud-scorer': 'reload', // rotor.dev/secrets by number + endpoint
      'Rollout/pricing/pricing': 'restart', // workloadRef → Deployment template with envFrom
      'Deployment/pricing/pricing-template': 'restart', // the referenced Deployment itself
      'Rollout/pricing/search': 'none', // Secret Manager API, no endpoint
    });
    // Not listed, and why: the regional copy (eu-reporting), another key of a synced Secret
    // (legacy-admin, storefront-sessions), a subPath of another file (stripe-webhooks), Vault
    // (checkout-legacy), another project's store (etl), no secret (fraud-ui), a bare Pod (helm test).
    assert.equal(p.problems, undefined, `no unresolved references: ${JSON.stringify(p.problems)}`);
  });

  it('reasons name the dependency that drove them', async () => {
    const { plan: p } = await plan(
      '--secret',
      'projects/acme-prod/secrets/payments-db-password',
      '--version',
      '42',
    );
    const reason = (name: string) => p.workloads.find((w) => w.name === name)!.reason;
    assert.equal(
      reason('payments-worker'),
      'CSI file db-password mounted with subPath in worker only changes when the pod restarts',
    );
    assert.equal(
      reason('payments-reconcile'),
      'init container CSI file db-password in migrate only changes when the pod restarts',
    );
    assert.equal(
      reason('checkout'),
      'env DATABASE_URL (key DATABASE_URL) in checkout (Secret checkout-db from ExternalSecret checkout-db) only changes when the pod restarts',
    );
    assert.equal(
      reason('payments-api'),
      'CSI file db-password in api updates in place; the app re-reads it on POST admin/-/reload',
    );
    assert.equal(
      reason('ledger'),
      'CSI file db-password in ledger is pinned to version 12; a new version 42 does not change it',
    );
  });

  it('SECRET_UPDATE moving the aliases: only their consumers act', async () => {
    const { actions } = await plan(
      '--secret',
      'projects/acme-prod/secrets/payments-db-password',
      '--event',
      'SECRET_UPDATE',
      '--alias',
      'canary=43,stable=41',
    );
    const acting = Object.fromEntries(Object.entries(actions).filter(([, a]) => a !== 'none'));
    assert.deepEqual(acting, {
      'Deployment/checkout/checkout-canary': 'restart',
      'StatefulSet/legacy/legacy-queue': 'reload',
    });
  });

  it('SECRET_VERSION_DISABLE of the pinned version warns its consumer', async () => {
    const { plan: p } = await plan(
      '--secret',
      'projects/acme-prod/secrets/payments-db-password',
      '--event',
      'SECRET_VERSION_DISABLE',
      '--version',
      '12',
    );
    const ledger = p.workloads.find((w) => w.name === 'ledger')!;
    assert.equal(ledger.action, 'none');
    assert.match(
      ledger.warning!,
      /version 12 of projects\/acme-prod\/secrets\/payments-db-password was disabled but CSI file db-password in ledger still pins it/,
    );
    assert.ok(p.workloads.every((w) => w.action === 'none'));
  });

  it('the regional secret of the same name is another secret', async () => {
    const { actions } = await plan(
      '--secret',
      'projects/482913574061/locations/europe-west4/secrets/payments-db-password',
      '--version',
      '5',
    );
    assert.deepEqual(actions, {
      'Deployment/payments/eu-reporting': 'restart', // CSI, no endpoint
      'Deployment/analytics/etl': 'none', // the regional store, pinned to version 3
    });
  });

  it('the same name in the data project is another secret', async () => {
    const { actions } = await plan(
      '--secret',
      'projects/773190448812/secrets/payments-db-password',
      '--version',
      '8',
    );
    assert.deepEqual(actions, { 'Deployment/analytics/etl': 'restart' });
  });

  it('a secret nobody reads', async () => {
    const { plan: p } = await plan('--secret', 'projects/acme-prod/secrets/unused', '--version', '1');
    assert.deepEqual(p.workloads, []);
  });
});
