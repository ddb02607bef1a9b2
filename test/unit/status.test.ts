// `rotor status`'s core: which version each pod serves, the rollout state and what is pending,
// from hand-written objects as the controllers, the CSI driver and Rotor write them.
import assert from 'node:assert/strict';
import { loadConfig } from '../../functions/config';
import { describe, it } from 'node:test';
import type { Dependency, WorkloadDependencies } from '../../functions/core/discovery';
import type { KubeObject } from '../../functions/core/kube';
import { ProjectMap } from '../../functions/core/secretName';
import type { DependentState, StatusInputs } from '../../functions/core/status';
import { describePending, rotationStatus, statusVersion } from '../../functions/core/status';

import { KEY, SECRET, csiDep, envDep } from './dbPasswordDependents';
const RESTART = '2026-12-01T10:00:00Z';
const NOW = Date.parse(RESTART) + 60_000;
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

const DEPLOY_DONE = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };

function deployment(
  name: string,
  opts: { applied?: string; restartedAt?: string; status?: object; uid?: string } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: 'shop',
      uid: opts.uid ?? `uid-${name}`,
      generation: 2,
      annotations: {
        ...(opts.applied ? { 'rotor.dev/applied': JSON.stringify({ [KEY]: opts.applied }) } : {}),
        ...(opts.applied && opts.restartedAt
          ? {
              'rotor.dev/applied-by': JSON.stringify({
                [KEY]: { action: 'restart', message: 'm-1', at: opts.restartedAt },
              }),
            }
          : {}),
      },
    } as KubeObject['metadata'],
    spec: {
      replicas: 2,
      template: {
        metadata: opts.restartedAt ? { annotations: { [RESTARTED_AT]: opts.restartedAt } } : {},
        spec: {},
      },
    },
    status: opts.status ?? DEPLOY_DONE,
  };
}

function pod(
  name: string,
  restartedAt: string | undefined,
  containerState: object = { running: {} },
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      ...(restartedAt ? { annotations: { [RESTARTED_AT]: restartedAt } } : {}),
    },
    status: {
      // Running containers are Ready; a waiting one (a crash loop) is not.
      conditions: [{ type: 'Ready', status: 'waiting' in containerState ? 'False' : 'True' }],
      containerStatuses: [{ name: 'app', restartCount: 5, state: containerState }],
    },
  };
}

function dependent(object: KubeObject, deps: readonly Dependency[], pods: KubeObject[]): DependentState {
  const wd: WorkloadDependencies = {
    ref: { cluster: 'prod', kind: 'Deployment', namespace: 'shop', name: object.metadata?.name ?? '' },
    object,
    dependencies: deps,
  };
  return { dependent: wd, pods };
}

function spcPodStatus(podName: string, version: number): KubeObject {
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

const syncedEso = (refreshTime: string): KubeObject => ({
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'db', namespace: 'shop', annotations: { 'force-sync': RESTART } },
  status: { refreshTime, conditions: [{ type: 'Ready', status: 'True' }] },
});

function inputs(dependents: DependentState[], over: Partial<StatusInputs> = {}): StatusInputs {
  return {
    secret: SECRET,
    secretKey: KEY,
    projects: new ProjectMap(),
    version: undefined,
    dependents,
    spcPodStatuses: [],
    externalSecrets: new Map(),
    secretSyncs: new Map(),
    now: NOW,
    rolloutTimeoutMs: 600_000,
    ...over,
  };
}

const summary = (s: ReturnType<typeof rotationStatus>): unknown[] =>
  s.workloads.map((w) => [
    w.name,
    w.acted.acted,
    w.rollout.health,
    describePending(w.pending),
    w.pods.map((p) => p.serves),
  ]);

describe('rotationStatus', () => {
  const api = deployment('api', { applied: '7', restartedAt: RESTART });
  const apiPods = [pod('api-1', RESTART), pod('api-2', RESTART)];
  const worker = deployment('worker');

  it('all done: the restarted dependent runs only the new revision, the CSI one mounts the version', () => {
    const s = rotationStatus(
      inputs([dependent(api, [envDep], apiPods), dependent(worker, [csiDep], [pod('worker-1', undefined)])], {
        spcPodStatuses: [spcPodStatus('worker-1', 7)],
      }),
      '7',
    );
    assert.equal(s.done, true);
    assert.deepEqual(summary(s), [
      ['api', 'yes', 'done', 'done', ['target', 'target']],
      ['worker', 'no', 'done', 'done', ['target']],
    ]);
    assert.deepEqual(s.workloads[0]?.acted, {
      acted: 'yes',
      version: '7',
      by: `restarted by message m-1 at ${RESTART}`,
    });
  });

  it('one rollout progressing: an old pod still runs beside a new one', () => {
    const rolling = deployment('api', {
      applied: '7',
      restartedAt: RESTART,
      status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
    });
    const s = rotationStatus(
      inputs([
        dependent(rolling, [envDep], [pod('api-old', '2026-11-01T00:00:00Z'), pod('api-new', RESTART)]),
      ]),
      '7',
    );
    assert.equal(s.done, false);
    assert.deepEqual(summary(s), [
      ['api', 'yes', 'progressing', 'rollout in progress: 1 of 2 replicas updated', ['older', 'target']],
    ]);
  });

  it("halted: the new revision's pods crashloop, and their reasons are named", () => {
    const stuck = deployment('api', {
      applied: '7',
      restartedAt: RESTART,
      status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
    });
    const s = rotationStatus(
      inputs([
        dependent(
          stuck,
          [envDep],
          [pod('api-old', undefined), pod('api-new', RESTART, { waiting: { reason: 'CrashLoopBackOff' } })],
        ),
      ]),
      '7',
    );
    assert.equal(s.done, false);
    // The crashlooping pod is of the new revision but serves nothing; the old one the old version.
    assert.deepEqual(
      s.workloads[0]?.pods.map((p) => [p.pod, p.serves]),
      [
        ['api-old', 'older'],
        ['api-new', 'none'],
      ],
    );
    assert.deepEqual(s.workloads[0]?.pending, {
      pending: 'halted',
      reasons: ['api-new app: CrashLoopBackOff (5 restarts)'],
    });
    assert.equal(
      describePending(s.workloads[0]?.pending ?? { pending: 'nothing' }),
      'halted: api-new app: CrashLoopBackOff (5 restarts)',
    );
  });

  it('a CSI pod still on the old version: waiting for the CSI driver, naming the pod and its version', () => {
    const s = rotationStatus(
      inputs([dependent(worker, [csiDep], [pod('worker-1', undefined), pod('worker-2', undefined)])], {
        spcPodStatuses: [spcPodStatus('worker-1', 7), spcPodStatus('worker-2', 6)],
      }),
      '7',
    );
    assert.equal(s.done, false);
    assert.deepEqual(summary(s), [
      ['worker', 'no', 'done', 'waiting for the CSI driver: worker-2 mounts version 6', ['target', 'older']],
    ]);
  });

  it('not yet acted on: the Secret is synced, Rotor recorded only the previous version', () => {
    const old = deployment('api', { applied: '6', restartedAt: '2026-11-01T00:00:00Z' });
    const s = rotationStatus(
      inputs([dependent(old, [envDep], [pod('api-1', '2026-11-01T00:00:00Z')])], {
        externalSecrets: new Map([['shop/db', syncedEso('2026-12-01T10:00:05Z')]]),
      }),
      '7',
    );
    assert.equal(s.done, false);
    assert.deepEqual(summary(s), [
      ['api', 'no', 'done', 'not yet acted on: Rotor last acted on version 6', ['older']],
    ]);
  });

  it('not yet acted on, under maintenance windows: says when the restart happens', () => {
    const old = deployment('api', { applied: '6', restartedAt: '2026-11-01T00:00:00Z' });
    const windowed = (namespaceWindows: Map<string, string>): ReturnType<typeof rotationStatus> =>
      rotationStatus(
        inputs([dependent(old, [envDep], [pod('api-1', '2026-11-01T00:00:00Z')])], {
          externalSecrets: new Map([['shop/db', syncedEso('2026-12-01T10:00:05Z')]]),
          windows: { policy: loadConfig({}).windows, namespaceWindows },
        }),
        '7',
      );
    // The shop namespace's operator set Saturdays 01:00-03:00 UTC; NOW is Tuesday 2026-12-01: the
    // next Saturday is 2026-12-05.
    assert.deepEqual(summary(windowed(new Map([['shop', 'Sat 01:00-03:00 UTC']]))), [
      [
        'api',
        'no',
        'done',
        "not yet acted on: Rotor last acted on version 6; the restart happens when namespace shop's rotor.dev/restart-windows: Sat 01:00-03:00 UTC opens, at 2026-12-05T01:00:00.000Z",
        ['older'],
      ],
    ]);
    // No windows anywhere: unchanged.
    assert.equal(
      describePending(windowed(new Map()).workloads[0]?.pending ?? { pending: 'nothing' }),
      'not yet acted on: Rotor last acted on version 6',
    );
  });

  it('waiting for ESO: its last sync predates the force-sync Rotor requested', () => {
    const s = rotationStatus(
      inputs([dependent(deployment('api'), [envDep], [pod('api-1', undefined)])], {
        externalSecrets: new Map([['shop/db', syncedEso('2026-12-01T09:00:00Z')]]),
      }),
      '7',
    );
    assert.deepEqual(s.workloads[0]?.pending, {
      pending: 'waiting',
      for: 'eso',
      detail: `ExternalSecret shop/db last synced at 2026-12-01T09:00:00Z, before the force-sync Rotor requested (${RESTART})`,
    });
  });
});

describe('statusVersion', () => {
  it('is the asked version when given', () => {
    assert.equal(statusVersion('5', [], KEY), '5');
  });
  it('defaults to the newest numeric version any dependent recorded', () => {
    const deps = [
      dependent(deployment('a', { applied: '7' }), [envDep], []),
      dependent(deployment('b', { applied: '12' }), [envDep], []),
      dependent(deployment('c'), [envDep], []),
    ];
    assert.equal(statusVersion(undefined, deps, KEY), '12');
  });
  it('is undefined when nothing is recorded', () => {
    assert.equal(statusVersion(undefined, [dependent(deployment('c'), [envDep], [])], KEY), undefined);
  });
});

describe('rotor status markdown', () => {
  it('a summary line and one table row per dependent (a missing ExternalSecret is waited for), pipes escaped', async () => {
    const { renderStatusMarkdown } = await import('../../functions/cli/status');
    const s = rotationStatus(
      inputs([
        dependent(
          deployment('api', { applied: '7', restartedAt: RESTART }),
          [envDep],
          [pod('api-1', RESTART)],
        ),
        dependent(deployment('a|b'), [envDep], []),
      ]),
      '7',
    );
    assert.equal(
      renderStatusMarkdown(s),
      [
        `**${KEY}** version 7: ⏳ not done`,
        '',
        '| cluster | workload | pods on the version | rollout | pending |',
        '|---|---|---|---|---|',
        '| prod | Deployment/shop/api | 1/1 | done | done |',
        '| prod | Deployment/shop/a\\|b | 0/0 | done | waiting for ESO: ExternalSecret shop/db not found |',
        '',
      ].join('\n'),
    );
  });
});
