// What rotateSecret is asked to do, from whatever reached it: a Cloud Scheduler message on the
// rotate topic (names one or more secrets), or a Secret Manager SECRET_ROTATE notification (the
// secret's own rotation schedule). Other Secret Manager notifications are not rotation triggers
// and are ignored (acked), so the function may share a topic with onSecretEvent.
//
// Scheduler message data (the Pub/Sub message body), any of:
//   {"secrets": ["projects/P/secrets/S", "short-name"], "project": "P", "action": "rotate" | "retire", "force": false}
//   {"secret": "projects/P/secrets/S", "action": "rollback", "replaces": 7, "to": 6}   (issue 22.1: one
//     secret; `replaces` the bad version, default the one in use; `to` default the one before it)
//   ["projects/P/secrets/S", ...]
//   projects/P/secrets/S other-short-name        (plain text, whitespace or comma separated)
import { InputError } from '../errors';
import { parseNotification } from '../core/event';
import type { SecretId } from '../core/secretName';
import { formatSecretId, parseSecretArg } from '../core/secretName';
import type { RollbackAsk } from '../core/rollback';

export const MAX_SECRETS_PER_MESSAGE = 1000;

export interface RotationRequest {
  readonly source: 'scheduler' | 'secret-rotate';
  /** Distinct secrets, in message order. */
  readonly secrets: readonly SecretId[];
  /** The Pub/Sub message id: a redelivery of the same message does not rotate twice. */
  readonly trigger?: string;
  readonly force: boolean;
  readonly retireOnly: boolean;
}

/** A request to roll one secret back (core/rollback.ts): from onSecretEvent after a halt, or by hand. */
export interface RollbackRequest extends RollbackAsk {
  readonly secret: SecretId;
  /** The Pub/Sub message id: recorded in the rollback's mark. */
  readonly trigger?: string;
}

export type RotationTrigger =
  | { readonly kind: 'rotate'; readonly request: RotationRequest }
  | { readonly kind: 'rollback'; readonly request: RollbackRequest }
  | { readonly kind: 'ignore'; readonly reason: string };

interface PubsubMessage {
  readonly data?: string;
  readonly attributes: Record<string, string>;
  readonly messageId?: string;
}

type Json = Record<string, unknown>;

export function parseRotationTrigger(
  body: unknown,
  options: { defaultProject?: string } = {},
): RotationTrigger {
  const message = extractMessage(body);
  if (message.attributes.eventType !== undefined) {
    // A Secret Manager notification: the core parser owns that format.
    const event = parseNotification(body);
    if (event.type !== 'SECRET_ROTATE' || !event.secret)
      return { kind: 'ignore', reason: `${event.type} is not a rotation trigger` };
    return {
      kind: 'rotate',
      request: {
        source: 'secret-rotate',
        secrets: [event.secret],
        ...(event.messageId ? { trigger: event.messageId } : {}),
        force: false,
        retireOnly: false,
      },
    };
  }
  const parsed = parseSchedulerMessage(message, options.defaultProject);
  return 'retireOnly' in parsed ? { kind: 'rotate', request: parsed } : { kind: 'rollback', request: parsed };
}

/** The JSON a rollback request carries (what onSecretEvent publishes after a halt). */
export function rollbackMessageData(secret: string, replaces: number): string {
  return JSON.stringify({ secret, action: 'rollback', replaces });
}

/** What the message body says, before the secret names are resolved. */
interface SchedulerAsk {
  names: string[];
  project: string | undefined;
  action: 'rotate' | 'retire' | 'rollback';
  force: boolean;
  rollback: { replaces?: number; to?: number };
}

const SCHEDULER_FIELDS = ['secrets', 'secret', 'project', 'action', 'force', 'replaces', 'to'];

function parseSchedulerMessage(
  message: PubsubMessage,
  defaultProject: string | undefined,
): RotationRequest | RollbackRequest {
  const ask = readSchedulerBody(message, defaultProject);
  ask.names.push(...attributeNames(message));
  const secrets = distinctSecrets(ask.names, ask.project);
  return schedulerRequest(ask, secrets, message.messageId);
}

/** The body: a JSON object or list, or plain text naming secrets (whitespace or comma separated). */
function readSchedulerBody(message: PubsubMessage, defaultProject: string | undefined): SchedulerAsk {
  const text = message.data ? Buffer.from(message.data, 'base64').toString('utf8').trim() : '';
  const ask: SchedulerAsk = {
    names: [],
    project: defaultProject,
    action: 'rotate',
    force: false,
    rollback: {},
  };
  if (text.startsWith('{') || text.startsWith('[')) {
    const parsed = parseJsonText(text);
    if (Array.isArray(parsed)) ask.names = stringList(parsed, 'the message');
    else readSchedulerObject(parsed as Json, ask);
  } else if (text) {
    ask.names = text.split(/[\s,]+/).filter(Boolean);
  }
  return ask;
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`scheduler message is not valid JSON: ${(e as Error).message}`);
  }
}

/** Each known field checked and copied into `ask`; an unknown field is refused (hostile input). */
function readSchedulerObject(o: Json, ask: SchedulerAsk): void {
  for (const key of Object.keys(o)) {
    if (!SCHEDULER_FIELDS.includes(key))
      throw new InputError(
        `scheduler message: unknown field "${key}" (secrets, project, action, force; replaces and to with action rollback)`,
      );
  }
  if (o.secret !== undefined) ask.names.push(...stringList([o.secret], 'secret'));
  if (o.secrets !== undefined) {
    if (!Array.isArray(o.secrets))
      throw new InputError('scheduler message: "secrets" must be a list of names');
    ask.names.push(...stringList(o.secrets, 'secrets'));
  }
  if (o.project !== undefined) {
    if (typeof o.project !== 'string' || !o.project)
      throw new InputError('scheduler message: "project" must be a project id');
    ask.project = o.project;
  }
  if (o.action !== undefined) {
    if (o.action !== 'rotate' && o.action !== 'retire' && o.action !== 'rollback')
      throw new InputError(
        `scheduler message: "action" must be "rotate", "retire" or "rollback", not ${JSON.stringify(o.action)}`,
      );
    ask.action = o.action;
  }
  if (o.force !== undefined) {
    if (typeof o.force !== 'boolean')
      throw new InputError('scheduler message: "force" must be true or false');
    ask.force = o.force;
  }
  readRollbackVersions(o, ask.rollback);
}

/** `replaces` and `to` only make sense for a rollback; each is a version number. */
function readRollbackVersions(o: Json, rollback: SchedulerAsk['rollback']): void {
  for (const key of ['replaces', 'to'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (o.action !== 'rollback')
      throw new InputError(`scheduler message: "${key}" goes with "action": "rollback"`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw new InputError(`scheduler message: "${key}" must be a version number (1, 2, ...)`);
    rollback[key] = v;
  }
}

/** Cloud Scheduler can also set attributes: `secret`/`secrets` name secrets the same way. */
function attributeNames(message: PubsubMessage): string[] {
  const names: string[] = [];
  for (const key of ['secret', 'secrets']) {
    const v = message.attributes[key];
    if (v) names.push(...v.split(/[\s,]+/).filter(Boolean));
  }
  return names;
}

/** The named secrets, bounded, resolved against the project, without versions, first mention kept. */
function distinctSecrets(names: readonly string[], project: string | undefined): SecretId[] {
  if (names.length === 0)
    throw new InputError(
      'scheduler message names no secret: send {"secrets": ["projects/P/secrets/S", ...]}',
    );
  if (names.length > MAX_SECRETS_PER_MESSAGE)
    throw new InputError(
      `scheduler message names ${names.length} secrets; at most ${MAX_SECRETS_PER_MESSAGE} per message`,
    );
  const seen = new Set<string>();
  const secrets: SecretId[] = [];
  for (const n of names) {
    const ref = parseSecretArg(n, project);
    if (ref.version !== undefined)
      throw new InputError(`scheduler message: "${n}" names a version; name the secret`);
    const key = formatSecretId(ref.id);
    if (!seen.has(key)) {
      seen.add(key);
      secrets.push(ref.id);
    }
  }
  return secrets;
}

function schedulerRequest(
  ask: SchedulerAsk,
  secrets: SecretId[],
  messageId: string | undefined,
): RotationRequest | RollbackRequest {
  const trigger = messageId ? { trigger: messageId } : {};
  if (ask.action === 'rollback') {
    const [secret] = secrets;
    if (!secret || secrets.length > 1)
      throw new InputError(`scheduler message: a rollback names one secret, not ${secrets.length}`);
    return { secret, ...ask.rollback, ...trigger };
  }
  return { source: 'scheduler', secrets, ...trigger, force: ask.force, retireOnly: ask.action === 'retire' };
}

function stringList(values: unknown[], where: string): string[] {
  return values.map((v) => {
    if (typeof v !== 'string' || !v)
      throw new InputError(`scheduler message: ${where} must hold secret names (strings)`);
    return v;
  });
}

/** The Pub/Sub message inside a CloudEvent, a push body, or a bare message (JSON text accepted). */
function extractMessage(input: unknown): PubsubMessage {
  let body = input;
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      throw new InputError('trigger body is not JSON');
    }
  }
  if (!isObject(body)) throw new InputError('trigger body must be a JSON object');
  let msg: unknown;
  if ('specversion' in body || ('type' in body && 'source' in body)) {
    const data = body.data;
    msg = isObject(data) ? data.message : undefined;
    if (msg === undefined)
      throw new InputError(
        'CloudEvent has no data.message (expected google.cloud.pubsub.topic.v1.messagePublished)',
      );
  } else if ('message' in body) msg = body.message;
  else msg = body;
  if (!isObject(msg)) throw new InputError('Pub/Sub message must be an object');
  const attrs: Record<string, string> = {};
  if (msg.attributes !== undefined && msg.attributes !== null) {
    if (!isObject(msg.attributes)) throw new InputError('message.attributes must be an object of strings');
    for (const [k, v] of Object.entries(msg.attributes)) if (typeof v === 'string') attrs[k] = v;
  }
  if (msg.data !== undefined && msg.data !== null && typeof msg.data !== 'string')
    throw new InputError('message.data must be a base64 string');
  const id = msg.messageId ?? msg.message_id;
  return {
    attributes: attrs,
    ...(typeof msg.data === 'string' ? { data: msg.data } : {}),
    ...(typeof id === 'string' || typeof id === 'number' ? { messageId: String(id) } : {}),
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
