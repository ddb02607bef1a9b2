// The log lines terraform/modules/rotor/monitoring.tf builds its log-based metrics on: the JSON
// paths below are the ones its filters, value extractors and label extractors name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeApi, KubeRequest } from '../../functions/cluster/kubeApi';
import { KubeApiError } from '../../functions/cluster/kubeApi';
import { loadConfig } from '../../functions/config';
import { notificationMessage } from '../../functions/core/event';
import { memoryLogger } from '../../functions/log';
import { handleSecretEvent } from '../../functions/onSecretEvent';
import type { EventOutcome } from '../../functions/core/outcome';
import { outcomeLogFields } from '../../functions/pipeline/outcomeLog';
import { rotateOne } from '../../functions/rotation/protocol';
import { defaultStrategies } from '../../functions/rotation/strategies';
import { SecretManagerError } from '../../functions/secretmanager/errors';
import type { SecretManager } from '../../functions/secretmanager/types';
import { InputError } from '../../functions/errors';
import { deployment } from './k8s';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';

const EVENT_TIME = '2026-12-01T10:00:00.000Z';

function outcome(overrides: Partial<EventOutcome> = {}): EventOutcome {
  return {
    event: {
      type: 'SECRET_VERSION_ADD',
      secret: 'projects/my-proj/secrets/db-password',
      version: '7',
      time: EVENT_TIME,
    },
    scope: { kind: 'event' },
    dryRun: false,
    workloads: [],
    clusterErrors: [],
    warnings: [],
    pending: 0,
    awaitingRollouts: 0,
    converged: true,
    durationMs: 1200,
    ...overrides,
  };
}

describe('outcomeLogFields (jsonPayload.outcome of the summary line)', () => {
  it('a converged event carries the time from the event to now as convergedAfterMs', () => {
    assert.deepEqual(outcomeLogFields(outcome(), new Date('2026-12-01T10:02:03.500Z')), {
      scope: 'event',
      secret: 'projects/my-proj/secrets/db-password',
      version: '7',
      converged: true,
      pending: 0,
      awaitingRollouts: 0,
      durationMs: 1200,
      convergedAfterMs: 123_500,
    });
  });

  it('a delivery that did not converge has no latency (the event is counted once, when it converges)', () => {
    const fields = outcomeLogFields(
      outcome({ converged: false, pending: 3, awaitingRollouts: 2 }),
      new Date('2026-12-01T10:05:00Z'),
    );
    assert.equal(fields.converged, false);
    assert.equal(fields.pending, 3);
    assert.equal(fields.awaitingRollouts, 2);
    assert.equal('convergedAfterMs' in fields, false);
  });

  it('no event time, or an unparsable one: no latency', () => {
    const now = new Date('2026-12-01T10:05:00Z');
    assert.equal(
      'convergedAfterMs' in outcomeLogFields(outcome({ event: { type: 'SECRET_VERSION_ADD' } }), now),
      false,
    );
    const bad = outcome({ event: { type: 'SECRET_VERSION_ADD', time: 'yesterday' } });
    assert.equal('convergedAfterMs' in outcomeLogFields(bad, now), false);
  });

  it('a cluster of a fanned-out event: its own latency, with scope and cluster', () => {
    const fields = outcomeLogFields(
      outcome({
        scope: { kind: 'cluster', cluster: 'projects/p/locations/l/clusters/c2', fanOutMessageId: 'f-2' },
      }),
      new Date('2026-12-01T10:00:30.000Z'),
    );
    assert.equal(fields.scope, 'cluster');
    assert.equal(fields.cluster, 'projects/p/locations/l/clusters/c2');
    assert.equal(fields.convergedAfterMs, 30_000);
  });

  it('the fan-out itself converges nothing: no latency (the clusters report theirs)', () => {
    const fields = outcomeLogFields(
      outcome({ scope: { kind: 'fanned-out', topic: 'projects/p/topics/t', clusters: ['a', 'b'] } }),
      new Date('2026-12-01T10:00:30.000Z'),
    );
    assert.equal(fields.scope, 'fanned-out');
    assert.equal('convergedAfterMs' in fields, false);
    assert.equal('cluster' in fields, false);
  });

  it('an event time after the clock (skew) counts as immediate, never negative', () => {
    assert.equal(outcomeLogFields(outcome(), new Date('2026-12-01T09:59:59Z')).convergedAfterMs, 0);
  });
});

describe("onSecretEvent's summary log line", () => {
  it('is NOTICE from component onSecretEvent with outcome.convergedAfterMs measured from the event time', async () => {
    const logger = memoryLogger();
    const env = {
      config: loadConfig({ ROTOR_PROJECT_MAP: 'my-proj=123456789012' }),
      logger: logger.with({ component: 'onSecretEvent' }),
      clusters: () => Promise.resolve([]),
      now: () => new Date('2026-12-01T10:00:42.000Z'),
    };
    const body = {
      message: {
        ...notificationMessage({
          type: 'SECRET_VERSION_ADD',
          secret: 'projects/123456789012/secrets/db-password',
          version: '7',
          timestamp: EVENT_TIME,
        }),
        messageId: 'm-1',
        publishTime: '2026-12-01T10:00:01.000Z',
      },
    };
    const sm = await startConfirmingSecretManager();
    sm.announce(body.message);
    const result = await handleSecretEvent(body, { ...env, secretManager: sm.secretManager }).finally(() =>
      sm.close(),
    );
    assert.equal(result?.converged, true);
    const summary = logger.entries.find((e) => e.severity === 'NOTICE');
    assert.ok(summary, JSON.stringify(logger.entries));
    assert.equal(summary.component, 'onSecretEvent');
    const fields = summary.outcome as Record<string, unknown>;
    assert.equal(fields.convergedAfterMs, 42_000);
    assert.equal(fields.secret, 'projects/my-proj/secrets/db-password');
    assert.equal(fields.converged, true);
  });
});

/**
 * A cluster holding one Deployment that restarts on db-password; `patch` answers its restart PATCH.
 * Every other list is empty.
 */
function oneDeploymentCluster(patch: (req: KubeRequest) => Promise<unknown>): KubeApi {
  const api = deployment(
    'api',
    {},
    {
      annotations: {
        'rotor.dev/secrets': 'projects/my-proj/secrets/db-password',
        'rotor.dev/on-rotate': 'restart',
      },
    },
  );
  return {
    cluster: 'prod',
    request<T>(req: KubeRequest): Promise<T> {
      if (req.method === 'PATCH') return patch(req) as Promise<T>;
      if (req.path === '/apis/apps/v1/deployments') return Promise.resolve({ items: [api] } as T);
      return Promise.resolve({ items: [] } as T);
    },
    requestCount: () => 0,
    close: () => undefined,
  };
}

async function workloadLines(cluster: KubeApi): Promise<Array<Record<string, unknown>>> {
  const logger = memoryLogger();
  const env = {
    config: loadConfig({ ROTOR_PROJECT_MAP: 'my-proj=123456789012' }),
    logger,
    clusters: () => Promise.resolve([cluster]),
  };
  const body = {
    message: {
      ...notificationMessage({
        type: 'SECRET_VERSION_ADD',
        secret: 'projects/123456789012/secrets/db-password',
        version: '7',
      }),
      messageId: 'm-2',
      publishTime: '2026-12-01T10:00:01.000Z',
    },
  };
  const sm = await startConfirmingSecretManager();
  sm.announce(body.message);
  await handleSecretEvent(body, { ...env, secretManager: sm.secretManager })
    .catch(() => undefined)
    .finally(() => sm.close());
  // The lines the outcome metric counts: those whose workload carries a result.
  return logger.entries.flatMap((e) => {
    const w = e.workload as Record<string, unknown> | undefined;
    return w && 'result' in w ? [{ severity: e.severity, ...w }] : [];
  });
}

describe("onSecretEvent's per-workload lines (the outcome metric and alert)", () => {
  it('a restart: one line with workload.result "restarted" and the labels the metric extracts', async () => {
    const lines = await workloadLines(oneDeploymentCluster(() => Promise.resolve({})));
    assert.deepEqual(
      lines.map(({ severity, result, action, kind, cluster, namespace, name }) => ({
        severity,
        result,
        action,
        kind,
        cluster,
        namespace,
        name,
      })),
      [
        {
          severity: 'INFO',
          result: 'restarted',
          action: 'restart',
          kind: 'Deployment',
          cluster: 'prod',
          namespace: 'shop',
          name: 'api',
        },
      ],
    );
  });

  it('a transient failure: result "failed" with the reason prefix the alert leaves to redelivery', async () => {
    const lines = await workloadLines(
      oneDeploymentCluster((req) =>
        Promise.reject(new KubeApiError(503, 'ServiceUnavailable', 'busy', req.method, req.path)),
      ),
    );
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.result, 'failed');
    assert.match(String(lines[0]?.reason), /^transient failure, will retry: /);
  });

  it('a failure a retry cannot fix: result "failed" at ERROR without that prefix (the alert fires)', async () => {
    const lines = await workloadLines(
      oneDeploymentCluster((req) =>
        Promise.reject(new KubeApiError(403, 'Forbidden', 'denied', req.method, req.path)),
      ),
    );
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.severity, 'ERROR');
    assert.equal(lines[0]?.result, 'failed');
    assert.doesNotMatch(String(lines[0]?.reason), /^transient failure/);
  });
});

/** Every call fails with `error`: the rotation fails at its first read. */
function failingSecretManager(error: Error): SecretManager {
  const fail = (): Promise<never> => Promise.reject(error);
  return {
    getSecret: fail,
    createSecret: fail,
    updateSecret: fail,
    listVersions: fail,
    getVersion: fail,
    accessVersion: fail,
    addVersion: fail,
    disableVersion: fail,
    close: () => Promise.resolve(),
  };
}

describe("rotateSecret's per-secret failure line (the rotation-failure metric)", () => {
  const id = { project: 'my-proj', secret: 'db-password' };
  const deps = (error: Error, logger: ReturnType<typeof memoryLogger>) => ({
    secretManager: failingSecretManager(error),
    strategies: defaultStrategies(),
    logger,
    defaults: { graceMs: null, minIntervalMs: 0 },
    lockTtlMs: 60_000,
  });

  it('a retryable failure: WARNING with secret, outcome "failed" and retry true', async () => {
    const logger = memoryLogger();
    const result = await rotateOne(id, deps(new SecretManagerError('unavailable', 'backend down'), logger));
    assert.equal(result.outcome, 'failed');
    const line = logger.entries.find((e) => e.message.startsWith('rotation failed'));
    assert.ok(line, JSON.stringify(logger.entries));
    assert.equal(line.severity, 'WARNING');
    assert.equal(line.secret, 'projects/my-proj/secrets/db-password');
    assert.equal(line.outcome, 'failed');
    assert.equal(line.retry, true);
  });

  it('a failure a retry cannot fix: ERROR with secret, outcome "failed" and retry false', async () => {
    const logger = memoryLogger();
    await rotateOne(id, deps(new InputError('bad rotor-strategy label'), logger));
    const line = logger.entries.find((e) => e.message.startsWith('rotation failed'));
    assert.ok(line, JSON.stringify(logger.entries));
    assert.equal(line.severity, 'ERROR');
    assert.equal(line.secret, 'projects/my-proj/secrets/db-password');
    assert.equal(line.outcome, 'failed');
    assert.equal(line.retry, false);
  });
});
