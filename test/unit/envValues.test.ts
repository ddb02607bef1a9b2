// Environment values mean the same to both functions; rotateSecret fails safe without clusters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envBool, envDefaultProject } from '../../functions/envValues';
import { actingSettings, loadConfig, logLevel, secretManagerEndpoint } from '../../functions/config';
import { rotationSettingsFromEnv } from '../../functions/rotation/settings';
import { environmentFromEnv } from '../../functions/rotation/rotateSecretFunction';
import { keepEveryVersion } from '../../functions/rotation/retire';
import { nackError } from '../../functions/nack';
import { TransientError } from '../../functions/errors';

describe('environment values', () => {
  it('ROTOR_DRY_RUN reads the same in both functions, and a typo is an error, not "false"', () => {
    for (const v of ['on', 'TRUE', '1', 'yes']) {
      assert.equal(loadConfig({ ROTOR_DRY_RUN: v }).dryRun, true);
      assert.equal(rotationSettingsFromEnv({ ROTOR_DRY_RUN: v }).dryRun, true);
    }
    assert.equal(envBool('', 'X'), false);
    assert.throws(() => loadConfig({ ROTOR_DRY_RUN: 'ture' }), /ROTOR_DRY_RUN="ture" is not a boolean/);
    assert.throws(
      () => rotationSettingsFromEnv({ ROTOR_DRY_RUN: 'ture' }),
      /ROTOR_DRY_RUN="ture" is not a boolean/,
    );
  });

  it('the default project: ROTOR_DEFAULT_PROJECT, else the runtime project; empty counts as unset', () => {
    assert.equal(
      envDefaultProject({ ROTOR_DEFAULT_PROJECT: '', GOOGLE_CLOUD_PROJECT: 'runtime' }),
      'runtime',
    );
    assert.equal(
      loadConfig({ ROTOR_DEFAULT_PROJECT: '', GOOGLE_CLOUD_PROJECT: 'runtime' }).defaultProject,
      'runtime',
    );
    assert.equal(
      rotationSettingsFromEnv({ ROTOR_DEFAULT_PROJECT: 'mine', GOOGLE_CLOUD_PROJECT: 'runtime' })
        .defaultProject,
      'mine',
    );
  });

  it('ROTOR_LOG_LEVEL is validated in one place: any case, WARN for WARNING, a typo is an error', () => {
    assert.equal(logLevel({}), 'INFO');
    assert.equal(logLevel({}, 'WARNING'), 'WARNING', 'the CLI is quieter by default');
    assert.equal(logLevel({ ROTOR_LOG_LEVEL: 'debug' }), 'DEBUG');
    assert.equal(logLevel({ ROTOR_LOG_LEVEL: 'warn' }), 'WARNING');
    assert.equal(loadConfig({ ROTOR_LOG_LEVEL: 'ERROR' }).logLevel, 'ERROR');
    assert.throws(
      () => loadConfig({ ROTOR_LOG_LEVEL: 'verbose' }),
      /ROTOR_LOG_LEVEL="verbose" is not one of DEBUG/,
    );
  });

  it('acting settings have one default for onSecretEvent and rotor apply, and are validated', () => {
    assert.deepEqual(actingSettings({}), {
      concurrency: 8,
      clusterConcurrency: 2,
      reload: { retries: 3, backoffMs: 500 },
      waves: { size: 10, rolloutTimeoutMs: 600_000 },
      // No budget known (Terraform sets it from the function's timeout): one pass per delivery.
      loop: { budgetMs: 0, pollMs: 5_000, minIntervalMs: 1_000, reportLeaseMs: 120_000 },
      // No maintenance windows: restarts at any time; a window a week away is still waited for.
      windows: { cluster: [], byWorkload: new Map(), reloadOutsideWindows: false, maxWaitMs: 604_800_000 },
      // Related secrets: versions 5 min apart count as rotated together; a restart waits 10 min.
      groups: { windowMs: 300_000, maxWaitMs: 600_000 },
      csiRotationIntervalMs: 120_000,
      kubeletSyncMs: 60_000,
    });
    const env = {
      ROTOR_CONCURRENCY: '2',
      ROTOR_CLUSTER_CONCURRENCY: '5',
      ROTOR_RELOAD_RETRIES: '0',
      ROTOR_RELOAD_BACKOFF_MS: '10',
      ROTOR_WAVE_SIZE: '3',
      ROTOR_ROLLOUT_TIMEOUT_SECONDS: '90',
      ROTOR_DELIVERY_BUDGET_SECONDS: '240',
      ROTOR_DELIVERY_POLL_SECONDS: '2',
      ROTOR_GROUP_WINDOW_SECONDS: '60',
      ROTOR_GROUP_WAIT_SECONDS: '0',
    };
    assert.deepEqual(actingSettings(env), {
      concurrency: 2,
      clusterConcurrency: 5,
      reload: { retries: 0, backoffMs: 10 },
      waves: { size: 3, rolloutTimeoutMs: 90_000 },
      loop: { budgetMs: 240_000, pollMs: 2_000, minIntervalMs: 1_000, reportLeaseMs: 360_000 },
      windows: { cluster: [], byWorkload: new Map(), reloadOutsideWindows: false, maxWaitMs: 604_800_000 },
      // 0: groups off.
      groups: { windowMs: 60_000, maxWaitMs: 0 },
      csiRotationIntervalMs: 120_000,
      kubeletSyncMs: 60_000,
    });
    const cfg = loadConfig(env);
    assert.deepEqual(
      {
        concurrency: cfg.concurrency,
        clusterConcurrency: cfg.clusterConcurrency,
        reload: cfg.reload,
        waves: cfg.waves,
        loop: cfg.loop,
        windows: cfg.windows,
        groups: cfg.groups,
        csiRotationIntervalMs: cfg.csiRotationIntervalMs,
        kubeletSyncMs: cfg.kubeletSyncMs,
      },
      actingSettings(env),
    );
    assert.throws(
      () => actingSettings({ ROTOR_CLUSTER_CONCURRENCY: '0' }),
      /ROTOR_CLUSTER_CONCURRENCY="0" is not a whole number >= 1/,
    );
    assert.throws(
      () => actingSettings({ ROTOR_GROUP_WINDOW_SECONDS: '0' }),
      /ROTOR_GROUP_WINDOW_SECONDS="0" is not a whole number >= 1/,
    );
    assert.throws(
      () => actingSettings({ ROTOR_DELIVERY_POLL_SECONDS: '0' }),
      /ROTOR_DELIVERY_POLL_SECONDS="0" is not a whole number >= 1/,
    );
    assert.throws(
      () => actingSettings({ ROTOR_DELIVERY_BUDGET_SECONDS: '-1' }),
      /ROTOR_DELIVERY_BUDGET_SECONDS="-1" is not a whole number >= 0/,
    );
    assert.throws(
      () => actingSettings({ ROTOR_WAVE_SIZE: '0' }),
      /ROTOR_WAVE_SIZE="0" is not a whole number >= 1/,
    );
    assert.throws(
      () => actingSettings({ ROTOR_ROLLOUT_TIMEOUT_SECONDS: '10m' }),
      /ROTOR_ROLLOUT_TIMEOUT_SECONDS="10m" is not a whole number >= 1/,
    );
    assert.throws(
      () => actingSettings({ ROTOR_CONCURRENCY: '0' }),
      /ROTOR_CONCURRENCY="0" is not a whole number >= 1/,
    );
    assert.equal(secretManagerEndpoint({ ROTOR_SECRET_MANAGER_ENDPOINT: ' 127.0.0.1:9 ' }), '127.0.0.1:9');
    assert.equal(secretManagerEndpoint({ ROTOR_SECRET_MANAGER_ENDPOINT: '' }), undefined);
  });

  it('rotateSecret without clusters keeps every version unless retirement on aliases alone is allowed', async () => {
    const base = { ROTOR_SECRET_MANAGER_ENDPOINT: '127.0.0.1:1', GOOGLE_CLOUD_PROJECT: 'p' };
    const safe = environmentFromEnv(base);
    assert.equal(safe.pinnedVersions, keepEveryVersion);
    const versions = [{ version: 1 }, { version: 2 }] as unknown as Parameters<typeof keepEveryVersion>[1];
    assert.deepEqual(
      [...(await keepEveryVersion({} as Parameters<typeof keepEveryVersion>[0], versions))],
      [1, 2],
    );
    const optedIn = environmentFromEnv({ ...base, ROTOR_RETIRE_WITHOUT_CLUSTERS: 'true' });
    assert.equal(optedIn.pinnedVersions, undefined);
    await safe.secretManager.close();
    await optedIn.secretManager.close();
  });

  it('a nack is one JSON log line: NOTICE for transient trouble, ERROR with the trace otherwise', () => {
    const retry = JSON.parse(nackError(new TransientError('waiting'), 'rotateSecret').stack ?? '') as Record<
      string,
      unknown
    >;
    assert.deepEqual(retry, { severity: 'NOTICE', message: 'retry: waiting', component: 'rotateSecret' });
    const bug = JSON.parse(nackError(new Error('boom'), 'onSecretEvent').stack ?? '') as Record<
      string,
      unknown
    >;
    assert.equal(bug.severity, 'ERROR');
    assert.match(String(bug.stack_trace), /boom/);
  });
});
