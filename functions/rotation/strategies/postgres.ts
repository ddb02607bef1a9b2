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
import { InputError, TransientError, errorMessage, isTransient } from '../../errors';
import { fitsAlphabet, randomString } from '../alphabet';
import type { DbCredential } from './dbCredential';
import { dbCredentialValue, parseDbCredential, sameEndpoint } from './dbCredential';
import type { PgEndpoint } from './pgConnection';
import { classifyPgError, connectAs, endpointOf } from './pgConnection';
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

  const roles = alternating ? ctx.config.users : undefined;
  if (alternating && !roles) throw new InputError('postgres-alternating needs rotor-users', where);
  // The role the pending value is for: alternating switches to the other one.
  const pendingUser = roles ? (current.username === roles[0] ? roles[1] : roles[0]) : current.username;

  // Preflight, read-only: the admin can log in and the role exists. A server that is down
  // fails here, before any version is added.
  const client = await connectAs(adminEndpoint, admin.username, admin.password, `${where} admin preflight`);
  try {
    const wanted = roles ? [...roles] : [current.username];
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
      setPassword(adminEndpoint, admin, parseDbCredential(pending, `${where} pending`), where),
    test: (pending) => testLogin(currentEndpoint, parseDbCredential(pending, `${where} pending`), where),
    close: () => Promise.resolve(),
  };
}

async function setPassword(
  endpoint: PgEndpoint,
  admin: DbCredential,
  pending: DbCredential,
  where: string,
): Promise<void> {
  const client = await connectAs(endpoint, admin.username, admin.password, `${where} set`);
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

async function testLogin(fallback: PgEndpoint, pending: DbCredential, where: string): Promise<void> {
  const endpoint = endpointOf(pending, fallback, where);
  let client;
  try {
    client = await connectAs(endpoint, pending.username, pending.password, `${where} test`);
    await client.query('SELECT 1');
  } catch (err) {
    // A login that fails right after set is not a configuration problem: retry later.
    throw new TransientError(
      `${where}: the pending credential for "${pending.username}" does not log in yet: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  } finally {
    await client?.end().catch(() => undefined);
  }
}
