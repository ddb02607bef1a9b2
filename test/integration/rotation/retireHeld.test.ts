// rotateSecret says why it keeps a superseded version: a rollout that holds it is named in the
// result (reason and `kept`), against the Secret Manager stand-in with the `random` strategy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rotateOne } from '../../../functions/rotation/protocol';
import { ExplainedPins } from '../../../functions/rotation/retire';
import type { World } from './fixtures';
import { startWorld } from './fixtures';

describe('retirement held by a rollout', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
  });

  it('keeps the previous version while the rollout is halted and says why; retires it once done', async () => {
    const id = await w.secret(
      'held',
      { 'rotor-strategy': 'random' },
      { 'rotor-disable-after': '1h', 'rotor-min-interval': '0' },
      'initial-value-0000',
    );
    await w.sm.updateSecret(id, { versionAliases: { current: 1 } });
    await rotateOne(id, w.deps(), { trigger: 'r1' }); // v2
    w.clock.advance(2 * 60 * 60_000);
    const why =
      'the rollout of prod shop/Deployment/api to version 2 is halted (api-1 app: CrashLoopBackOff)';
    const held = await rotateOne(
      id,
      w.deps({ pinnedVersions: () => Promise.resolve(new ExplainedPins(new Map([[1, why]]))) }),
      { retireOnly: true },
    );
    assert.equal(held.outcome, 'retired');
    assert.deepEqual(held.disabled, []);
    assert.deepEqual(held.kept, [{ version: 1, why }]);
    assert.equal(held.reason, `nothing to disable; kept 1: ${why}`);
    assert.equal(w.versions(id)[0].state, 'ENABLED');

    const done = await rotateOne(
      id,
      w.deps({ pinnedVersions: () => Promise.resolve(new ExplainedPins(new Map())) }),
      {
        retireOnly: true,
      },
    );
    assert.deepEqual(done.disabled, [1]);
    assert.equal(done.kept, undefined);
    assert.equal(w.versions(id)[0].state, 'DISABLED');
  });
});
