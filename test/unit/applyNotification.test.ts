// `rotor apply --notification FILE` confirms the notification with Secret Manager's metadata
// before it connects to any cluster (issue 18, item 4), as onSecretEvent does: a forged file is
// refused (exit 2) with the reason; a confirmed one goes on to the clusters.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runApply } from '../../functions/cli/apply';
import { notificationMessage } from '../../functions/core/event';
import { InputError } from '../../functions/errors';
import type { SecretManagerStandIn } from '../harness/secretManagerStandIn';
import { startSecretManagerStandIn } from '../harness/secretManagerStandIn';

const SECRET = 'projects/123456789012/secrets/db-password';

describe('rotor apply --notification', () => {
  let sm: SecretManagerStandIn;
  let dir: string;
  const io = () => ({
    stdout: () => undefined,
    stderr: () => undefined,
    env: { ROTOR_SECRET_MANAGER_ENDPOINT: sm.endpoint },
  });
  const file = (name: string, version: string): string => {
    const path = join(dir, name);
    const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret: SECRET, version });
    writeFileSync(path, JSON.stringify({ message: { ...message, messageId: `m-${version}` } }));
    return path;
  };

  before(async () => {
    sm = await startSecretManagerStandIn();
    sm.hold(SECRET, { version: 9, createTime: new Date(Date.now() - 60_000) });
    dir = mkdtempSync(join(tmpdir(), 'rotor-apply-'));
  });
  after(async () => {
    await sm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a version Secret Manager does not have: refused with the reason, before any cluster', async () => {
    const forged = file('forged.json', '999999999');
    await assert.rejects(
      runApply(
        ['--notification', forged, '--cluster', `kubeconfig:${join(dir, 'no-such-kubeconfig')}`],
        io(),
      ),
      new InputError(
        `not confirmed by Secret Manager, nothing done: SECRET_VERSION_ADD of ${SECRET} version 999999999: Secret Manager has no such version (to act anyway, give --secret and --version)`,
        forged,
      ),
    );
  });

  it('a confirmed notification goes on to the clusters (here: a kubeconfig that does not exist)', async () => {
    const real = file('real.json', '9');
    await assert.rejects(
      runApply(['--notification', real, '--cluster', `kubeconfig:${join(dir, 'no-such-kubeconfig')}`], io()),
      (e: unknown) => {
        assert.ok(!String(e).includes('not confirmed by Secret Manager'), String(e));
        assert.match(String(e), /no-such-kubeconfig/);
        return true;
      },
    );
  });
});
