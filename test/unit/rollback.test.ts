// Rolling a bad value back, rule by rule (core/rollback.ts): the policy and its per-secret
// override, when a halt asks for a rollback, which version is restored or why none may be (never
// past a retired one), the mark the rotation function leaves, and which workloads R's event moves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RollbackFacts, RollbackMark } from '../../functions/core/rollback';
import {
  onHalt,
  parseHaltPolicy,
  parseRollbackMark,
  planRollback,
  rollbackScopeOf,
  rollbackStep,
  secretHaltPolicy,
} from '../../functions/core/rollback';

const enabled = (...vs: number[]): RollbackFacts['versions'] =>
  vs.map((version) => ({ version, state: 'ENABLED' }));

describe('the halt policy', () => {
  it('reads hold and rollback, any case; anything else is a clear error', () => {
    assert.deepEqual(parseHaltPolicy(' Rollback ', 'ROTOR_ON_HALT'), { ok: true, value: 'rollback' });
    assert.deepEqual(parseHaltPolicy('hold', 'ROTOR_ON_HALT'), { ok: true, value: 'hold' });
    assert.deepEqual(parseHaltPolicy('roll-back', 'ROTOR_ON_HALT'), {
      ok: false,
      error: 'ROTOR_ON_HALT="roll-back" is not one of hold, rollback',
    });
    assert.deepEqual(parseHaltPolicy('', 'ROTOR_ON_HALT'), {
      ok: false,
      error: 'ROTOR_ON_HALT="" is not one of hold, rollback',
    });
  });

  it('the secret overrides the deployment: annotation first, then label', () => {
    assert.deepEqual(secretHaltPolicy({ labels: {}, annotations: {} }, 'hold'), {
      policy: 'hold',
      source: 'ROTOR_ON_HALT',
    });
    assert.deepEqual(secretHaltPolicy({ labels: { 'rotor-on-halt': 'rollback' }, annotations: {} }, 'hold'), {
      policy: 'rollback',
      source: "the secret's label rotor-on-halt",
    });
    assert.deepEqual(
      secretHaltPolicy(
        { labels: { 'rotor-on-halt': 'rollback' }, annotations: { 'rotor-on-halt': 'hold' } },
        'rollback',
      ),
      { policy: 'hold', source: "the secret's annotation rotor-on-halt" },
    );
  });

  it("a bad per-secret value falls back to the deployment's policy and says so", () => {
    assert.deepEqual(secretHaltPolicy({ labels: {}, annotations: { 'rotor-on-halt': 'yes' } }, 'hold'), {
      policy: 'hold',
      source: 'ROTOR_ON_HALT',
      warning: `the secret's annotation rotor-on-halt="yes" is not one of hold, rollback: ROTOR_ON_HALT (hold) applies`,
    });
  });
});

describe('what a halted event does', () => {
  const rollback = { policy: 'rollback' as const, source: 'ROTOR_ON_HALT' };
  const hold = { policy: 'hold' as const, source: "the secret's label rotor-on-halt" };
  it('nothing when nothing halted', () => {
    assert.deepEqual(onHalt([], rollback, { version: '7' }, false), { kind: 'none' });
  });
  it('hold: stays halted for a person', () => {
    assert.deepEqual(onHalt(['Deployment canary/api'], hold, { version: '7' }, false), {
      kind: 'hold',
      reason:
        "the rollout of Deployment canary/api failed; the secret's label rotor-on-halt is hold: fix it, then run rotor apply",
      note: "not rolled back: the secret's label rotor-on-halt is hold",
    });
  });
  it('rollback: asks to replace the halted version; the halted workloads say the previous value is being restored', () => {
    assert.deepEqual(onHalt(['Deployment canary/api'], rollback, { version: '7' }, false), {
      kind: 'request-rollback',
      replaces: 7,
      reason:
        'the rollout of Deployment canary/api failed; ROTOR_ON_HALT is rollback: asked the rotation function to restore the version before 7',
      note: 'the previous value is being restored: ROTOR_ON_HALT is rollback, so the rotation function was asked to add the version before 7 again as a new version (it refuses, saying why, if a rotation retired that version)',
    });
  });
  it('never in a dry run, never without a version number, never a rollback of a rollback', () => {
    assert.deepEqual(onHalt(['D a/b'], rollback, { version: '7' }, true), {
      kind: 'hold',
      reason: 'the rollout of D a/b failed; a dry run rolls nothing back',
      note: 'not rolled back: a dry run rolls nothing back',
    });
    // An alias move: the bad value is current's new target, and current moves to the restored one.
    assert.deepEqual(onHalt(['D a/b'], rollback, { aliases: { current: '7', previous: '6' } }, false), {
      kind: 'request-rollback',
      replaces: 7,
      reason:
        'the rollout of D a/b failed; ROTOR_ON_HALT is rollback: asked the rotation function to restore the version before 7',
      note: 'the previous value is being restored: ROTOR_ON_HALT is rollback, so the rotation function was asked to add the version before 7 (where current moved) again as a new version and move current to it (it refuses, saying why, if a rotation retired that version)',
    });
    assert.deepEqual(onHalt(['D a/b'], rollback, {}, false), {
      kind: 'hold',
      reason: 'the rollout of D a/b failed; the event names no version number to roll back',
      note: 'not rolled back: the event names no version number to roll back',
    });
    assert.deepEqual(onHalt(['D a/b'], rollback, { version: 'latest' }, false).kind, 'hold');
    assert.deepEqual(
      onHalt(
        ['D a/b'],
        rollback,
        { version: '8', rollback: { version: '8', restores: '6', replaces: '7' } },
        false,
      ),
      {
        kind: 'hold',
        reason:
          'the rollout of D a/b failed on version 8, itself a rollback to version 6: not rolled back again',
        note: 'not rolled back: version 8 is itself a rollback to version 6, and a rollback is not rolled back again',
      },
    );
  });
  it('rollback without ROTOR_ROTATION_TOPIC: nothing can be asked, and the halted workloads say so', () => {
    assert.deepEqual(onHalt(['D a/b'], rollback, { version: '7' }, false, false), {
      kind: 'hold',
      reason:
        'the rollout of D a/b failed; ROTOR_ON_HALT is rollback: asked the rotation function to restore the version before 7, but ROTOR_ROTATION_TOPIC is not set: nothing was asked',
      note: 'not rolled back: ROTOR_ON_HALT is rollback, but ROTOR_ROTATION_TOPIC is not set, so the rotation function was not asked',
    });
  });
});

describe('which version a rollback restores', () => {
  const facts = (over: Partial<RollbackFacts>): RollbackFacts => ({
    versions: enabled(5, 6, 7),
    rotationInProgress: false,
    ...over,
  });

  it('the version before the bad one, for a secret without a strategy', () => {
    assert.deepEqual(planRollback({ replaces: 7 }, facts({})), {
      kind: 'rollback',
      restores: 6,
      replaces: 7,
      reason: 'version 6 is still valid: its payload comes back as a new version in place of version 7',
    });
  });

  it('by hand: the version in use (current, else the newest enabled) and --to', () => {
    assert.equal(planRollback({}, facts({ current: 7 })).kind, 'rollback');
    assert.deepEqual(
      planRollback({ to: 5 }, facts({ versions: [...enabled(5, 6), { version: 7, state: 'DISABLED' }] })),
      {
        kind: 'rollback',
        restores: 5,
        replaces: 6,
        reason: 'version 5 is still valid: its payload comes back as a new version in place of version 6',
      },
    );
  });

  it('refuses a version that is not the one in use, or a target not older', () => {
    assert.deepEqual(planRollback({ replaces: 6 }, facts({ current: 7 })), {
      kind: 'refused',
      reason: 'version 6 is not the version in use (current is 7): a later version replaced it already',
    });
    assert.deepEqual(planRollback({ replaces: 7, to: 7 }, facts({})), {
      kind: 'refused',
      reason: '--to 7 is not older than version 7: a rollback restores an earlier version',
    });
    assert.deepEqual(planRollback({ replaces: 7, to: 3 }, facts({})), {
      kind: 'refused',
      reason: 'version 3 does not exist',
    });
    assert.deepEqual(planRollback({ replaces: 9 }, facts({})), {
      kind: 'refused',
      reason: 'version 9 does not exist',
    });
    assert.deepEqual(planRollback({ replaces: 5 }, facts({ versions: enabled(5) })), {
      kind: 'refused',
      reason: 'version 5 is the first version: there is nothing before it',
    });
  });

  it('never restores a retired (disabled, destroyed) version, nor rolls back past one', () => {
    const retired6: RollbackFacts['versions'] = [...enabled(5, 7), { version: 6, state: 'DISABLED' }];
    assert.deepEqual(planRollback({ replaces: 7 }, facts({ versions: retired6 })), {
      kind: 'refused',
      reason: 'version 6 is DISABLED: it was retired, and Rotor never restores a retired value',
    });
    assert.deepEqual(planRollback({ replaces: 7, to: 5 }, facts({ versions: retired6 })), {
      kind: 'refused',
      reason: 'version(s) 6 between 5 and 7 were retired: Rotor never rolls back past a retired version',
    });
    // A value a withdrawn rotation disabled was never served: skipping it is no retirement.
    assert.equal(
      planRollback({ replaces: 7, to: 5 }, facts({ versions: retired6, abandoned: 6 })).kind,
      'rollback',
    );
  });

  it('single-credential strategies replaced the old password on the backend: refused', () => {
    assert.deepEqual(
      planRollback(
        { replaces: 7 },
        facts({ strategy: 'postgres', lastRotation: { version: 7, previous: 6 } }),
      ),
      {
        kind: 'refused',
        reason:
          "strategy postgres replaced version 6's password on its backend when it rotated to version 7: restoring it would lock every consumer out",
      },
    );
    assert.equal(
      planRollback(
        { replaces: 7 },
        facts({ strategy: 'cloudsql', lastRotation: { version: 7, previous: 6 } }),
      ).kind,
      'refused',
    );
    // Version 7 was added by hand, after the last rotation (6): the backend still has 6's password.
    assert.equal(
      planRollback(
        { replaces: 7 },
        facts({ strategy: 'postgres', lastRotation: { version: 6, previous: 5 } }),
      ).kind,
      'rollback',
    );
  });

  it('postgres-alternating: back to the previous user, which retirement keeps valid; never two users back', () => {
    const alternating = facts({
      strategy: 'postgres-alternating',
      lastRotation: { version: 7, previous: 6 },
    });
    assert.deepEqual(planRollback({ replaces: 7 }, alternating), {
      kind: 'rollback',
      restores: 6,
      replaces: 7,
      reason:
        'version 6 is still valid (strategy postgres-alternating): its payload comes back as a new version in place of version 7',
    });
    assert.deepEqual(planRollback({ replaces: 7, to: 5 }, alternating), {
      kind: 'refused',
      reason:
        "strategy postgres-alternating keeps only the user before version 7 (version 6) valid: version 5's user was given a new password since",
    });
  });

  it('idempotent: a rollback done is done, one interrupted resumes, a rotation under way defers it', () => {
    const mark: RollbackMark = { replaces: 7, restores: 6, base: 7, version: 8, at: '2030-01-01T00:00:00Z' };
    assert.deepEqual(
      planRollback({ replaces: 7 }, facts({ versions: enabled(5, 6, 7, 8), current: 8, mark })),
      {
        kind: 'done',
        mark,
        reason: 'version 7 was already rolled back: version 8 restores version 6',
      },
    );
    // Rolling the rollback back would restore the bad value by default: only with --to.
    assert.deepEqual(planRollback({}, facts({ versions: enabled(5, 6, 7, 8), current: 8, mark })), {
      kind: 'refused',
      reason:
        'version 8 is itself a rollback (it restores version 6 in place of version 7): name the version to restore with --to',
    });
    assert.equal(
      planRollback({ to: 6 }, facts({ versions: enabled(5, 6, 7, 8), current: 8, mark })).kind,
      'rollback',
    );
    const started: RollbackMark = { replaces: 7, restores: 6, base: 7, at: '2030-01-01T00:00:00Z' };
    assert.equal(planRollback({ replaces: 7 }, facts({ mark: started })).kind, 'resume');
    assert.deepEqual(planRollback({ replaces: 7 }, facts({ rotationInProgress: true })), {
      kind: 'busy',
      reason: 'a rotation holds the secret: the rollback waits for it to finish',
    });
  });
});

describe('the rollback mark and the events it scopes', () => {
  it('parses what the rotation function writes; refuses malformed or inconsistent marks', () => {
    assert.deepEqual(
      parseRollbackMark('{"replaces":7,"restores":6,"base":7,"version":8,"at":"t","trigger":"m1"}'),
      {
        replaces: 7,
        restores: 6,
        base: 7,
        version: 8,
        at: 't',
        trigger: 'm1',
      },
    );
    assert.equal(parseRollbackMark('not json'), undefined);
    assert.equal(
      parseRollbackMark('{"replaces":6,"restores":7,"base":7,"at":"t"}'),
      undefined,
      'restores a newer one',
    );
    assert.equal(
      parseRollbackMark('{"replaces":7,"restores":6,"base":7,"version":7,"at":"t"}'),
      undefined,
      'R not above base',
    );
    assert.equal(
      parseRollbackMark(`{"replaces":7,"restores":6,"base":7,"at":"${'x'.repeat(3000)}"}`),
      undefined,
    );
  });

  it("R is the mark's version; while it is being added, any version above the base", () => {
    const mark: RollbackMark = { replaces: 7, restores: 6, base: 7, version: 8, at: 't' };
    const r8 = { version: '8', restores: '6', replaces: '7' };
    assert.deepEqual(rollbackScopeOf(mark, { version: '8' }), r8);
    assert.equal(rollbackScopeOf(mark, { version: '9' }), undefined, 'a later version is an ordinary one');
    assert.equal(rollbackScopeOf(mark, { version: '7' }), undefined);
    assert.deepEqual(rollbackScopeOf({ ...mark, version: undefined }, { version: '9' }), {
      version: '9',
      restores: '6',
      replaces: '7',
    });
    // The alias move that points current at R (SECRET_UPDATE: no version, the aliases after it).
    assert.deepEqual(rollbackScopeOf(mark, { aliases: { current: '8', previous: '6' } }), r8);
    assert.equal(rollbackScopeOf(mark, { aliases: { current: '9' } }), undefined);
    assert.equal(rollbackScopeOf(undefined, { version: '8' }), undefined);
  });

  it('in R: only a workload that applied B rolls forward; nothing else moves', () => {
    const scope = { version: '8', restores: '6', replaces: '7' };
    const key = 'projects/p/secrets/db';
    assert.deepEqual(rollbackStep({ [key]: '7' }, key, scope), {
      step: 'roll-forward',
      note: 'rollback: version 8 restores version 6 in place of version 7, which this workload applied',
    });
    assert.equal(rollbackStep({ [`${key}@current`]: '7' }, key, scope).step, 'roll-forward');
    // Moved onto R by an earlier pass or delivery: its rollout is judged like any other.
    assert.equal(rollbackStep({ [key]: '8' }, key, scope).step, 'roll-forward');
    assert.deepEqual(rollbackStep({ [key]: '6', 'projects/p/secrets/other': '7' }, key, scope), {
      step: 'leave',
      reason:
        'version 8 restores version 6 in place of version 7, which this workload never applied (it has version 6): nothing else moves',
    });
    assert.deepEqual(rollbackStep({}, key, scope), {
      step: 'leave',
      reason:
        'version 8 restores version 6 in place of version 7, which this workload never applied (Rotor never acted on it): nothing else moves',
    });
  });
});
