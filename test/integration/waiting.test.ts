// How long Rotor waits for ESO, measured from when it could first ask: a first delivery long after
// the event (a backlog, an outage, a replayed dead letter) still forces a sync and waits; a wait
// whose chain started longer ago than the limit is given up on; a dry run reports instead of
// waiting forever; and the wait clock is Rotor's own (the continuation's rotorWaitSince), so a
// tenant rewriting the ExternalSecret's force-sync cannot extend it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import type { KubeApi } from '../../functions/cluster/kubeApi';
import { ProjectMap, parseSecretName } from '../../functions/core/secretName';
import { memoryLogger } from '../../functions/log';
import { reconcileEvent } from '../../functions/pipeline/reconcile';
import type { ReconcileConfig } from '../../functions/pipeline/reconcile';
import { loadConfig } from '../../functions/config';
import { notificationMessage } from '../../functions/core/event';
import { handleSecretEvent } from '../../functions/onSecretEvent';
import { startConfirmingSecretManager } from '../harness/secretManagerStandIn';

const NS = 'shop';
const MINUTE = 60_000;

describe('waiting for ESO: bounded from when Rotor could first ask', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let api: KubeApi;
  const config = (overrides: Partial<ReconcileConfig> = {}): ReconcileConfig => ({
    clusters: [api],
    projects: new ProjectMap(),
    dryRun: false,
    maxWaitMs: 30 * MINUTE,
    concurrency: 2,
    reload: { retries: 0, backoffMs: 0 },
    logger: memoryLogger(),
    ...overrides,
  });
  const admin = (
    method: string,
    path: string,
    body?: object,
    contentType?: string,
  ): Promise<Record<string, unknown>> => cp.admin(method, path, body, contentType);
  const event = (version: string, agoMs: number) => ({
    type: 'SECRET_VERSION_ADD' as const,
    secret: parseSecretName('projects/my-proj/secrets/db-password').id,
    version,
    time: new Date(Date.now() - agoMs).toISOString(),
  });

  before(async () => {
    cp = await startControlPlane({ users: ['rotor'] });
    const kc = cp.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await admin('POST', '/apis/external-secrets.io/v1/clustersecretstores', {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'gcp' },
      spec: { provider: { gcpsm: { projectID: 'my-proj' } } },
    });
    await admin('POST', `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets`, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db' },
      spec: {
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'gcp' },
        target: { name: 'db' },
        data: [{ secretKey: 'password', remoteRef: { key: 'db-password' } }],
      },
    });
    await admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'example.invalid/app:1',
                env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
              },
            ],
          },
        },
      },
    });
    api = kubeApiFromKubeconfig(cp.kubeconfigPathFor('rotor'), undefined, 'local');
  });

  after(async () => {
    api?.close();
    await cp?.stop();
  });

  it('a dry run reports what it would wait for and does, without waiting (nothing pending)', async () => {
    const outcome = await reconcileEvent(event('5', 1000), {}, config({ dryRun: true }));
    const w = outcome.workloads.find((x) => x.name === 'api');
    assert.equal(w?.result, 'dry-run', w?.reason);
    assert.match(w.reason, /would wait, then act: restart waits: ExternalSecret shop\/db has not synced yet/);
    assert.match(w.detail ?? '', /would force a sync of ExternalSecret shop\/db/);
    assert.equal(outcome.pending, 0);
    const es = await admin('GET', `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/db`);
    assert.equal(
      (es.metadata as { annotations?: Record<string, string> }).annotations?.['force-sync'],
      undefined,
      'a dry run writes nothing',
    );
  });

  it('a first delivery 45 minutes after the event still forces a sync and waits', async () => {
    const outcome = await reconcileEvent(event('6', 45 * MINUTE), {}, config());
    const w = outcome.workloads.find((x) => x.name === 'api');
    assert.equal(w?.result, 'waiting', w?.reason);
    assert.match(w.detail ?? '', /forced a sync of ExternalSecret shop\/db/);
    assert.equal(outcome.converged, false);
  });

  it('a wait whose chain started longer ago than the limit, never answered, is given up on, and says so', async () => {
    // The chain's clock: Rotor forced the sync 31 minutes ago (after the event, 40 minutes ago);
    // ESO never answered.
    await admin(
      'PATCH',
      `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/db`,
      { metadata: { annotations: { 'force-sync': new Date(Date.now() - 31 * MINUTE).toISOString() } } },
      'application/merge-patch+json',
    );
    const outcome = await reconcileEvent(
      event('7', 40 * MINUTE),
      { waitSince: Date.now() - 31 * MINUTE },
      config(),
    );
    const w = outcome.workloads.find((x) => x.name === 'api');
    assert.equal(w?.result, 'gave-up', w?.reason);
    assert.match(w.reason, /never converged within 1800s: restart waits/);
    assert.equal(outcome.converged, true, 'acked: redelivering cannot help');
  });

  it('a far-future force-sync written by someone else neither stops Rotor asking nor extends the wait', async () => {
    // Anyone who may edit the ExternalSecret may write any time there; 2099 would have started the
    // wait (and its bound) in 2099, and looked like a sync already asked for.
    await admin(
      'PATCH',
      `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/db`,
      { metadata: { annotations: { 'force-sync': '2099-01-01T00:00:00Z' } } },
      'application/merge-patch+json',
    );
    const before = Date.now();
    const outcome = await reconcileEvent(event('8', 40 * MINUTE), {}, config());
    const w = outcome.workloads.find((x) => x.name === 'api');
    assert.equal(w?.result, 'waiting', w?.reason);
    assert.match(w.detail ?? '', /forced a sync of ExternalSecret shop\/db/);
    const es = await admin('GET', `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/db`);
    const forced = (es.metadata as { annotations?: Record<string, string> }).annotations?.['force-sync'];
    const at = Date.parse(forced ?? '');
    assert.ok(at >= before && at <= Date.now(), `Rotor's own time replaced 2099: ${forced}`);
  });

  it('a tenant rewriting force-sync between deliveries cannot extend the wait: the continuation carries the clock', async () => {
    // Delivered through onSecretEvent's handler as the deployed subscription does: the first
    // delivery forces the sync and, its budget spent, publishes a continuation; ESO (not running
    // here) never answers. Between the deliveries the tenant keeps writing a fresh force-sync, as
    // if a sync had just been asked for. The continuation arrives 31 minutes after the first
    // delivery (a clock given to the handler): the wait, bounded at 30 minutes from the first
    // delivery, is given up on, whatever the tenant wrote.
    const sm = await startConfirmingSecretManager();
    try {
      const esPath = `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/db`;
      const forceSync = (at: string) =>
        admin(
          'PATCH',
          esPath,
          { metadata: { annotations: { 'force-sync': at } } },
          'application/merge-patch+json',
        );
      await forceSync('2024-01-01T00:00:00Z'); // an old ask: this event's first delivery forces again
      const t0 = Date.now();
      const timestamp = new Date(t0 - MINUTE).toISOString();
      const message = notificationMessage({
        type: 'SECRET_VERSION_ADD',
        secret: 'projects/my-proj/secrets/db-password',
        version: '9',
        timestamp,
      });
      sm.announce(message);
      const continuations: Array<{ data?: string; attributes: Record<string, string> }> = [];
      let clock = t0;
      const env = {
        config: loadConfig({ ROTOR_MAX_WAIT_SECONDS: '1800', ROTOR_DELIVERY_BUDGET_SECONDS: '0' }),
        logger: memoryLogger(),
        secretManager: sm.secretManager,
        clusters: () => Promise.resolve([api]),
        now: () => new Date(clock),
        continuation: {
          publish: (m: { data?: string; attributes: Record<string, string> }) => {
            continuations.push(m);
            return Promise.resolve(`c${continuations.length}`);
          },
          close: () => Promise.resolve(),
        },
      };
      const first = await handleSecretEvent(
        { message: { ...message, messageId: 'n-clock', publishTime: timestamp } },
        env,
      );
      assert.equal(first?.workloads.find((w) => w.name === 'api')?.result, 'waiting');
      assert.match(
        first?.workloads.find((w) => w.name === 'api')?.detail ?? '',
        /forced a sync of ExternalSecret shop\/db/,
      );
      const [continued] = continuations;
      assert.equal(continuations.length, 1, 'continued once');
      assert.equal(
        continued?.attributes.rotorWaitSince,
        new Date(t0).toISOString(),
        "the chain's clock: the first delivery",
      );

      // The tenant: "a sync was just asked for", one minute before the continuation arrives.
      clock = t0 + 31 * MINUTE;
      await forceSync(new Date(clock - MINUTE).toISOString());
      const second = await handleSecretEvent(
        { message: { ...continued, messageId: 'c1', publishTime: new Date(clock).toISOString() } },
        env,
      );
      const api2 = second?.workloads.find((w) => w.name === 'api');
      assert.equal(api2?.result, 'gave-up', api2?.reason);
      assert.match(api2.reason, /^never converged within 1800s: restart waits: ExternalSecret shop\/db/);
      assert.equal(continuations.length, 1, 'acked: not continued again');
    } finally {
      await sm.close();
    }
  });
});
