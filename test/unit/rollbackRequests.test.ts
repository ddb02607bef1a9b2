// The reconcile side of rolling back (pipeline/rollbackRequests.ts): what a halted outcome reports
// and publishes under each policy, and ROTOR_ON_HALT as configuration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventContext } from '../../functions/core/decision';
import { loadConfig } from '../../functions/config';
import { InputError, TransientError } from '../../functions/errors';
import { memoryLogger } from '../../functions/log';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import { outcomeWithoutWorkloads, summarize } from '../../functions/core/outcome';
import type { RollbackContext, RollbackRequester } from '../../functions/pipeline/rollbackRequests';
import { respondToHalt, rollbackContext } from '../../functions/pipeline/rollbackRequests';
import type { SecretMetadata } from '../../functions/secretmanager/types';

const ctx: EventContext = {
  type: 'SECRET_VERSION_ADD',
  secret: { project: 'p', secret: 'db' },
  version: '7',
};
const workload = (name: string, result: 'halted' | 'restarted', reason: string): WorkloadOutcome => ({
  cluster: 'c',
  kind: 'Deployment',
  namespace: name === 'api' ? 'canary' : 'shop',
  name,
  action: 'restart',
  result,
  reason,
});
const halted: EventOutcome = {
  ...outcomeWithoutWorkloads(
    { type: 'SECRET_VERSION_ADD', secret: 'projects/p/secrets/db', version: '7' },
    { kind: 'event' },
    false,
    5,
  ),
  workloads: [
    workload('api', 'halted', 'the rollout failed: api-1 app: CrashLoopBackOff (3 restarts)'),
    workload('other', 'restarted', 'env PW only changes when the pod restarts'),
  ],
  halted: [
    {
      cluster: 'c',
      workload: 'Deployment canary/api',
      reasons: ['api-1 app: CrashLoopBackOff (3 restarts)'],
    },
  ],
};
const recording = (): RollbackRequester & { sent: string[] } => {
  const sent: string[] = [];
  return { sent, request: (d) => Promise.resolve(`m-${sent.push(d)}`), close: () => Promise.resolve() };
};
const policy = (p: 'hold' | 'rollback'): RollbackContext => ({
  ctx,
  policy: { policy: p, source: 'ROTOR_ON_HALT' },
});

describe('a halted outcome under each policy', () => {
  it('rollback: publishes one request for the bad version and reports rolled-back', async () => {
    const requester = recording();
    const o = await respondToHalt(halted, policy('rollback'), requester, false, memoryLogger());
    assert.deepEqual(requester.sent, ['{"secret":"projects/p/secrets/db","action":"rollback","replaces":7}']);
    assert.deepEqual(o.onHalt, {
      response: 'rolled-back',
      reason:
        'the rollout of Deployment canary/api failed; ROTOR_ON_HALT is rollback: asked the rotation function to restore the version before 7',
      request: 'm-1',
    });
    assert.match(summarize(o), /; ROLLED BACK: the rollout of Deployment canary\/api failed; /);
    // The halted workload says it; the other one is as it was.
    assert.deepEqual(
      o.workloads.map((w) => [w.name, w.reason]),
      [
        [
          'api',
          'the previous value is being restored: ROTOR_ON_HALT is rollback, so the rotation function was asked to add the version before 7 again as a new version (it refuses, saying why, if a rotation retired that version); the rollout failed: api-1 app: CrashLoopBackOff (3 restarts)',
        ],
        ['other', 'env PW only changes when the pod restarts'],
      ],
    );
  });

  it('hold, or no rotation topic: held, nothing published', async () => {
    const requester = recording();
    const held = await respondToHalt(halted, policy('hold'), requester, false, memoryLogger());
    assert.equal(held.onHalt?.response, 'held');
    assert.deepEqual(requester.sent, []);
    assert.equal(
      held.workloads[0]?.reason,
      'not rolled back: ROTOR_ON_HALT is hold; the rollout failed: api-1 app: CrashLoopBackOff (3 restarts)',
    );
    const unset = await respondToHalt(halted, policy('rollback'), undefined, false, memoryLogger());
    assert.match(unset.onHalt?.reason ?? '', /, but ROTOR_ROTATION_TOPIC is not set: nothing was asked$/);
    assert.equal(
      unset.workloads[0]?.reason,
      'not rolled back: ROTOR_ON_HALT is rollback, but ROTOR_ROTATION_TOPIC is not set, so the rotation function was not asked; the rollout failed: api-1 app: CrashLoopBackOff (3 restarts)',
    );
  });

  it('not halted: the outcome as it was', async () => {
    const requester = recording();
    const calm = { ...halted, halted: undefined };
    assert.equal(await respondToHalt(calm, policy('rollback'), requester, false, memoryLogger()), calm);
    assert.deepEqual(requester.sent, []);
  });

  it('a request that cannot be published is retried (redelivery), never reported as done', async () => {
    const failing: RollbackRequester = {
      request: () => Promise.reject(new Error('UNAVAILABLE')),
      close: () => Promise.resolve(),
    };
    await assert.rejects(
      respondToHalt(halted, policy('rollback'), failing, false, memoryLogger()),
      TransientError,
    );
  });
});

describe("the secret's settings, read once per delivery", () => {
  const secret = (annotations: Record<string, string>): SecretMetadata => ({
    id: ctx.secret,
    name: 'projects/p/secrets/db',
    etag: '"e"',
    labels: {},
    annotations,
    versionAliases: {},
    topics: [],
  });
  const reader = (s: SecretMetadata) => ({
    getSecret: () => Promise.resolve(s),
    getVersion: () => Promise.reject(new Error('not used')),
  });

  it('the mark scopes the rollback version; the annotation overrides ROTOR_ON_HALT', async () => {
    const mark = JSON.stringify({ replaces: 6, restores: 5, base: 6, version: 7, at: 't' });
    const r = await rollbackContext(
      ctx,
      reader(secret({ 'rotor-rollback': mark, 'rotor-on-halt': 'rollback' })),
      'hold',
      memoryLogger(),
    );
    assert.deepEqual(r.ctx.rollback, { version: '7', restores: '5', replaces: '6' });
    assert.deepEqual(r.policy, { policy: 'rollback', source: "the secret's annotation rotor-on-halt" });
  });

  it('Secret Manager unavailable: retried; the secret gone: the deployment policy, no scope', async () => {
    const down = {
      getSecret: () => Promise.reject(new TransientError('UNAVAILABLE')),
      getVersion: () => Promise.reject(new Error('x')),
    };
    await assert.rejects(rollbackContext(ctx, down, 'hold', memoryLogger()), TransientError);
    const gone = {
      getSecret: () => Promise.reject(new InputError('NOT_FOUND')),
      getVersion: () => Promise.reject(new Error('x')),
    };
    const r = await rollbackContext(ctx, gone, 'rollback', memoryLogger());
    assert.equal(r.ctx, ctx);
    assert.deepEqual(r.policy, { policy: 'rollback', source: 'ROTOR_ON_HALT' });
  });
});

describe('ROTOR_ON_HALT', () => {
  it('hold by default; rollback needs ROTOR_ROTATION_TOPIC; anything else is a clear error', () => {
    assert.equal(loadConfig({}).onHalt, 'hold');
    const on = loadConfig({
      ROTOR_ON_HALT: 'rollback',
      ROTOR_ROTATION_TOPIC: 'projects/p/topics/rotor-rotation',
    });
    assert.deepEqual([on.onHalt, on.rotationTopic], ['rollback', 'projects/p/topics/rotor-rotation']);
    assert.throws(() => loadConfig({ ROTOR_ON_HALT: 'rollback' }), {
      message:
        'ROTOR_ON_HALT=rollback needs ROTOR_ROTATION_TOPIC: the rollback is asked of rotateSecret on its topic',
    });
    assert.throws(() => loadConfig({ ROTOR_ON_HALT: 'undo' }), {
      message: 'ROTOR_ON_HALT="undo" is not one of hold, rollback',
    });
  });
});
