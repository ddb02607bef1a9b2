// Connections to PostgreSQL for rotation: short timeouts (a rotation must not hang a function
// instance), TLS that verifies the server unless told otherwise (pgTls.ts), no password sent in
// the clear to a server that is not verified, and failures sorted into "try later"
// (TransientError: the server is down or unreachable) and "will not work until someone fixes it"
// (InputError: a rejected login, a missing role, a certificate that does not verify). Error
// texts from the driver are kept; they never contain the password.
import { Client } from 'pg';
import { InputError, TransientError, errorMessage } from '../../errors';
import type { Logger } from '../../log';
import type { DbCredential } from './dbCredential';
import type { PgTls } from './pgTls';
import { nodeTlsOptions, tlsOf } from './pgTls';

export interface PgEndpoint {
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  /** Absent: no TLS. */
  readonly tls?: PgTls;
}

const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 15_000;

/** SQLSTATEs of a failed login (class 28) that this code tells apart. */
export const SQLSTATE = {
  /** invalid_authorization_specification: pg_hba.conf rejects (or has no line for) this host/role/database, or the role may not log in. No password fixes it. */
  rejected: '28000',
  /** invalid_password: a wrong password, or (PostgreSQL does not tell) a role that does not exist. */
  wrongPassword: '28P01',
} as const;

export function endpointOf(
  cred: DbCredential,
  fallback?: Partial<PgEndpoint>,
  where = 'database credential',
): PgEndpoint {
  const host = cred.host ?? fallback?.host;
  if (!host) throw new InputError('no "host" in the credential', where);
  const own = tlsOf(cred, where);
  const tls = own === undefined ? fallback?.tls : (own ?? undefined);
  return {
    host,
    port: cred.port ?? fallback?.port ?? 5432,
    dbname: cred.dbname ?? fallback?.dbname ?? 'postgres',
    ...(tls ? { tls } : {}),
  };
}

/**
 * A real login with the pending value. Only what a retry can fix is transient: the server
 * unreachable, or a wrong password (the new one may not have reached a replica or a pooler yet).
 * A rejection that no password fixes (pg_hba.conf, a role that may not log in, a missing
 * database) is permanent, so the rotation is withdrawn instead of retried forever.
 */
export async function testLogin(
  endpoint: PgEndpoint,
  pending: DbCredential,
  where: string,
  logger: Logger,
): Promise<void> {
  const what = `${where} test: "${pending.username}" cannot log in to ${describeEndpoint(endpoint)} with the pending value`;
  let client;
  try {
    client = await openClient(endpoint, pending.username, pending.password, logger);
    await client.query('SELECT 1');
  } catch (err) {
    if (pgErrorCode(err) === SQLSTATE.wrongPassword)
      throw new TransientError(`${what} yet: ${errorMessage(err)}`, { cause: err });
    throw classifyPgError(err, what);
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** Connects as `user`; the caller must end() the client. Failures are classified (classifyPgError). */
export async function connectAs(
  endpoint: PgEndpoint,
  user: string,
  password: string,
  what: string,
  logger: Logger,
): Promise<Client> {
  try {
    return await openClient(endpoint, user, password, logger);
  } catch (err) {
    throw classifyPgError(err, `${what}: cannot log in to ${describeEndpoint(endpoint)} as "${user}"`);
  }
}

/** Connects as `user` and throws the driver's own error (with its SQLSTATE `code`) on failure. */
export async function openClient(
  endpoint: PgEndpoint,
  user: string,
  password: string,
  logger: Logger,
): Promise<Client> {
  const { tls } = endpoint;
  if (tls?.mode === 'no-verify')
    logger.warn(
      `TLS to ${describeEndpoint(endpoint)} WITHOUT certificate verification ("sslmode": "no-verify"): anyone on the network path can impersonate the server and take the password; set "sslca" and drop "sslmode"`,
      { host: endpoint.host, port: endpoint.port },
    );
  let cleartextAsked = false;
  const client = new Client({
    host: endpoint.host,
    port: endpoint.port,
    database: endpoint.dbname,
    user,
    // node-pg has no option to refuse an authentication method, and answers a server's
    // AuthenticationCleartextPassword request with the password as it is. It asks for the
    // password through this function only once the server has named its method, after the
    // listener below has seen the request, so a cleartext request from a server whose
    // identity TLS has not verified (a man-in-the-middle asks for exactly this) gets an error
    // instead: the connection fails before the password leaves the process.
    password: () => {
      if (cleartextAsked && tls?.mode !== 'verify-full')
        throw new InputError(
          `${describeEndpoint(endpoint)} asked for the password in cleartext over a connection whose server is not verified; refused (use scram-sha-256 in pg_hba.conf, or TLS with "verify-full")`,
        );
      return password;
    },
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    ...(tls ? { ssl: nodeTlsOptions(tls), enableChannelBinding: true } : {}),
  });
  client.connection.on('authenticationCleartextPassword', () => {
    cleartextAsked = true;
  });
  // Errors after connect (server restart) arrive as events; without a listener they crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

export function describeEndpoint(endpoint: PgEndpoint): string {
  return `${endpoint.host}:${endpoint.port}/${endpoint.dbname}`;
}

/** The SQLSTATE (or Node error code) of a driver error, '' if none. */
export function pgErrorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
}

/** Node's codes for a server certificate that does not verify (chain or name). */
const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function classifyPgError(err: unknown, what: string): Error {
  if (err instanceof InputError) return new InputError(err.message, what);
  const code = pgErrorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  // 28xxx: authentication/authorization; 42704: undefined object (role); 42501: privilege.
  if (/^28/.test(code) || code === '42704' || code === '42501' || code === '3D000') {
    return new InputError(`${detail} (SQLSTATE ${code})`, what);
  }
  if (TLS_VERIFY_CODES.has(code))
    return new InputError(
      `the server's TLS certificate does not verify: ${detail} (${code}); give the CA that signed it as "sslca", and connect by a name the certificate holds`,
      what,
    );
  if (detail === 'The server does not support SSL connections')
    return new InputError(`${detail}, but the credential asks for TLS`, what);
  return new TransientError(`${what}: ${detail}${code ? ` (${code})` : ''}`, { cause: err });
}
