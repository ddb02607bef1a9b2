// cloudsql through google-auth-library against a local fake of the Cloud SQL Admin API that
// applies passwords to a private PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OAuth2Client } from 'google-auth-library';
import type { SecretId } from '../../../functions/core/secretName';
import { rotateOne } from '../../../functions/rotation/protocol';
import { defaultStrategies } from '../../../functions/rotation/strategies';
import type { PostgresServer } from '../../harness/postgres';
import { startPostgres } from '../../harness/postgres';
import type { CloudSqlAdminFake } from './cloudSqlAdminFake';
import { startCloudSqlAdminFake } from './cloudSqlAdminFake';
import type { World } from './fixtures';
import { LOCK_TTL_MS, startWorld } from './fixtures';

describe('cloudsql strategy (Cloud SQL Admin API fake + real PostgreSQL)', () => {
  let pg: PostgresServer;
  let fake: CloudSqlAdminFake;
  let w: World;
  const token = 'test-access-token';
  const currentPassword = (id: SecretId): string => {
    const v = w.versions(id).find((x) => x.number === w.aliases(id).current);
    return (JSON.parse(v?.data ?? '{}') as { password: string }).password;
  };

  before(async () => {
    pg = await startPostgres();
    fake = await startCloudSqlAdminFake(pg, 'sql-proj', 'main-db', token);
    // The real google-auth-library client, holding a ready access token (no metadata server here).
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
    w = await startWorld(
      defaultStrategies({ cloudSql: { endpoint: fake.url, http: auth, pollIntervalMs: 20 } }),
    );
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
    await fake.close();
    await pg.destroy();
  });

  it('changes the password through users.update, waits for the operation, and logs in with it', async () => {
    await pg.query("CREATE ROLE sql_app LOGIN PASSWORD 'sql-password-0'");
    const id = await w.secret(
      'cloudsql-app',
      { 'rotor-strategy': 'cloudsql' },
      { 'rotor-cloudsql-instance': 'sql-proj:europe-west1:main-db' },
      JSON.stringify({
        username: 'sql_app',
        password: 'sql-password-0',
        host: pg.host,
        port: pg.port,
        dbname: 'postgres',
      }),
    );
    const r = await rotateOne(id, w.deps(), { trigger: 'q1' });
    assert.equal(r.outcome, 'rotated', r.reason);
    assert.ok(await pg.canLogin('sql_app', currentPassword(id)));
    assert.ok(!(await pg.canLogin('sql_app', 'sql-password-0')));
    assert.ok(fake.requests.includes('PUT /v1/projects/sql-proj/instances/main-db/users'));
    assert.ok(
      fake.requests.filter((q) => q.startsWith('GET /v1/projects/sql-proj/operations/')).length >= 2,
      'polled the operation',
    );
  });

  it('an operation that fails withdraws the pending version', async () => {
    await pg.query("CREATE ROLE sql_policy LOGIN PASSWORD 'policy-password-0'");
    const id = await w.secret(
      'cloudsql-policy',
      { 'rotor-strategy': 'cloudsql' },
      { 'rotor-cloudsql-instance': 'sql-proj:main-db' },
      JSON.stringify({
        username: 'sql_policy',
        password: 'policy-password-0',
        host: pg.host,
        port: pg.port,
        dbname: 'postgres',
      }),
    );
    fake.rejectNextUpdate('password does not meet the instance password policy');
    const r = await rotateOne(id, w.deps(), { trigger: 'q2' });
    assert.equal(r.outcome, 'abandoned', r.reason);
    assert.match(r.reason, /password policy/);
    assert.equal(currentPassword(id), 'policy-password-0');
    assert.ok(await pg.canLogin('sql_policy', 'policy-password-0'));
  });

  it('"operation in progress" (HTTP 409) is transient: the pending version is kept and a retry finishes', async () => {
    await pg.query("CREATE ROLE sql_busy LOGIN PASSWORD 'busy-password-0'");
    const id = await w.secret(
      'cloudsql-busy',
      { 'rotor-strategy': 'cloudsql' },
      { 'rotor-cloudsql-instance': 'sql-proj:main-db' },
      JSON.stringify({
        username: 'sql_busy',
        password: 'busy-password-0',
        host: pg.host,
        port: pg.port,
        dbname: 'postgres',
      }),
    );
    fake.busyNextUpdate();
    const r = await rotateOne(id, w.deps(), { trigger: 'q-busy' });
    assert.equal(r.outcome, 'failed', r.reason);
    assert.equal(r.retry, true);
    assert.match(r.reason, /HTTP 409: Operation failed because another operation was already in progress/);
    // Not abandoned: no version disabled, no value re-added (which would fire more
    // SECRET_VERSION_ADD events); the pending version waits for the retry.
    assert.deepEqual(
      w.versions(id).map((v) => v.state),
      ['ENABLED', 'ENABLED'],
    );
    assert.equal(w.aliases(id).pending, 2);
    assert.equal(w.aliases(id).current, 1);
    assert.ok(await pg.canLogin('sql_busy', 'busy-password-0'), 'nothing changed on the instance');
    // The redelivery after the claim expired completes the same rotation.
    w.clock.advance(LOCK_TTL_MS + 1000);
    const retried = await rotateOne(id, w.deps(), { trigger: 'q-busy' });
    assert.equal(retried.outcome, 'resumed', retried.reason);
    assert.deepEqual(w.aliases(id), { current: 2, previous: 1 });
    assert.equal(w.versions(id).length, 2);
    assert.ok(await pg.canLogin('sql_busy', currentPassword(id)));
    assert.ok(!(await pg.canLogin('sql_busy', 'busy-password-0')));
  });

  it('a user the instance does not have, or no API access, changes nothing', async () => {
    const id = await w.secret(
      'cloudsql-missing',
      { 'rotor-strategy': 'cloudsql' },
      { 'rotor-cloudsql-instance': 'sql-proj:main-db' },
      JSON.stringify({ username: 'nobody_here', password: 'missing-password-0' }),
    );
    const r = await rotateOne(id, w.deps(), { trigger: 'q3' });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.retry, false);
    assert.match(r.reason, /does not exist/);
    assert.equal(w.versions(id).length, 1);

    const other = await startWorld(
      defaultStrategies({
        cloudSql: {
          endpoint: fake.url,
          http: new OAuth2Client({
            credentials: { access_token: 'wrong', expiry_date: Date.now() + 3_600_000 },
          }),
        },
      }),
    );
    try {
      const id2 = await other.secret(
        'cloudsql-noauth',
        { 'rotor-strategy': 'cloudsql' },
        { 'rotor-cloudsql-instance': 'sql-proj:main-db' },
        JSON.stringify({ username: 'sql_app', password: 'x-password-0' }),
      );
      const r2 = await rotateOne(id2, other.deps(), { trigger: 'q4' });
      assert.equal(r2.outcome, 'failed');
      assert.match(r2.reason, /401/);
      assert.equal(other.versions(id2).length, 1);
    } finally {
      await other.close();
    }
  });
});
