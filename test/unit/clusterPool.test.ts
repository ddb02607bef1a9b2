// One unreachable cluster must not stop Rotor acting on the others.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseClusterSpec } from '../../functions/cluster/access';
import { UnreachableCluster, clusterPool } from '../../functions/cluster/pool';
import { ListLimitedKubeApi } from '../../functions/cluster/listLimit';
import { loadConfig } from '../../functions/config';
import { TransientError } from '../../functions/errors';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`;

describe('cluster pool', () => {
  it('connects each cluster on its own; a failed one fails its requests with why and is retried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-pool-'));
    const good = join(dir, 'kubeconfig');
    writeFileSync(good, KUBECONFIG);
    const specs = [
      parseClusterSpec(`kubeconfig:${join(dir, 'missing')}`),
      parseClusterSpec(`kubeconfig:${good}`),
    ];
    const pool = clusterPool(specs, loadConfig({}), () =>
      Promise.reject(new Error('no Google credentials in this test')),
    );
    const first = await pool();
    assert.ok(first[0] instanceof UnreachableCluster);
    // Connected clusters bound their lists (shared by the events an instance holds at once).
    assert.ok(first[1] instanceof ListLimitedKubeApi);
    assert.equal(first[1].cluster, `kubeconfig:${good}`);
    await assert.rejects(
      first[0].request({ method: 'GET', path: '/api' }),
      (e: unknown) => e instanceof TransientError && /missing/.test(e.message),
    );
    // The good connection is reused; the failed one is attempted again (the file appears now).
    writeFileSync(join(dir, 'missing'), KUBECONFIG);
    const second = await pool();
    assert.equal(second[1], first[1]);
    assert.ok(second[0] instanceof ListLimitedKubeApi);
    for (const api of second) api.close();
  });

  it('deliveries arriving together on a cold instance share one connection per cluster', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-pool-'));
    const good = join(dir, 'kubeconfig');
    writeFileSync(good, KUBECONFIG);
    const pool = clusterPool([parseClusterSpec(`kubeconfig:${good}`)], loadConfig({}), () =>
      Promise.reject(new Error('no Google credentials in this test')),
    );
    const together = await Promise.all([pool(), pool(), pool()]);
    assert.equal(together[1]?.[0], together[0]?.[0]);
    assert.equal(together[2]?.[0], together[0]?.[0]);
    assert.equal((await pool())[0], together[0]?.[0]);
    together[0]?.[0]?.close();
  });
});
