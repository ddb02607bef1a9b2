// The rotation protocol against the Secret Manager stand-in with the `random` strategy: crashes
// between steps, concurrent triggers, redeliveries, retirement, and a 100-secret scheduler message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { rotateOne, PROTOCOL_STEPS } from '../../../functions/rotation/protocol';
import { handleRotationTrigger } from '../../../functions/rotation/rotateSecretFunction';
import { defaultStrategies } from '../../../functions/rotation/strategies';
import { TransientError } from '../../../functions/errors';
import { formatSecretId } from '../../../functions/core/secretName';
import type { World } from './fixtures';
import { LOCK_TTL_MS, startWorld } from './fixtures';

const RANDOM = { 'rotor-strategy': 'random' };

describe('rotation protocol (random strategy)', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
  });

  it('rotates: adds one version, moves current/previous, clears pending and the claim', async () => {
    const id = await w.secret(
      'plain',
      RANDOM,
      { 'rotor-length': '40', 'rotor-alphabet': 'hex' },
      'initial-value-0000',
    );
    const r = await rotateOne(id, w.deps(), { trigger: 't-plain' });
    assert.equal(r.outcome, 'rotated', r.reason);
    assert.equal(r.version, 2);
    assert.equal(r.previous, 1);
    assert.deepEqual(w.aliases(id), { current: 2, previous: 1 });
    assert.match(w.versions(id)[1].data!, /^[0-9a-f]{40}$/);
    assert.equal(w.annotations(id)['rotor-rotation'], undefined);
    assert.equal(
      (JSON.parse(w.annotations(id)['rotor-last-rotation'] ?? '{}') as { version: number }).version,
      2,
    );
  });

  for (const step of PROTOCOL_STEPS) {
    it(`crash after "${step}", then a rerun completes exactly once`, async () => {
      const id = await w.secret(`crash-${step}`, RANDOM, {}, 'initial-value-0000');
      const crashed = await rotateOne(id, w.deps({ crashAfter: step }), { trigger: `m-${step}` });
      assert.equal(crashed.outcome, 'failed');
      assert.equal(crashed.retry, true);
      if (step !== 'finish') {
        // Redelivered at once: the claim is still live, so it asks to be retried later.
        const early = await rotateOne(id, w.deps(), { trigger: `m-${step}` });
        assert.equal(early.outcome, 'failed', early.reason);
        assert.equal(early.retry, true);
        // Any other trigger meanwhile leaves it to the claim holder.
        assert.equal((await rotateOne(id, w.deps(), { trigger: 'someone-else' })).outcome, 'skipped');
        w.clock.advance(LOCK_TTL_MS + 1000);
      }
      const rerun = await rotateOne(id, w.deps(), { trigger: `m-${step}` });
      assert.equal(rerun.outcome, step === 'finish' ? 'skipped' : 'resumed', rerun.reason);
      // Exactly one new version, and it is current.
      const versions = w.versions(id);
      assert.equal(versions.length, 2, `versions: ${versions.map((v) => v.number).join(',')}`);
      assert.deepEqual(w.aliases(id), { current: 2, previous: 1 });
      assert.equal(w.annotations(id)['rotor-rotation'], undefined);
      // And a further redelivery of the same message is a no-op.
      w.clock.advance(LOCK_TTL_MS + 1000);
      assert.equal((await rotateOne(id, w.deps(), { trigger: `m-${step}` })).outcome, 'skipped');
      assert.equal(w.versions(id).length, 2);
    });
  }

  for (const step of ['claim', 'add-version', 'mark-pending', 'set', 'test'] as const) {
    it(`a label edit after "${step}" does not stop the rotation: the claim is still ours`, async () => {
      const id = await w.secret(`edited-${step}`, RANDOM, {}, 'initial-value-0000');
      const r = await rotateOne(
        id,
        w.deps({
          afterStep: async (done) => {
            // Someone edits a label between two steps: the secret's etag changes.
            if (done === step) await w.sm.updateSecret(id, { labels: { ...RANDOM, team: 'payments' } });
          },
        }),
        { trigger: `e-${step}` },
      );
      assert.equal(r.outcome, 'rotated', r.reason);
      assert.equal(w.versions(id).length, 2);
      assert.deepEqual(w.aliases(id), { current: 2, previous: 1 });
      assert.equal(w.annotations(id)['rotor-rotation'], undefined);
      assert.deepEqual(w.standIn.peek(formatSecretId(id))?.labels, { ...RANDOM, team: 'payments' });
    });
  }

  it('a claim taken over by another invocation between steps still stops this one', async () => {
    const id = await w.secret('taken-over', RANDOM, {}, 'initial-value-0000');
    const r = await rotateOne(
      id,
      w.deps({
        afterStep: async (done) => {
          if (done !== 'set') return;
          const annotations = w.annotations(id);
          const claim = JSON.parse(annotations['rotor-rotation'] ?? '{}') as Record<string, unknown>;
          await w.sm.updateSecret(id, {
            annotations: {
              ...annotations,
              'rotor-rotation': JSON.stringify({ ...claim, owner: 'another-invocation' }),
            },
          });
        },
      }),
      { trigger: 'to-1' },
    );
    assert.equal(r.outcome, 'skipped', r.reason);
    assert.match(r.reason, /another invocation changed the secret first \(record test\)/);
    assert.equal(w.aliases(id).current, 1, 'left to the new owner');
  });

  it('two concurrent triggers for one secret make one rotation', async () => {
    const id = await w.secret('race', RANDOM, {}, 'initial-value-0000');
    for (let round = 0; round < 5; round++) {
      w.clock.advance(10 * 60_000);
      const results = await Promise.all([
        rotateOne(id, w.deps(), { trigger: `a${round}` }),
        rotateOne(id, w.deps(), { trigger: `b${round}` }),
      ]);
      const outcomes = results.map((r) => r.outcome).sort();
      assert.deepEqual(outcomes, ['rotated', 'skipped'], results.map((r) => r.reason).join(' | '));
    }
    assert.equal(w.versions(id).length, 6);
    assert.equal(w.aliases(id).current, 6);
  });

  it('skips a trigger within the minimum interval unless forced', async () => {
    const id = await w.secret('interval', RANDOM, {}, 'initial-value-0000');
    assert.equal((await rotateOne(id, w.deps(), { trigger: 'x1' })).outcome, 'rotated');
    const again = await rotateOne(id, w.deps(), { trigger: 'x2' });
    assert.equal(again.outcome, 'skipped');
    assert.match(again.reason, /minimum interval/);
    assert.equal((await rotateOne(id, w.deps(), { trigger: 'x3', force: true })).outcome, 'rotated');
    assert.equal(w.versions(id).length, 3);
  });

  it('a redelivered forced batch where one secret failed does not rotate the others again', async () => {
    const names = ['forced-a', 'forced-b', 'forced-c'];
    for (const n of names) await w.secret(n, RANDOM, {}, 'initial-value-0000');
    const event = schedulerEvent('forced-msg-1', { project: 'test-proj', secrets: names, force: true });
    const env = {
      secretManager: w.sm,
      strategies: defaultStrategies(),
      logger: w.logs,
      now: w.clock.now,
      settings: {
        defaults: { graceMs: null, minIntervalMs: 300_000 },
        lockTtlMs: LOCK_TTL_MS,
        concurrency: 1,
        dryRun: false,
      },
    };
    // One at a time: the first secret's first read fails (UNAVAILABLE), the other two rotate.
    w.standIn.fail('GetSecret', 14, 1);
    await assert.rejects(handleRotationTrigger(event, env), TransientError);
    const versionCount = (n: string): number => w.versions({ project: 'test-proj', secret: n }).length;
    assert.deepEqual(names.map(versionCount), [1, 2, 2]);
    // Pub/Sub redelivers the same message at once (well within the minimum interval, which
    // `force` skips): only the secret that failed rotates.
    const again = await handleRotationTrigger(event, env);
    assert.deepEqual(
      again?.results.map((r) => [r.secret.replace('projects/test-proj/secrets/', ''), r.outcome]),
      [
        ['forced-a', 'rotated'],
        ['forced-b', 'skipped'],
        ['forced-c', 'skipped'],
      ],
    );
    assert.match(again?.results[1]?.reason ?? '', /this trigger already rotated it/);
    assert.deepEqual(names.map(versionCount), [2, 2, 2]);
    // A new forced message is a new rotation, even within the minimum interval.
    const next = await handleRotationTrigger(
      schedulerEvent('forced-msg-2', { project: 'test-proj', secrets: ['forced-b'], force: true }),
      env,
    );
    assert.equal(next?.results[0]?.outcome, 'rotated');
    assert.equal(versionCount('forced-b'), 3);
    // The first message comes back once more, after the newer one rotated forced-b: still a
    // redelivery, not a rotation (the last-rotation record now names forced-msg-2).
    const late = await handleRotationTrigger(event, env);
    assert.deepEqual(
      late?.results.map((r) => r.outcome),
      ['skipped', 'skipped', 'skipped'],
    );
    assert.match(late?.results[1]?.reason ?? '', /this trigger already rotated it \(an earlier rotation\)/);
    assert.deepEqual(names.map(versionCount), [2, 3, 2]);
  });

  it('a random value that no longer fits at the test step is withdrawn cleanly, not wedged', async () => {
    const id = await w.secret('misfit', RANDOM, { 'rotor-min-interval': '0' }, 'initial-value-0000');
    const crashed = await rotateOne(id, w.deps({ crashAfter: 'set' }), { trigger: 'mf-1' });
    assert.equal(crashed.outcome, 'failed');
    // While the claim lives, someone changes the length: the pending value (32) no longer fits.
    await w.sm.updateSecret(id, { annotations: { ...w.annotations(id), 'rotor-length': '40' } });
    w.clock.advance(LOCK_TTL_MS + 1000);
    const r = await rotateOne(id, w.deps(), { trigger: 'mf-1' });
    assert.equal(r.outcome, 'abandoned', r.reason);
    assert.equal(r.retry, false);
    assert.match(r.reason, /not 40 characters of the configured alphabet/);
    assert.deepEqual(
      w.versions(id).map((v) => v.state),
      ['ENABLED', 'DISABLED', 'ENABLED'],
    );
    assert.deepEqual(w.aliases(id), { current: 3 });
    assert.equal(w.versions(id)[2].data, 'initial-value-0000');
    assert.equal(w.annotations(id)['rotor-rotation'], undefined, 'claim released');
    // The next trigger is not blocked by a claim, and rotates with the new length.
    const next = await rotateOne(id, w.deps(), { trigger: 'mf-2' });
    assert.equal(next.outcome, 'rotated', next.reason);
    assert.equal(w.versions(id)[3].data?.length, 40);
  });

  it('disables superseded versions after the grace period, keeping pinned ones', async () => {
    const id = await w.secret(
      'retire',
      RANDOM,
      { 'rotor-disable-after': '1h', 'rotor-min-interval': '0' },
      'initial-value-0000',
    );
    await w.sm.updateSecret(id, { versionAliases: { current: 1, canary: 1 } });
    await rotateOne(id, w.deps(), { trigger: 'r1' }); // v2; v1 pinned by "canary"
    await rotateOne(id, w.deps(), { trigger: 'r2' }); // v3; v2 is previous, within grace
    assert.deepEqual(
      w.versions(id).map((v) => v.state),
      ['ENABLED', 'ENABLED', 'ENABLED'],
    );
    w.clock.advance(2 * 60 * 60_000);
    const retired = await rotateOne(id, w.deps(), { retireOnly: true });
    assert.equal(retired.outcome, 'retired');
    assert.deepEqual(retired.disabled, [2]);
    assert.deepEqual(
      w.versions(id).map((v) => v.state),
      ['ENABLED', 'DISABLED', 'ENABLED'],
    );
    // A cluster-side pin keeps a version no alias names.
    await rotateOne(id, w.deps(), { trigger: 'r3' }); // v4; v3 previous
    w.clock.advance(2 * 60 * 60_000);
    const pinned = await rotateOne(id, w.deps({ pinnedVersions: () => Promise.resolve(new Set([3])) }), {
      retireOnly: true,
    });
    assert.deepEqual(pinned.disabled, []);
    assert.equal(w.versions(id)[2].state, 'ENABLED');
  });

  it('reports a misconfigured secret as a permanent failure without touching it', async () => {
    const id = await w.secret('noconfig', {}, {}, 'initial-value-0000');
    const r = await rotateOne(id, w.deps(), { trigger: 'n1' });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.retry, false);
    assert.match(r.reason, /rotor-strategy/);
    assert.equal(w.versions(id).length, 1);
  });

  it('dry run changes nothing', async () => {
    const id = await w.secret('dry', RANDOM, {}, 'initial-value-0000');
    const r = await rotateOne(id, w.deps(), { trigger: 'd1', dryRun: true });
    assert.equal(r.outcome, 'dry-run');
    assert.equal(w.versions(id).length, 1);
    assert.equal(w.annotations(id)['rotor-rotation'], undefined);
  });

  it('rotates 100 secrets from one scheduler message with bounded concurrency and per-secret results', async () => {
    const names: string[] = [];
    for (let i = 0; i < 100; i++) {
      await w.secret(`bulk-${i}`, RANDOM, {}, i === 7 ? undefined : 'initial-value-0000');
      names.push(`bulk-${i}`);
    }
    let inFlight = 0;
    let peak = 0;
    w.standIn.before('AddSecretVersion', async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
    });
    const event = {
      specversion: '1.0',
      id: 'sched-1',
      source: '//pubsub.googleapis.com/projects/test-proj/topics/rotor-rotate',
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      data: {
        message: {
          data: Buffer.from(JSON.stringify({ project: 'test-proj', secrets: names })).toString('base64'),
          messageId: 'sched-msg-1',
        },
      },
    } as unknown as CloudEvent<unknown>;
    const env = {
      secretManager: w.sm,
      strategies: defaultStrategies(),
      logger: w.logs,
      now: w.clock.now,
      settings: {
        defaults: { graceMs: null, minIntervalMs: 300_000 },
        lockTtlMs: LOCK_TTL_MS,
        concurrency: 6,
        dryRun: false,
      },
    };
    const report = await handleRotationTrigger(event, env);
    w.standIn.before('AddSecretVersion', undefined);
    assert.ok(report);
    assert.equal(report.results.length, 100);
    assert.equal(report.counts.rotated, 100, JSON.stringify(report.counts));
    assert.ok(peak <= 6 && peak >= 2, `peak concurrency ${peak}`);
    for (let i = 0; i < 100; i++) {
      const id = { project: 'test-proj', secret: `bulk-${i}` };
      assert.equal(report.results[i].secret, `projects/test-proj/secrets/bulk-${i}`);
      assert.equal(w.aliases(id).current, i === 7 ? 1 : 2);
    }
    // Redelivery of the same message: all skipped, nothing added.
    const again = await handleRotationTrigger(event, env);
    assert.equal(again?.counts.skipped, 100);
    // A transient Secret Manager failure on one secret: the others finish, the handler throws for redelivery.
    w.standIn.fail('GetSecret', 14, 1);
    const event2 = {
      ...event,
      data: { message: { ...(event.data as { message: object }).message, messageId: 'sched-msg-2' } },
    } as unknown as CloudEvent<unknown>;
    w.clock.advance(10 * 60_000);
    await assert.rejects(handleRotationTrigger(event2, env), TransientError);
  });
});

function schedulerEvent(messageId: string, body: unknown): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id: `event-${messageId}`,
    source: '//pubsub.googleapis.com/projects/test-proj/topics/rotor-rotate',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: { message: { data: Buffer.from(JSON.stringify(body)).toString('base64'), messageId } },
  };
}
