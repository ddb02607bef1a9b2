import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  eventBudgetMs,
  haltFigures,
  isAvailable,
  lastRestartOfWave,
  passSummary,
} from '../../scripts/bench/stormFigures';

describe('storm bench figures', () => {
  const restarts = [
    { name: 'w1-00', wave: 1, atMs: 40 },
    { name: 'w1-01', wave: 1, atMs: 45 },
    { name: 'w2-00', wave: 2, atMs: 900 },
    { name: 'w2-25', wave: 2, atMs: 910 },
  ];

  it('counts the restarts before the halt per wave, and checks they are in waves up to the failed one', () => {
    assert.deepEqual(haltFigures(restarts, 5000, 2), {
      timeToHaltMs: 5000,
      restartedBeforeHalt: 4,
      restartedByWave: { '1': 2, '2': 2 },
      onlyWavesUpToFailed: true,
      duplicateRestarts: 0,
    });
  });

  it('a restart in a later wave fails the check; one after the halt is not counted before it', () => {
    const f = haltFigures([...restarts, { name: 'w3-00', wave: 3, atMs: 6000 }], 5000, 2);
    assert.equal(f.onlyWavesUpToFailed, false);
    assert.equal(f.restartedBeforeHalt, 4);
    assert.deepEqual(f.restartedByWave, { '1': 2, '2': 2 });
  });

  it('the same workload restarted twice is a duplicate', () => {
    assert.equal(
      haltFigures([...restarts, { name: 'w1-00', wave: 1, atMs: 50 }], 5000, 2).duplicateRestarts,
      1,
    );
  });

  it('the last restart of a wave, or null when the wave was not touched', () => {
    assert.equal(lastRestartOfWave(restarts, 1), 45);
    assert.equal(lastRestartOfWave(restarts, 2), 910);
    assert.equal(lastRestartOfWave(restarts, 3), null);
  });

  it("the bench's budget for an event grows with its steps, never under 20 min", () => {
    // 200 dependents in steps of 10: 20 steps, 10 min at 30 s a step, so the 20 min floor.
    assert.equal(eventBudgetMs(200, 10), 1_200_000);
    // 2 000 dependents: 200 steps, 100 min (the fixed 20 min cut a healthy run off).
    assert.equal(eventBudgetMs(2000, 10), 6_000_000);
    // A part step is a step.
    assert.equal(eventBudgetMs(2001, 10), 6_030_000);
  });

  it('a Deployment is Available when its one replica runs the observed generation', () => {
    const status = { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    assert.equal(isAvailable({ metadata: { generation: 2 }, status }), true);
    // The controller has not seen the new template yet.
    assert.equal(isAvailable({ metadata: { generation: 3 }, status }), false);
    // The old pod still counted beside the new one (mid-rollout).
    assert.equal(isAvailable({ metadata: { generation: 2 }, status: { ...status, replicas: 2 } }), false);
    assert.equal(
      isAvailable({ metadata: { generation: 2 }, status: { ...status, availableReplicas: 0 } }),
      false,
    );
    assert.equal(isAvailable({ metadata: { generation: 1 } }), false);
  });

  it("sums up the loop's passes: what woke them, their cost, the reports", () => {
    const p = (woke: string, passMs: number, reported: boolean, ignored = 0) => ({
      woke,
      waitedMs: woke === 'start' ? 0 : 700,
      ignored,
      passMs,
      reportMs: reported ? 100 : 0,
      reported,
    });
    assert.deepEqual(
      passSummary([p('start', 3000, true), p('changed', 1000, true, 4), p('deadline', 2000, false)]),
      {
        passes: 3,
        wokenBy: { start: 1, changed: 1, deadline: 1 },
        eventsIgnored: 4,
        reports: 2,
        passMs: { p50: 2000, max: 3000, total: 6000 },
        reportMsTotal: 200,
        waitedMsTotal: 1400,
      },
    );
  });
});
