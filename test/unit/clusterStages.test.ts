// Cluster stages: a later stage starts only when every earlier one converged healthy; a halt holds
// every later stage. Expected gates and reasons written by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterProgress, StagedCluster } from '../../functions/core/clusterStages';
import {
  clusterProgress,
  dependentState,
  gateByStage,
  parseStage,
  stageGate,
  stagesInOrder,
} from '../../functions/core/clusterStages';
import type { LiveDecision } from '../../functions/core/liveDecision';

const fleet: StagedCluster[] = [
  { name: 'staging', stage: 0 },
  { name: 'prod-eu', stage: 1 },
  { name: 'prod-us', stage: 1 },
  { name: 'prod-asia', stage: 2 },
];
const converged: ClusterProgress = { kind: 'converged' };
const rollingOut: ClusterProgress = { kind: 'pending', what: 'Deployment shop/api waits for rollout' };
const halt: ClusterProgress = { kind: 'halted', what: 'Deployment shop/api halted' };
const gate = (name: string, progress: Record<string, ClusterProgress>, clusters = fleet) => {
  const cluster = clusters.find((c) => c.name === name);
  assert.ok(cluster);
  return stageGate(cluster, clusters, new Map(Object.entries(progress)));
};

describe('stageGate', () => {
  it('stage 0 always goes, whatever the others do', () => {
    assert.deepEqual(gate('staging', { 'prod-eu': halt }), { kind: 'go' });
  });

  it('a still-progressing earlier stage: the later ones wait, naming the cluster and what it waits for', () => {
    assert.deepEqual(gate('prod-eu', { staging: rollingOut }), {
      kind: 'wait',
      cluster: 'staging',
      stage: 0,
      reason: 'stage 1 waits for stage 0: in cluster staging Deployment shop/api waits for rollout',
    });
    assert.deepEqual(gate('prod-asia', { staging: rollingOut }), {
      kind: 'wait',
      cluster: 'staging',
      stage: 0,
      reason:
        'stage 2 waits for stage 0: in cluster staging Deployment shop/api waits for rollout (and 2 more cluster(s) of earlier stages)',
    });
  });

  it('a cluster not seen yet counts as pending: never start on a guess', () => {
    assert.deepEqual(gate('prod-us', {}), {
      kind: 'wait',
      cluster: 'staging',
      stage: 0,
      reason: 'stage 1 waits for stage 0: in cluster staging nothing was reconciled yet',
    });
  });

  it('stage ordering: stage 1 goes together once stage 0 converged; stage 2 waits for the rest of stage 1', () => {
    const progress = { staging: converged, 'prod-eu': converged, 'prod-us': rollingOut };
    assert.deepEqual(gate('prod-eu', progress), { kind: 'go' });
    assert.deepEqual(gate('prod-us', progress), { kind: 'go' });
    assert.deepEqual(gate('prod-asia', progress), {
      kind: 'wait',
      cluster: 'prod-us',
      stage: 1,
      reason: 'stage 2 waits for stage 1: in cluster prod-us Deployment shop/api waits for rollout',
    });
    assert.deepEqual(gate('prod-asia', { staging: converged, 'prod-eu': converged, 'prod-us': converged }), {
      kind: 'go',
    });
  });

  it('a halted earlier stage holds every later one, naming the halted cluster', () => {
    const reason = (s: number) =>
      `stage ${s} is held by the halt in cluster staging (stage 0): Deployment shop/api halted; a person continues with rotor apply`;
    assert.deepEqual(gate('prod-eu', { staging: halt }), {
      kind: 'held',
      cluster: 'staging',
      stage: 0,
      reason: reason(1),
    });
    assert.deepEqual(gate('prod-asia', { staging: halt }), {
      kind: 'held',
      cluster: 'staging',
      stage: 0,
      reason: reason(2),
    });
  });

  it('a halt outranks a wait, even in a later stage than the wait; clusters of one stage do not gate each other', () => {
    const progress = { staging: rollingOut, 'prod-eu': halt, 'prod-us': rollingOut };
    assert.deepEqual(gate('prod-asia', progress), {
      kind: 'held',
      cluster: 'prod-eu',
      stage: 1,
      reason:
        'stage 2 is held by the halt in cluster prod-eu (stage 1): Deployment shop/api halted; a person continues with rotor apply',
    });
    assert.equal(gate('prod-us', { staging: converged, 'prod-eu': halt }).kind, 'go');
  });

  it('gaps in stage numbers: 0, 5 and 9 order like 0, 1 and 2', () => {
    const gappy: StagedCluster[] = [
      { name: 'nine', stage: 9 },
      { name: 'zero', stage: 0 },
      { name: 'five', stage: 5 },
    ];
    assert.deepEqual(gate('nine', { zero: converged, five: rollingOut }, gappy), {
      kind: 'wait',
      cluster: 'five',
      stage: 5,
      reason: 'stage 9 waits for stage 5: in cluster five Deployment shop/api waits for rollout',
    });
    assert.equal(gate('five', { zero: rollingOut }, gappy).kind, 'wait');
    assert.deepEqual(gate('five', { zero: converged }, gappy), { kind: 'go' });
  });

  it('one stage only: every cluster goes at once, a halt in one holds no other', () => {
    const flat: StagedCluster[] = [
      { name: 'a', stage: 0 },
      { name: 'b', stage: 0 },
    ];
    assert.deepEqual(gate('b', { a: halt }, flat), { kind: 'go' });
    assert.deepEqual(gate('a', {}, flat), { kind: 'go' });
  });

  it('an empty earlier stage (nothing depends on the secret there) converged: the next goes', () => {
    assert.deepEqual(clusterProgress([]), { kind: 'converged' });
    assert.deepEqual(gate('prod-eu', { staging: clusterProgress([]) }), { kind: 'go' });
  });
});

describe('clusterProgress and dependentState', () => {
  it('maps each pass result to done, pending or stopped', () => {
    const label = 'Deployment shop/api';
    assert.deepEqual(dependentState(label, 'waiting', true, 'rollout'), {
      state: 'pending',
      what: 'Deployment shop/api waits for its rollout',
    });
    assert.deepEqual(dependentState(label, 'waiting', true, 'eso'), {
      state: 'pending',
      what: 'Deployment shop/api waits for eso',
    });
    assert.deepEqual(dependentState(label, 'restarted', true, undefined), {
      state: 'pending',
      what: 'Deployment shop/api was restarted, its rollout is not done',
    });
    assert.deepEqual(dependentState(label, 'failed', true, undefined), {
      state: 'pending',
      what: 'Deployment shop/api failed (transient: retried)',
    });
    assert.deepEqual(dependentState(label, 'halted', false, undefined), {
      state: 'stopped',
      what: 'Deployment shop/api halted',
    });
    assert.deepEqual(dependentState(label, 'gave-up', false, undefined), {
      state: 'stopped',
      what: 'Deployment shop/api gave up',
    });
    assert.deepEqual(dependentState(label, 'failed', false, undefined), {
      state: 'stopped',
      what: 'Deployment shop/api failed',
    });
    assert.deepEqual(dependentState(label, 'never-synced', false, undefined), {
      state: 'stopped',
      what: 'Deployment shop/api never gets the value (ESO never refreshes it)',
    });
    assert.deepEqual(dependentState(label, 'waiting', false, 'stage'), {
      state: 'stopped',
      what: 'Deployment shop/api is held',
    });
    for (const done of [
      'restarted',
      'reloaded',
      'recorded',
      'unchanged',
      'skipped',
      'awaiting-approval',
    ] as const)
      assert.deepEqual(dependentState(label, done, false, undefined), { state: 'done' }, done);
  });

  it('a stopped dependent halts the cluster; else a pending one keeps it pending; an unreadable cluster is pending', () => {
    const done = { state: 'done' } as const;
    const pending = { state: 'pending', what: 'Deployment a/x waits for rollout' } as const;
    const stopped = { state: 'stopped', what: 'Deployment b/y halted' } as const;
    assert.deepEqual(clusterProgress([done, pending, stopped]), {
      kind: 'halted',
      what: 'Deployment b/y halted',
    });
    assert.deepEqual(clusterProgress([done, pending]), {
      kind: 'pending',
      what: 'Deployment a/x waits for rollout',
    });
    assert.deepEqual(clusterProgress([done], 'connection refused'), {
      kind: 'pending',
      what: 'is not readable (connection refused)',
    });
    assert.deepEqual(clusterProgress([done, done]), { kind: 'converged' });
    assert.deepEqual(clusterProgress([pending, pending, pending, pending]), {
      kind: 'pending',
      what: 'Deployment a/x waits for rollout, Deployment a/x waits for rollout, Deployment a/x waits for rollout and 1 more',
    });
  });
});

describe('gateByStage', () => {
  const restart: LiveDecision = {
    action: 'restart',
    reason: 'env DB_PASSWORD reads db-password',
    records: [{ key: 'my-proj/db-password', version: '7' }],
    at: '2026-12-07T10:00:00.000Z',
  };
  const waitGate = {
    kind: 'wait',
    cluster: 'staging',
    stage: 0,
    reason: 'stage 1 waits for stage 0: …',
  } as const;
  const heldGate = { kind: 'held', cluster: 'staging', stage: 0, reason: 'stage 1 is held by …' } as const;
  const eventTime = Date.parse('2026-12-07T10:00:00Z');
  const clock = { now: eventTime + 60_000, eventTime, maxWaitMs: 3_600_000 };

  it('go: the decision is unchanged', () => {
    assert.equal(gateByStage(restart, { kind: 'go' }, clock), restart);
  });

  it('wait: a restart waits for the stage until the bound after the event', () => {
    assert.deepEqual(gateByStage(restart, waitGate, clock), {
      action: 'wait',
      reason: 'env DB_PASSWORD reads db-password; stage 1 waits for stage 0: …',
      waitingFor: 'stage',
      nudge: [],
      forceSecretSyncs: [],
      giveUpAt: eventTime + 3_600_000,
    });
  });

  it('wait past the bound: a give-up, reported', () => {
    assert.deepEqual(gateByStage(restart, waitGate, { ...clock, now: eventTime + 3_600_000 }), {
      action: 'give-up',
      reason:
        'env DB_PASSWORD reads db-password; stage 1 waits for stage 0: …, and 3600s have passed since the event (ROTOR_STAGE_MAX_WAIT_SECONDS): not waited for; a person continues with rotor apply',
      waitedMs: 3_600_000,
    });
  });

  it('held: a wait without a bound (the pass does not count it), never a give-up', () => {
    const held = gateByStage(restart, heldGate, { ...clock, now: eventTime + 10 * 3_600_000 });
    assert.deepEqual(held, {
      action: 'wait',
      reason: 'env DB_PASSWORD reads db-password; stage 1 is held by …',
      waitingFor: 'stage',
      nudge: [],
      forceSecretSyncs: [],
      giveUpAt: Number.POSITIVE_INFINITY,
    });
  });

  it('a forced sync is held back too; doing nothing passes unchanged', () => {
    const nudging: LiveDecision = {
      action: 'wait',
      reason: 'ESO has not synced',
      waitingFor: 'eso',
      nudge: [
        {
          key: 'shop/db',
          externalSecret: { metadata: { namespace: 'shop', name: 'db' } },
          at: '2026-12-07T10:00:00.000Z',
        },
      ],
      forceSecretSyncs: [],
      giveUpAt: eventTime + 1_800_000,
    };
    const gated = gateByStage(nudging, waitGate, clock);
    assert.equal(gated.action === 'wait' && gated.nudge.length, 0);
    assert.equal(gated.action === 'wait' && gated.waitingFor, 'stage');
    const none: LiveDecision = { action: 'none', reason: 'pinned to version 3' };
    assert.equal(gateByStage(none, waitGate, clock), none);
    const manual: LiveDecision = { action: 'manual', reason: 'on-rotate: manual', awaiting: 'approval' };
    assert.equal(gateByStage(manual, heldGate, clock), manual);
  });
});

describe('stagesInOrder and parseStage', () => {
  it('orders stages by number, not by text, and keeps the clusters in order within one', () => {
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

  it('parses 0 to 9 and refuses anything else', () => {
    assert.deepEqual(parseStage('0'), { ok: true, stage: 0 });
    assert.deepEqual(parseStage('9'), { ok: true, stage: 9 });
    for (const bad of ['10', '-1', 'prod', '', '1.5', ' 1'])
      assert.deepEqual(parseStage(bad), {
        ok: false,
        error: `stage "${bad}" is not a whole number from 0 to 9`,
      });
  });
});
