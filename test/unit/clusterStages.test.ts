// Cluster stages: a later stage starts only when every earlier one converged healthy; a halt holds
// every later stage. Expected gates written by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterProgress, StagedCluster } from '../../functions/core/clusterStages';
import { parseStage, stageGates, stagesInOrder } from '../../functions/core/clusterStages';

const fleet: StagedCluster[] = [
  { name: 'staging', stage: 0 },
  { name: 'prod-eu', stage: 1 },
  { name: 'prod-us', stage: 1 },
  { name: 'prod-asia', stage: 2 },
];
const gates = (progress: Record<string, ClusterProgress>) =>
  stageGates(fleet, new Map(Object.entries(progress)));

describe('cluster stages', () => {
  it('stage 0 always goes; later stages wait for staging while it rolls out', () => {
    const g = gates({ staging: 'pending' });
    assert.deepEqual(g.get('staging'), { kind: 'go' });
    assert.deepEqual(g.get('prod-eu'), {
      kind: 'wait',
      stage: 0,
      clusters: ['staging'],
      reason: 'waiting for stage 0 (staging) to converge before stage 1',
    });
    assert.deepEqual(g.get('prod-asia'), {
      kind: 'wait',
      stage: 0,
      clusters: ['staging'],
      reason: 'waiting for stage 0 (staging) to converge before stage 2',
    });
  });

  it('a cluster whose progress is unknown counts as not converged', () => {
    assert.equal(gates({}).get('prod-us')?.kind, 'wait');
  });

  it('stage 1 goes together once staging converged; stage 2 waits for both of stage 1', () => {
    const g = gates({ staging: 'converged', 'prod-eu': 'converged', 'prod-us': 'pending' });
    assert.deepEqual(g.get('prod-eu'), { kind: 'go' });
    assert.deepEqual(g.get('prod-us'), { kind: 'go' });
    assert.deepEqual(g.get('prod-asia'), {
      kind: 'wait',
      stage: 1,
      clusters: ['prod-us'],
      reason: 'waiting for stage 1 (prod-us) to converge before stage 2',
    });
  });

  it('a halt in staging holds every later stage, and names the halted cluster', () => {
    const g = gates({ staging: 'halted' });
    assert.deepEqual(g.get('staging'), { kind: 'go' });
    assert.deepEqual(g.get('prod-eu'), {
      kind: 'held',
      stage: 0,
      clusters: ['staging'],
      reason:
        'held: stage 0 halted in staging; stage 1 starts only after every earlier stage converged healthy',
    });
    assert.equal(g.get('prod-asia')?.kind, 'held');
  });

  it('a halt outranks a wait: stage 2 is held when one stage-1 cluster halted and the other still rolls out', () => {
    const g = gates({ staging: 'converged', 'prod-eu': 'halted', 'prod-us': 'pending' });
    assert.deepEqual(g.get('prod-asia'), {
      kind: 'held',
      stage: 1,
      clusters: ['prod-eu'],
      reason:
        'held: stage 1 halted in prod-eu; stage 2 starts only after every earlier stage converged healthy',
    });
    // Clusters of the same stage are not held by each other.
    assert.deepEqual(g.get('prod-us'), { kind: 'go' });
  });

  it('without stages every cluster is stage 0 and goes at once', () => {
    const flat = stageGates(
      [
        { name: 'a', stage: 0 },
        { name: 'b', stage: 0 },
      ],
      new Map([['a', 'halted']]),
    );
    assert.deepEqual(flat.get('b'), { kind: 'go' });
  });

  it('names at most three clusters in a reason', () => {
    const many: StagedCluster[] = [
      ...['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, stage: 0 })),
      { name: 'prod', stage: 3 },
    ];
    const prod = stageGates(many, new Map()).get('prod');
    assert.equal(
      prod?.kind === 'wait' && prod.reason,
      'waiting for stage 0 (a, b, c and 2 more) to converge before stage 3',
    );
  });

  it('orders stages by number, not by text', () => {
    const order = stagesInOrder([
      { name: 'x', stage: 9 },
      { name: 'y', stage: 1 },
      { name: 'z', stage: 1 },
      { name: 'w', stage: 0 },
    ]);
    assert.deepEqual(
      order.map((s) => s.map((c) => c.name)),
      [['w'], ['y', 'z'], ['x']],
    );
  });

  it('parses stage=N from 0 to 9 and refuses anything else', () => {
    assert.equal(parseStage('0'), 0);
    assert.equal(parseStage('9'), 9);
    assert.equal(parseStage('10'), 'stage "10" is not a whole number from 0 to 9');
    assert.equal(parseStage('-1'), 'stage "-1" is not a whole number from 0 to 9');
    assert.equal(parseStage('prod'), 'stage "prod" is not a whole number from 0 to 9');
  });
});
