// Rolling a secret back (rotation/rollback.ts) against the Secret Manager stand-in behind the real
// client: the request onSecretEvent publishes after a halt, through the rotateSecret handler;
// redeliveries; an interrupted rollback; a rotation meeting one; refusals; `rotor rollback`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { handleRotationTrigger } from '../../../functions/rotation/rotateSecretFunction';
import type { RotateSecretEnvironment } from '../../../functions/rotation/rotateSecretFunction';
import { rotateOne } from '../../../functions/rotation/protocol';
import { rollbackOne } from '../../../functions/rotation/rollback';
import { rollbackMessageData } from '../../../functions/rotation/schedulerMessage';
import { defaultStrategies } from '../../../functions/rotation/strategies';
import { runRollback } from '../../../functions/cli/rollback';
import { formatSecretId } from '../../../functions/core/secretName';
import { SecretValue } from '../../../functions/secretmanager/secretValue';
import type { World } from './fixtures';
import { LOCK_TTL_MS, startWorld } from './fixtures';

const RANDOM = { 'rotor-strategy': 'random' };

function requestEvent(messageId: string, data: string): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id: `event-${messageId}`,
    source: '//pubsub.googleapis.com/projects/test-proj/topics/rotor-rotate',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: { message: { data: Buffer.from(data).toString('base64'), messageId } },
  };
}

describe('rolling a secret back (rotation function)', () => {
  let w: World;
  let env: RotateSecretEnvironment;
  before(async () => {
    w = await startWorld();
    env = {
      secretManager: w.sm,
      strategies: defaultStrategies(),
      logger: w.logs,
      now: w.clock.now,
      settings: {
        defaults: { graceMs: null, minIntervalMs: 0 },
        lockTtlMs: LOCK_TTL_MS,
        concurrency: 1,
        dryRun: false,
      },
    };
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
  });

  it("the halt's request adds the previous payload as a new version, marks it, moves current; a redelivery changes nothing", async () => {
    const id = await w.secret('halted', RANDOM, {}, 'the-good-value-0001');
    assert.equal((await rotateOne(id, w.deps(), { trigger: 'rotate-1' })).version, 2);
    const bad = w.versions(id)[1]?.data;
    const request = requestEvent('rb-1', rollbackMessageData(formatSecretId(id), 2));
    await handleRotationTrigger(request, env);
    assert.deepEqual(
      w.versions(id).map((v) => [v.number, v.state, v.data]),
      [
        [1, 'ENABLED', 'the-good-value-0001'],
        [2, 'ENABLED', bad],
        [3, 'ENABLED', 'the-good-value-0001'],
      ],
    );
    assert.deepEqual(w.aliases(id), { current: 3, previous: 1 });
    const mark = JSON.parse(w.annotations(id)['rotor-rollback'] ?? '{}') as Record<string, unknown>;
    assert.deepEqual(
      {
        replaces: mark.replaces,
        restores: mark.restores,
        base: mark.base,
        version: mark.version,
        trigger: mark.trigger,
      },
      { replaces: 2, restores: 1, base: 2, version: 3, trigger: 'rb-1' },
    );
    // Pub/Sub redelivers; a later halt of the same version asks again: done is done.
    await handleRotationTrigger(request, env);
    await handleRotationTrigger(requestEvent('rb-1-again', rollbackMessageData(formatSecretId(id), 2)), env);
    assert.equal(w.versions(id).length, 3);
    assert.ok(
      w.logs.entries.some((e) =>
        /rollback skipped: version 2 was already rolled back: version 3 restores version 1/.test(e.message),
      ),
    );
    // The next rotation starts from the restored version.
    const next = await rotateOne(id, w.deps(), { trigger: 'rotate-2', force: true });
    assert.equal(next.outcome, 'rotated', next.reason);
    assert.equal(next.previous, 3);
  });

  it('an interrupted rollback resumes and adopts the version it added; a rotation meanwhile waits', async () => {
    const id = await w.secret('interrupted', RANDOM, {}, 'the-good-value-0002');
    await rotateOne(id, w.deps(), { trigger: 'rotate-i' });
    // As if the rollback crashed after adding its version: the mark without a version, and version 3.
    const s = await w.sm.getSecret(id);
    const at = w.clock.now().toISOString();
    await w.sm.updateSecret(id, {
      annotations: {
        ...s.annotations,
        'rotor-rollback': JSON.stringify({ replaces: 2, restores: 1, base: 2, at }),
      },
    });
    await w.sm.addVersion(id, SecretValue.fromString('the-good-value-0002'));
    const rotation = await rotateOne(id, w.deps(), { trigger: 'rotate-during', force: true });
    assert.equal(rotation.outcome, 'skipped');
    assert.equal(rotation.reason, `a rollback of version 2 to version 1 is under way since ${at}`);
    const r = await rollbackOne(
      id,
      { secretManager: w.sm, logger: w.logs, now: w.clock.now },
      { replaces: 2, trigger: 'rb-2' },
    );
    assert.equal(r.outcome, 'rolled-back', r.reason);
    assert.equal(r.version, 3, 'adopted, not added again');
    assert.equal(w.versions(id).length, 3);
    assert.equal(w.aliases(id).current, 3);
  });

  it('refusals: a strategy that retired the old password on its backend, a retired version, a version not in use', async () => {
    // postgres replaced version 1's password when it rotated to 2 (its last-rotation record says so).
    const single = await w.secret(
      'single-user',
      { 'rotor-strategy': 'postgres' },
      {
        'rotor-last-rotation': JSON.stringify({
          id: 'r',
          version: 2,
          previous: 1,
          finished: '2030-01-01T00:00:00Z',
        }),
      },
      '{"username":"app","password":"first-password-1"}',
    );
    await w.sm.addVersion(
      single,
      SecretValue.fromString('{"username":"app","password":"second-password-2"}'),
    );
    await w.sm.updateSecret(single, { versionAliases: { current: 2, previous: 1 } });
    const deps = { secretManager: w.sm, logger: w.logs, now: w.clock.now };
    const refused = await rollbackOne(single, deps, { replaces: 2 });
    assert.deepEqual(
      [refused.outcome, refused.reason],
      [
        'refused',
        "strategy postgres replaced version 1's password on its backend when it rotated to version 2: restoring it would lock every consumer out",
      ],
    );
    assert.equal(w.versions(single).length, 2, 'nothing added');
    assert.equal(w.annotations(single)['rotor-rollback'], undefined, 'nothing marked');

    const retired = await w.secret('retired', RANDOM, {}, 'value-one-0000001');
    await rotateOne(retired, w.deps(), { trigger: 'rotate-r' });
    await w.sm.disableVersion(retired, 1);
    const past = await rollbackOne(retired, deps, { replaces: 2 });
    assert.deepEqual(
      [past.outcome, past.reason],
      ['refused', 'version 1 is DISABLED: it was retired, and Rotor never restores a retired value'],
    );
    const stale = await rollbackOne(retired, deps, { replaces: 1 });
    assert.equal(
      stale.reason,
      'version 1 is not the version in use (current is 2): a later version replaced it already',
    );
  });

  it('rotor rollback: the same rollback by hand, dry run, clear errors and exit codes', async () => {
    const id = await w.secret('by-hand', RANDOM, {}, 'hand-value-00001');
    await rotateOne(id, w.deps(), { trigger: 'rotate-h' });
    await rotateOne(id, w.deps(), { trigger: 'rotate-h2', force: true });
    const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const code = await runRollback(
        args,
        { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: {} },
        () => env,
      );
      return { code, out, err };
    };
    const name = formatSecretId(id);
    assert.deepEqual(await run('--secret', name, '--to', 'latest'), {
      code: 2,
      out: '',
      err: 'rotor rollback: --to "latest" is not a version number (1, 2, ...): aliases and latest are not accepted\n',
    });
    assert.deepEqual(await run('--secret', `${name}/versions/2`), {
      code: 2,
      out: '',
      err: `rotor rollback: "${name}/versions/2" names a version: name the secret, and the version to restore with --to\n`,
    });
    assert.equal((await run()).err, 'rotor rollback: --secret is required\n');
    const tooNew = await run('--secret', name, '--to', '3');
    assert.equal(tooNew.code, 2);
    assert.match(tooNew.out, /^refused .*--to 3 is not older than version 3/);
    const dry = await run('--secret', name, '--to', '1', '--dry-run');
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /^dry-run .*would restore version 1 in place of version 3/);
    assert.equal(w.versions(id).length, 3, 'a dry run adds nothing');
    const done = await run('--secret', name, '--to', '1', '-o', 'json');
    assert.equal(done.code, 0, done.err);
    const result = JSON.parse(done.out) as Record<string, unknown>;
    assert.deepEqual(
      [result.outcome, result.version, result.restores, result.replaces],
      ['rolled-back', 4, 1, 3],
    );
    assert.equal(w.versions(id)[3]?.data, 'hand-value-00001');
    assert.ok(!done.out.includes('hand-value-00001'), 'never prints a value');
  });
});
