import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRotationTrigger } from '../../../functions/rotation/schedulerMessage';
import { notificationMessage } from '../../../functions/core/event';
import { InputError } from '../../../functions/errors';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const cloudEvent = (message: Record<string, unknown>): Record<string, unknown> => ({
  specversion: '1.0',
  id: 'evt-1',
  source: '//pubsub.googleapis.com/projects/p/topics/rotate',
  type: 'google.cloud.pubsub.topic.v1.messagePublished',
  data: { message, subscription: 'projects/p/subscriptions/s' },
});

describe('rotation trigger parsing', () => {
  it('reads a JSON scheduler message with short and full names, deduplicated', () => {
    const t = parseRotationTrigger(
      cloudEvent({
        data: b64(JSON.stringify({ secrets: ['db', 'projects/other/secrets/api', 'db'], project: 'p' })),
        messageId: '42',
      }),
    );
    assert.equal(t.kind, 'rotate');
    if (t.kind !== 'rotate') return;
    assert.deepEqual(t.request.secrets, [
      { project: 'p', secret: 'db' },
      { project: 'other', secret: 'api' },
    ]);
    assert.equal(t.request.trigger, '42');
    assert.equal(t.request.source, 'scheduler');
    assert.equal(t.request.retireOnly, false);
  });

  it('accepts a JSON array, plain text, attributes, regional names and retire actions', () => {
    const arr = parseRotationTrigger({
      message: { data: b64('["projects/p/locations/europe-west1/secrets/r"]'), message_id: '7' },
    });
    assert.ok(
      arr.kind === 'rotate' &&
        arr.request.secrets[0].location === 'europe-west1' &&
        arr.request.trigger === '7',
    );
    const text = parseRotationTrigger({ data: b64('a, b\nc'), attributes: {} }, { defaultProject: 'dp' });
    assert.ok(text.kind === 'rotate' && text.request.secrets.map((s) => s.secret).join() === 'a,b,c');
    const attrs = parseRotationTrigger({ attributes: { secrets: 'projects/p/secrets/x' } });
    assert.ok(attrs.kind === 'rotate' && attrs.request.secrets[0].secret === 'x');
    const retire = parseRotationTrigger({ data: b64('{"secret":"projects/p/secrets/x","action":"retire"}') });
    assert.ok(retire.kind === 'rotate' && retire.request.retireOnly);
  });

  it('turns SECRET_ROTATE into a rotation and ignores other notifications', () => {
    const rotate = parseRotationTrigger(
      cloudEvent({
        ...notificationMessage({ type: 'SECRET_ROTATE', secret: 'projects/123/secrets/db' }),
        messageId: 'm1',
      }),
    );
    assert.ok(rotate.kind === 'rotate');
    if (rotate.kind === 'rotate') {
      assert.equal(rotate.request.source, 'secret-rotate');
      assert.deepEqual(rotate.request.secrets, [{ project: '123', secret: 'db' }]);
      assert.equal(rotate.request.trigger, 'm1');
    }
    const add = parseRotationTrigger(
      cloudEvent(
        notificationMessage({ type: 'SECRET_VERSION_ADD', secret: 'projects/123/secrets/db', version: '3' }),
      ),
    );
    assert.equal(add.kind, 'ignore');
  });

  it('rejects malformed messages with InputError', () => {
    const bad = [
      { data: b64('{"secrets": "db"}') },
      { data: b64('{"secretz": ["db"]}') },
      { data: b64('{"secrets": ["projects/p/secrets/db/versions/3"]}') },
      { data: b64('{"secrets": ["db"], "action": "explode"}') },
      { data: b64('{not json') },
      { data: b64('db') },
      { attributes: {} },
      {
        data: b64(
          JSON.stringify({ secrets: Array.from({ length: 1001 }, (_, i) => `projects/p/secrets/s${i}`) }),
        ),
      },
    ];
    for (const body of bad)
      assert.throws(() => parseRotationTrigger(body), InputError, JSON.stringify(body).slice(0, 80));
  });
});

describe('rollback requests (issue 22.1)', () => {
  const request = (body: unknown) =>
    parseRotationTrigger(cloudEvent({ data: b64(JSON.stringify(body)), messageId: 'rb-9' }), {
      defaultProject: 'p',
    });

  it('one secret, the bad version and an optional target; the message id keys it', () => {
    assert.deepEqual(request({ secret: 'projects/p/secrets/db', action: 'rollback', replaces: 7 }), {
      kind: 'rollback',
      request: { secret: { project: 'p', secret: 'db' }, replaces: 7, trigger: 'rb-9' },
    });
    assert.deepEqual(request({ secret: 'db', action: 'rollback', to: 5 }), {
      kind: 'rollback',
      request: { secret: { project: 'p', secret: 'db' }, to: 5, trigger: 'rb-9' },
    });
  });

  it('refuses what is not a rollback of one secret by version number, naming the problem', () => {
    const refused = (body: unknown): string => {
      try {
        request(body);
      } catch (e) {
        assert.ok(e instanceof InputError);
        return e.message;
      }
      return 'accepted';
    };
    assert.equal(
      refused({ secrets: ['a', 'b'], action: 'rollback' }),
      'scheduler message: a rollback names one secret, not 2',
    );
    assert.equal(
      refused({ secret: 'a', action: 'rollback', replaces: '7' }),
      'scheduler message: "replaces" must be a version number (1, 2, ...)',
    );
    assert.equal(
      refused({ secret: 'a', action: 'rollback', to: 0 }),
      'scheduler message: "to" must be a version number (1, 2, ...)',
    );
    assert.equal(
      refused({ secret: 'a', replaces: 7 }),
      'scheduler message: "replaces" goes with "action": "rollback"',
    );
    assert.equal(
      refused({ secret: 'a', action: 'undo' }),
      'scheduler message: "action" must be "rotate", "retire" or "rollback", not "undo"',
    );
  });
});
