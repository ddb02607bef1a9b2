// rotor.dev/applied-by: parsed leniently (tenant objects), merged per record, written in the same
// patch as rotor.dev/applied, and described for outcomes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartPatch } from '../../functions/cluster/actions';
import {
  appliedBy,
  appliedByAnnotation,
  chainMarkOf,
  describeAppliedBy,
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
