// The shell around the check (functions/notificationVerifier.ts), through the real Secret Manager
// client on the stand-in: which answer is a refusal (ack) and which may pass (throw: redelivery).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { notificationMessage, parsePubsubMessage } from '../../functions/core/event';
import type { SecretEvent } from '../../functions/core/event';
import type { SecretId } from '../../functions/core/secretName';
import { TransientError } from '../../functions/errors';
import { memoryLogger } from '../../functions/log';
import { confirmedBySecretManager, verifyNotification } from '../../functions/notificationVerifier';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';

const SECRET = 'projects/123456789012/secrets/db-password';

function versionAdd(version: string): SecretEvent & { secret: SecretId } {
  const e = parsePubsubMessage({
    ...notificationMessage({ type: 'SECRET_VERSION_ADD', secret: SECRET, version }),
    messageId: `m-${version}`,
  });
  if (!e.secret) throw new Error('no secret');
  return { ...e, secret: e.secret };
}

describe('confirming a notification with Secret Manager', () => {
  let sm: Awaited<ReturnType<typeof startConfirmingSecretManager>>;
  before(async () => {
    sm = await startConfirmingSecretManager();
    sm.standIn.hold(SECRET, { version: 9, createTime: new Date(Date.now() - 60_000) });
  });
  after(() => sm.close());

  it('the version it holds: confirmed, nothing logged', async () => {
    const log = memoryLogger();
    assert.equal(await confirmedBySecretManager(versionAdd('9'), sm.secretManager, log, new Date()), true);
    assert.deepEqual(log.entries, []);
  });

  it('a version it does not hold: one ERROR line, and the caller acks', async () => {
    const log = memoryLogger();
    assert.equal(await confirmedBySecretManager(versionAdd('10'), sm.secretManager, log, new Date()), false);
    assert.deepEqual(
      log.entries.map((e) => [e.severity, e.message, e.secret]),
      [
        [
          'ERROR',
          `notification not confirmed by Secret Manager, acked without acting: SECRET_VERSION_ADD of ${SECRET} version 10: Secret Manager has no such version`,
          SECRET,
        ],
      ],
    );
  });

  it('UNAVAILABLE may pass: thrown as a TransientError (redelivery), nothing logged as refused', async () => {
    sm.standIn.fail('GetSecretVersion', grpc.status.UNAVAILABLE);
    const log = memoryLogger();
    await assert.rejects(
      confirmedBySecretManager(versionAdd('9'), sm.secretManager, log, new Date()),
      (e: unknown) => {
        assert.ok(e instanceof TransientError, String(e));
        assert.match(
          e.message,
          /^confirming the notification with Secret Manager failed \(.*\): Pub\/Sub will redeliver$/,
        );
        return true;
      },
    );
    assert.deepEqual(log.entries, []);
  });

  it('PERMISSION_DENIED is a definite answer: refuted with the refusal', async () => {
    sm.standIn.fail('GetSecretVersion', grpc.status.PERMISSION_DENIED);
    const check = await verifyNotification(versionAdd('9'), sm.secretManager, new Date());
    assert.equal(check.kind, 'refuted');
    assert.match(
      check.kind === 'refuted' ? check.reason : '',
      new RegExp(
        `^SECRET_VERSION_ADD of ${SECRET} version 9: Secret Manager refused to confirm it \\(get ${SECRET}/versions/9: .*injected fault on GetSecretVersion\\)$`,
      ),
    );
  });
});
