// The table and Mermaid renderings of a Plan.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventContext } from '../../functions/core/decision';
import { DependencyIndex } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import type { Plan, PlannedDecision } from '../../functions/core/plan';
import { buildPlan, decideAll } from '../../functions/core/plan';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { renderMarkdown } from '../../functions/render/markdown';
import { renderMermaid } from '../../functions/render/mermaid';
import { renderTable } from '../../functions/render/table';
import { container, csiVolume, deployment, envFromKey, externalSecret, mount, spc, store } from './k8s';

const DB = 'projects/my-proj/secrets/db-password';
const projects = new ProjectMap();
const objects: KubeObject[] = [
  store('ClusterSecretStore', 'gcp', { projectID: 'my-proj' }),
  externalSecret('creds', {
    secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
    data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
  }),
  spc('db', [{ resourceName: `${DB}/versions/latest`, path: 'pw' }]),
  spc('pinned', [{ resourceName: `${DB}/versions/2`, path: 'pw' }]),
  deployment('zeta', {
    containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
    volumes: [csiVolume('s', 'pinned')],
  }),
  deployment('api', { containers: [container('app', { env: [envFromKey('PW', 'creds', 'pw')] })] }),
  deployment(
    'web',
    { containers: [container('app', { volumeMounts: [mount('s', '/s')] })], volumes: [csiVolume('s', 'db')] },
    { annotations: { 'rotor.dev/reload-endpoint': '8080/reload' } },
  ),
  deployment('sdk', {}, { annotations: { 'rotor.dev/secrets': DB, 'rotor.dev/reload-endpoint': '9000' } }),
];

function planFor(
  objs: KubeObject[],
  event: EventContext,
  clusters = ['prod'],
): { plan: Plan; decisions: PlannedDecision[] } {
  const decisions = clusters.flatMap((c) =>
    decideAll(new DependencyIndex(inventoryFrom(c, objs), { projects }), event),
  );
  return { plan: buildPlan(event, decisions, projects), decisions };
}
const ADD: EventContext = { type: 'SECRET_VERSION_ADD', secret: parseSecretName(DB).id, version: '7' };

describe('renderTable', () => {
  it('one aligned row per workload, strongest actions first, then by namespace and name, and a summary', () => {
    const out = renderTable(planFor(objects, ADD).plan);
    assert.equal(
      out,
      [
        `SECRET_VERSION_ADD ${DB} version 7`,
        'ACTION   WAVE  WORKLOAD              VIA         REASON',
        'RESTART  100   Deployment/shop/api   env         env PW (key pw) in app (Secret creds from ExternalSecret creds) only changes when the pod restarts',
        'RELOAD   100   Deployment/shop/sdk   annotation  the app reads projects/my-proj/secrets/db-password through the Secret Manager API and refreshes its cache on POST 9000/',
        'RELOAD   100   Deployment/shop/web   csi         CSI file pw in app updates in place; the app re-reads it on POST 8080/reload',
        'NONE     -     Deployment/shop/zeta  csi         CSI file pw in app is pinned to version 2; a new version 7 does not change it',
        '4 dependent workloads: 1 restart, 2 reload, 1 none',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing depends on the secret, and prints problems as notes', () => {
    const plan = buildPlan(
      { ...ADD, version: undefined, secret: parseSecretName('projects/my-proj/secrets/unused').id },
      [],
      projects,
      ['Deployment shop/x: SecretProviderClass shop/y (volume v) was not found'],
    );
    assert.equal(
      renderTable(plan),
      [
        'SECRET_VERSION_ADD projects/my-proj/secrets/unused',
        'No workload depends on this secret.',
        'note: Deployment shop/x: SecretProviderClass shop/y (volume v) was not found',
        '',
      ].join('\n'),
    );
  });

  it('prints warnings after the rows', () => {
    const out = renderTable(planFor(objects, { ...ADD, type: 'SECRET_VERSION_DISABLE', version: '2' }).plan);
    assert.match(
      out,
      /\nWARNING Deployment\/shop\/zeta: version 2 of projects\/my-proj\/secrets\/db-password was disabled but CSI file pw in app still pins it/,
    );
    assert.match(out, /4 dependent workloads: 4 none\n/);
  });

  it('names the cluster when a plan spans several', () => {
    const out = renderTable(planFor(objects.slice(0, 6), ADD, ['eu', 'us']).plan);
    assert.match(out, /RESTART {2}100 {3}eu: Deployment\/shop\/api /);
    assert.match(out, /RESTART {2}100 {3}us: Deployment\/shop\/api /);
  });

  it("shows each restart's wave, lower waves first within an action; a bad wave is a warning", () => {
    const waved = (name: string, wave: string): KubeObject =>
      deployment(
        name,
        { containers: [container('app', { env: [envFromKey('PW', 'creds', 'pw')] })] },
        { annotations: { 'rotor.dev/wave': wave } },
      );
    const out = renderTable(
      planFor([...objects.slice(0, 2), waved('late', '7'), waved('canary', '0'), waved('odd', 'soon')], ADD)
        .plan,
    );
    const rows = out.split('\n').filter((l) => l.startsWith('RESTART'));
    assert.deepEqual(
      rows.map((r) => r.split(/\s+/).slice(0, 3)),
      [
        ['RESTART', '0', 'Deployment/shop/canary'],
        ['RESTART', '7', 'Deployment/shop/late'],
        ['RESTART', '100', 'Deployment/shop/odd'],
      ],
    );
    assert.match(
      out,
      /\nWARNING Deployment\/shop\/odd: rotor.dev\/wave "soon" is not a whole number from 0 to 99: the workload goes in the default wave \(100\)/,
    );
  });

  it('has no trailing spaces', () => {
    for (const line of renderTable(planFor(objects, ADD).plan).split('\n'))
      assert.equal(line, line.trimEnd());
  });
});

describe('renderMermaid', () => {
  it('a flowchart secret → SecretProviderClass / ExternalSecret → Secret → workload → action', () => {
    const { plan, decisions } = planFor(objects, ADD);
    const out = renderMermaid(plan, decisions);
    const lines = out.split('\n');
    assert.equal(lines[0], 'flowchart LR');
    assert.ok(lines.includes(`  n0(["${DB}<br/>version 7"])`));
    const node = (label: string): string => {
      const l = lines.find((x) => x.includes(`"${label}"`));
      assert.ok(l, `node ${label}`);
      return l.trim().split(/[[({]/)[0];
    };
    const es = node('ExternalSecret shop/creds');
    const secret = node('Secret shop/creds');
    const api = node('Deployment shop/api');
    const web = node('Deployment shop/web');
    const sdk = node('Deployment shop/sdk');
    const spcDb = node('SecretProviderClass shop/db');
    assert.ok(lines.includes(`  n0 --> ${es}`));
    assert.ok(lines.includes(`  ${es} --> ${secret}`));
    assert.ok(lines.includes(`  ${secret} -- env --> ${api}`));
    assert.ok(lines.includes(`  n0 --> ${spcDb}`));
    assert.ok(lines.includes(`  ${spcDb} -- csi --> ${web}`));
    assert.ok(lines.includes(`  n0 -- annotation --> ${sdk}`));
    // Each workload points at its action node, styled by class.
    const actionOf = (w: string): string => lines.find((l) => l.startsWith(`  ${w} --> `))!.split(' --> ')[1];
    assert.match(
      lines.find((l) => l.startsWith(`  ${actionOf(api)}((`))!,
      /\(\("RESTART"\)\)/,
    );
    assert.ok(lines.includes(`  class ${actionOf(api)} restart`));
    assert.ok(lines.includes(`  class ${actionOf(web)} reload`));
    assert.ok(out.includes('  classDef wait fill:#fff3cd,stroke:#856404\n'));
    assert.ok(out.endsWith('  classDef manual fill:#e2d9f3,stroke:#4b2a86\n'));
    // Every declared edge connects declared nodes.
    const declared = new Set(
      lines.filter((l) => /^ {2}n\d+[[({]/.test(l)).map((l) => l.trim().split(/[[({]/)[0]),
    );
    for (const e of lines.filter((l) => l.includes('-->'))) {
      for (const n of e.match(/n\d+/g) ?? []) assert.ok(declared.has(n), `${n} in "${e}" is declared`);
    }
  });

  it('escapes quotes in labels and keeps clusters apart', () => {
    const { plan, decisions } = planFor(objects.slice(0, 6), ADD, ['eu', 'us']);
    const out = renderMermaid({ ...plan, secret: 'a "quoted" name' }, decisions);
    assert.match(out, /a #quot;quoted#quot; name/);
    assert.match(out, /"eu: Deployment shop\/api"/);
    assert.match(out, /"us: Deployment shop\/api"/);
    assert.match(out, /"eu: ExternalSecret shop\/creds"/);
    assert.match(out, /"us: ExternalSecret shop\/creds"/);
  });
});

describe('renderMarkdown', () => {
  it('keeps each value in its cell: pipes escaped, line breaks as <br>, backquotes out of code spans', () => {
    const { plan, decisions } = planFor(objects, ADD);
    const first = plan.workloads[0];
    assert.ok(first);
    const odd: Plan = {
      ...plan,
      workloads: [{ ...first, name: 'a`b', reason: 'one | two\nthree', warning: 'w | x' }],
      problems: ['p | q'],
    };
    const out = renderMarkdown(odd, decisions.slice(0, 1));
    assert.match(out, /\| `Deployment\/shop\/a'b` \| [a-zA-Z, ]+ \| one \\\| two<br>three \|\n/);
    assert.match(out, /\n- `Deployment\/shop\/a'b`: w \\\| x\n/);
    assert.match(out, /\n- p \\\| q\n/);
  });

  it('no dependents: says so, and draws no flowchart', () => {
    const { plan, decisions } = planFor([], ADD);
    assert.equal(
      renderMarkdown(plan, decisions),
      '### Rotor plan: SECRET_VERSION_ADD `projects/my-proj/secrets/db-password` version 7\n\nNo workload depends on this secret.\n',
    );
  });
});

describe('tenant text cannot drive the terminal or the pull-request comment', () => {
  // Offline manifests are not validated by an API server: a name may hold any character.
  const hostile = [
    ...objects.slice(0, 2),
    deployment(
      'odd\u001b[8m',
      { containers: [container('app', { env: [envFromKey('PW', 'creds', 'pw')] })] },
      { annotations: { 'rotor.dev/wave': '\u001b[1A\u001b[2K\u001b[8m' } },
    ),
  ];

  it('table: control characters are shown as escapes, and the summary line survives', () => {
    assert.equal(
      renderTable(planFor(hostile, ADD).plan),
      [
        'SECRET_VERSION_ADD projects/my-proj/secrets/db-password version 7',
        'ACTION   WAVE  WORKLOAD                    VIA  REASON',
        'RESTART  100   Deployment/shop/odd\\x1b[8m  env  env PW (key pw) in app (Secret creds from ExternalSecret creds) only changes when the pod restarts',
        '1 dependent workload: 1 restart',
        'WARNING Deployment/shop/odd\\x1b[8m: rotor.dev/wave "\\x1b[1A\\x1b[2K\\x1b[8m" is not a whole number from 0 to 99: the workload goes in the default wave (100)',
        '',
      ].join('\n'),
    );
  });

  it('table: bidi overrides in a note are shown as escapes too', () => {
    const { plan } = planFor(objects, ADD);
    assert.match(
      renderTable({ ...plan, problems: ['file \u202etxt.exe'] }),
      /\nnote: file \\u202etxt\.exe\n$/,
    );
  });

  it('markdown: HTML and Markdown in tenant text render as text', () => {
    const { plan, decisions } = planFor(objects, ADD);
    const first = plan.workloads[0];
    assert.ok(first);
    const out = renderMarkdown(
      {
        ...plan,
        workloads: [
          {
            ...first,
            name: 'a|b\u001b',
            reason: '<img src=x onerror=alert(1)> **bold** [x](http://e.invalid) _i_ `c` ~s~ a\\b &amp; #1 !',
            warning: '<script>',
          },
        ],
      },
      decisions.slice(0, 1),
    );
    const row = out.split('\n').find((l) => l.startsWith('| **'));
    assert.equal(
      row,
      '| **NONE** | - | `Deployment/shop/a\\|b\\x1b` | csi | &lt;img src=x onerror=alert(1)&gt; \\*\\*bold\\*\\* \\[x\\](http://e.invalid) \\_i\\_ \\`c\\` \\~s\\~ a\\\\b &amp;amp; \\#1 \\! |',
    );
    assert.ok(out.includes('\n- `Deployment/shop/a\\|b\\x1b`: &lt;script&gt;\n'));
    assert.ok(!out.includes('\u001b'), 'no escape character anywhere, the flowchart included');
  });
});
