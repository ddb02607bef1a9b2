// `rotor status` on the real control plane: `rotor apply` restarts two Deployments through the
// pipeline, the real controller manager rolls them, the kubelet stand-in runs the new pods of one
// Ready and of the other in CrashLoopBackOff, and `rotor status` (as the least-privileged `rotor`
// user, list verbs only) reports one done and the other halted with its pods' reasons.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import type { Kubelet } from '../harness/kubelet';
import { subPathCsiDeployment } from '../harness/workloads';
import { podRestartedAt, startKubelet } from '../harness/kubelet';
import type { KubeObject } from '../../functions/core/kube';
import { main } from '../../functions/cli/main';
import type { CliIo } from '../../functions/cli/io';

const NS = 'status';
const SECRET = 'projects/my-proj/secrets/status-key';

interface StatusJson {
  secret: string;
  version: string;
  done: boolean;
  workloads: Array<{
    name: string;
    acted: { acted: string; version?: string };
    rollout: { health: string; reasons?: string[] };
    pods: Array<{ serves: string; pod: string }>;
    pending: { pending: string; reasons?: string[] };
  }>;
}

describe('rotor status on the real control plane', { timeout: 240_000 }, () => {
  let cp: ControlPlane;
  let kubelet: Kubelet;

  const deploymentStatus = async (name: string): Promise<Record<string, number>> => {
    const d = await cp.admin<KubeObject>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
    return (d.status ?? {}) as Record<string, number>;
  };
  const available = async (name: string): Promise<boolean> => {
    const s = await deploymentStatus(name);
    return s.updatedReplicas === 2 && s.availableReplicas === 2 && s.replicas === 2;
  };
  async function rotor(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: CliIo = { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {} };
    const code = await main([...args, '--kubeconfig', cp.kubeconfigPathFor('rotor')], io);
    return { code, out, err };
  }

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    // Pods of `bad` that Rotor's restart created crashloop; every other pod runs Ready.
    kubelet = await startKubelet(cp, {
      namespace: NS,
      pollMs: 100,
      policy: (pod) =>
        pod.metadata.labels?.app === 'bad' && podRestartedAt(pod) !== undefined
          ? { kind: 'crashloop', restartCount: 3 }
          : { kind: 'ready' },
    });
    await cp.admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'keys' },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${SECRET}/versions/latest"\n  path: "f0.txt"\n` },
      },
    });
    for (const name of ['good', 'bad'])
      await cp.admin(
        'POST',
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        subPathCsiDeployment({ name, namespace: NS, spc: 'keys', replicas: 2 }),
      );
    for (const name of ['good', 'bad']) await waitFor(() => available(name), { what: `${name} available` });
  });

  after(async () => {
    await kubelet?.stop();
    await cp?.stop();
  });

  it('before Rotor acts: nothing recorded, so a version must be given, and then it is not acted on', async () => {
    const none = await rotor(['status', '--secret', SECRET]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no dependent of projects\/my-proj\/secrets\/status-key records a version/);
    const r = await rotor(['status', '--secret', SECRET, '--version', '7', '-o', 'json']);
    assert.equal(r.code, 1, r.err);
    const s = JSON.parse(r.out) as StatusJson;
    assert.deepEqual(
      s.workloads.map((w) => [w.name, w.pending.pending, w.pods.map((p) => p.serves)]),
      [
        ['bad', 'not-acted', ['older', 'older']],
        ['good', 'not-acted', ['older', 'older']],
      ],
    );
  });

  it('after a restart through the pipeline: one done, one halted with its pods’ reasons', async () => {
    const applied = await rotor(['apply', '--secret', SECRET, '--version', '7']);
    assert.notEqual(applied.code, 2, applied.err);
    await waitFor(() => available('good'), { what: 'good rolled out' });
    // The new ReplicaSet of `bad` has its surge pod, crashlooping (the controller keeps the old two).
    await waitFor(
      async () => {
        const r = await rotor(['status', '--secret', SECRET, '-o', 'json']);
        const ws = (JSON.parse(r.out) as StatusJson).workloads;
        // The controller's status of `good` settles a moment after its pods do.
        const pending = (name: string): string | undefined =>
          ws.find((w) => w.name === name)?.pending.pending;
        return pending('bad') === 'halted' && pending('good') === 'nothing';
      },
      { what: 'bad reported halted and good done' },
    );
    const r = await rotor(['status', '--secret', SECRET, '-o', 'json']);
    assert.equal(r.code, 1, r.err);
    const s = JSON.parse(r.out) as StatusJson;
    assert.equal(s.version, '7', 'the version defaults to the one recorded in rotor.dev/applied');
    assert.equal(s.done, false);
    const good = s.workloads.find((w) => w.name === 'good');
    const bad = s.workloads.find((w) => w.name === 'bad');
    assert.ok(good && bad, r.out);
    assert.deepEqual(good.acted.acted, 'yes');
    assert.deepEqual(good.rollout, { health: 'done' });
    assert.deepEqual(good.pending, { pending: 'nothing' });
    assert.deepEqual(
      good.pods.map((p) => p.serves),
      ['target', 'target'],
    );
    assert.equal(bad.rollout.health, 'failed');
    const reasons = bad.pending.reasons ?? [];
    assert.ok(reasons.length >= 1, r.out);
    for (const reason of reasons)
      assert.match(reason, /^bad-[a-z0-9]+-[a-z0-9]+ app: CrashLoopBackOff \(3 restarts\)$/);
    // The old revision's pods still serve the previous version; the crashlooping ones of the new
    // revision serve nothing.
    assert.deepEqual(bad.pods.map((p) => p.serves).sort(), [
      ...Array<string>(reasons.length).fill('none'),
      ...Array<string>(bad.pods.length - reasons.length).fill('older'),
    ]);

    const table = await rotor(['status', '--secret', SECRET]);
    assert.equal(table.code, 1, table.err);
    const lines = table.out.split('\n');
    assert.equal(lines[0], `${SECRET} version 7: not done (1/2 dependents serve it)`);
    assert.match(table.out, /\n\S+\s+Deployment\/status\/good\s+2\/2\s+done\s+done\n/);
    assert.match(
      table.out,
      /Deployment\/status\/bad\s+\d\/\d\s+failed\{bad-\S+ app: CrashLoopBackOff \(3 restarts\)[^}]*\}\s+halted: bad-/,
    );
  });
});
