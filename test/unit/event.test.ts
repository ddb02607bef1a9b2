// Event intake: every form a Secret Manager notification reaches Rotor in, built by hand the way
// Secret Manager publishes it (attributes + base64 JSON of the Secret or SecretVersion, proto3 JSON
// mapping) and the way Eventarc / Pub/Sub push deliver it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../functions/errors';
import type { SecretEventType } from '../../functions/core/event';
import {
  SECRET_EVENT_TYPES,
  isVersionEvent,
  notificationMessage,
  parseNotification,
} from '../../functions/core/event';
import { eventContext } from '../../functions/core/plan';

const SECRET = 'projects/123456789012/secrets/db-password';
const REGIONAL = 'projects/123456789012/locations/europe-west1/secrets/db-password';
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v), 'utf8').toString('base64');

/** A SecretVersion as Secret Manager serialises it (proto3 JSON: int64 as strings, Timestamps RFC 3339). */
function versionResource(secret: string, version: string, state = 'ENABLED'): Record<string, unknown> {
  return {
    name: `${secret}/versions/${version}`,
    createTime: '2024-05-01T10:00:00.123456Z',
    state,
    replicationStatus: { automatic: {} },
    etag: '"16183e0f6a8b1c"',
    clientSpecifiedPayloadChecksum: true,
    ...(state === 'DESTROYED' ? { destroyTime: '2024-05-02T10:00:00Z' } : {}),
    ...(state === 'DISABLED' && version === '2' ? { scheduledDestroyTime: '2024-06-01T00:00:00Z' } : {}),
  };
}

/** A Secret as Secret Manager serialises it. */
function secretResource(secret: string, aliases?: Record<string, string>): Record<string, unknown> {
  return {
    name: secret,
    replication: { automatic: {} },
    createTime: '2024-01-10T08:00:00.000001Z',
    labels: { team: 'payments' },
    annotations: { owner: 'db-team' },
    topics: [{ name: 'projects/my-proj/topics/rotor-secret-events' }],
    etag: '"1618f0a1b2c3d4"',
    rotation: { nextRotationTime: '2024-06-01T00:00:00Z', rotationPeriod: '2592000s' },
    ...(aliases ? { versionAliases: aliases } : {}),
  };
}

/** The Pub/Sub message Secret Manager publishes for `type`. */
interface Message {
  data?: string;
  attributes: Record<string, string>;
  messageId: string;
  publishTime: string;
}

function smMessage(
  type: SecretEventType,
  opts: { secret?: string; version?: string; data?: unknown; extra?: Record<string, string> } = {},
): Message {
  const secret = opts.secret ?? SECRET;
  if (type === 'TOPIC_CONFIGURED')
    return { attributes: { eventType: type }, messageId: '111', publishTime: '2024-05-01T10:00:01.5Z' };
  const attributes: Record<string, string> = {
    eventType: type,
    secretId: secret,
    dataFormat: 'JSON_API_V1',
    timestamp: '2024-05-01T10:00:00.987654Z',
    ...(opts.version !== undefined ? { versionId: `${secret}/versions/${opts.version}` } : {}),
    ...opts.extra,
  };
  const data =
    opts.data ??
    (opts.version !== undefined ? versionResource(secret, opts.version) : secretResource(secret));
  return { data: b64(data), attributes, messageId: '9876543210', publishTime: '2024-05-01T10:00:01.234Z' };
}

/** Eventarc's CloudEvent for a Pub/Sub message, as functions-framework hands it over. */
function cloudEvent(message: unknown): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: '9876543210',
    source: '//pubsub.googleapis.com/projects/my-proj/topics/rotor-secret-events',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    datacontenttype: 'application/json',
    time: '2024-05-01T10:00:01.234Z',
    data: { message, subscription: 'projects/my-proj/subscriptions/eventarc-europe-west1-rotor-sub-123' },
  };
}

function throwsInput(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe('parseNotification: every event type', () => {
  const cases: Array<{
    type: SecretEventType;
    version?: string;
    data?: unknown;
    extra?: Record<string, string>;
  }> = [
    { type: 'SECRET_CREATE' },
    { type: 'SECRET_UPDATE', data: secretResource(SECRET, { current: '7', previous: '6' }) },
    { type: 'SECRET_DELETE', extra: { deleteType: 'REQUESTED' } },
    { type: 'SECRET_VERSION_ADD', version: '7' },
    { type: 'SECRET_VERSION_ENABLE', version: '5' },
    { type: 'SECRET_VERSION_DISABLE', version: '2', data: versionResource(SECRET, '2', 'DISABLED') },
    { type: 'SECRET_VERSION_DESTROY', version: '1', data: versionResource(SECRET, '1', 'DESTROYED') },
    {
      type: 'SECRET_VERSION_DESTROY_SCHEDULED',
      version: '2',
      data: versionResource(SECRET, '2', 'DISABLED'),
    },
    { type: 'SECRET_ROTATE' },
    { type: 'TOPIC_CONFIGURED' },
  ];

  it('covers the whole list of Secret Manager event types', () => {
    assert.deepEqual(cases.map((c) => c.type).sort(), [...SECRET_EVENT_TYPES].sort());
  });

  for (const c of cases) {
    it(`parses ${c.type} from an Eventarc CloudEvent`, () => {
      const ev = parseNotification(cloudEvent(smMessage(c.type, c)));
      assert.equal(ev.type, c.type);
      assert.equal(ev.messageId, c.type === 'TOPIC_CONFIGURED' ? '111' : '9876543210');
      if (c.type === 'TOPIC_CONFIGURED') {
        assert.equal(ev.secret, undefined);
        assert.equal(ev.version, undefined);
        assert.deepEqual(ev.attributes, { eventType: 'TOPIC_CONFIGURED' });
        return;
      }
      assert.deepEqual(ev.secret, { project: '123456789012', secret: 'db-password' });
      assert.equal(ev.eventTime, '2024-05-01T10:00:00.987654Z');
      assert.equal(ev.publishTime, '2024-05-01T10:00:01.234Z');
      assert.equal(ev.dataFormat, 'JSON_API_V1');
      assert.equal(ev.version, c.version);
      assert.equal(isVersionEvent(c.type), c.version !== undefined);
      if (c.version !== undefined) {
        assert.equal(ev.versionResource?.name, `${SECRET}/versions/${c.version}`);
        assert.equal(ev.secretResource, undefined);
      } else {
        assert.equal(ev.secretResource?.name, SECRET);
        assert.equal(ev.versionResource, undefined);
      }
    });
  }

  it('reads the version state of disable / destroy events', () => {
    const disabled = parseNotification(
      cloudEvent(
        smMessage('SECRET_VERSION_DISABLE', { version: '2', data: versionResource(SECRET, '2', 'DISABLED') }),
      ),
    );
    assert.deepEqual(disabled.versionResource, {
      name: `${SECRET}/versions/2`,
      state: 'DISABLED',
      createTime: '2024-05-01T10:00:00.123456Z',
      scheduledDestroyTime: '2024-06-01T00:00:00Z',
      etag: '"16183e0f6a8b1c"',
    });
    const destroyed = parseNotification(
      smMessage('SECRET_VERSION_DESTROY', { version: '1', data: versionResource(SECRET, '1', 'DESTROYED') }),
    );
    assert.equal(destroyed.versionResource?.state, 'DESTROYED');
    assert.equal(destroyed.versionResource?.destroyTime, '2024-05-02T10:00:00Z');
  });

  it('reads the Secret of SECRET_UPDATE: aliases (int64 as strings or numbers), labels, topics, rotation', () => {
    const data = { ...secretResource(SECRET), versionAliases: { current: '7', canary: 8 } };
    const ev = parseNotification(smMessage('SECRET_UPDATE', { data }));
    assert.deepEqual(ev.secretResource, {
      name: SECRET,
      etag: '"1618f0a1b2c3d4"',
      labels: { team: 'payments' },
      annotations: { owner: 'db-team' },
      versionAliases: { current: '7', canary: '8' },
      topics: [{ name: 'projects/my-proj/topics/rotor-secret-events' }],
      rotation: { nextRotationTime: '2024-06-01T00:00:00Z', rotationPeriod: '2592000s' },
    });
    assert.deepEqual(eventContext(ev)?.aliases, { current: '7', canary: '8' });
  });

  it('keeps deleteType on SECRET_DELETE', () => {
    assert.equal(
      parseNotification(smMessage('SECRET_DELETE', { extra: { deleteType: 'EXPIRATION' } })).deleteType,
      'EXPIRATION',
    );
  });

  it('parses regional secrets and their versions', () => {
    const ev = parseNotification(
      cloudEvent(smMessage('SECRET_VERSION_ADD', { secret: REGIONAL, version: '3' })),
    );
    assert.deepEqual(ev.secret, { project: '123456789012', location: 'europe-west1', secret: 'db-password' });
    assert.equal(ev.version, '3');
  });

  it('never carries a payload, even if one appeared in the data', () => {
    const data = { ...versionResource(SECRET, '7'), payload: { data: 'c3VwZXItc2VjcmV0' } };
    const ev = parseNotification(smMessage('SECRET_VERSION_ADD', { version: '7', data }));
    assert.ok(!JSON.stringify(ev).includes('c3VwZXItc2VjcmV0'));
  });
});

describe('parseNotification: input forms', () => {
  const message = smMessage('SECRET_VERSION_ADD', { version: '7' });
  const expected = {
    type: 'SECRET_VERSION_ADD',
    version: '7',
    messageId: '9876543210',
    publishTime: '2024-05-01T10:00:01.234Z',
  };
  const pick = (ev: ReturnType<typeof parseNotification>) => ({
    type: ev.type,
    version: ev.version,
    messageId: ev.messageId,
    publishTime: ev.publishTime,
  });

  it('a CloudEvent object', () => assert.deepEqual(pick(parseNotification(cloudEvent(message))), expected));
  it('a CloudEvent as a JSON string', () =>
    assert.deepEqual(pick(parseNotification(JSON.stringify(cloudEvent(message)))), expected));
  it('a CloudEvent as a Buffer', () =>
    assert.deepEqual(pick(parseNotification(Buffer.from(JSON.stringify(cloudEvent(message))))), expected));
  it('a CloudEvent whose data is a JSON string', () => {
    const ce = { ...cloudEvent(message), data: JSON.stringify({ message, subscription: 's' }) };
    assert.deepEqual(pick(parseNotification(ce)), expected);
  });
  it('a CloudEvent whose data is base64 of JSON', () => {
    const ce = { ...cloudEvent(message), data: b64({ message, subscription: 's' }) };
    assert.deepEqual(pick(parseNotification(ce)), expected);
  });
  it('a CloudEvent whose data arrived as a Buffer', () => {
    const ce = { ...cloudEvent(message), data: Buffer.from(JSON.stringify({ message, subscription: 's' })) };
    assert.deepEqual(pick(parseNotification(ce)), expected);
  });
  it('a structured-mode CloudEvent with data_base64', () => {
    const { data: _data, ...rest } = cloudEvent(message);
    assert.deepEqual(
      pick(parseNotification({ ...rest, data_base64: b64({ message, subscription: 's' }) })),
      expected,
    );
  });
  it("a CloudEvent's data alone ({message, subscription})", () => {
    assert.deepEqual(
      pick(parseNotification({ message, subscription: 'projects/p/subscriptions/s' })),
      expected,
    );
  });
  it('a raw Pub/Sub push body (JSON string, both key spellings as Pub/Sub sends them)', () => {
    const push = {
      message: { ...message, message_id: message.messageId, publish_time: message.publishTime },
      subscription: 'projects/p/subscriptions/push',
    };
    assert.deepEqual(pick(parseNotification(JSON.stringify(push))), expected);
  });
  it('snake_case message_id / publish_time only', () => {
    const { messageId, publishTime, ...rest } = message;
    assert.deepEqual(
      pick(parseNotification({ message: { ...rest, message_id: messageId, publish_time: publishTime } })),
      expected,
    );
  });
  it('a bare Pub/Sub message', () => assert.deepEqual(pick(parseNotification(message)), expected));
  it('a numeric messageId', () =>
    assert.equal(parseNotification({ ...message, messageId: 42 }).messageId, '42'));
  it('URL-safe base64 data', () => {
    const data = versionResource(SECRET, '7');
    const urlSafe = Buffer.from(JSON.stringify(data)).toString('base64url');
    assert.equal(
      parseNotification({ ...message, data: urlSafe }).versionResource?.name,
      `${SECRET}/versions/7`,
    );
  });
  it('a version taken from the data when versionId is absent', () => {
    const { versionId: _v, ...attributes } = message.attributes;
    assert.equal(parseNotification({ ...message, attributes }).version, '7');
  });
  it('a bare version number in versionId', () => {
    assert.equal(
      parseNotification({ ...message, attributes: { ...message.attributes, versionId: '7' } }).version,
      '7',
    );
  });
  it('a version event with no data at all', () => {
    const { data: _d, ...rest } = message;
    const ev = parseNotification(rest);
    assert.equal(ev.version, '7');
    assert.equal(ev.versionResource, undefined);
  });
  it('TOPIC_CONFIGURED in every envelope, with empty or absent data', () => {
    const bare = { attributes: { eventType: 'TOPIC_CONFIGURED' } };
    for (const input of [
      bare,
      { ...bare, data: '' },
      { message: bare },
      cloudEvent(bare),
      JSON.stringify(cloudEvent({ ...bare, data: null })),
    ]) {
      const ev = parseNotification(input);
      assert.equal(ev.type, 'TOPIC_CONFIGURED');
      assert.equal(ev.secret, undefined);
      assert.equal(eventContext(ev), undefined);
    }
  });
  it('timestamps with nanoseconds or an offset', () => {
    for (const t of [
      '2024-05-01T10:00:00.123456789Z',
      '2024-05-01T03:00:00.5-07:00',
      '2024-05-01T10:00:00Z',
    ]) {
      assert.equal(
        parseNotification({ ...message, attributes: { ...message.attributes, timestamp: t }, publishTime: t })
          .eventTime,
        t,
      );
    }
  });
  it('the decision inputs: event time from the timestamp attribute, else the publish time', () => {
    assert.equal(eventContext(parseNotification(message))?.time, '2024-05-01T10:00:00.987654Z');
    const { timestamp: _t, ...attributes } = message.attributes;
    assert.equal(
      eventContext(parseNotification({ ...message, attributes }))?.time,
      '2024-05-01T10:00:01.234Z',
    );
  });
});

describe('parseNotification: malformed input names the field and what was expected', () => {
  const ok = smMessage('SECRET_VERSION_ADD', { version: '7' });
  const withAttrs = (attrs: Record<string, unknown>) => ({
    ...ok,
    attributes: { ...ok.attributes, ...attrs },
  });
  const without = (key: string) => {
    const attributes: Record<string, string> = { ...ok.attributes };
    delete attributes[key];
    return { ...ok, attributes };
  };

  it('envelope problems', () => {
    throwsInput(() => parseNotification('{not json'), /notification is not valid JSON/);
    throwsInput(() => parseNotification(Buffer.from('')), /notification is not valid JSON/);
    throwsInput(() => parseNotification('[1,2]'), /notification must be a JSON object, got an array/);
    throwsInput(() => parseNotification(42), /notification must be a JSON object, got number/);
    throwsInput(() => parseNotification(null), /notification must be a JSON object, got null/);
    throwsInput(
      () => parseNotification({ hello: 'world' }),
      /neither "message" \(Pub\/Sub push \/ CloudEvent data\) nor "attributes" \(Pub\/Sub message\)/,
    );
    throwsInput(
      () => parseNotification({ ...cloudEvent(ok), type: 'google.cloud.storage.object.v1.finalized' }),
      /CloudEvent type "google.cloud.storage.object.v1.finalized" is not google.cloud.pubsub.topic.v1.messagePublished/,
    );
    throwsInput(
      () => parseNotification({ ...cloudEvent(ok), data: [1] }),
      /CloudEvent.data must be an object with "message", got an array/,
    );
    throwsInput(
      () => parseNotification({ ...cloudEvent(ok), data: { subscription: 's' } }),
      /CloudEvent.data.message must be an object, got undefined/,
    );
    throwsInput(
      () => parseNotification({ message: 'hello' }),
      /message must be an object, got the string "hello"/,
    );
    throwsInput(
      () => parseNotification({ message: { ...ok, attributes: ['eventType'] } }),
      /message.attributes must be an object of strings/,
    );
    throwsInput(
      () => parseNotification({ message: { ...ok, attributes: { eventType: 7 } } }),
      /message.attributes.eventType must be a string, got number/,
    );
    throwsInput(
      () => parseNotification({ message: { ...ok, data: { name: 'x' } } }),
      /message.data must be a base64 string, got object/,
    );
    throwsInput(
      () => parseNotification({ message: { ...ok, messageId: { id: 1 } } }),
      /message.messageId must be a string, got object/,
    );
    throwsInput(
      () => parseNotification({ ...ok, publishTime: 'yesterday' }),
      /publishTime "yesterday" is not an RFC 3339 timestamp/,
    );
  });

  it('attribute problems', () => {
    throwsInput(
      () => parseNotification(without('eventType')),
      /attributes.eventType is missing \(expected one of SECRET_CREATE, .*TOPIC_CONFIGURED\)/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ eventType: 'SECRET_VERSION_ADDED' })),
      /attributes.eventType "SECRET_VERSION_ADDED" is not a Secret Manager event type \(expected one of SECRET_CREATE/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ dataFormat: 'PROTOBUF' })),
      /attributes.dataFormat "PROTOBUF" is not supported \(expected JSON_API_V1\)/,
    );
    throwsInput(
      () => parseNotification(without('secretId')),
      /attributes.secretId is missing on SECRET_VERSION_ADD/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ secretId: 'db-password' })),
      /"db-password" is not a Secret Manager name: expected "projects" at segment 1/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ secretId: `${SECRET}/versions/7` })),
      /attributes.secretId ".*\/versions\/7" must name a secret, not a version/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ timestamp: 'not a time' })),
      /attributes.timestamp "not a time" is not an RFC 3339 timestamp/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ timestamp: '1' })),
      /attributes.timestamp "1" is not an RFC 3339 timestamp/,
    );
  });

  it('version problems', () => {
    const noVersion = { attributes: { ...without('versionId').attributes } };
    throwsInput(() => parseNotification(noVersion), /attributes.versionId is missing on SECRET_VERSION_ADD/);
    throwsInput(
      () => parseNotification(withAttrs({ versionId: `${SECRET}/versions/latest` })),
      /attributes.versionId ".*\/versions\/latest" must name a numbered version/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ versionId: 'projects/123456789012/secrets/other/versions/7' })),
      /attributes.versionId ".*other\/versions\/7" does not belong to secretId ".*db-password"/,
    );
    throwsInput(
      () => parseNotification(withAttrs({ versionId: `${SECRET}/versions/7/x` })),
      /unexpected trailing segments "x"/,
    );
  });

  it('data problems', () => {
    throwsInput(() => parseNotification({ ...ok, data: 'not base64!' }), /message.data is not base64/);
    throwsInput(
      () => parseNotification({ ...ok, data: Buffer.from('plain text').toString('base64') }),
      /message.data is not base64 of JSON/,
    );
    throwsInput(
      () => parseNotification({ ...ok, data: b64([1, 2]) }),
      /message.data must decode to a JSON object \(Secret or SecretVersion\), got an array/,
    );
    const update = smMessage('SECRET_UPDATE');
    throwsInput(
      () => parseNotification({ ...update, data: b64({ name: SECRET, versionAliases: ['current'] }) }),
      /message.data.versionAliases must be an object/,
    );
    throwsInput(
      () =>
        parseNotification({ ...update, data: b64({ name: SECRET, versionAliases: { current: { v: 1 } } }) }),
      /message.data.versionAliases.current must be a version number/,
    );
    throwsInput(
      () => parseNotification({ ...update, data: b64({ name: SECRET, labels: { team: 1 } }) }),
      /message.data.labels.team must be a string/,
    );
    throwsInput(
      () => parseNotification({ ...update, data: b64({ name: SECRET, annotations: 'x' }) }),
      /message.data.annotations must be an object of strings/,
    );
  });
});

describe('notificationMessage (the builder tests, the demo and the CLI use)', () => {
  for (const type of SECRET_EVENT_TYPES) {
    it(`round-trips ${type}`, () => {
      const version = isVersionEvent(type) ? '4' : undefined;
      const msg = notificationMessage({
        type,
        secret: SECRET,
        ...(version ? { version } : {}),
        timestamp: '2024-05-01T00:00:00Z',
      });
      const ev = parseNotification({ message: msg, subscription: 's' });
      assert.equal(ev.type, type);
      if (type === 'TOPIC_CONFIGURED') {
        assert.deepEqual(msg, { attributes: { eventType: 'TOPIC_CONFIGURED' } });
        return;
      }
      assert.equal(msg.attributes.dataFormat, 'JSON_API_V1');
      assert.deepEqual(ev.secret, { project: '123456789012', secret: 'db-password' });
      assert.equal(ev.version, version);
      assert.equal(ev.eventTime, '2024-05-01T00:00:00Z');
    });
  }

  it('builds regional version names and carries given data', () => {
    const msg = notificationMessage({
      type: 'SECRET_UPDATE',
      secret: REGIONAL,
      data: { name: REGIONAL, versionAliases: { current: '3' } },
    });
    const ev = parseNotification(msg);
    assert.deepEqual(ev.secretResource?.versionAliases, { current: '3' });
    assert.equal(
      notificationMessage({ type: 'SECRET_VERSION_ADD', secret: REGIONAL, version: '3' }).attributes
        .versionId,
      `${REGIONAL}/versions/3`,
    );
  });

  it('refuses to build a secret event without a secret', () => {
    throwsInput(
      () => notificationMessage({ type: 'SECRET_VERSION_ADD', version: '1' }),
      /a SECRET_VERSION_ADD notification needs a secret/,
    );
  });
});
