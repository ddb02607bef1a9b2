// The benchmark's scenario B figures, without a cluster: its fleet's ground truth, and the pure
// judgement of one rotation from what the watches saw (which restart ran the new value, which
// restarted into the old one, which were needless), the spreads and the scaling to a 1h interval.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEsoFleet, esoModeOf } from '../../scripts/bench/esoFleet';
import {
  allSyncedMs,
  forceAnswered,
  judgeEvent,
  scaledToInterval,
  spread,
} from '../../scripts/bench/scenarioBFigures';

describe('bench scenario B: the fleet', () => {
  it('20 workloads in 2 namespaces: 12 dependents, 4 other-key readers, 4 cold, hot secrets dealt in turn per kind', () => {
    const fleet = buildEsoFleet({ workloads: 20, namespaces: 2, refreshInterval: '1h' });
    assert.deepEqual(fleet.namespaces, ['eso-000', 'eso-001']);
    assert.equal(fleet.externalSecrets.length, 20);
    assert.equal(fleet.deployments.length, 20);
    // w = 0..5 and 10..15 are dependents, 6,7,16,17 other-key, 8,9,18,19 cold; the hot secrets are
    // dealt in turn among the dependents (db-password: the 1st, 5th and 9th, w = 0, 4, 12) and
    // among the other-key readers (db-password: the 1st, w = 6; payments-key the 3rd, w = 16).
    assert.deepEqual(
      [...(fleet.dependents.get('db-password') ?? new Map<string, string>())],
      [
        ['eso-000/app-000', 'eso-000/app-000-secrets'],
        ['eso-000/app-002', 'eso-000/app-002-secrets'],
        ['eso-000/app-006', 'eso-000/app-006-secrets'],
      ],
    );
    assert.deepEqual([...(fleet.otherKeyReaders.get('db-password') ?? [])], ['eso-000/app-003']);
    assert.deepEqual([...(fleet.otherKeyReaders.get('payments-key') ?? [])], ['eso-000/app-008']);
    assert.deepEqual(fleet.sourceSecrets, [
      'db-password',
      'api-token',
      'payments-key',
      'session-key',
      'eso-000-config',
      'eso-001-config',
    ]);
    assert.deepEqual([0, 5, 6, 7, 8, 9, 10].map(esoModeOf), [
      'dependent',
      'dependent',
      'other-key',
      'other-key',
      'cold',
      'cold',
      'dependent',
    ]);
  });

  it("an other-key reader's Secret carries the hot secret, but its app reads only CONFIG; a dependent reads both", () => {
    const fleet = buildEsoFleet({ workloads: 10, namespaces: 1, refreshInterval: '30s' });
    const es = fleet.externalSecrets[6].body as { spec: { refreshInterval: string; data: unknown[] } };
    assert.equal(es.spec.refreshInterval, '30s');
    assert.deepEqual(es.spec.data, [
      { secretKey: 'TOKEN', remoteRef: { key: 'db-password' } },
      { secretKey: 'CONFIG', remoteRef: { key: 'eso-000-config' } },
    ]);
    const envOf = (i: number): unknown =>
      (fleet.deployments[i].body.spec as { template: { spec: { containers: Array<{ env: unknown }> } } })
        .template.spec.containers[0].env;
    assert.deepEqual(envOf(6), [
      { name: 'APP_CONFIG', valueFrom: { secretKeyRef: { name: 'app-006-secrets', key: 'CONFIG' } } },
    ]);
    assert.deepEqual(envOf(0), [
      { name: 'APP_CONFIG', valueFrom: { secretKeyRef: { name: 'app-000-secrets', key: 'CONFIG' } } },
      { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'app-000-secrets', key: 'TOKEN' } } },
    ]);
    const cold = fleet.externalSecrets[8].body as { spec: { data: unknown[] } };
    assert.deepEqual(cold.spec.data, [{ secretKey: 'CONFIG', remoteRef: { key: 'eso-000-config' } }]);
  });
});

describe('bench scenario B: judging one rotation', () => {
  const dependents = new Map([
    ['ns/a', 'ns/a-secrets'],
    ['ns/b', 'ns/b-secrets'],
  ]);

  it('the last dependent restart into the new value ends the time; the first write of each Secret counts', () => {
    const v = judgeEvent({
      t0: 1000,
      dependents,
      writes: [
        { secret: 'ns/a-secrets', resourceVersion: 10, at: 1500 },
        { secret: 'ns/b-secrets', resourceVersion: 12, at: 1600 },
        { secret: 'ns/a-secrets', resourceVersion: 30, at: 4000 }, // a later write, same value
      ],
      replicaSets: [
        { deployment: 'ns/a', resourceVersion: 20, at: 2100 },
        { deployment: 'ns/b', resourceVersion: 25, at: 2700 },
        { deployment: 'ns/a', resourceVersion: 40, at: 5000 }, // a second restart of a
        { deployment: 'ns/other', resourceVersion: 41, at: 5100 },
      ],
    });
    assert.deepEqual(v, {
      allRestartedMs: 1700,
      restarted: 2,
      missed: [],
      violations: [],
      needless: 1,
      repeated: 1,
    });
  });

  it('a restart before its Secret held the new value is a violation, and the dependent is missed unless restarted again after', () => {
    const v = judgeEvent({
      t0: 0,
      dependents,
      writes: [
        { secret: 'ns/a-secrets', resourceVersion: 10, at: 900 },
        { secret: 'ns/b-secrets', resourceVersion: 50, at: 3000 },
      ],
      replicaSets: [
        { deployment: 'ns/a', resourceVersion: 8, at: 800 }, // into the old value
        { deployment: 'ns/a', resourceVersion: 11, at: 950 }, // then into the new one
        { deployment: 'ns/b', resourceVersion: 49, at: 2990 }, // into the old value only
      ],
    });
    assert.deepEqual(v.violations, ['ns/a', 'ns/b']);
    assert.deepEqual(v.missed, ['ns/b']);
    assert.equal(v.restarted, 1);
    assert.equal(v.allRestartedMs, null);
    assert.equal(v.repeated, 0);
  });

  it('a dependent whose Secret never held the new value: a restart of it is a violation, and it is missed', () => {
    const v = judgeEvent({
      t0: 0,
      dependents: new Map([['ns/a', 'ns/a-secrets']]),
      writes: [],
      replicaSets: [{ deployment: 'ns/a', resourceVersion: 5, at: 100 }],
    });
    assert.deepEqual([v.violations, v.missed, v.allRestartedMs], [['ns/a'], ['ns/a'], null]);
  });

  it('no dependents: no time to report', () => {
    assert.equal(
      judgeEvent({ t0: 0, dependents: new Map(), writes: [], replicaSets: [] }).allRestartedMs,
      null,
    );
  });

  it('synced: until the last Secret first held the new value, null while one never did', () => {
    const writes = [
      { secret: 'x', resourceVersion: 3, at: 1300 },
      { secret: 'y', resourceVersion: 2, at: 1900 },
      { secret: 'x', resourceVersion: 9, at: 2500 },
    ];
    assert.equal(allSyncedMs(1000, ['x', 'y'], writes), 900);
    assert.equal(allSyncedMs(1000, ['x', 'y', 'z'], writes), null);
    assert.equal(allSyncedMs(1000, [], writes), null);
  });
});

describe('bench scenario B: spreads and intervals', () => {
  it('nearest-rank percentiles over the completed events only', () => {
    assert.deepEqual(spread([400, null, 100, 300, 200]), { p50Ms: 200, p95Ms: 400, maxMs: 400 });
    assert.deepEqual(spread([null]), { p50Ms: null, p95Ms: null, maxMs: null });
    assert.deepEqual(spread([]), { p50Ms: null, p95Ms: null, maxMs: null });
  });

  it('a time measured at 30 s of polling, scaled to 1 h (what exceeds the interval added as it is), rounded to seconds', () => {
    assert.equal(scaledToInterval(14_500, 30, 3600), 1_740_000);
    assert.equal(scaledToInterval(29_999, 30, 3600), 3_600_000);
    // 1.676 s beyond the 30 s interval is ESO's processing: added, not scaled.
    assert.equal(scaledToInterval(31_676, 30, 3600), 3_602_000);
    assert.equal(scaledToInterval(null, 30, 3600), null);
  });

  it('a forced sync is answered by a refresh in the second it was asked in or later', () => {
    assert.equal(forceAnswered('2026-12-01T10:00:05.700Z', '2026-12-01T10:00:05Z'), true);
    assert.equal(forceAnswered('2026-12-01T10:00:05.700Z', '2026-12-01T10:00:06Z'), true);
    assert.equal(forceAnswered('2026-12-01T10:00:05.700Z', '2026-12-01T10:00:04Z'), false);
    assert.equal(forceAnswered('2026-12-01T10:00:05.700Z', undefined), false);
    assert.equal(forceAnswered('soon', undefined), true);
  });
});
