// `postgres` (single user) and `postgres-alternating` (two roles used in turn).
//
// Single user: the role's password changes; the old password stops working at `set`, so
// consumers should follow the `current` alias and be restarted/reloaded on the alias move (the
// notification pipeline does that). Alternating: the pending value belongs to the role that is
// NOT in use; the role in use keeps its password until the next rotation, so consumers still on
// `previous` keep working for a whole rotation period. Both change passwords with an admin
// credential read from another secret (`rotor-admin-secret`), never with the rotated one, so a
// resumed rotation can always set again.
import { escapeIdentifier, escapeLiteral } from 'pg';
import { randomBytes } from 'node:crypto';
import { InputError, TransientError, errorMessage, isTransient } from '../../errors';
import type { Logger } from '../../log';
import { fitsAlphabet, randomString } from '../alphabet';
import type { DbCredential } from './dbCredential';
import { dbCredentialValue, parseDbCredential, sameEndpoint } from './dbCredential';
import type { PgEndpoint } from './pgConnection';
import {
  SQLSTATE,
  classifyPgError,
  connectAs,
  describeEndpoint,
  endpointOf,
  openClient,
  pgErrorCode,
  testLogin,
} from './pgConnection';
import { scramSha256Verifier } from './scram';
import type { PreparedRotation, RotationStrategy, StrategyContext } from './strategy';

export const postgresStrategy: RotationStrategy = {
  name: 'postgres',
  prepare: (ctx) => preparePostgres(ctx, false),
};

export const postgresAlternatingStrategy: RotationStrategy = {
  name: 'postgres-alternating',
  prepare: (ctx) => preparePostgres(ctx, true),
};

async function preparePostgres(ctx: StrategyContext, alternating: boolean): Promise<PreparedRotation> {
  const where = ctx.secret.name;
  const { current, admin, currentEndpoint, adminEndpoint } = await readCredentials(ctx);

  const roles = alternating ? ctx.config.users : undefined;
  if (alternating && !roles) throw new InputError('postgres-alternating needs rotor-users', where);
  // The role the pending value is for: alternating switches to the other one.
  const pendingUser = roles ? (current.username === roles[0] ? roles[1] : roles[0]) : current.username;

  // Preflight, read-only: the admin can log in and the role exists. A server that is down
  // fails here, before any version is added.
  const { logger } = ctx;
  await checkRolesExist(adminEndpoint, admin, roles ? [...roles] : [current.username], where, logger);
  // The role the new value is for must be able to log in from here, or the test step could
  // never pass: find out before any password changes.
  await checkCanLogIn(
    currentEndpoint,
    pendingUser,
    pendingUser === current.username ? current.password : undefined,
    where,
    logger,
  );

  const { length, alphabet } = ctx.config;
  return {
    create: () =>
      dbCredentialValue({ ...current, username: pendingUser, password: randomString(length, alphabet) }),
    adoptable: (value) => {
      try {
        const c = parseDbCredential(value, where);
        return (
          c.username === pendingUser && sameEndpoint(c, current) && fitsAlphabet(c.password, length, alphabet)
        );
      } catch {
        return false;
      }
    },
    set: (pending) =>
      setPassword(adminEndpoint, admin, parseDbCredential(pending, `${where} pending`), where, logger),
    test: (pending) => {
      const cred = parseDbCredential(pending, `${where} pending`);
      return testLogin(endpointOf(cred, currentEndpoint, where), cred, where, logger);
    },
    close: () => Promise.resolve(),
  };
}

/** The credential in use and the admin's (from the admin secret), and where each connects. */
async function readCredentials(ctx: StrategyContext): Promise<{
  current: DbCredential;
  admin: DbCredential;
  currentEndpoint: PgEndpoint;
  adminEndpoint: PgEndpoint;
}> {
  const where = ctx.secret.name;
  if (!ctx.current) {
    throw new InputError(
      'has no version to rotate from: add one with {"username","password","host","port","dbname"}',
      where,
    );
  }
  const current = parseDbCredential(ctx.current, `${where} (current version)`);
  const adminId = ctx.config.adminSecret;
  if (!adminId) throw new InputError('no admin secret configured', where);
  const adminValue = await ctx.secretManager.accessVersion(adminId, 'latest').catch((err: unknown) => {
    throw isTransient(err)
      ? new TransientError(`admin secret: ${errorMessage(err)}`, { cause: err })
      : new InputError(
          `cannot read admin secret: ${err instanceof Error ? err.message : String(err)}`,
          where,
        );
  });
  const admin = parseDbCredential(adminValue.value, `${where} admin secret`);
  const currentEndpoint = endpointOf(current, undefined, `${where} (current version)`);
  const adminEndpoint = endpointOf(admin, currentEndpoint, `${where} admin secret`);
  return { current, admin, currentEndpoint, adminEndpoint };
}

/** Preflight: the admin logs in and every role the rotation would re-password exists. */
async function checkRolesExist(
  adminEndpoint: PgEndpoint,
  admin: DbCredential,
  wanted: string[],
  where: string,
  logger: Logger,
): Promise<void> {
  const client = await connectAs(
    adminEndpoint,
    admin.username,
    admin.password,
    `${where} admin preflight`,
    logger,
  );
  try {
    const res = await client.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])',
      [wanted],
    );
    const found = new Set(res.rows.map((r) => r.rolname));
    const missing = wanted.filter((r) => !found.has(r));
    if (missing.length > 0)
      throw new InputError(
        `role(s) ${missing.map((m) => `"${m}"`).join(', ')} do not exist on ${adminEndpoint.host}:${adminEndpoint.port}`,
        where,
      );
  } catch (err) {
    throw err instanceof InputError ? err : classifyPgError(err, `${where} admin preflight`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function setPassword(
  endpoint: PgEndpoint,
  admin: DbCredential,
  pending: DbCredential,
  where: string,
  logger: Logger,
): Promise<void> {
  const client = await connectAs(endpoint, admin.username, admin.password, `${where} set`, logger);
  try {
    // ALTER ROLE takes no bind parameters; both parts are escaped, and the password travels as a
    // SCRAM verifier so the statement text holds no password.
    await client.query(
      `ALTER ROLE ${escapeIdentifier(pending.username)} WITH PASSWORD ${escapeLiteral(scramSha256Verifier(pending.password))}`,
    );
  } catch (err) {
    throw classifyPgError(err, `${where} set password of "${pending.username}"`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Preflight: can `role` log in to `endpoint` from here? With its password when known (single
 * user); else (the other role of postgres-alternating) with a throwaway one, where "wrong
 * password" is the answer that proves the server would let the role in. Only a rejection no
 * password can fix fails the preflight; a stored password that has drifted is what the rotation
 * repairs, so it is only logged.
 */
async function checkCanLogIn(
  endpoint: PgEndpoint,
  role: string,
  password: string | undefined,
  where: string,
  logger: Logger,
): Promise<void> {
  let client;
  try {
    client = await openClient(endpoint, role, password ?? randomBytes(24).toString('base64url'), logger);
  } catch (err) {
    if (pgErrorCode(err) === SQLSTATE.wrongPassword) {
      if (password !== undefined)
        logger.warn(
          `the value in use does not log in as "${role}" (wrong password); the rotation replaces it`,
        );
      return;
    }
    const code = pgErrorCode(err);
    const hint =
      code === SQLSTATE.rejected
        ? ": the server rejects this role from Rotor's address whatever the password (pg_hba.conf, or the role has NOLOGIN); the new value could never be tested, so nothing was changed"
        : '';
    throw classifyPgError(
      err,
      `${where} preflight: "${role}" cannot log in to ${describeEndpoint(endpoint)}${hint}`,
    );
  } finally {
    await client?.end().catch(() => undefined);
  }
}
