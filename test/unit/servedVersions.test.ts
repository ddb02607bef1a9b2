// Which versions pods still serve, for retirement (core/servedVersions.ts): `rotor status`'s
// evidence (mount statuses, Rotor's revision marker, rotor.dev/applied) turned into version
// numbers, and the reasons that name the pods. Objects and expectations are written by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dependency, WorkloadDependencies } from '../../functions/core/discovery';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap } from '../../functions/core/secretName';
import type { KnownVersion, ServingInputs } from '../../functions/core/servedVersions';
import { possibleVersions, servedVersions, servingPods } from '../../functions/core/servedVersions';

import { KEY, SECRET, csiDep, envDep } from './dbPasswordDependents';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const H = 3_600_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
// Versions 1..3, created at T0+1h, +2h, +3h; 1 is already disabled.
const VERSIONS: KnownVersion[] = [
  { version: 1, createdAtMs: T0 + 1 * H, enabled: false },
  { version: 2, createdAtMs: T0 + 2 * H, enabled: true },
  { version: 3, createdAtMs: T0 + 3 * H, enabled: true },
];
const at = (ms: number): string => new Date(ms).toISOString();

const apiDep: Dependency = {
  ...envDep,
  via: 'annotation',
  source: { kind: 'api' },
  inPlace: true,
};

function workload(
  deps: readonly Dependency[],
  opts: { applied?: string; restartedAt?: string } = {},
): WorkloadDependencies {
  const object: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'api',
      namespace: 'shop',
      annotations: opts.applied ? { 'rotor.dev/applied': JSON.stringify({ [KEY]: opts.applied }) } : {},
    },
    spec: {
      template: { metadata: opts.restartedAt ? { annotations: { [RESTARTED_AT]: opts.restartedAt } } : {} },
    },
  };
  return {
    ref: { cluster: 'prod', kind: 'Deployment', namespace: 'shop', name: 'api' },
    object,
    dependencies: deps,
  };
}

function pod(name: string, startedAtMs: number, restartedAt?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      creationTimestamp: at(startedAtMs),
      ...(restartedAt ? { annotations: { [RESTARTED_AT]: restartedAt } } : {}),
    },
  };
}

function mount(podName: string, version: number): KubeObject {
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClassPodStatus',
    metadata: { name: `${podName}-shop-db`, namespace: 'shop' },
    status: {
      podName,
      secretProviderClassName: 'db',
      mounted: true,
      objects: [{ id: 'db-password', version: `${KEY}/versions/${version}` }],
    },
  };
}

const inputs = (spcPodStatuses: KubeObject[] = []): ServingInputs => ({
  secret: SECRET,
  secretKey: KEY,
  projects: new ProjectMap(),
  spcPodStatuses,
});

const RESTART = at(T0 + 3 * H + 60_000);

describe('what each pod serves', () => {
  it('env: a pod of the revision Rotor restarted serves the recorded version; an older one something below it', () => {
    const wd = workload([envDep], { applied: '3', restartedAt: RESTART });
    const pods = servingPods(
      wd,
      [pod('api-new', T0 + 3 * H + 70_000, RESTART), pod('api-old', T0 + 2 * H + 600_000)],
      inputs(),
    );
    assert.deepEqual(pods, [
      {
        workload: 'prod shop/Deployment/api',
        pod: 'api-new',
        serves: { kind: 'exact', versions: [3], how: "of the revision Rotor's restart created" },
      },
      {
        workload: 'prod shop/Deployment/api',
        pod: 'api-old',
        serves: {
          kind: 'older',
          below: 3,
          startedAtMs: T0 + 2 * H + 600_000,
          how: "of a revision before Rotor's restart to version 3",
        },
      },
    ]);
  });

  it('env, nothing recorded: what was newest when the pod started', () => {
    const [p] = servingPods(workload([envDep]), [pod('api-1', T0 + 2 * H + 5)], inputs());
    assert.deepEqual(p?.serves, {
      kind: 'at-start',
      startedAtMs: T0 + 2 * H + 5,
      how: 'Rotor recorded no version on its workload',
    });
  });

  it('CSI mounts: the mounted versions; without a mount status, what was newest at the start', () => {
    const pods = servingPods(
      workload([csiDep], { applied: '3' }),
      [pod('api-1', T0), pod('api-2', T0 + 4 * H)],
      inputs([mount('api-1', 2)]),
    );
    assert.deepEqual(
      pods.map((p) => p.serves),
      [
        { kind: 'exact', versions: [2], how: 'mounts version 2' },
        {
          kind: 'at-start',
          startedAtMs: T0 + 4 * H,
          how: 'no SecretProviderClassPodStatus records its mount',
        },
      ],
    );
  });

  it('a workload reading only through the Secret Manager API has no pod evidence', () => {
    assert.deepEqual(servingPods(workload([apiDep]), [pod('api-1', T0)], inputs()), []);
  });
});

describe('which versions that can be', () => {
  it('older than the recorded one and created before the pod started', () => {
    assert.deepEqual(
      possibleVersions({ kind: 'older', below: 3, startedAtMs: T0 + 2 * H, how: '' }, VERSIONS),
      [1, 2],
    );
    assert.deepEqual(
      possibleVersions({ kind: 'older', below: 3, startedAtMs: T0 + H + 1, how: '' }, VERSIONS),
      [1],
    );
    assert.deepEqual(possibleVersions({ kind: 'older', below: 3, how: '' }, VERSIONS), [1, 2]);
  });
  it('at the start: the newest created by then; nothing created yet: none; unknown start: any', () => {
    assert.deepEqual(
      possibleVersions({ kind: 'at-start', startedAtMs: T0 + 2 * H + 1, how: '' }, VERSIONS),
      [2],
    );
    assert.deepEqual(possibleVersions({ kind: 'at-start', startedAtMs: T0, how: '' }, VERSIONS), []);
    assert.deepEqual(possibleVersions({ kind: 'at-start', how: '' }, VERSIONS), [1, 2, 3]);
  });
});

describe('the enabled versions pods still serve, with the pods named', () => {
  it('a pod left from before the restart holds version 2; the disabled version 1 is not reported', () => {
    const wd = workload([envDep], { applied: '3', restartedAt: RESTART });
    const pods = servingPods(
      wd,
      [pod('api-new', T0 + 4 * H, RESTART), pod('api-old', T0 + 2 * H + 1)],
      inputs(),
    );
    assert.deepEqual(
      servedVersions(pods, VERSIONS),
      new Map([
        [
          2,
          "still served by prod shop/Deployment/api: pod api-old of a revision before Rotor's restart to version 3",
        ],
        [3, "still served by prod shop/Deployment/api: pod api-new of the revision Rotor's restart created"],
      ]),
    );
  });

  it('once only new pods run, version 2 is served by none', () => {
    const wd = workload([envDep], { applied: '3', restartedAt: RESTART });
    const pods = servingPods(wd, [pod('api-new', T0 + 4 * H, RESTART)], inputs());
    assert.deepEqual([...servedVersions(pods, VERSIONS).keys()], [3]);
  });

  it('names three pods at most, and counts the rest', () => {
    const wd = workload([envDep]);
    const pods = servingPods(
      wd,
      ['a', 'b', 'c', 'd', 'e'].map((n) => pod(`api-${n}`, T0 + 2 * H + 1)),
      inputs(),
    );
    assert.equal(
      servedVersions(pods, VERSIONS).get(2),
      'still served by prod shop/Deployment/api: pod api-a Rotor recorded no version on its workload; prod shop/Deployment/api: pod api-b Rotor recorded no version on its workload; prod shop/Deployment/api: pod api-c Rotor recorded no version on its workload and 2 more pods',
    );
  });
});
