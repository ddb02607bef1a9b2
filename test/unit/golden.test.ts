// Golden test of `rotor plan` on infra/examples/ (one workload per consumption mode, side by side).
//
// The expected outputs are committed in test/unit/golden/: examples-plan.json (--output json),
// examples-plan.txt (the table) and examples-plan.mmd (--output mermaid). The comparison is exact.
// After an intended change, regenerate them and review the diff before committing:
//
//   UPDATE_GOLDEN=1 node scripts/test.mjs unit test/unit/golden.test.ts
//
// The generated files are a readability check only: regenerating them can bless anything. What
// pins the behaviour is written by hand below, from shared/DESIGN.md and the sample manifests:
// each workload's action, the facts its reason must name (the dependency that drove it), and the
// edges of the mermaid graph. A regenerated file that disagrees with these fails the test.
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
  'Deployment/ledger': { action: 'manual', via: ['env'] }, // rotor.dev/on-rotate: manual
  'Pod/debug-shell': { action: 'manual', via: ['envFrom'] }, // a bare Pod
  'Job/schema-migrate': { action: 'manual', via: ['env'] }, // a Job no CronJob owns
  'Deployment/bootstrapper': { action: 'restart', via: ['env'] }, // ESO CreatedOnce: restart, with a warning
  'Deployment/monthly-reports': { action: 'restart', via: ['env'] }, // ClusterExternalSecret, expanded into shop
  'Deployment/billing-worker': { action: 'restart', via: ['env'] }, // GKE secret sync (SecretSync), env
};
/**
 * The facts each reason must state: the dependency that drove the decision (its kind, name and
 * container, and the object it comes through), and why. Written by hand from infra/examples.
 */
const REASON_FACTS: Record<string, readonly string[]> = {
  'Deployment/api': [
    'env DB_PASSWORD',
    'in app',
    'Secret db-credentials',
    'ExternalSecret db-credentials',
    'only changes when the pod restarts',
  ],
  'StatefulSet/orders-db-client': [
    'envFrom',
    'in app',
    'Secret db-config',
    'ExternalSecret db-config',
    'only changes when the pod restarts',
  ],
  'Deployment/web': ['CSI file db-password.txt', 'in app', 'updates in place', 'POST 8080/-/reload'],
  'DaemonSet/log-shipper': ['rotor.dev/on-rotate: none', 'CSI file password', 'in shipper'],
  'Deployment/legacy': ['CSI file db-password.txt', 'subPath', 'only changes when the pod restarts'],
  'Deployment/migrator': ['init container', 'env DB_PASSWORD', 'in migrate', 'ExternalSecret db-credentials'],
  'CronJob/nightly-report': [
    'env DB_PASSWORD',
    'in report',
    'Secret db-password-synced',
    'SecretProviderClass db-password-oss',
    'only changes when the pod restarts',
  ],
  'Deployment/pinned': ['CSI file db-password.txt', 'pinned to version 3', 'version 7'],
  'Deployment/alias-follower': ['CSI file db-password.txt', 'alias "current"', 'does not move'],
  'Deployment/sdk-app': [
    'projects/my-proj/secrets/db-password',
    'Secret Manager API',
    'no rotor.dev/reload-endpoint',
  ],
  'Deployment/sdk-cache': [
    'projects/my-proj/secrets/db-password',
    'Secret Manager API',
    'POST 8080/admin/reload',
  ],
  'Deployment/config-watcher': [
    'volume db at /etc/db',
    'in app',
    'Secret db-credentials',
    'updates in place',
    'POST 8080/reload',
  ],
  'Deployment/report-worker': [
    'volume config at /etc/worker',
    'in worker',
    'Secret db-config',
    'no rotor.dev/reload-endpoint',
  ],
  'Rollout/checkout': [
    'env DB_PASSWORD',
    'in app',
    'ExternalSecret db-credentials',
    'only changes when the pod restarts',
  ],
  'Deployment/experimental': ['rotor.dev/ignore: "true"'],
  'Deployment/ledger': [
    'rotor.dev/on-rotate: manual',
    'rotor apply --workload shop/ledger',
    'it would restart',
    'env DB_PASSWORD',
  ],
  'Pod/debug-shell': [
    'a bare Pod keeps the old value until it is replaced',
    'it would restart',
    'envFrom in shell',
  ],
  'Deployment/billing-worker': [
    'env DB_PASSWORD',
    'in worker',
    'Secret db-synced from SecretSync db-synced',
    'only changes when the pod restarts',
  ],
  'Deployment/monthly-reports': ['env DB_PASSWORD', 'Secret db-shared', 'only changes when the pod restarts'],
  'Deployment/bootstrapper': [
    'env DB_PASSWORD',
    'ExternalSecret db-bootstrap',
    'only changes when the pod restarts',
  ],
  'Job/schema-migrate': [
    'a running Job keeps the old value until its pods finish',
    'env DATABASE_PASSWORD',
    'in migrate',
  ],
};

/**
 * The mermaid graph's edges, by node label: how the secret reaches each workload (through which
 * ExternalSecret, SecretProviderClass and synced Secret, by which `via`), and each workload's action.
 */
const SECRET = 'projects/my-proj/secrets/db-password<br/>version 7';
const ES_CREDS = 'ExternalSecret shop/db-credentials';
const S_CREDS = 'Secret shop/db-credentials';
const ES_CONFIG = 'ExternalSecret shop/db-config';
const S_CONFIG = 'Secret shop/db-config';
const SPC_GKE = 'SecretProviderClass shop/db-password-gke';
const SPC_OSS = 'SecretProviderClass shop/db-password-oss';
const EDGES: readonly string[] = [
  `${SECRET} --> ${ES_CREDS}`,
  `${ES_CREDS} --> ${S_CREDS}`,
  `${S_CREDS} -- env --> Deployment shop/api`,
  `${S_CREDS} -- init --> Deployment shop/migrator`,
  `${S_CREDS} -- env --> Rollout shop/checkout`,
  `${S_CREDS} -- volume --> Deployment shop/config-watcher`,
  `${S_CREDS} -- env --> Deployment shop/ledger`,
  `${S_CREDS} -- env --> Job shop/schema-migrate`,
  `${S_CONFIG} -- envFrom --> Pod shop/debug-shell`,
  `${SECRET} --> ExternalSecret shop/db-bootstrap`,
  `ExternalSecret shop/db-bootstrap --> Secret shop/db-bootstrap`,
  `Secret shop/db-bootstrap -- env --> Deployment shop/bootstrapper`,
  `${SECRET} --> ExternalSecret shop/db-shared`,
  `ExternalSecret shop/db-shared --> Secret shop/db-shared`,
  `Secret shop/db-shared -- env --> Deployment shop/monthly-reports`,
  `${SPC_GKE} --> SecretSync shop/db-synced`,
  `SecretSync shop/db-synced --> Secret shop/db-synced`,
  `Secret shop/db-synced -- env --> Deployment shop/billing-worker`,
  `${SECRET} --> ${ES_CONFIG}`,
  `${ES_CONFIG} --> ${S_CONFIG}`,
  `${S_CONFIG} -- envFrom --> StatefulSet shop/orders-db-client`,
  `${S_CONFIG} -- volume --> Deployment shop/report-worker`,
  `${S_CONFIG} -- envFrom --> Deployment shop/experimental`,
  `${SECRET} --> ${SPC_GKE}`,
  `${SPC_GKE} -- csi --> Deployment shop/web`,
  `${SPC_GKE} -- subPath --> Deployment shop/legacy`,
  `${SECRET} --> ${SPC_OSS}`,
  `${SPC_OSS} -- csi --> DaemonSet shop/log-shipper`,
  `${SPC_OSS} --> Secret shop/db-password-synced`,
  `Secret shop/db-password-synced -- env --> CronJob shop/nightly-report`,
  `${SPC_OSS} -- csi --> CronJob shop/nightly-report`,
  `${SECRET} --> SecretProviderClass shop/db-password-pinned`,
  `SecretProviderClass shop/db-password-pinned -- csi --> Deployment shop/pinned`,
  `${SECRET} --> SecretProviderClass shop/db-password-current`,
  `SecretProviderClass shop/db-password-current -- csi --> Deployment shop/alias-follower`,
  `${SECRET} -- annotation --> Deployment shop/sdk-app`,
  `${SECRET} -- annotation --> Deployment shop/sdk-cache`,
  ...Object.entries(PRESCRIBED).map(([w, p]) => {
    const [kind, name] = w.split('/');
    return `${kind} shop/${name} --> ${p.action.toUpperCase()}`;
  }),
];

/** The edges of a mermaid flowchart with node ids replaced by their labels. */
function mermaidEdges(text: string): string[] {
  const labels = new Map<string, string>();
  const edges: string[] = [];
  for (const line of text.split('\n')) {
    const node = /^ {2}(n\d+)[[({]+"(.*)"[\])}]+$/.exec(line);
    if (node) {
      labels.set(node[1], node[2]);
      continue;
    }
    const edge = /^ {2}(n\d+) (--> |-- (\w+) --> )(n\d+)$/.exec(line);
    if (!edge) continue;
    const label = (id: string): string => {
      const l = labels.get(id);
      assert.ok(l !== undefined, `edge to undeclared node ${id}`);
      return l;
    };
    edges.push(`${label(edge[1])} ${edge[3] ? `-- ${edge[3]} ` : ''}--> ${label(edge[4])}`);
  }
  return edges;
}

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
    for (const w of parsed.workloads) {
      const key = `${w.kind}/${w.name}`;
      const facts = REASON_FACTS[key];
      assert.ok(facts, `no hand-written reason facts for ${key}`);
      for (const fact of facts)
        assert.ok(w.reason.includes(fact), `${key}: reason "${w.reason}" must name ${fact}`);
    }
    assert.equal(parsed.problems, undefined, 'the samples resolve completely');
  });

  it('table', async () => {
    const out = await plan('table');
    golden('examples-plan.txt', out);
    // One row per workload: its action and the workload, as prescribed.
    for (const [w, p] of Object.entries(PRESCRIBED)) {
      const [kind, name] = w.split('/');
      const row = out.split('\n').find((l) => l.includes(` ${kind}/shop/${name} `));
      assert.ok(row, `the table lists ${w}`);
      assert.ok(row.startsWith(`${p.action.toUpperCase()} `), `${w}: ${row}`);
      for (const fact of REASON_FACTS[w] ?? []) assert.ok(row.includes(fact), `${w}: the row names ${fact}`);
    }
    assert.match(out, /^21 dependent workloads: 10 restart, 3 reload, 3 manual, 5 none$/m);
  });

  it('mermaid', async () => {
    const out = await plan('mermaid');
    golden('examples-plan.mmd', out);
    assert.deepEqual(new Set(mermaidEdges(out)), new Set(EDGES));
    assert.equal(mermaidEdges(out).length, EDGES.length, 'no edge is drawn twice');
  });
});
