// rotor.dev/applied-by: parsed leniently (tenant objects), merged per record, written in the same
// patch as rotor.dev/applied, and described for outcomes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartPatch } from '../../functions/cluster/actions';
import {
  CLOCK_SKEW_MS,
  appliedBy,
  appliedByAnnotation,
  chainMarkOf,
  describeAppliedBy,
  trustedAppliedBy,
} from '../../functions/core/appliedBy';
import type { KubeObject } from '../../functions/core/kube';

const withBy = (raw: string | undefined): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'api',
    namespace: 'shop',
    ...(raw !== undefined ? { annotations: { 'rotor.dev/applied-by': raw } } : {}),
  },
});
const T = '2026-12-01T10:00:00.000Z';

describe('rotor.dev/applied-by', () => {
  it('parses entries with an action and a time; drops anything else', () => {
    const raw = JSON.stringify({
      'projects/p/secrets/a': { action: 'restart', message: 'm-1', at: T },
      'projects/p/secrets/b': { action: 'reload', at: T },
      'projects/p/secrets/c': { action: 'delete', at: T },
      'projects/p/secrets/d': { action: 'restart' },
      'projects/p/secrets/e': 'restart',
    });
    assert.deepEqual(appliedBy(withBy(raw)), {
      'projects/p/secrets/a': { action: 'restart', message: 'm-1', at: T },
      'projects/p/secrets/b': { action: 'reload', at: T },
    });
  });
  it('a missing or corrupt annotation is empty, never fatal', () => {
    assert.deepEqual(appliedBy(withBy(undefined)), {});
    assert.deepEqual(appliedBy(withBy('{not json')), {});
    assert.deepEqual(appliedBy(withBy('[1]')), {});
  });
  it('JSON that is no object ("null", a string, a number, true) is ignored, never a crash', () => {
    const by = { action: 'restart', message: 'm-2', at: T } as const;
    for (const raw of ['null', '"restart"', '7', 'true']) {
      assert.deepEqual(appliedBy(withBy(raw)), {}, raw);
      assert.deepEqual(
        JSON.parse(appliedByAnnotation(withBy(raw), [{ key: 'projects/p/secrets/db', version: '7' }], by)),
        { 'projects/p/secrets/db': by },
        raw,
      );
    }
  });
  it('merges every record of the action over what was there', () => {
    const before = withBy(JSON.stringify({ 'projects/p/secrets/old': { action: 'record', at: 'T0' } }));
    const by = { action: 'restart', message: 'm-2', at: T } as const;
    assert.deepEqual(
      JSON.parse(appliedByAnnotation(before, [{ key: 'projects/p/secrets/db', version: '7' }], by)),
      { 'projects/p/secrets/old': { action: 'record', at: 'T0' }, 'projects/p/secrets/db': by },
    );
  });
  it('is written in the restart patch itself, beside rotor.dev/applied', () => {
    const p = restartPatch(
      { cluster: 'c', kind: 'Deployment', namespace: 'shop', name: 'api' },
      withBy(undefined),
      T,
      [{ key: 'projects/p/secrets/db', version: '7' }],
      { action: 'restart', message: 'm-3', at: T },
    ) as { body: { metadata: { annotations: Record<string, string> } } };
    const annotations = p.body.metadata.annotations;
    assert.deepEqual(JSON.parse(annotations['rotor.dev/applied'] ?? ''), { 'projects/p/secrets/db': '7' });
    assert.deepEqual(JSON.parse(annotations['rotor.dev/applied-by'] ?? ''), {
      'projects/p/secrets/db': { action: 'restart', message: 'm-3', at: T },
    });
  });
  it('describes who did what when', () => {
    assert.equal(
      describeAppliedBy({ action: 'restart', message: 'm-1', at: T }),
      `restarted by message m-1 at ${T}`,
    );
    assert.equal(describeAppliedBy({ action: 'reload', at: T }), `reloaded at ${T}`);
  });
});

describe('rotor.dev/applied-by: the delivery that acted (core/converge.ts)', () => {
  it("reads a continuation's step and delivery, and a fan-out message's step 0; drops them when malformed", () => {
    const raw = JSON.stringify({
      a: { action: 'restart', at: '2026-12-07T10:00:00Z', message: 'n1', step: 3, delivery: 'c3' },
      b: { action: 'restart', at: '2026-12-07T10:00:00Z', message: 'n1', step: 0, delivery: 'f1' },
      c: { action: 'restart', at: '2026-12-07T10:00:00Z', message: 'n1', step: -1, delivery: 'c3' },
      d: { action: 'restart', at: '2026-12-07T10:00:00Z', message: 'n1', step: 2 },
      e: { action: 'restart', at: '2026-12-07T10:00:00Z', message: 'n1', step: '2', delivery: 'c2' },
    });
    const w = { metadata: { annotations: { 'rotor.dev/applied-by': raw } } };
    const at = '2026-12-07T10:00:00Z';
    assert.deepEqual(appliedBy(w), {
      a: { action: 'restart', at, message: 'n1', step: 3, delivery: 'c3' },
      b: { action: 'restart', at, message: 'n1', step: 0, delivery: 'f1' },
      c: { action: 'restart', at, message: 'n1' },
      d: { action: 'restart', at, message: 'n1' },
      e: { action: 'restart', at, message: 'n1' },
    });
  });

  it('a record names its chain position: the notification itself is step 0 of its own message', () => {
    assert.deepEqual(chainMarkOf({ action: 'restart', at: 't', message: 'n1' }), {
      event: 'n1',
      step: 0,
      delivery: 'n1',
    });
    assert.deepEqual(chainMarkOf({ action: 'restart', at: 't', message: 'n1', step: 2, delivery: 'c2' }), {
      event: 'n1',
      step: 2,
      delivery: 'c2',
    });
    assert.equal(chainMarkOf({ action: 'restart', at: 't' }), undefined);
  });
});

describe("trustedAppliedBy: only a record of this event's delivery is believed", () => {
  // Delivery of message m-1 for an event at 10:00:00, now 10:10:00.
  const delivery = { id: 'm-1', eventTime: T, now: Date.parse(T) + 600_000 };
  const at = (ms: number): string => new Date(Date.parse(T) + ms).toISOString();
  it('its own message, between the event and now', () => {
    assert.equal(CLOCK_SKEW_MS, 60_000);
    assert.equal(trustedAppliedBy({ action: 'restart', message: 'm-1', at: at(5_000) }, delivery), true);
  });
  it('another message, or none, is not this delivery (a tenant cannot know the id beforehand)', () => {
    assert.equal(trustedAppliedBy({ action: 'restart', message: 'm-0', at: at(5_000) }, delivery), false);
    assert.equal(trustedAppliedBy({ action: 'restart', at: at(5_000) }, delivery), false);
    assert.equal(trustedAppliedBy({ action: 'restart', at: at(5_000) }, { now: delivery.now }), false);
  });
  it('a time after now or before the event, beyond a minute of skew, or no time at all, is not believed', () => {
    const rec = (ms: number) => ({ action: 'restart', message: 'm-1', at: at(ms) }) as const;
    assert.equal(trustedAppliedBy(rec(660_000), delivery), true, 'now + skew');
    assert.equal(trustedAppliedBy(rec(660_001), delivery), false);
    assert.equal(trustedAppliedBy(rec(-60_000), delivery), true, 'event - skew');
    assert.equal(trustedAppliedBy(rec(-60_001), delivery), false);
    assert.equal(
      trustedAppliedBy({ action: 'restart', message: 'm-1', at: '2099-01-01T00:00:00Z' }, delivery),
      false,
    );
    assert.equal(trustedAppliedBy({ action: 'restart', message: 'm-1', at: 'soon' }, delivery), false);
  });
  it('without an event time only the upper bound applies', () => {
    const { eventTime: _e, ...noEvent } = delivery;
    assert.equal(
      trustedAppliedBy({ action: 'reload', message: 'm-1', at: '2020-01-01T00:00:00Z' }, noEvent),
      true,
    );
  });
});
