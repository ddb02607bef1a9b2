import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { haltFigures, lastRestartOfWave } from '../../scripts/bench/stormFigures';

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
});
