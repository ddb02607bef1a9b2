// TLS to PostgreSQL against a real server with ssl=on and a certificate this test issues (a CA of
// its own, a server certificate for localhost and 127.0.0.1): verified by default, the explicit
// no-verify opt-in, and no cleartext password to a server that is not verified.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../functions/errors';
import { memoryLogger } from '../../../functions/log';
import { rotateOne } from '../../../functions/rotation/protocol';
import type { DbCredential } from '../../../functions/rotation/strategies/dbCredential';
import { connectAs, endpointOf } from '../../../functions/rotation/strategies/pgConnection';
import type { PostgresServer } from '../../harness/postgres';
import { startPostgres } from '../../harness/postgres';
import type { World } from './fixtures';
import { startWorld } from './fixtures';

interface Pki {
  ca: string;
  otherCa: string;
  cert: string;
  key: string;
}

/** A CA, a server certificate it signs (localhost, 127.0.0.1), and an unrelated second CA. */
function issueCertificates(dir: string): Pki {
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const name of ['ca', 'other-ca'])
    openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=Rotor test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'server.crt',
    '-extfile',
    'server.ext',
  ]);
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return {
    ca: read('ca.crt'),
    otherCa: read('other-ca.crt'),
    cert: read('server.crt'),
    key: read('server.key'),
  };
}

describe('TLS to PostgreSQL (real server, ssl=on, test-issued certificates)', () => {
  let pg: PostgresServer;
  let pki: Pki;
  let certDir: string;
  let w: World;
  const logs = memoryLogger();
  const cred = (fields: Partial<DbCredential>): DbCredential => ({
    username: 'tls_app',
    password: 'tls-password-0',
    host: pg.host,
    port: pg.port,
    dbname: 'postgres',
    ...fields,
  });
  /** Logs in as tls_app with these credential fields; whether the session is encrypted. */
  const sessionIsTls = async (
    fields: Partial<DbCredential>,
    user = 'tls_app',
    password = 'tls-password-0',
  ) => {
    const c = cred({ ...fields, username: user, password });
    const client = await connectAs(endpointOf(c, undefined, 'test'), user, password, 'test', logs);
    try {
      const res = await client.query<{ ssl: boolean }>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      return res.rows[0]?.ssl;
    } finally {
      await client.end();
    }
  };
  const rejectsPermanently = async (fields: Partial<DbCredential>, message: RegExp, user = 'tls_app') => {
    await assert.rejects(sessionIsTls(fields, user), (e: unknown) => {
      assert.ok(e instanceof InputError, `not permanent: ${String(e)}`);
      assert.match(e.message, message);
      return true;
    });
  };

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'rotor-pki-'));
    pki = issueCertificates(certDir);
    // 127.0.0.2 is loopback too, but not a name the certificate holds.
    pg = await startPostgres({
      tls: { certPem: pki.cert, keyPem: pki.key },
      extraListenAddresses: ['127.0.0.2'],
    });
    await pg.query("CREATE ROLE tls_app LOGIN PASSWORD 'tls-password-0'");
    w = await startWorld();
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
    await pg.destroy();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('verifies by default: connects with the CA that signed the certificate', async () => {
    assert.equal(await sessionIsTls({ ssl: true, sslca: pki.ca }), true);
    assert.equal(await sessionIsTls({ sslca: pki.ca }), true, 'sslca alone implies TLS');
    assert.equal(await sessionIsTls({ host: 'localhost', ssl: true, sslca: pki.ca }), true, 'by DNS name');
    assert.ok(!logs.entries.some((e) => e.severity === 'WARNING'), 'no warning when verified');
  });

  it('fails for good with a CA that did not sign it, or with only the public roots', async () => {
    await rejectsPermanently({ ssl: true, sslca: pki.otherCa }, /TLS certificate does not verify/);
    await rejectsPermanently({ ssl: true }, /TLS certificate does not verify/);
  });

  it('fails for good when the host is not a name the certificate holds', async () => {
    await rejectsPermanently(
      { host: '127.0.0.2', ssl: true, sslca: pki.ca },
      /TLS certificate does not verify.*ERR_TLS_CERT_ALTNAME_INVALID/,
    );
  });

  it('no-verify is an explicit opt-in: it connects, and warns on every connection', async () => {
    const before = logs.entries.length;
    assert.equal(await sessionIsTls({ sslmode: 'no-verify' }), true);
    assert.equal(await sessionIsTls({ host: '127.0.0.2', sslmode: 'no-verify' }), true);
    const warnings = logs.entries.slice(before).filter((e) => e.severity === 'WARNING');
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]?.message ?? '', /WITHOUT certificate verification \("sslmode": "no-verify"\)/);
  });

  it('refuses libpq modes that would be misread, and contradictions', async () => {
    await rejectsPermanently({ sslmode: 'require' }, /"sslmode" "require" is not supported/);
    await rejectsPermanently({ sslmode: 'no-verify', sslca: pki.ca }, /the CA would not be checked/);
    await rejectsPermanently({ ssl: true, sslca: 'not a certificate' }, /PEM text/);
  });

  it('never sends a password in cleartext to a server that is not verified', async () => {
    await pg.query("CREATE ROLE clear_app LOGIN PASSWORD 'clear-password-0'");
    // The server asks this role for a cleartext password (pg_hba method `password`).
    const undo = await pg.prependHbaRules([`host all clear_app ${pg.host}/32 password`]);
    try {
      // A client that answered would be logged in; these fail before the password leaves Rotor.
      for (const fields of [{ sslmode: 'disable' }, { sslmode: 'no-verify' }]) {
        await assert.rejects(
          sessionIsTls(fields, 'clear_app', 'clear-password-0'),
          (e: unknown) =>
            e instanceof InputError && /asked for the password in cleartext.*refused/.test(e.message),
        );
      }
      // Over a verified connection the password goes only to the server the certificate names.
      assert.equal(await sessionIsTls({ ssl: true, sslca: pki.ca }, 'clear_app', 'clear-password-0'), true);
    } finally {
      await undo();
    }
  });

  it('rotates a secret whose credential asks for verified TLS, and keeps the CA in the new value', async () => {
    await pg.query("CREATE ROLE tls_admin LOGIN CREATEROLE PASSWORD 'tls-admin-password-0'");
    await pg.query("CREATE ROLE tls_rotated LOGIN PASSWORD 'tls-rotated-password-0'");
    // The admin credential has no TLS fields of its own: it inherits the rotated secret's.
    await w.secret(
      'tls-admin',
      {},
      {},
      JSON.stringify({ username: 'tls_admin', password: 'tls-admin-password-0' }),
    );
    const id = await w.secret(
      'tls-db',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'tls-admin' },
      JSON.stringify(
        cred({ username: 'tls_rotated', password: 'tls-rotated-password-0', ssl: true, sslca: pki.ca }),
      ),
    );
    const r = await rotateOne(id, w.deps(), { trigger: 'tls-1' });
    assert.equal(r.outcome, 'rotated', r.reason);
    const v = w.versions(id).find((x) => x.number === w.aliases(id).current);
    const now = JSON.parse(v?.data ?? '{}') as DbCredential;
    assert.equal(now.sslca, pki.ca);
    assert.equal(now.ssl, true);
    assert.ok(await pg.canLogin('tls_rotated', now.password));

    // The same secret with a CA that did not sign the server's certificate: nothing changes.
    const bad = await w.secret(
      'tls-db-wrong-ca',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'tls-admin' },
      JSON.stringify(
        cred({ username: 'tls_rotated', password: now.password, ssl: true, sslca: pki.otherCa }),
      ),
    );
    const refused = await rotateOne(bad, w.deps(), { trigger: 'tls-2' });
    assert.equal(refused.outcome, 'failed');
    assert.equal(refused.retry, false);
    assert.match(refused.reason, /TLS certificate does not verify/);
    assert.equal(w.versions(bad).length, 1);
  });
});
