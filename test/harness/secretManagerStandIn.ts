// A Secret Manager stand-in: a gRPC server speaking google.cloud.secretmanager.v1 from the
// client's own protos, so tests drive the real @google-cloud/secret-manager client over the wire.
// No emulator of Secret Manager is served by the module proxy here, so this implements exactly
// the calls Rotor makes, with the semantics the rotation protocol depends on:
//   - version numbers only increase; `latest` = the most recently created version, any state;
//   - etags on Secret and SecretVersion change on every modification (a version change does not
//     touch the Secret's etag); a mismatched etag fails with FAILED_PRECONDITION, so two
//     concurrent compare-and-set updates cannot both win;
//   - aliases map to existing, non-destroyed versions; `latest` is reserved; one version per alias;
//   - DISABLED/DESTROYED versions cannot be accessed (FAILED_PRECONDITION);
//   - label and annotation key/value rules and the 16 KiB annotation budget are enforced.
// Not covered (docs/rotation.md repeats this): IAM, CMEK, replication status, topics and
// notifications, expiry/TTL, delayed destruction, list filters, payload CRC32C checks, project
// number ↔ id translation (names come back as they were sent).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { randomBytes } from 'node:crypto';
import { parsePubsubMessage } from '../../functions/core/event';
import type { SecretEventType } from '../../functions/core/event';
import { formatSecretId } from '../../functions/core/secretName';
import { createSecretManager } from '../../functions/secretmanager/client';
import type { SecretManager } from '../../functions/secretmanager/types';

const SERVICE = 'google.cloud.secretmanager.v1.SecretManagerService';

type State = 'ENABLED' | 'DISABLED' | 'DESTROYED';

interface VersionRecord {
  readonly number: number;
  readonly createTime: Date;
  state: State;
  etag: string;
  data: Buffer | undefined;
  destroyTime?: Date;
}

interface SecretRecord {
  readonly name: string;
  readonly createTime: Date;
  readonly regional: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  aliases: Map<string, number>;
  etag: string;
  readonly versions: VersionRecord[];
}

/** What a request looks like after proto-loader decoding (camelCase, longs and enums as strings). */
type Msg = Record<string, unknown>;

export type StandInMethod =
  | 'CreateSecret'
  | 'GetSecret'
  | 'UpdateSecret'
  | 'DeleteSecret'
  | 'ListSecrets'
  | 'AddSecretVersion'
  | 'GetSecretVersion'
  | 'ListSecretVersions'
  | 'AccessSecretVersion'
  | 'EnableSecretVersion'
  | 'DisableSecretVersion'
  | 'DestroySecretVersion';

/** A fault a test arms: the next `times` calls of `method` fail with `code` before doing anything. */
export interface Fault {
  readonly method: StandInMethod;
  readonly code: grpc.status;
  times: number;
}

export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export interface SecretManagerStandIn {
  /** `127.0.0.1:PORT`, for ROTOR_SECRET_MANAGER_ENDPOINT / createSecretManager({endpoint}). */
  readonly endpoint: string;
  /** Calls served, by method: lets tests assert "no AddSecretVersion happened". */
  readonly calls: Map<StandInMethod, number>;
  fail(method: StandInMethod, code: grpc.status, times?: number): void;
  /** Runs before every call of `method` (after faults): to interleave concurrent callers. */
  before(method: StandInMethod, hook: (() => Promise<void>) | undefined): void;
  /**
   * Holds every answer of `method` for `ms` after it was computed (undefined: no delay): a slow
   * backend whose reply reflects the state when the request arrived, not when the reply lands.
   */
  delayAnswers(method: StandInMethod, ms: number | undefined): void;
  /**
   * Makes the stand-in hold what a notification announces (tests, the demo and the benches, whose
   * notifications Rotor confirms with versions.get / secrets.get): the secret, its versions up to
   * `version` (missing ones created at `createTime`, ENABLED), that version's `state`, and the
   * `aliases` given. Only ever adds or changes toward what Secret Manager would hold after the
   * event; the invariants of the API (increasing numbers, aliases on existing versions) hold.
   */
  hold(
    secretName: string,
    state: { version?: number; state?: State; createTime?: Date; aliases?: Record<string, number> },
  ): void;
  /** Forgets the secret, as DeleteSecret does (what a SECRET_DELETE announces). */
  drop(secretName: string): void;
  /** Direct read of stored state, bypassing the API (test assertions only). */
  peek(secretName: string):
    | {
        versions: Array<{ number: number; state: State; data?: string }>;
        aliases: Record<string, number>;
        annotations: Record<string, string>;
        labels: Record<string, string>;
        etag: string;
      }
    | undefined;
  close(): Promise<void>;
}

const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const ANNOTATION_KEY = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$/;
const ALIAS = /^[a-zA-Z0-9_-]{1,63}$/;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const MAX_PAYLOAD = 64 * 1024;
const MAX_ANNOTATIONS = 16 * 1024;

export interface StandInOptions {
  /** The stand-in's clock (create times): tests that move time move it for both sides. */
  readonly now?: () => Date;
}

export async function startSecretManagerStandIn(options: StandInOptions = {}): Promise<SecretManagerStandIn> {
  const now = options.now ?? (() => new Date());
  const definition = protoLoader.fromJSON(
    // The client's bundled descriptor set: the service exactly as the client compiled it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@google-cloud/secret-manager/build/protos/protos.json') as Parameters<
      typeof protoLoader.fromJSON
    >[0],
    { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true },
  );
  const service = definition[SERVICE] as grpc.ServiceDefinition;
  const secrets = new Map<string, SecretRecord>();
  const calls = new Map<StandInMethod, number>();
  const faults: Fault[] = [];
  const hooks = new Map<StandInMethod, () => Promise<void>>();
  const answerDelays = new Map<StandInMethod, number>();

  const handlers: Record<StandInMethod, (req: Msg) => Msg | Record<string, never>> = {
    CreateSecret(req) {
      const parent = str(req.parent);
      const parentMatch = /^projects\/[^/]+(\/locations\/[^/]+)?$/.exec(parent);
      if (!parentMatch) throw invalid(`parent "${parent}" is not projects/P or projects/P/locations/L`);
      const secretId = str(req.secretId);
      if (!SECRET_ID.test(secretId)) throw invalid(`secret_id "${secretId}" is invalid`);
      const name = `${parent}/secrets/${secretId}`;
      if (secrets.has(name))
        throw new RpcError(grpc.status.ALREADY_EXISTS, `Secret [${name}] already exists.`);
      const body = obj(req.secret);
      const regional = parentMatch[1] !== undefined;
      if (!regional && !body.replication) throw invalid('Secret.replication is required for global secrets');
      const record: SecretRecord = {
        name,
        createTime: now(),
        regional,
        labels: checkLabels(strMap(body.labels)),
        annotations: checkAnnotations(strMap(body.annotations)),
        aliases: new Map(),
        etag: newEtag(),
        versions: [],
      };
      secrets.set(name, record);
      return secretMsg(record);
    },

    GetSecret(req) {
      return secretMsg(findSecret(str(req.name)));
    },

    UpdateSecret(req) {
      const body = obj(req.secret);
      const record = findSecret(str(body.name));
      const paths = (obj(req.updateMask).paths as string[] | undefined) ?? [];
      if (paths.length === 0) throw invalid('update_mask is required');
      checkEtag(str(body.etag), record.etag, record.name);
      // Validate everything first so a rejected update changes nothing.
      let labels = record.labels;
      let annotations = record.annotations;
      let aliases = record.aliases;
      for (const path of paths) {
        switch (path) {
          case 'labels':
            labels = checkLabels(strMap(body.labels));
            break;
          case 'annotations':
            annotations = checkAnnotations(strMap(body.annotations));
            break;
          case 'version_aliases':
          case 'versionAliases':
            aliases = checkAliases(record, obj(body.versionAliases));
            break;
          default:
            throw new RpcError(grpc.status.UNIMPLEMENTED, `the stand-in does not update "${path}"`);
        }
      }
      record.labels = labels;
      record.annotations = annotations;
      record.aliases = aliases;
      record.etag = newEtag();
      return secretMsg(record);
    },

    DeleteSecret(req) {
      const record = findSecret(str(req.name));
      checkEtag(str(req.etag), record.etag, record.name);
      secrets.delete(record.name);
      return {};
    },

    ListSecrets(req) {
      if (str(req.filter)) throw new RpcError(grpc.status.UNIMPLEMENTED, 'the stand-in does not filter');
      const parent = str(req.parent);
      const all = [...secrets.values()].filter((s) => s.name.startsWith(parent + '/secrets/')).reverse();
      return page(all, req, (s) => secretMsg(s), 'secrets');
    },

    AddSecretVersion(req) {
      const record = findSecret(str(req.parent));
      const payload = obj(req.payload);
      const data = payload.data;
      if (!Buffer.isBuffer(data) || data.length === 0) throw invalid('payload.data is required');
      if (data.length > MAX_PAYLOAD)
        throw invalid(`payload is ${data.length} bytes; the limit is ${MAX_PAYLOAD}`);
      const last = record.versions[record.versions.length - 1];
      const version: VersionRecord = {
        number: (last?.number ?? 0) + 1,
        createTime: now(),
        state: 'ENABLED',
        etag: newEtag(),
        data: Buffer.from(data),
      };
      record.versions.push(version);
      return versionMsg(record, version);
    },

    GetSecretVersion(req) {
      const [record, version] = findVersion(str(req.name));
      return versionMsg(record, version);
    },

    ListSecretVersions(req) {
      if (str(req.filter)) throw new RpcError(grpc.status.UNIMPLEMENTED, 'the stand-in does not filter');
      const record = findSecret(str(req.parent));
      return page([...record.versions].reverse(), req, (v) => versionMsg(record, v), 'versions');
    },

    AccessSecretVersion(req) {
      const [record, version] = findVersion(str(req.name));
      if (version.state !== 'ENABLED' || !version.data) {
        throw new RpcError(
          grpc.status.FAILED_PRECONDITION,
          `${versionName(record, version)} is in ${version.state} state.`,
        );
      }
      return { name: versionName(record, version), payload: { data: version.data } };
    },

    EnableSecretVersion(req) {
      return setState(req, 'ENABLED');
    },

    DisableSecretVersion(req) {
      return setState(req, 'DISABLED');
    },

    DestroySecretVersion(req) {
      return setState(req, 'DESTROYED');
    },
  };

  function setState(req: Msg, state: State): Msg {
    const [record, version] = findVersion(str(req.name));
    checkEtag(str(req.etag), version.etag, versionName(record, version));
    if (version.state === 'DESTROYED') {
      throw new RpcError(grpc.status.FAILED_PRECONDITION, `${versionName(record, version)} is destroyed`);
    }
    version.state = state;
    if (state === 'DESTROYED') {
      version.data = undefined;
      version.destroyTime = now();
    }
    // No-op updates change the etag too, as the real service does.
    version.etag = newEtag();
    return versionMsg(record, version);
  }

  function hold(
    secretName: string,
    want: { version?: number; state?: State; createTime?: Date; aliases?: Record<string, number> },
  ): void {
    const createTime = want.createTime ?? now();
    let record = secrets.get(secretName);
    if (!record) {
      record = {
        name: secretName,
        createTime,
        regional: secretName.includes('/locations/'),
        labels: {},
        annotations: {},
        aliases: new Map(),
        etag: newEtag(),
        versions: [],
      };
      secrets.set(secretName, record);
    }
    const r = record;
    const last = () => r.versions[r.versions.length - 1]?.number ?? 0;
    while (want.version !== undefined && last() < want.version) {
      const number = last() + 1;
      r.versions.push({
        number,
        createTime,
        state: 'ENABLED',
        etag: newEtag(),
        data: Buffer.from(`held-v${number}`),
      });
    }
    const version = r.versions.find((v) => v.number === want.version);
    if (version && want.state && version.state !== want.state) {
      version.state = want.state;
      version.etag = newEtag();
      if (want.state === 'DESTROYED') {
        version.data = undefined;
        version.destroyTime = now();
      }
    }
    if (want.aliases) {
      for (const [alias, n] of Object.entries(want.aliases)) {
        if (!r.versions.some((v) => v.number === n)) hold(secretName, { version: n, createTime });
        r.aliases.set(alias, n);
      }
      r.etag = newEtag();
    }
  }

  function findSecret(name: string): SecretRecord {
    const record = secrets.get(name);
    if (!record) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${name}] not found or has no versions.`);
    return record;
  }

  function findVersion(name: string): [SecretRecord, VersionRecord] {
    const m = /^(.*)\/versions\/([^/]+)$/.exec(name);
    if (!m) throw invalid(`"${name}" is not a secret version name`);
    const record = findSecret(m[1]);
    const selector = m[2];
    let number: number | undefined;
    if (selector === 'latest') number = record.versions[record.versions.length - 1]?.number;
    else if (/^\d+$/.test(selector)) number = Number(selector);
    else number = record.aliases.get(selector);
    const version = record.versions.find((v) => v.number === number);
    if (!version) throw new RpcError(grpc.status.NOT_FOUND, `Secret Version [${name}] not found.`);
    return [record, version];
  }

  function checkAliases(record: SecretRecord, raw: Msg): Map<string, number> {
    const out = new Map<string, number>();
    for (const [alias, value] of Object.entries(raw)) {
      if (alias === 'latest') throw invalid('"latest" is a reserved alias');
      if (!ALIAS.test(alias) || /^\d+$/.test(alias)) throw invalid(`alias "${alias}" is invalid`);
      const number = Number(value);
      const version = record.versions.find((v) => v.number === number);
      if (!version) throw invalid(`alias "${alias}" names version ${String(value)}, which does not exist`);
      if (version.state === 'DESTROYED')
        throw new RpcError(
          grpc.status.FAILED_PRECONDITION,
          `alias "${alias}" names destroyed version ${number}`,
        );
      out.set(alias, number);
    }
    if (out.size > 50) throw invalid('at most 50 aliases');
    return out;
  }

  const server = new grpc.Server();
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [rpc, def] of Object.entries(service)) {
    const method = rpc as StandInMethod;
    const handler = handlers[method];
    impl[def.originalName ?? rpc] = (
      call: grpc.ServerUnaryCall<Msg, Msg>,
      callback: grpc.sendUnaryData<Msg>,
    ) => {
      calls.set(method, (calls.get(method) ?? 0) + 1);
      void (async () => {
        const fault = faults.find((f) => f.method === method && f.times > 0);
        if (fault) {
          fault.times--;
          throw new RpcError(fault.code, `injected fault on ${method}`);
        }
        if (!handler) throw new RpcError(grpc.status.UNIMPLEMENTED, `the stand-in does not implement ${rpc}`);
        const hook = hooks.get(method);
        if (hook) await hook();
        // The handler runs synchronously: each call is atomic, like one transaction in the service.
        const answer = handler(call.request);
        const delay = answerDelays.get(method);
        if (delay) await new Promise((r) => setTimeout(r, delay));
        return answer;
      })().then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = err instanceof RpcError ? err : new RpcError(grpc.status.INTERNAL, String(err));
          callback({ code: e.code, details: e.message, metadata: new grpc.Metadata() }, null);
        },
      );
    };
  }
  server.addService(service, impl);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });

  return {
    endpoint: `127.0.0.1:${port}`,
    calls,
    fail(method, code, times = 1) {
      faults.push({ method, code, times });
    },
    before(method, hook) {
      if (hook) hooks.set(method, hook);
      else hooks.delete(method);
    },
    delayAnswers(method, ms) {
      if (ms) answerDelays.set(method, ms);
      else answerDelays.delete(method);
    },
    hold,
    drop(secretName) {
      secrets.delete(secretName);
    },
    peek(secretName) {
      const r = secrets.get(secretName);
      if (!r) return undefined;
      return {
        versions: r.versions.map((v) => ({
          number: v.number,
          state: v.state,
          ...(v.data ? { data: v.data.toString('utf8') } : {}),
        })),
        aliases: Object.fromEntries(r.aliases),
        annotations: { ...r.annotations },
        labels: { ...r.labels },
        etag: r.etag,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open client channels would keep tryShutdown waiting; don't let a test hang on them.
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}

function secretMsg(r: SecretRecord): Msg {
  return {
    name: r.name,
    createTime: ts(r.createTime),
    labels: r.labels,
    annotations: r.annotations,
    versionAliases: Object.fromEntries([...r.aliases].map(([k, v]) => [k, String(v)])),
    etag: r.etag,
    ...(r.regional ? {} : { replication: { automatic: {} } }),
  };
}

function versionName(r: SecretRecord, v: VersionRecord): string {
  return `${r.name}/versions/${v.number}`;
}

function versionMsg(r: SecretRecord, v: VersionRecord): Msg {
  return {
    name: versionName(r, v),
    createTime: ts(v.createTime),
    ...(v.destroyTime ? { destroyTime: ts(v.destroyTime) } : {}),
    state: v.state,
    etag: v.etag,
  };
}

function page<T>(items: T[], req: Msg, toMsg: (t: T) => Msg, field: string): Msg {
  const size = Number(req.pageSize ?? 0) || 100;
  const start = Number(str(req.pageToken) || '0');
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? String(start + size) : '';
  return { [field]: slice.map(toMsg), nextPageToken: next, totalSize: items.length };
}

function checkEtag(given: string, current: string, name: string): void {
  if (given && given !== current) {
    throw new RpcError(
      grpc.status.FAILED_PRECONDITION,
      `The etag provided for ${name} does not match the current etag.`,
    );
  }
}

function checkLabels(labels: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) throw invalid(`label key "${k}" is invalid`);
    if (!LABEL_VALUE.test(v)) throw invalid(`label value "${v}" for "${k}" is invalid`);
  }
  if (Object.keys(labels).length > 64) throw invalid('at most 64 labels');
  return labels;
}

function checkAnnotations(annotations: Record<string, string>): Record<string, string> {
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    if (!ANNOTATION_KEY.test(k)) throw invalid(`annotation key "${k}" is invalid`);
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size >= MAX_ANNOTATIONS) throw invalid(`annotations take ${size} bytes; the limit is 16KiB`);
  return annotations;
}

function newEtag(): string {
  return `"${randomBytes(8).toString('hex')}"`;
}

function ts(d: Date): Msg {
  return { seconds: String(Math.floor(d.getTime() / 1000)), nanos: (d.getTime() % 1000) * 1e6 };
}

function invalid(message: string): RpcError {
  return new RpcError(grpc.status.INVALID_ARGUMENT, message);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function obj(v: unknown): Msg {
  return typeof v === 'object' && v !== null ? (v as Msg) : {};
}

function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) out[k] = String(val);
  return out;
}

/**
 * Makes `standIn` hold what `message` (a Secret Manager notification, as notificationMessage
 * builds it) announces, so that Rotor confirms it: versions created no later than the event time,
 * the state a version event leaves its version in, the aliases a SECRET_UPDATE claims.
 */
export function holdAnnounced(
  standIn: Pick<SecretManagerStandIn, 'hold' | 'drop'>,
  message: { readonly data?: string; readonly attributes: Readonly<Record<string, string>> },
): void {
  const event = parsePubsubMessage(message);
  if (!event.secret) return;
  const name = formatSecretId(event.secret);
  const createTime = event.eventTime ? new Date(Date.parse(event.eventTime) - 1000) : undefined;
  const at = createTime ? { createTime } : {};
  const aliases = event.secretResource?.versionAliases;
  if (event.type === 'SECRET_DELETE') standIn.drop(name);
  else if (event.version !== undefined)
    standIn.hold(name, {
      version: Number(event.version),
      state: STATE_AFTER[event.type] ?? 'ENABLED',
      ...at,
    });
  else if (aliases)
    standIn.hold(name, {
      aliases: Object.fromEntries(Object.entries(aliases).map(([k, v]) => [k, Number(v)])),
      ...at,
    });
  else standIn.hold(name, at);
}

const STATE_AFTER: Partial<Record<SecretEventType, State>> = {
  SECRET_VERSION_DISABLE: 'DISABLED',
  SECRET_VERSION_DESTROY_SCHEDULED: 'DISABLED',
  SECRET_VERSION_DESTROY: 'DESTROYED',
};

/**
 * A stand-in and the real client on it, as the function entry points get it: for tests and benches
 * that call the handlers in process. `announce` makes the stand-in hold what a notification says.
 */
export async function startConfirmingSecretManager(): Promise<{
  readonly standIn: SecretManagerStandIn;
  readonly secretManager: SecretManager;
  announce(message: { readonly data?: string; readonly attributes: Readonly<Record<string, string>> }): void;
  close(): Promise<void>;
}> {
  const standIn = await startSecretManagerStandIn();
  const secretManager = createSecretManager({ endpoint: standIn.endpoint });
  return {
    standIn,
    secretManager,
    announce: (message) => holdAnnounced(standIn, message),
    async close() {
      await secretManager.close();
      await standIn.close();
    },
  };
}
