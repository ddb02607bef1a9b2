// A dependent whose rollout to the new version is halted or not done holds the version it leaves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExplainedPins, planRetirement } from '../../../functions/rotation/retire';
import { rolloutHolds } from '../../../functions/rotation/rolloutHolds';
import type { SecretMetadata, SecretVersionInfo } from '../../../functions/secretmanager/types';

const id = { project: 'p', secret: 's' };
const H = 3_600_000;
const t0 = Date.parse('2030-01-01T00:00:00Z');
const versions: SecretVersionInfo[] = [1, 2, 3].map((v) => ({
  id,
  version: v,
  name: `projects/p/secrets/s/versions/${v}`,
  state: 'ENABLED' as const,
  createTime: new Date(t0 + v * H),
  etag: '"v"',
}));
// Rotated to 3: previous is 2; grace long over.
const secret: SecretMetadata = {
  id,
  name: 'projects/p/secrets/s',
  etag: '"e"',
  labels: {},
  annotations: {},
  versionAliases: { current: 3, previous: 2 },
  topics: [],
};

describe('rolloutHolds', () => {
  it('a done rollout holds nothing', () => {
    assert.deepEqual(
      [
        ...rolloutHolds(
          [{ workload: 'c ns/Deployment/web', applied: 5, health: { health: 'done' } }],
          [3, 4, 5],
        ),
      ],
      [],
    );
  });

  it('a halted rollout holds the newest enabled version below the new one, and says why', () => {
    const holds = rolloutHolds(
      [
        {
          workload: 'c ns/Deployment/web',
          applied: 5,
          health: { health: 'failed', reasons: ['web-1 app: CrashLoopBackOff'] },
        },
      ],
      [2, 4, 5],
    );
    assert.deepEqual(
      [...holds],
      [[4, 'the rollout of c ns/Deployment/web to version 5 is halted (web-1 app: CrashLoopBackOff)']],
    );
  });

  it('a rollout in progress and one waiting for manual action both hold; reasons are joined', () => {
    const holds = rolloutHolds(
      [
        { workload: 'a', applied: 5, health: { health: 'progressing', detail: '1 of 3 updated' } },
        { workload: 'b', applied: 5, health: { health: 'manual', detail: 'OnDelete' } },
      ],
      [4, 5],
    );
    assert.deepEqual(
      [...holds],
      [
        [
          4,
          'the rollout of a to version 5 is not done (1 of 3 updated); the rollout of b to version 5 is waiting for manual action (OnDelete)',
        ],
      ],
    );
  });

  it('holds nothing when no enabled version is older than the applied one', () => {
    assert.deepEqual(
      [
        ...rolloutHolds(
          [{ workload: 'a', applied: 1, health: { health: 'progressing', detail: 'x' } }],
          [1, 2],
        ),
      ],
      [],
    );
  });

  it('retirement keeps the version a halted rollout leaves, saying why, and retires it once the rollout is done', async () => {
    const halted = rolloutHolds(
      [
        {
          workload: 'c ns/Deployment/web',
          applied: 3,
          health: { health: 'failed', reasons: ['web-1 app: CrashLoopBackOff'] },
        },
      ],
      [1, 2, 3],
    );
    const held = await planRetirement(secret, versions, 0, new Date(t0 + 100 * H), () =>
      Promise.resolve(new ExplainedPins(halted)),
    );
    assert.deepEqual(
      held.disable.map((v) => v.version),
      [1],
    );
    assert.deepEqual(held.kept, [
      {
        version: 2,
        why: 'the rollout of c ns/Deployment/web to version 3 is halted (web-1 app: CrashLoopBackOff)',
      },
    ]);

    const healthy = rolloutHolds(
      [{ workload: 'c ns/Deployment/web', applied: 3, health: { health: 'done' } }],
      [1, 2, 3],
    );
    const retired = await planRetirement(secret, versions, 0, new Date(t0 + 100 * H), () =>
      Promise.resolve(new ExplainedPins(healthy)),
    );
    assert.deepEqual(
      retired.disable.map((v) => v.version),
      [1, 2],
    );
  });
});
