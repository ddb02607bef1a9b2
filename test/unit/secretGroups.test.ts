// One restart for related secrets (core/secretGroups.ts): which other secrets are members, which
// are in flight, and what the group makes of a restart (act alone, act together, wait, give up on
// the wait). Expected reasons and instants are written out by hand beside each case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveDecision } from '../../functions/core/liveDecision';
import type { GroupCandidate, GroupInputs, GroupPolicy } from '../../functions/core/secretGroups';
import {
  MAX_GROUP_MEMBERS,
  groupDecision,
  groupGate,
  groupMarker,
  inFlightMembers,
  sharedMarker,
} from '../../functions/core/secretGroups';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const policy: GroupPolicy = { windowMs: 300_000, maxWaitMs: 600_000 };
const USER = 'projects/p/secrets/db-user';
const PASS = 'projects/p/secrets/db-pass';

const member = (over: Partial<GroupCandidate> = {}): GroupCandidate => ({
  secretKey: USER,
  marker: { group: 'db' },
  newest: { version: '4', createdAtMs: T0 + 2_000 },
  applied: '3',
  visible: false,
  detail: 'ExternalSecret shop/db-user not refreshed since the event',
  ...over,
});
const inputs = (over: Partial<GroupInputs> = {}): GroupInputs => ({
  event: { secretKey: PASS, marker: { group: 'db' }, timeMs: T0 },
  candidates: [member()],
  policy,
  now: T0 + 10_000,
  ...over,
});
const restart: LiveDecision = {
  action: 'restart',
  reason: 'env DB_PASS in app (Secret db from ExternalSecret db-pass) only changes when the pod restarts',
  records: [{ key: PASS, version: '7' }],
  at: '2026-12-07T10:00:10.000Z',
};

describe('group markers', () => {
  it('reads the rotor-group label, else the annotation; the label wins', () => {
    assert.deepEqual(groupMarker({ 'rotor-group': 'db' }, { 'rotor-group': 'other' }, undefined), {
      group: 'db',
    });
    assert.deepEqual(groupMarker({}, { 'rotor-group': 'cache' }, 'msg-1'), {
      group: 'cache',
      batch: 'msg-1',
    });
    assert.deepEqual(groupMarker({}, {}, undefined), {});
  });
  it('ignores an empty or oversized group name', () => {
    assert.deepEqual(groupMarker({ 'rotor-group': '  ' }, {}, undefined), {});
    assert.deepEqual(groupMarker({ 'rotor-group': 'x'.repeat(64) }, {}, undefined), {});
  });
  it('two secrets share a group, or a rotation batch, or nothing', () => {
    assert.equal(sharedMarker({ group: 'db' }, { group: 'db' }), 'group "db"');
    assert.equal(
      sharedMarker({ group: 'db', batch: 'm1' }, { group: 'x', batch: 'm1' }),
      'rotation batch m1',
    );
    assert.equal(sharedMarker({ group: 'db' }, { group: 'cache' }), undefined);
    assert.equal(sharedMarker({}, {}), undefined);
  });
});

describe('members in flight', () => {
  it('a member with a newer version created within the window is in flight', () => {
    assert.deepEqual(inFlightMembers(inputs()), [
      {
        secretKey: USER,
        version: '4',
        via: 'group "db"',
        visible: false,
        detail: 'ExternalSecret shop/db-user not refreshed since the event',
      },
    ]);
  });
  it('not when its version is already recorded on the workload, or an older one', () => {
    assert.deepEqual(inFlightMembers(inputs({ candidates: [member({ applied: '4' })] })), []);
    assert.deepEqual(inFlightMembers(inputs({ candidates: [member({ applied: '5' })] })), []);
  });
  it('a member never recorded on the workload counts as behind', () => {
    assert.equal(inFlightMembers(inputs({ candidates: [member({ applied: undefined })] })).length, 1);
  });
  it('not when its version was created outside the window (5 min + 1 ms before the event)', () => {
    const old = member({ newest: { version: '4', createdAtMs: T0 - 300_001 } });
    assert.deepEqual(inFlightMembers(inputs({ candidates: [old] })), []);
    const edge = member({ newest: { version: '4', createdAtMs: T0 - 300_000 } });
    assert.equal(inFlightMembers(inputs({ candidates: [edge] })).length, 1);
  });
  it('not in another group, not the event secret itself, not without a known newest version', () => {
    assert.deepEqual(inFlightMembers(inputs({ candidates: [member({ marker: { group: 'cache' } })] })), []);
    assert.deepEqual(inFlightMembers(inputs({ candidates: [member({ secretKey: PASS })] })), []);
    assert.deepEqual(inFlightMembers(inputs({ candidates: [member({ newest: undefined })] })), []);
  });
  it('at most MAX_GROUP_MEMBERS members are considered', () => {
    const many = Array.from({ length: 20 }, (_, i) => member({ secretKey: `projects/p/secrets/s${i}` }));
    assert.equal(MAX_GROUP_MEMBERS, 16);
    assert.equal(inFlightMembers(inputs({ candidates: many })).length, 16);
  });
});

describe('the group gate and the decision it makes', () => {
  it('no member in flight: the restart stands as decided', () => {
    const gate = groupGate(inputs({ candidates: [member({ applied: '4' })] }));
    assert.deepEqual(gate, { kind: 'alone' });
    assert.equal(groupDecision(restart, gate, policy), restart);
  });

  it('a member not visible yet: the restart waits for it until 10 min after the event, naming it', () => {
    const gate = groupGate(inputs());
    assert.equal(gate.kind, 'wait');
    assert.deepEqual(groupDecision(restart, gate, policy), {
      action: 'wait',
      reason:
        'env DB_PASS in app (Secret db from ExternalSecret db-pass) only changes when the pod restarts; the restart waits for projects/p/secrets/db-user version 4 (group "db"), rotated with it and not visible yet (ExternalSecret shop/db-user not refreshed since the event)',
      waitingFor: 'group',
      nudge: [],
      forceSecretSyncs: [],
      giveUpAt: Date.parse('2026-12-07T10:10:00Z'),
    });
  });

  it('every member visible: one restart that also records the members it covers', () => {
    const visible = member({ visible: true, detail: 'ExternalSecret shop/db-user refreshed at 10:00:05' });
    const gate = groupGate(inputs({ candidates: [visible] }));
    assert.deepEqual(groupDecision(restart, gate, policy), {
      ...restart,
      reason: `${restart.reason}; one restart for projects/p/secrets/db-user version 4 (group "db"), all visible`,
      records: [
        { key: PASS, version: '7' },
        { key: USER, version: '4' },
      ],
    });
  });

  it('at the bound it still waits; one millisecond past it, restarts without the missing member and says so', () => {
    const atBound = groupGate(inputs({ now: T0 + 600_000 }));
    assert.equal(atBound.kind, 'wait');
    const other = member({
      secretKey: 'projects/p/secrets/db-host',
      visible: true,
      detail: 'ExternalSecret shop/db-host refreshed',
    });
    const past = groupGate(inputs({ now: T0 + 600_001, candidates: [member(), other] }));
    assert.deepEqual(groupDecision(restart, past, policy), {
      ...restart,
      reason: `${restart.reason}; waited 600s (ROTOR_GROUP_WAIT_SECONDS) for projects/p/secrets/db-user version 4 (group "db"), still not visible (ExternalSecret shop/db-user not refreshed since the event): restarting without it`,
      records: [
        { key: PASS, version: '7' },
        { key: 'projects/p/secrets/db-host', version: '4' },
      ],
    });
  });

  it('a reload is never held: it restarts no pod', () => {
    const reload: LiveDecision = {
      action: 'reload',
      reason: 'CSI file db updates in place',
      endpoint: { port: '8080', path: '/reload' },
      pods: [],
      records: [{ key: PASS, version: '7' }],
      onFailure: { restart: false },
    };
    assert.equal(groupDecision(reload, groupGate(inputs()), policy), reload);
  });

  it('members of one rotation batch are waited for like a group', () => {
    const batch = member({ marker: { batch: 'msg-42' } });
    const gate = groupGate(
      inputs({ event: { secretKey: PASS, marker: { batch: 'msg-42' }, timeMs: T0 }, candidates: [batch] }),
    );
    assert.equal(gate.kind, 'wait');
    assert.equal(gate.kind === 'wait' ? gate.waitingFor[0]?.via : undefined, 'rotation batch msg-42');
  });
});
