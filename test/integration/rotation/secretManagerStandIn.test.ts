// The stand-in through the real client: the Secret Manager semantics the protocol relies on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretManagerError } from '../../../functions/secretmanager/errors';
import { SecretValue } from '../../../functions/secretmanager/secretValue';
import type { World } from './fixtures';
import { startWorld } from './fixtures';

describe('Secret Manager stand-in via @google-cloud/secret-manager', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(async () => w.close());

  const kind = (k: string) => (e: unknown) => e instanceof SecretManagerError && e.kind === k;

  it('numbers versions upwards; latest is the newest whatever its state; disabled cannot be read', async () => {
    const id = await w.secret('semantics', { team: 'a' }, { note: 'x' });
    const v1 = await w.sm.addVersion(id, SecretValue.fromString('one'));
    const v2 = await w.sm.addVersion(id, SecretValue.fromString('two'));
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.equal((await w.sm.accessVersion(id, 'latest')).value.reveal(), 'two');
    await w.sm.disableVersion(id, 2);
    assert.equal((await w.sm.getVersion(id, 'latest')).version, 2);
    await assert.rejects(w.sm.accessVersion(id, 'latest'), kind('failed-precondition'));
    assert.deepEqual(
      (await w.sm.listVersions(id)).map((v) => v.version),
      [2, 1],
    );
    await assert.rejects(w.sm.accessVersion(id, '9'), kind('not-found'));
  });

  it('checks etags so that of two writers with the same etag exactly one wins', async () => {
    const id = await w.secret('cas', {}, {});
    await w.sm.addVersion(id, SecretValue.fromString('v'));
    const read = await w.sm.getSecret(id);
    const attempts = await Promise.allSettled([
      w.sm.updateSecret(id, { annotations: { owner: 'a' } }, read.etag),
      w.sm.updateSecret(id, { annotations: { owner: 'b' } }, read.etag),
    ]);
    assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 1);
    const rejected = attempts.find((a) => a.status === 'rejected');
    assert.ok(rejected && kind('conflict')(rejected.reason));
    // A version change does not touch the secret's etag.
    const now = await w.sm.getSecret(id);
    await w.sm.addVersion(id, SecretValue.fromString('w'));
    assert.equal((await w.sm.getSecret(id)).etag, now.etag);
    // Version etags guard state changes: the etag read before a disable is stale after it.
    const v = await w.sm.getVersion(id, '1');
    await w.sm.disableVersion(id, 1, v.etag);
    await assert.rejects(w.sm.disableVersion(id, 1, v.etag), kind('conflict'));
  });

  it('validates aliases, labels and annotations like the service', async () => {
    const id = await w.secret('aliases', {}, {});
    await w.sm.addVersion(id, SecretValue.fromString('v'));
    const s = await w.sm.updateSecret(id, { versionAliases: { current: 1, stable: 1 } });
    assert.deepEqual(s.versionAliases, { current: 1, stable: 1 });
    assert.equal((await w.sm.accessVersion(id, 'stable')).version, 1);
    await assert.rejects(w.sm.updateSecret(id, { versionAliases: { latest: 1 } }), kind('invalid-argument'));
    await assert.rejects(w.sm.updateSecret(id, { versionAliases: { x: 5 } }), kind('invalid-argument'));
    await assert.rejects(w.sm.updateSecret(id, { labels: { 'Bad.Key': 'v' } }), kind('invalid-argument'));
    await assert.rejects(
      w.sm.updateSecret(id, { annotations: { 'rotor.dev/x': 'v' } }),
      kind('invalid-argument'),
    );
    await assert.rejects(w.sm.createSecret(id), kind('already-exists'));
  });

  it('serves regional secrets by their locations/L name', async () => {
    const id = { project: 'test-proj', location: 'europe-west1', secret: 'regional' };
    await w.sm.createSecret(id, {});
    await w.sm.addVersion(id, SecretValue.fromString('r'));
    assert.equal((await w.sm.accessVersion(id, 'latest')).value.reveal(), 'r');
    await assert.rejects(w.sm.getSecret({ project: 'test-proj', secret: 'regional' }), kind('not-found'));
  });
});
