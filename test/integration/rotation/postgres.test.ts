// postgres and postgres-alternating against a private PostgreSQL: real logins prove each rotation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SecretId } from '../../../functions/core/secretName';
import { ProjectMap, formatSecretId } from '../../../functions/core/secretName';
import type { Dependency } from '../../../functions/core/discovery';
import type { KubeObject } from '../../../functions/core/kube';
import { servedVersions, servingPods } from '../../../functions/core/servedVersions';
import type { PinnedVersions } from '../../../functions/rotation/retire';
import { ExplainedPins } from '../../../functions/rotation/retire';
import { PROTOCOL_STEPS, rotateOne } from '../../../functions/rotation/protocol';
import { rollbackOne } from '../../../functions/rotation/rollback';
import type { PostgresServer } from '../../harness/postgres';
import { startPostgres } from '../../harness/postgres';
import type { World } from './fixtures';
import { LOCK_TTL_MS, startWorld } from './fixtures';

interface Cred {
  username: string;
  password: string;
  host: string;
  port: number;
  dbname: string;
}

describe('postgres strategies (real PostgreSQL)', () => {
  let w: World;
  let pg: PostgresServer;
  const cred = (username: string, password: string): Cred => ({
    username,
    password,
    host: pg.host,
    port: pg.port,
    dbname: 'postgres',
  });
  const currentCred = (id: SecretId): Cred => {
    const v = w.versions(id).find((x) => x.number === w.aliases(id).current);
    return JSON.parse(v?.data ?? '{}') as Cred;
  };

  before(async () => {
    pg = await startPostgres();
    w = await startWorld();
    // A CREATEROLE admin (not a superuser), and one without the privilege to change passwords.
    await pg.query("CREATE ROLE rotor_admin LOGIN CREATEROLE PASSWORD 'admin-pass-1'");
    await pg.query("CREATE ROLE weak_admin LOGIN PASSWORD 'weak-pass-1'");
    await w.secret('pg-admin', {}, {}, JSON.stringify(cred('rotor_admin', 'admin-pass-1')));
    await w.secret('pg-weak-admin', {}, {}, JSON.stringify(cred('weak_admin', 'weak-pass-1')));
  });
  after(async () => {
    w.assertNoValueLogged();
    await w.close();
    await pg.destroy();
  });

  it('single user: the new password logs in, the old one no longer does', async () => {
    await pg.query("CREATE ROLE app_single LOGIN PASSWORD 'old-password-1'");
    const id = await w.secret(
      'db-single',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'pg-admin' },
      JSON.stringify(cred('app_single', 'old-password-1')),
    );
    const r = await rotateOne(id, w.deps(), { trigger: 's1' });
    assert.equal(r.outcome, 'rotated', r.reason);
    const now = currentCred(id);
    assert.equal(now.username, 'app_single');
    assert.equal(now.host, pg.host);
    assert.ok(await pg.canLogin('app_single', now.password), 'new password logs in');
    assert.ok(!(await pg.canLogin('app_single', 'old-password-1')), 'old password is refused');
    // The server stored a SCRAM verifier, not the password.
    const rows = await pg.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_single'");
    assert.match(String(rows[0]?.rolpassword), /^SCRAM-SHA-256\$/);
  });

  it('alternating: the previous role keeps working until the next rotation', async () => {
    await pg.query("CREATE ROLE app_a LOGIN PASSWORD 'a-password-0'");
    await pg.query("CREATE ROLE app_b LOGIN PASSWORD 'b-password-0'");
    const id = await w.secret(
      'db-alt',
      { 'rotor-strategy': 'postgres-alternating' },
      { 'rotor-admin-secret': 'pg-admin', 'rotor-users': 'app_a,app_b', 'rotor-min-interval': '0' },
      JSON.stringify(cred('app_a', 'a-password-0')),
    );
    const first = await rotateOne(id, w.deps(), { trigger: 'a1' });
    assert.equal(first.outcome, 'rotated', first.reason);
    const b1 = currentCred(id);
    assert.equal(b1.username, 'app_b');
    assert.ok(await pg.canLogin('app_b', b1.password), 'new role logs in');
    assert.ok(await pg.canLogin('app_a', 'a-password-0'), 'previous role still logs in');
    assert.deepEqual(w.aliases(id), { current: 2, previous: 1 });

    const second = await rotateOne(id, w.deps(), { trigger: 'a2' });
    assert.equal(second.outcome, 'rotated', second.reason);
    const a2 = currentCred(id);
    assert.equal(a2.username, 'app_a');
    assert.ok(await pg.canLogin('app_a', a2.password));
    assert.ok(
      !(await pg.canLogin('app_a', 'a-password-0')),
      'the role used two rotations ago has a new password',
    );
    assert.ok(await pg.canLogin('app_b', b1.password), 'previous (app_b) still works');
    assert.deepEqual(w.aliases(id), { current: 3, previous: 2 });
  });

  it('alternating: the previous user is kept while a pod still serves it, re-passworded once none does', async () => {
    await pg.query("CREATE ROLE app_c LOGIN PASSWORD 'c-password-0'");
    await pg.query("CREATE ROLE app_d LOGIN PASSWORD 'd-password-0'");
    const id = await w.secret(
      'db-served',
      { 'rotor-strategy': 'postgres-alternating' },
      { 'rotor-admin-secret': 'pg-admin', 'rotor-users': 'app_c,app_d', 'rotor-min-interval': '0' },
      JSON.stringify(cred('app_c', 'c-password-0')),
    );
    // Version 1 exists from t1; version 2 comes a minute later.
    const t1 = w.clock.now().getTime();
    w.clock.advance(60_000);
    const first = await rotateOne(id, w.deps(), { trigger: 'c1' });
    assert.equal(first.outcome, 'rotated', first.reason);
    assert.deepEqual(w.aliases(id), { current: 2, previous: 1 });
    const d1 = currentCred(id);
    assert.equal(d1.username, 'app_d');

    // The cluster, as rotor status sees it: Rotor restarted the Deployment onto version 2, and one
    // pod of the revision before (started before version 2 existed) still runs on version 1.
    const key = formatSecretId(id);
    const restart = new Date(t1 + 61_000).toISOString();
    const dep: Dependency = {
      via: 'env',
      container: 'app',
      detail: 'env DB from Secret db (ExternalSecret db)',
      version: 'latest',
      secret: id,
      source: { kind: 'eso', namespace: 'shop', externalSecret: 'db', secretName: 'db' },
      read: { kind: 'env', env: 'DB', key: 'cred' },
      inPlace: false,
    };
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'api',
        namespace: 'shop',
        annotations: { 'rotor.dev/applied': JSON.stringify({ [key]: '2' }) },
      },
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restart } } } },
    };
    const pod = (name: string, startedAt: Date, marker?: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'shop',
        creationTimestamp: startedAt.toISOString(),
        ...(marker ? { annotations: { 'kubectl.kubernetes.io/restartedAt': marker } } : {}),
      },
    });
    let running: KubeObject[] = [];
    const servedPins: PinnedVersions = (_secret, versions) => {
      const pods = servingPods(
        {
          ref: { cluster: 'prod', kind: 'Deployment', namespace: 'shop', name: 'api' },
          object: deployment,
          dependencies: [dep],
        },
        running,
        { secret: id, secretKey: key, projects: new ProjectMap(), spcPodStatuses: [] },
      );
      const known = versions.map((v) => ({
        version: v.version,
        createdAtMs: v.createTime.getTime(),
        enabled: v.state === 'ENABLED',
      }));
      return Promise.resolve(new ExplainedPins(servedVersions(pods, known)));
    };
    running = [pod('api-new', new Date(t1 + 62_000), restart), pod('api-old', new Date(t1 + 1000))];

    const held = await rotateOne(id, w.deps({ pinnedVersions: servedPins }), { trigger: 'c2' });
    assert.equal(held.outcome, 'skipped', held.reason);
    assert.equal(
      held.reason,
      "the previous user (version 1) is still in use: still served by prod shop/Deployment/api: pod api-old of a revision before Rotor's restart to version 2; the rotation waits, since it would change that user's password",
    );
    assert.ok(await pg.canLogin('app_c', 'c-password-0'), 'the previous user still logs in');
    assert.deepEqual(w.aliases(id), { current: 2, previous: 1 }, 'no new version');

    // The old pod is gone: nothing serves version 1, so the rotation re-passwords its user.
    running = [pod('api-new', new Date(t1 + 62_000), restart)];
    const rotated = await rotateOne(id, w.deps({ pinnedVersions: servedPins }), { trigger: 'c3' });
    assert.equal(rotated.outcome, 'rotated', rotated.reason);
    assert.equal(currentCred(id).username, 'app_c');
    assert.ok(!(await pg.canLogin('app_c', 'c-password-0')), 'the old password of the previous user is gone');
    assert.ok(await pg.canLogin('app_d', d1.password), 'the user pods serve now still logs in');
    assert.deepEqual(w.aliases(id), { current: 3, previous: 2 });
  });

  it('alternating rollback: back to the previous user, which still logs in; never two users back', async () => {
    await pg.query("CREATE ROLE app_ra LOGIN PASSWORD 'ra-password-0'");
    await pg.query("CREATE ROLE app_rb LOGIN PASSWORD 'rb-password-0'");
    const id = await w.secret(
      'db-alt-rollback',
      { 'rotor-strategy': 'postgres-alternating' },
      { 'rotor-admin-secret': 'pg-admin', 'rotor-users': 'app_ra,app_rb', 'rotor-min-interval': '0' },
      JSON.stringify(cred('app_ra', 'ra-password-0')),
    );
    await rotateOne(id, w.deps(), { trigger: 'ra1' });
    const b1 = currentCred(id);
    await rotateOne(id, w.deps(), { trigger: 'ra2' });
    assert.equal(currentCred(id).username, 'app_ra');
    const deps = { secretManager: w.sm, logger: w.logs, now: w.clock.now };
    // Two users back: app_ra's first password was replaced by the second rotation.
    const tooFar = await rollbackOne(id, deps, { replaces: 3, to: 1 });
    assert.deepEqual(
      [tooFar.outcome, tooFar.reason],
      [
        'refused',
        "strategy postgres-alternating keeps only the user before version 3 (version 2) valid: version 1's user was given a new password since",
      ],
    );
    assert.ok(!(await pg.canLogin('app_ra', 'ra-password-0')), 'indeed no longer valid');
    const back = await rollbackOne(id, deps, { replaces: 3 });
    assert.deepEqual([back.outcome, back.version, back.restores], ['rolled-back', 4, 2]);
    const restored = currentCred(id);
    assert.deepEqual(restored, b1, 'version 4 carries version 2: the previous user');
    assert.ok(await pg.canLogin('app_rb', restored.password), 'the previous user still logs in');
    // The next rotation starts from the restored user and re-passwords the other one.
    const next = await rotateOne(id, w.deps(), { trigger: 'ra3' });
    assert.equal(next.outcome, 'rotated', next.reason);
    assert.equal(next.previous, 4);
    assert.equal(currentCred(id).username, 'app_ra');
    assert.ok(
      await pg.canLogin('app_rb', restored.password),
      'the restored user keeps working a rotation longer',
    );
  });

  it('backend down: no new version, no claim left, and it rotates once the server is back', async () => {
    await pg.query("CREATE ROLE app_down LOGIN PASSWORD 'down-password-0'");
    const id = await w.secret(
      'db-down',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'pg-admin' },
      JSON.stringify(cred('app_down', 'down-password-0')),
    );
    const adds = w.standIn.calls.get('AddSecretVersion') ?? 0;
    await pg.stop();
    try {
      const r = await rotateOne(id, w.deps(), { trigger: 'd1' });
      assert.equal(r.outcome, 'failed');
      assert.equal(r.retry, true);
      assert.equal(w.versions(id).length, 1);
      assert.equal(w.standIn.calls.get('AddSecretVersion') ?? 0, adds);
      assert.equal(w.annotations(id)['rotor-rotation'], undefined);
    } finally {
      await pg.start();
    }
    const r = await rotateOne(id, w.deps(), { trigger: 'd1' });
    assert.equal(r.outcome, 'rotated', r.reason);
    assert.ok(await pg.canLogin('app_down', currentCred(id).password));
  });

  it('a backend that refuses the change leaves no half-rotated state', async () => {
    await pg.query("CREATE ROLE app_refused LOGIN PASSWORD 'refused-password-0'");
    const id = await w.secret(
      'db-refused',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'pg-weak-admin' },
      JSON.stringify(cred('app_refused', 'refused-password-0')),
    );
    const r = await rotateOne(id, w.deps(), { trigger: 'f1' });
    assert.equal(r.outcome, 'abandoned', r.reason);
    assert.equal(r.retry, false);
    // The refused value is disabled; `latest` and `current` hold the password the database has.
    assert.deepEqual(
      w.versions(id).map((v) => v.state),
      ['ENABLED', 'DISABLED', 'ENABLED'],
    );
    assert.equal(w.aliases(id).current, 3);
    assert.equal(w.aliases(id).pending, undefined);
    assert.equal(w.annotations(id)['rotor-rotation'], undefined);
    assert.equal(currentCred(id).password, 'refused-password-0');
    assert.ok(await pg.canLogin('app_refused', 'refused-password-0'));
  });

  it('preflight: a role pg_hba.conf rejects fails for good before any password changes', async () => {
    await pg.query("CREATE ROLE app_hba LOGIN PASSWORD 'hba-password-0'");
    const id = await w.secret(
      'db-hba',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'pg-admin' },
      JSON.stringify(cred('app_hba', 'hba-password-0')),
    );
    const verifier = async (): Promise<unknown> =>
      (await pg.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_hba'"))[0]?.rolpassword;
    const before = await verifier();
    const adds = w.standIn.calls.get('AddSecretVersion') ?? 0;
    const undo = await pg.prependHbaRules([`host all app_hba ${pg.host}/32 reject`]);
    try {
      const r = await rotateOne(id, w.deps(), { trigger: 'h1' });
      assert.equal(r.outcome, 'failed', r.reason);
      assert.equal(r.retry, false, 'a pg_hba rejection is permanent');
      assert.match(r.reason, /preflight: "app_hba" cannot log in/);
      assert.match(r.reason, /pg_hba\.conf/);
      assert.match(r.reason, /SQLSTATE 28000/);
      assert.equal(w.versions(id).length, 1);
      assert.equal(w.standIn.calls.get('AddSecretVersion') ?? 0, adds);
      assert.equal(w.annotations(id)['rotor-rotation'], undefined);
      assert.equal(await verifier(), before, 'the password was not changed');
    } finally {
      await undo();
    }
    assert.ok(await pg.canLogin('app_hba', 'hba-password-0'));
  });

  it('alternating preflight: the other role rejected by pg_hba.conf fails before any change', async () => {
    await pg.query("CREATE ROLE alt_ok LOGIN PASSWORD 'alt-ok-password-0'");
    await pg.query("CREATE ROLE alt_hba LOGIN PASSWORD 'alt-hba-password-0'");
    const id = await w.secret(
      'db-alt-hba',
      { 'rotor-strategy': 'postgres-alternating' },
      { 'rotor-admin-secret': 'pg-admin', 'rotor-users': 'alt_ok,alt_hba' },
      JSON.stringify(cred('alt_ok', 'alt-ok-password-0')),
    );
    const undo = await pg.prependHbaRules([`host all alt_hba ${pg.host}/32 reject`]);
    try {
      const r = await rotateOne(id, w.deps(), { trigger: 'ah1' });
      assert.equal(r.outcome, 'failed', r.reason);
      assert.equal(r.retry, false);
      assert.match(r.reason, /"alt_hba" cannot log in.*SQLSTATE 28000/);
      assert.equal(w.versions(id).length, 1);
    } finally {
      await undo();
    }
    // Without the rejection, the probe with a throwaway password passes and the rotation runs.
    const r = await rotateOne(id, w.deps(), { trigger: 'ah2' });
    assert.equal(r.outcome, 'rotated', r.reason);
    assert.ok(await pg.canLogin('alt_hba', currentCred(id).password));
  });

  it('test step: a pg_hba rejection is permanent; the old password is put back and the claim released', async () => {
    await pg.query("CREATE ROLE app_hba_late LOGIN PASSWORD 'late-password-0'");
    const id = await w.secret(
      'db-hba-late',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'pg-admin' },
      JSON.stringify(cred('app_hba_late', 'late-password-0')),
    );
    let undo: (() => Promise<void>) | undefined;
    try {
      const r = await rotateOne(
        id,
        w.deps({
          afterStep: async (step) => {
            // The new password is set; now the server starts rejecting the role from here.
            if (step === 'set')
              undo = await pg.prependHbaRules([`host all app_hba_late ${pg.host}/32 reject`]);
          },
        }),
        { trigger: 'hl1' },
      );
      assert.equal(r.outcome, 'abandoned', r.reason);
      assert.equal(r.retry, false);
      assert.match(r.reason, /SQLSTATE 28000/);
    } finally {
      await undo?.();
    }
    assert.deepEqual(
      w.versions(id).map((v) => v.state),
      ['ENABLED', 'DISABLED', 'ENABLED'],
    );
    assert.deepEqual(w.aliases(id), { current: 3 });
    assert.equal(w.annotations(id)['rotor-rotation'], undefined, 'claim released');
    assert.equal(currentCred(id).password, 'late-password-0');
    assert.ok(await pg.canLogin('app_hba_late', 'late-password-0'), 'the value in use works again');
  });

  for (const step of PROTOCOL_STEPS) {
    it(`single user: crash after "${step}", rerun completes exactly once and the database agrees`, async () => {
      const role = `app_crash_${step.replace('-', '_')}`;
      await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD 'crash-password-0'`);
      const id = await w.secret(
        `db-crash-${step}`,
        { 'rotor-strategy': 'postgres' },
        { 'rotor-admin-secret': 'pg-admin' },
        JSON.stringify(cred(role, 'crash-password-0')),
      );
      const crashed = await rotateOne(id, w.deps({ crashAfter: step }), { trigger: `c-${step}` });
      assert.equal(crashed.outcome, 'failed');
      w.clock.advance(LOCK_TTL_MS + 1000);
      const rerun = await rotateOne(id, w.deps(), { trigger: `c-${step}` });
      assert.equal(rerun.outcome, step === 'finish' ? 'skipped' : 'resumed', rerun.reason);
      assert.equal(w.versions(id).length, 2);
      assert.deepEqual(w.aliases(id), { current: 2, previous: 1 });
      assert.ok(await pg.canLogin(role, currentCred(id).password), 'current value logs in');
      assert.ok(!(await pg.canLogin(role, 'crash-password-0')), 'old value refused');
    });
  }

  it('two concurrent triggers change the password once', async () => {
    await pg.query("CREATE ROLE app_race LOGIN PASSWORD 'race-password-0'");
    const id = await w.secret(
      'db-race',
      { 'rotor-strategy': 'postgres' },
      { 'rotor-admin-secret': 'pg-admin' },
      JSON.stringify(cred('app_race', 'race-password-0')),
    );
    const results = await Promise.all([
      rotateOne(id, w.deps(), { trigger: 'r-a' }),
      rotateOne(id, w.deps(), { trigger: 'r-b' }),
    ]);
    assert.deepEqual(
      results.map((r) => r.outcome).sort(),
      ['rotated', 'skipped'],
      results.map((r) => r.reason).join(' | '),
    );
    assert.equal(w.versions(id).length, 2);
    assert.ok(await pg.canLogin('app_race', currentCred(id).password));
  });
});
