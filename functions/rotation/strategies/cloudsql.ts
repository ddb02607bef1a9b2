// `cloudsql`: a Cloud SQL user's password, changed through the Cloud SQL Admin API
// (`users.update`, then polling the returned operation until DONE), with google-auth-library's
// credentials. The value has the database-credential JSON shape; when it names a `host`, the
// test step logs in there (PostgreSQL), otherwise the finished operation is the proof.
import { GoogleAuth } from 'google-auth-library';
import { InputError, TransientError } from '../../errors';
import { fitsAlphabet, randomString } from '../alphabet';
import type { DbCredential } from './dbCredential';
import { dbCredentialValue, parseDbCredential } from './dbCredential';
import { endpointOf, testLogin } from './pgConnection';
import type { PreparedRotation, RotationStrategy, StrategyContext } from './strategy';

export const DEFAULT_CLOUDSQL_ENDPOINT = 'https://sqladmin.googleapis.com';
const SCOPE = 'https://www.googleapis.com/auth/sqlservice.admin';

/** What Rotor needs of an authorised HTTP client: google-auth-library's GoogleAuth and AuthClient fit. */
export interface AuthorizedHttp {
  request<T>(opts: {
    url: string;
    method: 'GET' | 'PUT' | 'POST';
    data?: unknown;
    params?: Record<string, string>;
  }): Promise<{ data: T; status: number }>;
}

export interface CloudSqlOptions {
  /** Base URL of the Admin API (a fake in tests). */
  readonly endpoint?: string;
  readonly http?: AuthorizedHttp;
  readonly pollIntervalMs?: number;
  readonly operationTimeoutMs?: number;
}

interface Operation {
  name?: string;
  status?: 'PENDING' | 'RUNNING' | 'DONE' | 'SQL_OPERATION_STATUS_UNSPECIFIED';
  error?: { errors?: Array<{ code?: string; message?: string }> };
}

export function cloudSqlStrategy(options: CloudSqlOptions = {}): RotationStrategy {
  const base = (options.endpoint ?? DEFAULT_CLOUDSQL_ENDPOINT).replace(/\/+$/, '');
  let http = options.http;
  const pollMs = options.pollIntervalMs ?? 2000;
  const timeoutMs = options.operationTimeoutMs ?? 5 * 60_000;
  return {
    name: 'cloudsql',
    async prepare(ctx: StrategyContext): Promise<PreparedRotation> {
      const where = ctx.secret.name;
      const target = ctx.config.cloudSqlInstance;
      if (!target) throw new InputError('no Cloud SQL instance configured', where);
      if (!ctx.current)
        throw new InputError(
          'has no version to rotate from: add one with {"username","password"[,"host","port","dbname"]}',
          where,
        );
      const current = parseDbCredential(ctx.current, `${where} (current version)`);
      http ??= new GoogleAuth({ scopes: [SCOPE] });
      const api = http;
      const instanceUrl = `${base}/v1/projects/${encodeURIComponent(target.project)}/instances/${encodeURIComponent(target.instance)}`;
      const what = `Cloud SQL ${target.project}:${target.instance}`;

      // Preflight: the API answers, we are allowed, and the user exists.
      const users = await call<{ items?: Array<{ name?: string; host?: string }> }>(
        api,
        { url: `${instanceUrl}/users`, method: 'GET' },
        `${what} users.list`,
      );
      const user = (users.items ?? []).find((u) => u.name === current.username);
      if (!user) throw new InputError(`user "${current.username}" does not exist on ${what}`, where);

      const { length, alphabet } = ctx.config;
      return {
        create: () => dbCredentialValue({ ...current, password: randomString(length, alphabet) }),
        adoptable: (value) => {
          try {
            const c = parseDbCredential(value, where);
            return c.username === current.username && fitsAlphabet(c.password, length, alphabet);
          } catch {
            return false;
          }
        },
        async set(pending) {
          const cred = parseDbCredential(pending, `${where} pending`);
          const params: Record<string, string> = { name: cred.username };
          // MySQL users are keyed by (name, host); PostgreSQL users have no host.
          if (user.host) params.host = user.host;
          const op = await call<Operation>(
            api,
            {
              url: `${instanceUrl}/users`,
              method: 'PUT',
              params,
              data: { name: cred.username, password: cred.password },
            },
            `${what} users.update`,
          );
          await waitFor(api, base, target.project, op, what, pollMs, timeoutMs);
        },
        async test(pending) {
          const cred: DbCredential = parseDbCredential(pending, `${where} pending`);
          if (!cred.host) return;
          await testLogin(endpointOf(cred, undefined, where), cred, where, ctx.logger);
        },
        close: () => Promise.resolve(),
      };
    },
  };
}

async function waitFor(
  api: AuthorizedHttp,
  base: string,
  project: string,
  first: Operation,
  what: string,
  pollMs: number,
  timeoutMs: number,
): Promise<void> {
  let op = first;
  const deadline = Date.now() + timeoutMs;
  while (op.status !== 'DONE') {
    if (!op.name) throw new TransientError(`${what}: operation has no name to poll`);
    if (Date.now() > deadline)
      throw new TransientError(
        `${what}: operation ${op.name} not done after ${Math.round(timeoutMs / 1000)}s`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
    op = await call<Operation>(
      api,
      {
        url: `${base}/v1/projects/${encodeURIComponent(project)}/operations/${encodeURIComponent(op.name)}`,
        method: 'GET',
      },
      `${what} operations.get`,
    );
  }
  const errors = op.error?.errors ?? [];
  if (errors.length > 0) {
    // A finished operation with errors is the backend refusing (e.g. password policy): permanent.
    throw new InputError(
      `operation ${op.name ?? ''} failed: ${errors.map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ')}`,
      what,
    );
  }
}

async function call<T>(
  api: AuthorizedHttp,
  opts: Parameters<AuthorizedHttp['request']>[0],
  what: string,
): Promise<T> {
  try {
    const res = await api.request<T>(opts);
    return res.data;
  } catch (err) {
    const status = httpStatus(err);
    const detail = err instanceof Error ? err.message : String(err);
    // The request body holds the password; error messages from gaxios can echo the request, so
    // only the status and the API's own message are kept.
    const apiMessage = apiErrorMessage(err);
    const said = apiMessage ? `: ${apiMessage}` : status ? '' : `: ${detail}`;
    const text = redactRequestEcho(`${what}: HTTP ${status ?? 'error'}${said}`, opts.data);
    if (isPermanentStatus(status)) throw new InputError(text);
    throw new TransientError(text, { cause: status === undefined ? undefined : err });
  }
}

/**
 * Whether an HTTP status says the request can never succeed as sent. 4xx are, except 408 and
 * 429 (try later) and 409: Cloud SQL answers 409 when another operation on the instance is in
 * progress (a backup, maintenance, another user's update), which finishes on its own; treating
 * it as a refusal would abandon the rotation.
 */
function isPermanentStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && ![408, 409, 429].includes(status);
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; response?: { status?: unknown } };
  const s = e.response?.status ?? e.status;
  return typeof s === 'number' ? s : undefined;
}

function apiErrorMessage(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const data = (err as { response?: { data?: unknown } }).response?.data;
  if (typeof data === 'object' && data !== null) {
    const m = (data as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  }
  return undefined;
}

/**
 * `message` with every echo of the request's password removed: the JSON member `"password":"…"`
 * read escape-aware (a password may hold `"` or `\`, written `\"` and `\\`), through the end of the
 * message when it was cut inside the string; and the password itself, raw or JSON-escaped,
 * wherever else it appears (an API message quoting it, another encoding of the body).
 */
export function redactRequestEcho(message: string, request: unknown): string {
  let out = message.replace(/"password"\s*:\s*"(?:[^"\\]|\\[\s\S])*(?:"|\\?$)/g, '"password":"[redacted]"');
  const password =
    typeof request === 'object' && request !== null
      ? (request as { password?: unknown }).password
      : undefined;
  if (typeof password === 'string' && password !== '')
    for (const form of [password, JSON.stringify(password).slice(1, -1)])
      out = out.split(form).join('[redacted]');
  return out;
}
