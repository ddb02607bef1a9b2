// Event intake: every form a Secret Manager notification can reach Rotor in, parsed into one
// typed SecretEvent. Pure: no I/O. Malformed input throws InputError naming the field, so the
// caller can ack it with a clear log instead of letting Pub/Sub redeliver it forever.
import { InputError } from '../errors';
import type { SecretId } from './secretName';
import { parseSecretName } from './secretName';

export const SECRET_EVENT_TYPES = [
  'SECRET_CREATE',
  'SECRET_UPDATE',
  'SECRET_DELETE',
  'SECRET_VERSION_ADD',
  'SECRET_VERSION_ENABLE',
  'SECRET_VERSION_DISABLE',
  'SECRET_VERSION_DESTROY',
  'SECRET_VERSION_DESTROY_SCHEDULED',
  'SECRET_ROTATE',
  'TOPIC_CONFIGURED',
] as const;

export type SecretEventType = (typeof SECRET_EVENT_TYPES)[number];

const VERSION_EVENTS: ReadonlySet<SecretEventType> = new Set([
  'SECRET_VERSION_ADD',
  'SECRET_VERSION_ENABLE',
  'SECRET_VERSION_DISABLE',
  'SECRET_VERSION_DESTROY',
  'SECRET_VERSION_DESTROY_SCHEDULED',
]);

export function isSecretEventType(v: string): v is SecretEventType {
  return (SECRET_EVENT_TYPES as readonly string[]).includes(v);
}

export function isVersionEvent(t: SecretEventType): boolean {
  return VERSION_EVENTS.has(t);
}

/** Metadata of the Secret resource as serialised in the notification (never a payload). */
export interface SecretResource {
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  versionAliases?: Record<string, string>;
  topics?: Array<{ name: string }>;
  rotation?: { nextRotationTime?: string; rotationPeriod?: string };
  etag?: string;
}

/** Metadata of the SecretVersion resource as serialised in the notification. */
export interface SecretVersionResource {
  name?: string;
  state?: string;
  createTime?: string;
  destroyTime?: string;
  scheduledDestroyTime?: string;
  etag?: string;
}

export interface SecretEvent {
  readonly type: SecretEventType;
  /** Absent only for TOPIC_CONFIGURED, which has no body. */
  readonly secret?: SecretId;
  /** The version number, on SECRET_VERSION_* events. */
  readonly version?: string;
  readonly messageId?: string;
  /** When Pub/Sub accepted the message (ISO 8601). */
  readonly publishTime?: string;
  /** When Secret Manager recorded the change (the `timestamp` attribute). */
  readonly eventTime?: string;
  readonly deleteType?: string;
  readonly dataFormat?: string;
  readonly secretResource?: SecretResource;
  readonly versionResource?: SecretVersionResource;
  /** Every attribute as received, for audit logs. */
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * A Pub/Sub message, normalised from however it was spelled (REST/JSON uses camelCase, some
 * bridges snake_case): what `pubsubMessageOf` returns and the fan-out message carries
 * (core/fanOut.ts), so a per-cluster handler parses exactly the notification onSecretEvent got.
 */
export interface PubsubMessage {
  readonly attributes: Readonly<Record<string, string>>;
  /** base64, as Pub/Sub delivers it; absent when the message had no body. */
  readonly data?: string;
  readonly messageId?: string;
  readonly publishTime?: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Accepts: a CloudEvent object (Eventarc `google.cloud.pubsub.topic.v1.messagePublished`, whose
 * `data` is `{message, subscription}`), its `data` alone, a Pub/Sub push body `{message,
 * subscription}`, a bare Pub/Sub message `{data, attributes, messageId}`, or a JSON string / Buffer
 * of any of these.
 */
export function parseNotification(input: unknown): SecretEvent {
  return parsePubsubMessage(pubsubMessageOf(input));
}

/** The Pub/Sub message inside any of the forms parseNotification accepts, not yet interpreted. */
export function pubsubMessageOf(input: unknown): PubsubMessage {
  return extractMessage(decodeBody(input));
}

function decodeBody(input: unknown): Json {
  let value = input;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch (e) {
      throw new InputError(`notification is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(value)) throw new InputError(`notification must be a JSON object, got ${describe(value)}`);
  return value;
}

function extractMessage(body: Json): PubsubMessage {
  // CloudEvent envelope: the Pub/Sub push body sits in `data`.
  if (
    'specversion' in body ||
    ('type' in body && 'source' in body && ('data' in body || 'data_base64' in body))
  ) {
    const type = body.type;
    if (typeof type === 'string' && type !== 'google.cloud.pubsub.topic.v1.messagePublished') {
      throw new InputError(`CloudEvent type "${type}" is not google.cloud.pubsub.topic.v1.messagePublished`);
    }
    // Structured-mode CloudEvents carry binary data as `data_base64`.
    let data =
      body.data ??
      (typeof body.data_base64 === 'string' ? Buffer.from(body.data_base64, 'base64') : undefined);
    if (Buffer.isBuffer(data)) data = decodeBody(data);
    if (typeof data === 'string') {
      // Binary-mode deliveries may leave data as a JSON string (or base64 of it).
      data = decodeBody(looksBase64(data) ? Buffer.from(data, 'base64').toString('utf8') : data);
    }
    if (!isObject(data))
      throw new InputError(`CloudEvent.data must be an object with "message", got ${describe(data)}`);
    return normaliseMessage(data.message, 'CloudEvent.data.message');
  }
  if ('message' in body) return normaliseMessage(body.message, 'message');
  if ('attributes' in body || 'data' in body) return normaliseMessage(body, 'the message');
  throw new InputError(
    'notification has neither "message" (Pub/Sub push / CloudEvent data) nor "attributes" (Pub/Sub message)',
  );
}

function normaliseMessage(raw: unknown, where: string): PubsubMessage {
  if (!isObject(raw)) throw new InputError(`${where} must be an object, got ${describe(raw)}`);
  const attributes = raw.attributes ?? {};
  if (!isObject(attributes)) throw new InputError(`${where}.attributes must be an object of strings`);
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) {
    if (typeof v !== 'string')
      throw new InputError(`${where}.attributes.${k} must be a string, got ${describe(v)}`);
    attrs[k] = v;
  }
  const data = raw.data;
  if (data !== undefined && data !== null && typeof data !== 'string') {
    throw new InputError(`${where}.data must be a base64 string, got ${describe(data)}`);
  }
  const messageId = stringField(raw, ['messageId', 'message_id'], where);
  const publishTime = stringField(raw, ['publishTime', 'publish_time'], where);
  return {
    attributes: attrs,
    ...(typeof data === 'string' && data.length > 0 ? { data } : {}),
    ...(messageId !== undefined ? { messageId } : {}),
    ...(publishTime !== undefined ? { publishTime } : {}),
  };
}

function stringField(obj: Json, keys: string[], where: string): string | undefined {
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw new InputError(`${where}.${k} must be a string, got ${describe(v)}`);
  }
  return undefined;
}

/** A Secret Manager notification from its Pub/Sub message. */
export function parsePubsubMessage(message: PubsubMessage): SecretEvent {
  const attributes = message.attributes;
  const rawType = attributes.eventType;
  if (!rawType)
    throw new InputError(
      'attributes.eventType is missing (expected one of ' + SECRET_EVENT_TYPES.join(', ') + ')',
    );
  if (!isSecretEventType(rawType)) {
    throw new InputError(
      `attributes.eventType "${rawType}" is not a Secret Manager event type (expected one of ${SECRET_EVENT_TYPES.join(', ')})`,
    );
  }
  const common = {
    type: rawType,
    attributes,
    ...(message.messageId !== undefined ? { messageId: message.messageId } : {}),
    ...(message.publishTime !== undefined
      ? { publishTime: checkTime(message.publishTime, 'publishTime') }
      : {}),
    ...(attributes.timestamp !== undefined
      ? { eventTime: checkTime(attributes.timestamp, 'attributes.timestamp') }
      : {}),
    ...(attributes.dataFormat !== undefined ? { dataFormat: attributes.dataFormat } : {}),
    ...(attributes.deleteType !== undefined ? { deleteType: attributes.deleteType } : {}),
  };
  // The test message sent when a topic is attached to a secret: no body, only the type.
  if (rawType === 'TOPIC_CONFIGURED') return common;

  if (attributes.dataFormat !== undefined && attributes.dataFormat !== 'JSON_API_V1') {
    throw new InputError(
      `attributes.dataFormat "${attributes.dataFormat}" is not supported (expected JSON_API_V1)`,
    );
  }
  const secretIdAttr = attributes.secretId;
  if (!secretIdAttr) throw new InputError(`attributes.secretId is missing on ${rawType}`);
  const secretRef = parseSecretName(secretIdAttr);
  if (secretRef.version !== undefined) {
    throw new InputError(`attributes.secretId "${secretIdAttr}" must name a secret, not a version`);
  }
  const resource = message.data !== undefined ? decodeData(message.data) : undefined;

  let version: string | undefined;
  let versionResource: SecretVersionResource | undefined;
  let secretResource: SecretResource | undefined;
  if (isVersionEvent(rawType)) {
    version = versionFrom(attributes.versionId, resource, secretIdAttr, rawType);
    if (resource) versionResource = pickVersion(resource);
  } else if (resource) {
    secretResource = pickSecret(resource);
  }
  return {
    ...common,
    secret: secretRef.id,
    ...(version !== undefined ? { version } : {}),
    ...(secretResource ? { secretResource } : {}),
    ...(versionResource ? { versionResource } : {}),
  };
}

function versionFrom(
  versionId: string | undefined,
  resource: Json | undefined,
  secretIdAttr: string,
  type: string,
): string {
  // `versionId` is the full version name; accept a bare number too.
  const candidate = versionId ?? (typeof resource?.name === 'string' ? resource.name : undefined);
  if (!candidate) throw new InputError(`attributes.versionId is missing on ${type}`);
  if (/^[0-9]+$/.test(candidate)) return candidate;
  const ref = parseSecretName(candidate);
  if (ref.version === undefined || !/^[0-9]+$/.test(ref.version)) {
    throw new InputError(`attributes.versionId "${candidate}" must name a numbered version`);
  }
  const expected = secretIdAttr.replace(/\/+$/, '');
  if (!candidate.startsWith(expected + '/versions/')) {
    throw new InputError(`attributes.versionId "${candidate}" does not belong to secretId "${secretIdAttr}"`);
  }
  return ref.version;
}

function decodeData(data: string): Json {
  if (!looksBase64(data)) throw new InputError('message.data is not base64');
  const text = Buffer.from(data, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`message.data is not base64 of JSON: ${(e as Error).message}`);
  }
  if (!isObject(parsed))
    throw new InputError(
      `message.data must decode to a JSON object (Secret or SecretVersion), got ${describe(parsed)}`,
    );
  return parsed;
}

function pickSecret(r: Json): SecretResource {
  const out: SecretResource = {};
  if (typeof r.name === 'string') out.name = r.name;
  if (typeof r.etag === 'string') out.etag = r.etag;
  const labels = stringMap(r.labels, 'labels');
  if (labels) out.labels = labels;
  const annotations = stringMap(r.annotations, 'annotations');
  if (annotations) out.annotations = annotations;
  const aliases = r.versionAliases;
  if (aliases !== undefined) {
    if (!isObject(aliases)) throw new InputError('message.data.versionAliases must be an object');
    // proto3 JSON encodes int64 as strings; tolerate numbers too.
    out.versionAliases = Object.fromEntries(
      Object.entries(aliases).map(([k, v]) => {
        if (typeof v !== 'string' && typeof v !== 'number')
          throw new InputError(`message.data.versionAliases.${k} must be a version number`);
        return [k, String(v)];
      }),
    );
  }
  if (Array.isArray(r.topics)) {
    out.topics = r.topics
      .filter(isObject)
      .flatMap((t) => (typeof t.name === 'string' ? [{ name: t.name }] : []));
  }
  if (isObject(r.rotation)) {
    const rotation: SecretResource['rotation'] = {};
    if (typeof r.rotation.nextRotationTime === 'string')
      rotation.nextRotationTime = r.rotation.nextRotationTime;
    if (typeof r.rotation.rotationPeriod === 'string') rotation.rotationPeriod = r.rotation.rotationPeriod;
    out.rotation = rotation;
  }
  return out;
}

function pickVersion(r: Json): SecretVersionResource {
  // Only metadata is kept. A SecretVersion in a notification never holds a payload, and if
  // anything payload-like ever appeared it is dropped here rather than carried along.
  const out: SecretVersionResource = {};
  for (const k of ['name', 'state', 'createTime', 'destroyTime', 'scheduledDestroyTime', 'etag'] as const) {
    const v = r[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new InputError(`message.data.${field} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new InputError(`message.data.${field}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

// RFC 3339 date-time, any number of fraction digits (Pub/Sub and Secret Manager send up to nanoseconds).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function checkTime(v: string, field: string): string {
  if (!RFC3339.test(v) || Number.isNaN(Date.parse(v)))
    throw new InputError(`${field} "${v}" is not an RFC 3339 timestamp`);
  return v;
}

function looksBase64(s: string): boolean {
  return /^[A-Za-z0-9+/_-]*={0,2}$/.test(s.replace(/\s+/g, '')) && s.trim().length % 4 !== 1;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string "${v.slice(0, 40)}"` : typeof v;
}

/** Builds the Pub/Sub message Secret Manager would publish: for tests, the demo and the CLI. */
export function notificationMessage(args: {
  type: SecretEventType;
  secret?: string;
  version?: string;
  data?: SecretResource | SecretVersionResource;
  timestamp?: string;
}): { data?: string; attributes: Record<string, string> } {
  if (args.type === 'TOPIC_CONFIGURED') return { attributes: { eventType: 'TOPIC_CONFIGURED' } };
  if (!args.secret) throw new InputError(`a ${args.type} notification needs a secret`);
  const attributes: Record<string, string> = {
    eventType: args.type,
    secretId: args.secret,
    dataFormat: 'JSON_API_V1',
    timestamp: args.timestamp ?? new Date().toISOString(),
  };
  if (args.version !== undefined) attributes.versionId = `${args.secret}/versions/${args.version}`;
  const data =
    args.data ??
    (args.version !== undefined ? { name: attributes.versionId, state: 'ENABLED' } : { name: args.secret });
  return { attributes, data: Buffer.from(JSON.stringify(data)).toString('base64') };
}
