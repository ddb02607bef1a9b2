// A notification is acted on only when Secret Manager's metadata confirms it (issue 18, item 4):
// the decision over plain metadata, every expected reason written by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notificationMessage, parsePubsubMessage } from '../../functions/core/event';
import type { SecretEvent, SecretEventType, SecretResource } from '../../functions/core/event';
import type { MetadataAnswer } from '../../functions/core/notificationCheck';
import { checkNotification, metadataLookup } from '../../functions/core/notificationCheck';
import type { SecretId } from '../../functions/core/secretName';

const SECRET = 'projects/123456789012/secrets/db-password';
const NOW = new Date('2026-12-07T12:00:00.000Z');

function event(
  type: SecretEventType,
  opts: { version?: string; timestamp?: string; publishTime?: string; data?: SecretResource } = {},
): SecretEvent & { secret: SecretId } {
  const e = parsePubsubMessage({
    ...notificationMessage({
      type,
      secret: SECRET,
      ...(opts.version ? { version: opts.version } : {}),
      ...(opts.data ? { data: opts.data } : {}),
      timestamp: opts.timestamp ?? '2026-12-07T11:59:00.000Z',
    }),
    messageId: 'm-1',
    publishTime: opts.publishTime ?? '2026-12-07T11:59:01.000Z',
  });
  if (!e.secret) throw new Error('test event without a secret');
  return { ...e, secret: e.secret };
}

const enabled = (createTime = '2026-12-07T11:58:59.000Z'): MetadataAnswer => ({
  kind: 'version',
  version: { state: 'ENABLED', createTime },
});

describe('metadataLookup: what confirms a notification', () => {
  it('versions.get of the announced version for a version event; secrets.get otherwise', () => {
    const id = { project: '123456789012', secret: 'db-password' };
    assert.deepEqual(metadataLookup(event('SECRET_VERSION_ADD', { version: '9' })), {
      kind: 'version',
      secret: id,
      version: '9',
    });
    assert.deepEqual(metadataLookup(event('SECRET_VERSION_DISABLE', { version: '3' })), {
      kind: 'version',
      secret: id,
      version: '3',
    });
    assert.deepEqual(metadataLookup(event('SECRET_UPDATE', { data: { versionAliases: { prod: '9' } } })), {
      kind: 'secret',
      secret: id,
    });
    assert.deepEqual(metadataLookup(event('SECRET_DELETE')), { kind: 'secret', secret: id });
  });
});

describe('checkNotification', () => {
  it('a version that does not exist (999999999) is refuted, saying so', () => {
    assert.deepEqual(
      checkNotification(event('SECRET_VERSION_ADD', { version: '999999999' }), { kind: 'not-found' }, NOW),
      {
        kind: 'refuted',
        reason: `SECRET_VERSION_ADD of ${SECRET} version 999999999: Secret Manager has no such version`,
      },
    );
  });

  it('the real, enabled version created before the event is confirmed', () => {
    assert.deepEqual(checkNotification(event('SECRET_VERSION_ADD', { version: '9' }), enabled(), NOW), {
      kind: 'confirmed',
    });
  });

  it('a disabled version announced as ADD is refuted; announced as DISABLE it is confirmed', () => {
    const disabled: MetadataAnswer = {
      kind: 'version',
      version: { state: 'DISABLED', createTime: '2026-12-01T00:00:00.000Z' },
    };
    assert.deepEqual(checkNotification(event('SECRET_VERSION_ADD', { version: '8' }), disabled, NOW), {
      kind: 'refuted',
      reason: `SECRET_VERSION_ADD of ${SECRET} version 8: the version is DISABLED in Secret Manager, which a SECRET_VERSION_ADD does not leave it in`,
    });
    assert.deepEqual(checkNotification(event('SECRET_VERSION_DISABLE', { version: '8' }), disabled, NOW), {
      kind: 'confirmed',
    });
    assert.equal(
      checkNotification(event('SECRET_VERSION_ENABLE', { version: '8' }), disabled, NOW).kind,
      'refuted',
    );
    assert.equal(
      checkNotification(event('SECRET_VERSION_DESTROY', { version: '8' }), disabled, NOW).kind,
      'refuted',
    );
    assert.equal(
      checkNotification(event('SECRET_VERSION_DESTROY_SCHEDULED', { version: '8' }), disabled, NOW).kind,
      'confirmed',
    );
  });

  it('a version created after the event time (beyond the skew) is refuted: the event cannot announce it', () => {
    assert.deepEqual(
      checkNotification(
        event('SECRET_VERSION_ADD', { version: '9', timestamp: '2026-12-07T11:00:00.000Z' }),
        enabled('2026-12-07T11:05:00.001Z'),
        NOW,
      ),
      {
        kind: 'refuted',
        reason: `SECRET_VERSION_ADD of ${SECRET} version 9: the version was created at 2026-12-07T11:05:00.001Z, after the event time 2026-12-07T11:00:00.000Z`,
      },
    );
    assert.deepEqual(
      checkNotification(
        event('SECRET_VERSION_ADD', { version: '9', timestamp: '2026-12-07T11:00:00.000Z' }),
        enabled('2026-12-07T11:05:00.000Z'),
        NOW,
      ),
      { kind: 'confirmed' },
      'within the skew',
    );
  });

  it('an alias the notification claims moved but did not is refuted, naming where it points', () => {
    const update = event('SECRET_UPDATE', { data: { versionAliases: { prod: '9', canary: '9' } } });
    assert.deepEqual(
      checkNotification(update, { kind: 'secret', secret: { versionAliases: { prod: 8, canary: 9 } } }, NOW),
      {
        kind: 'refuted',
        reason: `SECRET_UPDATE of ${SECRET}: alias "prod" points at version 8 in Secret Manager, not at version "9" as the notification says`,
      },
    );
    assert.deepEqual(
      checkNotification(update, { kind: 'secret', secret: { versionAliases: { canary: 9 } } }, NOW),
      {
        kind: 'refuted',
        reason: `SECRET_UPDATE of ${SECRET}: alias "prod" points at no version in Secret Manager, not at version "9" as the notification says`,
      },
    );
    assert.deepEqual(
      checkNotification(
        update,
        { kind: 'secret', secret: { versionAliases: { prod: 9, canary: 9, other: 2 } } },
        NOW,
      ),
      { kind: 'confirmed' },
    );
  });

  it('an event time in 2099 is refuted whatever Secret Manager holds', () => {
    const move = event('SECRET_UPDATE', {
      data: { versionAliases: { prod: '9' } },
      timestamp: '2099-01-01T00:00:00.000Z',
    });
    assert.deepEqual(
      checkNotification(move, { kind: 'secret', secret: { versionAliases: { prod: 9 } } }, NOW),
      {
        kind: 'refuted',
        reason: `SECRET_UPDATE of ${SECRET}: its event time 2099-01-01T00:00:00.000Z lies in the future (now 2026-12-07T12:00:00.000Z, 5 min of clock skew allowed)`,
      },
    );
  });

  it('a publish time in the future is refuted too', () => {
    assert.deepEqual(
      checkNotification(
        event('SECRET_VERSION_ADD', { version: '9', publishTime: '2026-12-07T12:05:00.001Z' }),
        enabled(),
        NOW,
      ),
      {
        kind: 'refuted',
        reason: `SECRET_VERSION_ADD of ${SECRET} version 9: its publish time 2026-12-07T12:05:00.001Z lies in the future (now 2026-12-07T12:00:00.000Z, 5 min of clock skew allowed)`,
      },
    );
  });

  it('an event time ahead of the clock within the skew is accepted', () => {
    assert.deepEqual(
      checkNotification(
        event('SECRET_VERSION_ADD', {
          version: '9',
          timestamp: '2026-12-07T12:05:00.000Z',
          publishTime: '2026-12-07T12:04:59.000Z',
        }),
        enabled('2026-12-07T12:04:58.000Z'),
        NOW,
      ),
      { kind: 'confirmed' },
    );
  });

  it('a refusal (a secret Rotor may not read) is refuted with the refusal; a delete is confirmed by absence only', () => {
    assert.deepEqual(
      checkNotification(
        event('SECRET_VERSION_ADD', { version: '9' }),
        { kind: 'refused', why: 'permission-denied: PERMISSION_DENIED' },
        NOW,
      ),
      {
        kind: 'refuted',
        reason: `SECRET_VERSION_ADD of ${SECRET} version 9: Secret Manager refused to confirm it (permission-denied: PERMISSION_DENIED)`,
      },
    );
    assert.deepEqual(checkNotification(event('SECRET_DELETE'), { kind: 'not-found' }, NOW), {
      kind: 'confirmed',
    });
    assert.deepEqual(
      checkNotification(event('SECRET_DELETE'), { kind: 'secret', secret: { versionAliases: {} } }, NOW),
      { kind: 'refuted', reason: `SECRET_DELETE of ${SECRET}: the secret still exists` },
    );
    assert.deepEqual(checkNotification(event('SECRET_UPDATE'), { kind: 'not-found' }, NOW), {
      kind: 'refuted',
      reason: `SECRET_UPDATE of ${SECRET}: Secret Manager has no such secret`,
    });
  });

  it('outside text in the reason is bounded: a 10 000-character alias name is cut', () => {
    const long = 'a'.repeat(10_000);
    const check = checkNotification(
      event('SECRET_UPDATE', { data: { versionAliases: { [long]: '9' } } }),
      { kind: 'secret', secret: { versionAliases: {} } },
      NOW,
    );
    assert.equal(check.kind, 'refuted');
    assert.ok(check.kind === 'refuted' && check.reason.length < 300, JSON.stringify(check));
  });
});
