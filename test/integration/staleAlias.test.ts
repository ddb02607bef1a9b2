// Out-of-order SECRET_UPDATEs against the real API server: the alias record Rotor writes carries
// the event time, so a late, older update (current=5 after current=6) changes nothing on the
// workload, and the next real move still restarts it once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';

const NS = 'shop';
const DB = 'projects/my-proj/secrets/db-password';

describe('a stale SECRET_UPDATE does not wind an alias back', { timeout: 240_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  const config = () => ({
    clusters: [api],
    projects: new ProjectMap(),
    dryRun: false,
    maxWaitMs: 60_000,
    concurrency: 2,
    reload: { retries: 0, backoffMs: 0 },
    logger: memoryLogger(),
  });
  const update = (current: string, time: string) => ({
    type: 'SECRET_UPDATE' as const,
    secret: parseSecretName(DB).id,
    aliases: { current },
    time,
  });
  const live = async () => {
    const d = await cp.admin('GET', `/apis/apps/v1/namespaces/${NS}/deployments/api`);
    const meta = d.metadata as { annotations?: Record<string, string> };
    const spec = d.spec as { template: { metadata?: { annotations?: Record<string, string> } } };
    return {
      applied: JSON.parse(meta.annotations?.['rotor.dev/applied'] ?? '{}') as Record<string, string>,
      restartedAt: spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
    };
  };

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await cp.admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'api',
        annotations: {
          'rotor.dev/secrets': `${DB}/versions/current`,
          'rotor.dev/on-rotate': 'restart',
        },
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
        },
      },
    });
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await cp?.stop();
  });

  it('current=6, then a late current=5 (older event), then current=7', async () => {
    const T5 = new Date(Date.now() - 10 * 60_000).toISOString();
    const T6 = new Date(Date.now() - 5 * 60_000).toISOString();

    const first = await reconcileEvent(update('6', T6), {}, config());
    assert.deepEqual(
      first.workloads.map((w) => [w.name, w.result]),
      [['api', 'restarted']],
    );
    const afterSix = await live();
    assert.deepEqual(afterSix.applied, { [`${DB}@current`]: `6@${T6}` });
    assert.ok(afterSix.restartedAt);

    const stale = await reconcileEvent(update('5', T5), {}, config());
    assert.deepEqual(
      stale.workloads.map((w) => [w.name, w.action, w.result]),
      [['api', 'none', 'unchanged']],
    );
    assert.match(
      stale.workloads[0].reason,
      /^stale update: alias "current" of .* was moved to version 6 by a later event/,
    );
    assert.deepEqual(await live(), afterSix, 'neither the record nor the pod template changed');

    // A real move after Rotor's restart (an event before it would be covered by that restart).
    await new Promise((r) => setTimeout(r, 1100));
    const T7 = new Date().toISOString();
    const next = await reconcileEvent(update('7', T7), {}, config());
    assert.deepEqual(
      next.workloads.map((w) => [w.name, w.result]),
      [['api', 'restarted']],
    );
    assert.deepEqual((await live()).applied, { [`${DB}@current`]: `7@${T7}` });
  });
});
