// `rotor audit --kubeconfig` on the real control plane, under Rotor's own RBAC: the live inventory
// (including a bare Pod and an ExternalSecret that never refreshes) audited like manifests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { main } from '../../functions/cli/main';
import type { CliIo } from '../../functions/cli/io';
import type { AuditedSecret } from '../../functions/core/audit';

const NS = 'shop';
const ESO = '/apis/external-secrets.io/v1';
const container = (secretName: string) => ({
  name: 'app',
  image: 'example.invalid/app:1',
  env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: secretName, key: 'pw' } } }],
});

describe('rotor audit, live', { timeout: 300_000 }, () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await cp.admin('POST', `${ESO}/clustersecretstores`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'gcp' },
      spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
    });
    await cp.admin('POST', `${ESO}/namespaces/${NS}/externalsecrets`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'once' },
      spec: {
        refreshInterval: '0',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'db-password' } }],
      },
    });
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [container('once')] } },
      },
    });
    await cp.admin('POST', `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'debug' },
      spec: { containers: [container('once')] },
    });
  });

  after(async () => {
    await cp?.stop();
  });

  it('lists the secret, its consumers by action, and the risks', async () => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: {} };
    const code = await main(['audit', '--kubeconfig', cp.kubeconfigPathFor('rotor'), '-o', 'json'], io);
    assert.equal(code, 0, stderr);
    const { secrets } = JSON.parse(stdout) as { secrets: AuditedSecret[] };
    assert.deepEqual(
      secrets.map((s) => s.secret),
      ['projects/my-proj/secrets/db-password'],
    );
    const [s] = secrets;
    assert.deepEqual(
      s.consumers.map((c) => `${c.kind}/${c.name}:${c.action}`),
      ['Deployment/api:restart', 'Pod/debug:manual'],
    );
    assert.deepEqual(
      s.risks.map((r) => `${r.risk} ${r.workload}`),
      [
        'env-only Deployment shop/api',
        'eso-never-refreshes Deployment shop/api',
        'manual-kind Pod shop/debug',
        'eso-never-refreshes Pod shop/debug',
      ],
    );
  });
});
