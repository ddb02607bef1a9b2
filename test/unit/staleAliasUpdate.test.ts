// A stale SECRET_UPDATE must not wind an alias record back: rotor.dev/applied keeps, per alias, the
// event time of the move it recorded, and an older event is a no-op (functions/core/appliedAlias.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appliedValue,
  readAppliedValue,
  recordedVersion,
  staleAliasMove,
} from '../../functions/core/appliedAlias';
import { restartPatch } from '../../functions/cluster/actions';
import type { Decision, EventContext } from '../../functions/core/decision';
import { decide } from '../../functions/core/decision';
import { DependencyIndex, workloadRef } from '../../functions/core/discovery';
import { inventoryFrom } from '../../functions/core/inventory';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { container, csiVolume, deployment, mount, spc } from './k8s';

const DB = 'projects/my-proj/secrets/db-password';
const KEY = `${DB}@current`;
const T5 = '2026-12-01T10:00:00.000Z';
const T6 = '2026-12-01T10:05:00.000Z';
const T7 = '2026-12-01T10:10:00.000Z';

const update = (current: string, time?: string): EventContext => ({
  type: 'SECRET_UPDATE',
  secret: parseSecretName(DB).id,
  aliases: { current },
  ...(time ? { time } : {}),
});

/** A Deployment reading `current` through a CSI file, restarted on change (no reload endpoint). */
function follower(applied?: Record<string, string>): KubeObject {
  return deployment(
    'api',
    {
      containers: [container('app', { volumeMounts: [mount('s', '/s')] })],
      volumes: [csiVolume('s', 'current')],
    },
    applied ? { annotations: { 'rotor.dev/applied': JSON.stringify(applied) } } : {},
  );
}

function decideFor(w: KubeObject, ev: EventContext): Decision {
  const world = [spc('current', [{ resourceName: `${DB}/versions/current`, path: 'pw' }]), w];
  const index = new DependencyIndex(inventoryFrom('c', world), { projects: new ProjectMap() });
  const [found] = index.dependentsOf(ev.secret);
  assert.ok(found, 'the workload depends on db-password');
  return decide(found, ev, { secretKey: index.keyOf(ev.secret) });
}

/** rotor.dev/applied as Rotor writes it after acting on `d`. */
function appliedAfter(w: KubeObject, d: Decision): Record<string, string> {
  const { body } = restartPatch(workloadRef('c', w), w, T7, 'records' in d ? d.records : []);
  const raw = (body as { metadata: { annotations: Record<string, string> } }).metadata.annotations[
    'rotor.dev/applied'
  ];
  return JSON.parse(raw) as Record<string, string>;
}

describe('alias records carry the time of the event that moved them', () => {
  it('value format: VERSION@TIME, and the plain VERSION of older records still reads', () => {
    assert.equal(appliedValue('6', T6), `6@${T6}`);
    assert.equal(appliedValue('6'), '6');
    assert.equal(appliedValue('6', 'not a time'), '6');
    assert.deepEqual(readAppliedValue(`6@${T6}`), { version: '6', movedAt: T6 });
    assert.deepEqual(readAppliedValue('6'), { version: '6' });
    assert.equal(readAppliedValue(undefined), undefined);
    assert.equal(recordedVersion(`6@${T6}`), '6');
    assert.equal(recordedVersion('6'), '6');
  });

  it('stale only when both times are known and the event is strictly older than the record', () => {
    assert.equal(staleAliasMove(`6@${T6}`, T5), T6);
    assert.equal(staleAliasMove(`6@${T6}`, T6), undefined);
    assert.equal(staleAliasMove(`6@${T6}`, T7), undefined);
    assert.equal(staleAliasMove('6', T5), undefined, 'an old-format record cannot tell');
    assert.equal(staleAliasMove(`6@${T6}`, undefined), undefined);
    assert.equal(staleAliasMove('6@garbage', T5), undefined);
    assert.equal(staleAliasMove(undefined, T5), undefined);
  });

  it('acting on a move records the alias with the event time', () => {
    const w = follower();
    const d = decideFor(w, update('6', T6));
    assert.equal(d.action, 'restart', d.reason);
    assert.deepEqual(d.records, [{ key: KEY, version: '6', movedAt: T6 }]);
    assert.deepEqual(appliedAfter(w, d), { [KEY]: `6@${T6}` });
  });

  it('a late current=5, older than the recorded current=6, is none and says it is stale; the record stays', () => {
    const w = follower({ [KEY]: `6@${T6}`, [DB]: '9' });
    const d = decideFor(w, update('5', T5));
    assert.equal(d.action, 'none');
    assert.equal(
      d.reason,
      `stale update: alias "current" of ${DB} was moved to version 6 by a later event (${T6}); this one (${T5}, version 5) is older (CSI file pw in app)`,
    );
    assert.ok(!('records' in d), 'nothing is written');
    // And the next real move after it is still acted on once.
    const next = decideFor(w, update('7', T7));
    assert.equal(next.action, 'restart', next.reason);
    assert.deepEqual(appliedAfter(w, next), { [KEY]: `7@${T7}`, [DB]: '9' });
  });

  it('the same move redelivered is already applied; a later move back (a rollback) is acted on', () => {
    const w = follower({ [KEY]: `6@${T6}` });
    assert.match(decideFor(w, update('6', T6)).reason, /^alias "current" at version 6 of .* already applied/);
    assert.match(decideFor(w, update('6', T7)).reason, /already applied/);
    const back = decideFor(w, update('5', T7));
    assert.equal(back.action, 'restart', back.reason);
    assert.deepEqual(back.records, [{ key: KEY, version: '5', movedAt: T7 }]);
  });

  it('records in the old plain format: no time to compare, so a differing version is acted on (as before)', () => {
    const w = follower({ [KEY]: '6' });
    const d = decideFor(w, update('5', T5));
    assert.equal(d.action, 'restart', d.reason);
    assert.deepEqual(appliedAfter(w, d), { [KEY]: `5@${T5}` });
    assert.match(decideFor(w, update('6', T5)).reason, /already applied/);
  });
});
