// The patches Rotor sends: the right content type per kind, the restart marker where each kind's
// controller looks for it, the resourceVersion precondition, and rotor.dev/applied merged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartPatch } from '../../functions/cluster/actions';
import { MERGE_PATCH, STRATEGIC_MERGE } from '../../functions/core/workloadKinds';
import type { KubeObject, WorkloadKind } from '../../functions/core/kube';

const object: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'api',
    namespace: 'shop',
    resourceVersion: '41',
    annotations: { 'rotor.dev/applied': '{"projects/p/secrets/old":"3"}' },
  },
};
const ref = (kind: WorkloadKind) => ({ cluster: 'c', kind, namespace: 'shop', name: 'api' });
const at = '2026-11-26T10:00:00.000Z';
const records = [
  { key: 'projects/p/secrets/db', version: '7' },
  { key: 'projects/p/secrets/db@current', version: '7' },
];

describe('restart patches', () => {
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const) {
    it(`${kind}: strategic merge of the pod template's restartedAt`, () => {
      const p = restartPatch(ref(kind), object, at, records) as {
        contentType: string;
        body: {
          metadata: { resourceVersion: string; annotations: Record<string, string> };
          spec: { template: { metadata: { annotations: Record<string, string> } } };
        };
      };
      assert.equal(p.contentType, STRATEGIC_MERGE);
      assert.equal(p.body.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], at);
      assert.equal(p.body.metadata.resourceVersion, '41', 'a concurrent write makes the patch fail with 409');
      assert.deepEqual(JSON.parse(p.body.metadata.annotations['rotor.dev/applied']), {
        'projects/p/secrets/old': '3',
        'projects/p/secrets/db': '7',
        'projects/p/secrets/db@current': '7',
      });
    });
  }

  it("CronJob: the job template's pod template", () => {
    const p = restartPatch(
      ref('CronJob'),
      { ...object, apiVersion: 'batch/v1', kind: 'CronJob' },
      at,
      records,
    ) as {
      contentType: string;
      body: {
        spec: { jobTemplate: { spec: { template: { metadata: { annotations: Record<string, string> } } } } };
      };
    };
    assert.equal(p.contentType, STRATEGIC_MERGE);
    assert.equal(
      p.body.spec.jobTemplate.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'],
      at,
    );
  });

  it('Argo Rollout: spec.restartAt by JSON merge patch (custom resources take no strategic merge)', () => {
    const p = restartPatch(
      ref('Rollout'),
      { ...object, apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' },
      at,
      records,
    ) as { contentType: string; body: { spec: Record<string, unknown> } };
    assert.equal(p.contentType, MERGE_PATCH);
    assert.deepEqual(p.body.spec, { restartAt: at });
  });
});
