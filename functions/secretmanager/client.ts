// The SecretManager interface backed by the real @google-cloud/secret-manager client. This file
// is the only place that knows the protobuf shapes (int64 as Long/string, Timestamps, update
// masks); everything it returns is plain data from ./types.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { protos } from '@google-cloud/secret-manager';
import * as grpc from '@grpc/grpc-js';
import type { SecretId, VersionSelector } from '../core/secretName';
import { formatSecretId, formatSecretVersion } from '../core/secretName';
import { secretManagerEndpoint } from '../config';
import { classifyError, SecretManagerError } from './errors';
import { SecretValue } from './secretValue';
import type {
  AccessedVersion,
  NewSecret,
  SecretManager,
  SecretMetadata,
  SecretPatch,
  SecretVersionInfo,
  VersionState,
} from './types';

type ISecret = protos.google.cloud.secretmanager.v1.ISecret;
type ISecretVersion = protos.google.cloud.secretmanager.v1.ISecretVersion;
type ITimestamp = protos.google.protobuf.ITimestamp;
type IDuration = protos.google.protobuf.IDuration;
/** int64 fields arrive as number, string or a Long-like object depending on the transport. */
type Int64 = number | string | { toString(): string } | null | undefined;

export interface SecretManagerClientOptions {
  /**
   * `host:port` of an emulator or stand-in, reached over plaintext gRPC without credentials.
   * Unset: the production endpoints (global, or `secretmanager.LOCATION.rep.googleapis.com` for
   * regional secrets) with Application Default Credentials.
   */
  readonly endpoint?: string;
}

/** Reads ROTOR_SECRET_MANAGER_ENDPOINT (emulator/stand-in) from the environment. */
export function secretManagerFromEnv(env: NodeJS.ProcessEnv = process.env): SecretManager {
  const endpoint = secretManagerEndpoint(env);
  return createSecretManager(endpoint ? { endpoint } : {});
}

/**
 * The SecretManager over the real client: each operation is one function below, over one Rpc (the
 * clients per location and the error classification every call goes through).
 */
export function createSecretManager(options: SecretManagerClientOptions = {}): SecretManager {
  const rpc = secretManagerRpc(options.endpoint);
  return {
    getSecret: (id) => getSecret(rpc, id),
    createSecret: (id, init: NewSecret = {}) => createSecret(rpc, id, init),
    updateSecret: (id, patch, etag) => updateSecret(rpc, id, patch, etag),
    listVersions: (id) => listVersions(rpc, id),
    getVersion: (id, version) => getVersion(rpc, id, version),
    accessVersion: (id, version) => accessVersion(rpc, id, version),
    addVersion: (id, value) => addVersion(rpc, id, value),
    disableVersion: (id, version, etag) => disableVersion(rpc, id, version, etag),
    close: () => rpc.close(),
  };
}

/** The clients (one per location) and the one way a call's failure becomes a SecretManagerError. */
interface Rpc {
  clientFor(id: SecretId): SecretManagerServiceClient;
  call<T>(what: string, fn: () => Promise<T>, withEtag?: boolean): Promise<T>;
  close(): Promise<void>;
}

function secretManagerRpc(endpoint: string | undefined): Rpc {
  // Regional secrets are served only by their regional endpoint, so one client per location.
  const clients = new Map<string, SecretManagerServiceClient>();
  return {
    clientFor(id) {
      const key = endpoint ? 'emulator' : (id.location ?? 'global');
      let client = clients.get(key);
      if (!client) {
        client = new SecretManagerServiceClient(clientOptions(endpoint, id.location));
        clients.set(key, client);
      }
      return client;
    },
    async call(what, fn, withEtag = false) {
      try {
        return await fn();
      } catch (err) {
        throw classifyError(err, what, withEtag);
      }
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}

async function getSecret(rpc: Rpc, id: SecretId): Promise<SecretMetadata> {
  const name = formatSecretId(id);
  const [secret] = await rpc.call(`get ${name}`, () => rpc.clientFor(id).getSecret({ name }));
  return toMetadata(id, secret);
}

async function createSecret(rpc: Rpc, id: SecretId, init: NewSecret): Promise<SecretMetadata> {
  const parent = id.location ? `projects/${id.project}/locations/${id.location}` : `projects/${id.project}`;
  const secret: ISecret = { labels: init.labels ?? {}, annotations: init.annotations ?? {} };
  // Global secrets need a replication policy; regional ones must not have one.
  if (!id.location) secret.replication = { automatic: {} };
  const [created] = await rpc.call(`create ${formatSecretId(id)}`, () =>
    rpc.clientFor(id).createSecret({ parent, secretId: id.secret, secret }),
  );
  return toMetadata(id, created);
}

async function updateSecret(
  rpc: Rpc,
  id: SecretId,
  patch: SecretPatch,
  etag?: string,
): Promise<SecretMetadata> {
  const name = formatSecretId(id);
  const paths: string[] = [];
  const secret: ISecret = { name };
  if (patch.labels) {
    secret.labels = patch.labels;
    paths.push('labels');
  }
  if (patch.annotations) {
    secret.annotations = patch.annotations;
    paths.push('annotations');
  }
  if (patch.versionAliases) {
    secret.versionAliases = Object.fromEntries(
      Object.entries(patch.versionAliases).map(([k, v]) => [k, String(v)]),
    );
    paths.push('version_aliases');
  }
  if (etag !== undefined) secret.etag = etag;
  if (paths.length === 0) return getSecret(rpc, id);
  const [updated] = await rpc.call(
    `update ${name} (${paths.join(', ')})`,
    () => rpc.clientFor(id).updateSecret({ secret, updateMask: { paths } }),
    etag !== undefined,
  );
  return toMetadata(id, updated);
}

async function listVersions(rpc: Rpc, id: SecretId): Promise<SecretVersionInfo[]> {
  const parent = formatSecretId(id);
  const out: SecretVersionInfo[] = [];
  await rpc.call(`list versions of ${parent}`, async () => {
    // Explicit paging: the client's auto-pagination warns on stderr in async mode.
    let pageToken = '';
    do {
      const [versions, , response] = await rpc
        .clientFor(id)
        .listSecretVersions({ parent, pageSize: 250, pageToken }, { autoPaginate: false });
      for (const v of versions) out.push(toVersion(id, v));
      pageToken = response?.nextPageToken ?? '';
    } while (pageToken);
  });
  // The API documents newest first; sort anyway so callers can rely on it with any backend.
  return out.sort((a, b) => b.version - a.version);
}

async function getVersion(rpc: Rpc, id: SecretId, version: VersionSelector): Promise<SecretVersionInfo> {
  const name = formatSecretVersion(id, version);
  const [v] = await rpc.call(`get ${name}`, () => rpc.clientFor(id).getSecretVersion({ name }));
  return toVersion(id, v);
}

async function accessVersion(rpc: Rpc, id: SecretId, version: VersionSelector): Promise<AccessedVersion> {
  const name = formatSecretVersion(id, version);
  const [res] = await rpc.call(`access ${name}`, () => rpc.clientFor(id).accessSecretVersion({ name }));
  const data = res.payload?.data;
  const bytes =
    typeof data === 'string' ? Buffer.from(data, 'base64') : Buffer.from(data ?? new Uint8Array());
  return { version: versionNumber(res.name ?? name), value: SecretValue.fromBytes(bytes) };
}

async function addVersion(rpc: Rpc, id: SecretId, value: SecretValue): Promise<SecretVersionInfo> {
  const parent = formatSecretId(id);
  const [v] = await rpc.call(`add version to ${parent}`, () =>
    rpc.clientFor(id).addSecretVersion({ parent, payload: { data: value.bytes() } }),
  );
  return toVersion(id, v);
}

async function disableVersion(
  rpc: Rpc,
  id: SecretId,
  version: number,
  etag: string | undefined,
): Promise<SecretVersionInfo> {
  const name = formatSecretVersion(id, String(version));
  const [v] = await rpc.call(
    `disable ${name}`,
    () => rpc.clientFor(id).disableSecretVersion({ name, ...(etag ? { etag } : {}) }),
    etag !== undefined,
  );
  return toVersion(id, v);
}

function clientOptions(
  endpoint: string | undefined,
  location: string | undefined,
): ConstructorParameters<typeof SecretManagerServiceClient>[0] {
  if (endpoint) {
    const m = /^(.*):(\d+)$/.exec(endpoint);
    if (!m)
      throw new SecretManagerError(
        'invalid-argument',
        `Secret Manager endpoint "${endpoint}" is not host:port`,
      );
    // An emulator has no project to discover: naming one keeps the auth library from probing
    // the GCE metadata server (slow, and a warning on stderr) on first use.
    return {
      apiEndpoint: m[1],
      port: Number(m[2]),
      sslCreds: grpc.credentials.createInsecure(),
      projectId: 'emulator',
      clientOptions: { universeDomain: 'googleapis.com' },
    };
  }
  return location ? { apiEndpoint: `secretmanager.${location}.rep.googleapis.com` } : {};
}

function toMetadata(id: SecretId, s: ISecret): SecretMetadata {
  const aliases: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.versionAliases ?? {})) aliases[k] = int64(v);
  const rotation = s.rotation
    ? {
        ...(s.rotation.nextRotationTime ? { nextRotationTime: toDate(s.rotation.nextRotationTime) } : {}),
        ...(s.rotation.rotationPeriod
          ? { rotationPeriodSeconds: durationSeconds(s.rotation.rotationPeriod) }
          : {}),
      }
    : undefined;
  return {
    id,
    name: s.name ?? formatSecretId(id),
    etag: s.etag ?? '',
    labels: { ...(s.labels ?? {}) },
    annotations: { ...(s.annotations ?? {}) },
    versionAliases: aliases,
    ...(s.createTime ? { createTime: toDate(s.createTime) } : {}),
    ...(rotation ? { rotation } : {}),
    topics: (s.topics ?? []).flatMap((t) => (t.name ? [t.name] : [])),
  };
}

function toVersion(id: SecretId, v: ISecretVersion): SecretVersionInfo {
  const name = v.name ?? '';
  return {
    id,
    version: versionNumber(name),
    name,
    state: toState(v.state),
    createTime: v.createTime ? toDate(v.createTime) : new Date(0),
    etag: v.etag ?? '',
  };
}

function toState(state: ISecretVersion['state']): VersionState {
  // The client may hand enums back as names or numbers depending on options.
  const s = String(state);
  if (s === 'ENABLED' || s === '1') return 'ENABLED';
  if (s === 'DISABLED' || s === '2') return 'DISABLED';
  return 'DESTROYED';
}

function versionNumber(name: string): number {
  const m = /\/versions\/(\d+)$/.exec(name);
  if (!m) throw new SecretManagerError('invalid-argument', `unexpected version name "${name}"`);
  return Number(m[1]);
}

function int64(v: Int64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

function toDate(t: ITimestamp): Date {
  return new Date(int64(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

function durationSeconds(d: IDuration): number {
  return int64(d.seconds) + (d.nanos ?? 0) / 1e9;
}
