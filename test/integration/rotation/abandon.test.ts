// Withdrawing a value the backend refused (abandon) against the Secret Manager stand-in: every
// step of it resumes after a crash, like the forward steps, and ends in the same clean state.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../functions/errors';
import { ABANDON_STEPS, rotateOne } from '../../../functions/rotation/protocol';
import type { RotationStrategy } from '../../../functions/rotation/strategies';
import { defaultStrategies } from '../../../functions/rotation/strategies';
import { randomStrategy } from '../../../functions/rotation/strategies/random';
import type { SecretId } from '../../../functions/core/secretName';
import type { World } from './fixtures';
import { LOCK_TTL_MS, startWorld } from './fixtures';

const INITIAL = 'initial-value-0000';

/** `random`, with a backend that refuses every new value at the step named by `test-refuse-at`. */
function refusingStrategy(restored: string[]): RotationStrategy {
  return {
    name: 'random',
    async prepare(ctx) {
      const inner = await randomStrategy.prepare(ctx);
      const at = ctx.secret.annotations['test-refuse-at'];
      const refuse = (): Promise<void> =>
        Promise.reject(new InputError('the backend refuses this value', ctx.secret.name));
      return {
        ...inner,
        set: (value) => {
          if (at === 'set') return refuse();
          // Refused at test: the only set after that is the one putting the value in use back.
          if (value.reveal() === INITIAL) restored.push(ctx.secret.name);
          return inner.set(value);
        },
        test: (value) => (at === 'test' ? refuse() : inner.test(value)),
      };
    },
  };
}

describe('abandon (withdrawing a refused value) resumes after a crash at any step', () => {
  let w: World;
  const restored: string[] = [];
  before(async () => {
    w = await startWorld({ ...defaultStrategies(), random: refusingStrategy(restored) });
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
  });

  const assertWithdrawn = (id: SecretId): void => {
    // One refused version disabled, the value in use re-added once and current, no claim left.
    assert.deepEqual(
      w.versions(id).map((v) => v.state),
      ['ENABLED', 'DISABLED', 'ENABLED'],
    );
    assert.equal(w.versions(id)[2].data, INITIAL);
    assert.deepEqual(w.aliases(id), { current: 3 });
    assert.equal(w.annotations(id)['rotor-rotation'], undefined);
  };

  for (const at of ['set', 'test'] as const) {
    it(`refused at ${at}: withdrawn in one run`, async () => {
      const id = await w.secret(
        `refused-${at}`,
        { 'rotor-strategy': 'random' },
        { 'test-refuse-at': at },
        INITIAL,
      );
      const r = await rotateOne(id, w.deps(), { trigger: `r-${at}` });
      assert.equal(r.outcome, 'abandoned', r.reason);
      assert.equal(r.retry, false);
      assert.equal(r.version, 3);
      assertWithdrawn(id);
      assert.equal(restored.includes(`projects/test-proj/secrets/refused-${at}`), at === 'test');
    });

    // Refused at set, the backend never took the value: there is no backend step to crash after.
    const steps = ABANDON_STEPS.filter((s) => at === 'test' || s !== 'abandon-backend');
    for (const step of steps) {
      it(`refused at ${at}, crash after "${step}": the next trigger completes the withdrawal`, async () => {
        const id = await w.secret(
          `crash-${at}-${step}`,
          { 'rotor-strategy': 'random' },
          { 'test-refuse-at': at },
          INITIAL,
        );
        const crashed = await rotateOne(id, w.deps({ crashAfter: step }), { trigger: `c-${at}-${step}` });
        assert.equal(crashed.outcome, 'failed', crashed.reason);
        assert.equal(crashed.retry, true);
        assert.equal(
          (JSON.parse(w.annotations(id)['rotor-rotation'] ?? '{}') as { step?: string }).step,
          'abandoning',
        );
        w.clock.advance(LOCK_TTL_MS + 1000);
        const rerun = await rotateOne(id, w.deps(), { trigger: 'next-trigger' });
        assert.equal(rerun.outcome, 'abandoned', rerun.reason);
        assert.match(rerun.reason, /the backend refuses this value/);
        assertWithdrawn(id);
      });
    }
  }

  it('a redelivery of the trigger whose rotation was abandoned does not try again', async () => {
    const id = await w.secret(
      'refused-redelivered',
      { 'rotor-strategy': 'random' },
      { 'test-refuse-at': 'set' },
      INITIAL,
    );
    assert.equal((await rotateOne(id, w.deps(), { trigger: 'rr-1' })).outcome, 'abandoned');
    // Pub/Sub redelivers the batch (another secret in it failed): no second pending value, no
    // second re-added value (each would be one more SECRET_VERSION_ADD event).
    const again = await rotateOne(id, w.deps(), { trigger: 'rr-1', force: true });
    assert.equal(again.outcome, 'skipped', again.reason);
    assert.match(
      again.reason,
      /this trigger's rotation was abandoned \(version 2 refused: .*the backend refuses this value\)/,
    );
    assertWithdrawn(id);
    // A new trigger is a new attempt.
    assert.equal((await rotateOne(id, w.deps(), { trigger: 'rr-2' })).outcome, 'abandoned');
    assert.equal(w.versions(id).length, 5);
  });

  it('a failure after the version was disabled is retried, never wedged on "version is DISABLED"', async () => {
    const id = await w.secret(
      'fail-after-disable',
      { 'rotor-strategy': 'random' },
      { 'test-refuse-at': 'set' },
      INITIAL,
    );
    // The release (the final secret update) fails once, after the refused version is disabled.
    w.standIn.before('DisableSecretVersion', () => {
      w.standIn.fail('UpdateSecret', 14, 1);
      return Promise.resolve();
    });
    const first = await rotateOne(id, w.deps(), { trigger: 'fd-1' });
    w.standIn.before('DisableSecretVersion', undefined);
    assert.equal(first.outcome, 'failed', first.reason);
    assert.equal(first.retry, true);
    assert.equal(w.versions(id)[1].state, 'DISABLED');
    w.clock.advance(LOCK_TTL_MS + 1000);
    const rerun = await rotateOne(id, w.deps(), { trigger: 'fd-1' });
    assert.equal(rerun.outcome, 'abandoned', rerun.reason);
    assertWithdrawn(id);
  });
});
