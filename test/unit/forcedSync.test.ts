// The force-sync annotation of an ExternalSecret is tenant input: a time in the future must not
// move the start of a wait (and so its bound) later.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forcedSyncTime } from '../../functions/core/forcedSync';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');

describe('forcedSyncTime (when a sync of an ExternalSecret was last forced)', () => {
  it('a time at or before now is when the sync was forced', () => {
    assert.equal(forcedSyncTime('2026-12-01T11:58:30.250Z', NOW), NOW - 89_750);
    assert.equal(forcedSyncTime('2026-12-01T12:00:00.000Z', NOW), NOW);
  });

  it('a time in the future counts as no forced sync, however far ahead', () => {
    assert.equal(forcedSyncTime('2026-12-01T12:00:00.001Z', NOW), undefined);
    assert.equal(forcedSyncTime('2099-01-01T00:00:00Z', NOW), undefined);
    assert.equal(forcedSyncTime('+275760-09-13T00:00:00.000Z', NOW), undefined);
  });

  it('a missing value or one that is not a time counts as no forced sync', () => {
    assert.equal(forcedSyncTime(undefined, NOW), undefined);
    assert.equal(forcedSyncTime('', NOW), undefined);
    assert.equal(forcedSyncTime('yes', NOW), undefined);
  });
});
