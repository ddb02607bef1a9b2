// Connections to PostgreSQL for rotation: short timeouts (a rotation must not hang a function
// instance), and failures sorted into "try later" (TransientError: the server is down or
// unreachable) and "will not work until someone fixes it" (InputError: a rejected login, a
// missing role). Error texts from the driver are kept; they never contain the password.
import { Client } from 'pg';
import { InputError, TransientError } from '../../errors';
import type { DbCredential } from './dbCredential';

export interface PgEndpoint {
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  readonly ssl?: boolean;
}

const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 15_000;

export function endpointOf(
  cred: DbCredential,
  fallback?: Partial<PgEndpoint>,
  where = 'database credential',
): PgEndpoint {
  const host = cred.host ?? fallback?.host;
  if (!host) throw new InputError('no "host" in the credential', where);
  return {
    host,
    port: cred.port ?? fallback?.port ?? 5432,
    dbname: cred.dbname ?? fallback?.dbname ?? 'postgres',
    ...((cred.ssl ?? fallback?.ssl) ? { ssl: true } : {}),
  };
}

/** Connects as `user`; the caller must end() the client. */
export async function connectAs(
  endpoint: PgEndpoint,
  user: string,
  password: string,
  what: string,
): Promise<Client> {
  const client = new Client({
    host: endpoint.host,
    port: endpoint.port,
    database: endpoint.dbname,
    user,
    password,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    ...(endpoint.ssl ? { ssl: { rejectUnauthorized: false } } : {}),
  });
  // Errors after connect (server restart) arrive as events; without a listener they crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw classifyPgError(
      err,
      `${what}: cannot log in to ${endpoint.host}:${endpoint.port}/${endpoint.dbname} as "${user}"`,
    );
  }
}

export function classifyPgError(err: unknown, what: string): Error {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const detail = err instanceof Error ? err.message : String(err);
  // 28xxx: authentication/authorization; 42704: undefined object (role); 42501: privilege.
  if (/^28/.test(code) || code === '42704' || code === '42501' || code === '3D000') {
    return new InputError(`${detail} (SQLSTATE ${code})`, what);
  }
  return new TransientError(`${what}: ${detail}${code ? ` (${code})` : ''}`, { cause: err });
}
