// The two ways in: the rotateSecret CloudEvent handler configured from environment variables,
// and `rotor rotate` (runRotate) with its exit codes and output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { notificationMessage } from '../../../functions/core/event';
import { runRotate } from '../../../functions/cli/rotate';
import {
  createRotateSecretHandler,
  environmentFromEnv,
} from '../../../functions/rotation/rotateSecretFunction';
import { rotationSettingsFromEnv } from '../../../functions/rotation/settings';
import { defaultStrategies } from '../../../functions/rotation/strategies';
import type { World } from './fixtures';
import { LOCK_TTL_MS, startWorld } from './fixtures';

describe('rotation entry points', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
  });

  it('rotateSecret: a SECRET_ROTATE CloudEvent rotates the secret, configured from the environment', async () => {
    const id = await w.secret('fn-rotate', { 'rotor-strategy': 'random' }, {}, 'initial-value-0000');
    const handler = createRotateSecretHandler(() => ({
      ...environmentFromEnv({
        ROTOR_SECRET_MANAGER_ENDPOINT: w.standIn.endpoint,
        ROTOR_ROTATION_CONCURRENCY: '2',
      }),
      logger: w.logs,
    }));
    const message = {
      ...notificationMessage({ type: 'SECRET_ROTATE', secret: 'projects/test-proj/secrets/fn-rotate' }),
      messageId: 'rot-1',
    };
    const event = {
      specversion: '1.0',
      id: 'e1',
      source: 's',
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      data: { message, subscription: 'projects/test-proj/subscriptions/rotor' },
    } as unknown as CloudEvent<unknown>;
    await handler(event);
    assert.equal(w.aliases(id).current, 2);
    // Not a rotation trigger: acked without doing anything.
    const add = {
      ...event,
      data: {
        message: notificationMessage({
          type: 'SECRET_VERSION_ADD',
          secret: 'projects/test-proj/secrets/fn-rotate',
          version: '2',
        }),
      },
    } as unknown as CloudEvent<unknown>;
    await handler(add);
    // Malformed: logged and acked, never thrown.
    await handler({
      ...event,
      data: { message: { data: Buffer.from('{"secrets": 5}').toString('base64') } },
    });
    assert.equal(w.versions(id).length, 2);
    assert.ok(w.logs.entries.some((e) => e.severity === 'ERROR' && /rejected/.test(e.message)));
  });

  it('rotor rotate: rotates, prints results without values, and uses exit codes 0/1/2', async () => {
    const id = await w.secret('cli-secret', { 'rotor-strategy': 'random' }, {}, 'initial-value-0000');
    await w.secret('cli-unconfigured', {}, {}, 'initial-value-0000');
    const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const code = await runRotate(
        args,
        { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {} },
        () => ({
          secretManager: w.sm,
          strategies: defaultStrategies(),
          logger: w.logs,
          now: w.clock.now,
          settings: { ...rotationSettingsFromEnv({}), lockTtlMs: LOCK_TTL_MS },
        }),
      );
      return { code, out, err };
    };
    const ok = await run(['--secret', 'cli-secret', '--project', 'test-proj', '--output', 'json']);
    assert.equal(ok.code, 0, ok.err);
    const parsed = JSON.parse(ok.out) as { results: Array<{ outcome: string; version: number }> };
    assert.equal(parsed.results[0]?.outcome, 'rotated');
    assert.equal(parsed.results[0]?.version, 2);
    const newValue = w.versions(id)[1]?.data ?? '';
    assert.ok(newValue.length === 32 && !ok.out.includes(newValue) && !ok.err.includes(newValue));

    const soon = await run(['--secret', 'projects/test-proj/secrets/cli-secret']);
    assert.equal(soon.code, 0);
    assert.match(soon.out, /^skipped/);
    const forced = await run(['--secret=projects/test-proj/secrets/cli-secret', '--force']);
    assert.match(forced.out, /^rotated .* version 3/);

    const dry = await run(['--secret', 'projects/test-proj/secrets/cli-secret', '--dry-run', '--force']);
    assert.match(dry.out, /^dry-run/);
    assert.equal(w.versions(id).length, 3);

    assert.equal((await run([])).code, 2);
    assert.equal((await run(['--secret', 'short-name'])).code, 2);
    assert.equal((await run(['--secret', 'projects/p/secrets/s', '--bogus'])).code, 2);
    const unconfigured = await run(['--secret', 'projects/test-proj/secrets/cli-unconfigured']);
    assert.equal(unconfigured.code, 2);
    assert.match(unconfigured.out, /rotor-strategy/);
    w.standIn.fail('GetSecret', 14, 1);
    const down = await run(['--secret', 'projects/test-proj/secrets/cli-secret', '--force']);
    assert.equal(down.code, 1);
    assert.equal((await run(['--help'])).code, 0);
  });
});
