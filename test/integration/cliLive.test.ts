// The kubectl-shaped live CLI on the real local API server: no --kubeconfig means $KUBECONFIG and
// its current context, -n narrows to one namespace, -l is sent to the API server as labelSelector,
// for plan and for apply (server-side dry run).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CliIo } from '../../functions/cli/io';
import { main } from '../../functions/cli/main';
import { REPO_ROOT, applyManifests, installCrds, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';

const SECRET = 'projects/my-proj/secrets/db-password';

function capture(env: NodeJS.ProcessEnv): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    stdout: (s: string) => void (io.out += s),
    stderr: (s: string) => void (io.err += s),
  };
  return io;
}

/** An app that reads the secret through the Secret Manager API (rotor.dev/secrets), with labels. */
const reader = (name: string, namespace: string, tier: string): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n  labels: {tier: ${tier}}\n  annotations: {rotor.dev/secrets: "${SECRET}", rotor.dev/reload-endpoint: "8080/reload"}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec: {containers: [{name: app, image: example.com/app}]}\n`;

describe('live CLI flags (kubectl-shaped)', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    for (const ns of ['shop', 'team-a', 'team-b'])
      await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    for (const f of ['30-secret-provider-classes', '10-secret-stores', '20-external-secrets', '40-workloads'])
      await applyManifests(kc, join(REPO_ROOT, 'infra', 'examples', `${f}.yaml`));
    await applyManifests(kc, reader('front', 'team-a', 'web'));
    await applyManifests(kc, reader('batch', 'team-a', 'jobs'));
    await applyManifests(kc, reader('other', 'team-b', 'web'));
    // No --kubeconfig anywhere below: the CLI finds it as kubectl does.
    env = { KUBECONFIG: cp.kubeconfigPathFor('rotor'), HOME: '/nonexistent' };
  });
  after(async () => {
    await cp?.stop();
  });

  type P = { workloads: Array<{ namespace: string; name: string; action: string }> };
  async function planned(...extra: string[]): Promise<string[]> {
    const io = capture(env);
    const code = await main(
      [
        'plan',
        '--secret',
        SECRET,
        '--version',
        '7',
        '--project-map',
        'my-proj=123456789012',
        '-o',
        'json',
        ...extra,
      ],
      io,
    );
    assert.equal(code, 0, io.err);
    return (JSON.parse(io.out) as P).workloads.map((w) => `${w.namespace}/${w.name}`).sort();
  }

  it('plan: $KUBECONFIG and its current context; -n and -l narrow what is planned', async () => {
    const all = await planned();
    assert.ok(
      all.includes('shop/api') && all.includes('team-a/front') && all.includes('team-b/other'),
      all.join(' '),
    );
    assert.deepEqual(await planned('-A'), all);
    assert.deepEqual(await planned('-n', 'team-a'), ['team-a/batch', 'team-a/front']);
    assert.deepEqual(await planned('-l', 'tier=web'), ['team-a/front', 'team-b/other']);
    assert.deepEqual(await planned('-n', 'team-a', '-l', 'tier in (web)'), ['team-a/front']);
    const bad = capture(env);
    assert.equal(await main(['plan', '--secret', SECRET, '--context', 'nope'], bad), 2);
    assert.match(bad.err, /kubeconfig has no context "nope"/);
  });

  it('apply --dry-run: -n and -l choose the workloads acted on', async () => {
    const io = capture(env);
    const code = await main(
      [
        'apply',
        '--secret',
        SECRET,
        '--version',
        '7',
        '--project-map',
        'my-proj=123456789012',
        '--dry-run',
        '-n',
        'team-a',
        '-l',
        'tier=jobs',
        '-o',
        'json',
      ],
      io,
    );
    const outcome = JSON.parse(io.out) as {
      dryRun?: boolean;
      workloads: Array<{ namespace: string; name: string }>;
    };
    assert.deepEqual(
      outcome.workloads.map((w) => `${w.namespace}/${w.name}`),
      ['team-a/batch'],
      io.err,
    );
    assert.ok(code === 0 || code === 1, io.err);
  });
});
