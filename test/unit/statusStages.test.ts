// `rotor status` with cluster stages: where each stage stands, from the workloads' lines. Expected
// lines written by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pending, WorkloadStatus } from '../../functions/core/status';
import { stageStatuses } from '../../functions/core/status';
import { renderStatusMarkdown, renderStatusTable } from '../../functions/cli/status';

const workload = (cluster: string, name: string, pending: Pending): WorkloadStatus => ({
  cluster,
  kind: 'Deployment',
  namespace: 'shop',
  name,
  acted: { acted: 'yes', version: '7', by: 'restart' },
  rollout: { health: 'done' },
  pods: [],
  pending,
});
const fleet = [
  { name: 'staging', stage: 0 },
  { name: 'prod-eu', stage: 1 },
  { name: 'prod-us', stage: 1 },
];
const done: Pending = { pending: 'nothing' };

describe('rotor status: stages', () => {
  it('stage 0 rolling out: stage 1 waits for it, naming the cluster and the workload', () => {
    const ws = [
      workload('staging', 'api', { pending: 'rollout', detail: '1/2 updated' }),
      workload('prod-eu', 'api', { pending: 'not-acted', detail: 'Rotor last acted on version 6' }),
    ];
    assert.deepEqual(stageStatuses(ws, fleet), [
      {
        stage: 0,
        clusters: ['staging'],
        state: 'in progress: in cluster staging Deployment shop/api: rollout in progress: 1/2 updated',
      },
      {
        stage: 1,
        clusters: ['prod-eu', 'prod-us'],
        state:
          'stage 1 waits for stage 0: in cluster staging Deployment shop/api: rollout in progress: 1/2 updated',
      },
    ]);
  });

  it('stage 0 halted: stage 1 held; stage 0 done: stage 1 in progress, then done', () => {
    const halted = [workload('staging', 'api', { pending: 'halted', reasons: ['api-1: CrashLoopBackOff'] })];
    assert.deepEqual(
      stageStatuses(halted, fleet).map((s) => s.state),
      [
        'halted in cluster staging: Deployment shop/api halted',
        'stage 1 is held by the halt in cluster staging (stage 0): Deployment shop/api halted; a person continues with rotor apply',
      ],
    );
    const moving = [
      workload('staging', 'api', done),
      workload('prod-eu', 'api', done),
      workload('prod-us', 'web', { pending: 'pods', detail: 'web-1 mounts version 6' }),
    ];
    assert.deepEqual(
      stageStatuses(moving, fleet).map((s) => s.state),
      [
        'done',
        'in progress: in cluster prod-us Deployment shop/web: pods on an older version: web-1 mounts version 6',
      ],
    );
    // A cluster without dependents has nothing to do: done.
    assert.deepEqual(
      stageStatuses([workload('prod-eu', 'api', done)], fleet).map((s) => s.state),
      ['done', 'done'],
    );
  });

  it('the table and the markdown show one line per stage', () => {
    const ws = [workload('staging', 'api', done), workload('prod-eu', 'api', done)];
    const status = {
      secret: 'p/s',
      version: '7',
      done: true,
      workloads: ws,
      stages: stageStatuses(ws, fleet),
    };
    const table = renderStatusTable(status).split('\n');
    assert.deepEqual(table.slice(1, 3), ['stage 0 (staging): done', 'stage 1 (prod-eu, prod-us): done']);
    assert.match(
      renderStatusMarkdown(status),
      /\n- stage 0 \(staging\): done\n- stage 1 \(prod-eu, prod-us\): done\n/,
    );
  });
});
