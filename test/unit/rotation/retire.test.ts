import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExplainedPins, aliasPins, planRetirement, reusedUserHold } from '../../../functions/rotation/retire';
import type { SecretMetadata, SecretVersionInfo } from '../../../functions/secretmanager/types';

const id = { project: 'p', secret: 's' };
const H = 3_600_000;
const t0 = Date.parse('2030-01-01T00:00:00Z');
function versions(n: number): SecretVersionInfo[] {
  // Version k was created at hour k.
  return Array.from({ length: n }, (_, i) => ({
    id,
    version: i + 1,
    name: `projects/p/secrets/s/versions/${i + 1}`,
    state: 'ENABLED' as const,
    createTime: new Date(t0 + (i + 1) * H),
    etag: '"v"',
  }));
}
function secret(aliases: Record<string, number>): SecretMetadata {
  return {
    id,
    name: 'projects/p/secrets/s',
    etag: '"e"',
    labels: {},
    annotations: {},
    versionAliases: aliases,
    topics: [],
  };
}

describe('retirement plan', () => {
  it('disables superseded versions after the grace period, never current, latest or pinned ones', async () => {
    const vs = versions(5);
    // current=4, latest=5 (e.g. a pending version), v2 pinned by a user alias, v1 and v3 superseded.
    const s = secret({ current: 4, previous: 3, stable: 2 });
    const now = new Date(t0 + 10 * H);
    const plan = await planRetirement(s, vs, 2 * H, now, aliasPins);
    assert.deepEqual(
      plan.disable.map((v) => v.version),
      [1, 3],
    );
    assert.deepEqual(
      plan.kept.map((k) => k.version).sort(),
      [2, 5].filter((v) => v < 4),
    );
  });

  it('waits for the grace period counted from when the next version was created', async () => {
    const vs = versions(3);
    const s = secret({ current: 3, previous: 2 });
    // v2 was superseded at hour 3; at hour 4 with a 2h grace it must stay.
    const plan = await planRetirement(s, vs, 2 * H, new Date(t0 + 4 * H), aliasPins);
    assert.deepEqual(
      plan.disable.map((v) => v.version),
      [1],
    );
    assert.match(plan.kept.find((k) => k.version === 2)!.why, /grace/);
  });

  it('asks the injected pinnedVersions and does nothing on unmanaged secrets or grace=never', async () => {
    const vs = versions(4);
    const s = secret({ current: 4 });
    const plan = await planRetirement(s, vs, 0, new Date(t0 + 100 * H), () => Promise.resolve(new Set([2])));
    assert.deepEqual(
      plan.disable.map((v) => v.version),
      [1, 3],
    );
    assert.equal(
      (await planRetirement(secret({}), vs, 0, new Date(t0 + 100 * H), aliasPins)).disable.length,
      0,
    );
    assert.equal((await planRetirement(s, vs, null, new Date(t0 + 100 * H), aliasPins)).disable.length, 0);
  });
});

describe("postgres-alternating: the previous version's user is kept while it is served", () => {
  const why =
    "still served by prod shop/Deployment/api: pod api-old of a revision before Rotor's restart to version 3";
  const served = new ExplainedPins(new Map([[2, why]]));
  it('holds the rotation while the clusters say a pod serves the previous version, naming it', () => {
    assert.deepEqual(reusedUserHold('postgres-alternating', secret({ current: 3, previous: 2 }), served), {
      version: 2,
      why,
    });
  });
  it('not once nothing serves it, nor for another version, nor without a previous version', () => {
    const held3 = new ExplainedPins(new Map([[3, 'current']]));
    assert.equal(
      reusedUserHold('postgres-alternating', secret({ current: 3, previous: 2 }), held3),
      undefined,
    );
    assert.equal(
      reusedUserHold(
        'postgres-alternating',
        secret({ current: 3, previous: 2 }),
        new ExplainedPins(new Map()),
      ),
      undefined,
    );
    assert.equal(reusedUserHold('postgres-alternating', secret({ current: 1 }), served), undefined);
  });
  it('not for other strategies (their old value is retired by disabling, which planRetirement holds)', () => {
    assert.equal(reusedUserHold('postgres', secret({ current: 3, previous: 2 }), served), undefined);
    assert.equal(reusedUserHold('random', secret({ current: 3, previous: 2 }), served), undefined);
  });
  it('not on the fail-safe of no clusters (a plain set keeps every version enabled, but tells nothing)', () => {
    assert.equal(
      reusedUserHold('postgres-alternating', secret({ current: 3, previous: 2 }), new Set([1, 2, 3])),
      undefined,
    );
  });
});
