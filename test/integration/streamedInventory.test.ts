// Streaming discovery on a real API server: the benchmark's varied fleet (ESO, CSI, annotations,
// decoys, cold workloads) plus a Rollout that runs a Deployment's template, listed in small pages
// (limit + continue). For each secret, discovery over the streamed inventory (only the workloads
// that can depend on it) equals discovery over the full one, and the streamed one holds far fewer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { installCrds, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import {
  forEachInventoryPart,
  kubeApiFromKubeconfig,
  liveInventories,
  liveInventory,
} from '../../functions/cluster/inventory';
import type { AuditedSecret } from '../../functions/core/audit';
import { auditIndex, mergeAudits } from '../../functions/core/audit';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { DependencyIndex } from '../../functions/core/discovery';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { seed } from '../../scripts/bench/cluster';
import { HOT_SECRETS, PROJECT_ID, PROJECT_NUMBER, buildFleet } from '../../scripts/bench/fleet';

const projects = ProjectMap.parse(`${PROJECT_ID}=${PROJECT_NUMBER}`);

describe('streamed inventory equals the full inventory for discovery', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  const fleet = buildFleet({
    workloads: 240,
    namespaces: 6,
    hotFraction: 0.08,
    decoyFraction: 0.04,
    seed: 11,
  });

  before(async () => {
    cp = await startControlPlane({ controllerManager: false });
    await installCrds(cp.kubeConfig());
    api = kubeApiFromKubeconfig(cp.kubeconfigPath, undefined, 'admin');
    await seed(api, fleet, () => undefined);
    const ns = fleet.namespaces[0] ?? 'default';
    const hot = [...(fleet.expected.get('db-password') ?? [])][0] ?? '';
    assert.ok(hot.startsWith(`${ns}/`) || hot.includes('/'), 'the fleet has a db-password dependent');
    // A Rollout with no template of its own runs a Deployment that reads db-password.
    const [hotNs, hotName] = hot.split('/');
    await cp.admin('POST', `/apis/argoproj.io/v1alpha1/namespaces/${hotNs}/rollouts`, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'canary' },
      spec: {
        selector: { matchLabels: { app: 'canary' } },
        workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: hotName },
      },
    });
  });

  after(async () => {
    api?.close();
    await cp?.stop();
  });

  it('for every hot secret, at a project id and number, and for cold ones', async () => {
    const full = await liveInventory(api, {}, { kind: 'all' }, 25);
    assert.equal(full.workloads.length, 241);
    const fullIndex = new DependencyIndex(full, { projects, defaultProject: PROJECT_ID });
    const cold = full.workloads
      .slice(0, 40)
      .map((w) => `${w.metadata?.namespace ?? ''}-${w.metadata?.name ?? ''}-config`);
    let compared = 0;
    for (const name of [...HOT_SECRETS, ...cold]) {
      for (const project of [PROJECT_ID, PROJECT_NUMBER]) {
        const secret = parseSecretName(`projects/${project}/secrets/${name}`).id;
        const part = await liveInventory(
          api,
          {},
          { kind: 'secret', secret, projects, defaultProject: PROJECT_ID },
          25,
        );
        const got = new DependencyIndex(part, { projects, defaultProject: PROJECT_ID }).dependentsOf(secret);
        const want = fullIndex.dependentsOf(secret);
        assert.deepEqual(
          got.map((d) => [d.ref, d.dependencies]),
          want.map((d) => [d.ref, d.dependencies]),
          `dependents of ${name} in ${project}`,
        );
        compared += want.length;
        if (HOT_SECRETS.includes(name as (typeof HOT_SECRETS)[number]))
          assert.ok(
            part.workloads.length < full.workloads.length / 3,
            `${name}: kept ${part.workloads.length}`,
          );
      }
    }
    assert.ok(compared > 40, `compared ${compared} dependents`);
    const db = parseSecretName(`projects/${PROJECT_ID}/secrets/db-password`).id;
    const rollout = fullIndex.dependentsOf(db).find((d) => d.ref.kind === 'Rollout');
    assert.ok(rollout, 'the Rollout depends on db-password through its Deployment');
  });

  it('one set of lists for several secrets (a burst) gives each the inventory it gets alone', async () => {
    const secrets = [...HOT_SECRETS, 'team-000-svc-000-config'].map(
      (name) => parseSecretName(`projects/${PROJECT_ID}/secrets/${name}`).id,
    );
    const scope = (secret: (typeof secrets)[number]) =>
      ({ kind: 'secret', secret, projects, defaultProject: PROJECT_ID }) as const;
    const shared = await liveInventories(api, {}, secrets.map(scope), 25);
    assert.equal(shared.length, secrets.length);
    let kept = 0;
    for (const [i, secret] of secrets.entries()) {
      const alone = await liveInventory(api, {}, scope(secret), 25);
      const name = (w: { metadata?: { namespace?: string; name?: string }; kind?: string }): string =>
        `${w.kind ?? ''} ${w.metadata?.namespace ?? ''}/${w.metadata?.name ?? ''}`;
      assert.deepEqual(shared[i]?.workloads.map(name), alone.workloads.map(name), secret.secret);
      kept += alone.workloads.length;
    }
    assert.ok(kept > 20, `kept ${kept} workloads in all`);
  });

  it('rotor audit, streamed part by part, equals the audit of the whole inventory', async () => {
    const full = await liveInventory(api, {}, { kind: 'all' }, 25);
    const want = auditIndex(new DependencyIndex(full, { projects, defaultProject: PROJECT_ID }), projects);
    const parts: AuditedSecret[][] = [];
    let largest = 0;
    await forEachInventoryPart(
      api,
      (part, kind) => {
        largest = Math.max(largest, part.workloads.length);
        const index = new DependencyIndex(part, { projects, defaultProject: PROJECT_ID });
        parts.push(auditIndex(index, projects, (wd) => wd.ref.kind === kind));
      },
      {},
      25,
    );
    assert.deepEqual(mergeAudits(parts), want);
    // Pages of 25 (the Rollouts' part also holds the one Deployment a Rollout runs).
    assert.ok(largest <= 26, `the largest part held ${largest} workloads`);
    assert.ok(parts.length >= 10, `${parts.length} parts`);
    const db = want.find((s) => s.secret === `projects/${PROJECT_ID}/secrets/db-password`);
    assert.ok(db?.consumers.some((c) => c.kind === 'Rollout' && c.name === 'canary'));
    assert.ok(want.length > 40, `${want.length} secrets audited`);
  });
});
