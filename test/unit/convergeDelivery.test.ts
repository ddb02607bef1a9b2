// The in-delivery loop's shell around the core (pipeline/converge.ts, onSecretEvent.ts): what
// counts as "the same view" between passes, and how a received continuation is read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notificationMessage } from '../../functions/core/event';
import { loadConfig } from '../../functions/config';
import { memoryLogger } from '../../functions/log';
import { handleSecretEvent } from '../../functions/onSecretEvent';
import type { EventOutcome, WorkloadOutcome } from '../../functions/core/outcome';
import { fingerprintOf } from '../../functions/pipeline/converge';

const workload = (fields: Partial<WorkloadOutcome>): WorkloadOutcome => ({
  cluster: 'c',
  kind: 'Deployment',
  namespace: 'shop',
  name: 'api',
  action: 'restart',
  result: 'waiting',
  reason: 'waiting for the rollout to finish (1/3 updated)',
  waitingFor: 'rollout',
  ...fields,
});

const outcome = (workloads: WorkloadOutcome[], pending = 1): EventOutcome => ({
  event: { type: 'SECRET_VERSION_ADD', secret: 'projects/p/secrets/s', version: '2' },
  scope: { kind: 'event' },
  dryRun: false,
  workloads,
  clusterErrors: [],
  warnings: [],
  pending,
  awaitingRollouts: pending,
  converged: pending === 0,
  durationMs: 12,
});

describe('the view a pass saw (progress between passes)', () => {
  it('the same results and reasons are the same view, however long the pass took', () => {
    assert.equal(
      fingerprintOf(outcome([workload({})])),
      fingerprintOf({ ...outcome([workload({})]), durationMs: 999 }),
    );
  });
  it("a rollout's advance (its reason) is a different view: progress", () => {
    assert.notEqual(
      fingerprintOf(outcome([workload({})])),
      fingerprintOf(outcome([workload({ reason: 'waiting for the rollout to finish (2/3 updated)' })])),
    );
  });
  it('a result that changed is a different view', () => {
    assert.notEqual(
      fingerprintOf(outcome([workload({})])),
      fingerprintOf(outcome([workload({ result: 'restarted', waitingFor: undefined })])),
    );
  });
  it('a failure whose message reads differently each time is the same view: no progress', () => {
    const failed = (reason: string): EventOutcome =>
      outcome([workload({ result: 'failed', reason, waitingFor: undefined })]);
    assert.equal(
      fingerprintOf(failed('transient failure, will retry: connect ECONNREFUSED 10.0.0.1:443 after 1012 ms')),
      fingerprintOf(failed('transient failure, will retry: connect ECONNREFUSED 10.0.0.1:443 after 2030 ms')),
    );
  });
});

describe('a received continuation', () => {
  it('with its attributes malformed is acked with an error, never acted on', async () => {
    const logger = memoryLogger();
    const message = notificationMessage({
      type: 'SECRET_VERSION_ADD',
      secret: 'projects/p/secrets/s',
      version: '2',
    });
    let connected = false;
    const result = await handleSecretEvent(
      { message: { ...message, attributes: { ...message.attributes, rotorStep: '3' }, messageId: 'c1' } },
      {
        config: loadConfig({}),
        logger,
        // Never asked: the message is refused before anything is confirmed.
        secretManager: {
          getSecret: () => Promise.reject(new Error('not asked')),
          getVersion: () => Promise.reject(new Error('not asked')),
        },
        clusters: () => {
          connected = true;
          return Promise.resolve([]);
        },
      },
    );
    assert.equal(result, undefined, 'acked');
    assert.equal(connected, false, 'no cluster touched');
    assert.ok(
      logger.entries.some(
        (e) =>
          e.severity === 'ERROR' &&
          /malformed continuation: a continuation needs both rotorEvent and rotorStep/.test(e.message),
      ),
      JSON.stringify(logger.entries),
    );
  });
});
