// One classification of failures (isTransient) for the event pipeline, the rotation protocol and
// the strategies, with one default for unknown errors: retry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { parseSecretName, ProjectMap } from '../../functions/core/secretName';
import { InputError, TransientError, errorMessage, isTransient } from '../../functions/errors';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import { SecretManagerError } from '../../functions/secretmanager/errors';
import { deployment } from './k8s';

describe('isTransient', () => {
  it('each known kind, and unknown errors retried', () => {
    assert.equal(isTransient(new InputError('bad')), false);
    assert.equal(isTransient(new TransientError('later')), true);
    assert.equal(isTransient(new KubeApiError(403, 'Forbidden', 'no', 'GET', '/x')), false);
    assert.equal(isTransient(new KubeApiError(503, 'Unavailable', 'down', 'GET', '/x')), true);
    assert.equal(isTransient(new KubeApiError(409, 'Conflict', 'again', 'PATCH', '/x')), true);
    assert.equal(isTransient(new SecretManagerError('permission-denied', 'no')), false);
    assert.equal(isTransient(new SecretManagerError('unavailable', 'down')), true);
    assert.equal(isTransient(new Error('socket hang up')), true, 'unknown: retry (every step is idempotent)');
    assert.equal(isTransient(new TypeError('x is undefined')), true);
    assert.equal(isTransient('a string'), true);
    assert.equal(isTransient({ transient: 'yes' }), true, 'only a boolean classifies');
  });

  it('errorMessage: the message of an Error, the text of anything else', () => {
    assert.equal(errorMessage(new Error('boom')), 'boom');
    assert.equal(errorMessage('plain'), 'plain');
    assert.equal(errorMessage(42), '42');
  });
});

describe('the event pipeline uses the same default: an unknown failure is retried', () => {
  it('a restart that fails with an unclassified error leaves the event pending (redelivered)', async () => {
    const w = deployment('api', {}, { annotations: { 'rotor.dev/secrets': 'projects/my-proj/secrets/db' } });
    const live = { ...w, metadata: { ...w.metadata, uid: 'u1', resourceVersion: '1' } };
    const restartOnly = {
      ...live,
      metadata: {
        ...live.metadata,
        annotations: { 'rotor.dev/secrets': 'projects/my-proj/secrets/db', 'rotor.dev/on-rotate': 'restart' },
      },
    };
    const api: KubeApi = {
      cluster: 'fake',
      requestCount: () => 0,
      close: () => undefined,
      request<T>(req: KubeRequest): Promise<T> {
        if (req.method === 'PATCH') return Promise.reject(new Error('socket hang up'));
        const items = req.path === '/apis/apps/v1/deployments' ? [restartOnly] : [];
        return Promise.resolve({ items } as T);
      },
    };
    const outcome = await reconcileEvent(
      {
        type: 'SECRET_VERSION_ADD',
        secret: parseSecretName('projects/my-proj/secrets/db').id,
        version: '2',
        time: new Date().toISOString(),
      },
      {},
      {
        clusters: [api],
        projects: new ProjectMap(),
        dryRun: false,
        maxWaitMs: 60_000,
        concurrency: 1,
        reload: { retries: 0, backoffMs: 0 },
        logger: memoryLogger(),
      },
    );
    assert.equal(outcome.workloads.length, 1);
    const [o] = outcome.workloads;
    assert.equal(o.result, 'failed');
    assert.equal(o.action, 'restart', 'the failed outcome names the action being performed');
    assert.equal(o.reason, 'transient failure, will retry: socket hang up');
    assert.equal(outcome.pending, 1);
    assert.equal(outcome.converged, false);
  });
});
