// Work an earlier delivery did but never reported (its Kubernetes Event is missing) is reported by
// the next delivery; once its rollout is done it is not pending, even when its Event can never be
// created (the API server refuses it): otherwise every delivery reports it again with pending=1
// until the message is dead-lettered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { parseSecretName, ProjectMap } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import { deployment } from './k8s';

const SECRET = 'projects/my-proj/secrets/db';
const EVENT_TIME = new Date(Date.now() - 10 * 60_000);
const RESTARTED_AT = new Date(EVENT_TIME.getTime() + 60_000).toISOString();

/** Restarted by delivery m1 for version 2; its rollout finished (the controller says so). */
function restartedAndRolledOut(): object {
  const w = deployment('api', {}, {});
  return {
    ...w,
    metadata: {
      ...w.metadata,
      uid: 'u1',
      resourceVersion: '7',
      generation: 2,
      annotations: {
        'rotor.dev/secrets': SECRET,
        'rotor.dev/on-rotate': 'restart',
        'rotor.dev/applied': JSON.stringify({ [SECRET]: '2' }),
        'rotor.dev/applied-by': JSON.stringify({
          [SECRET]: { action: 'restart', at: RESTARTED_AT, message: 'm1' },
        }),
      },
    },
    spec: {
      ...(w as { spec: object }).spec,
      replicas: 1,
      template: {
        metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': RESTARTED_AT } },
        spec: {},
      },
    },
    status: {
      observedGeneration: 2,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
    },
  };
}

describe('a late report of finished work', () => {
  it('is reported, and not pending, although its Event is refused every time', async () => {
    const posted: string[] = [];
    const api: KubeApi = {
      cluster: 'fake',
      requestCount: () => 0,
      close: () => undefined,
      request<T>(req: KubeRequest): Promise<T> {
        if (req.path.startsWith('/apis/events.k8s.io/')) {
          if (req.method === 'POST') posted.push(req.path);
          const status = req.method === 'POST' ? 422 : 404;
          return Promise.reject(new KubeApiError(status, 'Invalid', 'refused', req.method, req.path));
        }
        if (req.method !== 'GET') return Promise.reject(new Error(`unexpected ${req.method} ${req.path}`));
        const items = req.path === '/apis/apps/v1/deployments' ? [restartedAndRolledOut()] : [];
        return Promise.resolve({ items } as T);
      },
    };
    const deliver = () =>
      reconcileEvent(
        {
          type: 'SECRET_VERSION_ADD',
          secret: parseSecretName(SECRET).id,
          version: '2',
          time: EVENT_TIME.toISOString(),
        },
        { messageId: 'm1' },
        {
          clusters: [api],
          projects: new ProjectMap(),
          dryRun: false,
          maxWaitMs: 60_000,
          concurrency: 1,
          reload: { retries: 0, backoffMs: 0 },
          waves: { size: 10, rolloutTimeoutMs: 600_000 },
          events: { instance: 'test' },
          logger: memoryLogger(),
        },
      );
    for (const delivery of [1, 2]) {
      const outcome = await deliver();
      assert.deepEqual(
        outcome.workloads.map((w) => [w.name, w.result]),
        [['api', 'restarted']],
        `delivery ${delivery}: reported (its Event is still missing)`,
      );
      assert.equal(outcome.pending, 0, `delivery ${delivery}: nothing pending`);
      assert.equal(outcome.awaitingRollouts, 0);
      assert.equal(outcome.converged, true);
    }
    assert.equal(posted.length, 2, 'each delivery tried to create the Event');
  });
});
